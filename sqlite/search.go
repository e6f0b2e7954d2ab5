package sqlite

import (
	"context"
	"database/sql"
	"log/slog"
	"strings"
	"time"
	"unicode/utf8"

	"tasksapi/task"
)

// The substring search index is FTS5 with the trigram tokenizer over the
// lower-cased titles, so a search term of three or more characters finds
// its tasks through the index instead of reading every title. FTS5 is
// compiled into SQLite only with the sqlite_fts5 build tag; a build
// without it answers searches by scanning, with the same results.
//
// The index is two FTS5 tables and a tail. tasks_fts holds every task up
// to search_index.indexed_through, built in one go; tasks_fts_delta the
// tasks after it up to delta_through; the tail, the tasks created since,
// is searched by reading its titles. A create does no indexing: the
// writer moves the tail into the delta in batches (indexTail), a few
// times a second, one FTS5 segment per batch rather than per commit.
// Indexing each commit's titles as it happened cost a third of the
// create throughput; adding them to the large main index one commit at a
// time made it merge segments now and then, and at a million titles one
// merge stalled every write for half a second. The delta stays small, and
// start-up folds it into the main index once it grows (compactDelta).
//
// A change of title or a delete does no indexing either: triggers note
// the task in search_dirty, searches read the titles of noted tasks
// directly, and the writer's next batch brings the delta up to date (see
// indexTailSQL: the main index is written only when rebuilt). The
// triggers belong to the index: a build without FTS5 drops them when it
// opens a database and marks the index stale; the next build with FTS5
// rebuilds it.
const (
	createSearchIndex = `
	CREATE VIRTUAL TABLE IF NOT EXISTS tasks_fts USING fts5(title_fold,
		content = 'tasks', content_rowid = 'id', tokenize = 'trigram case_sensitive 1');
	CREATE VIRTUAL TABLE IF NOT EXISTS tasks_fts_delta USING fts5(title_fold,
		content = 'tasks', content_rowid = 'id', tokenize = 'trigram case_sensitive 1');`
	// A change of title or a delete of a task the index holds is noted,
	// with the title the index holds, for the writer's next batch (see
	// indexDirtySQL); the first note of a task keeps the indexed title.
	searchTriggers = `
	CREATE TRIGGER tasks_fts_delete AFTER DELETE ON tasks BEGIN
		INSERT OR IGNORE INTO search_dirty (id, title_fold) SELECT OLD.id, OLD.title_fold
			FROM search_index WHERE OLD.id <= delta_through;
	END;
	CREATE TRIGGER tasks_fts_update AFTER UPDATE OF title_fold ON tasks BEGIN
		INSERT OR IGNORE INTO search_dirty (id, title_fold) SELECT OLD.id, OLD.title_fold
			FROM search_index WHERE OLD.id <= delta_through;
	END;`
	// tasks_fts_insert indexed every new task in its own transaction,
	// before the tail.
	dropSearchTriggers = `
	DROP TRIGGER IF EXISTS tasks_fts_insert;
	DROP TRIGGER IF EXISTS tasks_fts_delete;
	DROP TRIGGER IF EXISTS tasks_fts_update;`
	// rebuildSearch indexes every task in the main index and empties the
	// delta. Totals counted through the index before were cached under the
	// current write versions: move every version on.
	rebuildSearch = `
	INSERT INTO tasks_fts (tasks_fts) VALUES ('rebuild');
	INSERT INTO tasks_fts_delta (tasks_fts_delta) VALUES ('delete-all');
	UPDATE search_index SET stale = 0, indexed_through = (SELECT coalesce(max(id), 0) FROM tasks),
		delta_through = (SELECT coalesce(max(id), 0) FROM tasks);
	DELETE FROM search_dirty;
	DELETE FROM search_moved;
	UPDATE organisations SET write_version = write_version + 1;`
	// indexTailSQL brings the noted tasks up to date in the delta index,
	// then moves the tail into it. The main index is never written here:
	// adding to a large FTS5 index merges its segments, and at a million
	// tasks that made every change of a title cost milliseconds. So a
	// noted task's old title leaves the delta if the delta holds it (its
	// id is in the delta's range, or it moved there before), its current
	// title enters the delta if the task is still there, and a task of the
	// main index's range is then known to have moved. The main index
	// keeps the old entries until it is rebuilt; searches filter them out
	// by reading the titles. It changes no search's results, so no write
	// version moves. Each statement starts from search_dirty, the few
	// tasks noted since the last batch (CROSS JOIN keeps SQLite's planner
	// to that order): left to itself, it once read all of tasks' title
	// index to join a handful of notes, and at a million tasks that was
	// most of the cost of a change of title.
	indexTailSQL = `
	INSERT INTO tasks_fts_delta (tasks_fts_delta, rowid, title_fold) SELECT 'delete', d.id, d.title_fold
		FROM search_index CROSS JOIN search_dirty AS d
		WHERE (d.id > indexed_through AND d.id <= delta_through)
			OR EXISTS (SELECT 1 FROM search_moved AS m WHERE m.id = d.id);
	INSERT INTO tasks_fts_delta (rowid, title_fold) SELECT t.id, t.title_fold
		FROM search_dirty AS d CROSS JOIN tasks AS t ON t.id = d.id;
	INSERT OR IGNORE INTO search_moved (id) SELECT t.id
		FROM search_index CROSS JOIN search_dirty AS d CROSS JOIN tasks AS t ON t.id = d.id
		WHERE d.id <= indexed_through;
	DELETE FROM search_moved WHERE id IN (SELECT id FROM search_dirty) AND id NOT IN (SELECT id FROM tasks);
	DELETE FROM search_dirty;
	INSERT INTO tasks_fts_delta (rowid, title_fold)
		SELECT id, title_fold FROM tasks WHERE id > (SELECT delta_through FROM search_index);
	UPDATE search_index SET delta_through = max(delta_through, (SELECT coalesce(max(id), 0) FROM tasks));`
)

