package postgres

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"tasksapi/access"
	"tasksapi/internal/pgtest"
	"tasksapi/task"
)

// These tests hold the list reads to a model: the tasks are written by SQL
// (with their counters), and every page, total and cursor is compared
// with what filtering and sorting the same tasks in Go gives.

func ptr[T any](v T) *T { return &v }

// listFixture is a store with two organisations: org, whose tasks the
// cases list, and another whose tasks must never show.
type listFixture struct {
	s     *Store
	url   string
	ctx   context.Context // a principal of org
	org   int
	tasks []task.Task // org's tasks, by id
}

var fixtureTitles = []string{
	"Call Sarah", "call sarah again", "EMAIL Ahmed", "50% off for Acme", "50 percent", "under_score note",
	"underXscore note", `back\slash`, "ÉTÉ plans", "été", "Zebra", "apple", "Apple", "ca", "Ca va",
}

// newListFixture stores n tasks in org and n/2 in another organisation.
func newListFixture(t *testing.T, n int) listFixture {
	t.Helper()
	url := pgtest.URL(t)
	s, err := Open(t.Context(), url)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	f := listFixture{s: s, url: url}
	var other int
	for _, name := range []string{"Listed", "Other"} {
		var id int
		if err := s.pool.QueryRow(t.Context(), "INSERT INTO organisations (name, created_at) VALUES ($1, now()) RETURNING id",
			name).Scan(&id); err != nil {
			t.Fatalf("insert organisation: %v", err)
		}
		if name == "Listed" {
			f.org = id
		} else {
			other = id
		}
	}
	f.ctx = access.WithPrincipal(t.Context(), access.Principal{OrganisationID: f.org})
	id := 0
	for i := range n + n/2 {
		id++
		tk := fixtureTask(i, id)
		org := f.org
		if i%3 == 2 && i < 3*(n/2) { // every third task of the first stretch is the other's
			org = other
		} else {
			f.tasks = append(f.tasks, tk)
		}
		f.insert(t, org, tk)
	}
	f.recount(t)
	return f
}

// fixtureTask is the i-th generated task, with ties in every sort column
// and missing optional values.
func fixtureTask(i, id int) task.Task {
	base := time.Date(2025, 1, 1, 9, 0, 0, 0, time.UTC)
	start := task.NewDateTime(base.Add(time.Duration(i%17) * 36 * time.Hour))
	tk := task.Task{ID: id, Title: fixtureTitles[i%len(fixtureTitles)], Status: task.Status(i % 5),
		Priority: task.Priority(i / 3 % 5), StartDatetime: start, TagIDs: []int{},
		CreatedAt: task.NewDateTime(base.Add(time.Duration(i/4) * time.Hour)), Version: 1 + i%3}
	tk.UpdatedAt = tk.CreatedAt
	if i%4 != 0 {
		end := task.NewDateTime(start.Time().Add(time.Duration(i%7) * 20 * time.Hour))
		tk.EndDatetime = &end
		tk.DueDate = end.Date()
	} else {
		tk.DueDate = start.Date()
	}
	if i%5 != 0 {
		tk.AssignedUserID = ptr(1 + i%3)
	}
	if i%2 == 0 {
		tk.DealID = ptr(100 + i)
	} else {
		tk.ContactID = ptr(200 + i)
		tk.Description = ptr(fmt.Sprintf("about %d", i))
		tk.TagIDs = []int{3, 1, 2}
	}
	if tk.Status == task.StatusCompleted {
		tk.CompletedAt = &tk.UpdatedAt
	}
	return tk
}

func (f *listFixture) insert(t *testing.T, org int, tk task.Task) {
	t.Helper()
	var end, completed any
	if tk.EndDatetime != nil {
		end = tk.EndDatetime.Time()
	}
	if tk.CompletedAt != nil {
		completed = tk.CompletedAt.Time()
	}
	_, err := f.s.pool.Exec(t.Context(), `INSERT INTO tasks (id, organisation_id, title, title_fold, status, priority,
		start_datetime, end_datetime, due_date, description, deal_id, contact_id, assigned_user_id, tag_ids,
		version, completed_at, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)`,
		tk.ID, org, tk.Title, task.Fold(tk.Title), int16(tk.Status), int16(tk.Priority), tk.StartDatetime.Time(), end,
		pgDate(tk.DueDate), tk.Description, tk.DealID, tk.ContactID, tk.AssignedUserID, tk.TagIDs, tk.Version,
		completed, tk.CreatedAt.Time(), tk.UpdatedAt.Time())
	if err != nil {
		t.Fatalf("insert task %d: %v", tk.ID, err)
	}
}

