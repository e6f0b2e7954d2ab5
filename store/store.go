// Package store opens the store a --db value names: a postgres:// or
// postgresql:// URL is a PostgreSQL database (package postgres), anything
// else a SQLite file (package sqlite). Both implement Store, and behave
// alike: the conformance suite in storetest runs on each.
package store

import (
	"context"
	"net/url"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"tasksapi/access"
	"tasksapi/feed"
	"tasksapi/idempotency"
	"tasksapi/postgres"
	"tasksapi/sqlite"
	"tasksapi/task"
	"tasksapi/webhook"
)

// Store is everything the server keeps.
type Store interface {
	task.Service
	access.Store
	feed.Reader
	idempotency.Store
	webhook.Store

	// Organisation returns the id of the named organisation, creating it
	// if it is new.
	Organisation(ctx context.Context, name string) (int, error)
	// ImportTasks stores n tasks in the organisation at once, the i-th
	// made by next(i), for seeding.
	ImportTasks(ctx context.Context, org, n int, next func(i int) (task.CreateInput, time.Time)) error
	// DeleteOldChanges removes up to limit changes recorded before the
	// given time, and says how many it removed.
	DeleteOldChanges(ctx context.Context, before time.Time, limit int) (int, error)
	// OnCommit has f told of each committed write of an organisation's
	// tasks (0: of any organisation); see feed.Hub.Committed.
	OnCommit(f func(org int))
	// Collectors give the figures of the store's connection pools.
	Collectors() []prometheus.Collector
	// Ready reports whether the database can serve.
	Ready(ctx context.Context) error
	Close() error
}

var (
	_ Store = (*sqlite.Store)(nil)
	_ Store = (*postgres.Store)(nil)
)

// IsPostgres reports whether dsn names a PostgreSQL database.
func IsPostgres(dsn string) bool { return postgres.IsURL(dsn) }

// Redacted is dsn fit for a log line: a URL's password is masked.
func Redacted(dsn string) string {
	if !IsPostgres(dsn) {
		return dsn
	}
	u, err := url.Parse(dsn)
	if err != nil {
		return "postgres://(unreadable URL)"
	}
	return u.Redacted()
}

// Open opens the store dsn names. sync is how far a SQLite commit goes
// before a write is acknowledged; PostgreSQL's is its own setting
// (synchronous_commit).
func Open(ctx context.Context, dsn string, sync sqlite.Sync) (Store, error) {
	if IsPostgres(dsn) {
		return postgres.Open(ctx, dsn)
	}
	return sqlite.Open(dsn, sync)
}
