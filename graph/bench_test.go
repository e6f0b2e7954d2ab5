package graph_test

// Benchmarks of the GraphQL endpoint over a seeded database, through the
// real handler with a key, the default limits and no rate limit:
//
//	go test -tags sqlite_fts5 -run '^$' -bench . ./graph
//	go test -tags sqlite_fts5 -run '^$' -bench List ./rest ./graph   # REST and GraphQL lists side by side
//
// 10k tasks always; 1M tasks only with TASKS_BENCH_1M=1. Each size is
// seeded once per test process, on first use by a benchmark.

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"tasksapi/access"
	"tasksapi/db"
	"tasksapi/graph"
	seedgen "tasksapi/seed"
	"tasksapi/task"
)

const benchEnv1M = "TASKS_BENCH_1M"

// benchSeedEnd fixes the generated tasks, so every run seeds the same ones.
var benchSeedEnd = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// benchTaskFields selects every field of a task.
const benchTaskFields = `id activityId title activityType status priority startDatetime endDatetime
	dueDate description dealId contactId assignedUserId tagIds createdAt updatedAt`

// The queries measured, as a frontend would send them.
const (
	// benchListQuery is the REST default list's equal: ten newest tasks,
	// every field, and the totals.
	benchListQuery = `query List { tasks(pageSize: 10) { currentPage totalRecords totalPages pageSize pageIndex
		items { ` + benchTaskFields + ` } } }`
	benchConnectionQuery = `query Page { tasksConnection(first: 10, sortBy: DUE_DATE) { totalCount
		pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
		edges { cursor node { ` + benchTaskFields + ` } } } }`
	benchGetQuery = `query Get($id: ID!) { task(id: $id) { ` + benchTaskFields + ` } }`
)

type benchSize struct {
	name string
	n    int
	once sync.Once
	srv  *benchServer
	err  error
}

// benchServer is the GraphQL handler over a seeded store, and a key.
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
// and the GraphQL handler over it.
func seedBench(name string, n int) (*benchServer, error) {
	benchMu.Lock()
	defer benchMu.Unlock()
	if benchDir == "" {
		dir, err := os.MkdirTemp("", "tasks-graph-bench-")
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
	gen := seedgen.New(1, n, benchSeedEnd)
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
	log := discardLogger()
	h := graph.NewHandler(store, access.NewGuard(store, 0, log), graph.DefaultLimits, log)
	return &benchServer{handler: h, creds: creds, n: n}, nil
}

// benchQuery POSTs the query with the variables made by vars(n) b.N times
// for each size of n tasks; each answer must be a 200 with data.
func benchQuery(b *testing.B, query string, vars func(n int) map[string]any) {
	for _, size := range benchSizes {
		b.Run(size.name, func(b *testing.B) {
			srv := size.load(b)
			params := map[string]any{"query": query}
			if vars != nil {
				params["variables"] = vars(srv.n)
			}
			body, err := json.Marshal(params)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				req := httptest.NewRequest(http.MethodPost, "/query", bytes.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set(access.AccessKeyHeader, srv.creds.AccessKey)
				req.Header.Set(access.SecretKeyHeader, srv.creds.SecretKey)
				rec := httptest.NewRecorder()
				srv.handler.ServeHTTP(rec, req)
				// An error, or a task that is not there, is not what is measured.
				if rec.Code != http.StatusOK || strings.Contains(rec.Body.String(), `"errors"`) ||
					strings.Contains(rec.Body.String(), `"task":null`) {
					b.Fatalf("POST /query: %d %s", rec.Code, rec.Body)
				}
			}
		})
	}
}

// BenchmarkGraphQLList reads the same page as BenchmarkRESTList in
// package rest: the ten newest tasks, every field, with the totals.
func BenchmarkGraphQLList(b *testing.B) { benchQuery(b, benchListQuery, nil) }

// BenchmarkGraphQLConnection reads the first cursor page by due date.
func BenchmarkGraphQLConnection(b *testing.B) { benchQuery(b, benchConnectionQuery, nil) }

// BenchmarkGraphQLGet reads one task by id, from the middle of the ids.
func BenchmarkGraphQLGet(b *testing.B) {
	benchQuery(b, benchGetQuery, func(n int) map[string]any {
		return map[string]any{"id": strconv.Itoa(n / 2)}
	})
}
