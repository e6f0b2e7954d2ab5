package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"tasksapi/access"
	"tasksapi/feed"
	"tasksapi/idempotency"
	"tasksapi/task"
)

var _ task.Service = (*Store)(nil)

// taskColumns is the select list scanTask reads.
const taskColumns = `id, title, status, priority, start_datetime, end_datetime, due_date,
	description, deal_id, contact_id, assigned_user_id, created_at, updated_at, tag_ids,
	completed_at, version`

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

// CreateTask validates in and stores the new task.
func (s *Store) CreateTask(ctx context.Context, in task.CreateInput) (task.Task, error) {
	org, err := organisation(ctx)
	if err != nil {
		return task.Task{}, err
	}
	t, err := task.NewTask(in)
	if err != nil {
		return task.Task{}, err
	}
	t.Created(task.NewDateTime(s.Now()))
	claim := idempotency.ClaimOf(ctx)
	err = s.commit(ctx, org, func(ctx context.Context, tx *sql.Tx) error {
		t.ID = 0 // a write may run again: see writeRequest
		if err := insert(ctx, tx, org, &t); err != nil {
			return err
		}
		if err := record(ctx, tx, org, feed.Created, t, nil, t.CreatedAt); err != nil {
			return err
		}
		return keep(ctx, tx, claim, t)
	})
	if err != nil {
		return task.Task{}, fmt.Errorf("create task: %w", err)
	}
	claim.Kept()
	return t, nil
}

// UpdateTask changes the task with the given id by in, if expect accepts
// its version. The task is read, changed by the domain's rules
// (task.Task.Apply) and written in one transaction of the writer, so no
// other write comes between the read and the write: of two changes
// conditional on the same version, the second finds the first's.
func (s *Store) UpdateTask(ctx context.Context, id int, in task.UpdateInput, expect task.Expect) (task.Task, error) {
	org, err := organisation(ctx)
	if err != nil {
		return task.Task{}, err
	}
	var t task.Task
	claim := idempotency.ClaimOf(ctx)
	err = s.commit(ctx, org, func(ctx context.Context, tx *sql.Tx) error {
		old, err := readForWrite(ctx, tx, org, id, expect)
		if err != nil {
			return err
		}
		var fields []string
		t, fields, err = old.Apply(in, task.NewDateTime(s.Now()))
		if err != nil {
			return err
		}
		if len(fields) > 0 {
			if err := update(ctx, tx, org, t, fields); err != nil {
				return err
			}
			if err := record(ctx, tx, org, feed.Updated, t, fields, t.UpdatedAt); err != nil {
				return err
			}
		}
		return keep(ctx, tx, claim, t)
	})
	if err != nil {
		return task.Task{}, refusalOr(err, "update task %d", id)
	}
	claim.Kept()
	return t, nil
}

// DeleteTask removes the task with the given id, if expect accepts its
// version, and returns it as it was. Ids come from AUTOINCREMENT, so a
// removed task's id is never given to another.
func (s *Store) DeleteTask(ctx context.Context, id int, expect task.Expect) (task.Task, error) {
	org, err := organisation(ctx)
	if err != nil {
		return task.Task{}, err
	}
	var t task.Task
	claim := idempotency.ClaimOf(ctx)
	err = s.commit(ctx, org, func(ctx context.Context, tx *sql.Tx) error {
		var err error
		if t, err = readForWrite(ctx, tx, org, id, expect); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "DELETE FROM tasks WHERE id = "+bound, id); err != nil {
			return err
		}
		if err := record(ctx, tx, org, feed.Deleted, t, nil, task.NewDateTime(s.Now())); err != nil {
			return err
		}
		return keep(ctx, tx, claim, t)
	})
	if err != nil {
		return task.Task{}, refusalOr(err, "delete task %d", id)
	}
	claim.Kept()
	return t, nil
}

