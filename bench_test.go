package main

// REST against GraphQL for the same work, through the full server handler
// (CORS, body limit, panic recovery, routing, keys) over one seeded store,
// so that the ratio of the two comes from one run:
//
//	go test -tags sqlite_fts5 -run '^$' -bench RESTvsGraphQL .
//
// 10k tasks always; 1M tasks only with TASKS_BENCH_1M=1. Each size is
// seeded once per test process, on first use by a benchmark.

import (
	"context"
	"encoding/json"
	"io"
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
	"tasksapi/seed"
	"tasksapi/task"
)

const benchEnv1M = "TASKS_BENCH_1M"

// benchSeedEnd fixes the generated tasks, so every run seeds the same ones.
var benchSeedEnd = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// benchTaskFields selects every field of a task, as REST always sends.
const benchTaskFields = `id activityId title activityType status priority startDatetime endDatetime
	dueDate description dealId contactId assignedUserId tagIds createdAt updatedAt`

type benchSize struct {
	name string
	n    int
	once sync.Once
	srv  *benchServer
	err  error
}

// benchServer is the full handler over a seeded store, and a key.
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
// and the server's handler over it, with no rate limit.
func seedBench(name string, n int) (*benchServer, error) {
	benchMu.Lock()
	defer benchMu.Unlock()
	if benchDir == "" {
		dir, err := os.MkdirTemp("", "tasks-server-bench-")
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
	log := quietLog()
	h := newHandler(store, access.NewGuard(store, 0, log), graph.DefaultLimits, []string{"*"}, log)
	return &benchServer{handler: h, creds: creds, n: n}, nil
}

// benchRequest is one request, remade for every iteration.
type benchRequest struct {
	method, target, body string
}

// serve sends r b.N times; each answer must be a 200 with data.
func (r benchRequest) serve(b *testing.B, srv *benchServer) {
	b.ReportAllocs()
	for b.Loop() {
		var body io.Reader
		if r.body != "" {
			body = strings.NewReader(r.body)
		}
		req := httptest.NewRequest(r.method, r.target, body)
		if body != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		req.Header.Set(access.AccessKeyHeader, srv.creds.AccessKey)
		req.Header.Set(access.SecretKeyHeader, srv.creds.SecretKey)
		rec := httptest.NewRecorder()
		srv.handler.ServeHTTP(rec, req)
		if out := rec.Body.String(); rec.Code != http.StatusOK || strings.Contains(out, `"errors"`) ||
			strings.Contains(out, `"task":null`) {
			b.Fatalf("%s %s: %d %s", r.method, r.target, rec.Code, out)
		}
	}
}

// graphQLRequest is a POST /query of query with variables.
func graphQLRequest(query string, variables map[string]any) benchRequest {
	body, err := json.Marshal(map[string]any{"query": query, "variables": variables})
	if err != nil {
		panic(err) // plain strings and maps always marshal
	}
	return benchRequest{method: http.MethodPost, target: "/query", body: string(body)}
}

// benchPair runs the REST and the GraphQL request made for a size of n
// tasks as sub-benchmarks "REST" and "GraphQL" of each size.
func benchPair(b *testing.B, restReq, graphQLReq func(n int) benchRequest) {
	for _, size := range benchSizes {
		b.Run(size.name, func(b *testing.B) {
			srv := size.load(b)
			b.Run("REST", func(b *testing.B) { restReq(srv.n).serve(b, srv) })
			b.Run("GraphQL", func(b *testing.B) { graphQLReq(srv.n).serve(b, srv) })
		})
	}
}

// BenchmarkListRESTvsGraphQL reads the default page, the ten newest tasks
// with every field and the totals, by REST and by GraphQL.
func BenchmarkListRESTvsGraphQL(b *testing.B) {
	benchPair(b,
		func(int) benchRequest { return benchRequest{method: http.MethodGet, target: "/v1/tasks"} },
		func(int) benchRequest {
			return graphQLRequest(`query List { tasks(pageSize: 10) { currentPage totalRecords totalPages
				items { `+benchTaskFields+` } } }`, nil)
		})
}

// BenchmarkGetRESTvsGraphQL reads one task by id, by REST and by GraphQL.
func BenchmarkGetRESTvsGraphQL(b *testing.B) {
	benchPair(b,
		func(n int) benchRequest {
			return benchRequest{method: http.MethodGet, target: "/v1/tasks/" + strconv.Itoa(n/2)}
		},
		func(n int) benchRequest {
			return graphQLRequest(`query Get($id: ID!) { task(id: $id) { `+benchTaskFields+` } }`,
				map[string]any{"id": strconv.Itoa(n / 2)})
		})
}
