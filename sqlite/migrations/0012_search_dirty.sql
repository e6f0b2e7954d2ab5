-- Tasks whose title changed, or that were deleted, since the search index
-- took them in, each with the title the index holds for it. Writes no
-- longer touch the index: changing an FTS5 index in every write made each
-- statement flush a segment of its own and merge, and at a million tasks
-- a change of title took half a second. The writer brings these into the
-- index in its background batches, as it does new tasks; until then a
-- search reads their titles directly.
CREATE TABLE search_dirty (
    id         INTEGER PRIMARY KEY,
    title_fold TEXT    NOT NULL
);

-- Tasks of the main index's range whose current title the delta index
-- holds: the main index is written only when it is rebuilt, so between
-- rebuilds it keeps the old titles of changed tasks (and the titles of
-- deleted ones), which searches filter out by reading the titles.
CREATE TABLE search_moved (
    id INTEGER PRIMARY KEY
);
