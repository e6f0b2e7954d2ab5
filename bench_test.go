package main

// REST against GraphQL for the same work, through the full server handler
// (CORS, body limit, panic recovery, routing, keys) over one seeded store,
// so that the ratio of the two comes from one run:
//
//	go test -tags sqlite_fts5 -run '^$' -bench RESTvsGraphQL .
//
// 10k tasks always; 1M tasks only with TASKS_BENCH_1M=1 (see benchdb).

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"testing"

	"tasksapi/access"
	"tasksapi/graph"
	"tasksapi/internal/benchdb"
	"tasksapi/internal/serverbin"
	"tasksapi/observe"
)

// benchServer is the full handler over a seeded store, and a key.
type benchServer struct {
	handler http.Handler
	creds   access.Credentials
	n       int
}

func TestMain(m *testing.M) {
	code := m.Run()
	benchdb.Cleanup()
	serverbin.Remove()
	os.Exit(code)
}

// loadServer is the server's handler, with no rate limit, over the
// seeded database of this size.
func loadServer(b *testing.B, size *benchdb.Size) *benchServer {
	d := size.Load(b)
	log := quietLog()
	h := app{svc: d.Store, guard: access.NewGuard(d.Store, 0, log), limits: graph.DefaultLimits,
		corsOrigins: []string{"*"}, log: log, metrics: observe.NewMetrics(d.Store.Collectors()...),
		ready: d.Store.Ready}.handler()
	return &benchServer{handler: h, creds: d.Creds, n: d.N}
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
	for _, size := range benchdb.Sizes {
		b.Run(size.Name, func(b *testing.B) {
			srv := loadServer(b, size)
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
				items { `+benchdb.TaskFields+` } } }`, nil)
		})
}

// BenchmarkGetRESTvsGraphQL reads one task by id, by REST and by GraphQL.
func BenchmarkGetRESTvsGraphQL(b *testing.B) {
	benchPair(b,
		func(n int) benchRequest {
			return benchRequest{method: http.MethodGet, target: "/v1/tasks/" + strconv.Itoa(n/2)}
		},
		func(n int) benchRequest {
			return graphQLRequest(`query Get($id: ID!) { task(id: $id) { `+benchdb.TaskFields+` } }`,
				map[string]any{"id": strconv.Itoa(n / 2)})
		})
}
