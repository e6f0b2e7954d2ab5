package postgres_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"tasksapi/access"
	"tasksapi/feed"
	"tasksapi/postgres"
	"tasksapi/task"
)

// inGroup runs writes, each in a goroutine of its own, while s's writer is
// held, queued in the order given, then lets them commit together, and
// returns their errors.
func inGroup(t *testing.T, s *postgres.Store, writes ...func() error) []error {
	t.Helper()
	release := postgres.HoldWriter(s)
	defer release()
	errs := make([]error, len(writes))
	var wg sync.WaitGroup
	for i, w := range writes {
		wg.Go(func() { errs[i] = w() })
		postgres.AwaitQueued(t, s, i+1)
	}
	release()
	wg.Wait()
	return errs
}

func create(s *postgres.Store, ctx context.Context, i int) func() error {
	return func() error { _, err := s.CreateTask(ctx, newTaskInput(i)); return err }
}

func retitle(s *postgres.Store, ctx context.Context, id int, title string, expect task.Expect) func() error {
	return func() error {
		_, err := s.UpdateTask(ctx, id, task.UpdateInput{Title: task.To(title)}, expect)
		return err
	}
}

func TestWritesArrivingTogetherCommitInOneTransactionWithConsecutiveSeqs(t *testing.T) {
	url, stores := servers(t, 1)
	s := stores[0]
	acme, other := inOrganisation(t, s, "Acme"), inOrganisation(t, s, "Other")
	first, err := s.CreateTask(acme, newTaskInput(0))
	if err != nil {
		t.Fatal(err)
	}
	errs := inGroup(t, s, create(s, other, 1), create(s, acme, 2), retitle(s, acme, first.ID, "x", task.OneOf(1)),
		create(s, other, 3), func() error { _, err := s.DeleteTask(acme, first.ID, task.OneOf(2)); return err },
		create(s, acme, 4))
	for i, err := range errs {
		if err != nil {
			t.Errorf("write %d: %v", i, err)
		}
	}
	p, _ := access.FromContext(acme)
	if n := query[int64](t, url, "SELECT count(DISTINCT xmin::text) FROM task_changes WHERE NOT (organisation_id = $1 AND seq = 1)",
		p.OrganisationID); n != 1 {
		t.Errorf("the group's changes were written by %d transactions, want 1", n)
	}
	for name, ctx := range map[string]context.Context{"Acme": acme, "Other": other} {
		for i, c := range allChanges(t, s, ctx, 0) {
			if c.Seq != int64(i+1) {
				t.Errorf("%s: change %d has seq %d", name, i, c.Seq)
			}
		}
	}
	// Within Acme, the change of first and its delete keep their order.
	changes := allChanges(t, s, acme, 1)
	var ofFirst []feed.Type
	for _, c := range changes {
		if c.TaskID == first.ID {
			ofFirst = append(ofFirst, c.Type)
		}
	}
	if len(changes) != 4 || len(ofFirst) != 2 || ofFirst[0] != feed.Updated || ofFirst[1] != feed.Deleted {
		t.Errorf("Acme's group recorded %+v, want two creates, and first's change before its delete", changes)
	}
}

func TestAWriteOfAGroupFindsTheTaskAsTheGroupsEarlierWritesLeftIt(t *testing.T) {
	_, stores := servers(t, 1)
	s := stores[0]
	ctx := inOrganisation(t, s, "Acme")
	created, err := s.CreateTask(ctx, newTaskInput(1))
	if err != nil {
		t.Fatal(err)
	}
	errs := inGroup(t, s, retitle(s, ctx, created.ID, "second", task.OneOf(1)),
		retitle(s, ctx, created.ID, "third", task.OneOf(2)), retitle(s, ctx, created.ID, "stale", task.OneOf(1)))
	if errs[0] != nil || errs[1] != nil || task.ErrorCode(errs[2]) != task.CodeVersionConflict {
		t.Fatalf("changes answered %v, want nil, nil and a version conflict", errs)
	}
	changes := allChanges(t, s, ctx, 1)
	if len(changes) != 2 || changes[0].Task.Title != "second" || changes[1].Task.Title != "third" || changes[1].Task.Version != 3 {
		t.Errorf("changes %+v, want second (version 2), then third (version 3)", changes)
	}
}

func TestAWriteOfAGroupRefusedByARuleAnswersAloneAndTheRestCommit(t *testing.T) {
	url, stores := servers(t, 1)
	s := stores[0]
	ctx := inOrganisation(t, s, "Acme")
	created, err := s.CreateTask(ctx, newTaskInput(1))
	if err != nil {
		t.Fatal(err)
	}
	errs := inGroup(t, s, create(s, ctx, 3),
		retitle(s, ctx, created.ID, "", task.AnyVersion()),
		retitle(s, ctx, created.ID+100, "x", task.AnyVersion()),
		retitle(s, ctx, created.ID, "x", task.OneOf(7)),
		create(s, ctx, 4))
	want := []task.Code{"", task.CodeInvalid, task.CodeNotFound, task.CodeVersionConflict, ""}
	for i, err := range errs {
		if task.ErrorCode(err) != want[i] && (want[i] != "" || err != nil) {
			t.Errorf("write %d: %v, want code %q", i, err, want[i])
		}
	}
	if n := query[int64](t, url, "SELECT head_seq FROM organisations"); n != 3 {
		t.Errorf("head_seq %d, want 3: the first create and the group's two", n)
	}
}

