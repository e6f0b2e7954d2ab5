-- Tasks and their tags. Date-times are stored as their wire text
-- (YYYY-MM-DDTHH:MM:SS), which sorts in time order.
CREATE TABLE tasks (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
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

CREATE TABLE task_tags (
    task_id  INTEGER NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
    tag_id   INTEGER NOT NULL,
    position INTEGER NOT NULL, -- the order the client sent them in
    PRIMARY KEY (task_id, tag_id)
) WITHOUT ROWID;

-- One index per filter and sort; each ends in id, the tie-breaker.
CREATE INDEX tasks_title            ON tasks (title_fold, id);
CREATE INDEX tasks_status           ON tasks (status, id);
CREATE INDEX tasks_priority         ON tasks (priority, id);
CREATE INDEX tasks_assigned_user_id ON tasks (assigned_user_id, id);
CREATE INDEX tasks_start_datetime   ON tasks (start_datetime, id);
CREATE INDEX tasks_end_datetime     ON tasks (end_datetime, id);
CREATE INDEX tasks_due_date         ON tasks (due_date, id);
CREATE INDEX tasks_created_at       ON tasks (created_at, id);
CREATE INDEX tasks_updated_at       ON tasks (updated_at, id);
