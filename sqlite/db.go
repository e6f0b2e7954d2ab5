// Package db stores tasks in SQLite. It implements task.Service; every
// write goes through the domain's rules before it reaches the database.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strings"
	"sync"
	"time"

	"github.com/mattn/go-sqlite3"

	"tasksapi/task"
)

// driverName is mattn/go-sqlite3 with per-connection settings the DSN
// cannot carry: temporary files (statement journals, sorts) in memory. A
// statement with triggers writes a statement journal for every page it
// touches; on disk that was most of the cost of a bulk insert.
const driverName = "sqlite3_tasks"

func init() {
	sql.Register(driverName, &sqlite3.SQLiteDriver{
		ConnectHook: func(c *sqlite3.SQLiteConn) error {
			_, err := c.Exec("PRAGMA temp_store = MEMORY", nil)
			return err
		},
	})
}

//go:embed migrations/*.sql
var migrations embed.FS

// migrationNames are the embedded migrations in order; the schema version
// this server knows is their number.
func migrationNames() ([]string, error) { return fs.Glob(migrations, "migrations/*.sql") }

// Store is a SQLite database of tasks. Writes go through a single
// connection with immediate transactions, so concurrent writers queue
// instead of failing with "database is locked"; reads use a pool of
// read-only connections and, in WAL mode, never wait for a writer.
type Store struct {
	write     *sql.DB
	read      *sql.DB
	fts       bool       // the trigram search index is available
	counts    *counts    // totals that task_counts cannot give, by write version
	landmarks *landmarks // where deep pages start, by write version
	cursor    task.CursorCodec

	writes     chan writeRequest // to groupWriter
	writerDone chan struct{}
	closeOnce  sync.Once
	closeMu    sync.RWMutex // read-held to send on writes, held to close it
	closed     bool
	// Now is the clock read once per write; tests replace it.
	Now func() time.Time
	// committed learns of each write of an organisation's tasks once it
	// has committed (see OnCommit).
	committed func(org int)
}

// OnCommit has f told, after each write of an organisation's tasks
// commits, which organisation it was: the change feed's followers wait
// for it. Set it before the store is used.
func (s *Store) OnCommit(f func(org int)) { s.committed = f }

// readConns is the size of the read pool. Reads in WAL mode run side by
// side, so a few more connections than cores keep the CPUs busy while one
// waits on the disk.
const readConns = 4

// writerCacheKiB is the writer's page cache, above SQLite's default 2 MiB
// (see Open).
const writerCacheKiB = 8192

// Sync is how far a commit goes before a write is acknowledged.
type Sync string

const (
	// SyncFull syncs the write-ahead log to disk at every commit: an
	// acknowledged write survives a crash of the process, the OS or the
	// power. The default.
	SyncFull Sync = "full"
	// SyncNormal leaves the sync to checkpoints: an acknowledged write
	// survives a crash of the process, but a power loss or OS crash can
	// lose the last writes before the next checkpoint (the database stays
	// consistent). About ten times cheaper per commit.
	SyncNormal Sync = "normal"
)

