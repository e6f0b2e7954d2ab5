package rest_test

// Benchmarks of the REST routes over a seeded database, through the real
// handler with a key and no rate limit:
//
//	go test -tags sqlite_fts5 -run '^$' -bench . ./rest
//	go test -tags sqlite_fts5 -run '^$' -bench List ./rest ./graph   # REST and GraphQL lists side by side
//
// 10k tasks always; 1M tasks only with TASKS_BENCH_1M=1. Each size is
// seeded once per test process, on first use by a benchmark.

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"tasksapi/access"
	"tasksapi/db"
	"tasksapi/rest"
	"tasksapi/seed"
	"tasksapi/task"
)

const benchEnv1M = "TASKS_BENCH_1M"

// benchSeedEnd fixes the generated tasks, so every run seeds the same ones.
var benchSeedEnd = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

type benchSize struct {
	name string
	n    int
	once sync.Once
	srv  *benchServer
	err  error
}

// benchServer is the REST routes over a seeded store, and a key.
type benchServer struct {
	handler http.Handler
	creds   access.Credentials
	n       int
}

var (
	benchSizes = []*benchSize{{name: "10k", n: 10_000}, {name: "1M", n: 1_000_000}}

	benchMu     sync.Mutex
	benchDir    string
	benchStores []*db.Store
)

func TestMain(m *testing.M) {
	code := m.Run()
	benchMu.Lock()
	for _, s := range benchStores {
		s.Close()
	}
	if benchDir != "" {
		os.RemoveAll(benchDir)
	}
	benchMu.Unlock()
	os.Exit(code)
}

func (s *benchSize) load(b *testing.B) *benchServer {
	b.Helper()
	if s.n > 10_000 && os.Getenv(benchEnv1M) != "1" {
		b.Skipf("the %s size is opt-in: set %s=1 to run it (seeding takes about a minute)", s.name, benchEnv1M)
	}
	s.once.Do(func() { s.srv, s.err = seedBench(s.name, s.n) })
	if s.err != nil {
		b.Fatalf("seeding %d tasks: %v", s.n, s.err)
	}
	return s.srv
}

// seedBench makes a database of n generated tasks (as `server seed` does)
// and the REST routes over it.
func seedBench(name string, n int) (*benchServer, error) {
	benchMu.Lock()
	defer benchMu.Unlock()
	if benchDir == "" {
		dir, err := os.MkdirTemp("", "tasks-rest-bench-")
		if err != nil {
			return nil, err
		}
		benchDir = dir
	}
	store, err := db.Open(filepath.Join(benchDir, name+".db"), db.SyncNormal)
	if err != nil {
		return nil, err
	}
	benchStores = append(benchStores, store)
	ctx := context.Background()
	org, err := store.Organisation(ctx, "Bench")
	if err != nil {
		return nil, err
	}
	gen := seed.New(1, n, benchSeedEnd)
	err = store.ImportTasks(ctx, org, n, func(i int) (task.CreateInput, time.Time) {
		t := gen.Task(i)
		return t.Input, t.CreatedAt
	})
	if err != nil {
		return nil, err
	}
	creds, err := access.NewKey(ctx, store, "Bench", "benchmarks")
	if err != nil {
		return nil, err
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	mux := http.NewServeMux()
	rest.New(store, access.NewGuard(store, 0, log), log).Register(mux)
	return &benchServer{handler: rest.JSONErrors(mux), creds: creds, n: n}, nil
}

// benchGet sends GET target(n) b.N times for each size of n tasks; each
// answer must be a 200.
func benchGet(b *testing.B, target func(n int) string) {
	for _, size := range benchSizes {
		b.Run(size.name, func(b *testing.B) {
			srv := size.load(b)
			target := target(srv.n)
			b.ReportAllocs()
			for b.Loop() {
				req := httptest.NewRequest(http.MethodGet, target, nil)
				authorize(req, srv.creds)
				rec := httptest.NewRecorder()
				srv.handler.ServeHTTP(rec, req)
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
