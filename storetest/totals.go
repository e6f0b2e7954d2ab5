package storetest

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"tasksapi/task"
)

var totalTests = []test{
	{"TotalsMatchACountOfTheTasks", totalsMatchACountOfTheTasks},
	{"ACachedTotalIsRefreshedByAWrite", aCachedTotalIsRefreshedByAWrite},
	{"ATotalIsRefreshedByAWriteThroughAnotherStore", aTotalIsRefreshedByAWriteThroughAnotherStore},
	{"SkipTotalLeavesTheTotalAtZeroButListsThePage", skipTotalLeavesTheTotalAtZeroButListsThePage},
	{"TotalsStayExactThroughChangesAndDeletes", totalsStayExactThroughChangesAndDeletes},
	{"CachedTotalsFollowChangesOfTitlesAndDates", cachedTotalsFollowChangesOfTitlesAndDates},
}

// countTitles are ASCII, so that SQL's lower() folds them as a store
// does (a store's own tests count with it), and hold LIKE's wildcards.
var countTitles = []string{"Call Acme", "call ACME about 50% off", "Email Globex", "Renewal for Initech",
	"rename under_score", "Review 5000 items", "RENEWAL call"}

// CountFixture creates 90 tasks in two organisations, interleaved: a
// third in other's, the rest in ctx's; it returns each organisation's.
func CountFixture(t *testing.T, ctx, other context.Context, s task.Service) (mine, theirs []task.Task) {
	t.Helper()
	for i := range 90 {
		in := task.CreateInput{
			Title:         countTitles[i%len(countTitles)],
			StartDatetime: DT(t, fmt.Sprintf("2026-03-%02dT%02d:30:00", 1+i%20, i%24)),
			DealID:        Ptr(1),
			Status:        Ptr(task.Status(i % 5)),
			Priority:      Ptr(task.Priority(i * 7 % 5)),
		}
		if i%4 != 0 {
			in.AssignedUserID = Ptr(1 + i%3)
		}
		if i%3 != 0 {
			in.EndDatetime = Ptr(DT(t, fmt.Sprintf("2026-03-%02dT23:00:00", 1+i%20+i%4)))
		}
		if i%3 == 2 {
			theirs = append(theirs, MustCreate(t, other, s, in))
		} else {
			mine = append(mine, MustCreate(t, ctx, s, in))
		}
	}
	return mine, theirs
}

// CountCase is a filter whose total the tests check.
type CountCase struct {
	Name   string
	Filter task.Filter
}

// CountCases are filters of every kind, alone and combined, each
// selecting some of CountFixture's tasks.
func CountCases(t *testing.T) []CountCase {
	t.Helper()
	from, to := Date(t, "2026-03-05"), Date(t, "2026-03-12")
	return []CountCase{
		{"no filter", task.Filter{}},
		{"an empty search", task.Filter{Search: Ptr("")}},
		{"a status", task.Filter{Status: Ptr(task.StatusOpen)}},
		{"another status", task.Filter{Status: Ptr(task.StatusNoShow)}},
		{"a priority", task.Filter{Priority: Ptr(task.PriorityHigh)}},
		{"an assignee", task.Filter{AssignedUserID: Ptr(2)}},
		{"an assignee nobody has", task.Filter{AssignedUserID: Ptr(99)}},
		{"a status and a priority", task.Filter{Status: Ptr(task.StatusInProgress), Priority: Ptr(task.PriorityMedium)}},
		{"a status and an assignee", task.Filter{Status: Ptr(task.StatusCompleted), AssignedUserID: Ptr(1)}},
		{"a priority and an assignee", task.Filter{Priority: Ptr(task.PriorityLow), AssignedUserID: Ptr(3)}},
		{"a status, a priority and an assignee", task.Filter{Status: Ptr(task.StatusOpen),
			Priority: Ptr(task.PriorityNone), AssignedUserID: Ptr(2)}},
		{"a search", task.Filter{Search: Ptr("call")}},
		{"an upper-case search", task.Filter{Search: Ptr("CALL")}},
		{"a one-letter search", task.Filter{Search: Ptr("a")}},
		{"a search with a percent sign", task.Filter{Search: Ptr("50%")}},
		{"a search with an underscore", task.Filter{Search: Ptr("_")}},
		{"a search that finds nothing", task.Filter{Search: Ptr("no such title")}},
		{"a due-date range", task.Filter{DueDateFrom: &from, DueDateTo: &to}},
		{"a one-day due-date range", task.Filter{DueDateFrom: &from, DueDateTo: &from}},
		{"a due date from", task.Filter{DueDateFrom: &to}},
		{"a due date to", task.Filter{DueDateTo: &from}},
		{"a search and a status", task.Filter{Search: Ptr("renewal"), Status: Ptr(task.StatusOpen)}},
		{"a search and a due-date range", task.Filter{Search: Ptr("acme"), DueDateFrom: &from, DueDateTo: &to}},
		{"a status and a due-date range", task.Filter{Status: Ptr(task.StatusCancelled), DueDateFrom: &from, DueDateTo: &to}},
		{"every filter at once", task.Filter{Search: Ptr("e"), Status: Ptr(task.StatusInProgress),
			Priority: Ptr(task.PriorityHigh), AssignedUserID: Ptr(2), DueDateFrom: &from, DueDateTo: &to}},
	}
}