// recount sets the counters from the tasks and moves every organisation's
// write version on, as a write does.
func (f *listFixture) recount(t *testing.T) {
	t.Helper()
	_, err := f.s.pool.Exec(t.Context(), `DELETE FROM task_counts; DELETE FROM task_counts_by_user;
		INSERT INTO task_counts SELECT organisation_id, status, priority, count(*) FROM tasks GROUP BY 1, 2, 3;
		INSERT INTO task_counts_by_user SELECT organisation_id, assigned_user_id, status, priority, count(*)
			FROM tasks WHERE assigned_user_id IS NOT NULL GROUP BY 1, 2, 3, 4;
		UPDATE organisations SET head_seq = head_seq + 1;
		ANALYZE tasks`)
	if err != nil {
		t.Fatalf("recount: %v", err)
	}
}

// want is the model's answer: the tasks matching f, in the order of
// sortBy and order.
func want(tasks []task.Task, f task.Filter, sortBy task.SortField, order task.SortOrder) []task.Task {
	var out []task.Task
	for _, tk := range tasks {
		if matches(tk, f) {
			out = append(out, tk)
		}
	}
	slices.SortFunc(out, func(a, b task.Task) int {
		c := compareBy(a, b, sortBy)
		if c == 0 {
			c = cmp.Compare(a.ID, b.ID)
		} else if sortBy == task.SortByEndDatetime && (a.EndDatetime == nil || b.EndDatetime == nil) {
			return c // missing ends last in both directions
		}
		if order == task.Desc {
			return -c
		}
		return c
	})
	return out
}

func matches(tk task.Task, f task.Filter) bool {
	return (f.Search == nil || strings.Contains(strings.ToLower(tk.Title), strings.ToLower(*f.Search))) &&
		(f.Status == nil || tk.Status == *f.Status) &&
		(f.Priority == nil || tk.Priority == *f.Priority) &&
		(f.AssignedUserID == nil || (tk.AssignedUserID != nil && *tk.AssignedUserID == *f.AssignedUserID)) &&
		(f.DueDateFrom == nil || !f.DueDateFrom.After(tk.DueDate)) &&
		(f.DueDateTo == nil || !tk.DueDate.After(*f.DueDateTo))
}

func compareBy(a, b task.Task, f task.SortField) int {
	switch f {
	case task.SortByTitle:
		return strings.Compare(strings.ToLower(a.Title), strings.ToLower(b.Title))
	case task.SortByStatus:
		return cmp.Compare(a.Status, b.Status)
	case task.SortByPriority:
		return cmp.Compare(a.Priority, b.Priority)
	case task.SortByStartDatetime:
		return a.StartDatetime.Time().Compare(b.StartDatetime.Time())
	case task.SortByEndDatetime:
		switch {
		case a.EndDatetime == nil && b.EndDatetime == nil:
			return 0
		case a.EndDatetime == nil:
			return 1
		case b.EndDatetime == nil:
			return -1
		}
		return a.EndDatetime.Time().Compare(b.EndDatetime.Time())
	case task.SortByDueDate:
		return strings.Compare(a.DueDate.String(), b.DueDate.String())
	case task.SortByCreatedAt:
		return a.CreatedAt.Time().Compare(b.CreatedAt.Time())
	case task.SortByUpdatedAt:
		return a.UpdatedAt.Time().Compare(b.UpdatedAt.Time())
	}
	return 0
}

func ids(tasks []task.Task) []int {
	out := make([]int, len(tasks))
	for i, tk := range tasks {
		out[i] = tk.ID
	}
	return out
}

