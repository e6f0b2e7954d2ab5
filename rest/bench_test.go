package rest_test

// Benchmarks of the REST routes over a seeded database, through the real
// handler with a key and no rate limit:
//
//	go test -tags sqlite_fts5 -run '^$' -bench . ./rest
//	go test -tags sqlite_fts5 -run '^$' -bench List ./rest ./graph   # REST and GraphQL lists side by side
//
// 10k tasks always; 1M tasks only with TASKS_BENCH_1M=1 (see benchdb).

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"testing"

	"tasksapi/access"
	"tasksapi/idempotency"
	"tasksapi/internal/benchdb"
	"tasksapi/rest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	benchdb.Cleanup()
	os.Exit(code)
}

// benchHandler is the REST routes over d's store, with no rate limit.
func benchHandler(d *benchdb.Data) http.Handler {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	mux := http.NewServeMux()
	rest.New(rest.Options{Service: idempotency.Service{Service: d.Store}, Guard: access.NewGuard(d.Store, 0, log),
		Keeper: idempotency.New(d.Store, idempotency.DefaultTTL, log), Log: log, Feed: d.Store}).Register(mux)
	return rest.JSONErrors(mux)
}

// benchGet sends GET target(n) b.N times for each size of n tasks; each
// answer must be a 200.
func benchGet(b *testing.B, target func(n int) string) {
	for _, size := range benchdb.Sizes {
		b.Run(size.Name, func(b *testing.B) {
			d := size.Load(b)
			h := benchHandler(d)
			target := target(d.N)
			b.ReportAllocs()
			for b.Loop() {
				req := httptest.NewRequest(http.MethodGet, target, nil)
				authorize(req, d.Creds)
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				if rec.Code != http.StatusOK {
					b.Fatalf("GET %s: %d %s", target, rec.Code, rec.Body)
				}
			}
		})
	}
}

// BenchmarkRESTList reads the default page: the ten newest tasks, every
// field, with the totals.
func BenchmarkRESTList(b *testing.B) {
	benchGet(b, func(int) string { return "/v1/tasks" })
}

// BenchmarkRESTGet reads one task by id, from the middle of the ids.
func BenchmarkRESTGet(b *testing.B) {
	benchGet(b, func(n int) string { return "/v1/tasks/" + strconv.Itoa(n/2) })
}
