package sqlite

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mattn/go-sqlite3"

	"tasksapi/access"
	"tasksapi/seed"
	"tasksapi/task"
)

// These tests read SQLite's query plans for the SQL the store builds and
// check that every list the contract offers is served through an index
// within the organisation, never by reading the whole tasks table.

// planTasks is how many tasks the organisation under test has; another
// organisation holds a third as many, so that "within the organisation"
// means something to the planner.
const planTasks = 3000

func planPtr[T any](v T) *T { return &v }

// planStore is an analysed store with two organisations of generated
// tasks; org is the one the cases list.
type planStore struct {
	s    *Store
	org  int
	ctx  context.Context // carries a principal of org
	path string
}

func newPlanStore(t *testing.T) planStore {
	t.Helper()
	path := filepath.Join(t.TempDir(), "plan.db")
	s, err := Open(path, SyncNormal)
	if err != nil {
		t.Fatalf("Open(%s): %v", path, err)
	}
	t.Cleanup(func() { s.Close() })
	ctx := t.Context()
	other, err := s.Organisation(ctx, "Other")
	if err != nil {
		t.Fatalf("Organisation(Other): %v", err)
	}
	org, err := s.Organisation(ctx, "Planned")
	if err != nil {
		t.Fatalf("Organisation(Planned): %v", err)
	}
	importSeed(t, s, other, 2, planTasks/3)
	importSeed(t, s, org, 1, planTasks)
	if _, err := s.write.ExecContext(ctx, "ANALYZE"); err != nil {
		t.Fatalf("ANALYZE: %v", err)
	}
	return planStore{s: s, org: org, path: path,
		ctx: access.WithPrincipal(ctx, access.Principal{OrganisationID: org})}
}

