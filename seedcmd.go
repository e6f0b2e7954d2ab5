package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"time"

	"tasksapi/seed"
	"tasksapi/sqlite"
	"tasksapi/store"
)

// runSeed fills an organisation with generated tasks, for demos and load
// tests: server seed --db PATH --org NAME --tasks N [--seed S].
func runSeed(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("server seed", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var dbPath, org string
	dbFlag(fs, &dbPath)
	fs.StringVar(&org, "org", "Default", "organisation to fill, created if new")
	n := fs.Int("tasks", 10_000, "how many tasks to add")
	seedValue := fs.Uint64("seed", 1, "the same seed makes the same tasks")
	if err := setFromEnv(fs, getenv); err != nil {
		return err
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 || *n < 0 {
		return fmt.Errorf("usage: server seed [--db PATH] [--org NAME] [--tasks N] [--seed S]")
	}

	store, err := store.Open(ctx, dbPath, sqlite.SyncNormal) // a seed that dies is simply run again
	if err != nil {
		return err
	}
	defer store.Close()
	orgID, err := store.Organisation(ctx, org)
	if err != nil {
		return err
	}
	began := time.Now()
	gen := seed.New(*seedValue, *n, began)
	err = store.ImportTasks(ctx, orgID, *n, gen.Input)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "added %d tasks to organisation %q (id %d) in %s\n", *n, org, orgID, time.Since(began).Round(time.Millisecond))
	return nil
}
