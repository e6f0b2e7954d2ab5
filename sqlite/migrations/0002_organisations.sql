-- Organisations and their API keys. Every task now belongs to an
-- organisation; tasks made before this release move to "Default".
CREATE TABLE organisations (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    name       TEXT    NOT NULL UNIQUE,
    created_at TEXT    NOT NULL
);

CREATE TABLE api_keys (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    organisation_id INTEGER NOT NULL REFERENCES organisations (id),
    label           TEXT    NOT NULL,
    access_key      TEXT    NOT NULL UNIQUE,
    secret_hash     BLOB    NOT NULL, -- SHA-256 of the secret; the secret is never stored
    created_at      TEXT    NOT NULL,
    last_used_at    TEXT,
    revoked_at      TEXT
);

INSERT INTO organisations (name, created_at)
SELECT 'Default', strftime('%Y-%m-%dT%H:%M:%S', 'now')
WHERE EXISTS (SELECT 1 FROM tasks);

-- SQLite cannot add a NOT NULL foreign key column in place: rebuild the
-- table (foreign keys are off while migrations run, so task_tags stays).
CREATE TABLE tasks_new (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    organisation_id  INTEGER NOT NULL REFERENCES organisations (id),
    title            TEXT    NOT NULL,
    title_fold       TEXT    NOT NULL, -- lower-cased title, for search and sorting
    status           INTEGER NOT NULL CHECK (status BETWEEN 0 AND 4),
    priority         INTEGER NOT NULL CHECK (priority BETWEEN 0 AND 4),
    start_datetime   TEXT    NOT NULL,
    end_datetime     TEXT,
    due_date         TEXT    NOT NULL, -- date of end_datetime, else of start_datetime
    description      TEXT,
    deal_id          INTEGER,
    contact_id       INTEGER,
    assigned_user_id INTEGER,
    created_at       TEXT    NOT NULL,
    updated_at       TEXT    NOT NULL
);

INSERT INTO tasks_new (id, organisation_id, title, title_fold, status, priority, start_datetime,
    end_datetime, due_date, description, deal_id, contact_id, assigned_user_id, created_at, updated_at)
SELECT id, (SELECT id FROM organisations WHERE name = 'Default'), title, title_fold, status, priority,
    start_datetime, end_datetime, due_date, description, deal_id, contact_id, assigned_user_id,
    created_at, updated_at
FROM tasks;

DROP TABLE tasks;
ALTER TABLE tasks_new RENAME TO tasks;

-- Every query is within one organisation: each index leads with it and
-- ends in id, the sort tie-breaker.
CREATE INDEX tasks_org_id               ON tasks (organisation_id, id);
CREATE INDEX tasks_org_title            ON tasks (organisation_id, title_fold, id);
CREATE INDEX tasks_org_status           ON tasks (organisation_id, status, id);
CREATE INDEX tasks_org_priority         ON tasks (organisation_id, priority, id);
CREATE INDEX tasks_org_assigned_user_id ON tasks (organisation_id, assigned_user_id, id);
CREATE INDEX tasks_org_start_datetime   ON tasks (organisation_id, start_datetime, id);
CREATE INDEX tasks_org_end_datetime     ON tasks (organisation_id, end_datetime, id);
CREATE INDEX tasks_org_due_date         ON tasks (organisation_id, due_date, id);
CREATE INDEX tasks_org_created_at       ON tasks (organisation_id, created_at, id);
CREATE INDEX tasks_org_updated_at       ON tasks (organisation_id, updated_at, id);