// importSeed adds n generated tasks to org, as the seed command does.
func importSeed(t *testing.T, s *Store, org int, seedValue uint64, n int) {
	t.Helper()
	gen := seed.New(seedValue, n, time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	err := s.ImportTasks(t.Context(), org, n, gen.Input)
	if err != nil {
		t.Fatalf("ImportTasks(org %d, %d tasks): %v", org, n, err)
	}
}

// planLine is a row of EXPLAIN QUERY PLAN.
type planLine struct {
	id, parent int
	detail     string
}

// explainTree returns the rows of EXPLAIN QUERY PLAN for query.
func explainTree(t *testing.T, conn *sql.DB, query string, args []any) []planLine {
	t.Helper()
	rows, err := conn.Query("EXPLAIN QUERY PLAN "+query, args...)
	if err != nil {
		t.Fatalf("EXPLAIN QUERY PLAN: %v\nSQL: %s", err, query)
	}
	defer rows.Close()
	var plan []planLine
	for rows.Next() {
		var l planLine
		var unused int
		if err := rows.Scan(&l.id, &l.parent, &unused, &l.detail); err != nil {
			t.Fatalf("scan plan row: %v", err)
		}
		plan = append(plan, l)
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("read plan: %v", err)
	}
	return plan
}

// explain returns the detail column of EXPLAIN QUERY PLAN for query.
func explain(t *testing.T, conn *sql.DB, query string, args []any) []string {
	t.Helper()
	return details(explainTree(t, conn, query, args))
}

// assertSortedByIndex checks that the rows of a page are read in the
// order of an index, so that a page costs the same however deep it is:
// the only sorts allowed are of each task's tags (a correlated
// subquery) and, with outerPageSort, the outer query of a list page,
// which re-sorts the page's own rows.
func assertSortedByIndex(t *testing.T, plan []planLine, outerPageSort bool, query string) {
	t.Helper()
	byID := map[int]planLine{}
	for _, l := range plan {
		byID[l.id] = l
	}
	for _, l := range plan {
		if !strings.HasPrefix(l.detail, "USE TEMP B-TREE FOR") {
			continue
		}
		if outerPageSort && l.parent == 0 {
			continue
		}
		inTags := false
		for p, ok := byID[l.parent]; ok; p, ok = byID[p.parent] {
			if strings.HasPrefix(p.detail, "CORRELATED SCALAR SUBQUERY") {
				inTags = true
				break
			}
		}
		if !inTags {
			var lines []string
			for _, l := range plan {
				lines = append(lines, fmt.Sprintf("%d<-%d %s", l.id, l.parent, l.detail))
			}
			t.Errorf("the plan sorts the organisation's matches (%q) instead of reading them in index order\nSQL: %s\nplan:\n  %s",
				l.detail, query, strings.Join(lines, "\n  "))
		}
	}
}

var (
	// tasksRead is a plan line that reads the tasks table itself (not
	// tasks_fts, not a subquery).
	tasksRead = regexp.MustCompile(`^(SCAN|SEARCH) tasks( |$)`)
	// orgIndexSearch reads tasks through one of the indexes that lead with
	// organisation_id, constrained to one organisation.
	orgIndexSearch = regexp.MustCompile(`^SEARCH tasks USING (COVERING )?INDEX tasks_org_\w+ \(organisation_id=\?`)
	// rowidLookup fetches single tasks by id, as the outer query of a page
	// does for the ids its subquery chose.
	rowidLookup = regexp.MustCompile(`^SEARCH tasks USING INTEGER PRIMARY KEY \(rowid=\?\)$`)
	// ftsRead reads the trigram index.
	ftsRead = regexp.MustCompile(`^SCAN tasks_fts VIRTUAL TABLE INDEX \d+:M`)
)

// bareScans returns the plan lines that read a whole table: "SCAN t"
// without an index (a subquery, a constant row or a virtual table with
// its own index is not a table read).
func details(plan []planLine) []string {
	out := make([]string, 0, len(plan))
	for _, l := range plan {
		out = append(out, l.detail)
	}
	return out
}

func bareScans(plan []string) []string {
	var out []string
	for _, line := range plan {
		if !strings.HasPrefix(line, "SCAN ") || strings.Contains(line, " USING ") ||
			strings.HasPrefix(line, "SCAN (") || strings.HasPrefix(line, "SCAN CONSTANT ROW") ||
			strings.Contains(line, " VIRTUAL TABLE ") || line == "SCAN search_index" || // one row, always
			line == "SCAN search_dirty" { // the titles changed in the last fraction of a second
			continue
		}
		out = append(out, line)
	}
	return out
}

// assertWithinOrganisation checks that plan never scans a table, reads
// tasks only through an organisation index or by single ids, and uses an
// organisation index at least once. With viaTrigramIndex, reading the
// trigram index takes the place of the organisation index: see
// TestPlansOfSearchesThroughTheTrigramIndex.
func assertWithinOrganisation(t *testing.T, plan []string, viaTrigramIndex bool, query string) {
	t.Helper()
	failed := false
	for _, line := range bareScans(plan) {
		t.Errorf("the plan reads a whole table: %q", line)
		failed = true
	}
	usesOrgIndex, usesFTS := false, false
	for _, line := range plan {
		switch {
		case orgIndexSearch.MatchString(line):
			usesOrgIndex = true
		case ftsRead.MatchString(line):
			usesFTS = true
		case rowidLookup.MatchString(line):
		case tasksRead.MatchString(line):
			t.Errorf("the plan reads tasks neither through an organisation index nor by id: %q", line)
			failed = true
		}
	}
	switch {
	case viaTrigramIndex && !usesFTS:
		t.Errorf("the plan does not read the trigram index tasks_fts")
		failed = true
	case !viaTrigramIndex && !usesOrgIndex:
		t.Errorf("the plan names no index leading with organisation_id (SEARCH tasks USING INDEX tasks_org_* (organisation_id=?...))")
		failed = true
	}
	if failed {
		t.Logf("SQL: %s\nplan:\n  %s", query, strings.Join(plan, "\n  "))
	}
}

var allSortFields = []task.SortField{task.SortByID, task.SortByTitle, task.SortByStatus, task.SortByPriority,
	task.SortByStartDatetime, task.SortByEndDatetime, task.SortByDueDate, task.SortByCreatedAt, task.SortByUpdatedAt}

func sortName(f task.SortField, o task.SortOrder) string {
	dir := "ascending"
	if o == task.Desc {
		dir = "descending"
	}
	return sortColumns[f] + " " + dir
}

// firstColumn is the first column of every row that query returns, as text.
func firstColumn(t *testing.T, db *sql.DB, query string, args ...any) []string {
	t.Helper()
	rows, err := db.Query(query, args...)
	if err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			t.Fatalf("scan: %v", err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return out
}

func TestEveryTasksIndexLeadsWithTheOrganisation(t *testing.T) {
	ps := newPlanStore(t)
	names := firstColumn(t, ps.s.read, `SELECT name FROM sqlite_schema WHERE type = 'index' AND tbl_name = 'tasks'
		AND sql IS NOT NULL ORDER BY name`)
	if len(names) == 0 {
		t.Fatalf("tasks has no indexes")
	}
	for _, name := range names {
		var first string
		if err := ps.s.read.QueryRow("SELECT name FROM pragma_index_info(?) WHERE seqno = 0", name).Scan(&first); err != nil {
			t.Fatalf("index_info(%s): %v", name, err)
		}
		if first != "organisation_id" || !strings.HasPrefix(name, "tasks_org_") {
			t.Errorf("index %s leads with %s, want a tasks_org_* index leading with organisation_id", name, first)
		}
	}
}

func TestEverySortIndexCarriesTheEqualityFilters(t *testing.T) {
	// After (column, id), each sort index holds status and priority, so a
	// list filtered by them and sorted by the index's column tests each
	// entry without reading its row. The plan reads the same either way;
	// the index's columns are what make the difference.
	ps := newPlanStore(t)
	want := map[string][]string{
		"tasks_org_title":            {"organisation_id", "title_fold", "id", "status", "priority"},
		"tasks_org_status":           {"organisation_id", "status", "id", "priority"},
		"tasks_org_priority":         {"organisation_id", "priority", "id", "status"},
		"tasks_org_assigned_user_id": {"organisation_id", "assigned_user_id", "id", "status", "priority"},
		"tasks_org_start_datetime":   {"organisation_id", "start_datetime", "id", "status", "priority"},
		"tasks_org_end_datetime":     {"organisation_id", "end_datetime", "id", "status", "priority"},
		"tasks_org_due_date":         {"organisation_id", "due_date", "id", "status", "priority"},
		"tasks_org_created_at":       {"organisation_id", "created_at", "id", "status", "priority"},
		"tasks_org_updated_at":       {"organisation_id", "updated_at", "id", "status", "priority"},
	}
	for name, columns := range want {
		got := firstColumn(t, ps.s.read, "SELECT name FROM pragma_index_info(?) ORDER BY seqno", name)
		if !slices.Equal(got, columns) {
			t.Errorf("index %s has columns %v, want %v", name, got, columns)
		}
	}
}

func TestPlansOfListPagesUseAnOrganisationIndex(t *testing.T) {
	ps := newPlanStore(t)
	from, to := mustPlanDate(t, "2025-06-01"), mustPlanDate(t, "2025-06-30")
	type listCase struct {
		name   string
		params task.ListParams
		// byIndex: an index gives the sort order too, so the page's ids
		// are read, not sorted. A filter on a column other than the sort
		// may be served by its own index and a sort of its matches.
		byIndex bool
	}
	cases := []listCase{
		{"the default list", task.ListParams{}, true},
		{"a status filter", task.ListParams{Filter: task.Filter{Status: planPtr(task.StatusOpen)}}, true},
		{"a priority filter", task.ListParams{Filter: task.Filter{Priority: planPtr(task.PriorityUrgent)}}, true},
		{"an assignee filter", task.ListParams{Filter: task.Filter{AssignedUserID: planPtr(7)}}, true},
		{"a due-date range", task.ListParams{Filter: task.Filter{DueDateFrom: &from, DueDateTo: &to}}, false},
		{"a due date from only", task.ListParams{Filter: task.Filter{DueDateFrom: &from}}, false},
		{"a due date to only", task.ListParams{Filter: task.Filter{DueDateTo: &to}}, false},
		{"a due-date range sorted by due date", task.ListParams{Filter: task.Filter{DueDateFrom: &from, DueDateTo: &to},
			SortBy: planPtr(task.SortByDueDate)}, true},
		{"a search of two characters", task.ListParams{Filter: task.Filter{Search: planPtr("ca")}}, true},
		{"a search of a long term, scanned", task.ListParams{Filter: task.Filter{Search: planPtr("renewal")}}, true},
		{"status and priority sorted by due date", task.ListParams{
			Filter: task.Filter{Status: planPtr(task.StatusInProgress), Priority: planPtr(task.PriorityHigh)},
			SortBy: planPtr(task.SortByDueDate)}, false},
		{"status and priority sorted by due date descending", task.ListParams{
			Filter: task.Filter{Status: planPtr(task.StatusInProgress), Priority: planPtr(task.PriorityHigh)},
			SortBy: planPtr(task.SortByDueDate), SortOrder: planPtr(task.Desc)}, false},
		{"a deep page", task.ListParams{PageIndex: planPtr(250)}, true},
		{"a deep page of 100 sorted by title", task.ListParams{PageIndex: planPtr(25), PageSize: planPtr(100),
			SortBy: planPtr(task.SortByTitle)}, true},
		{"a deep page of a status sorted by due date", task.ListParams{PageIndex: planPtr(100),
			Filter: task.Filter{Status: planPtr(task.StatusCompleted)}, SortBy: planPtr(task.SortByDueDate)}, false},
		{"a deep page past the end", task.ListParams{PageIndex: planPtr(10_000)}, true},
	}
	for _, f := range allSortFields {
		for _, o := range []task.SortOrder{task.Asc, task.Desc} {
			cases = append(cases, listCase{"sorted by " + sortName(f, o),
				task.ListParams{SortBy: planPtr(f), SortOrder: planPtr(o)}, true})
			cases = append(cases, listCase{"a deep page sorted by " + sortName(f, o),
				task.ListParams{SortBy: planPtr(f), SortOrder: planPtr(o), PageIndex: planPtr(250)}, true})
		}
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			q, err := tc.params.Query()
			if err != nil {
				t.Fatalf("Query(): %v", err)
			}
			total, from := storeTotal(ps.org, q.Filter, q.SkipTotal), start{skip: q.Offset()}
			if fromLandmark(q) {
				total, from = sqlPart{}, storeLandmark(t, ps, q)
				if from.after == nil {
					t.Fatalf("a deep page starts from no landmark")
				}
				// The hop that finds the next landmark.
				query, args := hopQuery(ps.org, q, from.after)
				plan := explainTree(t, ps.s.read, query, args)
				assertWithinOrganisation(t, details(plan), false, query)
				if tc.byIndex {
					assertSortedByIndex(t, plan, true, query)
				}
			}
			query, args := pageQuery(ps.org, q, false, total, from)
			plan := explainTree(t, ps.s.read, query, args)
			assertWithinOrganisation(t, details(plan), false, query)
			if tc.byIndex {
				assertSortedByIndex(t, plan, true, query)
			}
		})
	}
}

