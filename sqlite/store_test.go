package sqlite_test

import (
	"database/sql"
	"fmt"
	"os"
	"strings"
	"testing"

	"tasksapi/sqlite"
	"tasksapi/storetest"
)

// open opens the file at path; it is closed when the test ends, if it
// was not before.
func open(t *testing.T, path string) *sqlite.Store {
	t.Helper()
	return storetest.SQLite.Open(t, path, nil).(*sqlite.Store)
}

// newStore opens a new file with a storetest.Clock, and returns the store,
// the clock and the file's path.
func newStore(t *testing.T) (*sqlite.Store, *storetest.Clock, string) {
	t.Helper()
	s, c, path := storetest.SQLite.New(t)
	return s.(*sqlite.Store), c, path
}

// rawCount counts rows of a table straight from the file, bypassing the
// store.
func rawCount(t *testing.T, path, table string) int {
	t.Helper()
	conn, err := sql.Open("sqlite3", path)
	if err != nil {
		t.Fatalf("sql.Open: %v", err)
	}
	defer conn.Close()
	var n int
	if err := conn.QueryRow("SELECT count(*) FROM " + table).Scan(&n); err != nil {
		t.Fatalf("count %s: %v", table, err)
	}
	return n
}

func userVersion(t *testing.T, path string) int {
	t.Helper()
	conn, err := sql.Open("sqlite3", path)
	if err != nil {
		t.Fatalf("sql.Open: %v", err)
	}
	defer conn.Close()
	var v int
	if err := conn.QueryRow("PRAGMA user_version").Scan(&v); err != nil {
		t.Fatalf("PRAGMA user_version: %v", err)
	}
	return v
}

func migrationCount(t *testing.T) int {
	t.Helper()
	entries, err := os.ReadDir("migrations")
	if err != nil {
		t.Fatalf("read migrations: %v", err)
	}
	n := 0
	for _, e := range entries {
		if !e.IsDir() && strings.HasSuffix(e.Name(), ".sql") {
			n++
		}
	}
	if n == 0 {
		t.Fatalf("no migration files found")
	}
	return n
}

func TestReopeningAMigratedFileWorks(t *testing.T) {
	path := storetest.SQLite.NewDatabase(t)
	want := migrationCount(t)
	for i := range 3 {
		s := open(t, path)
		ctx := storetest.OrgContext(t, s, "Acme")
		storetest.MustCreate(t, ctx, s, storetest.Simple(t, fmt.Sprintf("opened %d", i)))
		storetest.MustClose(t, s)
		if got := userVersion(t, path); got != want {
			t.Errorf("after open %d, user_version = %d, want %d (the number of migration files)", i+1, got, want)
		}
	}
	if n := rawCount(t, path, "tasks"); n != 3 {
		t.Errorf("tasks after three opens = %d, want 3", n)
	}
}

func TestOpenRefusesANewerSchema(t *testing.T) {
	path := storetest.SQLite.NewDatabase(t)
	storetest.MustClose(t, open(t, path))

	conn, err := sql.Open("sqlite3", path)
	if err != nil {
		t.Fatalf("sql.Open: %v", err)
	}
	newer := migrationCount(t) + 1
	if _, err := conn.Exec(fmt.Sprintf("PRAGMA user_version = %d", newer)); err != nil {
		t.Fatalf("set user_version: %v", err)
	}
	conn.Close()

	s, err := sqlite.Open(path)
	if err == nil {
		s.Close()
		t.Fatalf("sqlite.Open of a database at schema version %d succeeded, want an error", newer)
	}
	if got := userVersion(t, path); got != newer {
		t.Errorf("the refused database's user_version changed to %d, want %d", got, newer)
	}
}
