package main

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"tasksapi/access"
	"tasksapi/graph"
	"tasksapi/internal/pgtest"
	"tasksapi/observe"
	"tasksapi/sqlite"
	"tasksapi/task"
)

func TestHealthAndReadiness(t *testing.T) {
	store, err := sqlite.Open(filepath.Join(t.TempDir(), "tasks.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	var down atomic.Bool
	log := quietLog()
	h := app{svc: store, guard: access.NewGuard(store, 0, log), limits: graph.DefaultLimits, corsOrigins: []string{"*"},
		log: log, metrics: observe.NewMetrics(store.Collectors()...),
		ready: func(ctx context.Context) error {
			if down.Load() {
				return errors.New("shutting down")
			}
			return store.Ready(ctx)
		}}.handler()
	get := func(path string) (int, string) {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		return rec.Code, rec.Body.String()
	}
	tests := []struct {
		name, path string
		down       bool
		status     int
		body       string
	}{
		{"the process answers /healthz without a key", "/healthz", false, 200, `{"status":"ok"}`},
		{"a migrated database is ready", "/readyz", false, 200, `{"status":"ok"}`},
		{"a server shutting down is not ready", "/readyz", true, 503, `{"status":"unavailable"}`},
		{"a server shutting down is still alive", "/healthz", true, 200, `{"status":"ok"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			down.Store(tt.down)
			if code, body := get(tt.path); code != tt.status || strings.TrimSpace(body) != tt.body {
				t.Errorf("GET %s = %d %s, want %d %s", tt.path, code, body, tt.status, tt.body)
			}
		})
	}
	t.Run("a database closed under the server is not ready", func(t *testing.T) {
		down.Store(false)
		store.Close()
		if code, _ := get("/readyz"); code != http.StatusServiceUnavailable {
			t.Errorf("GET /readyz = %d, want 503", code)
		}
	})
}

func TestMetricsCountRequestsByRoute(t *testing.T) {
	srv := startServer(t, filepath.Join(t.TempDir(), "tasks.db"))
	do(t, "GET", srv.URL+"/v1/tasks", "", "", auth(srv.creds)...)
	do(t, "GET", srv.URL+"/v1/tasks/12345", "", "", auth(srv.creds)...)
	do(t, "PATCH", srv.URL+"/v1/tasks/12345", "application/json", `{"status":2}`, auth(srv.creds)...)
	do(t, "DELETE", srv.URL+"/v1/tasks/12345", "", "", auth(srv.creds)...)
	do(t, "POST", srv.URL+"/query", "application/json", `{"query":"query Mine { tasks { totalRecords } }"}`, auth(srv.creds)...)
	res, body := do(t, "GET", srv.URL+"/metrics", "", "")
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics = %d", res.StatusCode)
	}
	for _, want := range []string{
		`tasks_http_requests_total{method="GET",route="GET /v1/tasks",status="200"} 1`,
		`tasks_http_requests_total{method="GET",route="GET /v1/tasks/{id}",status="400"} 1`,
		`tasks_http_requests_total{method="PATCH",route="PATCH /v1/tasks/{id}",status="400"} 1`,
		`tasks_http_requests_total{method="DELETE",route="DELETE /v1/tasks/{id}",status="400"} 1`,
		`tasks_http_request_duration_seconds_bucket{method="PATCH",route="PATCH /v1/tasks/{id}",le="+Inf"} 1`,
		`tasks_http_request_duration_seconds_bucket{method="GET",route="GET /v1/tasks",le="+Inf"} 1`,
		`tasks_graphql_operations_total{errors="false",operation="Mine"} 1`,
		`go_sql_max_open_connections{db_name="write"} 1`,
		`go_sql_max_open_connections{db_name="read"} 4`,
		`process_resident_memory_bytes`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

func TestNoClientCanGrowTheMetricsWithoutEnd(t *testing.T) {
	srv := startServer(t, filepath.Join(t.TempDir(), "tasks.db"))
	do(t, "BREW", srv.URL+"/v1/tasks", "", "")
	for i := range 205 {
		query := fmt.Sprintf(`{"query":"query Named%d { tasks { totalRecords } }"}`, i)
		do(t, "POST", srv.URL+"/query", "application/json", query, auth(srv.creds)...)
	}
	_, body := do(t, "GET", srv.URL+"/metrics", "", "")
	metrics := string(body)
	if strings.Contains(metrics, `method="BREW"`) || !strings.Contains(metrics, `method="OTHER"`) {
		t.Errorf("a made-up method is its own label, want it counted as OTHER")
	}
	names := regexp.MustCompile(`tasks_graphql_operations_total\{errors="false",operation="([^"]*)"\}`).
		FindAllStringSubmatch(metrics, -1)
	if len(names) != 201 || !strings.Contains(metrics, `operation="other"} 5`) {
		t.Errorf("205 operation names make %d operation labels, want the first 200 and other (5)", len(names))
	}
}

// lockedBuffer is a log destination safe for the server's goroutines.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func TestEachRequestIsLoggedOnceWithItsID(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tasks.db")
	srv := startServer(t, path) // makes the key
	srv.stop()
	var logs lockedBuffer
	ctx, cancel := context.WithCancel(context.Background())
	ready, done := make(chan string, 1), make(chan error, 1)
	go func() {
		done <- serve(ctx, testConfig(path), slog.New(slog.NewJSONHandler(&logs, nil)), io.Discard, ready)
	}()
	url := "http://" + <-ready
	defer func() { cancel(); <-done }()

	res, _ := do(t, "GET", url+"/v1/tasks", "", "", append(auth(srv.creds), "X-Request-ID", "trace-42")...)
	if got := res.Header.Get("X-Request-ID"); got != "trace-42" {
		t.Errorf("X-Request-ID echoed as %q, want trace-42", got)
	}
	do(t, "POST", url+"/query", "application/json", `{"query":"query Dashboard { tasks { totalRecords } }"}`, auth(srv.creds)...)
	res, _ = do(t, "GET", url+"/healthz", "", "", "X-Request-ID", "bad id with spaces")
	generated := res.Header.Get("X-Request-ID")
	if !regexp.MustCompile(`^[0-9a-f]{32}$`).MatchString(generated) {
		t.Errorf("an unusable X-Request-ID was replaced by %q, want 32 hex digits", generated)
	}

	out := logs.String()
	for _, want := range []string{
		`"msg":"request","request_id":"trace-42","method":"GET","route":"GET /v1/tasks","status":200`,
		`"organisation":1`,
		`"route":"/query","status":200`,
		`"operation":"Dashboard"`,
		`"request_id":"` + generated + `"`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the log lacks %s:\n%s", want, out)
		}
	}
	if n := strings.Count(out, `"request_id":"trace-42"`); n != 1 {
		t.Errorf("the request is logged %d times, want once", n)
	}
	for _, secret := range []string{srv.creds.SecretKey, srv.creds.SecretKey[3:], "bad id with spaces"} {
		if strings.Contains(out, secret) {
			t.Errorf("the log holds %q", secret)
		}
	}
}

func TestCommandsForOperators(t *testing.T) {
	tests := []struct {
		name  string
		args  []string
		wants []string
	}{
		{"version prints the version", []string{"version"}, []string{"server dev (go"}},
		{"help lists every command", []string{"help"}, []string{"serve", "keys", "seed", "backup", "version"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			if err := run(context.Background(), tt.args, func(string) string { return "" }, &out, io.Discard); err != nil {
				t.Fatal(err)
			}
			for _, want := range tt.wants {
				if !strings.Contains(out.String(), want) {
					t.Errorf("output lacks %q:\n%s", want, out.String())
				}
			}
		})
	}
	t.Run("serve --help lists every flag with its environment variable and default", func(t *testing.T) {
		var out bytes.Buffer
		run(context.Background(), []string{"serve", "--help"}, func(string) string { return "" }, io.Discard, &out)
		for _, pair := range envFlags {
			if !strings.Contains(out.String(), "-"+pair[0]) || !strings.Contains(out.String(), "env "+pair[1]) {
				t.Errorf("help lacks --%s or env %s:\n%s", pair[0], pair[1], out.String())
			}
		}
		for _, def := range []string{`(default ":8080")`, `(default "tasks.db")`, "(default 50)", `(default "full")`} {
			if !strings.Contains(out.String(), def) {
				t.Errorf("help lacks %s", def)
			}
		}
	})
}

func TestTheSchemaIsServedAsSDL(t *testing.T) {
	srv := startServer(t, filepath.Join(t.TempDir(), "tasks.db"))
	want, err := os.ReadFile("schema.graphqls")
	if err != nil {
		t.Fatal(err)
	}
	res, body := do(t, "GET", srv.URL+"/schema.graphql", "", "")
	if res.StatusCode != http.StatusOK || !bytes.Equal(body, want) {
		t.Errorf("GET /schema.graphql = %d, %d bytes; want 200 and schema.graphqls", res.StatusCode, len(body))
	}
}

func TestABackupOfALiveDatabaseIsConsistent(t *testing.T) {
	dir := t.TempDir()
	path, out := filepath.Join(dir, "tasks.db"), filepath.Join(dir, "backup.db")
	store, err := sqlite.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	creds, err := access.NewKey(context.Background(), store, "Acme", "backup")
	if err != nil {
		t.Fatal(err)
	}
	ctx := access.WithPrincipal(context.Background(), access.Principal{OrganisationID: creds.OrganisationID})
	start, _ := task.ParseDateTime("2026-07-15T10:00:00")
	var written atomic.Int64
	stop := make(chan struct{})
	writing := make(chan struct{})
	go func() {
		defer close(writing)
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			if _, err := store.CreateTask(ctx, task.CreateInput{Title: fmt.Sprint("task ", i), StartDatetime: start, DealID: &[]int{1}[0]}); err != nil {
				t.Error(err)
				return
			}
			written.Add(1)
		}
	}()
	for written.Load() < 50 {
		time.Sleep(time.Millisecond)
	}
	var stdout bytes.Buffer
	err = run(context.Background(), []string{"backup", "--db", path, out}, func(string) string { return "" }, &stdout, io.Discard)
	close(stop)
	<-writing
	if err != nil {
		t.Fatal(err)
	}

	copy, err := sql.Open("sqlite3", out)
	if err != nil {
		t.Fatal(err)
	}
	defer copy.Close()
	var check string
	var n int64
	if err := copy.QueryRow("PRAGMA integrity_check").Scan(&check); err != nil || check != "ok" {
		t.Errorf("integrity_check of the backup = %q, %v", check, err)
	}
	if err := copy.QueryRow("SELECT count(*) FROM tasks").Scan(&n); err != nil || n < 50 || n > written.Load() {
		t.Errorf("the backup holds %d tasks (%v), want between 50 and %d", n, err, written.Load())
	}
	if err := run(context.Background(), []string{"backup", "--db", path, out}, func(string) string { return "" }, io.Discard, io.Discard); err == nil {
		t.Error("a second backup over the first succeeded, want a refusal")
	}
}

func TestBackupOfAPostgreSQLDatabaseSaysToUsePgDumpAndCopiesNothing(t *testing.T) {
	url := pgtest.URL(t)
	out := filepath.Join(t.TempDir(), "backup.db")
	getenv := func(name string) string {
		if name == "DATABASE_URL" {
			return url
		}
		return ""
	}
	err := run(context.Background(), []string{"backup", out}, getenv, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "pg_dump") || strings.Contains(err.Error(), url) {
		t.Errorf("backup of %s: %v, want a refusal naming pg_dump and not the URL", url, err)
	}
	if _, statErr := os.Stat(out); !os.IsNotExist(statErr) {
		t.Errorf("backup of a PostgreSQL database wrote %s", out)
	}
}
