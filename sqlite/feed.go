package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"tasksapi/feed"
	"tasksapi/internal/snapshot"
	"tasksapi/task"
)

var _ feed.Reader = (*Store)(nil)

const insertChange = `INSERT INTO task_changes (organisation_id, type, task_id, at, fields, task)
	VALUES (?, ?, ?, ?, ?, ?)`

// record writes the change a write made, within its transaction. t is the
// task after the change (for a delete, as it was); at is the write's time.
func record(ctx context.Context, tx *sql.Tx, org int, typ feed.Type, t task.Task, fields []string, at task.DateTime) error {
	if fields == nil {
		fields = []string{}
	}
	fieldsJSON, err := json.Marshal(fields)
	if err != nil {
		return err
	}
	var snap any // NULL for a delete
	if typ != feed.Deleted {
		snap = snapshot.Append(nil, t)
	}
	_, err = tx.ExecContext(ctx, insertChange, org, typ, t.ID, at.String(), fieldsJSON, snap)
	return err
}

// Changes returns the organisation's changes after q.After. The page and
// the head are read in one statement, so from one snapshot; one more row
// than the page is read to tell whether more follow.
func (s *Store) Changes(ctx context.Context, q feed.Query) (feed.Page, error) {
	org, err := organisation(ctx)
	if err != nil {
		return feed.Page{}, err
	}
	var page feed.Page
	err = inTx(ctx, s.read, func(tx *sql.Tx) error {
		var removedThrough int64
		err := tx.QueryRowContext(ctx, `SELECT changes_removed_through,
			(SELECT coalesce(max(seq), 0) FROM task_changes WHERE organisation_id = `+bound+`)
			FROM organisations WHERE id = `+bound, org, org).Scan(&removedThrough, &page.HeadSeq)
		if err != nil {
			return err
		}
		if q.After > 0 && q.After < removedThrough {
			return feed.Expired()
		}
		rows, err := tx.QueryContext(ctx, `SELECT seq, type, task_id, at, fields, task FROM task_changes
			WHERE organisation_id = `+bound+` AND seq > ? ORDER BY seq`+limitClause(q.Limit+1), org, q.After)
		if err != nil {
			return err
		}
		defer rows.Close()
		page.Changes = make([]feed.Change, 0, min(q.Limit, 64))
		for rows.Next() {
			if len(page.Changes) == q.Limit {
				page.HasMore = true
				break
			}
			c, err := scanChange(rows)
			if err != nil {
				return err
			}
			page.Changes = append(page.Changes, c)
		}
		return rows.Err()
	})
	if err != nil {
		return feed.Page{}, refusalOr(err, "read changes")
	}
	page.LastSeq = q.After
	if n := len(page.Changes); n > 0 {
		page.LastSeq = page.Changes[n-1].Seq
	}
	return page, nil
}

func scanChange(rows *sql.Rows) (feed.Change, error) {
	c := feed.NewChange()
	var (
		at     string
		fields []byte
		snap   []byte
	)
	if err := rows.Scan(&c.Seq, &c.Type, &c.TaskID, &at, &fields, &snap); err != nil {
		return c, err
	}
	var err error
	if c.At, err = task.ParseDateTime(at); err != nil {
		return c, fmt.Errorf("change %d at: %w", c.Seq, err)
	}
	if err := json.Unmarshal(fields, &c.Fields); err != nil {
		return c, fmt.Errorf("change %d fields: %w", c.Seq, err)
	}
	if snap != nil {
		t, err := snapshot.Parse(snap)
		if err != nil {
			return c, fmt.Errorf("change %d task: %w", c.Seq, err)
		}
		c.Task = &t
	}
	return c, nil
}

// DeleteOldChanges removes up to limit changes committed before before,
// oldest (lowest seq) first, and records for each organisation the highest seq it
// lost, so that a read from before it is refused rather than silently
// missing changes. It says how many it removed.
func (s *Store) DeleteOldChanges(ctx context.Context, before time.Time, limit int) (int, error) {
	var n int
	err := s.commit(ctx, 0, func(ctx context.Context, tx *sql.Tx) error {
		// Oldest first by seq, walking the table in its own order (NOT
		// INDEXED keeps SQLite there) and stopping at the limit: the
		// oldest changes are the expired ones, so a batch reads little
		// more than it removes, and a reader is never refused for a seq
		// while an older one is still kept.
		rows, err := tx.QueryContext(ctx, `DELETE FROM task_changes WHERE seq IN
			(SELECT seq FROM task_changes NOT INDEXED WHERE at < ? ORDER BY seq`+limitClause(limit)+`)
			RETURNING organisation_id, seq`, task.NewDateTime(before).String())
		if err != nil {
			return err
		}
		lost := map[int]int64{}
		n = 0
		for rows.Next() {
			var org int
			var seq int64
			if err := rows.Scan(&org, &seq); err != nil {
				rows.Close()
				return err
			}
			lost[org] = max(lost[org], seq)
			n++
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for org, seq := range lost {
			if _, err := tx.ExecContext(ctx, `UPDATE organisations SET changes_removed_through =
				max(changes_removed_through, ?) WHERE id = `+bound, seq, org); err != nil {
				return err
			}
		}
		return nil
	})
	return n, err
}
