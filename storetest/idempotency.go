package storetest

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"tasksapi/idempotency"
	"tasksapi/task"
)

var idempotencyTests = []test{
	{"AWriteKeepsItsOutcomeInItsOwnTransaction", aWriteKeepsItsOutcomeInItsOwnTransaction},
	{"ExpiredOutcomesAreIgnoredThenRemovedInBatches", expiredOutcomesAreIgnoredThenRemovedInBatches},
	{"TwoRequestsOfOneKeyThatCannotSeeEachOthersClaimsWriteOnce", twoRequestsOfOneKeyThatCannotSeeEachOthersClaimsWriteOnce},
}

func newKeeper(s idempotency.Store, ttl time.Duration) *idempotency.Keeper {
	return idempotency.New(s, ttl, slog.New(slog.NewTextHandler(io.Discard, nil)))
}

func aWriteKeepsItsOutcomeInItsOwnTransaction(t *testing.T, h Harness) {
	s, _, _ := h.New(t)
	ctx := OrgContext(t, s, "Acme")
	k := newKeeper(s, time.Hour)
	claim := func(key string) context.Context {
		c, release, err := k.Begin(ctx, key, idempotency.Fingerprint("POST", "/v1/tasks", []byte(key)))
		if err != nil {
			t.Fatalf("Begin(%q): %v", key, err)
		}
		t.Cleanup(release)
		return c
	}
	created, err := s.CreateTask(claim("create"), Simple(t, "kept"))
	if err != nil {
		t.Fatal(err)
	}
	changed, err := s.UpdateTask(claim("change"), created.ID, task.UpdateInput{Title: task.To("changed")}, task.AnyVersion())
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.UpdateTask(claim("refused"), created.ID, task.UpdateInput{Title: task.Clear[string]()}, task.AnyVersion())
	WantCode(t, err, task.CodeInvalid)

	for _, c := range []struct {
		key  string
		want *task.Task
	}{{"create", &created}, {"change", &changed}, {"refused", nil}} {
		rec, found, err := s.IdempotencyRecord(ctx, keyID(t, ctx), c.key, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if c.want == nil {
			if found {
				t.Errorf("key %q: the store kept the outcome of a refused write (its interface keeps refusals)", c.key)
			}
			continue
		}
		if !found {
			t.Fatalf("key %q: no outcome kept", c.key)
		}
		o, err := idempotency.DecodeOutcome(rec.Outcome)
		if err != nil {
			t.Fatal(err)
		}
		if o.Task == nil || len(DiffTask(*o.Task, *c.want)) > 0 {
			t.Errorf("key %q kept %+v, want %+v", c.key, o.Task, c.want)
		}
	}
	// Once all have expired, removing them counts every outcome kept.
	if n, err := s.DeleteExpiredIdempotencyRecords(ctx, time.Now().Add(2*time.Hour), 100); err != nil || n != 2 {
		t.Errorf("%d outcomes kept (%v), want 2", n, err)
	}
}

func expiredOutcomesAreIgnoredThenRemovedInBatches(t *testing.T, h Harness) {
	s, _, _ := h.New(t)
	ctx := OrgContext(t, s, "Acme")
	k := newKeeper(s, time.Minute)
	now := time.Now()
	k.Now = func() time.Time { return now }
	for i := range 7 {
		c, release, err := k.Begin(ctx, fmt.Sprint("key-", i), []byte("fp"))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.CreateTask(c, Simple(t, "x")); err != nil {
			t.Fatal(err)
		}
		release()
	}
	later := now.Add(time.Minute)
	if _, found, _ := s.IdempotencyRecord(ctx, keyID(t, ctx), "key-0", later); found {
		t.Errorf("an expired outcome was found")
	}
	if _, found, _ := s.IdempotencyRecord(ctx, keyID(t, ctx), "key-0", now); !found {
		t.Errorf("a live outcome was not found")
	}
	if n, err := s.DeleteExpiredIdempotencyRecords(ctx, now, 5); err != nil || n != 0 {
		t.Errorf("removing expired outcomes before they expire removed %d (%v)", n, err)
	}
	if n, err := s.DeleteExpiredIdempotencyRecords(ctx, later, 5); err != nil || n != 5 {
		t.Errorf("the first batch removed %d (%v), want 5", n, err)
	}
	if n, err := s.DeleteExpiredIdempotencyRecords(ctx, later, 5); err != nil || n != 2 {
		t.Errorf("the second batch removed %d (%v), want 2", n, err)
	}
	if n, err := s.DeleteExpiredIdempotencyRecords(ctx, later.Add(time.Hour), 100); err != nil || n != 0 {
		t.Errorf("%d outcomes left (%v), want none", n, err)
	}
}

func twoRequestsOfOneKeyThatCannotSeeEachOthersClaimsWriteOnce(t *testing.T, h Harness) {
	// Two keepers are two servers: neither sees the other's running claim.
	s, _, _ := h.New(t)
	ctx := OrgContext(t, s, "Acme")
	fp := idempotency.Fingerprint("POST", "/v1/tasks", []byte("same"))
	first, release1, err := newKeeper(s, time.Hour).Begin(ctx, "k", fp)
	if err != nil {
		t.Fatal(err)
	}
	defer release1()
	second, release2, err := newKeeper(s, time.Hour).Begin(ctx, "k", fp)
	if err != nil {
		t.Fatal(err)
	}
	defer release2()
	if _, err := s.CreateTask(first, Simple(t, "once")); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateTask(second, Simple(t, "once")); err == nil {
		t.Errorf("the second request of the key was written too")
	}
	if n := MustList(t, ctx, s, task.ListParams{}).TotalRecords; n != 1 {
		t.Errorf("%d tasks stored, want 1", n)
	}
}
