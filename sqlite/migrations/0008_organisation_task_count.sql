-- Each organisation's number of tasks, kept by the count triggers with its
-- write version: the total of an unfiltered list, the most common one, is
-- then one row rather than a sum over task_counts.
ALTER TABLE organisations ADD COLUMN task_count INTEGER NOT NULL DEFAULT 0;
UPDATE organisations SET task_count = (SELECT count(*) FROM tasks WHERE organisation_id = organisations.id);

DROP TRIGGER tasks_count_insert;
DROP TRIGGER tasks_count_delete;
DROP TRIGGER tasks_count_update;

CREATE TRIGGER tasks_count_insert AFTER INSERT ON tasks BEGIN
    INSERT INTO task_counts VALUES (NEW.organisation_id, NEW.status, NEW.priority, 1)
        ON CONFLICT DO UPDATE SET n = n + 1;
    INSERT INTO task_counts_by_user
        SELECT NEW.organisation_id, NEW.assigned_user_id, NEW.status, NEW.priority, 1
        WHERE NEW.assigned_user_id IS NOT NULL
        ON CONFLICT DO UPDATE SET n = n + 1;
    UPDATE organisations SET write_version = write_version + 1, task_count = task_count + 1
    WHERE id = NEW.organisation_id;
END;

CREATE TRIGGER tasks_count_delete AFTER DELETE ON tasks BEGIN
    UPDATE task_counts SET n = n - 1
    WHERE organisation_id = OLD.organisation_id AND status = OLD.status AND priority = OLD.priority;
    UPDATE task_counts_by_user SET n = n - 1
    WHERE organisation_id = OLD.organisation_id AND assigned_user_id = OLD.assigned_user_id
        AND status = OLD.status AND priority = OLD.priority;
    UPDATE organisations SET write_version = write_version + 1, task_count = task_count - 1
    WHERE id = OLD.organisation_id;
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
    UPDATE organisations SET write_version = write_version + 1,
        task_count = task_count + (id = NEW.organisation_id) - (id = OLD.organisation_id)
    WHERE id IN (OLD.organisation_id, NEW.organisation_id);
END;
