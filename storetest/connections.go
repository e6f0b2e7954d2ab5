package storetest

import (
	"context"
	"encoding/base64"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"tasksapi/store"
	"tasksapi/task"
)

var connectionTests = []test{
	{"ConnectionPagesVisitTheListInOrder", connectionPagesVisitTheListInOrder},
	{"APageAfterTheLastTaskIsEmptyAndStillCountsEveryTask", aPageAfterTheLastTaskIsEmptyAndStillCountsEveryTask},
	{"ConnectionDefaultsToNewestFirst", connectionDefaultsToNewestFirst},
	{"ConnectionSkipTotalLeavesTotalCountAtZero", connectionSkipTotalLeavesTotalCountAtZero},
	{"ConnectionFirstIsCheckedAndCapped", connectionFirstIsCheckedAndCapped},
	{"ConnectionRefusesCursorsItDidNotIssue", connectionRefusesCursorsItDidNotIssue},
	{"ACursorOutlivesARestart", aCursorOutlivesARestart},
	{"ConnectionPagesFollowPositionsNotOffsets", connectionPagesFollowPositionsNotOffsets},
}

var connSortFields = []struct {
	name  string
	field task.SortField
}{
	{"id", task.SortByID},
	{"title", task.SortByTitle},
	{"status", task.SortByStatus},
	{"priority", task.SortByPriority},
	{"start date-time", task.SortByStartDatetime},
	{"end date-time", task.SortByEndDatetime},
	{"due date", task.SortByDueDate},
	{"created at", task.SortByCreatedAt},
	{"updated at", task.SortByUpdatedAt},
}

var connOrders = []struct {
	name  string
	order task.SortOrder
}{{"ascending", task.Asc}, {"descending", task.Desc}}

// connFixture creates 20 tasks with many ties on every sort key: titles
// that differ only in case, three statuses, priorities and start times,
// two end date-times and a quarter without one, assignees on every other
// task, and creation times shared by three tasks at a time.
func connFixture(t *testing.T, ctx context.Context, s store.Store, c *Clock) []int {
	t.Helper()
	titles := []string{"alpha", "Alpha", "beta", "BETA", "ALPHA"}
	starts := []string{"2026-03-01T09:00:00", "2026-03-02T09:00:00", "2026-03-01T09:00:00"}
	ends := []string{"2026-03-05T10:00:00", "2026-03-06T10:00:00"}
	var out []int
	for i := range 20 {
		in := task.CreateInput{
			Title:         titles[i%len(titles)],
			StartDatetime: DT(t, starts[i%len(starts)]),
			ContactID:     Ptr(1),
			Status:        Ptr(task.Status(i % 3)),
			Priority:      Ptr(task.Priority((i / 4) % 3)),
		}
		if i%4 != 0 {
			in.EndDatetime = Ptr(DT(t, ends[i%2]))
		}
		if i%2 == 0 {
			in.AssignedUserID = Ptr(1)
		}
		if i%3 == 0 {
			c.Advance(time.Minute)
		}
		out = append(out, MustCreate(t, ctx, s, in).ID)
	}
	return out
}

func mustConnect(t *testing.T, ctx context.Context, s store.Store, p task.ConnectionParams) task.Connection {
	t.Helper()
	conn, err := s.TaskConnection(ctx, p)
	if err != nil {
		t.Fatalf("TaskConnection: %v", err)
	}
	return conn
}

// walkConnection follows endCursor from the first page until hasNextPage
// is false, checking each page on the way, and returns the ids visited.
func walkConnection(t *testing.T, ctx context.Context, s store.Store, p task.ConnectionParams, wantTotal int) []int {
	t.Helper()
	first := *p.First
	var visited []int
	for page := 0; ; page++ {
		if page > wantTotal+1 {
			t.Fatalf("more pages than tasks: hasNextPage never became false")
		}
		conn := mustConnect(t, ctx, s, p)
		info := conn.PageInfo()
		if got := len(conn.Edges); got > first || (got == 0 && wantTotal > 0) {
			t.Fatalf("page %d has %d edges, want 1 to %d", page, got, first)
		}
		if conn.TotalCount != wantTotal {
			t.Errorf("page %d: TotalCount = %d, want %d", page, conn.TotalCount, wantTotal)
		}
		if info.HasPreviousPage != (page > 0) {
			t.Errorf("page %d: HasPreviousPage = %v, want %v", page, info.HasPreviousPage, page > 0)
		}
		if len(conn.Edges) > 0 {
			if info.StartCursor == nil || *info.StartCursor != conn.Edges[0].Cursor {
				t.Errorf("page %d: StartCursor = %v, want the first edge's cursor", page, info.StartCursor)
			}
			if info.EndCursor == nil || *info.EndCursor != conn.Edges[len(conn.Edges)-1].Cursor {
				t.Errorf("page %d: EndCursor = %v, want the last edge's cursor", page, info.EndCursor)
			}
		}
		for _, e := range conn.Edges {
			visited = append(visited, e.Node.ID)
		}
		if info.HasNextPage != (len(visited) < wantTotal) {
			t.Errorf("page %d: HasNextPage = %v after %d of %d tasks", page, info.HasNextPage, len(visited), wantTotal)
		}
		if info.HasNextPage && len(conn.Edges) != first {
			t.Errorf("page %d has %d edges and a next page, want a full page of %d", page, len(conn.Edges), first)
		}
		if !info.HasNextPage {
			return visited
		}
		p.After = info.EndCursor
	}
}