func TestPlansOfShortSearchesIgnoreTheTrigramIndex(t *testing.T) {
	// A term under three characters cannot use the trigram index even
	// when asked to: the SQL is the scan's, in every build.
	ps := newPlanStore(t)
	for _, term := range []string{"c", "ca", "é", "Öl"} {
		t.Run(fmt.Sprintf("the term %q", term), func(t *testing.T) {
			q, err := task.ListParams{Filter: task.Filter{Search: &term}}.Query()
			if err != nil {
				t.Fatalf("Query(): %v", err)
			}
			withIndex, args := pageQuery(ps.org, q, true, sqlPart{}, start{skip: q.Offset()})
			scan, _ := pageQuery(ps.org, q, false, sqlPart{}, start{skip: q.Offset()})
			if withIndex != scan {
				t.Errorf("pageQuery with indexSearch differs for a short term:\n%s\nvs\n%s", withIndex, scan)
			}
			assertWithinOrganisation(t, explain(t, ps.s.read, withIndex, args), false, withIndex)
		})
	}
}

func TestPlansOfSearchesThroughTheTrigramIndex(t *testing.T) {
	ps := newPlanStore(t)
	if !ps.s.fts {
		// Without FTS5 a search is only ever scanned; the scan's plans
		// are checked by TestPlansOfListPagesUseAnOrganisationIndex.
		useIndex, err := searchChoice(t, ps, "renewal")
		if err != nil {
			t.Fatalf("pageCount: %v", err)
		}
		if useIndex {
			t.Errorf("pageCount chose the trigram index in a build without FTS5")
		}
		return
	}
	// The trigram index holds every organisation's titles: it has no
	// organisation column, so a search through it cannot be confined to
	// one organisation by an index. The plan reads the index, then each
	// matching task by id, and tests its organisation row by row. What
	// is checked here is exactly that: no table scan, tasks_fts read, and
	// tasks read only by id or through an organisation index.
	for _, tc := range []struct {
		name   string
		params task.ListParams
	}{
		{"a search of a long term", task.ListParams{Filter: task.Filter{Search: planPtr("renewal")}}},
		{"a search sorted by title", task.ListParams{Filter: task.Filter{Search: planPtr("initech")},
			SortBy: planPtr(task.SortByTitle)}},
		{"a search and a status", task.ListParams{Filter: task.Filter{Search: planPtr("globex"),
			Status: planPtr(task.StatusOpen)}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q, err := tc.params.Query()
			if err != nil {
				t.Fatalf("Query(): %v", err)
			}
			query, args := pageQuery(ps.org, q, true, sqlPart{}, start{skip: q.Offset()})
			assertWithinOrganisation(t, explain(t, ps.s.read, query, args), true, query)
			cq, err := task.ConnectionParams{Filter: tc.params.Filter, SortBy: tc.params.SortBy}.Query(ps.s.cursor)
			if err != nil {
				t.Fatalf("ConnectionParams.Query(): %v", err)
			}
			query, args = connectionQuery(ps.org, cq, true, storeTotal(ps.org, cq.Filter, cq.SkipTotal))
			assertWithinOrganisation(t, explain(t, ps.s.read, query, args), true, query)
		})
	}
}

