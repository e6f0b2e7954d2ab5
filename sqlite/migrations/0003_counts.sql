-- Exact totals without counting rows. task_counts holds how many tasks
-- each organisation has for every status and priority, and
-- task_counts_by_user the same for each assignee, so the total of any
-- combination of the list's equality filters (status, priority,
-- assignee) is a sum over at most 25 rows. write_version changes with
-- every write of an organisation's tasks and keys a cache of the other
-- totals.
ALTER TABLE organisations ADD COLUMN write_version INTEGER NOT NULL DEFAULT 0;

CREATE TABLE task_counts (
    organisation_id INTEGER NOT NULL,
    status          INTEGER NOT NULL,
    priority        INTEGER NOT NULL,
    n               INTEGER NOT NULL,
    PRIMARY KEY (organisation_id, status, priority)
) WITHOUT ROWID;

CREATE TABLE task_counts_by_user (
    organisation_id  INTEGER NOT NULL,
    assigned_user_id INTEGER NOT NULL,
    status           INTEGER NOT NULL,
    priority         INTEGER NOT NULL,
    n                INTEGER NOT NULL,
    PRIMARY KEY (organisation_id, assigned_user_id, status, priority)
) WITHOUT ROWID;

INSERT INTO task_counts
SELECT organisation_id, status, priority, count(*) FROM tasks GROUP BY 1, 2, 3;

INSERT INTO task_counts_by_user
SELECT organisation_id, assigned_user_id, status, priority, count(*) FROM tasks
WHERE assigned_user_id IS NOT NULL GROUP BY 1, 2, 3, 4;

CREATE TRIGGER tasks_count_insert AFTER INSERT ON tasks BEGIN
    INSERT INTO task_counts VALUES (NEW.organisation_id, NEW.status, NEW.priority, 1)
        ON CONFLICT DO UPDATE SET n = n + 1;
    INSERT INTO task_counts_by_user
        SELECT NEW.organisation_id, NEW.assigned_user_id, NEW.status, NEW.priority, 1
        WHERE NEW.assigned_user_id IS NOT NULL
        ON CONFLICT DO UPDATE SET n = n + 1;
    UPDATE organisations SET write_version = write_version + 1 WHERE id = NEW.organisation_id;
END;

CREATE TRIGGER tasks_count_delete AFTER DELETE ON tasks BEGIN
    UPDATE task_counts SET n = n - 1
    WHERE organisation_id = OLD.organisation_id AND status = OLD.status AND priority = OLD.priority;
    UPDATE task_counts_by_user SET n = n - 1
    WHERE organisation_id = OLD.organisation_id AND assigned_user_id = OLD.assigned_user_id
        AND status = OLD.status AND priority = OLD.priority;
    UPDATE organisations SET write_version = write_version + 1 WHERE id = OLD.organisation_id;
END;

CREATE TRIGGER tasks_count_update AFTER UPDATE ON tasks BEGIN
    UPDATE task_counts SET n = n - 1
    WHERE organisation_id = OLD.organisation_id AND status = OLD.status AND priority = OLD.priority;
    UPDATE task_counts_by_user SET n = n - 1
    WHERE organisation_id = OLD.organisation_id AND assigned_user_id = OLD.assigned_user_id
        AND status = OLD.status AND priority = OLD.priority;
    INSERT INTO task_counts VALUES (NEW.organisation_id, NEW.status, NEW.priority, 1)
        ON CONFLICT DO UPDATE SET n = n + 1;
    INSERT INTO task_counts_by_user
        SELECT NEW.organisation_id, NEW.assigned_user_id, NEW.status, NEW.priority, 1
        WHERE NEW.assigned_user_id IS NOT NULL
        ON CONFLICT DO UPDATE SET n = n + 1;
    UPDATE organisations SET write_version = write_version + 1
    WHERE id IN (OLD.organisation_id, NEW.organisation_id);
END;

-- The substring search index (FTS5, trigram) exists only in builds with
-- FTS5; it is created and kept in step at start-up (see db/search.go).
-- stale: it must be rebuilt before use. indexed_through: the highest task
-- id in the main index; later tasks are in the small delta index.
CREATE TABLE search_index (
    stale           INTEGER NOT NULL,
    indexed_through INTEGER NOT NULL
);
INSERT INTO search_index VALUES (1, 0);