// matches is the contract of a filter, written out apart from any store:
// a search is a substring of the title, ignoring case; the due date is
// the date of the end, else of the start.
func matches(f task.Filter, tk task.Task) bool {
	due := tk.StartDatetime.Date()
	if tk.EndDatetime != nil {
		due = tk.EndDatetime.Date()
	}
	return (f.Search == nil || strings.Contains(strings.ToLower(tk.Title), strings.ToLower(*f.Search))) &&
		(f.Status == nil || tk.Status == *f.Status) &&
		(f.Priority == nil || tk.Priority == *f.Priority) &&
		(f.AssignedUserID == nil || tk.AssignedUserID != nil && *tk.AssignedUserID == *f.AssignedUserID) &&
		(f.DueDateFrom == nil || !f.DueDateFrom.After(due)) &&
		(f.DueDateTo == nil || !due.After(*f.DueDateTo))
}

// countMatching counts the tasks f matches.
func countMatching(tasks []task.Task, f task.Filter) int {
	n := 0
	for _, tk := range tasks {
		if matches(f, tk) {
			n++
		}
	}
	return n
}

func totalsMatchACountOfTheTasks(t *testing.T, h Harness) {
	s, _, _ := h.New(t)
	ctx := OrgContext(t, s, "Acme")
	other := OrgContext(t, s, "Globex")
	mine, theirs := CountFixture(t, ctx, other, s)
	nonZero := 0
	for _, tc := range CountCases(t) {
		for _, c := range []struct {
			name  string
			ctx   context.Context
			tasks []task.Task
		}{{"Acme", ctx, mine}, {"Globex", other, theirs}} {
			t.Run(fmt.Sprintf("the total of %s for %s is exact", tc.Name, c.name), func(t *testing.T) {
				want := countMatching(c.tasks, tc.Filter)
				if want > 0 {
					nonZero++
				}
				page := MustList(t, c.ctx, s, task.ListParams{Filter: tc.Filter, PageSize: Ptr(5)})
				if page.TotalRecords != want {
					t.Errorf("TotalRecords = %d, want %d", page.TotalRecords, want)
				}
				if len(page.Items) != min(want, 5) {
					t.Errorf("the page holds %d tasks, want %d", len(page.Items), min(want, 5))
				}
				conn := mustConnect(t, c.ctx, s, task.ConnectionParams{Filter: tc.Filter, First: Ptr(5)})
				if conn.TotalCount != want {
					t.Errorf("TaskConnection TotalCount = %d, want %d", conn.TotalCount, want)
				}
			})
		}
	}
	if nonZero < len(CountCases(t)) {
		t.Errorf("only %d of %d (filter, organisation) cases select any task; the fixture is too thin", nonZero, 2*len(CountCases(t)))
	}
}

