package storetest

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"tasksapi/store"
	"tasksapi/task"
)

var listTests = []test{
	{"InvalidListParamsAreRejected", invalidListParamsAreRejected},
	{"ListFilters", listFilters},
	{"ListCountsAllMatchesNotJustThePage", listCountsAllMatchesNotJustThePage},
	{"ListSortsByEveryField", listSortsByEveryField},
	{"TitleSortIgnoresCase", titleSortIgnoresCase},
	{"PagingThroughTiesVisitsEveryTaskOnce", pagingThroughTiesVisitsEveryTaskOnce},
	{"PageSizeIsCappedAt100", pageSizeIsCappedAt100},
	{"PagesPastTheEnd", pagesPastTheEnd},
	{"AnEmptyStoreListsNothing", anEmptyStoreListsNothing},
}

func invalidListParamsAreRejected(t *testing.T, h Harness) {
	s, _, _ := h.New(t)
	ctx := OrgContext(t, s, "Acme")
	MustCreate(t, ctx, s, Simple(t, "one"))
	tests := []struct {
		name  string
		p     task.ListParams
		field string
	}{
		{"a page size of 0 is rejected", task.ListParams{PageSize: Ptr(0)}, "pageSize"},
		{"a page index of -1 is rejected", task.ListParams{PageIndex: Ptr(-1)}, "pageIndex"},
		{"a status filter of 5 is rejected", task.ListParams{Filter: task.Filter{Status: Ptr(task.Status(5))}}, "status"},
		{"an assigned user of 0 is rejected", task.ListParams{Filter: task.Filter{AssignedUserID: Ptr(0)}}, "assignedUserId"},
		{"a due date range ending before it starts is rejected", task.ListParams{Filter: task.Filter{
			DueDateFrom: Ptr(Date(t, "2026-03-02")), DueDateTo: Ptr(Date(t, "2026-03-01"))}}, "dueDateTo"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s.ListTasks(ctx, tt.p)
			e := WantCode(t, err, task.CodeInvalid)
			if got := fieldsOf(e); !slices.Equal(got, []string{tt.field}) {
				t.Errorf("offending fields = %v, want [%s]", got, tt.field)
			}
		})
	}
}

// filterFixture creates the tasks the filter tests search, returning their
// ids by a short key.
func filterFixture(t *testing.T, ctx context.Context, s store.Store) map[string]int {
	t.Helper()
	type spec struct {
		key, title string
		status     task.Status
		priority   task.Priority
		user       *int
		start, end string
	}
	specs := []spec{
		{"ete", "Été planning", 0, 2, Ptr(1), "2026-03-01T09:00:00", ""},                            // due 03-01
		{"summer", "summer ÉTÉ review", 1, 3, Ptr(2), "2026-03-02T10:00:00", "2026-03-04T10:00:00"}, // due 03-04
		{"percent", "100% done", 2, 4, Ptr(1), "2026-03-03T08:00:00", ""},                           // due 03-03
		{"snake", "snake_case rename", 0, 0, nil, "2026-03-05T08:00:00", ""},                        // due 03-05
		{"plain", "plain title", 3, 1, Ptr(2), "2026-02-28T23:00:00", "2026-03-01T01:00:00"},        // due 03-01
		{"word", "Percent sign missing", 4, 2, nil, "2026-03-10T08:00:00", ""},                      // due 03-10
		{"spaced", "snake case without underscore", 0, 2, Ptr(3), "2026-03-06T08:00:00", ""},        // due 03-06
	}
	out := map[string]int{}
	for _, sp := range specs {
		in := task.CreateInput{
			Title:          sp.title,
			StartDatetime:  DT(t, sp.start),
			DealID:         Ptr(1),
			Status:         Ptr(sp.status),
			Priority:       Ptr(sp.priority),
			AssignedUserID: sp.user,
		}
		if sp.end != "" {
			in.EndDatetime = Ptr(DT(t, sp.end))
		}
		out[sp.key] = MustCreate(t, ctx, s, in).ID
	}
	return out
}

