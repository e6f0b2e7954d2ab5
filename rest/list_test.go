package rest_test

import (
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"sort"
	"testing"
)

func TestListPagination(t *testing.T) {
	srv := newServer(t, nil)
	var bodies []string
	for i := 0; i < 12; i++ {
		bodies = append(bodies, valid)
	}
	created := srv.seed(t, bodies...)
	newestFirst := make([]int, len(created))
	for i, id := range created {
		newestFirst[len(created)-1-i] = id
	}
	tests := []struct {
		name                      string
		query                     string
		ids                       []int
		currentPage, total, pages int
	}{
		{"the default page holds the ten newest tasks", "", newestFirst[:10], 1, 12, 2},
		{"the second page holds the rest", "?pageIndex=1", newestFirst[10:], 2, 12, 2},
		{"a page past the end is empty", "?pageIndex=7", []int{}, 8, 12, 2},
		{"the page size sets the number of pages", "?pageSize=5&pageIndex=2", newestFirst[10:], 3, 12, 3},
		{"a page size of one is allowed", "?pageSize=1", newestFirst[:1], 1, 12, 12},
		{"empty values mean the defaults", "?pageSize=&pageIndex=", newestFirst[:10], 1, 12, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := srv.list(t, "/v1/tasks"+tt.query)
			if got := idsOf(d); !reflect.DeepEqual(got, tt.ids) {
				t.Errorf("ids = %v, want %v", got, tt.ids)
			}
			if d.CurrentPage != tt.currentPage || d.TotalRecords != tt.total || d.TotalPages != tt.pages {
				t.Errorf("current_page %d, total_records %d, total_pages %d; want %d, %d, %d",
					d.CurrentPage, d.TotalRecords, d.TotalPages, tt.currentPage, tt.total, tt.pages)
			}
		})
	}
}

func TestListCapsThePageSizeAt100(t *testing.T) {
	srv := newServer(t, nil)
	bodies := make([]string, 101)
	for i := range bodies {
		bodies[i] = valid
	}
	srv.seed(t, bodies...)
	d := srv.list(t, "/v1/tasks?pageSize=1000")
	if len(d.Data) != 100 || d.TotalPages != 2 || d.TotalRecords != 101 {
		t.Errorf("got %d tasks, %d pages, %d records; want 100, 2, 101", len(d.Data), d.TotalPages, d.TotalRecords)
	}
}

func TestListFilters(t *testing.T) {
	srv := newServer(t, nil)
	ids := srv.seed(t,
		`{"title":"Call Sarah about 100% renewal","start_datetime":"2026-07-01T09:00:00","cstid":1,"status":1,"priority":3,"assigned_user_id":7}`,
		`{"title":"Send contract_v2","start_datetime":"2026-07-10T09:00:00","end_datetime":"2026-07-20T09:00:00","deal_id":2,"status":0,"priority":3}`,
		`{"title":"Été planning with SARAH","start_datetime":"2026-06-30T23:00:00","cstid":3,"status":1,"priority":1,"assigned_user_id":7}`,
		`{"title":"Quarterly review","start_datetime":"2026-08-01T09:00:00","deal_id":4,"status":2,"priority":0,"assigned_user_id":8}`,
	)
	callSarah, contract, ete, review := ids[0], ids[1], ids[2], ids[3]
	tests := []struct {
		name  string
		query url.Values
		want  []int
	}{
		{"search matches a substring of the title whatever its case", url.Values{"search": {"sarah"}}, []int{ete, callSarah}},
		{"search folds non-ASCII letters", url.Values{"search": {"été"}}, []int{ete}},
		{"search takes a percent sign literally", url.Values{"search": {"%"}}, []int{callSarah}},
		{"search takes an underscore literally", url.Values{"search": {"_"}}, []int{contract}},
		{"an empty search does not filter", url.Values{"search": {""}}, []int{review, ete, contract, callSarah}},
		{"status filters on the status number", url.Values{"status": {"1"}}, []int{ete, callSarah}},
		{"status 0 is a filter, not its absence", url.Values{"status": {"0"}}, []int{contract}},
		{"an empty status does not filter", url.Values{"status": {""}}, []int{review, ete, contract, callSarah}},
		{"priority filters on the priority number", url.Values{"priority": {"3"}}, []int{contract, callSarah}},
		{"assigned_user_id filters on the assignee", url.Values{"assigned_user_id": {"7"}}, []int{ete, callSarah}},
		{"due_date_from includes its own day", url.Values{"due_date_from": {"2026-07-01"}}, []int{review, contract, callSarah}},
		{"due_date_to includes its own day", url.Values{"due_date_to": {"2026-07-01"}}, []int{ete, callSarah}},
		{"the due date is the end's date when there is one", url.Values{"due_date_from": {"2026-07-15"}, "due_date_to": {"2026-07-20"}}, []int{contract}},
		{"a one-day range finds that day's tasks", url.Values{"due_date_from": {"2026-06-30"}, "due_date_to": {"2026-06-30"}}, []int{ete}},
		{"filters combine with and", url.Values{"status": {"1"}, "assigned_user_id": {"7"}, "search": {"call"}}, []int{callSarah}},
		{"unknown parameters are ignored", url.Values{"colour": {"red"}, "status": {"2"}}, []int{review}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := srv.list(t, "/v1/tasks?"+tt.query.Encode())
			if got := idsOf(d); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ids = %v, want %v", got, tt.want)
			}
			if d.TotalRecords != len(tt.want) {
				t.Errorf("total_records = %d, want %d", d.TotalRecords, len(tt.want))
			}
		})
	}
}

