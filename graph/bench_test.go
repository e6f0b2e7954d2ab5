package graph_test

// Benchmarks of the GraphQL endpoint over a seeded database, through the
// real handler with a key, the default limits and no rate limit, and
// through the same handler with no plans (every field executed by gqlgen):
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
	"tasksapi/idempotency"
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

// benchHandlers are the server ("plan") and, to show what the plans buy,
// the server with every field executed by gqlgen ("gqlgen").
var benchHandlers = []struct {
	name string
	new  func(graph.Options) http.Handler
}{
	{"plan", graph.NewHandler},
	{"gqlgen", graph.NewGqlgenHandler},
}

// benchQuery POSTs the query with the variables made by vars(n) b.N times
// for each size of n tasks and each of benchHandlers; each answer must be
// a 200 with data.
func benchQuery(b *testing.B, query string, vars func(n int) map[string]any) {
	for _, size := range benchdb.Sizes {
		for _, handler := range benchHandlers {
			b.Run(size.Name+"/"+handler.name, func(b *testing.B) {
				d := size.Load(b)
				log := discardLogger()
				h := handler.new(graph.Options{Service: d.Store, Guard: access.NewGuard(d.Store, 0, log),
					Keeper: idempotency.New(d.Store, idempotency.DefaultTTL, log), Limits: graph.DefaultLimits, Log: log})
				benchPost(b, h, d.Creds, query, vars(d.N))
			})
		}
	}
}

// benchPost POSTs the query with variables to h b.N times.
func benchPost(b *testing.B, h http.Handler, creds access.Credentials, query string, variables map[string]any) {
	params := map[string]any{"query": query}
	if variables != nil {
		params["variables"] = variables
	}
	body, err := json.Marshal(params)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		req := httptest.NewRequest(http.MethodPost, "/query", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set(access.AccessKeyHeader, creds.AccessKey)
		req.Header.Set(access.SecretKeyHeader, creds.SecretKey)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		// An error, or a task that is not there, is not what is measured.
		if rec.Code != http.StatusOK || strings.Contains(rec.Body.String(), `"errors"`) ||
			strings.Contains(rec.Body.String(), `"task":null`) {
			b.Fatalf("POST /query: %d %s", rec.Code, rec.Body)
		}
	}
}

// BenchmarkGraphQLList reads the same page as BenchmarkRESTList in
// package rest: the ten newest tasks, every field, with the totals.
func BenchmarkGraphQLList(b *testing.B) { benchQuery(b, benchListQuery, noVariables) }

// BenchmarkGraphQLConnection reads the first cursor page by due date.
func BenchmarkGraphQLConnection(b *testing.B) { benchQuery(b, benchConnectionQuery, noVariables) }

func noVariables(int) map[string]any { return nil }

// BenchmarkGraphQLGet reads one task by id, from the middle of the ids.
func BenchmarkGraphQLGet(b *testing.B) {
	benchQuery(b, benchGetQuery, func(n int) map[string]any {
		return map[string]any{"id": strconv.Itoa(n / 2)}
	})
}