func aCachedTotalIsRefreshedByAWrite(t *testing.T, h Harness) {
	s, _, _ := h.New(t)
	ctx := OrgContext(t, s, "Acme")
	other := OrgContext(t, s, "Globex")
	CountFixture(t, ctx, other, s)
	from, to := Date(t, "2026-03-01"), Date(t, "2026-03-01")
	for _, tc := range []struct {
		name     string
		filter   task.Filter
		matching task.CreateInput
		missing  task.CreateInput
	}{
		{"a search", task.Filter{Search: Ptr("renewal")}, Simple(t, "Another RENEWAL"), Simple(t, "Something else")},
		{"a due-date range", task.Filter{DueDateFrom: &from, DueDateTo: &to}, Simple(t, "Due on the first"),
			task.CreateInput{Title: "Due later", StartDatetime: DT(t, "2026-04-01T09:00:00"), DealID: Ptr(1)}},
		{"a search and a status", task.Filter{Search: Ptr("call"), Status: Ptr(task.StatusOpen)}, Simple(t, "call back"),
			task.CreateInput{Title: "call back", StartDatetime: DT(t, "2026-04-01T09:00:00"), DealID: Ptr(1),
				Status: Ptr(task.StatusCompleted)}},
		{"a status", task.Filter{Status: Ptr(task.StatusOpen)}, Simple(t, "Open by default"),
			task.CreateInput{Title: "Done", StartDatetime: DT(t, "2026-04-01T09:00:00"), DealID: Ptr(1),
				Status: Ptr(task.StatusCompleted)}},
	} {
		t.Run("the total of "+tc.name+" follows the writes", func(t *testing.T) {
			total := func(ctx context.Context) int {
				t.Helper()
				return MustList(t, ctx, s, task.ListParams{Filter: tc.filter}).TotalRecords
			}
			before, otherBefore := total(ctx), total(other)
			if before == 0 {
				t.Fatalf("the fixture has no task matching %s", tc.name)
			}
			if again := total(ctx); again != before {
				t.Fatalf("the same list twice: %d then %d", before, again)
			}
			MustCreate(t, ctx, s, tc.matching)
			if got := total(ctx); got != before+1 {
				t.Errorf("after creating a matching task the total is %d, want %d", got, before+1)
			}
			MustCreate(t, ctx, s, tc.missing)
			if got := total(ctx); got != before+1 {
				t.Errorf("after creating a task that does not match the total is %d, want %d", got, before+1)
			}
			MustCreate(t, other, s, tc.matching)
			if got := total(ctx); got != before+1 {
				t.Errorf("after a create in another organisation the total is %d, want it unchanged at %d", got, before+1)
			}
			if got := total(other); got != otherBefore+1 {
				t.Errorf("the other organisation's total is %d, want %d", got, otherBefore+1)
			}
		})
	}
}

func aTotalIsRefreshedByAWriteThroughAnotherStore(t *testing.T, h Harness) {
	// Two servers on one database: what one keeps must not hide the
	// other's writes.
	s, _, name := h.New(t)
	ctx := OrgContext(t, s, "Acme")
	other := OrgContext(t, s, "Globex")
	CountFixture(t, ctx, other, s)
	filter := task.Filter{Search: Ptr("acme")}
	before := MustList(t, ctx, s, task.ListParams{Filter: filter}).TotalRecords

	second := h.Open(t, name, nil)
	MustCreate(t, ctx, second, Simple(t, "ACME again"))
	if got := MustList(t, ctx, s, task.ListParams{Filter: filter}).TotalRecords; got != before+1 {
		t.Errorf("after a create through another store the total is %d, want %d", got, before+1)
	}
}

