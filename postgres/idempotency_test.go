package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"tasksapi/access"
	"tasksapi/idempotency"
	"tasksapi/postgres"
)

// claimed is ctx with a claim of key made by a keeper over s, as a
// request carrying the key has.
func claimed(t *testing.T, s *postgres.Store, ctx context.Context, key string) (context.Context, *idempotency.Claim) {
	t.Helper()
	k := idempotency.New(s, time.Hour, slog.New(slog.DiscardHandler))
	ctx, release, err := k.Begin(ctx, key, idempotency.Fingerprint("POST", "/v1/tasks", []byte(key)))
	if err != nil {
		t.Fatalf("Begin(%q): %v", key, err)
	}
	t.Cleanup(release)
	c, _ := idempotency.FromContext(ctx)
	return ctx, c
}

func TestAWriteWhoseKeyAnotherTransactionIsKeepingWaitsForIt(t *testing.T) {
	cases := []struct {
		name    string
		end     string // how the other transaction ends
		wantErr error
		tasks   int
	}{
		{"and fails, writing nothing, when it commits", "COMMIT", postgres.ErrKeyTaken, 0},
		{"and is written when it rolls back", "ROLLBACK", nil, 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			url, stores := servers(t, 1)
			s := stores[0]
			ctx := inOrganisation(t, s, "Acme")
			p, _ := access.FromContext(ctx)
			other, err := pgx.Connect(context.Background(), url)
			if err != nil {
				t.Fatal(err)
			}
			defer other.Close(context.Background())
			tx, err := other.Begin(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if _, err := tx.Exec(context.Background(), `INSERT INTO idempotency_keys
				(key_id, key, fingerprint, outcome, expires_at) VALUES ($1, 'k', '', '{}', $2)`,
				p.KeyID, time.Now().Add(time.Hour).Unix()); err != nil {
				t.Fatal(err)
			}
			ctx, _ = claimed(t, s, ctx, "k")
			done := make(chan error, 1)
			go func() {
				_, err := s.CreateTask(ctx, newTaskInput(1))
				done <- err
			}()
			select {
			case err := <-done:
				t.Fatalf("CreateTask returned (%v) while another transaction kept its key", err)
			case <-time.After(300 * time.Millisecond):
			}
			if _, err := tx.Exec(context.Background(), c.end); err != nil {
				t.Fatal(err)
			}
			if err := <-done; !errors.Is(err, c.wantErr) {
				t.Errorf("CreateTask: %v, want %v", err, c.wantErr)
			}
			if n := count(t, url, "tasks"); n != c.tasks {
				t.Errorf("%d tasks, want %d", n, c.tasks)
			}
			if n := count(t, url, "task_changes"); n != c.tasks {
				t.Errorf("%d changes, want %d", n, c.tasks)
			}
		})
	}
}

func TestServersRacingOneKeyWriteOnce(t *testing.T) {
	url, stores := servers(t, 2)
	ctx := inOrganisation(t, stores[0], "Acme")
	const rounds = 20
	for round := range rounds {
		key := fmt.Sprint("key-", round)
		var wg sync.WaitGroup
		for _, s := range stores {
			wg.Go(func() {
				ctx, c := claimed(t, s, ctx, key)
				if c.Replayed() {
					return // answered from the outcome the other kept
				}
				if _, err := s.CreateTask(ctx, newTaskInput(round)); err != nil && !errors.Is(err, postgres.ErrKeyTaken) {
					t.Errorf("CreateTask: %v", err)
				}
			})
		}
		wg.Wait()
	}
	if n := count(t, url, "tasks"); n != rounds {
		t.Errorf("%d tasks after %d rounds of two servers racing one key, want %d", n, rounds, rounds)
	}
	if n := count(t, url, "idempotency_keys"); n != rounds {
		t.Errorf("%d kept outcomes, want %d", n, rounds)
	}
}