func listFilters(t *testing.T, h Harness) {
	s, _, _ := h.New(t)
	ctx := OrgContext(t, s, "Acme")
	id := filterFixture(t, ctx, s)
	all := []string{"ete", "summer", "percent", "snake", "plain", "word", "spaced"}

	tests := []struct {
		name string
		f    task.Filter
		want []string // keys, in id order
	}{
		{"no filter lists every task", task.Filter{}, all},
		{"an empty search lists every task", task.Filter{Search: Ptr("")}, all},
		{"search is a case-insensitive substring", task.Filter{Search: Ptr("SNAKE")}, []string{"snake", "spaced"}},
		{"a lower-case search finds an upper-case accented title", task.Filter{Search: Ptr("été")}, []string{"ete", "summer"}},
		{"an upper-case accented search finds a lower-case title", task.Filter{Search: Ptr("ÉTÉ")}, []string{"ete", "summer"}},
		{"search matches inside words", task.Filter{Search: Ptr("lannin")}, []string{"ete"}},
		{"a percent sign is taken literally", task.Filter{Search: Ptr("%")}, []string{"percent"}},
		{"a percent sign in the middle is taken literally", task.Filter{Search: Ptr("0% d")}, []string{"percent"}},
		{"an underscore is taken literally", task.Filter{Search: Ptr("_")}, []string{"snake"}},
		{"an underscore does not match a space", task.Filter{Search: Ptr("e_c")}, []string{"snake"}},
		{"a search that matches nothing lists nothing", task.Filter{Search: Ptr("zzz")}, nil},
		{"a search with a quote is taken literally", task.Filter{Search: Ptr("'")}, nil},
		{"status filters", task.Filter{Status: Ptr(task.Status(0))}, []string{"ete", "snake", "spaced"}},
		{"status NO_SHOW filters", task.Filter{Status: Ptr(task.Status(4))}, []string{"word"}},
		{"priority filters", task.Filter{Priority: Ptr(task.Priority(2))}, []string{"ete", "word", "spaced"}},
		{"priority NONE filters", task.Filter{Priority: Ptr(task.Priority(0))}, []string{"snake"}},
		{"assigned user filters", task.Filter{AssignedUserID: Ptr(1)}, []string{"ete", "percent"}},
		{"another assigned user filters", task.Filter{AssignedUserID: Ptr(2)}, []string{"summer", "plain"}},
		{"an unknown assigned user lists nothing", task.Filter{AssignedUserID: Ptr(99)}, nil},
		{"dueDateFrom is inclusive", task.Filter{DueDateFrom: Ptr(Date(t, "2026-03-03"))},
			[]string{"summer", "percent", "snake", "word", "spaced"}},
		{"dueDateTo is inclusive", task.Filter{DueDateTo: Ptr(Date(t, "2026-03-03"))},
			[]string{"ete", "percent", "plain"}},
		{"an equal dueDateFrom and dueDateTo give that day, by due date not start", task.Filter{
			DueDateFrom: Ptr(Date(t, "2026-03-01")), DueDateTo: Ptr(Date(t, "2026-03-01"))}, []string{"ete", "plain"}},
		{"a due date range matches the end's date, not the start's", task.Filter{
			DueDateFrom: Ptr(Date(t, "2026-03-04")), DueDateTo: Ptr(Date(t, "2026-03-05"))}, []string{"summer", "snake"}},
		{"a due date range on a start date that is not the due date matches nothing", task.Filter{
			DueDateFrom: Ptr(Date(t, "2026-03-02")), DueDateTo: Ptr(Date(t, "2026-03-02"))}, nil},
		{"status and priority combine", task.Filter{Status: Ptr(task.Status(0)), Priority: Ptr(task.Priority(2))},
			[]string{"ete", "spaced"}},
		{"search, status and assigned user combine", task.Filter{Search: Ptr("snake"), Status: Ptr(task.Status(0)),
			AssignedUserID: Ptr(3)}, []string{"spaced"}},
		{"search and due date combine", task.Filter{Search: Ptr("été"), DueDateFrom: Ptr(Date(t, "2026-03-02"))},
			[]string{"summer"}},
		{"status, priority and due date combine", task.Filter{Status: Ptr(task.Status(0)), Priority: Ptr(task.Priority(0)),
			DueDateTo: Ptr(Date(t, "2026-03-05"))}, []string{"snake"}},
		{"combined filters can exclude everything", task.Filter{Status: Ptr(task.Status(4)), AssignedUserID: Ptr(1)}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			page := MustList(t, ctx, s, task.ListParams{Filter: tt.f, PageSize: Ptr(100), SortBy: Ptr(task.SortByID)})
			want := []int{}
			for _, k := range tt.want {
				want = append(want, id[k])
			}
			if got := IDs(page.Items); !slices.Equal(got, want) {
				t.Errorf("ids = %v, want %v (%v)", got, want, tt.want)
			}
			if page.TotalRecords != len(want) {
				t.Errorf("TotalRecords = %d, want %d", page.TotalRecords, len(want))
			}
			if page.Items == nil {
				t.Errorf("Items is nil, want a non-nil slice")
			}
		})
	}
}

