package sqlite_test

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"testing"

	"tasksapi/access"
	"tasksapi/sqlite"
	"tasksapi/task"
)

// countTitles are ASCII, so that SQLite's lower() folds them as the
// store does, and hold LIKE's wildcards.
var countTitles = []string{"Call Acme", "call ACME about 50% off", "Email Globex", "Renewal for Initech",
	"rename under_score", "Review 5000 items", "RENEWAL call"}

// countFixture creates tasks in two organisations, interleaved: a third
// in other, the rest in ctx's.
func countFixture(t *testing.T, ctx, other context.Context, s *sqlite.Store) {
	t.Helper()
	for i := range 90 {
		in := task.CreateInput{
			Title:         countTitles[i%len(countTitles)],
			StartDatetime: dt(t, fmt.Sprintf("2026-03-%02dT%02d:30:00", 1+i%20, i%24)),
			DealID:        ptr(1),
			Status:        ptr(task.Status(i % 5)),
			Priority:      ptr(task.Priority(i * 7 % 5)),
		}
		if i%4 != 0 {
			in.AssignedUserID = ptr(1 + i%3)
		}
		if i%3 != 0 {
			in.EndDatetime = ptr(dt(t, fmt.Sprintf("2026-03-%02dT23:00:00", 1+i%20+i%4)))
		}
		c := ctx
		if i%3 == 2 {
			c = other
		}
		mustCreate(t, c, s, in)
	}
}

// rawTotal counts org's tasks matching f straight from the file, with SQL
// written independently of the store's: the due date is recomputed from
// the stored date-times, and the search folds titles with lower().
func rawTotal(t *testing.T, conn *sql.DB, org int, f task.Filter) int {
	t.Helper()
	conds, args := []string{"organisation_id = ?"}, []any{org}
	if f.Search != nil && *f.Search != "" {
		conds, args = append(conds, "instr(lower(title), lower(?)) > 0"), append(args, *f.Search)
	}
	if f.Status != nil {
		conds, args = append(conds, "status = ?"), append(args, int(*f.Status))
	}
	if f.Priority != nil {
		conds, args = append(conds, "priority = ?"), append(args, int(*f.Priority))
	}
	if f.AssignedUserID != nil {
		conds, args = append(conds, "assigned_user_id = ?"), append(args, *f.AssignedUserID)
	}
	if f.DueDateFrom != nil {
		conds, args = append(conds, "date(coalesce(end_datetime, start_datetime)) >= ?"), append(args, f.DueDateFrom.String())
	}
	if f.DueDateTo != nil {
		conds, args = append(conds, "date(coalesce(end_datetime, start_datetime)) <= ?"), append(args, f.DueDateTo.String())
	}
	var n int
	if err := conn.QueryRow("SELECT count(*) FROM tasks WHERE "+strings.Join(conds, " AND "), args...).Scan(&n); err != nil {
		t.Fatalf("raw count: %v", err)
	}
	return n
}

type countCase struct {
	name   string
	filter task.Filter
}

