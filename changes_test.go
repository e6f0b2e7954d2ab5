package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"tasksapi/storetest"
)

// restTask creates a task through REST and returns its id.
func restTask(t *testing.T, srv *testServer, body string) int {
	t.Helper()
	res, raw := do(t, http.MethodPost, srv.URL+"/v1/tasks", "application/json", body, auth(srv.creds)...)
	var out struct {
		Data struct {
			ActivityID int `json:"activity_id"`
		}
	}
	if err := json.Unmarshal(raw, &out); err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("create: %d %s", res.StatusCode, raw)
	}
	return out.Data.ActivityID
}

// TestRESTAndGraphQLAgreeOnChangesAndDeletes changes two identical tasks,
// one through each interface, with the same change: they must end alike,
// or be refused on the same fields, and delete and conflict alike.
func TestRESTAndGraphQLAgreeOnChangesAndDeletes(t *testing.T) {
	storetest.Each(t, func(t *testing.T, h storetest.Harness) {
		srv := startServer(t, h.NewDatabase(t))
		const base = `{"title":"Renewal","start_datetime":"2026-07-15T10:00:00","end_datetime":"2026-07-16T10:00:00",
		"description":"d","deal_id":3,"cstid":4,"priority":3,"status":1,"assigned_user_id":9,"tags":[2,1]}`
		changes := []struct {
			name   string
			rest   string
			gql    map[string]any
			fields []string // REST names of refused fields, sorted; nil when valid
		}{
			{"a title and a priority", `{"title":" Renewed ","priority":0}`,
				map[string]any{"title": " Renewed ", "priority": "NONE"}, nil},
			{"completing", `{"status":2}`, map[string]any{"status": "COMPLETED"}, nil},
			{"nulls clear the optional fields", `{"end_datetime":null,"description":null,"deal_id":null,"assigned_user_id":null,"tags":null}`,
				map[string]any{"endDatetime": nil, "description": nil, "dealId": nil, "assignedUserId": nil, "tagIds": nil}, nil},
			{"new tags, de-duplicated", `{"tags":[5,5,6]}`, map[string]any{"tagIds": []int{5, 5, 6}}, nil},
			{"a new end moves the due date", `{"end_datetime":"2026-08-01T09:00:00"}`,
				map[string]any{"endDatetime": "2026-08-01T09:00:00"}, nil},
			{"the values it has change nothing", `{"title":"Renewal","priority":3}`,
				map[string]any{"title": "Renewal", "priority": "HIGH"}, nil},
			{"nothing at all changes nothing", `{}`, map[string]any{}, nil},
			{"null for a required field", `{"title":null,"status":null}`,
				map[string]any{"title": nil, "status": nil}, []string{"status", "title"}},
			{"an end before the stored start", `{"end_datetime":"2026-07-14T10:00:00"}`,
				map[string]any{"endDatetime": "2026-07-14T10:00:00"}, []string{"end_datetime"}},
			{"a start after the stored end", `{"start_datetime":"2026-07-17T10:00:00"}`,
				map[string]any{"startDatetime": "2026-07-17T10:00:00"}, []string{"start_datetime"}},
			{"neither deal nor contact left", `{"deal_id":null,"cstid":null}`,
				map[string]any{"dealId": nil, "contactId": nil}, []string{"cstid", "deal_id"}},
			{"a 151-character title", fmt.Sprintf(`{"title":%q}`, strings.Repeat("x", 151)),
				map[string]any{"title": strings.Repeat("x", 151)}, []string{"title"}},
		}
		for _, c := range changes {
			t.Run(c.name, func(t *testing.T) {
				a, b := restTask(t, srv, base), restTask(t, srv, base)
				_, raw := do(t, http.MethodPatch, fmt.Sprintf("%s/v1/tasks/%d", srv.URL, a), "application/json", c.rest, auth(srv.creds)...)
				var restRes struct {
					Data   map[string]any
					Errors map[string][]string
				}
				json.Unmarshal(raw, &restRes)
				data, errs := gql(t, srv, `mutation($id: ID!, $in: UpdateTaskInput!) { updateTask(id: $id, input: $in) { `+taskFields+` } }`,
					map[string]any{"id": strconv.Itoa(b), "in": c.gql})
				if c.fields == nil {
					if len(errs) > 0 || restRes.Data == nil {
						t.Fatalf("REST %s; GraphQL errors %v", raw, errs)
					}
					// Both completed their task, each at its own moment.
					g := restOf(data["updateTask"].(map[string]any))
					storedAlike(t, restRes.Data, g, "completed_at")
					if (restRes.Data["completed_at"] == nil) != (g["completed_at"] == nil) {
						t.Errorf("completed_at: REST %v, GraphQL %v", restRes.Data["completed_at"], g["completed_at"])
					}
					return
				}
				refusedAlike(t, restRes.Errors, errs, c.fields)
			})
		}

		t.Run("a conflicting version names the same current version", func(t *testing.T) {
			a, b := restTask(t, srv, base), restTask(t, srv, base)
			res, _ := do(t, http.MethodPatch, fmt.Sprintf("%s/v1/tasks/%d", srv.URL, a), "application/json", `{"title":"x"}`,
				append(auth(srv.creds), "If-Match", `"7"`)...)
			_, errs := gql(t, srv, `mutation($id: ID!) { updateTask(id: $id, input: {title: "x"}, expectedVersion: 7) { id } }`,
				map[string]any{"id": strconv.Itoa(b)})
			if res.StatusCode != http.StatusPreconditionFailed || res.Header.Get("ETag") != `"1"` {
				t.Errorf("REST answered %d with ETag %s, want 412 with \"1\"", res.StatusCode, res.Header.Get("ETag"))
			}
			if len(errs) != 1 || errs[0]["extensions"].(map[string]any)["code"] != "VERSION_CONFLICT" ||
				errs[0]["extensions"].(map[string]any)["currentVersion"] != float64(1) {
				t.Errorf("GraphQL answered %v, want VERSION_CONFLICT with currentVersion 1", errs)
			}
		})
		t.Run("a deleted task is gone from both, and a second delete is refused by both", func(t *testing.T) {
			a, b := restTask(t, srv, base), restTask(t, srv, base)
			res, raw := do(t, http.MethodDelete, fmt.Sprintf("%s/v1/tasks/%d", srv.URL, a), "", "", auth(srv.creds)...)
			if res.StatusCode != http.StatusOK {
				t.Fatalf("REST delete: %d %s", res.StatusCode, raw)
			}
			data, errs := gql(t, srv, `mutation($id: ID!) { deleteTask(id: $id) }`, map[string]any{"id": strconv.Itoa(b)})
			if len(errs) > 0 || data["deleteTask"] != strconv.Itoa(b) {
				t.Fatalf("GraphQL delete: %v %v", data, errs)
			}
			for _, id := range []int{a, b} {
				res, _ := do(t, http.MethodGet, fmt.Sprintf("%s/v1/tasks/%d", srv.URL, id), "", "", auth(srv.creds)...)
				data, _ := gql(t, srv, `query($id: ID!) { task(id: $id) { id } }`, map[string]any{"id": strconv.Itoa(id)})
				if res.StatusCode != http.StatusBadRequest || data["task"] != nil {
					t.Errorf("task %d after its delete: REST %d, GraphQL %v", id, res.StatusCode, data["task"])
				}
				res, _ = do(t, http.MethodDelete, fmt.Sprintf("%s/v1/tasks/%d", srv.URL, id), "", "", auth(srv.creds)...)
				_, errs := gql(t, srv, `mutation($id: ID!) { deleteTask(id: $id) }`, map[string]any{"id": strconv.Itoa(id)})
				if res.StatusCode != http.StatusBadRequest || len(errs) != 1 || errs[0]["extensions"].(map[string]any)["code"] != "NOT_FOUND" {
					t.Errorf("a second delete of %d: REST %d, GraphQL %v", id, res.StatusCode, errs)
				}
			}
		})
	})
}