func TestAWriteKeepsItsOutcomeWithTheWrite(t *testing.T) {
	_, stores := servers(t, 1)
	s := stores[0]
	ctx := inOrganisation(t, s, "Acme")
	p, _ := access.FromContext(ctx)
	claimCtx, c := claimed(t, s, ctx, "k")
	created, err := s.CreateTask(claimCtx, newTaskInput(1))
	if err != nil {
		t.Fatalf("CreateTask: %v", err)
	}
	rec, found, err := s.IdempotencyRecord(ctx, p.KeyID, "k", time.Now())
	if err != nil || !found {
		t.Fatalf("IdempotencyRecord: %v, found %v", err, found)
	}
	o, err := idempotency.DecodeOutcome(rec.Outcome)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := o.Result(); err != nil || got.ID != created.ID || string(rec.Fingerprint) != string(c.Fingerprint) {
		t.Errorf("kept %+v (%v) under fingerprint %x, want task %d under %x", got, err, rec.Fingerprint, created.ID, c.Fingerprint)
	}
}

func TestKeepingTheOutcomeOfARefusal(t *testing.T) {
	cases := []struct {
		name    string
		before  int64 // expiry of a record already kept, relative to the claim; 0 for none
		wantErr error
	}{
		{"under a new key keeps it", 0, nil},
		{"under a key whose outcome expired replaces it", -1, nil},
		{"under a key whose outcome is live fails", 3600, postgres.ErrKeyTaken},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			url, stores := servers(t, 1)
			s := stores[0]
			ctx := inOrganisation(t, s, "Acme")
			p, _ := access.FromContext(ctx)
			now := time.Now()
			if c.before != 0 {
				conn, err := pgx.Connect(context.Background(), url)
				if err != nil {
					t.Fatal(err)
				}
				_, err = conn.Exec(context.Background(), `INSERT INTO idempotency_keys
					(key_id, key, fingerprint, outcome, expires_at) VALUES ($1, 'k', 'old', 'old', $2)`, p.KeyID, now.Unix()+c.before)
				conn.Close(context.Background())
				if err != nil {
					t.Fatal(err)
				}
			}
			claim := &idempotency.Claim{KeyID: p.KeyID, Key: "k", Fingerprint: []byte("new"), At: now, Expires: now.Add(time.Hour)}
			if err := s.KeepOutcome(ctx, claim, []byte("refused")); !errors.Is(err, c.wantErr) {
				t.Errorf("KeepOutcome: %v, want %v", err, c.wantErr)
			}
			want := "refused"
			if c.wantErr != nil {
				want = "old"
			}
			if got := query[string](t, url, "SELECT convert_from(outcome, 'UTF8') FROM idempotency_keys"); got != want {
				t.Errorf("kept %q, want %q", got, want)
			}
		})
	}
}

func TestExpiredOutcomesAreRemovedInBatches(t *testing.T) {
	url, stores := servers(t, 1)
	s := stores[0]
	ctx := inOrganisation(t, s, "Acme")
	p, _ := access.FromContext(ctx)
	now := time.Now()
	for i, expires := range []time.Time{now.Add(-time.Hour), now.Add(-time.Minute), now, now.Add(time.Minute)} {
		claim := &idempotency.Claim{KeyID: p.KeyID, Key: fmt.Sprint(i), Fingerprint: []byte{1}, At: now.Add(-2 * time.Hour), Expires: expires}
		if err := s.KeepOutcome(ctx, claim, []byte("{}")); err != nil {
			t.Fatalf("KeepOutcome: %v", err)
		}
	}
	for _, want := range []int{2, 1, 0} {
		if n, err := s.DeleteExpiredIdempotencyRecords(ctx, now, 2); err != nil || n != want {
			t.Errorf("DeleteExpiredIdempotencyRecords: %d, %v; want %d", n, err, want)
		}
	}
	if n := count(t, url, "idempotency_keys"); n != 1 {
		t.Errorf("%d records left, want the one live", n)
	}
	if _, found, _ := s.IdempotencyRecord(ctx, p.KeyID, "2", now); found {
		t.Errorf("a record expiring now was found")
	}
}