func countCases(t *testing.T) []countCase {
	t.Helper()
	from, to := date(t, "2026-03-05"), date(t, "2026-03-12")
	return []countCase{
		{"no filter", task.Filter{}},
		{"an empty search", task.Filter{Search: ptr("")}},
		{"a status", task.Filter{Status: ptr(task.StatusOpen)}},
		{"another status", task.Filter{Status: ptr(task.StatusNoShow)}},
		{"a priority", task.Filter{Priority: ptr(task.PriorityHigh)}},
		{"an assignee", task.Filter{AssignedUserID: ptr(2)}},
		{"an assignee nobody has", task.Filter{AssignedUserID: ptr(99)}},
		{"a status and a priority", task.Filter{Status: ptr(task.StatusInProgress), Priority: ptr(task.PriorityMedium)}},
		{"a status and an assignee", task.Filter{Status: ptr(task.StatusCompleted), AssignedUserID: ptr(1)}},
		{"a priority and an assignee", task.Filter{Priority: ptr(task.PriorityLow), AssignedUserID: ptr(3)}},
		{"a status, a priority and an assignee", task.Filter{Status: ptr(task.StatusOpen),
			Priority: ptr(task.PriorityNone), AssignedUserID: ptr(2)}},
		{"a search", task.Filter{Search: ptr("call")}},
		{"an upper-case search", task.Filter{Search: ptr("CALL")}},
		{"a one-letter search", task.Filter{Search: ptr("a")}},
		{"a search with a percent sign", task.Filter{Search: ptr("50%")}},
		{"a search with an underscore", task.Filter{Search: ptr("_")}},
		{"a search that finds nothing", task.Filter{Search: ptr("no such title")}},
		{"a due-date range", task.Filter{DueDateFrom: &from, DueDateTo: &to}},
		{"a one-day due-date range", task.Filter{DueDateFrom: &from, DueDateTo: &from}},
		{"a due date from", task.Filter{DueDateFrom: &to}},
		{"a due date to", task.Filter{DueDateTo: &from}},
		{"a search and a status", task.Filter{Search: ptr("renewal"), Status: ptr(task.StatusOpen)}},
		{"a search and a due-date range", task.Filter{Search: ptr("acme"), DueDateFrom: &from, DueDateTo: &to}},
		{"a status and a due-date range", task.Filter{Status: ptr(task.StatusCancelled), DueDateFrom: &from, DueDateTo: &to}},
		{"every filter at once", task.Filter{Search: ptr("e"), Status: ptr(task.StatusInProgress),
			Priority: ptr(task.PriorityHigh), AssignedUserID: ptr(2), DueDateFrom: &from, DueDateTo: &to}},
	}
}

func TestTotalsMatchACountOfTheTable(t *testing.T) {
	s, _, path := newStore(t)
	ctx := orgContext(t, s, "Acme")
	other := orgContext(t, s, "Globex")
	countFixture(t, ctx, other, s)
	conn := rawDB(t, path)
	defer conn.Close()
	nonZero := 0
	for _, tc := range countCases(t) {
		for _, c := range []struct {
			name string
			ctx  context.Context
		}{{"Acme", ctx}, {"Globex", other}} {
			t.Run(fmt.Sprintf("the total of %s for %s is exact", tc.name, c.name), func(t *testing.T) {
				want := rawTotal(t, conn, orgID(t, c.ctx), tc.filter)
				if want > 0 {
					nonZero++
				}
				page := mustList(t, c.ctx, s, task.ListParams{Filter: tc.filter, PageSize: ptr(5)})
				if page.TotalRecords != want {
					t.Errorf("TotalRecords = %d, want %d", page.TotalRecords, want)
				}
				if len(page.Items) != min(want, 5) {
					t.Errorf("the page holds %d tasks, want %d", len(page.Items), min(want, 5))
				}
				conn := mustConnect(t, c.ctx, s, task.ConnectionParams{Filter: tc.filter, First: ptr(5)})
				if conn.TotalCount != want {
					t.Errorf("TaskConnection TotalCount = %d, want %d", conn.TotalCount, want)
				}
			})
		}
	}
	if nonZero < len(countCases(t)) {
		t.Errorf("only %d of %d (filter, organisation) cases select any task; the fixture is too thin", nonZero, 2*len(countCases(t)))
	}
}