func connectionPagesVisitTheListInOrder(t *testing.T, h Harness) {
	s, c, _ := h.New(t)
	ctx := OrgContext(t, s, "Acme")
	connFixture(t, ctx, s, c)
	// Another organisation's tasks interleave with these and must never
	// show.
	connFixture(t, OrgContext(t, s, "Globex"), s, c)
	filters := []struct {
		name   string
		filter task.Filter
	}{
		{"no filter", task.Filter{}},
		{"an assignee", task.Filter{AssignedUserID: Ptr(1)}},
		{"a search", task.Filter{Search: Ptr("ALPHA")}},
		{"a status and a priority", task.Filter{Status: Ptr(task.StatusOpen), Priority: Ptr(task.PriorityNone)}},
	}
	for _, f := range filters {
		for _, sf := range connSortFields {
			for _, o := range connOrders {
				name := fmt.Sprintf("three at a time by %s %s with %s", sf.name, o.name, f.name)
				t.Run(name, func(t *testing.T) {
					list := MustList(t, ctx, s, task.ListParams{Filter: f.filter, PageSize: Ptr(100),
						SortBy: Ptr(sf.field), SortOrder: Ptr(o.order)})
					if list.TotalRecords < 3 {
						t.Fatalf("the list has %d tasks; the case proves little", list.TotalRecords)
					}
					got := walkConnection(t, ctx, s, task.ConnectionParams{Filter: f.filter, First: Ptr(3),
						SortBy: Ptr(sf.field), SortOrder: Ptr(o.order)}, list.TotalRecords)
					if want := IDs(list.Items); !slices.Equal(got, want) {
						t.Errorf("the connection visits %v,\nthe list is %v", got, want)
					}
				})
			}
		}
	}
}

func aPageAfterTheLastTaskIsEmptyAndStillCountsEveryTask(t *testing.T, h Harness) {
	s, c, _ := h.New(t)
	ctx := OrgContext(t, s, "Acme")
	all := connFixture(t, ctx, s, c)
	last := mustConnect(t, ctx, s, task.ConnectionParams{First: Ptr(len(all))})
	if last.HasNextPage {
		t.Fatalf("a page of all %d tasks has a next page", len(all))
	}
	after := mustConnect(t, ctx, s, task.ConnectionParams{First: Ptr(5), After: last.PageInfo().EndCursor})
	if len(after.Edges) != 0 || after.HasNextPage {
		t.Errorf("after the last task: %d edges, HasNextPage %v; want none and false", len(after.Edges), after.HasNextPage)
	}
	if after.TotalCount != len(all) {
		t.Errorf("after the last task: TotalCount = %d, want %d", after.TotalCount, len(all))
	}
}

func connectionDefaultsToNewestFirst(t *testing.T, h Harness) {
	s, c, _ := h.New(t)
	ctx := OrgContext(t, s, "Acme")
	all := connFixture(t, ctx, s, c)
	conn := mustConnect(t, ctx, s, task.ConnectionParams{})
	want := slices.Clone(all)
	slices.Reverse(want)
	if got := connIDs(conn); !slices.Equal(got, want[:task.DefaultPageSize]) {
		t.Errorf("a connection without arguments lists %v, want the %d newest %v", got, task.DefaultPageSize, want[:task.DefaultPageSize])
	}
	if !conn.HasNextPage || conn.TotalCount != len(all) {
		t.Errorf("HasNextPage = %v, TotalCount = %d; want true, %d", conn.HasNextPage, conn.TotalCount, len(all))
	}
}

func connIDs(conn task.Connection) []int {
	out := []int{}
	for _, e := range conn.Edges {
		out = append(out, e.Node.ID)
	}
	return out
}

