package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"tasksapi/access"
)

// TestOWASPAPIRisksAreClosed walks the OWASP API Security Top 10 risks
// that apply to this server, each as requests against the real server.
func TestOWASPAPIRisksAreClosed(t *testing.T) {
	srv := startServer(t, filepath.Join(t.TempDir(), "tasks.db"))
	other := keyFor(t, srv, "Globex")
	_, body := do(t, "POST", srv.URL+"/v1/tasks", "application/json",
		`{"title":"Acme secret plan","start_datetime":"2026-07-15T10:00:00","cstid":1}`, auth(srv.creds)...)
	var acme struct{ Data map[string]any }
	if err := json.Unmarshal(body, &acme); err != nil {
		t.Fatal(err)
	}
	acmeID := fmt.Sprint(acme.Data["activity_id"])
	none := access.Credentials{}
	aliases := strings.Repeat(`a: tasks(pageSize: 100) { items { id title description } } `, 50)

	tests := []struct {
		risk, name                string
		creds                     access.Credentials
		method, path, contentType string
		body                      string
		status                    int
		mustNot                   string // text the response must not contain
	}{
		{"API1 object level authorization", "another organisation's task is not found over REST",
			other, "GET", "/v1/tasks/" + acmeID, "", "", http.StatusBadRequest, "secret plan"},
		{"API1 object level authorization", "another organisation's task is null over GraphQL",
			other, "POST", "/query", "application/json", `{"query":"{ task(id: \"` + acmeID + `\") { title } }"}`, http.StatusOK, "secret plan"},
		{"API1 object level authorization", "another organisation's tasks are not listed or searched",
			other, "GET", "/v1/tasks?search=secret", "", "", http.StatusOK, "secret plan"},
		{"API2 broken authentication", "a request without a key is refused",
			none, "GET", "/v1/tasks", "", "", http.StatusUnauthorized, "secret plan"},
		{"API2 broken authentication", "a right access key with a wrong secret is refused",
			access.Credentials{AccessKey: srv.creds.AccessKey, SecretKey: other.SecretKey}, "GET", "/v1/tasks", "", "", http.StatusUnauthorized, "secret plan"},
		{"API2 broken authentication", "GraphQL introspection that also reads tasks without a key is refused",
			none, "POST", "/graphql", "application/json", `{"query":"{ __schema { types { name } } tasks { items { title } } }"}`, http.StatusUnauthorized, "secret plan"},
		{"API3 property level authorization", "a client cannot choose the organisation, id or timestamps",
			other, "POST", "/v1/tasks", "application/json",
			`{"title":"t","start_datetime":"2026-07-15T10:00:00","cstid":1,"organisation_id":1,"activity_id":` + acmeID + `,"created_at":"2000-01-01T00:00:00"}`,
			http.StatusOK, "2000-01-01"},
		{"API3 property level authorization", "GraphQL input has no server-set fields",
			srv.creds, "POST", "/query", "application/json",
			`{"query":"mutation { createTask(input: {title: \"t\", startDatetime: \"2026-07-15T10:00:00\", dealId: 1, createdAt: \"2000-01-01T00:00:00\"}) { id } }"}`,
			http.StatusOK, "2000-01-01T00:00:00\"}"},
		{"API4 unrestricted resource consumption", "a page is at most 100 tasks",
			srv.creds, "GET", "/v1/tasks?pageSize=100000", "", "", http.StatusOK, ""},
		{"API4 unrestricted resource consumption", "a body over 1 MiB is refused",
			srv.creds, "POST", "/v1/tasks", "application/json", `{"title":"` + strings.Repeat("x", 1<<20) + `"}`, http.StatusRequestEntityTooLarge, "xxxx"},
		{"API4 unrestricted resource consumption", "an alias flood is refused",
			srv.creds, "POST", "/query", "application/json", `{"query":"{ ` + aliases + `}"}`, http.StatusOK, `"items"`},
		{"API8 security misconfiguration", "a malformed GraphQL body is not echoed back",
			srv.creds, "POST", "/query", "application/json", `{"query":"<script>alert(1)</script>`, http.StatusBadRequest, "<script>"},
		{"API8 security misconfiguration", "a misspelled field gets no suggestion",
			srv.creds, "POST", "/query", "application/json", `{"query":"{ task(id: \"1\") { titl } }"}`, http.StatusOK, "Did you mean"},
	}
	for _, tt := range tests {
		t.Run(tt.risk+": "+tt.name, func(t *testing.T) {
			var header []string
			if tt.creds.AccessKey != "" {
				header = auth(tt.creds)
			}
			res, body := do(t, tt.method, srv.URL+tt.path, tt.contentType, tt.body, header...)
			if res.StatusCode != tt.status {
				t.Errorf("status %d (%.200s), want %d", res.StatusCode, body, tt.status)
			}
			if tt.mustNot != "" && strings.Contains(string(body), tt.mustNot) {
				t.Errorf("the response contains %q: %.300s", tt.mustNot, body)
			}
		})
	}
	t.Run("API4 unrestricted resource consumption: a page request is served at most 100 tasks", func(t *testing.T) {
		_, body := do(t, "POST", srv.URL+"/query", "application/json",
			`{"query":"{ tasks(pageSize: 100000) { pageSize } }"}`, auth(srv.creds)...)
		if !strings.Contains(string(body), `"pageSize":100`) {
			t.Errorf("got %s, want pageSize 100", body)
		}
	})
	t.Run("API3 property level authorization: the task the client named is untouched", func(t *testing.T) {
		res, body := do(t, "GET", srv.URL+"/v1/tasks/"+acmeID, "", "", auth(srv.creds)...)
		if res.StatusCode != http.StatusOK || !strings.Contains(string(body), "Acme secret plan") {
			t.Errorf("Acme's task changed: %d %s", res.StatusCode, body)
		}
	})
}

func keyFor(t *testing.T, srv *testServer, org string) access.Credentials {
	t.Helper()
	out, err := keys(t, "create", "--org", org, "--db", srv.dbPath)
	if err != nil {
		t.Fatal(err)
	}
	var creds access.Credentials
	if err := json.Unmarshal([]byte(out), &creds); err != nil {
		t.Fatal(err)
	}
	return creds
}
