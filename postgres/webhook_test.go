package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"tasksapi/access"
	"tasksapi/feed"
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

// mortal is a server's store as seen by a server that may die rather
// than shut down: unless it releases, it keeps its leases when it stops,
// and once cut off, its claims fail while what it had under way still
// reaches the database.
type mortal struct {
	*postgres.Store
	releases bool
	cutOff   atomic.Bool
}

func (m *mortal) ReleaseWebhooks(ctx context.Context, owner string) error {
	if !m.releases {
		return nil
	}
	return m.Store.ReleaseWebhooks(ctx, owner)
}

func (m *mortal) ClaimWebhooks(ctx context.Context, owner string, ttl time.Duration) ([]int, error) {
	if m.cutOff.Load() {
		return nil, errors.New("cut off from the database")
	}
	return m.Store.ClaimWebhooks(ctx, owner, ttl)
}

// endpoint is a real receiver of every webhook, taking a little while to
// answer each request, that notes what each webhook was sent, when, and
// whether one webhook was ever sent two requests at once.
type endpoint struct {
	*httptest.Server
	mu       sync.Mutex
	inFlight map[int]int
	parallel []string
	seqs     map[int][]int64     // by webhook, in the order they came
	at       map[int][]time.Time // when each came
}

func newEndpoint(t *testing.T) *endpoint {
	e := &endpoint{inFlight: map[int]int{}, seqs: map[int][]int64{}, at: map[int][]time.Time{}}
	e.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var hook int
		var seq int64
		if _, err := fmt.Sscanf(r.Header.Get(webhook.HeaderID), "msg_%d_%d", &hook, &seq); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		e.mu.Lock()
		e.inFlight[hook]++
		if e.inFlight[hook] > 1 {
			e.parallel = append(e.parallel, r.Header.Get(webhook.HeaderID))
		}
		e.seqs[hook] = append(e.seqs[hook], seq)
		e.at[hook] = append(e.at[hook], time.Now())
		e.mu.Unlock()
		time.Sleep(20 * time.Millisecond)
		e.mu.Lock()
		e.inFlight[hook]--
		e.mu.Unlock()
	}))
	t.Cleanup(e.Close)
	return e
}

// received is what the webhook was sent, each change once, in order.
func (e *endpoint) received(hook int) []int64 {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Compact(slices.Clone(e.seqs[hook])) // at least once: a cut-off attempt is sent again
}

// longestWait is the longest time the webhook went without a request.
func (e *endpoint) longestWait(hook int) time.Duration {
	e.mu.Lock()
	defer e.mu.Unlock()
	var longest time.Duration
	for i := 1; i < len(e.at[hook]); i++ {
		longest = max(longest, e.at[hook][i].Sub(e.at[hook][i-1]))
	}
	return longest
}

func TestEachWebhookIsSentByOneServerAndAnotherTakesOverWhenItGoes(t *testing.T) {
	// The bounds leave room for a loaded machine, and still tell a
	// server that hands its webhooks over (well within the lease) from
	// one whose lease must run out first.
	const ttl = 3 * time.Second
	tests := []struct {
		name     string
		releases bool
		die      func(d *webhook.Dispatcher, m *mortal)
		within   time.Duration // the longest a webhook may go without a request
	}{
		{"a server that shuts down", true, func(d *webhook.Dispatcher, _ *mortal) { d.Close() }, ttl / 2},
		{"a server that stops without releasing its webhooks", false, func(d *webhook.Dispatcher, _ *mortal) { d.Close() },
			ttl + time.Second},
		{"a server cut off from the database", false, func(_ *webhook.Dispatcher, m *mortal) { m.cutOff.Store(true) },
			ttl + time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, stores := servers(t, 2)
			acme := orgOf(t, stores[0], "Acme")
			rc := newEndpoint(t)
			var hooks []int
			for i := range 3 {
				hooks = append(hooks, addWebhook(t, acme, stores[0], fmt.Sprintf("%s/%d", rc.URL, i)).ID)
			}
			start := func(s webhook.Store, reader *postgres.Store) *webhook.Dispatcher {
				hub := feed.NewHub(reader)
				reader.OnCommit(hub.Committed)
				d := webhook.NewDispatcher(s, hub, webhook.Options{AllowPrivate: true, LeaseTTL: ttl,
					ReloadEvery: 50 * time.Millisecond, Schedule: []time.Duration{10 * time.Millisecond},
					Encode: func(c *feed.Change) []byte { return fmt.Appendf(nil, `{"seq":%d}`, c.Seq) },
					Log:    slog.New(slog.DiscardHandler)})
				d.Start()
				t.Cleanup(d.Close)
				return d
			}
			write := func(s *postgres.Store) {
				if _, err := s.CreateTask(acme, task.CreateInput{Title: "Call Sarah", ContactID: new(1),
					StartDatetime: task.NewDateTime(time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC))}); err != nil {
					t.Fatal(err)
				}
			}

			// The first server holds every webhook before the second starts.
			first := &mortal{Store: stores[0], releases: tt.releases}
			dying := start(first, stores[0])
			write(stores[0])
			waitFor(t, "the first change sent by the first server", func() bool {
				for _, id := range hooks {
					if len(rc.received(id)) == 0 {
						return false
					}
				}
				return true
			})
			start(stores[1], stores[1])
			// Writes through both servers, before, during and after the death.
			for i := range 100 {
				if i == 30 {
					tt.die(dying, first)
				}
				write(stores[i%2])
				time.Sleep(20 * time.Millisecond)
			}

			page, err := stores[1].Changes(acme, feed.Query{Limit: 1000})
			if err != nil {
				t.Fatal(err)
			}
			var all []int64
			for _, c := range page.Changes {
				all = append(all, c.Seq)
			}
			for _, id := range hooks {
				waitFor(t, "every change sent", func() bool { return len(rc.received(id)) == len(all) })
				if got := rc.received(id); !slices.Equal(got, all) {
					t.Errorf("webhook %d was sent %v, want every change in order: %v", id, got, all)
				}
				if wait := rc.longestWait(id); wait > tt.within {
					t.Errorf("webhook %d went %v without a request, want the other server to take over within %v",
						id, wait, tt.within)
				}
			}
			rc.mu.Lock()
			defer rc.mu.Unlock()
			if len(rc.parallel) > 0 {
				t.Errorf("these were sent while another attempt of their webhook was under way: %v", rc.parallel)
			}
		})
	}
}

// waitFor waits up to 10 s for cond, failing the test with what if it
// never holds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting: %s", what)
		}
	}
}
