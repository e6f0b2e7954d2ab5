package postgres_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"tasksapi/access"
	"tasksapi/postgres"
	"tasksapi/task"
	"tasksapi/webhook"
)

// orgOf acts for a new key of the named organisation, as an authenticated
// request does.
func orgOf(t *testing.T, s *postgres.Store, name string) context.Context {
	t.Helper()
	creds, err := access.NewKey(t.Context(), s, name, "test key")
	if err != nil {
		t.Fatal(err)
	}
	return access.WithPrincipal(t.Context(), access.Principal{OrganisationID: creds.OrganisationID, KeyID: creds.KeyID})
}

func addWebhook(t *testing.T, ctx context.Context, s *postgres.Store, url string) webhook.Webhook {
	t.Helper()
	w, err := s.CreateWebhook(ctx, webhook.NewWebhook{URL: url, Secret: webhook.NewSecret()})
	if err != nil {
		t.Fatalf("CreateWebhook(%q): %v", url, err)
	}
	return w
}

func claim(t *testing.T, s *postgres.Store, owner string, ttl time.Duration) []int {
	t.Helper()
	ids, err := s.ClaimWebhooks(t.Context(), owner, ttl)
	if err != nil {
		t.Fatalf("ClaimWebhooks(%s): %v", owner, err)
	}
	return ids
}

func TestServersCreatingWebhooksAtOnceStayWithinTheLimit(t *testing.T) {
	_, stores := servers(t, 2)
	acme := orgOf(t, stores[0], "Acme")
	const tries = 2 * webhook.MaxPerOrganisation
	errs := make([]error, tries)
	var wg sync.WaitGroup
	for i := range tries {
		wg.Go(func() {
			_, errs[i] = stores[i%2].CreateWebhook(acme, webhook.NewWebhook{
				URL: fmt.Sprintf("https://example.com/%d", i), Secret: webhook.NewSecret()})
		})
	}
	wg.Wait()
	made := 0
	for _, err := range errs {
		switch task.ErrorCode(err) {
		case task.CodeInvalid:
		case task.CodeInternal:
			if err != nil {
				t.Fatalf("CreateWebhook: %v", err)
			}
			made++
		default:
			t.Fatalf("CreateWebhook: %v", err)
		}
	}
	hooks, err := stores[1].Webhooks(acme)
	if err != nil {
		t.Fatal(err)
	}
	if made != webhook.MaxPerOrganisation || len(hooks) != webhook.MaxPerOrganisation {
		t.Errorf("%d creates succeeded and %d webhooks are stored, want %d of each", made, len(hooks), webhook.MaxPerOrganisation)
	}
}

