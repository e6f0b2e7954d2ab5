package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"tasksapi/sqlite"
	"tasksapi/store"
)

// runBackup copies a live database: server backup [--db PATH] OUT.
func runBackup(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("server backup", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var dbPath string
	dbFlag(fs, &dbPath)
	if err := setFromEnv(fs, getenv); err != nil {
		return err
	}
	positional, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	if len(positional) != 1 {
		return fmt.Errorf("usage: server backup [--db PATH] OUT")
	}
	if store.IsPostgres(dbPath) {
		// pg_dump takes a consistent copy of a live PostgreSQL database,
		// and its restore tools are the ones its operators know.
		return fmt.Errorf("backup copies SQLite files; back up a PostgreSQL database with pg_dump: pg_dump --format=custom --file=%s \"$DATABASE_URL\"",
			positional[0])
	}
	if err := sqlite.Backup(ctx, dbPath, positional[0]); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "backed up %s to %s\n", dbPath, positional[0])
	return nil
}
