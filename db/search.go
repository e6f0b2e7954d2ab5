package db

import (
	"context"
	"database/sql"
	"strings"
	"unicode/utf8"

	"tasksapi/task"
)

// The substring search index is an FTS5 table with the trigram tokenizer
// over the lower-cased titles, so a search term of three or more
// characters finds its tasks through the index instead of reading every
// title. FTS5 is compiled into SQLite only with the sqlite_fts5 build tag;
// a build without it answers searches by scanning, with the same results.
//
// The index is kept in step by triggers, which need the FTS5 module. A
// build without FTS5 therefore drops them when it opens a database and
// marks the index stale; the next build with FTS5 rebuilds it.
const (
	createSearchIndex = `CREATE VIRTUAL TABLE IF NOT EXISTS tasks_fts USING fts5(title_fold,
		content = 'tasks', content_rowid = 'id', tokenize = 'trigram case_sensitive 1')`
	searchTriggers = `
	CREATE TRIGGER IF NOT EXISTS tasks_fts_insert AFTER INSERT ON tasks BEGIN
		INSERT INTO tasks_fts (rowid, title_fold) VALUES (NEW.id, NEW.title_fold);
	END;
	CREATE TRIGGER IF NOT EXISTS tasks_fts_delete AFTER DELETE ON tasks BEGIN
		INSERT INTO tasks_fts (tasks_fts, rowid, title_fold) VALUES ('delete', OLD.id, OLD.title_fold);
	END;
	CREATE TRIGGER IF NOT EXISTS tasks_fts_update AFTER UPDATE OF title_fold ON tasks BEGIN
		INSERT INTO tasks_fts (tasks_fts, rowid, title_fold) VALUES ('delete', OLD.id, OLD.title_fold);
		INSERT INTO tasks_fts (rowid, title_fold) VALUES (NEW.id, NEW.title_fold);
	END;`
	dropSearchTriggers = `
	DROP TRIGGER IF EXISTS tasks_fts_insert;
	DROP TRIGGER IF EXISTS tasks_fts_delete;
	DROP TRIGGER IF EXISTS tasks_fts_update;`
)

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
		if _, err := tx.ExecContext(ctx, createSearchIndex+";"+searchTriggers); err != nil {
			return err
		}
		var stale bool
		if err := tx.QueryRowContext(ctx, "SELECT stale FROM search_index").Scan(&stale); err != nil || !stale {
			return err
		}
		// Totals counted through the stale index were cached under the
		// current write versions: move every version on.
		_, err := tx.ExecContext(ctx, `INSERT INTO tasks_fts (tasks_fts) VALUES ('rebuild');
			UPDATE search_index SET stale = 0;
			UPDATE organisations SET write_version = write_version + 1`)
		return err
	})
}

// searchByIndex decides how a page with a search finds its rows: through
// the trigram index, which reads every match, or by walking the sort
// order and testing titles until the page is full, which reads about
// rowsNeeded/density rows. The index wins when matches are rare:
// matches² < rowsNeeded × all the organisation's tasks. The count this
// needs is cached (countTasks), so the choice is cheap.
func (s *Store) searchByIndex(ctx context.Context, tx *sql.Tx, org int, f task.Filter, rowsNeeded int) (bool, error) {
	if !s.fts || f.Search == nil || !indexable(fold(*f.Search)) {
		return false, nil
	}
	matches, err := s.countTasks(ctx, tx, org, f)
	if err != nil {
		return false, err
	}
	all, err := s.countTasks(ctx, tx, org, task.Filter{})
	if err != nil {
		return false, err
	}
	return matches*matches < rowsNeeded*all, nil
}