var allSorts = []task.SortField{task.SortByID, task.SortByTitle, task.SortByStatus, task.SortByPriority,
	task.SortByStartDatetime, task.SortByEndDatetime, task.SortByDueDate, task.SortByCreatedAt, task.SortByUpdatedAt}

func sortName(f task.SortField, o task.SortOrder) string {
	dir := "ascending"
	if o == task.Desc {
		dir = "descending"
	}
	return sortColumns[f] + " " + dir
}

func day(t *testing.T, s string) *task.Date {
	t.Helper()
	d, err := task.ParseDate(s)
	if err != nil {
		t.Fatalf("ParseDate(%q): %v", s, err)
	}
	return &d
}

// filterCases are the filters every list shape is checked with.
func filterCases(t *testing.T) []struct {
	name   string
	filter task.Filter
} {
	return []struct {
		name   string
		filter task.Filter
	}{
		{"no filter", task.Filter{}},
		{"a status", task.Filter{Status: ptr(task.StatusCompleted)}},
		{"a priority", task.Filter{Priority: ptr(task.PriorityHigh)}},
		{"an assignee", task.Filter{AssignedUserID: ptr(2)}},
		{"a status, a priority and an assignee", task.Filter{Status: ptr(task.StatusOpen),
			Priority: ptr(task.PriorityMedium), AssignedUserID: ptr(1)}},
		{"a due-date range", task.Filter{DueDateFrom: day(t, "2025-01-05"), DueDateTo: day(t, "2025-01-20")}},
		{"a due date from only", task.Filter{DueDateFrom: day(t, "2025-01-15")}},
		{"a search of a long term in another case", task.Filter{Search: ptr("SARAH")}},
		{"a search whose %% is a plain character", task.Filter{Search: ptr("50%")}},
		{"a search whose _ is a plain character", task.Filter{Search: ptr("under_score")}},
		{`a search whose \ is a plain character`, task.Filter{Search: ptr(`k\s`)}},
		{"a search of a folded accented letter", task.Filter{Search: ptr("été")}},
		{"a search of two characters", task.Filter{Search: ptr("Ca")}},
		{"a search of one character", task.Filter{Search: ptr("%")}},
		{"a search that finds nothing", task.Filter{Search: ptr("xyzzy")}},
		{"a search and a status", task.Filter{Search: ptr("call"), Status: ptr(task.StatusInProgress)}},
		{"a search with a NUL", task.Filter{Search: ptr("ca\x00")}},
	}
}

func TestListsPageThroughTheModelsOrderWithItsTotals(t *testing.T) {
	f := newListFixture(t, 90)
	for _, fc := range filterCases(t) {
		for _, sortBy := range allSorts {
			for _, order := range []task.SortOrder{task.Asc, task.Desc} {
				t.Run(fc.name+" sorted by "+sortName(sortBy, order), func(t *testing.T) {
					expected := want(f.tasks, fc.filter, sortBy, order)
					var got []int
					for page := 0; ; page++ {
						p, err := f.s.ListTasks(f.ctx, task.ListParams{Filter: fc.filter, PageSize: ptr(7),
							PageIndex: ptr(page), SortBy: ptr(sortBy), SortOrder: ptr(order)})
						if err != nil {
							t.Fatalf("ListTasks(page %d): %v", page, err)
						}
						if p.TotalRecords != len(expected) {
							t.Fatalf("page %d: TotalRecords = %d, want %d", page, p.TotalRecords, len(expected))
						}
						if len(p.Items) == 0 {
							break
						}
						got = append(got, ids(p.Items)...)
					}
					if !slices.Equal(got, ids(expected)) {
						t.Errorf("ids = %v\nwant %v", got, ids(expected))
					}
				})
			}
		}
	}
}