// storeTotal is the total that the store's pages carry in their rows for
// f, if any: the plans under test are those of the SQL the store runs.
func storeTotal(org int, f task.Filter, skip bool) sqlPart {
	total, _ := inlineTotal(org, f, skip)
	return total
}

// storeLandmark is where the store starts the deep page of q.
func storeLandmark(t *testing.T, ps planStore, q task.ListQuery) start {
	t.Helper()
	tx, err := ps.s.read.BeginTx(t.Context(), nil)
	if err != nil {
		t.Fatalf("begin: %v", err)
	}
	defer tx.Rollback()
	from, err := ps.s.landmark(t.Context(), tx, ps.org, q)
	if err != nil {
		t.Fatalf("landmark: %v", err)
	}
	return from
}

// searchChoice is whether a first page of term goes through the trigram
// index.
func searchChoice(t *testing.T, ps planStore, term string) (bool, error) {
	t.Helper()
	return searchChoiceOf(t, ps.s, ps.org, task.Filter{Search: &term})
}

func TestPlansOfConnectionPagesUseAnOrganisationIndex(t *testing.T) {
	ps := newPlanStore(t)
	for _, f := range allSortFields {
		for _, o := range []task.SortOrder{task.Asc, task.Desc} {
			t.Run("the first page sorted by "+sortName(f, o), func(t *testing.T) {
				q, err := task.ConnectionParams{SortBy: planPtr(f), SortOrder: planPtr(o)}.Query(ps.s.cursor)
				if err != nil {
					t.Fatalf("Query(): %v", err)
				}
				query, args := connectionQuery(ps.org, q, false, storeTotal(ps.org, q.Filter, q.SkipTotal))
				plan := explainTree(t, ps.s.read, query, args)
				assertWithinOrganisation(t, details(plan), false, query)
				assertSortedByIndex(t, plan, false, query)
			})
			t.Run("a page after a cursor sorted by "+sortName(f, o), func(t *testing.T) {
				first, err := ps.s.TaskConnection(ps.ctx, task.ConnectionParams{First: planPtr(25),
					SortBy: planPtr(f), SortOrder: planPtr(o)})
				if err != nil {
					t.Fatalf("TaskConnection: %v", err)
				}
				end := first.PageInfo().EndCursor
				if end == nil || !first.HasNextPage {
					t.Fatalf("the first page has no end cursor or no next page: %+v", first.PageInfo())
				}
				q, err := task.ConnectionParams{After: end, SortBy: planPtr(f), SortOrder: planPtr(o)}.Query(ps.s.cursor)
				if err != nil {
					t.Fatalf("Query(after): %v", err)
				}
				query, args := connectionQuery(ps.org, q, false, storeTotal(ps.org, q.Filter, q.SkipTotal))
				plan := explainTree(t, ps.s.read, query, args)
				assertWithinOrganisation(t, details(plan), false, query)
				assertSortedByIndex(t, plan, false, query)
			})
		}
	}
	for _, o := range []task.SortOrder{task.Asc, task.Desc} {
		t.Run("a page after a cursor among the missing end date-times, "+sortName(task.SortByEndDatetime, o), func(t *testing.T) {
			var id int
			if err := ps.s.read.QueryRow("SELECT min(id) FROM tasks WHERE organisation_id = ? AND end_datetime IS NULL",
				ps.org).Scan(&id); err != nil {
				t.Fatalf("find a task without an end: %v", err)
			}
			cursor := ps.s.cursor.Encode(task.Position{SortBy: task.SortByEndDatetime, SortOrder: o, Key: nil, ID: id})
			q, err := task.ConnectionParams{After: &cursor, SortBy: planPtr(task.SortByEndDatetime),
				SortOrder: planPtr(o)}.Query(ps.s.cursor)
			if err != nil {
				t.Fatalf("Query(after): %v", err)
			}
			query, args := connectionQuery(ps.org, q, false, storeTotal(ps.org, q.Filter, q.SkipTotal))
			plan := explainTree(t, ps.s.read, query, args)
			assertWithinOrganisation(t, details(plan), false, query)
			assertSortedByIndex(t, plan, false, query)
		})
	}
	t.Run("a filtered page after a cursor", func(t *testing.T) {
		params := task.ConnectionParams{First: planPtr(5), SortBy: planPtr(task.SortByDueDate),
			Filter: task.Filter{Status: planPtr(task.StatusOpen), Priority: planPtr(task.PriorityMedium)}}
		first, err := ps.s.TaskConnection(ps.ctx, params)
		if err != nil {
			t.Fatalf("TaskConnection: %v", err)
		}
		params.After = first.PageInfo().EndCursor
		if params.After == nil {
			t.Fatalf("the first page is empty")
		}
		q, err := params.Query(ps.s.cursor)
		if err != nil {
			t.Fatalf("Query(after): %v", err)
		}
		query, args := connectionQuery(ps.org, q, false, storeTotal(ps.org, q.Filter, q.SkipTotal))
		assertWithinOrganisation(t, explain(t, ps.s.read, query, args), false, query)
	})
}

