-- Tasks change now. Each has a version, its entity tag: 1 when created,
-- one more with every change that alters a value. completed_at is when
-- the status last became Completed (2); a task completed before this
-- release takes its last change as that moment.
ALTER TABLE tasks ADD COLUMN version INTEGER NOT NULL DEFAULT 1;
ALTER TABLE tasks ADD COLUMN completed_at TEXT;
UPDATE tasks SET completed_at = updated_at WHERE status = 2;

-- The outcomes of writes sent with an Idempotency-Key, kept in the
-- write's own transaction, per API key, until expires_at (Unix seconds).
-- Expired ones are removed in small batches through the expiry index.
CREATE TABLE idempotency_keys (
    id          INTEGER PRIMARY KEY,
    key_id      INTEGER NOT NULL,
    key         TEXT    NOT NULL,
    fingerprint BLOB    NOT NULL, -- SHA-256 of the request's method, path and body
    outcome     BLOB    NOT NULL, -- the answer's task or refusal, as JSON
    expires_at  INTEGER NOT NULL,
    UNIQUE (key_id, key)
);
CREATE INDEX idempotency_keys_expiry ON idempotency_keys (expires_at);