func TestConnectionsPageThroughTheModelsOrderByCursors(t *testing.T) {
	f := newListFixture(t, 90)
	for _, fc := range filterCases(t) {
		for _, sortBy := range allSorts {
			for _, order := range []task.SortOrder{task.Asc, task.Desc} {
				t.Run(fc.name+" sorted by "+sortName(sortBy, order), func(t *testing.T) {
					expected := want(f.tasks, fc.filter, sortBy, order)
					var got []int
					var after *string
					for page := 0; ; page++ {
						c, err := f.s.TaskConnection(f.ctx, task.ConnectionParams{Filter: fc.filter, First: ptr(4),
							After: after, SortBy: ptr(sortBy), SortOrder: ptr(order)})
						if err != nil {
							t.Fatalf("TaskConnection(page %d): %v", page, err)
						}
						if c.TotalCount != len(expected) {
							t.Fatalf("page %d: TotalCount = %d, want %d", page, c.TotalCount, len(expected))
						}
						if c.After != (after != nil) {
							t.Fatalf("page %d: After = %v", page, c.After)
						}
						for _, e := range c.Edges {
							got = append(got, e.Node.ID)
						}
						if wantNext := len(got) < len(expected); c.HasNextPage != wantNext {
							t.Fatalf("page %d: HasNextPage = %v, want %v", page, c.HasNextPage, wantNext)
						}
						if !c.HasNextPage {
							break
						}
						after = c.PageInfo().EndCursor
					}
					if !slices.Equal(got, ids(expected)) {
						t.Errorf("ids = %v\nwant %v", got, ids(expected))
					}
				})
			}
		}
	}
}

func TestListedTasksAreStoredTasksFieldByField(t *testing.T) {
	f := newListFixture(t, 30)
	p, err := f.s.ListTasks(f.ctx, task.ListParams{PageSize: ptr(100), SortBy: ptr(task.SortByID)})
	if err != nil {
		t.Fatalf("ListTasks: %v", err)
	}
	c, err := f.s.TaskConnection(f.ctx, task.ConnectionParams{First: ptr(100), SortBy: ptr(task.SortByID)})
	if err != nil {
		t.Fatalf("TaskConnection: %v", err)
	}
	for i, tk := range f.tasks {
		one, err := f.s.Task(f.ctx, tk.ID)
		if err != nil {
			t.Fatalf("Task(%d): %v", tk.ID, err)
		}
		for name, got := range map[string]task.Task{"Task": one, "ListTasks": p.Items[i], "TaskConnection": c.Edges[i].Node} {
			if g, w := fmt.Sprintf("%+v", show(got)), fmt.Sprintf("%+v", show(tk)); g != w {
				t.Errorf("%s of task %d:\n got %s\nwant %s", name, tk.ID, g, w)
			}
		}
	}
}

// show is t with its pointers followed, for comparing.
func show(t task.Task) []any {
	deref := func(p any) any {
		switch p := p.(type) {
		case *int:
			if p != nil {
				return *p
			}
		case *string:
			if p != nil {
				return *p
			}
		case *task.DateTime:
			if p != nil {
				return p.String()
			}
		}
		return nil
	}
	return []any{t.ID, t.Title, t.Status, t.Priority, t.StartDatetime.String(), deref(t.EndDatetime), t.DueDate.String(),
		deref(t.Description), deref(t.DealID), deref(t.ContactID), deref(t.AssignedUserID), fmt.Sprint(t.TagIDs),
		t.TagIDs != nil, t.CreatedAt.String(), t.UpdatedAt.String(), deref(t.CompletedAt), t.Version}
}

func TestATaskIsFoundOnlyInItsOwnOrganisation(t *testing.T) {
	f := newListFixture(t, 9)
	var foreign int
	if err := f.s.pool.QueryRow(t.Context(), "SELECT min(id) FROM tasks WHERE organisation_id <> $1", f.org).Scan(&foreign); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		id   int
		code task.Code
	}{
		{"a task of the organisation is found", f.tasks[0].ID, ""},
		{"another organisation's task is not found", foreign, task.CodeNotFound},
		{"a task that never existed is not found", 1_000_000, task.CodeNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := f.s.Task(f.ctx, tc.id)
			if tc.code == "" {
				if err != nil || got.ID != tc.id {
					t.Fatalf("Task(%d) = %d, %v", tc.id, got.ID, err)
				}
				return
			}
			if task.ErrorCode(err) != tc.code {
				t.Fatalf("Task(%d) error = %v, want code %s", tc.id, err, tc.code)
			}
		})
	}
}
