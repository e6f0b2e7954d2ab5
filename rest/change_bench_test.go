package rest_test

// Benchmarks of the REST writes and of conditional reads, through the
// real handler:
//
//	go test -tags sqlite_fts5 -run '^$' -bench 'Writes|NotModified' ./rest
//
// The writes go to a copy of the seeded database of each size, opened
// with the server's default sync (full), so that they leave the reads'
// database as seeded; about 16 goroutines send them at once, like the
// load test's 16 clients. The reads use the seeded database itself.

import (
	"database/sql"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"tasksapi/internal/benchdb"
	"tasksapi/sqlite"
)

// concurrentClients is how many goroutines send writes at once.
const concurrentClients = 16

// writeSeq numbers the writes across every benchmark here: titles and
// Idempotency-Keys are never repeated, so each change is a real one and
// each key is new.
var writeSeq atomic.Int64

// BenchmarkRESTWrites sends creates, changes of existing tasks (PATCH
// with a new title, spread over the seeded ids) and creates with an
// Idempotency-Key, each from 16 concurrent clients; each answer must be
// a 200.
func BenchmarkRESTWrites(b *testing.B) {
	b.Run("create", func(b *testing.B) {
		benchWrites(b, func(int) (string, string, string, http.Header) {
			return http.MethodPost, "/v1/tasks", createBody(writeSeq.Add(1)), nil
		})
	})
	b.Run("change", func(b *testing.B) {
		benchWrites(b, func(n int) (string, string, string, http.Header) {
			i := writeSeq.Add(1)
			return http.MethodPatch, "/v1/tasks/" + strconv.Itoa(spreadID(i, n)),
				`{"title":"Benchmark change ` + strconv.FormatInt(i, 10) + `"}`, nil
		})
	})
	b.Run("create with idempotency key", func(b *testing.B) {
		benchWrites(b, func(int) (string, string, string, http.Header) {
			i := writeSeq.Add(1)
			return http.MethodPost, "/v1/tasks", createBody(i),
				http.Header{"Idempotency-Key": {"bench-" + strconv.FormatInt(i, 10)}}
		})
	})
}

// BenchmarkRESTGetNotModified reads one task by id, from the middle of
// the ids, with and without an If-None-Match naming its version (seeded
// tasks are at version 1): the 304 must cost no more than the 200.
func BenchmarkRESTGetNotModified(b *testing.B) {
	for _, c := range []struct {
		name        string
		ifNoneMatch string
		want        int
	}{
		{"200", "", http.StatusOK},
		{"304", `"1"`, http.StatusNotModified},
	} {
		b.Run(c.name, func(b *testing.B) {
			for _, size := range benchdb.Sizes {
				b.Run(size.Name, func(b *testing.B) {
					d := size.Load(b)
					h := benchHandler(d)
					target := "/v1/tasks/" + strconv.Itoa(d.N/2)
					b.ReportAllocs()
					for b.Loop() {
						req := httptest.NewRequest(http.MethodGet, target, nil)
						authorize(req, d.Creds)
						if c.ifNoneMatch != "" {
							req.Header.Set("If-None-Match", c.ifNoneMatch)
						}
						rec := httptest.NewRecorder()
						h.ServeHTTP(rec, req)
						if rec.Code != c.want || rec.Header().Get("ETag") != `"1"` {
							b.Fatalf("GET %s with If-None-Match %q: %d, ETag %q, want %d with ETag \"1\"",
								target, c.ifNoneMatch, rec.Code, rec.Header().Get("ETag"), c.want)
						}
					}
				})
			}
		})
	}
}

// createBody is a valid create; its title is numbered.
func createBody(i int64) string {
	return fmt.Sprintf(`{"title":"Benchmark follow-up %d","start_datetime":"2026-07-15T10:00:00",`+
		`"end_datetime":"2026-07-15T11:00:00","cstid":%d,"priority":3,"tags":[4,7]}`, i, 1+i%1000)
}

// spreadID is the i-th of a sequence of task ids that strides through 1
// to n, visiting the whole range in a scattered order.
func spreadID(i int64, n int) int {
	const stride = 7_919 // a prime: coprime to any n it does not divide
	return 1 + int((i*stride)%int64(n))
}

// benchWrites sends the requests made by next b.N times in all, from
// about 16 goroutines at once, for each size, to a handler over a copy of
// that size's database; next gets the number of seeded tasks, ids 1 to n.
func benchWrites(b *testing.B, next func(n int) (method, target, body string, header http.Header)) {
	for _, size := range benchdb.Sizes {
		b.Run(size.Name, func(b *testing.B) {
			d := writable(b, size)
			h := benchHandler(d)
			procs := runtime.GOMAXPROCS(0)
			b.SetParallelism((concurrentClients + procs - 1) / procs)
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					method, target, body, header := next(d.N)
					req := httptest.NewRequest(method, target, strings.NewReader(body))
					for k, v := range header {
						req.Header[k] = v
					}
					req.Header.Set("Content-Type", "application/json")
					authorize(req, d.Creds)
					rec := httptest.NewRecorder()
					h.ServeHTTP(rec, req)
					if rec.Code != http.StatusOK {
						b.Errorf("%s %s: %d %s", method, target, rec.Code, rec.Body)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "writes/s")
		})
	}
}

// writables holds, per size, the copy of its database that writes go to.
var writables sync.Map // *benchdb.Size -> func() (*benchdb.Data, error)

// writable returns the write benchmarks' copy of size's seeded database,
// made on first use and opened with the server's default sync (full). It
// holds the same organisation and key as the seeded one.
func writable(b *testing.B, size *benchdb.Size) *benchdb.Data {
	b.Helper()
	d := size.Load(b)
	open, _ := writables.LoadOrStore(size, sync.OnceValues(func() (*benchdb.Data, error) {
		path, err := benchdb.File(size.Name + "-rest-writes.db")
		if err != nil {
			return nil, err
		}
		src, err := sql.Open("sqlite3", d.Path)
		if err != nil {
			return nil, err
		}
		defer src.Close()
		if _, err := src.Exec("VACUUM INTO ?", path); err != nil {
			return nil, err
		}
		store, err := sqlite.Open(path)
		if err != nil {
			return nil, err
		}
		benchdb.Keep(store)
		c := *d
		c.Store, c.Path = store, path
		return &c, nil
	}))
	c, err := open.(func() (*benchdb.Data, error))()
	if err != nil {
		b.Fatalf("copying the %s database: %v", size.Name, err)
	}
	return c
}
