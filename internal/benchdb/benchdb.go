// Package benchdb gives benchmarks databases of generated tasks, the same
// tasks as `server seed` makes: 10k always, 1M when TASKS_BENCH_1M=1 (it
// takes about a minute to seed). Each size is seeded once per test
// process, on first use by a benchmark, never by ordinary tests.
package benchdb

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"tasksapi/access"
	"tasksapi/seed"
	"tasksapi/sqlite"
)

// Env1M opts in to the 1M size.
const Env1M = "TASKS_BENCH_1M"

// TaskFields selects every field of a task in GraphQL, as REST always
// sends them.
const TaskFields = `id activityId title activityType status priority startDatetime endDatetime
	dueDate description dealId contactId assignedUserId tagIds createdAt updatedAt`

// SeedEnd fixes the end of the generated tasks' two years, so that every
// run seeds exactly the same tasks.
var SeedEnd = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// Data is a seeded database.
type Data struct {
	Store *sqlite.Store
	Path  string
	N     int                // tasks, ids 1 to N
	Creds access.Credentials // a key of the organisation "Bench", which holds the tasks
	Ctx   context.Context    // carries that organisation, for calls to Store
}

// Size is one database size.
type Size struct {
	Name string
	N    int

	once sync.Once
	data *Data
	err  error
}

// Sizes are the sizes every benchmark runs at, as sub-benchmarks.
var Sizes = []*Size{{Name: "10k", N: 10_000}, {Name: "1M", N: 1_000_000}}

var (
	mu     sync.Mutex
	dir    string
	stores []*sqlite.Store
)

// Load returns the seeded database of this size, seeding it on first use;
// the 1M size is skipped unless TASKS_BENCH_1M=1.
func (s *Size) Load(b *testing.B) *Data {
	b.Helper()
	if s.N > 10_000 && os.Getenv(Env1M) != "1" {
		b.Skipf("the %s size is opt-in: set %s=1 to run it (seeding takes about a minute)", s.Name, Env1M)
	}
	s.once.Do(func() { s.data, s.err = seedData(s.Name, s.N) })
	if s.err != nil {
		b.Fatalf("seeding %d tasks: %v", s.N, s.err)
	}
	return s.data
}

// File returns a path in the process's benchmark directory.
func File(name string) (string, error) {
	mu.Lock()
	defer mu.Unlock()
	if dir == "" {
		d, err := os.MkdirTemp("", "tasks-bench-")
		if err != nil {
			return "", err
		}
		dir = d
	}
	return filepath.Join(dir, name), nil
}

// Keep closes s when Cleanup runs.
func Keep(s *sqlite.Store) {
	mu.Lock()
	defer mu.Unlock()
	stores = append(stores, s)
}

// Cleanup closes the stores and removes the files; call it from TestMain
// after m.Run.
func Cleanup() {
	mu.Lock()
	defer mu.Unlock()
	for _, s := range stores {
		s.Close()
	}
	if dir != "" {
		os.RemoveAll(dir)
	}
}

func seedData(name string, n int) (*Data, error) {
	path, err := File(name + ".db")
	if err != nil {
		return nil, err
	}
	store, err := sqlite.Open(path, sqlite.SyncNormal)
	if err != nil {
		return nil, err
	}
	Keep(store)
	ctx := context.Background()
	org, err := store.Organisation(ctx, "Bench")
	if err != nil {
		return nil, err
	}
	gen := seed.New(1, n, SeedEnd)
	err = store.ImportTasks(ctx, org, n, gen.Input)
	if err != nil {
		return nil, err
	}
	creds, err := access.NewKey(ctx, store, "Bench", "benchmarks")
	if err != nil {
		return nil, err
	}
	return &Data{Store: store, Path: path, N: n, Creds: creds,
		Ctx: access.WithPrincipal(ctx, access.Principal{OrganisationID: org, KeyID: creds.KeyID})}, nil
}