func TestTotalsFollowTasksChangedAndDeletedInTheDatabase(t *testing.T) {
	// The API only creates tasks; the triggers keep the counters right for
	// any change made to the table, which this makes with plain SQL.
	s, _, path := newStore(t)
	ctx := orgContext(t, s, "Acme")
	other := orgContext(t, s, "Globex")
	countFixture(t, ctx, other, s)
	conn := rawDB(t, path)
	defer conn.Close()
	acme, globex := orgID(t, ctx), orgID(t, other)
	var first, second, third int
	err := conn.QueryRow(`SELECT min(id), min(id) + 1, min(id) + 2 FROM tasks WHERE organisation_id = ?`, acme).
		Scan(&first, &second, &third)
	if err != nil {
		t.Fatalf("pick tasks: %v", err)
	}
	for _, stmt := range []struct {
		sql  string
		args []any
	}{
		{"UPDATE tasks SET status = 4, priority = 4, assigned_user_id = 9 WHERE id = ?", []any{first}},
		{"UPDATE tasks SET organisation_id = ? WHERE id = ?", []any{globex, second}},
		{"DELETE FROM tasks WHERE id = ?", []any{third}},
	} {
		if _, err := conn.Exec(stmt.sql, stmt.args...); err != nil {
			t.Fatalf("%s: %v", stmt.sql, err)
		}
	}
	for _, tc := range countCases(t) {
		for _, c := range []struct {
			name string
			ctx  context.Context
		}{{"Acme", ctx}, {"Globex", other}} {
			want := rawTotal(t, conn, orgID(t, c.ctx), tc.filter)
			if got := mustList(t, c.ctx, s, task.ListParams{Filter: tc.filter}).TotalRecords; got != want {
				t.Errorf("after the changes, the total of %s for %s = %d, want %d", tc.name, c.name, got, want)
			}
		}
	}
}

func TestUpgradingToTaskCountsCountsEachOrganisationsOwnTasks(t *testing.T) {
	// A database as the release before migration 0008 left it: two
	// organisations of different sizes, no task_count column.
	s, _, path := newStore(t)
	ctx := orgContext(t, s, "Acme")
	other := orgContext(t, s, "Globex")
	countFixture(t, ctx, other, s)
	mustCreate(t, other, s, simple(t, "one more for Globex"))
	closeStore(t, s)
	conn := rawDB(t, path)
	for _, stmt := range []string{
		"DROP TRIGGER tasks_count_insert", "DROP TRIGGER tasks_count_delete", "DROP TRIGGER tasks_count_update",
		"ALTER TABLE organisations DROP COLUMN task_count",
		// What 0009 added.
		"ALTER TABLE tasks DROP COLUMN version", "ALTER TABLE tasks DROP COLUMN completed_at",
		"DROP TABLE idempotency_keys",
		// What 0010 added.
		"DROP TABLE task_changes", "ALTER TABLE organisations DROP COLUMN changes_removed_through",
		// What 0011 added.
		"DROP TABLE webhook_deliveries", "DROP TABLE webhooks",
		// What 0012 added, and the search triggers that use it (made anew
		// when the store opens).
		"DROP TRIGGER IF EXISTS tasks_fts_delete", "DROP TRIGGER IF EXISTS tasks_fts_update", "DROP TABLE search_dirty", "DROP TABLE search_moved",
		// Stand-ins for the triggers 0008 replaces.
		"CREATE TRIGGER tasks_count_insert AFTER INSERT ON tasks BEGIN SELECT 1; END",
		"CREATE TRIGGER tasks_count_delete AFTER DELETE ON tasks BEGIN SELECT 1; END",
		"CREATE TRIGGER tasks_count_update AFTER UPDATE ON tasks BEGIN SELECT 1; END",
		"PRAGMA user_version = 7",
	} {
		if _, err := conn.Exec(stmt); err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
	}
	conn.Close()

	s = open(t, path)
	defer s.Close()
	conn = rawDB(t, path)
	defer conn.Close()
	for _, c := range []struct {
		name string
		ctx  context.Context
	}{{"Acme", ctx}, {"Globex", other}} {
		want := rawTotal(t, conn, orgID(t, c.ctx), task.Filter{})
		if got := mustList(t, c.ctx, s, task.ListParams{}).TotalRecords; got != want {
			t.Errorf("after the upgrade, %s's total = %d, want its %d tasks", c.name, got, want)
		}
	}
}

