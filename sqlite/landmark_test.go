package sqlite

import (
	"slices"
	"strings"
	"testing"

	"tasksapi/task"
)

// wholeList is every id of the list of f in the given order, read in one
// statement: what deep pages, however they start, must agree with.
func wholeList(t *testing.T, ps planStore, f task.Filter, sortBy task.SortField, order task.SortOrder) []int {
	t.Helper()
	where, args := whereClause(ps.org, f, false)
	rows, err := ps.s.read.Query("SELECT id FROM tasks"+where+orderBy(sortColumns[sortBy], order), args...)
	if err != nil {
		t.Fatalf("read the whole list: %v", err)
	}
	defer rows.Close()
	var ids []int
	for rows.Next() {
		var id int
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return ids
}

// checkPage lists the page of p and compares it with the whole list.
func checkPage(t *testing.T, ps planStore, p task.ListParams, whole []int) {
	t.Helper()
	q, err := p.Query()
	if err != nil {
		t.Fatalf("Query(): %v", err)
	}
	page, err := ps.s.ListTasks(ps.ctx, p)
	if err != nil {
		t.Fatalf("ListTasks: %v", err)
	}
	got := make([]int, 0, len(page.Items))
	for _, it := range page.Items {
		got = append(got, it.ID)
	}
	from, to := min(q.Offset(), len(whole)), min(q.Offset()+q.PageSize, len(whole))
	if want := whole[from:to]; !slices.Equal(got, want) {
		t.Errorf("page %d of %d lists %v, want %v", q.PageIndex, q.PageSize, got, want)
	}
	if page.TotalRecords != len(whole) {
		t.Errorf("page %d: TotalRecords = %d, want %d", q.PageIndex, page.TotalRecords, len(whole))
	}
}

func TestDeepPagesListWhatTheWholeListHoldsThere(t *testing.T) {
	ps := newPlanStore(t)
	from := mustPlanDate(t, "2024-06-01")
	filters := []struct {
		name   string
		filter task.Filter
	}{
		{"no filter", task.Filter{}},
		{"a status", task.Filter{Status: planPtr(task.StatusCompleted)}},
		{"a due date from", task.Filter{DueDateFrom: &from}},
	}
	// Deepest first, so later pages start from landmarks found before;
	// then one past the end of most of these lists.
	pages := []struct{ index, size int }{{299, 10}, {100, 10}, {150, 10}, {12, 100}, {101, 10}, {290, 10}, {1000, 10}}
	for _, f := range filters {
		for _, sortBy := range allSortFields {
			for _, order := range []task.SortOrder{task.Asc, task.Desc} {
				t.Run(f.name+" sorted by "+sortName(sortBy, order), func(t *testing.T) {
					whole := wholeList(t, ps, f.filter, sortBy, order)
					if len(whole) <= landmarkEvery {
						t.Fatalf("the list has %d tasks: too few for a landmark", len(whole))
					}
					for _, p := range pages {
						checkPage(t, ps, task.ListParams{Filter: f.filter, SortBy: planPtr(sortBy), SortOrder: planPtr(order),
							PageIndex: planPtr(p.index), PageSize: planPtr(p.size)}, whole)
					}
				})
			}
		}
	}
}

func TestDeepPagesFollowAWrite(t *testing.T) {
	ps := newPlanStore(t)
	deep := task.ListParams{PageIndex: planPtr(150)} // newest first: a new task moves every other one down
	checkPage(t, ps, deep, wholeList(t, ps, task.Filter{}, task.SortByID, task.Desc))
	startsAt, err := task.ParseDateTime("2026-03-01T09:00:00")
	if err != nil {
		t.Fatal(err)
	}
	in := task.CreateInput{Title: "written between two reads", StartDatetime: startsAt, DealID: planPtr(1)}
	if _, err := ps.s.CreateTask(ps.ctx, in); err != nil {
		t.Fatalf("CreateTask: %v", err)
	}
	checkPage(t, ps, deep, wholeList(t, ps, task.Filter{}, task.SortByID, task.Desc))
}

func TestADeepPageHopsOnlyTheFirstTimeAtAWriteVersion(t *testing.T) {
	ps := newPlanStore(t)
	rec := recordReads(t, ps)
	hops := func() (n int, skip any) {
		for _, q := range rec.take() {
			switch {
			case strings.Contains(q.sql, "LIMIT 1 OFFSET"):
				n++
			case strings.HasPrefix(q.sql, "SELECT "+taskColumns):
				skip = q.args[len(q.args)-1]
			}
		}
		return n, skip
	}
	deep := task.ListParams{PageIndex: planPtr(250)} // offset 2,500
	rec.take()
	if _, err := ps.s.ListTasks(ps.ctx, deep); err != nil {
		t.Fatalf("ListTasks: %v", err)
	}
	if n, skip := hops(); n != 2 || skip != int64(500) {
		t.Errorf("the first deep page made %d hops and skipped %v tasks, want 2 hops and 500", n, skip)
	}
	if _, err := ps.s.ListTasks(ps.ctx, deep); err != nil {
		t.Fatalf("ListTasks: %v", err)
	}
	if n, _ := hops(); n != 0 {
		t.Errorf("the same page again made %d hops, want none: its landmarks are known", n)
	}
}