func TestListSorts(t *testing.T) {
	srv := newServer(t, nil)
	ids := srv.seed(t,
		`{"title":"bravo","start_datetime":"2026-03-01T00:00:00","end_datetime":"2026-03-05T00:00:00","cstid":1,"status":2,"priority":0}`,
		`{"title":"Alpha","start_datetime":"2026-01-01T00:00:00","cstid":1,"status":0,"priority":4}`,
		`{"title":"charlie","start_datetime":"2026-02-01T00:00:00","end_datetime":"2026-02-02T00:00:00","cstid":1,"status":1,"priority":2}`,
	)
	a, b, c := ids[0], ids[1], ids[2]
	tests := []struct {
		sortBy    string
		asc, desc []int
	}{
		{"activity_id", []int{a, b, c}, []int{c, b, a}},
		{"title", []int{b, a, c}, []int{c, a, b}},
		{"status", []int{b, c, a}, []int{a, c, b}},
		{"priority", []int{a, c, b}, []int{b, c, a}},
		{"start_datetime", []int{b, c, a}, []int{a, c, b}},
		{"end_datetime", []int{c, a, b}, []int{a, c, b}}, // no end: last both ways
		{"due_date", []int{b, c, a}, []int{a, c, b}},
		{"created_at", []int{a, b, c}, []int{c, b, a}}, // equal times tie-break by id
		{"updated_at", []int{a, b, c}, []int{c, b, a}},
	}
	for _, tt := range tests {
		for _, order := range []struct {
			param string
			want  []int
		}{{"", tt.asc}, {"asc", tt.asc}, {"desc", tt.desc}, {"DESC", tt.desc}, {"Asc", tt.asc}} {
			t.Run(fmt.Sprintf("sortBy %s sortOrder %q", tt.sortBy, order.param), func(t *testing.T) {
				q := url.Values{"sortBy": {tt.sortBy}}
				if order.param != "" {
					q.Set("sortOrder", order.param)
				}
				if got := idsOf(srv.list(t, "/v1/tasks?"+q.Encode())); !reflect.DeepEqual(got, order.want) {
					t.Errorf("ids = %v, want %v", got, order.want)
				}
			})
		}
	}
	t.Run("no sortBy lists the newest first", func(t *testing.T) {
		if got := idsOf(srv.list(t, "/v1/tasks")); !reflect.DeepEqual(got, []int{c, b, a}) {
			t.Errorf("ids = %v, want %v", got, []int{c, b, a})
		}
	})
	t.Run("sortOrder alone orders by id", func(t *testing.T) {
		if got := idsOf(srv.list(t, "/v1/tasks?sortOrder=asc")); !reflect.DeepEqual(got, []int{a, b, c}) {
			t.Errorf("ids = %v, want %v", got, []int{a, b, c})
		}
	})
}