// readForWrite reads the task a change or delete is about, within its
// transaction, and checks its version against expect.
func readForWrite(ctx context.Context, tx *sql.Tx, org, id int, expect task.Expect) (task.Task, error) {
	row := tx.QueryRowContext(ctx, "SELECT "+taskColumns+" FROM tasks WHERE organisation_id = "+bound+" AND id = "+bound, org, id)
	t, err := scanTask(row)
	if errors.Is(err, sql.ErrNoRows) {
		return task.Task{}, task.NotFound()
	}
	if err != nil {
		return task.Task{}, err
	}
	return t, expect.Check(t.Version)
}

// refusalOr returns a rule's refusal as it is, and wraps a fault with
// what was being done.
func refusalOr(err error, format string, args ...any) error {
	if task.ErrorCode(err) != task.CodeInternal {
		return err
	}
	return fmt.Errorf(format+": %w", append(args, err)...)
}

// changedColumns maps each field a change can alter to the columns that
// hold it and their new values. An update sets only the columns of the
// fields that changed (and updated_at and version): SQLite rewrites every
// index that holds a column in the SET list, changed or not, so setting
// them all rewrote ten index entries for a change of title. A statement
// per set of changed fields stays prepared in the connection's cache.
var changedColumns = map[string]func(t task.Task) (columns string, args []any){
	"title": func(t task.Task) (string, []any) {
		return "title = ?, title_fold = ?", []any{t.Title, task.Fold(t.Title)}
	},
	"status":         func(t task.Task) (string, []any) { return "status = ?", []any{t.Status} },
	"priority":       func(t task.Task) (string, []any) { return "priority = ?", []any{t.Priority} },
	"startDatetime":  func(t task.Task) (string, []any) { return "start_datetime = ?", []any{t.StartDatetime.String()} },
	"endDatetime":    func(t task.Task) (string, []any) { return "end_datetime = ?", []any{nullableText(t.EndDatetime)} },
	"dueDate":        func(t task.Task) (string, []any) { return "due_date = ?", []any{t.DueDate.String()} },
	"description":    func(t task.Task) (string, []any) { return "description = ?", []any{t.Description} },
	"dealId":         func(t task.Task) (string, []any) { return "deal_id = ?", []any{t.DealID} },
	"contactId":      func(t task.Task) (string, []any) { return "contact_id = ?", []any{t.ContactID} },
	"assignedUserId": func(t task.Task) (string, []any) { return "assigned_user_id = ?", []any{t.AssignedUserID} },
	"tagIds":         func(t task.Task) (string, []any) { return "tag_ids = ?", []any{tagsText(t.TagIDs)} },
	"completedAt":    func(t task.Task) (string, []any) { return "completed_at = ?", []any{nullableText(t.CompletedAt)} },
}

// update writes the changed fields of t within tx, with its new
// updated_at and version. The count triggers fire only for a change of
// the columns they count; the organisation's write version, which keys
// the cached totals of searches and date ranges, moves here for any.
func update(ctx context.Context, tx *sql.Tx, org int, t task.Task, fields []string) error {
	var set strings.Builder
	set.WriteString("UPDATE tasks SET updated_at = ?, version = ?")
	args := []any{t.UpdatedAt.String(), t.Version}
	for _, f := range fields {
		columns, values := changedColumns[f](t)
		set.WriteString(", ")
		set.WriteString(columns)
		args = append(args, values...)
	}
	set.WriteString(" WHERE id = " + bound)
	if _, err := tx.ExecContext(ctx, set.String(), append(args, t.ID)...); err != nil {
		return err
	}
	_, err := tx.ExecContext(ctx, "UPDATE organisations SET write_version = write_version + 1 WHERE id = "+bound, org)
	return err
}

// insertTask is the SQL of a new task; the connection's statement cache
// keeps it prepared.
const insertTask = `INSERT INTO tasks (organisation_id, title, title_fold, status, priority,
	start_datetime, end_datetime, due_date, description, deal_id, contact_id, assigned_user_id,
	created_at, updated_at, tag_ids, completed_at, version)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`