func listCountsAllMatchesNotJustThePage(t *testing.T, h Harness) {
	s, _, _ := h.New(t)
	ctx := OrgContext(t, s, "Acme")
	id := filterFixture(t, ctx, s)
	page := MustList(t, ctx, s, task.ListParams{Filter: task.Filter{Status: Ptr(task.Status(0))}, PageSize: Ptr(2),
		SortBy: Ptr(task.SortByID)})
	if page.TotalRecords != 3 || page.TotalPages() != 2 || page.CurrentPage() != 1 {
		t.Errorf("TotalRecords, TotalPages, CurrentPage = %d, %d, %d; want 3, 2, 1",
			page.TotalRecords, page.TotalPages(), page.CurrentPage())
	}
	if got, want := IDs(page.Items), []int{id["ete"], id["snake"]}; !slices.Equal(got, want) {
		t.Errorf("first page ids = %v, want %v", got, want)
	}
	page = MustList(t, ctx, s, task.ListParams{Filter: task.Filter{Status: Ptr(task.Status(0))}, PageSize: Ptr(2),
		PageIndex: Ptr(1), SortBy: Ptr(task.SortByID)})
	if got, want := IDs(page.Items), []int{id["spaced"]}; !slices.Equal(got, want) {
		t.Errorf("second page ids = %v, want %v", got, want)
	}
	if page.CurrentPage() != 2 || page.TotalRecords != 3 {
		t.Errorf("second page CurrentPage, TotalRecords = %d, %d; want 2, 3", page.CurrentPage(), page.TotalRecords)
	}
}

// sortSpec is a task of the sort fixture, with the values the expected
// orders are computed from.
type sortSpec struct {
	title      string
	status     task.Status
	priority   task.Priority
	start, end string
	due        string
	advance    time.Duration // clock advance before creating
	id         int
	created    string
}

