package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"path/filepath"
	"reflect"
	"runtime/debug"
	"strings"
	"sync"
	"testing"
	"time"

	"tasksapi/access"
	"tasksapi/sqlite"
	"tasksapi/store"
)

func TestConfigPrecedence(t *testing.T) {
	defaults := config{Addr: ":8080", DBPath: "tasks.db", CORSOrigins: []string{"*"},
		RateLimit: 50, MaxComplexity: 2500, MaxDepth: 15, Sync: sqlite.SyncFull, LogFormat: "text", LogLevel: slog.LevelInfo,
		IdempotencyTTL: 24 * time.Hour, ChangesRetention: 30 * 24 * time.Hour, MaxSubscriptions: 100}
	with := func(change func(*config)) config {
		c := defaults
		change(&c)
		return c
	}
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want config
	}{
		{"defaults serve :8080 from tasks.db to any origin", nil, nil, defaults},
		{"PORT means :PORT", nil, map[string]string{"PORT": "9000"},
			with(func(c *config) { c.Addr = ":9000" })},
		{"ADDR wins over PORT", nil, map[string]string{"PORT": "9000", "ADDR": "127.0.0.1:7000"},
			with(func(c *config) { c.Addr = "127.0.0.1:7000" })},
		{"environment variables set every option", nil,
			map[string]string{"ADDR": ":1", "DB_PATH": "/data/t.db", "CORS_ORIGINS": "https://a.example, https://b.example",
				"RATE_LIMIT": "2.5", "MAX_COMPLEXITY": "100", "MAX_DEPTH": "4", "SYNC": "normal",
				"IDEMPOTENCY_TTL": "1h", "CHANGES_RETENTION": "0", "MAX_SUBSCRIPTIONS": "5"},
			config{Addr: ":1", DBPath: "/data/t.db", CORSOrigins: []string{"https://a.example", "https://b.example"},
				RateLimit: 2.5, MaxComplexity: 100, MaxDepth: 4, Sync: sqlite.SyncNormal, LogFormat: "text", LogLevel: slog.LevelInfo,
				IdempotencyTTL: time.Hour, ChangesRetention: 0, MaxSubscriptions: 5}},
		{"flags win over environment variables",
			[]string{"--addr", ":2", "--db", "flag.db", "--cors-origins", "https://c.example",
				"--rate-limit", "0", "--max-complexity", "7", "--max-depth", "8", "--sync", "full",
				"--log-format", "json", "--log-level", "warn", "--idempotency-ttl", "2h", "--changes-retention", "48h",
				"--max-subscriptions", "7"},
			map[string]string{"ADDR": ":1", "PORT": "3", "DB_PATH": "env.db", "CORS_ORIGINS": "https://a.example",
				"RATE_LIMIT": "9", "MAX_COMPLEXITY": "9", "MAX_DEPTH": "9", "SYNC": "normal",
				"IDEMPOTENCY_TTL": "1h", "CHANGES_RETENTION": "1h", "MAX_SUBSCRIPTIONS": "5"},
			config{Addr: ":2", DBPath: "flag.db", CORSOrigins: []string{"https://c.example"},
				RateLimit: 0, MaxComplexity: 7, MaxDepth: 8, Sync: sqlite.SyncFull, LogFormat: "json", LogLevel: slog.LevelWarn,
				IdempotencyTTL: 2 * time.Hour, ChangesRetention: 48 * time.Hour, MaxSubscriptions: 7}},
		{"DATABASE_URL wins over DB_PATH", nil,
			map[string]string{"DB_PATH": "env.db", "DATABASE_URL": "postgres://db.example/tasks"},
			with(func(c *config) { c.DBPath = "postgres://db.example/tasks" })},
		{"--db wins over DATABASE_URL", []string{"--db", "flag.db"},
			map[string]string{"DATABASE_URL": "postgres://db.example/tasks"},
			with(func(c *config) { c.DBPath = "flag.db" })},
		{"single-dash flags work too", []string{"-addr=:4"}, nil,
			with(func(c *config) { c.Addr = ":4" })},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseConfig(tt.args, func(k string) string { return tt.env[k] }, io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("config = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestServingTunesTheGarbageCollectorUnlessTheEnvironmentDoes(t *testing.T) {
	// debug.Set* return the previous setting: set, read back, restore.
	gcPercent := func() int {
		p := debug.SetGCPercent(100)
		debug.SetGCPercent(p)
		return p
	}
	memoryLimit := func() int64 { return debug.SetMemoryLimit(-1) } // -1 reads only
	before, beforeLimit := gcPercent(), memoryLimit()
	t.Cleanup(func() {
		debug.SetGCPercent(before)
		debug.SetMemoryLimit(beforeLimit)
	})
	tests := []struct {
		name      string
		env       map[string]string
		wantGC    int
		wantLimit int64
	}{
		{"with neither variable set, the serving defaults apply", nil, serveGCPercent, serveMemoryLimit},
		{"GOGC in the environment is left to the runtime", map[string]string{"GOGC": "150"}, 100, serveMemoryLimit},
		{"GOMEMLIMIT in the environment is left to the runtime", map[string]string{"GOMEMLIMIT": "1GiB"},
			serveGCPercent, math.MaxInt64},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// What the runtime would have read from the environment at start.
			debug.SetGCPercent(100)
			debug.SetMemoryLimit(math.MaxInt64)
			tuneGC(func(name string) string { return tt.env[name] })
			if got := gcPercent(); got != tt.wantGC {
				t.Errorf("GC percent = %d, want %d", got, tt.wantGC)
			}
			if got := memoryLimit(); got != tt.wantLimit {
				t.Errorf("memory limit = %d, want %d", got, tt.wantLimit)
			}
		})
	}
}

