package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"os"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Collectors give the figures of the store's connection pools, for
// metrics.
func (s *Store) Collectors() []prometheus.Collector {
	return []prometheus.Collector{collectors.NewDBStatsCollector(s.write, "write"), collectors.NewDBStatsCollector(s.read, "read")}
}

// Ready reports whether the database answers and its schema is the one
// this server knows.
func (s *Store) Ready(ctx context.Context) error {
	var version int
	if err := s.read.QueryRowContext(ctx, "PRAGMA user_version").Scan(&version); err != nil {
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

// Backup writes a consistent copy of the database at path to out, a file
// that must not exist yet. It reads one snapshot, so a server can go on
// writing meanwhile (VACUUM INTO; the copy is also compacted).
func Backup(ctx context.Context, path, out string) error {
	if _, err := os.Stat(out); err == nil {
		return fmt.Errorf("%s exists: a backup never overwrites a file", out)
	}
	if _, err := os.Stat(path); err != nil {
		return err // open would create an empty database
	}
	conn, err := sql.Open(driverName, path+"?_busy_timeout=5000")
	if err != nil {
		return err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "VACUUM INTO ?", out); err != nil {
		return fmt.Errorf("back up %s: %w", path, err)
	}
	return nil
}