func TestALeaseGoesToOneServerAtATime(t *testing.T) {
	const ttl = 500 * time.Millisecond
	tests := []struct {
		name string
		// before acts on the webhook w, first claimed by server a.
		before func(t *testing.T, s *postgres.Store, ctx context.Context, w webhook.Webhook)
		want   string // who holds w after b then a claim: "a", "b" or ""
	}{
		{"a held lease is not given to another server", func(*testing.T, *postgres.Store, context.Context, webhook.Webhook) {}, "a"},
		{"a lease its server renews outlasts its first ttl", func(t *testing.T, s *postgres.Store, _ context.Context, _ webhook.Webhook) {
			time.Sleep(ttl * 6 / 10)
			claim(t, s, "a", ttl) // past half its time: renewed
			time.Sleep(ttl * 6 / 10)
		}, "a"},
		{"a lease that ran out goes to the next server to claim", func(*testing.T, *postgres.Store, context.Context, webhook.Webhook) {
			time.Sleep(ttl + 100*time.Millisecond)
		}, "b"},
		{"a released lease goes to the next server at once", func(t *testing.T, s *postgres.Store, _ context.Context, _ webhook.Webhook) {
			if err := s.ReleaseWebhooks(t.Context(), "a"); err != nil {
				t.Fatal(err)
			}
		}, "b"},
		{"a deleted webhook is held by none", func(t *testing.T, s *postgres.Store, ctx context.Context, w webhook.Webhook) {
			if err := s.DeleteWebhook(ctx, w.ID); err != nil {
				t.Fatal(err)
			}
		}, ""},
		{"a disabled webhook is held by none", func(t *testing.T, s *postgres.Store, _ context.Context, w webhook.Webhook) {
			st, err := s.WebhookState(t.Context(), w.ID)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := s.RecordAttempt(t.Context(), w.ID, st.Generation, webhook.Attempt{Seq: 1, Number: 1,
				At: time.Now(), Error: "refused", NextAttempt: time.Now(), Disable: true, Holder: "a"}); err != nil {
				t.Fatal(err)
			}
		}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, stores := servers(t, 2)
			acme := orgOf(t, stores[0], "Acme")
			w := addWebhook(t, acme, stores[0], "https://example.com/hook")
			if got := claim(t, stores[0], "a", ttl); !slices.Equal(got, []int{w.ID}) {
				t.Fatalf("the first server claimed %v, want the new webhook %d", got, w.ID)
			}
			tt.before(t, stores[0], acme, w)
			byB := claim(t, stores[1], "b", ttl) // first, so that a cannot renew a lease that ran out
			holders := map[string][]int{"b": byB, "a": claim(t, stores[0], "a", ttl)}
			for who, ids := range holders {
				if holds, want := slices.Contains(ids, w.ID), who == tt.want; holds != want {
					t.Errorf("server %s holds %v, want the webhook held: %v", who, ids, want)
				}
			}
		})
	}
}

func TestServersClaimingAtOnceHoldEachWebhookOnce(t *testing.T) {
	_, stores := servers(t, 4)
	acme := orgOf(t, stores[0], "Acme")
	var ids []int
	for i := range webhook.MaxPerOrganisation {
		ids = append(ids, addWebhook(t, acme, stores[0], fmt.Sprintf("https://example.com/%d", i)).ID)
	}
	held := make([][]int, len(stores))
	var wg sync.WaitGroup
	for i, s := range stores {
		wg.Go(func() { held[i] = claim(t, s, fmt.Sprint("server ", i), time.Minute) })
	}
	wg.Wait()
	all := slices.Concat(held...)
	slices.Sort(all)
	if !slices.Equal(all, ids) {
		t.Errorf("the servers hold %v between them, want each of %v once", held, ids)
	}
}

func TestAnAttemptMovesTheWebhookOnlyForTheServerHoldingIt(t *testing.T) {
	tests := []struct {
		name   string
		holder string
		moves  bool
	}{
		{"an attempt by the server holding the lease moves the cursor", "a", true},
		{"an attempt by a server that lost the lease is recorded but moves nothing", "b", false},
		{"an attempt made under no lease moves the cursor, as with one server", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, stores := servers(t, 1)
			s := stores[0]
			acme := orgOf(t, s, "Acme")
			w := addWebhook(t, acme, s, "https://example.com/hook")
			claim(t, s, "a", time.Minute)
			st, err := s.RecordAttempt(t.Context(), w.ID, 0, webhook.Attempt{Seq: w.LastDeliveredSeq + 1, Number: 1,
				At: time.Now(), StatusCode: 200, Holder: tt.holder})
			if err != nil {
				t.Fatal(err)
			}
			if moved := st.LastDeliveredSeq != w.LastDeliveredSeq; moved != tt.moves {
				t.Errorf("the cursor went from %d to %d; want it moved: %v", w.LastDeliveredSeq, st.LastDeliveredSeq, tt.moves)
			}
			if got, err := s.WebhookDeliveries(acme, w.ID, 10); err != nil || len(got) != 1 {
				t.Errorf("%d attempts listed (%v), want the one recorded", len(got), err)
			}
		})
	}
}