func TestBadSettingsAreRefused(t *testing.T) {
	tests := []struct {
		name string
		args []string
		env  map[string]string
	}{
		{"a word rate limit in the environment is refused", nil, map[string]string{"RATE_LIMIT": "fast"}},
		{"a negative rate limit is refused", []string{"--rate-limit", "-1"}, nil},
		{"a zero depth is refused", []string{"--max-depth", "0"}, nil},
		{"a zero complexity is refused", nil, map[string]string{"MAX_COMPLEXITY": "0"}},
		{"an unknown sync level is refused", []string{"--sync", "off"}, nil},
		{"an unknown log format is refused", []string{"--log-format", "xml"}, nil},
		{"an unknown log level is refused", nil, map[string]string{"LOG_LEVEL": "loud"}},
		{"a zero idempotency TTL is refused", []string{"--idempotency-ttl", "0"}, nil},
		{"an idempotency TTL without a unit is refused", nil, map[string]string{"IDEMPOTENCY_TTL": "24"}},
		{"a negative changes retention is refused", []string{"--changes-retention", "-1h"}, nil},
		{"zero subscriptions a key are refused", []string{"--max-subscriptions", "0"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := parseConfig(tt.args, func(k string) string { return tt.env[k] }, io.Discard); err == nil {
				t.Error("accepted, want an error")
			}
		})
	}
}

func TestCommandLineMistakesAreRefused(t *testing.T) {
	tests := []struct {
		name string
		args []string
	}{
		{"an unknown command is refused", []string{"migrate"}},
		{"an unknown flag is refused", []string{"serve", "--port", "80"}},
		{"a stray argument is refused", []string{"serve", "--db", "a.db", "extra"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := run(context.Background(), tt.args, func(string) string { return "" }, io.Discard, io.Discard)
			if err == nil {
				t.Error("run succeeded, want an error")
			}
		})
	}
}

func quietLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// testServer is a server started by startServer.
type testServer struct {
	URL    string
	dbPath string
	creds  access.Credentials // a key of the organisation "Acme"
	stop   func()             // stops the server and waits for it
}

