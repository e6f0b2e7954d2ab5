-- The count trigger fires only for a change of the columns it counts.
-- Tasks change now, mostly in other columns; a change of any column still
-- moves the organisation's write version, which the store now does in the
-- update's own transaction (the cached totals of searches and date ranges
-- depend on titles and dates, which no counter holds).
DROP TRIGGER tasks_count_update;

CREATE TRIGGER tasks_count_update AFTER UPDATE OF organisation_id, status, priority, assigned_user_id ON tasks BEGIN
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
