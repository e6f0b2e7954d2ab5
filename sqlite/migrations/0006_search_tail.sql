-- New tasks no longer enter the search index in their own transaction: a
-- background step moves them into the delta index in batches. delta_through
-- is the highest task id in the delta index; tasks after it are searched by
-- reading their titles. Until now every task was indexed on insert.
ALTER TABLE search_index ADD COLUMN delta_through INTEGER NOT NULL DEFAULT 0;
UPDATE search_index SET delta_through = (SELECT coalesce(max(id), 0) FROM tasks);