// startServer runs serve on a free port over the database path names (a
// SQLite file or a PostgreSQL URL, as --db), after giving the database a
// key.
func startServer(t *testing.T, path string, origins ...string) *testServer {
	t.Helper()
	s, err := store.Open(context.Background(), path, sqlite.SyncNormal)
	if err != nil {
		t.Fatal(err)
	}
	creds, err := access.NewKey(context.Background(), s, "Acme", "tests")
	s.Close()
	if err != nil {
		t.Fatal(err)
	}
	if len(origins) == 0 {
		origins = []string{"*"}
	}
	cfg := testConfig(path)
	cfg.CORSOrigins = origins
	url, stop := runServer(t, cfg, io.Discard)
	return &testServer{URL: url, dbPath: path, creds: creds, stop: stop}
}

// runServer runs serve with cfg until the test ends or stop is called.
func runServer(t *testing.T, cfg config, stderr io.Writer) (url string, stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- serve(ctx, cfg, quietLog(), stderr, ready) }()
	select {
	case addr := <-ready:
		url = "http://" + addr
	case err := <-done:
		t.Fatalf("server did not start: %v", err)
	}
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("shutdown: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	return url, stop
}

// auth is the header pairs that carry creds.
func auth(creds access.Credentials) []string {
	return []string{access.AccessKeyHeader, creds.AccessKey, access.SecretKeyHeader, creds.SecretKey}
}

func do(t *testing.T, method, url, contentType, body string, header ...string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res, raw
}

// gql posts a GraphQL request and decodes the response.
func gql(t *testing.T, srv *testServer, query string, variables map[string]any) (data map[string]any, errs []map[string]any) {
	t.Helper()
	body, err := json.Marshal(map[string]any{"query": query, "variables": variables})
	if err != nil {
		t.Fatal(err)
	}
	_, raw := do(t, http.MethodPost, srv.URL+"/query", "application/json", string(body), auth(srv.creds)...)
	var out struct {
		Data   map[string]any   `json:"data"`
		Errors []map[string]any `json:"errors"`
	}
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("GraphQL response is not JSON: %v\n%s", err, raw)
	}
	return out.Data, out.Errors
}

func TestServerRoutes(t *testing.T) {
	srv := startServer(t, filepath.Join(t.TempDir(), "tasks.db"))
	tests := []struct {
		name, method, path, contentType, body string
		status                                int
		contains                              string
	}{
		{"the playground is served at the root", "GET", "/", "", "", 200, "/query"},
		{"the playground is GraphiQL", "GET", "/", "", "", 200, "graphiql"},
		{"GraphQL answers POST at /query", "POST", "/query", "application/json", `{"query":"{ tasks { totalRecords } }"}`, 200, `"totalRecords":0`},
		{"GraphQL answers POST at /graphql", "POST", "/graphql", "application/json", `{"query":"{ tasks { totalRecords } }"}`, 200, `"totalRecords":0`},
		{"GraphQL answers queries by GET", "GET", "/query?query=%7Btasks%7BtotalRecords%7D%7D", "", "", 200, `"totalRecords":0`},
		{"an unknown path is a JSON 404", "GET", "/nowhere", "", "", 404, `"success":false`},
		{"a POST to the playground is a JSON 405", "POST", "/", "application/json", "{}", 405, `"success":false`},
		{"the REST list is mounted", "GET", "/v1/tasks", "", "", 200, `"total_records":0`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, body := do(t, tt.method, srv.URL+tt.path, tt.contentType, tt.body, auth(srv.creds)...)
			if res.StatusCode != tt.status || !strings.Contains(strings.ToLower(string(body)), strings.ToLower(tt.contains)) {
				t.Errorf("got %d %.200s, want %d containing %q", res.StatusCode, body, tt.status, tt.contains)
			}
		})
	}
}

