package sqlite_test

// Benchmarks of the store over seeded databases of two sizes:
//
//	go test -tags sqlite_fts5 -run '^$' -bench . ./sqlite                    # 10k tasks
//	TASKS_BENCH_1M=1 go test -tags sqlite_fts5 -run '^$' -bench . ./sqlite   # and 1M tasks
//
// Each size is seeded once per test process, on first use by a benchmark
// (never by ordinary tests), with the same deterministic tasks as
// `server seed`. Creates get a database of their own, a copy of the
// seeded one, so the lists measure the same data on every run.

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"tasksapi/internal/benchdb"
	"tasksapi/seed"
	"tasksapi/sqlite"
	"tasksapi/task"
)

// benchSize is one database size, and a copy of it for creates.
type benchSize struct {
	*benchdb.Size

	mu   sync.Mutex
	data *benchData

	createOnce  sync.Once
	createStore *sqlite.Store
	createErr   error
}

// benchData is a seeded database, with values worked out from it once.
type benchData struct {
	*benchdb.Data

	mu   sync.Mutex
	memo map[string]string
}

var benchSizes = func() []*benchSize {
	var sizes []*benchSize
	for _, s := range benchdb.Sizes {
		sizes = append(sizes, &benchSize{Size: s})
	}
	return sizes
}()

func TestMain(m *testing.M) {
	code := m.Run()
	benchdb.Cleanup()
	os.Exit(code)
}

// load returns the seeded database of this size (see benchdb.Size.Load).
func (s *benchSize) load(b *testing.B) *benchData {
	b.Helper()
	d := s.Load(b)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.data == nil {
		s.data = &benchData{Data: d, memo: map[string]string{}}
	}
	return s.data
}

// creates returns a store for create benchmarks: a copy of the seeded
// database of this size, opened with the server's default sync (full).
func (s *benchSize) creates(b *testing.B) (*sqlite.Store, context.Context) {
	b.Helper()
	d := s.load(b)
	s.createOnce.Do(func() {
		var path string
		if path, s.createErr = benchdb.File(s.Name + "-creates.db"); s.createErr != nil {
			return
		}
		if s.createErr = vacuumInto(d.Path, path); s.createErr != nil {
			return
		}
		if s.createStore, s.createErr = sqlite.Open(path); s.createErr == nil {
			benchdb.Keep(s.createStore)
		}
	})
	if s.createErr != nil {
		b.Fatalf("copying the %s database: %v", s.Name, s.createErr)
	}
	return s.createStore, d.Ctx
}

// vacuumInto writes a consistent copy of the database at from to to.
func vacuumInto(from, to string) error {
	src, err := sql.Open("sqlite3", from)
	if err != nil {
		return err
	}
	defer src.Close()
	_, err = src.Exec("VACUUM INTO ?", to)
	return err
}

// once returns the value built for key, made once per database.
func (d *benchData) once(key string, build func() (string, error)) (string, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if v, ok := d.memo[key]; ok {
		return v, nil
	}
	v, err := build()
	if err == nil {
		d.memo[key] = v
	}
	return v, err
}

// eachSize runs fn as a sub-benchmark per size, timing only fn's loop.
func eachSize(b *testing.B, fn func(b *testing.B, d *benchData)) {
	for _, size := range benchSizes {
		b.Run(size.Name, func(b *testing.B) {
			d := size.load(b)
			b.ReportAllocs()
			b.ResetTimer()
			fn(b, d)
		})
	}
}

// benchList lists p b.N times; a page must hold at least minItems tasks.
func benchList(b *testing.B, d *benchData, p task.ListParams, minItems int) {
	b.Helper()
	for b.Loop() {
		page, err := d.Store.ListTasks(d.Ctx, p)
		if err != nil {
			b.Fatalf("ListTasks: %v", err)
		}
		if len(page.Items) < minItems {
			b.Fatalf("ListTasks gave %d tasks, want at least %d: the benchmark measures an empty page", len(page.Items), minItems)
		}
	}
}

func BenchmarkListDefault(b *testing.B) {
	eachSize(b, func(b *testing.B, d *benchData) {
		benchList(b, d, task.ListParams{}, 10)
	})
}

func BenchmarkListStatus(b *testing.B) {
	eachSize(b, func(b *testing.B, d *benchData) {
		benchList(b, d, task.ListParams{Filter: task.Filter{Status: ptr(task.StatusOpen)}}, 10)
	})
}

func BenchmarkListStatusPrioritySortedByDueDate(b *testing.B) {
	eachSize(b, func(b *testing.B, d *benchData) {
		benchList(b, d, task.ListParams{
			Filter: task.Filter{Status: ptr(task.StatusOpen), Priority: ptr(task.PriorityHigh)},
			SortBy: ptr(task.SortByDueDate),
		}, 10)
	})
}

// BenchmarkListSearch searches a common term (one title in 16), a rare one
// (about one in 1,600: served by the trigram index in FTS5 builds), and
// one shorter than a trigram (always a scan).
func BenchmarkListSearch(b *testing.B) {
	terms := []struct{ name, term string }{
		{"common", "sarah"},
		{"rare", "email sarah connor about invoice"},
		{"short", "zo"},
	}
	eachSize(b, func(b *testing.B, d *benchData) {
		for _, tt := range terms {
			b.Run(tt.name, func(b *testing.B) {
				b.ReportAllocs()
				benchList(b, d, task.ListParams{Filter: task.Filter{Search: ptr(tt.term)}}, 1)
			})
		}
	})
}