// insert stores t in org, within tx, and sets its ID.
func insert(ctx context.Context, tx *sql.Tx, org int, t *task.Task) error {
	res, err := tx.ExecContext(ctx, insertTask, org, t.Title, task.Fold(t.Title), t.Status, t.Priority,
		t.StartDatetime.String(), nullableText(t.EndDatetime), t.DueDate.String(), t.Description,
		t.DealID, t.ContactID, t.AssignedUserID, t.CreatedAt.String(), t.UpdatedAt.String(), tagsText(t.TagIDs),
		nullableText(t.CompletedAt), t.Version)
	if err != nil {
		return err
	}
	id, err := res.LastInsertId()
	if err != nil {
		return err
	}
	t.ID = int(id)
	return nil
}

// ImportTasks stores n tasks in org, made by next, in large transactions:
// the bulk path for seeding. Each input still passes task.NewTask.
func (s *Store) ImportTasks(ctx context.Context, org, n int, next func(i int) (task.CreateInput, time.Time)) (rerr error) {
	const batch = 100_000 // rows a transaction: each commit rewrites the pages it touched
	// Inserts into ten indexes at once touch pages all over the file: a
	// cache of the whole working set turns that into memory traffic.
	if _, err := s.write.ExecContext(ctx, "PRAGMA cache_size = -1048576"); err != nil { // 1 GiB
		return err
	}
	defer s.write.ExecContext(context.Background(), fmt.Sprintf("PRAGMA cache_size = -%d", writerCacheKiB))
	// The imported tasks join the search index's unindexed tail; at the
	// end, prepareSearch indexes them, rebuilding the main index when they
	// are many (as would the next start, should this stop half way).
	if s.fts {
		defer func() {
			if _, err := prepareSearch(context.WithoutCancel(ctx), s.write); err != nil && rerr == nil {
				rerr = err
			}
		}()
	}
	// The driver watches a cancellable context with a goroutine per
	// statement; a bulk load checks for cancellation once per batch instead.
	stmtCtx := context.WithoutCancel(ctx)
	for start := 0; start < n; start += batch {
		if err := ctx.Err(); err != nil {
			return err
		}
		err := inTx(stmtCtx, s.write, func(tx *sql.Tx) error {
			for i := start; i < min(start+batch, n); i++ {
				in, created := next(i)
				t, err := task.NewTask(in)
				if err != nil {
					return fmt.Errorf("task %d: %w", i, err)
				}
				t.Created(task.NewDateTime(created))
				if err := insert(stmtCtx, tx, org, &t); err != nil {
					return err
				}
				if err := record(stmtCtx, tx, org, feed.Created, t, nil, t.CreatedAt); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("import tasks: %w", err)
		}
	}
	// Fresh statistics, so the planner knows which index narrows best.
	_, err := s.write.ExecContext(ctx, "PRAGMA analysis_limit = 1000; ANALYZE")
	return err
}

// Task returns the task with the given id. Another organisation's task is
// not found, exactly like a missing one.
func (s *Store) Task(ctx context.Context, id int) (task.Task, error) {
	org, err := organisation(ctx)
	if err != nil {
		return task.Task{}, err
	}
	row := s.read.QueryRowContext(ctx, "SELECT "+taskColumns+" FROM tasks WHERE organisation_id = "+bound+" AND id = "+bound, org, id)
	t, err := scanTask(row)
	if errors.Is(err, sql.ErrNoRows) {
		return task.Task{}, task.NotFound()
	}
	if err != nil {
		return task.Task{}, fmt.Errorf("get task %d: %w", id, err)
	}
	return t, nil
}

// ListTasks returns one page of the tasks matching p, and how many match
// in all, both read from the same snapshot.
func (s *Store) ListTasks(ctx context.Context, p task.ListParams) (task.Page, error) {
	org, err := organisation(ctx)
	if err != nil {
		return task.Page{}, err
	}
	q, err := p.Query()
	if err != nil {
		return task.Page{}, err
	}
	// Most lists are one statement: each row carries the total. Deep
	// pages start from a landmark, which needs a snapshot of its own.
	deep := fromLandmark(q)
	if total, ok := inlineTotal(org, q.Filter, q.SkipTotal); ok && !deep {
		page, err := s.listPage(ctx, s.read, org, q, false, total, start{skip: q.Offset()})
		if err != nil {
			return task.Page{}, fmt.Errorf("list tasks: %w", err)
		}
		if len(page.Items) > 0 || q.SkipTotal {
			return page, nil
		}
		// No row carried the total: count it below.
	}
	var page task.Page
	err = inTx(ctx, s.read, func(tx *sql.Tx) error {
		total, useIndex, err := s.pageCount(ctx, tx, org, q.Filter, q.SkipTotal, q.Offset()+q.PageSize)
		if err != nil {
			return err
		}
		if !q.SkipTotal && q.Offset() >= total {
			page = task.Page{Items: []task.Task{}, PageSize: q.PageSize, PageIndex: q.PageIndex, TotalRecords: total}
			return nil
		}
		from := start{skip: q.Offset()}
		if deep {
			if from, err = s.landmark(ctx, tx, org, q); err != nil {
				return err
			}
		}
		page, err = s.listPage(ctx, tx, org, q, useIndex, sqlPart{}, from)
		page.TotalRecords = total
		return err
	})
	if err != nil {
		return task.Page{}, fmt.Errorf("list tasks: %w", err)
	}
	return page, nil
}

// fromLandmark reports whether the page of q starts from a landmark.
func fromLandmark(q task.ListQuery) bool {
	return q.Offset() >= landmarkEvery && q.Filter.Search == nil
}

// querier is a connection pool or a transaction.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// listPage reads one page of a list, from a start; with a total (see
// inlineTotal), the page's TotalRecords is read from its rows.
func (s *Store) listPage(ctx context.Context, db querier, org int, q task.ListQuery, indexSearch bool, total sqlPart, from start) (task.Page, error) {
	page := task.Page{Items: make([]task.Task, 0, q.PageSize), PageSize: q.PageSize, PageIndex: q.PageIndex}
	query, args := pageQuery(org, q, indexSearch, total, from)
	rows, err := db.QueryContext(ctx, query, args...)
	if err != nil {
		return task.Page{}, err
	}
	defer rows.Close()
	var extra []any
	if total.sql != "" {
		extra = []any{&page.TotalRecords}
	}
	scan := newTaskScanner(extra...)
	for rows.Next() {
		t, err := scan.scan(rows)
		if err != nil {
			return task.Page{}, err
		}
		page.Items = append(page.Items, t)
	}
	return page, rows.Err()
}

// start is where a page begins: skip tasks after the position after, or
// from the start of the list when after is nil.
type start struct {
	after *task.Position
	skip  int
}

// deferredJoinOffset is the number of skipped tasks from which a page reads
// its ids before its rows; below it, the extra step costs more than the
// rows it skips. Only deep pages of a search skip that many: others start
// from a landmark.
const deferredJoinOffset = landmarkEvery

// pageQuery is the SQL of one page of a list, from a start, each row
// followed by total if it has any SQL.
func pageQuery(org int, q task.ListQuery, indexSearch bool, total sqlPart, from start) (string, []any) {
	col := sortColumns[q.SortBy]
	where, whereArgs := whereClause(org, q.Filter, indexSearch)
	if from.after != nil {
		cond, after := keyset(col, q.SortOrder, *from.after)
		where, whereArgs = where+" AND "+cond, append(whereArgs, after...)
	}
	order := orderBy(col, q.SortOrder)
	columns := withTotal(taskColumns, total)
	args := slices.Concat(total.args, whereArgs, []any{from.skip})
	limit := limitClause(q.PageSize) + " OFFSET ?"
	if from.skip < deferredJoinOffset {
		return "SELECT " + columns + " FROM tasks" + where + order + limit, args
	}
	// Deep pages find their ids first, then read their rows: the offset
	// skips index entries only, not whole rows.
	return "SELECT " + columns + " FROM tasks WHERE id IN (SELECT id FROM tasks" + where + order +
		limit + ")" + order, args
}

// limitClause is " LIMIT n": the one number spliced into SQL rather than
// bound, always a checked page size. SQLite plans a statement for the
// value of its LIMIT, so a bound LIMIT would mark the statement to be
// planned again on every run (see bound).
func limitClause(n int) string { return " LIMIT " + strconv.Itoa(n) }

// bound is the placeholder of a value that an equality compares with. The
// planner weighs "x = 0" and "x = 1" apart from other values, so with a
// bare "?" SQLite marks the statement to be planned again when a new value
// is bound; the driver clears a cached statement's bindings before each
// run, which counts as new, so every run re-planned the statement. "+?"
// is the same value to SQLite, without the mark.
const bound = "+?"

// orderBy is the ORDER BY clause of a sort on col. NULLS LAST holds in
// both directions; the id tie-breaker makes the order total, so pages
// never overlap or skip.
func orderBy(col string, order task.SortOrder) string {
	dir := " ASC"
	if order == task.Desc {
		dir = " DESC"
	}
	return " ORDER BY " + col + dir + " NULLS LAST, id" + dir
}

// whereClause turns a checked filter into SQL conditions and their
// arguments. Values are always bound, never spliced in (a page's LIMIT is
// the one exception: see limitClause). With indexSearch, a search goes
// through the trigram index (see pageCount).
func whereClause(org int, f task.Filter, indexSearch bool) (string, []any) {
	conds := []string{"organisation_id = " + bound}
	args := []any{org}
	add := func(cond string, arg any) {
		conds = append(conds, cond)
		args = append(args, arg)
	}
	if f.Search != nil {
		term := task.Fold(*f.Search)
		if indexSearch && indexable(term) {
			// A phrase of the term's trigrams: the term as a substring.
			phrase := `"` + strings.ReplaceAll(term, `"`, `""`) + `"`
			conds, args = append(conds, searchMatch), append(args, phrase, phrase, org)
		}
		// instr, unlike LIKE, has no wildcards: % and _ match themselves.
		add("instr(title_fold, ?) > 0", term)
	}
	if f.Status != nil {
		add("status = "+bound, *f.Status)
	}
	if f.Priority != nil {
		add("priority = "+bound, *f.Priority)
	}
	if f.AssignedUserID != nil {
		add("assigned_user_id = "+bound, *f.AssignedUserID)
	}
	if f.DueDateFrom != nil {
		add("due_date >= ?", f.DueDateFrom.String())
	}
	if f.DueDateTo != nil {
		add("due_date <= ?", f.DueDateTo.String())
	}
	return " WHERE " + strings.Join(conds, " AND "), args
}

// organisation is the organisation whose tasks a request may see. A store
// call without one is a bug, and fails closed.
func organisation(ctx context.Context) (int, error) {
	p, ok := access.FromContext(ctx)
	if !ok {
		return 0, errors.New("no organisation in the request context")
	}
	return p.OrganisationID, nil
}

func nullableText(d *task.DateTime) any {
	if d == nil {
		return nil
	}
	return d.String()
}

type scanner interface{ Scan(dest ...any) error }

// scanTask reads the columns of taskColumns, then any extra ones into
// extra's pointers, from one row.
func scanTask(row scanner, extra ...any) (task.Task, error) {
	return newTaskScanner(extra...).scan(row)
}

// taskScanner reads rows of taskColumns (then any extra columns) into
// destinations it keeps from row to row: a page's rows share them rather
// than each allocating its own.
type taskScanner struct {
	id, status, priority      int64
	version                   int64
	title, start, due         string
	created, updated, tags    string
	end, description          sql.NullString
	completed                 sql.NullString
	deal, contact, assignedTo sql.NullInt64
	dest                      []any
}

func newTaskScanner(extra ...any) *taskScanner {
	s := &taskScanner{}
	s.dest = append([]any{&s.id, &s.title, &s.status, &s.priority, &s.start, &s.end, &s.due,
		&s.description, &s.deal, &s.contact, &s.assignedTo, &s.created, &s.updated, &s.tags,
		&s.completed, &s.version}, extra...)
	return s
}

// optional holds a task's optional fields, so that one allocation serves
// every pointer of a row.
type optional struct {
	end         task.DateTime
	completed   task.DateTime
	description string
	ids         [3]int // deal, contact, assigned user
}

func (s *taskScanner) scan(row scanner) (task.Task, error) {
	if err := row.Scan(s.dest...); err != nil {
		return task.Task{}, err
	}
	t := task.Task{ID: int(s.id), Title: s.title, Status: task.Status(s.status), Priority: task.Priority(s.priority),
		Version: int(s.version)}
	var err error
	if t.StartDatetime, err = task.ParseDateTime(s.start); err != nil {
		return task.Task{}, fmt.Errorf("task %d start_datetime: %w", t.ID, err)
	}
	if t.CreatedAt, err = task.ParseDateTime(s.created); err != nil {
		return task.Task{}, fmt.Errorf("task %d created_at: %w", t.ID, err)
	}
	if t.UpdatedAt, err = task.ParseDateTime(s.updated); err != nil {
		return task.Task{}, fmt.Errorf("task %d updated_at: %w", t.ID, err)
	}
	if t.DueDate, err = task.ParseDate(s.due); err != nil {
		return task.Task{}, fmt.Errorf("task %d due_date: %w", t.ID, err)
	}
	if t.TagIDs, err = parseTags(s.tags); err != nil {
		return task.Task{}, fmt.Errorf("task %d tag_ids: %w", t.ID, err)
	}
	o := new(optional)
	if s.end.Valid {
		if o.end, err = task.ParseDateTime(s.end.String); err != nil {
			return task.Task{}, fmt.Errorf("task %d end_datetime: %w", t.ID, err)
		}
		t.EndDatetime = &o.end
	}
	if s.completed.Valid {
		if o.completed, err = task.ParseDateTime(s.completed.String); err != nil {
			return task.Task{}, fmt.Errorf("task %d completed_at: %w", t.ID, err)
		}
		t.CompletedAt = &o.completed
	}
	if s.description.Valid {
		o.description = s.description.String
		t.Description = &o.description
	}
	ids := [...]struct {
		n   sql.NullInt64
		dst **int
	}{{s.deal, &t.DealID}, {s.contact, &t.ContactID}, {s.assignedTo, &t.AssignedUserID}}
	for i, id := range ids {
		if id.n.Valid {
			o.ids[i] = int(id.n.Int64)
			*id.dst = &o.ids[i]
		}
	}
	return t, nil
}

// tagsText is the stored form of tag ids: a JSON array, which SQLite's
// JSON functions can read should a query ever need to.
func tagsText(ids []int) string {
	b := append(make([]byte, 0, 2+4*len(ids)), '[')
	for i, id := range ids {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendInt(b, int64(id), 10)
	}
	return string(append(b, ']'))
}

// parseTags reads what tagsText wrote.
func parseTags(text string) ([]int, error) {
	inner, open := strings.CutPrefix(text, "[")
	inner, closed := strings.CutSuffix(inner, "]")
	if !open || !closed {
		return nil, fmt.Errorf("%q is not an array of ids", text)
	}
	ids := make([]int, 0, strings.Count(inner, ",")+1)
	if len(inner) == 0 {
		return ids, nil
	}
	for s := range strings.SplitSeq(inner, ",") {
		id, err := strconv.Atoi(s)
		if err != nil {
			return nil, fmt.Errorf("%q is not an array of ids", text)
		}
		ids = append(ids, id)
	}
	return ids, nil
}