func TestGraphQLOverGETRefusesMutations(t *testing.T) {
	srv := startServer(t, filepath.Join(t.TempDir(), "tasks.db"))
	q := `mutation{createTask(input:{title:"t",startDatetime:"2026-01-01T00:00:00",dealId:1}){id}}`
	do(t, "GET", srv.URL+"/query?query="+strings.ReplaceAll(q, " ", "%20"), "", "", auth(srv.creds)...)
	if data, _ := gql(t, srv, "{ tasks { totalRecords } }", nil); data["tasks"].(map[string]any)["totalRecords"] != 0.0 {
		t.Errorf("a mutation sent by GET created a task")
	}
}

func TestCORS(t *testing.T) {
	tests := []struct {
		name, origin string
		allowed      []string
		wantOrigin   string
	}{
		{"any origin is allowed by default", "https://app.example", []string{"*"}, "*"},
		{"a listed origin is allowed", "https://app.example", []string{"https://app.example"}, "https://app.example"},
		{"an unlisted origin is not allowed", "https://evil.example", []string{"https://app.example"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := startServer(t, filepath.Join(t.TempDir(), "tasks.db"), tt.allowed...)
			res, _ := do(t, http.MethodOptions, srv.URL+"/v1/tasks", "", "",
				"Origin", tt.origin, "Access-Control-Request-Method", "POST",
				"Access-Control-Request-Headers", "content-type, x-ysuite-access-key, x-ysuite-secret-key")
			if got := res.Header.Get("Access-Control-Allow-Origin"); got != tt.wantOrigin {
				t.Errorf("Access-Control-Allow-Origin = %q, want %q", got, tt.wantOrigin)
			}
			if tt.wantOrigin == "" {
				return
			}
			allowed := strings.ToLower(res.Header.Get("Access-Control-Allow-Headers"))
			for _, h := range []string{"content-type", "x-ysuite-access-key", "x-ysuite-secret-key"} {
				if !strings.Contains(allowed, h) {
					t.Errorf("preflight does not allow header %s (got %q)", h, allowed)
				}
			}
			if res.Header.Get("Access-Control-Allow-Credentials") != "" {
				t.Error("credentials are allowed, want not")
			}
		})
	}
}

func TestARestartKeepsTheData(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tasks.db")
	srv := startServer(t, path)
	res, body := do(t, "POST", srv.URL+"/v1/tasks", "application/json",
		`{"title":"Survive a restart","start_datetime":"2026-07-15T10:00:00","cstid":10,"tags":[3,1]}`, auth(srv.creds)...)
	if res.StatusCode != 200 {
		t.Fatalf("create: %d %s", res.StatusCode, body)
	}
	var created struct{ Data map[string]any }
	json.Unmarshal(body, &created)
	srv.stop()

	url, _ := runServer(t, testConfig(path), io.Discard)
	res, body = do(t, "GET", fmt.Sprintf("%s/v1/tasks/%v", url, created.Data["activity_id"]), "", "", auth(srv.creds)...)
	var got struct{ Data map[string]any }
	json.Unmarshal(body, &got)
	if res.StatusCode != 200 || !reflect.DeepEqual(got.Data, created.Data) {
		t.Errorf("after a restart got %d %v, want %v", res.StatusCode, got.Data, created.Data)
	}
}

func TestConcurrentCreatesAllSucceed(t *testing.T) {
	srv := startServer(t, filepath.Join(t.TempDir(), "tasks.db"))
	const n = 60
	ids := make(chan float64, n)
	failures := make(chan string, n)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			body := fmt.Sprintf(`{"title":"task %d","start_datetime":"2026-07-15T10:00:00","deal_id":%d}`, i, i+1)
			req, _ := http.NewRequest(http.MethodPost, srv.URL+"/v1/tasks", bytes.NewBufferString(body))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set(access.AccessKeyHeader, srv.creds.AccessKey)
			req.Header.Set(access.SecretKeyHeader, srv.creds.SecretKey)
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				failures <- err.Error()
				return
			}
			defer res.Body.Close()
			var out struct {
				Data struct {
					ActivityID float64 `json:"activity_id"`
				}
			}
			raw, _ := io.ReadAll(res.Body)
			if res.StatusCode != 200 || json.Unmarshal(raw, &out) != nil {
				failures <- fmt.Sprintf("%d %s", res.StatusCode, raw)
				return
			}
			ids <- out.Data.ActivityID
		}(i)
	}
	wg.Wait()
	close(ids)
	close(failures)
	for f := range failures {
		t.Errorf("a create failed: %s", f)
	}
	seen := map[float64]bool{}
	for id := range ids {
		if seen[id] {
			t.Errorf("id %v given twice", id)
		}
		seen[id] = true
	}
	if len(seen) != n {
		t.Errorf("%d distinct ids, want %d", len(seen), n)
	}
}

