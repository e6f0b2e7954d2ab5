package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"tasksapi/access"
	"tasksapi/sqlite"
	"tasksapi/store"
)

const keysUsage = `usage:
  server keys create --org NAME [--name LABEL] [--db PATH]   create a key (and the organisation if new)
  server keys list [--db PATH]                               list keys, never their secrets
  server keys revoke ACCESS_KEY [--db PATH]                  revoke a key; a running server refuses it within a second`

// runKeys manages API keys in the database a server uses (or will use).
func runKeys(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return fmt.Errorf("keys needs a subcommand\n%s", keysUsage)
	}
	sub, args := args[0], args[1:]
	fs := flag.NewFlagSet("server keys "+sub, flag.ContinueOnError)
	fs.SetOutput(stderr)
	var dbPath, org, label string
	dbFlag(fs, &dbPath)
	wantArgs := 0
	switch sub {
	case "create":
		fs.StringVar(&org, "org", "", "organisation the key belongs to, created if new (required)")
		fs.StringVar(&label, "name", "", "a label to recognise the key by")
	case "list":
	case "revoke":
		wantArgs = 1
	default:
		return fmt.Errorf("unknown keys subcommand %q\n%s", sub, keysUsage)
	}
	positional, err := parseCommand(fs, args, getenv, wantArgs, keysUsage)
	if err != nil {
		return err
	}
	if sub == "create" && org == "" {
		return fmt.Errorf("--org is required\n%s", keysUsage)
	}

	store, err := store.Open(ctx, dbPath, sqlite.SyncFull)
	if err != nil {
		return err
	}
	defer store.Close()
	switch sub {
	case "create":
		creds, err := access.NewKey(ctx, store, org, label)
		if err != nil {
			return err
		}
		return json.NewEncoder(stdout).Encode(creds)
	case "list":
		keys, err := store.Keys(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tORGANISATION\tLABEL\tACCESS KEY\tCREATED\tLAST USED\tREVOKED")
		for _, k := range keys {
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\n", k.ID, k.Organisation, k.Label, k.AccessKey,
				k.CreatedAt.Format(time.RFC3339), timeOrDash(k.LastUsedAt), timeOrDash(k.RevokedAt))
		}
		return tw.Flush()
	default: // revoke
		if err := store.RevokeKey(ctx, positional[0]); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "revoked %s\n", positional[0])
		return nil
	}
}

// parseCommand reads a subcommand's settings from the environment, then
// its flags and exactly want positional arguments from args; a mistake
// is reported with usage.
func parseCommand(fs *flag.FlagSet, args []string, getenv func(string) string, want int, usage string) ([]string, error) {
	if err := setFromEnv(fs, getenv); err != nil {
		return nil, err
	}
	positional, err := parseInterleaved(fs, args)
	if err != nil {
		return nil, err
	}
	if len(positional) != want {
		return nil, fmt.Errorf("wrong number of arguments\n%s", usage)
	}
	return positional, nil
}

// parseInterleaved parses flags that may come before or after positional
// arguments ("revoke KEY --db x" as well as "revoke --db x KEY").
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			return positional, nil
		}
		positional = append(positional, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

func timeOrDash(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return t.Format(time.RFC3339)
}

// ensureFirstKey gives a new database a key, so that the first `go run .`
// can be tried at once: it prints the key, this once, with a curl line.
func ensureFirstKey(ctx context.Context, store access.Store, stderr io.Writer, baseURL string) error {
	if shared, ok := store.(interface {
		Exclusively(context.Context, func(context.Context) error) error
	}); ok {
		// Servers starting together on one new database make one key.
		return shared.Exclusively(ctx, func(ctx context.Context) error {
			return makeFirstKey(ctx, store, stderr, baseURL)
		})
	}
	return makeFirstKey(ctx, store, stderr, baseURL)
}

func makeFirstKey(ctx context.Context, store access.Store, stderr io.Writer, baseURL string) error {
	has, err := store.HasKeys(ctx)
	if err != nil || has {
		return err
	}
	creds, err := access.NewKey(ctx, store, "Default", "first key")
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, `
No API keys yet: created one for organisation "Default". Its secret is shown only this once.
  %s: %s
  %s: %s
Try it:
  curl -H '%s: %s' -H '%s: %s' %s/v1/tasks
Make more with: server keys create --org NAME

`, access.AccessKeyHeader, creds.AccessKey, access.SecretKeyHeader, creds.SecretKey,
		access.AccessKeyHeader, creds.AccessKey, access.SecretKeyHeader, creds.SecretKey, baseURL)
	return nil
}
