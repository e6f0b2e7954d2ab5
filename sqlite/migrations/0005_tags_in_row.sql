-- A task's tags move into its row, as a JSON array in the client's order:
-- they are only ever read and written with the task, and reading them from
-- task_tags cost a correlated subquery and a sort for every listed task.
ALTER TABLE tasks ADD COLUMN tag_ids TEXT NOT NULL DEFAULT '[]';

-- Tags change no total: the count trigger need not run for this update.
DROP TRIGGER tasks_count_update;

UPDATE tasks SET tag_ids = (
    SELECT '[' || group_concat(tag_id) || ']'
    FROM (SELECT tag_id FROM task_tags WHERE task_id = tasks.id ORDER BY position)
)
WHERE id IN (SELECT task_id FROM task_tags);

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

DROP TABLE task_tags;
