package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"slices"

	"tasksapi/task"
)

// TaskConnection returns the page of tasks after a cursor: the tasks that
// sort after the cursor's position, found by a range over the sort
// column's index, so page 10,000 costs what page 1 does.
func (s *Store) TaskConnection(ctx context.Context, p task.ConnectionParams) (task.Connection, error) {
	org, err := organisation(ctx)
	if err != nil {
		return task.Connection{}, err
	}
	q, err := p.Query(s.cursor)
	if err != nil {
		return task.Connection{}, err
	}
	// As in ListTasks: one statement when the rows can carry the total.
	if total, ok := inlineTotal(org, q.Filter, q.SkipTotal); ok {
		conn, err := s.connectionPage(ctx, s.read, org, q, false, total)
		if err != nil {
			return task.Connection{}, fmt.Errorf("task connection: %w", err)
		}
		if len(conn.Edges) > 0 || q.SkipTotal {
			return conn, nil
		}
	}
	var conn task.Connection
	err = inTx(ctx, s.read, func(tx *sql.Tx) error {
		total, useIndex, err := s.pageCount(ctx, tx, org, q.Filter, q.SkipTotal, q.First+1)
		if err != nil {
			return err
		}
		conn, err = s.connectionPage(ctx, tx, org, q, useIndex, sqlPart{})
		conn.TotalCount = total
		return err
	})
	if err != nil {
		return task.Connection{}, fmt.Errorf("task connection: %w", err)
	}
	return conn, nil
}

// connectionPage reads one page of a connection; with a total (see
// inlineTotal), its TotalCount is read from the rows.
func (s *Store) connectionPage(ctx context.Context, db querier, org int, q task.ConnectionQuery, indexSearch bool, total sqlPart) (task.Connection, error) {
	conn := task.Connection{Edges: make([]task.Edge, 0, q.First), After: q.After != nil}
	query, args := connectionQuery(org, q, indexSearch, total)
	rows, err := db.QueryContext(ctx, query, args...)
	if err != nil {
		return task.Connection{}, err
	}
	defer rows.Close()
	// The sort key as the driver gives it (a string for TEXT, an int64 for
	// INTEGER), which a cursor carries and a keyset binds as it is.
	var key any
	extra := []any{&key}
	if total.sql != "" {
		extra = append(extra, &conn.TotalCount)
	}
	scan := newTaskScanner(extra...)
	for rows.Next() {
		t, err := scan.scan(rows)
		if err != nil {
			return task.Connection{}, err
		}
		if len(conn.Edges) == q.First {
			conn.HasNextPage = true
			break
		}
		pos := task.Position{SortBy: q.SortBy, SortOrder: q.SortOrder, Key: key, ID: t.ID}
		conn.Edges = append(conn.Edges, task.Edge{Node: t, Cursor: s.cursor.Encode(pos)})
	}
	return conn, rows.Err()
}

// connectionQuery is the SQL of a connection page, each row followed by
// its sort key, then by total if it has any SQL.
func connectionQuery(org int, q task.ConnectionQuery, indexSearch bool, total sqlPart) (string, []any) {
	col := sortColumns[q.SortBy]
	where, whereArgs := whereClause(org, q.Filter, indexSearch)
	args := slices.Concat(total.args, whereArgs)
	if q.After != nil {
		cond, after := keyset(col, q.SortOrder, *q.After)
		where, args = where+" AND "+cond, append(args, after...)
	}
	// One more row than the page tells whether a next page exists.
	return "SELECT " + withTotal(taskColumns+", "+col, total) + " FROM tasks" + where +
		orderBy(col, q.SortOrder) + limitClause(q.First+1), args
}

// nullableSortColumn is the one sort column that can be NULL.
const nullableSortColumn = "end_datetime"

// keyset is the condition "sorts after pos" for the order col, id in the
// given direction, with NULLs (only end_datetime has them) last either way.
func keyset(col string, order task.SortOrder, pos task.Position) (string, []any) {
	cmp := ">"
	if order == task.Desc {
		cmp = "<"
	}
	switch {
	case col == "id":
		return "id " + cmp + " ?", []any{pos.ID}
	case pos.Key == nil: // among the trailing NULLs
		return "(" + col + " IS NULL AND id " + cmp + " ?)", []any{pos.ID}
	case col == nullableSortColumn:
		return "((" + col + ", id) " + cmp + " (?, ?) OR " + col + " IS NULL)", []any{pos.Key, pos.ID}
	default:
		return "(" + col + ", id) " + cmp + " (?, ?)", []any{pos.Key, pos.ID}
	}
}
