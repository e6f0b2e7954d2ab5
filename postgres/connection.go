package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"

	"tasksapi/task"
)

// TaskConnection returns the page of tasks after a cursor: the tasks that
// sort after the cursor's position, found by a range over the sort's
// index, so page 10,000 costs what page 1 does. The page and its total
// come from one statement (see count.go).
func (s *Store) TaskConnection(ctx context.Context, p task.ConnectionParams) (task.Connection, error) {
	org, err := organisation(ctx)
	if err != nil {
		return task.Connection{}, err
	}
	q, err := p.Query(s.cursor)
	if err != nil {
		return task.Connection{}, err
	}
	conn, err := read(ctx, s, func() (task.Connection, error) { return s.connectionPage(ctx, org, q) })
	if err != nil {
		return task.Connection{}, fail(err, "task connection")
	}
	return conn, nil
}

func (s *Store) connectionPage(ctx context.Context, org int, q task.ConnectionQuery) (task.Connection, error) {
	conn := task.Connection{Edges: make([]task.Edge, 0, q.First), After: q.After != nil}
	var a args
	// One more row than the page tells whether a next page exists.
	l := s.newList(org, q.Filter, q.SkipTotal, false, q.First+1, &a)
	where := l.where
	if q.After != nil {
		cond, err := keyset(q.SortBy, q.SortOrder, *q.After, &a)
		if err != nil {
			return task.Connection{}, err
		}
		where += " AND " + cond
	}
	// Each row is followed by its sort column, the key its cursor carries.
	byIndex := !sortMatches(q.Filter, q.SortBy, l.known.total, l.known.all)
	sql := pageSQL(taskColumns+", "+sortColumns[q.SortBy]+" AS sort_key", where, orderBy(q.SortBy, q.SortOrder, byIndex),
		limitClause(q.First+1), !byIndex)
	var key any
	err := l.query(ctx, s.pool, sql, a.args, []any{&key}, func(rows pgx.Rows, scan *taskScanner) error {
		t, err := scan.scan(rows)
		if err != nil {
			return err
		}
		if len(conn.Edges) == q.First {
			conn.HasNextPage = true
			return nil
		}
		pos := task.Position{SortBy: q.SortBy, SortOrder: q.SortOrder, Key: positionKey(q.SortBy, key), ID: t.ID}
		conn.Edges = append(conn.Edges, task.Edge{Node: t, Cursor: s.cursor.Encode(pos)})
		return nil
	})
	if err != nil {
		return task.Connection{}, err
	}
	conn.TotalCount = l.total
	s.keepTotal(l)
	return conn, nil
}