func skipTotalLeavesTheTotalAtZeroButListsThePage(t *testing.T, h Harness) {
	s, _, _ := h.New(t)
	ctx := OrgContext(t, s, "Acme")
	other := OrgContext(t, s, "Globex")
	CountFixture(t, ctx, other, s)
	for _, tc := range CountCases(t) {
		t.Run("with "+tc.Name, func(t *testing.T) {
			full := MustList(t, ctx, s, task.ListParams{Filter: tc.Filter, PageSize: Ptr(4), PageIndex: Ptr(1)})
			skip := MustList(t, ctx, s, task.ListParams{Filter: tc.Filter, PageSize: Ptr(4), PageIndex: Ptr(1), SkipTotal: true})
			if skip.TotalRecords != 0 {
				t.Errorf("TotalRecords = %d with SkipTotal, want 0", skip.TotalRecords)
			}
			if got, want := IDs(skip.Items), IDs(full.Items); fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("the page with SkipTotal is %v, without %v", got, want)
			}
			if skip.PageSize != 4 || skip.PageIndex != 1 {
				t.Errorf("PageSize, PageIndex = %d, %d; want 4, 1", skip.PageSize, skip.PageIndex)
			}
		})
	}
}

func totalsStayExactThroughChangesAndDeletes(t *testing.T, h Harness) {
	s, clk, _ := h.New(t)
	ctx := OrgContext(t, s, "Acme")
	other := OrgContext(t, s, "Globex")
	mine, theirs := CountFixture(t, ctx, other, s)
	kept := map[int]task.Task{} // Acme's tasks as they are after the writes
	for i, tk := range mine {
		clk.Advance(time.Second)
		switch i % 4 {
		case 0:
			kept[tk.ID] = mustUpdate(t, ctx, s, tk.ID, task.UpdateInput{Status: task.To(task.Status((i / 4) % 5)),
				Priority: task.To(task.PriorityUrgent), AssignedUserID: task.To(1 + i%2)})
		case 1:
			kept[tk.ID] = mustUpdate(t, ctx, s, tk.ID, task.UpdateInput{AssignedUserID: task.Clear[int](),
				Title: task.To(fmt.Sprintf("renamed %d", i))})
		case 2:
			if _, err := s.DeleteTask(ctx, tk.ID, task.AnyVersion()); err != nil {
				t.Fatal(err)
			}
		default:
			kept[tk.ID] = tk
		}
	}
	for _, tc := range CountCases(t) {
		for _, c := range []struct {
			name string
			ctx  context.Context
			want int
		}{{"Acme", ctx, countMatching(slices.Collect(maps.Values(kept)), tc.Filter)}, {"Globex", other, countMatching(theirs, tc.Filter)}} {
			if got := MustList(t, c.ctx, s, task.ListParams{Filter: tc.Filter}).TotalRecords; got != c.want {
				t.Errorf("the total of %s for %s = %d, want %d", tc.Name, c.name, got, c.want)
			}
		}
	}
}

func cachedTotalsFollowChangesOfTitlesAndDates(t *testing.T, h Harness) {
	s, _, _ := h.New(t)
	ctx := OrgContext(t, s, "Acme")
	var ids []int
	for range 3 {
		ids = append(ids, MustCreate(t, ctx, s, Simple(t, "Alpha review")).ID)
	}
	alpha, beta := "alpha", "beta"
	from, to := Date(t, "2026-03-01"), Date(t, "2026-03-01")
	total := func(f task.Filter) int { return MustList(t, ctx, s, task.ListParams{Filter: f}).TotalRecords }
	// Counted once, and kept by a store that keeps totals.
	if a, d := total(task.Filter{Search: &alpha}), total(task.Filter{DueDateFrom: &from, DueDateTo: &to}); a != 3 || d != 3 {
		t.Fatalf("before the changes: %d alpha, %d due on March 1st; want 3 and 3", a, d)
	}
	mustUpdate(t, ctx, s, ids[0], task.UpdateInput{Title: task.To("Beta review")})
	mustUpdate(t, ctx, s, ids[1], task.UpdateInput{EndDatetime: task.To(DT(t, "2026-03-05T10:00:00"))})
	for _, c := range []struct {
		name   string
		filter task.Filter
		want   int
	}{
		{"the old title", task.Filter{Search: &alpha}, 2},
		{"the new title", task.Filter{Search: &beta}, 1},
		{"the old due date", task.Filter{DueDateFrom: &from, DueDateTo: &to}, 2},
	} {
		if got := total(c.filter); got != c.want {
			t.Errorf("after the changes, the total of %s = %d, want %d", c.name, got, c.want)
		}
	}
}