func listSortsByEveryField(t *testing.T, h Harness) {
	s, c, _ := h.New(t)
	ctx := OrgContext(t, s, "Acme")
	specs := []*sortSpec{
		{title: "delta", status: 2, priority: 1, start: "2026-03-05T10:00:00", due: "2026-03-05"},
		{title: "alpha", status: 0, priority: 3, start: "2026-03-01T10:00:00", end: "2026-03-07T10:00:00", due: "2026-03-07", advance: time.Minute},
		{title: "charlie", status: 2, priority: 3, start: "2026-03-05T10:00:00", end: "2026-03-05T12:00:00", due: "2026-03-05"},
		{title: "bravo", status: 4, priority: 0, start: "2026-03-02T08:00:00", due: "2026-03-02", advance: time.Hour},
		{title: "alpha", status: 1, priority: 1, start: "2026-03-03T09:00:00", end: "2026-03-05T12:00:00", due: "2026-03-05"},
		{title: "echo", status: 0, priority: 4, start: "2026-02-27T10:00:00", end: "2026-03-03T10:00:00", due: "2026-03-03", advance: time.Second},
		{title: "bravo", status: 2, priority: 2, start: "2026-03-05T10:00:00", due: "2026-03-05", advance: 24 * time.Hour},
		{title: "foxtrot", status: 3, priority: 4, start: "2026-01-15T06:00:00", end: "2026-01-15T06:00:00", due: "2026-01-15", advance: -48 * time.Hour},
	}
	for _, sp := range specs {
		c.Advance(sp.advance)
		in := task.CreateInput{
			Title:         sp.title,
			StartDatetime: DT(t, sp.start),
			ContactID:     Ptr(5),
			Status:        Ptr(sp.status),
			Priority:      Ptr(sp.priority),
		}
		if sp.end != "" {
			in.EndDatetime = Ptr(DT(t, sp.end))
		}
		created := MustCreate(t, ctx, s, in)
		sp.id = created.ID
		sp.created = c.Now().UTC().Format("2006-01-02T15:04:05")
		if created.DueDate.String() != sp.due {
			t.Fatalf("fixture %q: due date %v, want %s", sp.title, created.DueDate, sp.due)
		}
	}

	// Each key is a string that sorts as the field should; "" is null.
	fields := []struct {
		name  string
		field task.SortField
		key   func(*sortSpec) string
	}{
		{"id", task.SortByID, func(sp *sortSpec) string { return fmt.Sprintf("%08d", sp.id) }},
		{"title", task.SortByTitle, func(sp *sortSpec) string { return sp.title }},
		{"status", task.SortByStatus, func(sp *sortSpec) string { return fmt.Sprint(sp.status) }},
		{"priority", task.SortByPriority, func(sp *sortSpec) string { return fmt.Sprint(sp.priority) }},
		{"start datetime", task.SortByStartDatetime, func(sp *sortSpec) string { return sp.start }},
		{"end datetime", task.SortByEndDatetime, func(sp *sortSpec) string { return sp.end }},
		{"due date", task.SortByDueDate, func(sp *sortSpec) string { return sp.due }},
		{"created at", task.SortByCreatedAt, func(sp *sortSpec) string { return sp.created }},
		{"updated at", task.SortByUpdatedAt, func(sp *sortSpec) string { return sp.created }},
	}
	for _, f := range fields {
		for _, order := range []task.SortOrder{task.Asc, task.Desc} {
			dir := "ascending"
			if order == task.Desc {
				dir = "descending"
			}
			t.Run("sort by "+f.name+" "+dir+" breaks ties by id in the same direction", func(t *testing.T) {
				want := slices.Clone(specs)
				slices.SortFunc(want, func(a, b *sortSpec) int {
					ka, kb := f.key(a), f.key(b)
					if ka == "" && kb != "" { // nulls last, in both directions
						return 1
					}
					if kb == "" && ka != "" {
						return -1
					}
					cmp := strings.Compare(ka, kb)
					if cmp == 0 {
						cmp = a.id - b.id
					}
					if order == task.Desc {
						cmp = -cmp
					}
					return cmp
				})
				wantIDs := make([]int, 0, len(want))
				for _, sp := range want {
					wantIDs = append(wantIDs, sp.id)
				}
				page := MustList(t, ctx, s, task.ListParams{SortBy: Ptr(f.field), SortOrder: Ptr(order), PageSize: Ptr(100)})
				if got := IDs(page.Items); !slices.Equal(got, wantIDs) {
					t.Errorf("ids = %v, want %v", got, wantIDs)
				}
			})
		}
	}

	t.Run("tasks without an end come last in both directions", func(t *testing.T) {
		for _, order := range []task.SortOrder{task.Asc, task.Desc} {
			page := MustList(t, ctx, s, task.ListParams{SortBy: Ptr(task.SortByEndDatetime), SortOrder: Ptr(order), PageSize: Ptr(100)})
			seenNull := false
			for _, it := range page.Items {
				if it.EndDatetime == nil {
					seenNull = true
				} else if seenNull {
					t.Errorf("order %d: task %d with an end comes after a task without one", order, it.ID)
				}
			}
			if n := len(page.Items); n == 0 || page.Items[n-1].EndDatetime != nil {
				t.Errorf("order %d: the last task has an end, want tasks without an end last", order)
			}
		}
	})

	t.Run("no sort parameters list the newest task first", func(t *testing.T) {
		page := MustList(t, ctx, s, task.ListParams{PageSize: Ptr(100)})
		got := IDs(page.Items)
		if !slices.IsSortedFunc(got, func(a, b int) int { return b - a }) || len(got) != len(specs) {
			t.Errorf("ids = %v, want all %d ids in descending order", got, len(specs))
		}
	})
}