func TestTotalsOfADatabaseUpgradedWithTasksInIt(t *testing.T) {
	// Release 1 had no task_counts: migration 0003 must fill it from the
	// rows already there.
	path := copyRelease1(t)
	s := open(t, path)
	t.Cleanup(func() { s.Close() })
	org, err := s.Organisation(t.Context(), "Default")
	if err != nil {
		t.Fatalf("Organisation(Default): %v", err)
	}
	ctx := access.WithPrincipal(t.Context(), access.Principal{OrganisationID: org})
	conn := rawDB(t, path)
	defer conn.Close()
	check := func(t *testing.T) {
		t.Helper()
		for _, tc := range countCases(t) {
			want := rawTotal(t, conn, org, tc.filter)
			if got := mustList(t, ctx, s, task.ListParams{Filter: tc.filter}).TotalRecords; got != want {
				t.Errorf("the total of %s = %d, want %d", tc.name, got, want)
			}
		}
	}
	if n := rawTotal(t, conn, org, task.Filter{}); n != 3 {
		t.Fatalf("the upgraded database has %d tasks in Default, want release 1's 3", n)
	}
	t.Run("right after the upgrade", check)
	mustCreate(t, ctx, s, simple(t, "Call after the upgrade"))
	t.Run("after a create", check)
}

func TestACachedTotalIsRefreshedByAWrite(t *testing.T) {
	s, _, _ := newStore(t)
	ctx := orgContext(t, s, "Acme")
	other := orgContext(t, s, "Globex")
	countFixture(t, ctx, other, s)
	from, to := date(t, "2026-03-01"), date(t, "2026-03-01")
	for _, tc := range []struct {
		name     string
		filter   task.Filter
		matching task.CreateInput
		missing  task.CreateInput
	}{
		{"a search", task.Filter{Search: ptr("renewal")}, simple(t, "Another RENEWAL"), simple(t, "Something else")},
		{"a due-date range", task.Filter{DueDateFrom: &from, DueDateTo: &to}, simple(t, "Due on the first"),
			task.CreateInput{Title: "Due later", StartDatetime: dt(t, "2026-04-01T09:00:00"), DealID: ptr(1)}},
		{"a search and a status", task.Filter{Search: ptr("call"), Status: ptr(task.StatusOpen)}, simple(t, "call back"),
			task.CreateInput{Title: "call back", StartDatetime: dt(t, "2026-04-01T09:00:00"), DealID: ptr(1),
				Status: ptr(task.StatusCompleted)}},
		{"a status", task.Filter{Status: ptr(task.StatusOpen)}, simple(t, "Open by default"),
			task.CreateInput{Title: "Done", StartDatetime: dt(t, "2026-04-01T09:00:00"), DealID: ptr(1),
				Status: ptr(task.StatusCompleted)}},
	} {
		t.Run("the total of "+tc.name+" follows the writes", func(t *testing.T) {
			total := func(ctx context.Context) int {
				t.Helper()
				return mustList(t, ctx, s, task.ListParams{Filter: tc.filter}).TotalRecords
			}
			before, otherBefore := total(ctx), total(other)
			if before == 0 {
				t.Fatalf("the fixture has no task matching %s", tc.name)
			}
			if again := total(ctx); again != before {
				t.Fatalf("the same list twice: %d then %d", before, again)
			}
			mustCreate(t, ctx, s, tc.matching)
			if got := total(ctx); got != before+1 {
				t.Errorf("after creating a matching task the total is %d, want %d", got, before+1)
			}
			mustCreate(t, ctx, s, tc.missing)
			if got := total(ctx); got != before+1 {
				t.Errorf("after creating a task that does not match the total is %d, want %d", got, before+1)
			}
			mustCreate(t, other, s, tc.matching)
			if got := total(ctx); got != before+1 {
				t.Errorf("after a create in another organisation the total is %d, want it unchanged at %d", got, before+1)
			}
			if got := total(other); got != otherBefore+1 {
				t.Errorf("the other organisation's total is %d, want %d", got, otherBefore+1)
			}
		})
	}
}