func TestPagingThroughATiedSortVisitsEveryTaskOnce(t *testing.T) {
	srv := newServer(t, nil)
	bodies := make([]string, 7)
	for i := range bodies {
		bodies[i] = valid // every task ties on status
	}
	created := srv.seed(t, bodies...)
	for _, order := range []string{"asc", "desc"} {
		t.Run(order, func(t *testing.T) {
			var seen []int
			for page := 0; page < 3; page++ {
				d := srv.list(t, fmt.Sprintf("/v1/tasks?sortBy=status&sortOrder=%s&pageSize=3&pageIndex=%d", order, page))
				seen = append(seen, idsOf(d)...)
			}
			want := append([]int(nil), created...)
			if order == "desc" {
				sort.Sort(sort.Reverse(sort.IntSlice(want)))
			}
			if !reflect.DeepEqual(seen, want) {
				t.Errorf("pages gave %v, want %v", seen, want)
			}
		})
	}
}

func TestListRefusesBadParameters(t *testing.T) {
	tests := []struct {
		name, rawQuery, field string
	}{
		{"a word page size is refused", "pageSize=ten", "pageSize"},
		{"a zero page size is refused", "pageSize=0", "pageSize"},
		{"a negative page size is refused", "pageSize=-5", "pageSize"},
		{"a fractional page size is refused", "pageSize=2.5", "pageSize"},
		{"a negative page index is refused", "pageIndex=-1", "pageIndex"},
		{"a word page index is refused", "pageIndex=first", "pageIndex"},
		{"a status above 4 is refused", "status=5", "status"},
		{"a word status is refused", "status=open", "status"},
		{"a negative priority is refused", "priority=-1", "priority"},
		{"a zero assignee is refused", "assigned_user_id=0", "assigned_user_id"},
		{"a word assignee is refused", "assigned_user_id=me", "assigned_user_id"},
		{"an impossible due_date_from is refused", "due_date_from=2026-02-30", "due_date_from"},
		{"a due_date_to with a time is refused", "due_date_to=2026-02-01T00:00:00", "due_date_to"},
		{"a range that ends before it starts is refused", "due_date_from=2026-02-02&due_date_to=2026-02-01", "due_date_to"},
		{"an unknown sort field is refused", "sortBy=colour", "sortBy"},
		{"a sort field in the wrong case is refused", "sortBy=TITLE", "sortBy"},
		{"SQL in the sort field is refused", "sortBy=title%3BDROP%20TABLE%20tasks", "sortBy"},
		{"a sort field with a direction is refused", "sortBy=activity_id%20desc", "sortBy"},
		{"a column that is not offered is refused", "sortBy=title_fold", "sortBy"},
		{"an unknown sort order is refused", "sortOrder=up", "sortOrder"},
		{"a query string with a semicolon is refused", "status=1;priority=2", "query"},
		{"a query string with a bad escape is refused", "search=%zz", "query"},
	}
	srv := newServer(t, nil)
	srv.seed(t, valid)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := srv.get(t, "/v1/tasks?"+tt.rawQuery)
			if r.Status != http.StatusUnprocessableEntity || r.Success {
				t.Fatalf("status %d, want 422", r.Status)
			}
			if len(r.Errors[tt.field]) == 0 || r.Message != r.Errors[tt.field][0] {
				t.Errorf("errors %v, message %q: want the first error on %s", r.Errors, r.Message, tt.field)
			}
		})
	}
	if d := srv.list(t, "/v1/tasks"); d.TotalRecords != 1 {
		t.Errorf("after hostile queries the list holds %d tasks, want 1", d.TotalRecords)
	}
}