func connectionSkipTotalLeavesTotalCountAtZero(t *testing.T, h Harness) {
	s, c, _ := h.New(t)
	ctx := OrgContext(t, s, "Acme")
	all := connFixture(t, ctx, s, c)
	for _, f := range []task.Filter{{}, {Search: Ptr("beta")}, {Status: Ptr(task.StatusOpen)}} {
		conn := mustConnect(t, ctx, s, task.ConnectionParams{Filter: f, First: Ptr(2), SkipTotal: true})
		if conn.TotalCount != 0 {
			t.Errorf("filter %+v: TotalCount = %d with SkipTotal, want 0", f, conn.TotalCount)
		}
		if len(conn.Edges) != 2 || !conn.HasNextPage {
			t.Errorf("filter %+v: SkipTotal page has %d edges, HasNextPage %v; want 2, true", f, len(conn.Edges), conn.HasNextPage)
		}
	}
	conn := mustConnect(t, ctx, s, task.ConnectionParams{First: Ptr(2)})
	if conn.TotalCount != len(all) {
		t.Errorf("TotalCount = %d without SkipTotal, want %d", conn.TotalCount, len(all))
	}
}

func connectionFirstIsCheckedAndCapped(t *testing.T, h Harness) {
	s, _, _ := h.New(t)
	ctx := OrgContext(t, s, "Acme")
	err := s.ImportTasks(ctx, OrgID(t, ctx), 150, func(i int) (task.CreateInput, time.Time) {
		return Simple(t, fmt.Sprintf("task %03d", i)), BaseTime
	})
	if err != nil {
		t.Fatalf("ImportTasks: %v", err)
	}
	for _, first := range []int{0, -1, -500} {
		t.Run(fmt.Sprintf("first %d is invalid on first", first), func(t *testing.T) {
			_, err := s.TaskConnection(ctx, task.ConnectionParams{First: Ptr(first)})
			e := WantCode(t, err, task.CodeInvalid)
			if got := fieldsOf(e); !slices.Equal(got, []string{"first"}) {
				t.Errorf("offending fields = %v, want [first]", got)
			}
		})
	}
	for _, tc := range []struct{ first, want int }{{1, 1}, {100, 100}, {101, 100}, {500, 100}} {
		t.Run(fmt.Sprintf("first %d is served as %d", tc.first, tc.want), func(t *testing.T) {
			conn := mustConnect(t, ctx, s, task.ConnectionParams{First: Ptr(tc.first)})
			if len(conn.Edges) != tc.want || !conn.HasNextPage {
				t.Errorf("first %d gave %d edges, HasNextPage %v; want %d, true", tc.first, len(conn.Edges), conn.HasNextPage, tc.want)
			}
		})
	}
}

// flip changes the character at i to another character of the base64url
// alphabet, so that the decoded bytes change.
func flip(s string, i int) string {
	c := byte('A')
	if s[i] == 'A' {
		c = 'B'
	}
	return s[:i] + string(c) + s[i+1:]
}

func connectionRefusesCursorsItDidNotIssue(t *testing.T, h Harness) {
	s, c, _ := h.New(t)
	ctx := OrgContext(t, s, "Acme")
	connFixture(t, ctx, s, c)
	byTitle := task.ConnectionParams{First: Ptr(3), SortBy: Ptr(task.SortByTitle)}
	cursor := *mustConnect(t, ctx, s, byTitle).PageInfo().EndCursor
	body, sig, ok := strings.Cut(cursor, ".")
	if !ok {
		t.Fatalf("cursor %q has no '.' between body and signature", cursor)
	}
	forged, err := base64.RawURLEncoding.DecodeString(body)
	if err != nil {
		t.Fatalf("the cursor body is not base64url: %v", err)
	}
	forgedBody := base64.RawURLEncoding.EncodeToString([]byte(strings.Replace(string(forged), `"i":`, `"i":9`, 1)))

	other, _, _ := h.New(t)
	otherCtx := OrgContext(t, other, "Acme")
	connFixture(t, otherCtx, other, NewClock())
	foreign := *mustConnect(t, otherCtx, other, byTitle).PageInfo().EndCursor

	tests := []struct {
		name   string
		after  string
		params task.ConnectionParams
		store  store.Store
	}{
		{"a cursor with a flipped character in its body", flip(body, len(body)/2) + "." + sig, byTitle, s},
		{"a cursor with a flipped character in its signature", body + "." + flip(sig, len(sig)/2), byTitle, s},
		{"a cursor whose body was changed and re-encoded", forgedBody + "." + sig, byTitle, s},
		{"a cursor missing its last characters", cursor[:len(cursor)-3], byTitle, s},
		{"a cursor cut in half", cursor[:len(cursor)/2], byTitle, s},
		{"a cursor without its signature", body + ".", byTitle, s},
		{"a cursor made for another sort field", cursor, task.ConnectionParams{SortBy: Ptr(task.SortByStatus)}, s},
		{"a cursor made for the other direction", cursor,
			task.ConnectionParams{SortBy: Ptr(task.SortByTitle), SortOrder: Ptr(task.Desc)}, s},
		{"a cursor made for another sort used without a sort", cursor, task.ConnectionParams{}, s},
		{"a cursor from another database", foreign, byTitle, s},
		{"garbage", "garbage", byTitle, s},
		{"an empty cursor", "", byTitle, s},
		{"a lone dot", ".", byTitle, s},
		{"two dots", "a.b.c", byTitle, s},
		{"characters outside base64url", "!!!.???", byTitle, s},
		{"unsigned JSON", base64.RawURLEncoding.EncodeToString([]byte(`{"s":1,"o":0,"k":"alpha","i":1}`)), byTitle, s},
	}
	for _, tc := range tests {
		t.Run(tc.name+" is invalid on after", func(t *testing.T) {
			p := tc.params
			p.After = Ptr(tc.after)
			_, err := tc.store.TaskConnection(ctx, p)
			e := WantCode(t, err, task.CodeInvalid)
			if got := fieldsOf(e); !slices.Equal(got, []string{"after"}) {
				t.Errorf("offending fields = %v, want [after]", got)
			}
		})
	}
	t.Run("the untouched cursor is accepted", func(t *testing.T) {
		p := byTitle
		p.After = &cursor
		if _, err := s.TaskConnection(ctx, p); err != nil {
			t.Errorf("TaskConnection with the cursor as issued: %v", err)
		}
	})
	t.Run("the foreign cursor is accepted where it was issued", func(t *testing.T) {
		p := byTitle
		p.After = &foreign
		if _, err := other.TaskConnection(otherCtx, p); err != nil {
			t.Errorf("TaskConnection with the cursor as issued: %v", err)
		}
	})
}