func mustPlanDate(t *testing.T, s string) task.Date {
	t.Helper()
	d, err := task.ParseDate(s)
	if err != nil {
		t.Fatalf("ParseDate(%q): %v", s, err)
	}
	return d
}

// recorder is a database/sql connector over mattn/go-sqlite3 that
// remembers every query run through it, with its arguments, so that a
// test can explain the SQL a store method really ran.
type recorder struct {
	dsn     string
	mu      sync.Mutex
	queries []recordedQuery
}

type recordedQuery struct {
	sql  string
	args []any
}

func (r *recorder) Connect(context.Context) (driver.Conn, error) {
	conn, err := r.Driver().Open(r.dsn)
	if err != nil {
		return nil, err
	}
	return &recordingConn{SQLiteConn: conn.(*sqlite3.SQLiteConn), rec: r}, nil
}

func (r *recorder) Driver() driver.Driver { return &sqlite3.SQLiteDriver{} }

func (r *recorder) take() []recordedQuery {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.queries
	r.queries = nil
	return out
}

type recordingConn struct {
	*sqlite3.SQLiteConn
	rec *recorder
}

func (c *recordingConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	values := make([]any, len(args))
	for i, a := range args {
		values[i] = a.Value
	}
	c.rec.mu.Lock()
	c.rec.queries = append(c.rec.queries, recordedQuery{sql: query, args: values})
	c.rec.mu.Unlock()
	return c.SQLiteConn.QueryContext(ctx, query, args)
}