func TestATotalIsRefreshedByAWriteThroughAnotherStore(t *testing.T) {
	// Two servers on one file: the cache of one must not hide the other's
	// writes.
	s, _, path := newStore(t)
	ctx := orgContext(t, s, "Acme")
	other := orgContext(t, s, "Globex")
	countFixture(t, ctx, other, s)
	filter := task.Filter{Search: ptr("acme")}
	before := mustList(t, ctx, s, task.ListParams{Filter: filter}).TotalRecords

	second := open(t, path)
	t.Cleanup(func() { second.Close() })
	mustCreate(t, ctx, second, simple(t, "ACME again"))
	if got := mustList(t, ctx, s, task.ListParams{Filter: filter}).TotalRecords; got != before+1 {
		t.Errorf("after a create through another store the total is %d, want %d", got, before+1)
	}
}

func TestSkipTotalLeavesTheTotalAtZeroButListsThePage(t *testing.T) {
	s, _, _ := newStore(t)
	ctx := orgContext(t, s, "Acme")
	other := orgContext(t, s, "Globex")
	countFixture(t, ctx, other, s)
	for _, tc := range countCases(t) {
		t.Run("with "+tc.name, func(t *testing.T) {
			full := mustList(t, ctx, s, task.ListParams{Filter: tc.filter, PageSize: ptr(4), PageIndex: ptr(1)})
			skip := mustList(t, ctx, s, task.ListParams{Filter: tc.filter, PageSize: ptr(4), PageIndex: ptr(1), SkipTotal: true})
			if skip.TotalRecords != 0 {
				t.Errorf("TotalRecords = %d with SkipTotal, want 0", skip.TotalRecords)
			}
			if got, want := ids(skip.Items), ids(full.Items); fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("the page with SkipTotal is %v, without %v", got, want)
			}
			if skip.PageSize != 4 || skip.PageIndex != 1 {
				t.Errorf("PageSize, PageIndex = %d, %d; want 4, 1", skip.PageSize, skip.PageIndex)
			}
		})
	}
}

func TestOrganisationsWithAsManyWritesKeepTheirOwnTotals(t *testing.T) {
	// Each organisation's write_version counts its own writes, so two of
	// them can be at the same version: a cached total must still be told
	// apart by organisation.
	s, _, path := newStore(t)
	a, b := orgContext(t, s, "Acme"), orgContext(t, s, "Globex")
	for i := range 10 {
		titleA, titleB := "Other", "Other"
		if i%2 == 0 {
			titleA = "Renewal"
		}
		if i%5 == 0 {
			titleB = "Renewal"
		}
		mustCreate(t, a, s, simple(t, titleA))
		mustCreate(t, b, s, simple(t, titleB))
	}
	conn := rawDB(t, path)
	defer conn.Close()
	var versions []int
	rows, err := conn.Query("SELECT write_version FROM organisations ORDER BY id")
	if err != nil {
		t.Fatalf("read write_version: %v", err)
	}
	for rows.Next() {
		var v int
		rows.Scan(&v)
		versions = append(versions, v)
	}
	rows.Close()
	if len(versions) != 2 || versions[0] != versions[1] {
		t.Fatalf("write versions = %v, want two equal ones for the test to mean anything", versions)
	}
	for _, f := range []countCase{
		{"a search", task.Filter{Search: ptr("renewal")}},
		{"a due date from", task.Filter{DueDateFrom: ptr(date(t, "2026-03-01"))}},
	} {
		for _, c := range []struct {
			name string
			ctx  context.Context
		}{{"Acme", a}, {"Globex", b}, {"Acme", a}} {
			want := rawTotal(t, conn, orgID(t, c.ctx), f.filter)
			if got := mustList(t, c.ctx, s, task.ListParams{Filter: f.filter}).TotalRecords; got != want {
				t.Errorf("%s's total of %s = %d, want %d", c.name, f.name, got, want)
			}
		}
	}
}