func aCursorOutlivesARestart(t *testing.T, h Harness) {
	s, c, name := h.New(t)
	ctx := OrgContext(t, s, "Acme")
	connFixture(t, ctx, s, c)
	params := task.ConnectionParams{First: Ptr(7), SortBy: Ptr(task.SortByEndDatetime), SortOrder: Ptr(task.Desc)}
	list := MustList(t, ctx, s, task.ListParams{PageSize: Ptr(100), SortBy: params.SortBy, SortOrder: params.SortOrder})
	first := mustConnect(t, ctx, s, params)
	MustClose(t, s)

	reopened := h.Open(t, name, nil)
	params.After = first.PageInfo().EndCursor
	params.First = Ptr(100)
	rest, err := reopened.TaskConnection(ctx, params)
	if err != nil {
		t.Fatalf("TaskConnection after a restart: %v", err)
	}
	if got, want := append(connIDs(first), connIDs(rest)...), IDs(list.Items); !slices.Equal(got, want) {
		t.Errorf("before and after the restart the connection visits %v, want %v", got, want)
	}
}

func connectionPagesFollowPositionsNotOffsets(t *testing.T, h Harness) {
	s, c, _ := h.New(t)
	for _, tc := range []struct {
		name   string
		params task.ConnectionParams
		before string // a title created after the first page that sorts before its cursor
		after  string // and one that sorts after it
	}{
		{"by title", task.ConnectionParams{SortBy: Ptr(task.SortByTitle)}, "aaa early", "zzz late"},
		{"by title descending", task.ConnectionParams{SortBy: Ptr(task.SortByTitle), SortOrder: Ptr(task.Desc)}, "zzz late", "aaa early"},
		{"by id", task.ConnectionParams{SortBy: Ptr(task.SortByID)}, "", "new task"},
		{"newest first", task.ConnectionParams{}, "new task", ""},
	} {
		t.Run("a task created after the cursor was issued shows when it sorts after it, "+tc.name, func(t *testing.T) {
			ctx := OrgContext(t, s, tc.name) // an organisation of its own
			all := connFixture(t, ctx, s, c)
			p := tc.params
			p.First = Ptr(3)
			page := mustConnect(t, ctx, s, p)
			visited := connIDs(page)

			var beforeID, afterID int
			if tc.before != "" {
				beforeID = MustCreate(t, ctx, s, Simple(t, tc.before)).ID
			}
			if tc.after != "" {
				afterID = MustCreate(t, ctx, s, Simple(t, tc.after)).ID
			}
			for page.HasNextPage {
				p.After = page.PageInfo().EndCursor
				page = mustConnect(t, ctx, s, p)
				visited = append(visited, connIDs(page)...)
				if len(visited) > len(all)+2 {
					t.Fatalf("visited more tasks than exist: %v", visited)
				}
			}
			want := slices.Clone(all)
			if afterID != 0 {
				want = append(want, afterID)
			}
			got := slices.Clone(visited)
			slices.Sort(got)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("visited %v (sorted), want each old task once and the one sorting after the cursor (%d), not the one before (%d): %v",
					got, afterID, beforeID, want)
			}
		})
	}
}