// recordReads makes ps's store read through a recorder until the test
// ends.
func recordReads(t *testing.T, ps planStore) *recorder {
	t.Helper()
	rec := &recorder{dsn: ps.path + "?_busy_timeout=5000&_query_only=true"}
	conn := sql.OpenDB(rec)
	saved := ps.s.read
	ps.s.read = conn
	t.Cleanup(func() {
		ps.s.read = saved
		conn.Close()
	})
	return rec
}

// countsSearch is a search of a counts table (task_counts, or a
// task_counts_* table of the same family) by its primary key. It is
// usually bounded by organisation_id=?; for a priority and an assignee
// without a status, SQLite may prefer a skip-scan of task_counts
// (organisation_id, status, priority, assigned_user_id): ANY(organisation_id)
// AND ANY(status) AND priority=? AND assigned_user_id=?, when the
// statistics show few organisations. That is still a search of the key (a
// few seeks per organisation, never a row-by-row read of the table) and
// the planner's cost-based choice, so it is accepted.
var (
	countsSearch    = regexp.MustCompile(`^SEARCH task_counts(_\w+)? USING PRIMARY KEY \((organisation_id=\?|ANY\(organisation_id\))`)
	organisationRow = regexp.MustCompile(`^SEARCH organisations USING INTEGER PRIMARY KEY \(rowid=\?\)$`)
)