// TestOfWritersRacingOnOneVersionExactlyOneWinsWhateverTheInterface has
// many clients read version 1 of a task and send a change conditional on
// it, half through REST (If-Match) and half through GraphQL
// (expectedVersion), all at once: exactly one may succeed, round after
// round.
func TestOfWritersRacingOnOneVersionExactlyOneWinsWhateverTheInterface(t *testing.T) {
	storetest.Each(t, func(t *testing.T, h storetest.Harness) {
		srv := startServer(t, h.NewDatabase(t))
		const writers, rounds = 16, 15
		for round := range rounds {
			id := restTask(t, srv, `{"title":"contended","start_datetime":"2026-07-15T10:00:00","deal_id":1}`)
			var wins atomic.Int32
			var winners []string
			var mu sync.Mutex
			start := make(chan struct{})
			var wg sync.WaitGroup
			for w := range writers {
				wg.Go(func() {
					<-start
					title := fmt.Sprintf("writer %d", w)
					won := false
					if w%2 == 0 {
						res, _ := do(t, http.MethodPatch, fmt.Sprintf("%s/v1/tasks/%d", srv.URL, id), "application/json",
							fmt.Sprintf(`{"title":%q}`, title), append(auth(srv.creds), "If-Match", `"1"`)...)
						won = res.StatusCode == http.StatusOK
						if !won && res.StatusCode != http.StatusPreconditionFailed {
							t.Errorf("REST writer %d: %d", w, res.StatusCode)
						}
					} else {
						_, errs := gql(t, srv, `mutation($id: ID!, $t: String!) { updateTask(id: $id, input: {title: $t}, expectedVersion: 1) { version } }`,
							map[string]any{"id": strconv.Itoa(id), "t": title})
						won = len(errs) == 0
						if !won && errs[0]["extensions"].(map[string]any)["code"] != "VERSION_CONFLICT" {
							t.Errorf("GraphQL writer %d: %v", w, errs)
						}
					}
					if won {
						wins.Add(1)
						mu.Lock()
						winners = append(winners, title)
						mu.Unlock()
					}
				})
			}
			close(start)
			wg.Wait()
			if wins.Load() != 1 {
				t.Fatalf("round %d: %d writers won (%v), want exactly one", round, wins.Load(), winners)
			}
			data, _ := gql(t, srv, `query($id: ID!) { task(id: $id) { title version } }`, map[string]any{"id": strconv.Itoa(id)})
			got := data["task"].(map[string]any)
			if got["version"] != float64(2) || !slices.Contains(winners, got["title"].(string)) {
				t.Fatalf("round %d: the task reads %v, want version 2 with the winner's title %v", round, got, winners)
			}
		}
	})
}

