// Package postgres stores tasks in PostgreSQL, so that several servers can
// serve one database. It implements the same interfaces as package sqlite,
// with the same behaviour (the conformance suite in storetest runs on
// both); where the two differ it is in how, never in what.
package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"tasksapi/task"
)

//go:embed migrations/*.sql
var migrations embed.FS

// migrationNames are the embedded migrations in order; the schema version
// this server knows is their number.
func migrationNames() ([]string, error) { return fs.Glob(migrations, "migrations/*.sql") }

// IsURL reports whether a --db value names a PostgreSQL database rather
// than a SQLite file.
func IsURL(s string) bool {
	return strings.HasPrefix(s, "postgres://") || strings.HasPrefix(s, "postgresql://")
}

// Store is a PostgreSQL database of tasks, shared by every server that
// opens it.
type Store struct {
	pool   *pgxpool.Pool
	cursor task.CursorCodec

	// Now is the clock read once per write; tests replace it.
	Now func() time.Time

	// committed learns of each committed write of an organisation's
	// tasks, made through this server or any other (see OnCommit).
	// It is set after Open, while the listener already runs: hence
	// atomic.
	committed atomic.Pointer[func(org int)]
	// revoked learns of each key revoked through any server (see
	// OnKeyRevoked).
	revoked atomic.Pointer[func(accessKey string)]

	// lists keeps what list reads learn per write version (count.go).
	lists listCaches

	// writes go to the one writer, which commits them in groups
	// (writer.go).
	writes     chan writeRequest
	writerDone chan struct{}
	closeMu    sync.RWMutex // read-held to send on writes, held to close it
	closed     bool

	listenCtx  context.Context
	stopListen context.CancelFunc
	listenDone chan struct{}
	closeOnce  sync.Once
}

// OnCommit has f told, after each write of an organisation's tasks
// commits, through any server over the database, which organisation it
// was; f(0) means any organisation may have changed (after the
// notifications were interrupted). Set it before the store is used.
func (s *Store) OnCommit(f func(org int)) { s.committed.Store(&f) }

// Open connects to the database at url (a postgres:// URL, whose query may
// carry pgxpool's settings, pool_max_conns and others) and brings its
// schema up to date.
func Open(ctx context.Context, url string) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("database URL: %w", err)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, err
	}
	if err := migrate(ctx, pool); err != nil {
		pool.Close()
		return nil, fmt.Errorf("migrate: %w", err)
	}
	var secret []byte
	if err := pool.QueryRow(ctx, "SELECT value FROM secrets WHERE name = 'cursor'").Scan(&secret); err != nil {
		pool.Close()
		return nil, err
	}
	s := &Store{pool: pool, cursor: task.NewCursorCodec(secret), Now: time.Now,
		listenDone: make(chan struct{}),
		writes:     make(chan writeRequest, maxGroup), writerDone: make(chan struct{})}
	s.listenCtx, s.stopListen = context.WithCancel(context.Background())
	go s.listen()
	go s.groupWriter()
	return s, nil
}

// Close waits for the writes already queued to commit, stops listening
// and closes the pool once queries under way end. Closing twice is
// harmless.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		s.closeMu.Lock()
		s.closed = true
		close(s.writes)
		s.closeMu.Unlock()
		<-s.writerDone
		s.stopListen()
		<-s.listenDone
		s.pool.Close()
	})
	return nil
}

// migrationLock is the advisory lock key that servers starting together
// take before migrating, so that one migrates and the others then find the
// schema up to date ("tasks" in ASCII).
const migrationLock = 0x7461736b73

// migrate applies, in order, each embedded migration newer than the
// database's version, each in its own transaction with the version bump,
// holding the migration lock throughout.
func migrate(ctx context.Context, pool *pgxpool.Pool) error {
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return err
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", migrationLock); err != nil {
		return err
	}
	defer conn.Exec(context.Background(), "SELECT pg_advisory_unlock($1)", migrationLock)
	if _, err := conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_version (
		version integer NOT NULL, one boolean PRIMARY KEY DEFAULT true CHECK (one))`); err != nil {
		return err
	}
	var current int
	err = conn.QueryRow(ctx, "SELECT version FROM schema_version").Scan(&current)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return err
	}
	names, err := migrationNames()
	if err != nil {
		return err
	}
	if current > len(names) {
		return fmt.Errorf("the database is at schema version %d; this server knows only up to %d", current, len(names))
	}
	for i, name := range names[current:] {
		version := current + i + 1
		if !strings.HasPrefix(path.Base(name), fmt.Sprintf("%04d_", version)) {
			return fmt.Errorf("migration %s: expected version %04d", name, version)
		}
		script, err := migrations.ReadFile(name)
		if err != nil {
			return err
		}
		err = pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, string(script)); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, `INSERT INTO schema_version (version) VALUES ($1)
				ON CONFLICT (one) DO UPDATE SET version = excluded.version`, version)
			return err
		})
		if err != nil {
			return fmt.Errorf("migration %s: %w", name, err)
		}
	}
	return nil
}

// Ready reports whether the database answers and its schema is the one
// this server knows.
func (s *Store) Ready(ctx context.Context) error {
	var version int
	if err := s.pool.QueryRow(ctx, "SELECT version FROM schema_version").Scan(&version); err != nil {
		return err
	}
	names, err := migrationNames()
	if err != nil {
		return err
	}
	if version != len(names) {
		return fmt.Errorf("schema version %d, want %d", version, len(names))
	}
	return nil
}
