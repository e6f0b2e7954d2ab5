package graph_test

// Benchmarks of the GraphQL endpoint over a seeded database, through the
// real handler with a key, the default limits and no rate limit:
//
//	go test -tags sqlite_fts5 -run '^$' -bench . ./graph
//	go test -tags sqlite_fts5 -run '^$' -bench List ./rest ./graph   # REST and GraphQL lists side by side
//
// 10k tasks always; 1M tasks only with TASKS_BENCH_1M=1 (see benchdb).

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"testing"

	"tasksapi/access"
	"tasksapi/graph"
	"tasksapi/internal/benchdb"
)

// The queries measured, as a frontend would send them.
const (
	// benchListQuery is the REST default list's equal: ten newest tasks,
	// every field, and the totals.
	benchListQuery = `query List { tasks(pageSize: 10) { currentPage totalRecords totalPages pageSize pageIndex
		items { ` + benchdb.TaskFields + ` } } }`
	benchConnectionQuery = `query Page { tasksConnection(first: 10, sortBy: DUE_DATE) { totalCount
		pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
		edges { cursor node { ` + benchdb.TaskFields + ` } } } }`
	benchGetQuery = `query Get($id: ID!) { task(id: $id) { ` + benchdb.TaskFields + ` } }`
)

func TestMain(m *testing.M) {
	code := m.Run()
	benchdb.Cleanup()
	os.Exit(code)
}

// benchQuery POSTs the query with the variables made by vars(n) b.N times
// for each size of n tasks; each answer must be a 200 with data.
func benchQuery(b *testing.B, query string, vars func(n int) map[string]any) {
	for _, size := range benchdb.Sizes {
		b.Run(size.Name, func(b *testing.B) {
			d := size.Load(b)
			log := discardLogger()
			h := graph.NewHandler(d.Store, access.NewGuard(d.Store, 0, log), graph.DefaultLimits, log)
			params := map[string]any{"query": query}
			if vars != nil {
				params["variables"] = vars(d.N)
			}
			body, err := json.Marshal(params)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				req := httptest.NewRequest(http.MethodPost, "/query", bytes.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set(access.AccessKeyHeader, d.Creds.AccessKey)
				req.Header.Set(access.SecretKeyHeader, d.Creds.SecretKey)
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
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