// restOf renames a GraphQL task to its REST form, so the two can be compared.
func restOf(g map[string]any) map[string]any {
	statuses := []string{"OPEN", "IN_PROGRESS", "COMPLETED", "CANCELLED", "NO_SHOW"}
	priorities := []string{"NONE", "LOW", "MEDIUM", "HIGH", "URGENT"}
	index := func(names []string, v any) float64 {
		for i, n := range names {
			if n == v {
				return float64(i)
			}
		}
		return -1
	}
	return map[string]any{
		"activity_id": g["activityId"], "title": g["title"], "activity_type": g["activityType"],
		"status": index(statuses, g["status"]), "priority": index(priorities, g["priority"]),
		"start_datetime": g["startDatetime"], "end_datetime": g["endDatetime"], "due_date": g["dueDate"],
		"description": g["description"], "deal_id": g["dealId"], "cstid": g["contactId"],
		"assigned_user_id": g["assignedUserId"], "tags": g["tagIds"],
		"created_at": g["createdAt"], "updated_at": g["updatedAt"], "completed_at": g["completedAt"],
		"version": g["version"],
	}
}

const taskFields = `activityId title activityType status priority startDatetime endDatetime dueDate
	description dealId contactId assignedUserId tagIds createdAt updatedAt completedAt version`

