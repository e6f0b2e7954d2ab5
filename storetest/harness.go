package storetest

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"tasksapi/internal/pgtest"
	"tasksapi/postgres"
	"tasksapi/sqlite"
	"tasksapi/store"
)

// SQLite is the SQLite store over files in the test's temporary
// directory, synced as the server syncs by default. Its tests are bound
// by the processor, so as many run at once as there are processors.
var SQLite = Harness{
	Name:     "sqlite",
	Parallel: runtime.GOMAXPROCS(0),
	NewDatabase: func(t testing.TB) string {
		return filepath.Join(t.TempDir(), "tasks.db")
	},
	Open: func(t testing.TB, name string, now func() time.Time) store.Store {
		t.Helper()
		s, err := sqlite.Open(name)
		if err != nil {
			t.Fatalf("sqlite.Open(%s): %v", name, err)
		}
		if now != nil {
			s.Now = now
		}
		t.Cleanup(func() { s.Close() })
		return s
	},
	Dump: func(t testing.TB, name string) map[string]Table {
		t.Helper()
		conn, err := sql.Open("sqlite3", name)
		if err != nil {
			t.Fatalf("sql.Open(%s): %v", name, err)
		}
		defer conn.Close()
		return dumpSQLite(t, conn)
	},
}

// PostgreSQL is the PostgreSQL store over a database of its own on the
// server internal/pgtest finds; without one, its tests are skipped. Its
// tests mostly wait for the server to make and drop their databases, so
// six run at once, whatever the processors (each holds a few
// connections of the server's 100).
var PostgreSQL = Harness{
	Name:        "postgres",
	Parallel:    6,
	NewDatabase: func(t testing.TB) string { return pgtest.URL(t) },
	Open: func(t testing.TB, name string, now func() time.Time) store.Store {
		t.Helper()
		s, err := postgres.Open(context.Background(), name)
		if err != nil {
			t.Fatalf("postgres.Open: %v", err)
		}
		if now != nil {
			s.Now = now
		}
		t.Cleanup(func() { s.Close() })
		return s
	},
	Dump: func(t testing.TB, name string) map[string]Table {
		t.Helper()
		ctx := context.Background()
		conn, err := pgx.Connect(ctx, name)
		if err != nil {
			t.Fatalf("connect to %s: %v", name, err)
		}
		defer conn.Close(ctx)
		list, err := conn.Query(ctx, `SELECT table_name FROM information_schema.tables
			WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'`)
		if err != nil {
			t.Fatalf("list tables: %v", err)
		}
		tables, err := pgx.CollectRows(list, pgx.RowTo[string])
		if err != nil {
			t.Fatalf("list tables: %v", err)
		}
		out := map[string]Table{}
		for _, table := range tables {
			rows, err := conn.Query(ctx, `SELECT * FROM "`+table+`"`)
			if err != nil {
				t.Fatalf("read %s: %v", table, err)
			}
			var dumped Table
			for _, f := range rows.FieldDescriptions() {
				dumped.Columns = append(dumped.Columns, f.Name)
			}
			for rows.Next() {
				vals, err := rows.Values()
				if err != nil {
					t.Fatalf("read %s: %v", table, err)
				}
				dumped.Rows = append(dumped.Rows, texts(vals))
			}
			if err := rows.Err(); err != nil {
				t.Fatalf("read %s: %v", table, err)
			}
			out[table] = dumped
		}
		return out
	},
}

// dumpSQLite reads every row of every table of a SQLite file.
func dumpSQLite(t testing.TB, conn *sql.DB) map[string]Table {
	t.Helper()
	rows, err := conn.Query("SELECT name FROM sqlite_schema WHERE type = 'table'")
	if err != nil {
		t.Fatalf("list tables: %v", err)
	}
	var tables []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			t.Fatalf("list tables: %v", err)
		}
		tables = append(tables, name)
	}
	rows.Close()
	out := map[string]Table{}
	for _, table := range tables {
		rows, err := conn.Query(`SELECT * FROM "` + table + `"`)
		if err != nil {
			t.Fatalf("read %s: %v", table, err)
		}
		cols, _ := rows.Columns()
		dumped := Table{Columns: cols}
		for rows.Next() {
			vals := make([]any, len(cols))
			dest := make([]any, len(cols))
			for i := range vals {
				dest[i] = &vals[i]
			}
			if err := rows.Scan(dest...); err != nil {
				t.Fatalf("read %s: %v", table, err)
			}
			dumped.Rows = append(dumped.Rows, texts(vals))
		}
		if err := rows.Err(); err != nil {
			t.Fatalf("read %s: %v", table, err)
		}
		rows.Close()
		out[table] = dumped
	}
	return out
}

// texts is each value as text: bytes as they are, anything else printed.
func texts(vals []any) []string {
	out := make([]string, len(vals))
	for i, v := range vals {
		if b, ok := v.([]byte); ok {
			out[i] = string(b)
		} else {
			out[i] = fmt.Sprint(v)
		}
	}
	return out
}