func TestAWriteOfAGroupThatFailsFailsOnlyItself(t *testing.T) {
	url, stores := servers(t, 1)
	s := stores[0]
	ctx := inOrganisation(t, s, "Acme")
	p, _ := access.FromContext(ctx)
	keyed, _ := claimed(t, s, ctx, "k")
	conn, err := pgx.Connect(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	// Another server keeps an outcome under the key after this one claimed it.
	if _, err := conn.Exec(context.Background(), `INSERT INTO idempotency_keys
		(key_id, key, fingerprint, outcome, expires_at) VALUES ($1, 'k', '', '{}', $2)`,
		p.KeyID, time.Now().Add(time.Hour).Unix()); err != nil {
		t.Fatal(err)
	}
	errs := inGroup(t, s, create(s, ctx, 1), create(s, keyed, 2), create(s, ctx, 3))
	if errs[0] != nil || !errors.Is(errs[1], postgres.ErrKeyTaken) || errs[2] != nil {
		t.Errorf("creates answered %v, want nil, %v, nil", errs, postgres.ErrKeyTaken)
	}
	if n := count(t, url, "tasks"); n != 2 {
		t.Errorf("%d tasks, want 2", n)
	}
	if seqs := allChanges(t, s, ctx, 0); len(seqs) != 2 || seqs[1].Seq != 2 {
		t.Errorf("changes %+v, want seqs 1 and 2", seqs)
	}
}

func TestADeadlockOfAGroupWithAnotherTransactionFailsNoWrite(t *testing.T) {
	url, stores := servers(t, 1)
	s := stores[0]
	ctx := inOrganisation(t, s, "Acme")
	p, _ := access.FromContext(ctx)
	first, _ := claimed(t, s, ctx, "k1")
	second, _ := claimed(t, s, ctx, "k2")
	other, err := pgx.Connect(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close(context.Background())
	tx, err := other.Begin(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	insert := `INSERT INTO idempotency_keys (key_id, key, fingerprint, outcome, expires_at) VALUES ($1, $2, '', '{}', $3)`
	expires := time.Now().Add(time.Hour).Unix()
	if _, err := tx.Exec(context.Background(), insert, p.KeyID, "k2", expires); err != nil {
		t.Fatal(err)
	}
	// The group keeps k1, then waits for the other transaction's k2; the
	// other then waits for the group's k1.
	done := make(chan []error)
	go func() { done <- inGroup(t, s, create(s, first, 1), create(s, second, 2)) }()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		// Only sessions of this test's database: other tests share the
		// server. (A wait for another transaction's key is on its
		// transaction id, a lock of no database.)
		if query[int64](t, url, `SELECT count(*) FROM pg_locks
			WHERE NOT granted AND pid IN (SELECT pid FROM pg_stat_activity WHERE datname = current_database())`) > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the group never waited for the other transaction")
		}
	}
	if _, err := tx.Exec(context.Background(), insert, p.KeyID, "k1", expires); err != nil {
		t.Fatalf("the other transaction: %v", err) // PostgreSQL ends the group, which waited first
	}
	if err := tx.Rollback(context.Background()); err != nil {
		t.Fatal(err)
	}
	if errs := <-done; errs[0] != nil || errs[1] != nil {
		t.Errorf("creates answered %v, want both to commit", errs)
	}
	if n := count(t, url, "tasks"); n != 2 {
		t.Errorf("%d tasks, want 2", n)
	}
}

func TestCloseWaitsForQueuedWritesAndRefusesLaterOnes(t *testing.T) {
	url, stores := servers(t, 1)
	s := stores[0]
	ctx := inOrganisation(t, s, "Acme")
	release := postgres.HoldWriter(s)
	errs := make([]error, 5)
	var wg sync.WaitGroup
	for i := range errs {
		wg.Go(func() { errs[i] = create(s, ctx, i)() })
	}
	postgres.AwaitQueued(t, s, len(errs))
	closed := make(chan struct{})
	go func() { s.Close(); close(closed) }()
	select {
	case <-closed:
		t.Fatal("Close returned while writes were queued")
	case <-time.After(100 * time.Millisecond):
	}
	release()
	<-closed
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("write %d: %v", i, err)
		}
	}
	if n := count(t, url, "tasks"); n != len(errs) {
		t.Errorf("%d tasks, want %d", n, len(errs))
	}
	if _, err := s.UpdateTask(ctx, 1, task.UpdateInput{Title: task.To("x")}, task.AnyVersion()); err == nil {
		t.Error("a write after Close succeeded")
	}
}