// BenchmarkListDeepPage reads the second-last page by offset.
func BenchmarkListDeepPage(b *testing.B) {
	sorts := []struct {
		name string
		sort *task.SortField
	}{{"id", nil}, {"due_date", ptr(task.SortByDueDate)}}
	eachSize(b, func(b *testing.B, d *benchData) {
		for _, s := range sorts {
			b.Run(s.name, func(b *testing.B) {
				b.ReportAllocs()
				benchList(b, d, task.ListParams{PageIndex: ptr(d.N/task.DefaultPageSize - 2), SortBy: s.sort}, 10)
			})
		}
	})
}

// countSeq numbers the uncached count's ranges across every run of it, so
// that no range repeats within a process.
var countSeq atomic.Int64

// BenchmarkCount measures totals: one from the counter table (status), a
// due-date range whose total is cached after its first count, and a new
// range every time, which counts rows.
func BenchmarkCount(b *testing.B) {
	day := func(t time.Time) *task.Date { d := task.NewDateTime(t).Date(); return &d }
	first := benchdb.SeedEnd.Add(-seed.Span)
	eachSize(b, func(b *testing.B, d *benchData) {
		count := func(b *testing.B, f task.Filter) {
			page, err := d.Store.ListTasks(d.Ctx, task.ListParams{Filter: f, PageSize: ptr(1)})
			if err != nil {
				b.Fatalf("ListTasks: %v", err)
			}
			if page.TotalRecords == 0 {
				b.Fatalf("no task matches %+v: the benchmark counts nothing", f)
			}
		}
		b.Run("status", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				count(b, task.Filter{Status: ptr(task.StatusOpen)})
			}
		})
		b.Run("due_range_cached", func(b *testing.B) {
			from, to := day(first.AddDate(0, 6, 0)), day(first.AddDate(0, 9, 0))
			b.ReportAllocs()
			for b.Loop() {
				count(b, task.Filter{DueDateFrom: from, DueDateTo: to})
			}
		})
		b.Run("due_range_uncached", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				i := int(countSeq.Add(1))
				from := first.AddDate(0, 0, i%500)
				count(b, task.Filter{DueDateFrom: day(from), DueDateTo: day(from.AddDate(0, 0, 30+i/500))})
			}
		})
	})
}

// BenchmarkConnectionDeep reads one cursor page near the end of the list:
// the cursor is found beforehand by following pages from the start.
func BenchmarkConnectionDeep(b *testing.B) {
	sorts := []struct {
		name string
		sort *task.SortField
	}{{"id", nil}, {"due_date", ptr(task.SortByDueDate)}}
	eachSize(b, func(b *testing.B, d *benchData) {
		for _, s := range sorts {
			b.Run(s.name, func(b *testing.B) {
				after, err := d.once("cursor/"+s.name, func() (string, error) {
					return deepCursor(d, s.sort, d.N-20)
				})
				if err != nil {
					b.Fatal(err)
				}
				p := task.ConnectionParams{After: &after, SortBy: s.sort}
				b.ReportAllocs()
				b.ResetTimer()
				for b.Loop() {
					conn, err := d.Store.TaskConnection(d.Ctx, p)
					if err != nil {
						b.Fatalf("TaskConnection: %v", err)
					}
					if len(conn.Edges) != task.DefaultPageSize {
						b.Fatalf("got %d tasks, want %d", len(conn.Edges), task.DefaultPageSize)
					}
				}
			})
		}
	})
}

// deepCursor follows the connection in pages of 100 until depth tasks are
// behind, and returns the cursor there.
func deepCursor(d *benchData, sort *task.SortField, depth int) (string, error) {
	var after *string
	for seen := 0; seen < depth; {
		conn, err := d.Store.TaskConnection(d.Ctx, task.ConnectionParams{
			First: ptr(min(task.MaxPageSize, depth-seen)), After: after, SortBy: sort, SkipTotal: true,
		})
		if err != nil {
			return "", err
		}
		if len(conn.Edges) == 0 {
			return "", fmt.Errorf("the list ended after %d tasks, before %d", seen, depth)
		}
		seen += len(conn.Edges)
		after = conn.PageInfo().EndCursor
	}
	return *after, nil
}

// benchInput is a valid task; its title is numbered.
func ptr[T any](v T) *T { return &v }

func benchInput(i int64) task.CreateInput {
	start := task.NewDateTime(benchdb.SeedEnd.Add(time.Duration(i%1000) * time.Hour))
	end := task.NewDateTime(benchdb.SeedEnd.Add(time.Duration(i%1000)*time.Hour + 30*time.Minute))
	return task.CreateInput{
		Title:          "Benchmark follow-up " + strconv.FormatInt(i, 10),
		StartDatetime:  start,
		EndDatetime:    &end,
		ContactID:      ptr(int(1 + i%50_000)),
		AssignedUserID: ptr(int(1 + i%50)),
		Priority:       ptr(task.PriorityHigh),
		TagIDs:         []int{int(1 + i%30), int(1 + (i+7)%30)},
	}
}

// createSeq numbers created tasks across every create benchmark.
var createSeq atomic.Int64

func BenchmarkCreate(b *testing.B) {
	for _, size := range benchSizes {
		b.Run(size.Name, func(b *testing.B) {
			store, ctx := size.creates(b)
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				if _, err := store.CreateTask(ctx, benchInput(createSeq.Add(1))); err != nil {
					b.Fatalf("CreateTask: %v", err)
				}
			}
		})
	}
}

func BenchmarkCreateParallel(b *testing.B) {
	for _, size := range benchSizes {
		b.Run(size.Name, func(b *testing.B) {
			store, ctx := size.creates(b)
			b.ReportAllocs()
			b.SetParallelism(8) // 16 writers on 2 cores, like the load test's clients
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := store.CreateTask(ctx, benchInput(createSeq.Add(1))); err != nil {
						b.Errorf("CreateTask: %v", err)
						return
					}
				}
			})
		})
	}
}