func TestPlansOfTotalsReadTheCountersByPrimaryKey(t *testing.T) {
	ps := newPlanStore(t)
	rec := recordReads(t, ps)
	for _, tc := range []struct {
		name   string
		filter task.Filter
	}{
		{"no filter", task.Filter{}},
		{"a status", task.Filter{Status: planPtr(task.StatusCompleted)}},
		{"a priority", task.Filter{Priority: planPtr(task.PriorityLow)}},
		{"an assignee", task.Filter{AssignedUserID: planPtr(3)}},
		{"a status and a priority", task.Filter{Status: planPtr(task.StatusOpen), Priority: planPtr(task.PriorityLow)}},
		{"a priority and an assignee", task.Filter{Priority: planPtr(task.PriorityLow), AssignedUserID: planPtr(3)}},
		{"all three", task.Filter{Status: planPtr(task.StatusOpen), Priority: planPtr(task.PriorityMedium),
			AssignedUserID: planPtr(3)}},
	} {
		t.Run("the total of "+tc.name, func(t *testing.T) {
			rec.take()
			page, err := ps.s.ListTasks(ps.ctx, task.ListParams{Filter: tc.filter})
			if err != nil {
				t.Fatalf("ListTasks: %v", err)
			}
			if page.TotalRecords == 0 {
				t.Fatalf("TotalRecords = 0; the case selects nothing and proves little")
			}
			counted := 0
			for _, q := range rec.take() {
				if !strings.Contains(q.sql, "task_count") { // task_counts, or organisations.task_count
					continue
				}
				counted++
				plan := explain(t, ps.s.write, q.sql, q.args)
				found := false
				for _, line := range plan {
					if countsSearch.MatchString(line) || organisationRow.MatchString(line) {
						found = true
					}
				}
				if !found || len(bareScans(plan)) > 0 {
					t.Errorf("the total reads neither a counts table by PRIMARY KEY (organisation_id=?...) nor the organisation's row\nSQL: %s\nplan:\n  %s",
						q.sql, strings.Join(plan, "\n  "))
				}
			}
			if counted == 0 {
				t.Errorf("ListTasks read no counter to total an equality filter")
			}
		})
	}
}

func TestPlansOfEveryQueryAListRunsAvoidTableScans(t *testing.T) {
	// End to end: whatever ListTasks and TaskConnection decide (the
	// search path included), none of the SQL they run reads a whole
	// table, and every read of tasks is by id or through an organisation
	// index.
	ps := newPlanStore(t)
	rec := recordReads(t, ps)
	from, to := mustPlanDate(t, "2025-01-01"), mustPlanDate(t, "2025-01-31")
	filters := []struct {
		name   string
		filter task.Filter
	}{
		{"no filter", task.Filter{}},
		{"a rare search", task.Filter{Search: planPtr("initech (q3")}},
		{"a common search", task.Filter{Search: planPtr("call")}},
		{"a short search", task.Filter{Search: planPtr("ca")}},
		{"a due-date range", task.Filter{DueDateFrom: &from, DueDateTo: &to}},
		{"a search and a status", task.Filter{Search: planPtr("renewal"), Status: planPtr(task.StatusOpen)}},
	}
	for _, f := range filters {
		t.Run("a list with "+f.name, func(t *testing.T) {
			rec.take()
			if _, err := ps.s.ListTasks(ps.ctx, task.ListParams{Filter: f.filter, SortBy: planPtr(task.SortByCreatedAt)}); err != nil {
				t.Fatalf("ListTasks: %v", err)
			}
			if _, err := ps.s.TaskConnection(ps.ctx, task.ConnectionParams{Filter: f.filter}); err != nil {
				t.Fatalf("TaskConnection: %v", err)
			}
			queries := rec.take()
			if len(queries) == 0 {
				t.Fatalf("recorded no queries")
			}
			for _, q := range queries {
				plan := explain(t, ps.s.write, q.sql, q.args)
				for _, line := range bareScans(plan) {
					t.Errorf("the plan reads a whole table: %q\nSQL: %s", line, q.sql)
				}
				for _, line := range plan {
					if tasksRead.MatchString(line) && !orgIndexSearch.MatchString(line) && !rowidLookup.MatchString(line) {
						t.Errorf("the plan reads tasks neither through an organisation index nor by id: %q\nSQL: %s", line, q.sql)
					}
				}
			}
		})
	}
}

// replanned finds what makes SQLite plan a statement again each time the
// driver runs it (see bound and limitClause): an equality with a bare
// placeholder, or a bound LIMIT. (A range, such as >= ?, does not.)
var replanned = regexp.MustCompile(`(?:[^<>!]=|\bIS|\bLIMIT)\s*\?`)