// Open opens (creating if needed) the database file at path and brings
// its schema up to date. Writes are synced as SyncFull unless sync says
// otherwise.
func Open(path string, sync ...Sync) (*Store, error) {
	level := "FULL"
	if len(sync) > 0 && sync[0] == SyncNormal {
		level = "NORMAL"
	}
	// The statement cache keeps each connection's prepared statements, so a
	// request does not parse its SQL again. database/sql hands a
	// connection to one goroutine at a time, so SQLite's own lock around
	// every call on it (_mutex=full, the driver's default) only costs: a
	// few percent of a list request.
	common := "_mutex=no&_journal_mode=WAL&_busy_timeout=5000&_foreign_keys=on&_stmt_cache_size=64&_synchronous=" + level
	// The writer's page cache is larger than SQLite's default 2 MiB: an
	// insert touches a page of each of a dozen B-trees, and with the
	// default the writer kept reading them back (about 30% fewer creates
	// a second at a million tasks). Readers need no more than the default.
	write, err := sql.Open(driverName, fmt.Sprintf("%s?%s&_txlock=immediate&_cache_size=-%d", path, common, writerCacheKiB))
	if err != nil {
		return nil, err
	}
	write.SetMaxOpenConns(1)
	write.SetConnMaxIdleTime(0)
	if err := migrate(write); err != nil {
		write.Close()
		return nil, fmt.Errorf("migrate %s: %w", path, err)
	}
	fts, err := prepareSearch(context.Background(), write)
	if err != nil {
		write.Close()
		return nil, fmt.Errorf("search index of %s: %w", path, err)
	}
	read, err := sql.Open(driverName, path+"?"+common+"&_query_only=true")
	if err != nil {
		write.Close()
		return nil, err
	}
	// Every connection stays open: a closed one loses its prepared
	// statements, and reopening runs the connection's pragmas again.
	read.SetMaxOpenConns(readConns)
	read.SetMaxIdleConns(readConns)
	var secret []byte
	if err := write.QueryRow("SELECT value FROM secrets WHERE name = 'cursor'").Scan(&secret); err != nil {
		write.Close()
		read.Close()
		return nil, err
	}
	s := &Store{write: write, read: read, fts: fts, counts: newCounts(), landmarks: newLandmarks(),
		cursor: task.NewCursorCodec(secret), Now: time.Now,
		writes: make(chan writeRequest, maxGroup), writerDone: make(chan struct{})}
	go s.groupWriter()
	return s, nil
}

// Close waits for pending writes, then closes the database. Closing
// twice is harmless.
func (s *Store) Close() error {
	var err error
	s.closeOnce.Do(func() { err = s.close() })
	return err
}

func (s *Store) close() error {
	s.closeMu.Lock()
	s.closed = true
	close(s.writes)
	s.closeMu.Unlock()
	<-s.writerDone
	// As SQLite advises before closing: refresh the planner's statistics
	// where they have drifted (cheap when they have not).
	s.write.Exec("PRAGMA analysis_limit = 1000; PRAGMA optimize")
	rerr := s.read.Close()
	if err := s.write.Close(); err != nil {
		return err
	}
	return rerr
}

// migrate applies, in order, each embedded migration newer than the
// database's user_version, each in its own transaction with the version
// bump, so a failed migration leaves the database as it was. Foreign keys
// are off meanwhile, as SQLite requires for rebuilding a table, and are
// checked before each commit.
func migrate(db *sql.DB) (err error) {
	ctx := context.Background()
	conn, err := db.Conn(ctx) // PRAGMA foreign_keys is per connection
	if err != nil {
		return err
	}
	defer conn.Close()
	var current int
	if err := conn.QueryRowContext(ctx, "PRAGMA user_version").Scan(&current); err != nil {
		return err
	}
	names, err := migrationNames()
	if err != nil {
		return err
	}
	if current > len(names) {
		return fmt.Errorf("the database is at schema version %d; this server knows only up to %d", current, len(names))
	}
	if _, err := conn.ExecContext(ctx, "PRAGMA foreign_keys = OFF"); err != nil {
		return err
	}
	defer func() {
		if _, ferr := conn.ExecContext(ctx, "PRAGMA foreign_keys = ON"); err == nil {
			err = ferr
		}
	}()
	for i, name := range names[current:] {
		version := current + i + 1
		if !strings.HasPrefix(path.Base(name), fmt.Sprintf("%04d_", version)) {
			return fmt.Errorf("migration %s: expected version %04d", name, version)
		}
		script, err := migrations.ReadFile(name)
		if err != nil {
			return err
		}
		tx, err := conn.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		if err := applyMigration(ctx, tx, string(script), version); err != nil {
			tx.Rollback()
			return fmt.Errorf("migration %s: %w", name, err)
		}
		if err := tx.Commit(); err != nil {
			return err
		}
	}
	return nil
}

func applyMigration(ctx context.Context, tx *sql.Tx, script string, version int) error {
	if _, err := tx.ExecContext(ctx, script); err != nil {
		return err
	}
	rows, err := tx.QueryContext(ctx, "PRAGMA foreign_key_check")
	if err != nil {
		return err
	}
	broken := rows.Next()
	rows.Close()
	if broken {
		return errors.New("it leaves rows that break a foreign key")
	}
	_, err = tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", version))
	return err
}

// inTx runs fn in a transaction, committing if it returns nil.
func inTx(ctx context.Context, db *sql.DB, fn func(*sql.Tx) error) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}