// graphQLNames are the GraphQL names of the REST fields the parity tests
// refuse.
var graphQLNames = map[string]string{"cstid": "contactId", "deal_id": "dealId", "assigned_user_id": "assignedUserId",
	"title": "title", "status": "status", "end_datetime": "endDatetime", "start_datetime": "startDatetime"}

// storedAlike checks that a task as REST answered it and the same task as
// GraphQL answered it (in its REST form) agree on every field but the
// server's own and skip.
func storedAlike(t *testing.T, rest, gql map[string]any, skip ...string) {
	t.Helper()
	for k, v := range rest {
		if k == "activity_id" || k == "created_at" || k == "updated_at" || slices.Contains(skip, k) {
			continue
		}
		if !reflect.DeepEqual(gql[k], v) {
			t.Errorf("%s: REST %#v, GraphQL %#v", k, v, gql[k])
		}
	}
}

// refusedAlike checks that REST refused exactly the fields want (REST
// names, sorted) and GraphQL the same fields under its own names, as one
// BAD_USER_INPUT error.
func refusedAlike(t *testing.T, restErrors map[string][]string, errs []map[string]any, want []string) {
	t.Helper()
	var restFields, gqlFields, wantGQL []string
	for f := range restErrors {
		restFields = append(restFields, f)
	}
	if len(errs) != 1 {
		t.Fatalf("GraphQL errors %v, want one", errs)
	}
	ext, _ := errs[0]["extensions"].(map[string]any)
	fields, _ := ext["fields"].(map[string]any)
	for f := range fields {
		gqlFields = append(gqlFields, f)
	}
	for _, f := range want {
		wantGQL = append(wantGQL, graphQLNames[f])
	}
	sort.Strings(restFields)
	sort.Strings(gqlFields)
	sort.Strings(wantGQL)
	if !reflect.DeepEqual(restFields, want) || !reflect.DeepEqual(gqlFields, wantGQL) || ext["code"] != "BAD_USER_INPUT" {
		t.Errorf("REST refused %v, GraphQL %v %v; want %v", restFields, ext["code"], gqlFields, want)
	}
}
