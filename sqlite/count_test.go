package sqlite_test

import (
	"context"
	"database/sql"
	"strings"
	"testing"

	"tasksapi/access"
	"tasksapi/storetest"
	"tasksapi/task"
)

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

func TestTotalsFollowTasksChangedAndDeletedInTheDatabase(t *testing.T) {
	// The API only creates tasks; the triggers keep the counters right for
	// any change made to the table, which this makes with plain SQL.
	s, _, path := newStore(t)
	ctx := storetest.OrgContext(t, s, "Acme")
	other := storetest.OrgContext(t, s, "Globex")
	storetest.CountFixture(t, ctx, other, s)
	conn := rawDB(t, path)
	defer conn.Close()
	acme, globex := storetest.OrgID(t, ctx), storetest.OrgID(t, other)
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
	for _, tc := range storetest.CountCases(t) {
		for _, c := range []struct {
			name string
			ctx  context.Context
		}{{"Acme", ctx}, {"Globex", other}} {
			want := rawTotal(t, conn, storetest.OrgID(t, c.ctx), tc.Filter)
			if got := storetest.MustList(t, c.ctx, s, task.ListParams{Filter: tc.Filter}).TotalRecords; got != want {
				t.Errorf("after the changes, the total of %s for %s = %d, want %d", tc.Name, c.name, got, want)
			}
		}
	}
}

func TestUpgradingToTaskCountsCountsEachOrganisationsOwnTasks(t *testing.T) {
	// A database as the release before migration 0008 left it: two
	// organisations of different sizes, no task_count column.
	s, _, path := newStore(t)
	ctx := storetest.OrgContext(t, s, "Acme")
	other := storetest.OrgContext(t, s, "Globex")
	storetest.CountFixture(t, ctx, other, s)
	storetest.MustCreate(t, other, s, storetest.Simple(t, "one more for Globex"))
	storetest.MustClose(t, s)
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
		want := rawTotal(t, conn, storetest.OrgID(t, c.ctx), task.Filter{})
		if got := storetest.MustList(t, c.ctx, s, task.ListParams{}).TotalRecords; got != want {
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
		for _, tc := range storetest.CountCases(t) {
			want := rawTotal(t, conn, org, tc.Filter)
			if got := storetest.MustList(t, ctx, s, task.ListParams{Filter: tc.Filter}).TotalRecords; got != want {
				t.Errorf("the total of %s = %d, want %d", tc.Name, got, want)
			}
		}
	}
	if n := rawTotal(t, conn, org, task.Filter{}); n != 3 {
		t.Fatalf("the upgraded database has %d tasks in Default, want release 1's 3", n)
	}
	t.Run("right after the upgrade", check)
	storetest.MustCreate(t, ctx, s, storetest.Simple(t, "Call after the upgrade"))
	t.Run("after a create", check)
}

func TestOrganisationsWithAsManyWritesKeepTheirOwnTotals(t *testing.T) {
	// Each organisation's write_version counts its own writes, so two of
	// them can be at the same version: a cached total must still be told
	// apart by organisation.
	s, _, path := newStore(t)
	a, b := storetest.OrgContext(t, s, "Acme"), storetest.OrgContext(t, s, "Globex")
	for i := range 10 {
		titleA, titleB := "Other", "Other"
		if i%2 == 0 {
			titleA = "Renewal"
		}
		if i%5 == 0 {
			titleB = "Renewal"
		}
		storetest.MustCreate(t, a, s, storetest.Simple(t, titleA))
		storetest.MustCreate(t, b, s, storetest.Simple(t, titleB))
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
	for _, f := range []storetest.CountCase{
		{Name: "a search", Filter: task.Filter{Search: storetest.Ptr("renewal")}},
		{Name: "a due date from", Filter: task.Filter{DueDateFrom: storetest.Ptr(storetest.Date(t, "2026-03-01"))}},
	} {
		for _, c := range []struct {
			name string
			ctx  context.Context
		}{{"Acme", a}, {"Globex", b}, {"Acme", a}} {
			want := rawTotal(t, conn, storetest.OrgID(t, c.ctx), f.Filter)
			if got := storetest.MustList(t, c.ctx, s, task.ListParams{Filter: f.Filter}).TotalRecords; got != want {
				t.Errorf("%s's total of %s = %d, want %d", c.name, f.Name, got, want)
			}
		}
	}
}
