package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"strconv"
	"text/tabwriter"
	"time"

	"tasksapi/access"
	"tasksapi/sqlite"
	"tasksapi/store"
	"tasksapi/task"
	"tasksapi/webhook"
)

const webhooksUsage = `usage:
  server webhooks add --org NAME --url URL [--description TEXT] [--webhooks-allow-private] [--db PATH]
                                        add a webhook (and the organisation if new); prints its secret, this once
  server webhooks list [--db PATH]      list webhooks, never their secrets
  server webhooks remove ID [--db PATH] remove a webhook and its delivery attempts; a running server stops within a second`

// runWebhooks manages webhooks in the database a server uses (or will
// use). A running server finds what changed within a second
// (webhook.DefaultReloadEvery).
func runWebhooks(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return fmt.Errorf("webhooks needs a subcommand\n%s", webhooksUsage)
	}
	sub, args := args[0], args[1:]
	fs := flag.NewFlagSet("server webhooks "+sub, flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		dbPath, org, url string
		description      *string // nil: not given
		allowPrivate     bool
	)
	dbFlag(fs, &dbPath)
	wantArgs := 0
	switch sub {
	case "add":
		fs.StringVar(&org, "org", "", "organisation whose changes are sent, created if new (required)")
		fs.StringVar(&url, "url", "", "the http or https endpoint to POST each change to (required)")
		fs.Func("description", "what the webhook is for", func(s string) error {
			description = &s
			return nil
		})
		webhooksAllowPrivateFlag(fs, &allowPrivate)
	case "list":
	case "remove":
		wantArgs = 1
	default:
		return fmt.Errorf("unknown webhooks subcommand %q\n%s", sub, webhooksUsage)
	}
	positional, err := parseCommand(fs, args, getenv, wantArgs, webhooksUsage)
	if err != nil {
		return err
	}
	if sub == "add" && (org == "" || url == "") {
		return fmt.Errorf("--org and --url are required\n%s", webhooksUsage)
	}
	var id int
	if sub == "remove" {
		if id, err = task.ParseID("ID", positional[0]); err != nil {
			return err
		}
	}

	store, err := store.Open(ctx, dbPath, sqlite.SyncFull)
	if err != nil {
		return err
	}
	defer store.Close()
	switch sub {
	case "add":
		orgID, err := store.Organisation(ctx, org)
		if err != nil {
			return err
		}
		ctx = access.WithPrincipal(ctx, access.Principal{OrganisationID: orgID})
		created, err := webhook.NewService(store, allowPrivate, nil).Create(ctx,
			webhook.CreateInput{URL: url, Description: description})
		if err != nil {
			return err
		}
		return json.NewEncoder(stdout).Encode(struct {
			ID     int    `json:"id"`
			URL    string `json:"url"`
			Secret string `json:"secret"`
		}{created.Webhook.ID, created.Webhook.URL, created.Secret})
	case "list":
		states, err := store.WebhookStates(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tORGANISATION\tURL\tENABLED\tDELIVERED THROUGH\tFAILING SINCE\tCREATED\tDESCRIPTION")
		for _, w := range states {
			failing, desc := "-", "-"
			if w.FailingSince != nil {
				failing = w.FailingSince.Time().Format(time.RFC3339)
			}
			if w.Description != nil {
				desc = strconv.Quote(*w.Description)
			}
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%d\t%s\t%s\t%s\n", w.ID, w.Organisation, w.URL, yesNo(w.Enabled),
				w.LastDeliveredSeq, failing, w.CreatedAt.Time().Format(time.RFC3339), desc)
		}
		return tw.Flush()
	default: // remove
		// Any organisation's webhook: the command line manages the whole
		// database, as keys revoke does.
		w, err := store.WebhookState(ctx, id)
		if task.ErrorCode(err) == task.CodeNotFound {
			return fmt.Errorf("no webhook has the id %d", id)
		}
		if err != nil {
			return err
		}
		ctx = access.WithPrincipal(ctx, access.Principal{OrganisationID: w.OrganisationID})
		if err := webhook.NewService(store, true, nil).Delete(ctx, id); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "removed webhook %d (%s)\n", id, w.URL)
		return nil
	}
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}