// TestRESTAndGraphQLAgree sends the same input to both interfaces: they
// must store the same tasks, refuse the same fields, and list the same
// tasks for the same query.
func TestRESTAndGraphQLAgree(t *testing.T) {
	srv := startServer(t, filepath.Join(t.TempDir(), "tasks.db"))
	creates := []struct {
		name   string
		rest   string
		gql    map[string]any
		fields []string // REST names of refused fields, sorted; nil when valid
	}{
		{"a full task", `{"title":" Renewal call ","start_datetime":"2026-07-15T10:00:00","end_datetime":"2026-07-16T10:00:00","description":"d","deal_id":3,"cstid":4,"priority":4,"status":1,"assigned_user_id":9,"tags":[2,2,1]}`,
			map[string]any{"title": " Renewal call ", "startDatetime": "2026-07-15T10:00:00", "endDatetime": "2026-07-16T10:00:00", "description": "d", "dealId": 3, "contactId": 4, "priority": "URGENT", "status": "IN_PROGRESS", "assignedUserId": 9, "tagIds": []int{2, 2, 1}}, nil},
		{"a minimal task", `{"title":"Minimal","start_datetime":"2026-01-02T03:04:05","cstid":1}`,
			map[string]any{"title": "Minimal", "startDatetime": "2026-01-02T03:04:05", "contactId": 1}, nil},
		{"explicit nulls take defaults", `{"title":"Nulls","start_datetime":"2026-01-02T03:04:05","deal_id":1,"priority":null,"status":null,"tags":null}`,
			map[string]any{"title": "Nulls", "startDatetime": "2026-01-02T03:04:05", "dealId": 1, "priority": nil, "status": nil, "tagIds": nil}, nil},
		{"neither deal nor contact", `{"title":"t","start_datetime":"2026-01-02T03:04:05"}`,
			map[string]any{"title": "t", "startDatetime": "2026-01-02T03:04:05"}, []string{"cstid", "deal_id"}},
		{"a blank title and a bad assignee", `{"title":" ","start_datetime":"2026-01-02T03:04:05","deal_id":1,"assigned_user_id":-1}`,
			map[string]any{"title": " ", "startDatetime": "2026-01-02T03:04:05", "dealId": 1, "assignedUserId": -1}, []string{"assigned_user_id", "title"}},
		{"an end before the start", `{"title":"t","start_datetime":"2026-01-02T03:04:05","end_datetime":"2026-01-01T03:04:05","deal_id":1}`,
			map[string]any{"title": "t", "startDatetime": "2026-01-02T03:04:05", "endDatetime": "2026-01-01T03:04:05", "dealId": 1}, []string{"end_datetime"}},
		{"a zoned start", `{"title":"t","start_datetime":"2026-01-02T03:04:05Z","deal_id":1}`,
			map[string]any{"title": "t", "startDatetime": "2026-01-02T03:04:05Z", "dealId": 1}, []string{"start_datetime"}},
	}
	for _, c := range creates {
		t.Run(c.name, func(t *testing.T) {
			_, raw := do(t, "POST", srv.URL+"/v1/tasks", "application/json", c.rest, auth(srv.creds)...)
			var restRes struct {
				Data   map[string]any
				Errors map[string][]string
			}
			json.Unmarshal(raw, &restRes)
			data, errs := gql(t, srv,
				`mutation($in: CreateTaskInput!) { createTask(input: $in) { `+taskFields+` } }`, map[string]any{"in": c.gql})

			if c.fields == nil {
				if len(errs) > 0 || restRes.Data == nil {
					t.Fatalf("REST %s; GraphQL errors %v", raw, errs)
				}
				storedAlike(t, restRes.Data, restOf(data["createTask"].(map[string]any)))
				return
			}
			refusedAlike(t, restRes.Errors, errs, c.fields)
		})
	}

	lists := []struct {
		name, rest, gqlArgs string
	}{
		{"the default list", "", ""},
		{"a search", "search=RENEW", `filter: {search: "RENEW"}`},
		{"a status filter", "status=0", `filter: {status: OPEN}`},
		{"a priority filter with a sort", "priority=2&sortBy=title&sortOrder=desc", `filter: {priority: MEDIUM}, sortBy: TITLE, sortOrder: DESC`},
		{"an assignee filter", "assigned_user_id=9", `filter: {assignedUserId: 9}`},
		{"a due date range", "due_date_from=2026-01-02&due_date_to=2026-07-16", `filter: {dueDateFrom: "2026-01-02", dueDateTo: "2026-07-16"}`},
		{"a sort by end, nulls last", "sortBy=end_datetime&sortOrder=desc", `sortBy: END_DATETIME, sortOrder: DESC`},
		{"a second page", "pageSize=2&pageIndex=1&sortBy=due_date", `pageSize: 2, pageIndex: 1, sortBy: DUE_DATE`},
	}
	for _, l := range lists {
		t.Run(l.name, func(t *testing.T) {
			_, raw := do(t, "GET", srv.URL+"/v1/tasks?"+l.rest, "", "", auth(srv.creds)...)
			var restRes struct {
				Data struct{ Data []map[string]any }
			}
			json.Unmarshal(raw, &restRes)
			args := ""
			if l.gqlArgs != "" {
				args = "(" + l.gqlArgs + ")"
			}
			data, errs := gql(t, srv, `{ tasks`+args+` { items { `+taskFields+` } } }`, nil)
			if len(errs) > 0 {
				t.Fatalf("GraphQL errors %v", errs)
			}
			var fromGQL []map[string]any
			for _, item := range data["tasks"].(map[string]any)["items"].([]any) {
				fromGQL = append(fromGQL, restOf(item.(map[string]any)))
			}
			if len(restRes.Data.Data) == 0 {
				t.Fatalf("REST listed nothing for %q, so the case compares nothing", l.rest)
			}
			if !reflect.DeepEqual(fromGQL, restRes.Data.Data) {
				t.Errorf("REST listed %v\nGraphQL listed %v", restRes.Data.Data, fromGQL)
			}
		})
	}
}