func TestStatementsOfReadsAreNotPlannedAgainOnEachRun(t *testing.T) {
	ps := newPlanStore(t)
	rec := recordReads(t, ps)
	from := mustPlanDate(t, "2025-01-01")
	reads := []struct {
		name string
		read func() error
	}{
		{"the default list", func() error {
			_, err := ps.s.ListTasks(ps.ctx, task.ListParams{})
			return err
		}},
		{"a list of every equality filter", func() error {
			_, err := ps.s.ListTasks(ps.ctx, task.ListParams{Filter: task.Filter{Status: planPtr(task.StatusOpen),
				Priority: planPtr(task.PriorityHigh), AssignedUserID: planPtr(3)}})
			return err
		}},
		{"a list of a due-date range", func() error {
			_, err := ps.s.ListTasks(ps.ctx, task.ListParams{Filter: task.Filter{DueDateFrom: &from}})
			return err
		}},
		{"a search", func() error {
			_, err := ps.s.ListTasks(ps.ctx, task.ListParams{Filter: task.Filter{Search: planPtr("call")}})
			return err
		}},
		{"a deep page", func() error {
			_, err := ps.s.ListTasks(ps.ctx, task.ListParams{PageIndex: planPtr(150), PageSize: planPtr(10)})
			return err
		}},
		{"a connection page and the next", func() error {
			c, err := ps.s.TaskConnection(ps.ctx, task.ConnectionParams{Filter: task.Filter{Status: planPtr(task.StatusOpen)}})
			if err != nil || len(c.Edges) == 0 {
				return err
			}
			_, err = ps.s.TaskConnection(ps.ctx, task.ConnectionParams{After: &c.Edges[len(c.Edges)-1].Cursor})
			return err
		}},
		{"a task by id", func() error {
			_, err := ps.s.Task(ps.ctx, 1)
			if task.ErrorCode(err) == task.CodeNotFound {
				return nil
			}
			return err
		}},
		{"a key by its access key", func() error {
			_, err := ps.s.KeyByAccessKey(ps.ctx, "ak_unknown")
			if task.ErrorCode(err) == task.CodeNotFound {
				return nil
			}
			return err
		}},
	}
	for _, r := range reads {
		t.Run(r.name, func(t *testing.T) {
			rec.take()
			if err := r.read(); err != nil {
				t.Fatal(err)
			}
			queries := rec.take()
			if len(queries) == 0 {
				t.Fatalf("recorded no queries")
			}
			for _, q := range queries {
				if m := replanned.FindString(q.sql); m != "" {
					t.Errorf("%q in a statement makes SQLite plan it again on every run:\n%s", m, q.sql)
				}
			}
		})
	}
}

// TestPlansOfTheSearchUpkeepStartFromTheNotedTasks checks the writer's
// background batch (indexTailSQL): each of its statements reads the few
// tasks noted since the last batch and looks each one up, never walking
// tasks or the list of tasks that moved, which grow with the database.
// Once, the planner joined a handful of notes by reading the whole title
// index: at a million tasks, most of the cost of a change of title.
func TestPlansOfTheSearchUpkeepStartFromTheNotedTasks(t *testing.T) {
	ps := newPlanStore(t)
	if !ps.s.fts {
		// Without FTS5 there is no index to keep: the statements name
		// tables this build does not have, and the writer never runs them.
		if _, err := ps.s.write.Exec(indexTailSQL); err == nil {
			t.Fatalf("the search upkeep ran in a build without FTS5")
		}
		return
	}
	// Titles changed after the index took the tasks in: tasks that moved
	// to the delta index, then notes for the next batch.
	rename := func(from, to int) {
		for id := from; id <= to; id++ {
			title := fmt.Sprintf("Renamed for the plan %d", id)
			if _, err := ps.s.UpdateTask(ps.ctx, planTasks/3+id, task.UpdateInput{Title: task.To(title)}, task.AnyVersion()); err != nil {
				t.Fatalf("UpdateTask(%d): %v", id, err)
			}
		}
	}
	rename(1, 200)
	ps.s.indexTail()
	rename(201, 220)
	// The notes were empty when the store was analysed, as in a real
	// database, so the planner guesses their number.
	allowed := map[string]bool{"SCAN search_index": true, "SCAN d": true, "SCAN search_dirty": true}
	for _, statement := range strings.Split(indexTailSQL, ";") {
		statement = strings.TrimSpace(statement)
		if statement == "" {
			continue
		}
		for _, line := range explain(t, ps.s.write, statement, nil) {
			walks := strings.HasPrefix(line, "SCAN ") && !allowed[line] && !strings.HasPrefix(line, "SCAN CONSTANT ROW")
			if walks || strings.Contains(line, "ON TABLE search_moved FOR IN-OPERATOR") {
				t.Errorf("the search upkeep walks a growing table: %q\nSQL: %s", line, statement)
			}
		}
	}
}
