package rest_test

import (
	"context"
	"encoding/json"
	"net/http"
	"reflect"
	"strconv"
	"testing"

	"tasksapi/access"
)

func TestRequestsWithoutValidKeysAreRefused(t *testing.T) {
	srv := newServer(t, nil)
	revoked := srv.keyFor(t, "Acme")
	if err := srv.store.RevokeKey(context.Background(), revoked.AccessKey); err != nil {
		t.Fatal(err)
	}
	other := srv.keyFor(t, "Globex")
	id := srv.seed(t, valid)[0]
	credentials := []struct {
		name  string
		creds access.Credentials
	}{
		{"no key", access.Credentials{}},
		{"a wrong secret", access.Credentials{AccessKey: srv.creds.AccessKey, SecretKey: "sk_wrong"}},
		{"another key's secret", access.Credentials{AccessKey: srv.creds.AccessKey, SecretKey: other.SecretKey}},
		{"an unknown access key", access.Credentials{AccessKey: "ak_unknown", SecretKey: srv.creds.SecretKey}},
		{"a revoked key", revoked},
	}
	requests := []struct{ method, path, body string }{
		{http.MethodGet, "/v1/tasks", ""},
		{http.MethodGet, "/v1/tasks/" + strconv.Itoa(id), ""},
		{http.MethodPost, "/v1/tasks", valid},
	}
	for _, c := range credentials {
		for _, req := range requests {
			t.Run(c.name+" is refused on "+req.method+" "+req.path, func(t *testing.T) {
				r := srv.sendAs(t, c.creds, req.method, req.path, "application/json", req.body)
				if r.Status != http.StatusUnauthorized || r.Success || r.Message != "Invalid API credentials." || r.Data != nil {
					t.Errorf("got %d %v %q %s, want 401 Invalid API credentials.", r.Status, r.Success, r.Message, r.Data)
				}
			})
		}
	}
	if d := srv.list(t, "/v1/tasks"); d.TotalRecords != 1 {
		t.Errorf("refused creates stored tasks: %d in all, want 1", d.TotalRecords)
	}
}

func TestOrganisationsSeeOnlyTheirOwnTasks(t *testing.T) {
	srv := newServer(t, nil)
	globex := srv.keyFor(t, "Globex")
	acmeTask := srv.seed(t, valid)[0]
	r := srv.sendAs(t, globex, http.MethodPost, "/v1/tasks", "application/json", valid)
	var created struct {
		ID int `json:"activity_id"`
	}
	if err := json.Unmarshal(r.Data, &created); err != nil || r.Status != http.StatusOK {
		t.Fatalf("Globex create: %d %s", r.Status, r.Data)
	}

	missing := srv.sendAs(t, globex, http.MethodGet, "/v1/tasks/999999", "", "")
	tests := []struct {
		name string
		got  response
		want response
	}{
		{"another organisation's task looks exactly like a missing one",
			srv.sendAs(t, globex, http.MethodGet, "/v1/tasks/"+strconv.Itoa(acmeTask), "", ""), missing},
		{"and the other way round",
			srv.get(t, "/v1/tasks/"+strconv.Itoa(created.ID)), missing},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.got.Status != http.StatusBadRequest || tt.got.Message != "Task not found" ||
				tt.got.Status != tt.want.Status || tt.got.Message != tt.want.Message || tt.got.Data != nil {
				t.Errorf("got %d %q, want the missing task's %d %q", tt.got.Status, tt.got.Message, tt.want.Status, tt.want.Message)
			}
		})
	}
	t.Run("each list and count holds only the organisation's tasks", func(t *testing.T) {
		acme := srv.list(t, "/v1/tasks")
		g := decodeList(t, "/v1/tasks", srv.sendAs(t, globex, http.MethodGet, "/v1/tasks", "", ""))
		if got := idsOf(acme); !reflect.DeepEqual(got, []int{acmeTask}) || acme.TotalRecords != 1 {
			t.Errorf("Acme lists %v (%d), want [%d] (1)", got, acme.TotalRecords, acmeTask)
		}
		if got := idsOf(g); !reflect.DeepEqual(got, []int{created.ID}) || g.TotalRecords != 1 {
			t.Errorf("Globex lists %v (%d), want [%d] (1)", got, g.TotalRecords, created.ID)
		}
	})
}

