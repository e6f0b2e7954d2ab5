// Package storetest is the conformance suite of store.Store: one set of
// behavioural tests that every store passes, so that the server behaves
// the same on SQLite and on PostgreSQL. Run runs it on one store, through
// a Harness; sqlite/conformance_test.go and postgres/conformance_test.go
// run it on theirs. Each runs a test of a layer above the store (REST,
// GraphQL) on every store.
//
// The tests reach a store only through store.Store. What only the stored
// rows show (a secret never written, attempts pruned) reads them through
// Harness.Dump. What belongs to one store alone (query plans, its search
// index, upgrades of its old files) is tested beside that store.
package storetest

import (
	"sync"
	"testing"
	"time"

	"tasksapi/store"
)

// Harness makes and opens the databases of one store.
type Harness struct {
	// Name names the store in test names: "sqlite", "postgres".
	Name string
	// NewDatabase makes a new, empty database, removed when t ends, and
	// returns its name: what a server's --db would be (a file path, a
	// URL). It skips t when the store cannot be reached here.
	NewDatabase func(t testing.TB) string
	// Open opens the database name with now as the store's clock (nil:
	// the real time), failing t when it cannot; the store is closed when
	// t ends, if it was not before. Opening a name again after Close is
	// a restart; while another store is open on it, a second server on
	// the same database.
	Open func(t testing.TB, name string, now func() time.Time) store.Store
	// Dump reads the database name straight, bypassing the store: every
	// table, by name. It is for what only the stored data shows; tests
	// that need it are skipped when it is nil.
	Dump func(t testing.TB, name string) map[string]Table
	// Parallel is how many of the suite's tests run at once (see Run).
	Parallel int
}

// Table is a table as Dump reads it: each cell as text.
type Table struct {
	Columns []string
	Rows    [][]string
}

// New opens a new database with a Clock at BaseTime, and returns the
// store, its clock and the database's name.
func (h Harness) New(t testing.TB) (store.Store, *Clock, string) {
	t.Helper()
	name := h.NewDatabase(t)
	c := NewClock()
	return h.Open(t, name, c.Now), c, name
}

// test is one behaviour of the suite.
type test struct {
	name string
	run  func(t *testing.T, h Harness)
}

// topics are the suite's tests by what they hold a store to.
var topics = []struct {
	name  string
	tests []test
}{
	{"Tasks", taskTests},
	{"Lists", listTests},
	{"Totals", totalTests},
	{"Connections", connectionTests},
	{"Changes", changeTests},
	{"Idempotency", idempotencyTests},
	{"Feed", feedTests},
	{"Organisations", organisationTests},
	{"Keys", keyTests},
	{"Webhooks", webhookTests},
}

// Run runs every test of the suite on the store h opens, each as a
// subtest named topic/behaviour (Tasks/ARestartKeepsTheTasks), up to
// h.Parallel at once: each has databases of its own.
func Run(t *testing.T, h Harness) {
	slots := make(chan struct{}, max(1, h.Parallel))
	var topicsDone sync.WaitGroup
	for _, topic := range topics {
		topicsDone.Go(func() {
			t.Run(topic.name, func(t *testing.T) {
				var done sync.WaitGroup
				for _, tt := range topic.tests {
					slots <- struct{}{}
					done.Go(func() {
						defer func() { <-slots }()
						t.Run(tt.name, func(t *testing.T) { tt.run(t, h) })
					})
				}
				done.Wait()
			})
		})
	}
	topicsDone.Wait()
}

// Harnesses are the stores the server can run on.
var Harnesses = []Harness{SQLite, PostgreSQL}

// Each runs test once on every store, as a subtest named after it; a
// store that cannot be reached here is skipped (see Harness.NewDatabase).
// The layers above the store use it to hold themselves to the same
// answers on each.
func Each(t *testing.T, test func(t *testing.T, h Harness)) {
	t.Helper()
	for _, h := range Harnesses {
		t.Run(h.Name, func(t *testing.T) { test(t, h) })
	}
}