func titleSortIgnoresCase(t *testing.T, h Harness) {
	s, _, _ := h.New(t)
	ctx := OrgContext(t, s, "Acme")
	for _, title := range []string{"banana", "Cherry", "apple", "Apricot", "éclair"} {
		MustCreate(t, ctx, s, Simple(t, title))
	}
	page := MustList(t, ctx, s, task.ListParams{SortBy: Ptr(task.SortByTitle)})
	var got []string
	for _, it := range page.Items {
		got = append(got, it.Title)
	}
	wantTitles := []string{"apple", "Apricot", "banana", "Cherry", "éclair"}
	if !slices.Equal(got, wantTitles) {
		t.Errorf("titles sorted ascending = %v, want %v", got, wantTitles)
	}
}

func pagingThroughTiesVisitsEveryTaskOnce(t *testing.T, h Harness) {
	s, _, _ := h.New(t)
	ctx := OrgContext(t, s, "Acme")
	const n = 23
	var all []int
	for range n {
		in := Simple(t, "same title")
		in.Status = Ptr(task.Status(1))
		in.Priority = Ptr(task.Priority(3))
		all = append(all, MustCreate(t, ctx, s, in).ID)
	}
	fields := []struct {
		name  string
		field task.SortField
	}{
		{"status", task.SortByStatus},
		{"title", task.SortByTitle},
		{"priority", task.SortByPriority},
		{"due date", task.SortByDueDate},
		{"created at", task.SortByCreatedAt},
		{"end datetime (all null)", task.SortByEndDatetime},
	}
	orders := map[task.SortOrder]string{task.Asc: "ascending", task.Desc: "descending"}
	for _, f := range fields {
		field := f.field
		for _, order := range []task.SortOrder{task.Asc, task.Desc} {
			for _, size := range []int{1, 4, 5, 10, 22, 23} {
				name := fmt.Sprintf("paging %d at a time through tasks tied on %s %s visits each once", size, f.name, orders[order])
				t.Run(name, func(t *testing.T) {
					var got []int
					pages := 0
					for idx := 0; ; idx++ {
						page := MustList(t, ctx, s, task.ListParams{SortBy: Ptr(field), SortOrder: Ptr(order),
							PageSize: Ptr(size), PageIndex: Ptr(idx)})
						if page.TotalRecords != n {
							t.Fatalf("page %d: TotalRecords = %d, want %d", idx, page.TotalRecords, n)
						}
						if len(page.Items) == 0 {
							break
						}
						pages++
						got = append(got, IDs(page.Items)...)
						if idx > n {
							t.Fatalf("more pages than tasks")
						}
					}
					want := slices.Clone(all)
					if order == task.Desc {
						slices.Reverse(want)
					}
					if !slices.Equal(got, want) {
						t.Errorf("ids visited = %v, want each of %v once, in id order", got, want)
					}
					if wantPages := (n + size - 1) / size; pages != wantPages {
						t.Errorf("visited %d pages, want %d", pages, wantPages)
					}
				})
			}
		}
	}
}

