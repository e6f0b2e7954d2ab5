package postgres

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"tasksapi/task"
)

// sortColumns maps each sort field to its column. Only these strings ever
// reach an ORDER BY.
var sortColumns = map[task.SortField]string{
	task.SortByID:            "id",
	task.SortByTitle:         "title_fold",
	task.SortByStatus:        "status",
	task.SortByPriority:      "priority",
	task.SortByStartDatetime: "start_datetime",
	task.SortByEndDatetime:   "end_datetime",
	task.SortByDueDate:       "due_date",
	task.SortByCreatedAt:     "created_at",
	task.SortByUpdatedAt:     "updated_at",
}

// Task returns the task with the given id. Another organisation's task is
// not found, exactly like a missing one.
func (s *Store) Task(ctx context.Context, id int) (task.Task, error) {
	org, err := organisation(ctx)
	if err != nil {
		return task.Task{}, err
	}
	t, err := read(ctx, s, func() (task.Task, error) {
		row := s.pool.QueryRow(ctx, "SELECT "+taskColumns+" FROM tasks WHERE organisation_id = $1 AND id = $2", org, id)
		return newTaskScanner().scan(row)
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return task.Task{}, task.NotFound()
	}
	if err != nil {
		return task.Task{}, fail(err, "get task %d", id)
	}
	return t, nil
}

// ListTasks returns one page of the tasks matching p, and how many match
// in all, both read by one statement and so from one snapshot.
func (s *Store) ListTasks(ctx context.Context, p task.ListParams) (task.Page, error) {
	org, err := organisation(ctx)
	if err != nil {
		return task.Page{}, err
	}
	q, err := p.Query()
	if err != nil {
		return task.Page{}, err
	}
	page, err := read(ctx, s, func() (task.Page, error) {
		if fromLandmark(q) {
			return s.deepPage(ctx, org, q)
		}
		page, l, err := s.listPage(ctx, org, q, start{skip: q.Offset()}, nil)
		s.keepTotal(l)
		return page, err
	})
	if err != nil {
		return task.Page{}, fail(err, "list tasks")
	}
	return page, nil
}

// start is where a page begins: skip tasks after the position after, or
// from the start of the list when after is nil.
type start struct {
	after *task.Position
	skip  int
}

// listPage reads one page of q from a start, with its total (unless
// q.SkipTotal) and the organisation's write version (see newList). With
// wantSeq, the caller needs the write version the page was read at.
func (s *Store) listPage(ctx context.Context, org int, q task.ListQuery, from start, wantSeq *int64) (task.Page, list, error) {
	page := task.Page{Items: make([]task.Task, 0, q.PageSize), PageSize: q.PageSize, PageIndex: q.PageIndex}
	var a args
	l := s.newList(org, q.Filter, q.SkipTotal, wantSeq != nil, from.skip+q.PageSize, &a)
	where := l.where
	if from.after != nil {
		cond, err := keyset(q.SortBy, q.SortOrder, *from.after, &a)
		if err != nil {
			return task.Page{}, list{}, err
		}
		where += " AND " + cond
	}
	byIndex := !sortMatches(q.Filter, q.SortBy, l.known.total, l.known.all)
	limit := limitClause(q.PageSize)
	if from.skip > 0 {
		limit += " OFFSET " + a.add(from.skip)
	}
	sql := pageSQL(taskColumns, where, orderBy(q.SortBy, q.SortOrder, byIndex), limit, from.skip >= deferredJoinOffset || !byIndex)
	err := l.query(ctx, s.pool, sql, a.args, nil, func(rows pgx.Rows, scan *taskScanner) error {
		t, err := scan.scan(rows)
		page.Items = append(page.Items, t)
		return err
	})
	if err != nil {
		return task.Page{}, list{}, err
	}
	page.TotalRecords = l.total
	if wantSeq != nil {
		*wantSeq = l.seq
	}
	return page, l, nil
}

// pageSQL is the statement of a page: columns of the tasks matching where,
// in order, limited. With deferred, it finds their ids first, then reads
// their rows: deep pages skip index entries rather than rows, and sorted
// matches are read from the filter's index alone.
func pageSQL(columns, where, order, limit string, deferred bool) string {
	if !deferred {
		return "SELECT " + columns + " FROM tasks WHERE " + where + order + limit
	}
	return "SELECT " + columns + " FROM tasks WHERE id IN (SELECT id FROM tasks WHERE " + where + order + limit + ")" +
		strings.Replace(order, "(id + 0)", "id", 1)
}

// deferredJoinOffset is the number of skipped tasks from which a page reads
// its ids before its rows; below it, the extra step costs more than the
// rows it skips.
const deferredJoinOffset = 1000

// limitClause is " LIMIT n": a checked page size spliced into the SQL, so
// that the planner sees how few rows a page needs (of a prepared
// statement's generic plan, a bound LIMIT is assumed to want a tenth of
// the table). Page sizes are 1 to 101, so the statements stay few.
func limitClause(n int) string { return " LIMIT " + strconv.Itoa(n) }

// sortKey is the expression a sort orders by. Tasks without an end
// date-time come last in both directions: as the end of time ascending,
// as its start descending, each direction with an index on its own
// expression (see the schema), so that every sort is a range of an index.
func sortKey(f task.SortField, order task.SortOrder) string {
	if f != task.SortByEndDatetime {
		return sortColumns[f]
	}
	if order == task.Desc {
		return "coalesce(end_datetime, '-infinity')"
	}
	return "coalesce(end_datetime, 'infinity')"
}

// orderBy is the ORDER BY clause of a sort; the id tie-breaker makes the
// order total, so pages never overlap or skip. Unless byIndex, the sort
// key is an expression no index holds, which leaves the planner to find
// the matches by the filter's index and sort them (see sortMatches).
func orderBy(f task.SortField, order task.SortOrder, byIndex bool) string {
	key, id := sortKey(f, order), "id"
	if !byIndex {
		key, id = unindexed(f, key), "(id + 0)"
	}
	if order == task.Desc {
		return " ORDER BY " + key + " DESC, " + id + " DESC"
	}
	return " ORDER BY " + key + ", " + id
}

// unindexed is the sort key key of f as an expression of the same value
// and order that no index holds.
func unindexed(f task.SortField, key string) string {
	switch f {
	case task.SortByID, task.SortByStatus, task.SortByPriority, task.SortByDueDate:
		return "(" + key + " + 0)"
	case task.SortByTitle:
		return "(" + key + " || '')"
	}
	return "(" + key + " + interval '0 s')"
}

// sortMatches reports whether a page of a list filtered by f and sorted by
// sortBy is read by finding every match and sorting them, rather than by
// walking the sort's index until the page is full: when a due-date range
// is not the sort and matches at most half the organisation's tasks
// (matches of all; all is 0 when nothing is known). Due dates go with
// creation, and so with ids and every date of a task: the matches of a
// range sit together along any of those orders, not spread through them,
// and walking to them from the wrong end read 330,000 rows for "due in
// June" by newest first at a million tasks (250 ms), where sorting its
// 41,000 matches took 15 ms.
func sortMatches(f task.Filter, sortBy task.SortField, matches, all int) bool {
	ranged := f.DueDateFrom != nil || f.DueDateTo != nil
	return ranged && f.Search == nil && sortBy != task.SortByDueDate && all > 0 && 2*matches <= all
}

// keyset is the condition "sorts after pos" in the sort f, order: one
// range of the sort's index.
func keyset(f task.SortField, order task.SortOrder, pos task.Position, a *args) (string, error) {
	cmp := " > "
	if order == task.Desc {
		cmp = " < "
	}
	if f == task.SortByID {
		return "id" + cmp + a.add(int64(pos.ID)), nil
	}
	key, err := keyValue(f, pos.Key)
	if err != nil {
		return "", err
	}
	keySQL := a.add(key)
	if f == task.SortByEndDatetime { // the cursor's nil is the end's missing value
		keySQL = strings.Replace(sortKey(f, order), "end_datetime", keySQL+"::timestamp", 1)
	}
	return "(" + sortKey(f, order) + ", id)" + cmp + "(" + keySQL + ", " + a.add(int64(pos.ID)) + ")", nil
}

// errForeignKey refuses a position whose key is not of its sort: a
// signed cursor always has the right one.
var errForeignKey = task.Invalid("after", "is not a cursor this server issued")

// keyValue is a position's sort key as a value of the sort's column. A
// position's key is the column's value in the SQLite store's form, so
// that both stores issue the same cursors: an integer, or the wire form
// of a date-time, a date or the folded title. Read back from a cursor's
// JSON, an integer is a float64.
func keyValue(f task.SortField, key any) (any, error) {
	switch f {
	case task.SortByStatus, task.SortByPriority:
		switch n := key.(type) {
		case float64:
			return int16(n), nil
		case int64:
			return int16(n), nil
		}
	case task.SortByTitle:
		if s, ok := key.(string); ok {
			return s, nil
		}
	case task.SortByDueDate:
		if s, ok := key.(string); ok {
			if d, err := task.ParseDate(s); err == nil {
				return pgDate(d), nil
			}
		}
	default: // the date-times
		if key == nil && f == task.SortByEndDatetime {
			return pgtype.Timestamp{}, nil
		}
		if s, ok := key.(string); ok {
			if d, err := task.ParseDateTime(s); err == nil {
				return pgtype.Timestamp{Time: d.Time(), Valid: true}, nil
			}
		}
	}
	return nil, errForeignKey
}

// positionKey is a sort column's value, as pgx reads it into an any, in
// the form a position holds (see keyValue).
func positionKey(f task.SortField, v any) any {
	switch v := v.(type) {
	case int16:
		return int64(v)
	case int32:
		return int64(v)
	case time.Time:
		if f == task.SortByDueDate {
			return task.NewDateTime(v).Date().String()
		}
		return task.NewDateTime(v).String()
	}
	return v // int64, string, nil
}

// args collects the values of a statement's placeholders.
type args struct{ args []any }

// add binds v and returns its placeholder.
func (a *args) add(v any) string {
	a.args = append(a.args, v)
	return "$" + strconv.Itoa(len(a.args))
}

// filterWhere turns a checked filter into SQL conditions, binding their
// values in a (never spliced in), a search's by path. org is the
// organisation's placeholder.
func filterWhere(org string, f task.Filter, path searchPath, a *args) string {
	var w strings.Builder
	w.WriteString("organisation_id = " + org)
	if f.Search != nil {
		w.WriteString(" AND " + searchCondition(task.Fold(*f.Search), path, a))
	}
	if f.Status != nil {
		w.WriteString(" AND status = " + a.add(int16(*f.Status)))
	}
	if f.Priority != nil {
		w.WriteString(" AND priority = " + a.add(int16(*f.Priority)))
	}
	if f.AssignedUserID != nil {
		w.WriteString(" AND assigned_user_id = " + a.add(int64(*f.AssignedUserID)))
	}
	if f.DueDateFrom != nil {
		w.WriteString(" AND due_date >= " + a.add(pgDate(*f.DueDateFrom)))
	}
	if f.DueDateTo != nil {
		w.WriteString(" AND due_date <= " + a.add(pgDate(*f.DueDateTo)))
	}
	return w.String()
}

// pgDate is d as a PostgreSQL date.
func pgDate(d task.Date) pgtype.Date {
	t, _ := time.Parse(time.DateOnly, d.String()) // a Date always writes a valid date
	return pgtype.Date{Time: t, Valid: true}
}
