-- The change feed: one row for every create, change and delete, written
-- in the same transaction as the write. seq is AUTOINCREMENT, so it only
-- grows and is never given twice, and with one writer, changes commit in
-- seq order: a reader that has seen seq S can never later find a change
-- below S.
CREATE TABLE task_changes (
    seq             INTEGER PRIMARY KEY AUTOINCREMENT,
    organisation_id INTEGER NOT NULL,
    type            INTEGER NOT NULL CHECK (type BETWEEN 1 AND 3), -- created, updated, deleted
    task_id         INTEGER NOT NULL,
    at              TEXT    NOT NULL, -- commit time, UTC, YYYY-MM-DDTHH:MM:SS
    fields          TEXT    NOT NULL, -- JSON array of the changed fields' domain names
    task            BLOB              -- the task right after the change (db/snapshot.go); NULL for a delete
);
CREATE INDEX task_changes_org_seq ON task_changes (organisation_id, seq);
-- Retention removes the oldest changes in seq order, which is commit
-- order: no index on at is needed.

-- The highest seq of an organisation's changes that retention removed: a
-- read from before it has missed changes (410).
ALTER TABLE organisations ADD COLUMN changes_removed_through INTEGER NOT NULL DEFAULT 0;