func pageSizeIsCappedAt100(t *testing.T, h Harness) {
	s, _, _ := h.New(t)
	ctx := OrgContext(t, s, "Acme")
	const n = 105
	for i := range n {
		MustCreate(t, ctx, s, Simple(t, fmt.Sprintf("task %03d", i)))
	}
	page := MustList(t, ctx, s, task.ListParams{PageSize: Ptr(150)})
	if page.PageSize != 100 {
		t.Errorf("PageSize = %d, want 100", page.PageSize)
	}
	if len(page.Items) != 100 {
		t.Errorf("len(Items) = %d, want 100", len(page.Items))
	}
	if page.TotalRecords != n || page.TotalPages() != 2 {
		t.Errorf("TotalRecords, TotalPages = %d, %d; want %d, 2", page.TotalRecords, page.TotalPages(), n)
	}
	second := MustList(t, ctx, s, task.ListParams{PageSize: Ptr(150), PageIndex: Ptr(1)})
	if len(second.Items) != n-100 {
		t.Errorf("second capped page has %d items, want %d", len(second.Items), n-100)
	}

	def := MustList(t, ctx, s, task.ListParams{})
	if def.PageSize != 10 || len(def.Items) != 10 || def.PageIndex != 0 {
		t.Errorf("default page: PageSize %d, %d items, PageIndex %d; want 10, 10, 0", def.PageSize, len(def.Items), def.PageIndex)
	}
}

func pagesPastTheEnd(t *testing.T, h Harness) {
	s, _, _ := h.New(t)
	ctx := OrgContext(t, s, "Acme")
	for i := range 12 {
		MustCreate(t, ctx, s, Simple(t, fmt.Sprintf("task %d", i)))
	}
	tests := []struct {
		name      string
		size, idx int
	}{
		{"the page just past the end is empty", 10, 2},
		{"a page far past the end is empty", 10, 1000},
		{"a huge page index is empty, not an error", 10, math.MaxInt / 2},
		{"a huge page index with the largest page is empty", 100, math.MaxInt / 2},
		{"the largest page index is empty", 100, math.MaxInt},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			page, err := s.ListTasks(ctx, task.ListParams{PageSize: Ptr(tt.size), PageIndex: Ptr(tt.idx)})
			if err != nil {
				t.Fatalf("ListTasks: %v", err)
			}
			if page.Items == nil || len(page.Items) != 0 {
				t.Errorf("Items = %#v, want an empty non-nil slice", page.Items)
			}
			if page.TotalRecords != 12 {
				t.Errorf("TotalRecords = %d, want 12", page.TotalRecords)
			}
			if want := (12 + tt.size - 1) / tt.size; page.TotalPages() != want {
				t.Errorf("TotalPages() = %d, want %d", page.TotalPages(), want)
			}
			if page.PageIndex != tt.idx {
				t.Errorf("PageIndex = %d, want %d", page.PageIndex, tt.idx)
			}
		})
	}

	t.Run("the last partial page holds the remainder", func(t *testing.T) {
		page := MustList(t, ctx, s, task.ListParams{PageSize: Ptr(10), PageIndex: Ptr(1)})
		if len(page.Items) != 2 || page.CurrentPage() != 2 {
			t.Errorf("len(Items), CurrentPage = %d, %d; want 2, 2", len(page.Items), page.CurrentPage())
		}
	})
}

func anEmptyStoreListsNothing(t *testing.T, h Harness) {
	s, _, _ := h.New(t)
	ctx := OrgContext(t, s, "Acme")
	page := MustList(t, ctx, s, task.ListParams{})
	if page.Items == nil || len(page.Items) != 0 || page.TotalRecords != 0 || page.TotalPages() != 0 || page.CurrentPage() != 1 {
		t.Errorf("empty list = %+v (pages %d, current %d); want no items, 0 records, 0 pages, page 1",
			page, page.TotalPages(), page.CurrentPage())
	}
}