// indexEvery is how often the writer moves the tail into the delta index
// while tasks are being created: the tail stays at most a fraction of a
// second of creates long.
const indexEvery = 200 * time.Millisecond

// compactDelta is how many tasks the delta index may hold before a start
// folds it into the main index (a rebuild: about ten seconds a million
// tasks).
const compactDelta = 100_000

// searchMatch is the condition "the task's title may contain the phrase",
// through both indexes, plus the organisation's tail and the tasks whose
// title changed since they were indexed, whose titles the caller's
// instr(title_fold, term) reads (an index entry holding a changed task's
// old title is filtered out by the same instr). Its arguments are the phrase,
// the phrase again and the organisation.
const searchMatch = `id IN (SELECT rowid FROM tasks_fts WHERE tasks_fts MATCH ?
	UNION ALL SELECT rowid FROM tasks_fts_delta WHERE tasks_fts_delta MATCH ?
	UNION ALL SELECT id FROM tasks WHERE organisation_id = ` + bound + ` AND id > (SELECT delta_through FROM search_index)
	UNION ALL SELECT id FROM search_dirty)`

// indexable reports whether the trigram index can serve a search for
// term: three characters at least, and no NUL, which ends an FTS5 query.
func indexable(term string) bool {
	return utf8.RuneCountInString(term) >= 3 && !strings.ContainsRune(term, 0)
}

// prepareSearch brings the search index in step with the tasks and
// reports whether this build can use it.
func prepareSearch(ctx context.Context, db *sql.DB) (bool, error) {
	var fts5 bool
	if err := db.QueryRowContext(ctx, "SELECT sqlite_compileoption_used('ENABLE_FTS5')").Scan(&fts5); err != nil {
		return false, err
	}
	return fts5, inTx(ctx, db, func(tx *sql.Tx) error {
		if !fts5 {
			var triggers int
			err := tx.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_schema
				WHERE type = 'trigger' AND name LIKE 'tasks_fts_%'`).Scan(&triggers)
			if err != nil || triggers == 0 {
				return err
			}
			if _, err := tx.ExecContext(ctx, dropSearchTriggers); err != nil {
				return err
			}
			_, err = tx.ExecContext(ctx, "UPDATE search_index SET stale = 1")
			return err
		}
		// Triggers are made anew: an older release's may differ.
		if _, err := tx.ExecContext(ctx, createSearchIndex+dropSearchTriggers+searchTriggers); err != nil {
			return err
		}
		var stale bool
		var delta int
		// The delta holds the tasks after the main index's range and
		// those that moved there.
		err := tx.QueryRowContext(ctx, `SELECT stale, (SELECT count(*) FROM tasks WHERE id > indexed_through)
			+ (SELECT count(*) FROM search_moved) FROM search_index`).Scan(&stale, &delta)
		if err != nil {
			return err
		}
		if stale || delta >= compactDelta {
			_, err = tx.ExecContext(ctx, rebuildSearch)
		} else {
			_, err = tx.ExecContext(ctx, indexTailSQL)
		}
		return err
	})
}

// indexTail moves the tail into the delta index, in the writer's
// transaction. A failure is logged and tried again next time: until then
// the tail is searched by reading its titles, with the same results.
func (s *Store) indexTail() {
	if err := inTx(context.Background(), s.write, func(tx *sql.Tx) error {
		_, err := tx.Exec(indexTailSQL)
		return err
	}); err != nil {
		slog.Error("indexing new titles for search failed", "err", err)
	}
}

// pageCount does the counting a page read in tx needs: f's total, unless
// skipTotal, and for a search that the trigram index can serve, the
// choice of how the page finds its rows, which needs the same count.
// Through the index, which reads every match, or by walking the sort
// order and testing titles until the page is full, which reads about
// rowsNeeded/density rows: the index wins when matches are rare,
// matches² < rowsNeeded × all the organisation's tasks. The counts are
// cached or kept by triggers (countTasks), so the choice is cheap.
func (s *Store) pageCount(ctx context.Context, tx *sql.Tx, org int, f task.Filter, skipTotal bool, rowsNeeded int) (total int, indexSearch bool, err error) {
	searchable := s.fts && f.Search != nil && indexable(task.Fold(*f.Search))
	if skipTotal && !searchable {
		return 0, false, nil
	}
	matches, err := s.countTasks(ctx, tx, org, f)
	if err != nil {
		return 0, false, err
	}
	if searchable {
		all, err := s.countTasks(ctx, tx, org, task.Filter{})
		if err != nil {
			return 0, false, err
		}
		indexSearch = matches*matches < rowsNeeded*all
	}
	if skipTotal {
		return 0, indexSearch, nil
	}
	return matches, indexSearch, nil
}