func TestServerSetFieldsCannotBeAssigned(t *testing.T) {
	srv := newServer(t, nil)
	globex := srv.keyFor(t, "Globex")
	acmeTask := srv.seed(t, valid)[0]
	body := `{"title":"t","start_datetime":"2026-07-15T10:00:00","cstid":1,"activity_id":` + strconv.Itoa(acmeTask) +
		`,"organisation_id":1,"organisation":"Acme","created_at":"2000-01-01T00:00:00","updated_at":"2000-01-01T00:00:00","activity_type":"Event","due_date":"1999-01-01"}`
	r := srv.sendAs(t, globex, http.MethodPost, "/v1/tasks", "application/json", body)
	var got map[string]any
	if err := json.Unmarshal(r.Data, &got); err != nil || r.Status != http.StatusOK {
		t.Fatalf("create: %d %s", r.Status, r.Data)
	}
	if got["activity_id"] == float64(acmeTask) || got["created_at"] == "2000-01-01T00:00:00" ||
		got["updated_at"] == "2000-01-01T00:00:00" || got["activity_type"] != "Task" || got["due_date"] != "2026-07-15" {
		t.Errorf("a server-set field was taken from the client: %v", got)
	}
	if d := srv.list(t, "/v1/tasks"); d.TotalRecords != 1 {
		t.Errorf("the task landed in the organisation the body named: Acme holds %d tasks, want 1", d.TotalRecords)
	}
	if original := srv.get(t, "/v1/tasks/"+strconv.Itoa(acmeTask)); original.Status != http.StatusOK {
		t.Errorf("the task whose id was sent is gone: %d", original.Status)
	}
}

func TestEachKeyHasItsOwnRateLimit(t *testing.T) {
	srv := newServerWithLimit(t, nil, 1) // 1 a second, bursts of 2
	other := srv.keyFor(t, "Globex")
	for i := 0; i < 2; i++ {
		if r := srv.get(t, "/v1/tasks"); r.Status != http.StatusOK || r.Header.Get("X-RateLimit-Limit") != "1" {
			t.Fatalf("request %d within the burst: %d, limit header %q", i+1, r.Status, r.Header.Get("X-RateLimit-Limit"))
		}
	}
	r := srv.get(t, "/v1/tasks")
	if r.Status != http.StatusTooManyRequests || r.Success || r.Message == "" {
		t.Errorf("over the limit: %d %q, want 429 with a message", r.Status, r.Message)
	}
	if r.Header.Get("Retry-After") == "" || r.Header.Get("X-RateLimit-Remaining") != "0" {
		t.Errorf("Retry-After %q, X-RateLimit-Remaining %q; want a wait and 0",
			r.Header.Get("Retry-After"), r.Header.Get("X-RateLimit-Remaining"))
	}
	if r := srv.sendAs(t, other, http.MethodGet, "/v1/tasks", "", ""); r.Status != http.StatusOK {
		t.Errorf("another organisation's key was slowed: %d", r.Status)
	}
}

func TestAnotherOrganisationsTaskCannotBeChangedOrDeleted(t *testing.T) {
	srv := newServer(t, nil)
	globex := srv.keyFor(t, "Globex")
	acmeTask := srv.seed(t, valid)[0]
	before := srv.read(t, acmeTask)
	tests := []struct {
		name         string
		method, body string
		header       []string
	}{
		{"a change is a 400 Task not found, as for a missing task", http.MethodPatch, `{"title":"Mine now"}`, nil},
		{"a conditional change is the same 400, not a 412", http.MethodPatch, `{"title":"Mine now"}`, []string{"If-Match", `"7"`}},
		{"a delete is a 400 Task not found, as for a missing task", http.MethodDelete, "", nil},
		{"a delete on any version is the same 400", http.MethodDelete, "", []string{"If-Match", "*"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := srv.sendAs(t, globex, tt.method, "/v1/tasks/"+strconv.Itoa(acmeTask), "application/json", tt.body, tt.header...)
			missing := srv.sendAs(t, globex, tt.method, "/v1/tasks/999999", "application/json", tt.body, tt.header...)
			if got.Status != http.StatusBadRequest || got.Message != "Task not found" || string(got.Raw) != string(missing.Raw) {
				t.Errorf("got %d %s, want the missing task's %d %s", got.Status, got.Raw, missing.Status, missing.Raw)
			}
			if got.Header.Get("ETag") != "" {
				t.Errorf("the answer tells the task's version: ETag %q", got.Header.Get("ETag"))
			}
		})
	}
	if after := srv.read(t, acmeTask); !reflect.DeepEqual(after, before) {
		t.Errorf("another organisation changed the task:\n%v, was\n%v", after, before)
	}
}
