package sqlite_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"tasksapi/access"
	"tasksapi/idempotency"
	"tasksapi/sqlite"
	"tasksapi/task"
)

func mustUpdate(t *testing.T, ctx context.Context, s *sqlite.Store, id int, in task.UpdateInput) task.Task {
	t.Helper()
	got, err := s.UpdateTask(ctx, id, in, task.AnyVersion())
	if err != nil {
		t.Fatalf("UpdateTask(%d): %v", id, err)
	}
	return got
}

func mustGet(t *testing.T, ctx context.Context, s *sqlite.Store, id int) task.Task {
	t.Helper()
	got, err := s.Task(ctx, id)
	if err != nil {
		t.Fatalf("Task(%d): %v", id, err)
	}
	return got
}

func TestAChangeIsStoredAsItIsAnswered(t *testing.T) {
	s, clk, _ := newStore(t)
	ctx := orgContext(t, s, "Acme")
	created := mustCreate(t, ctx, s, simple(t, "Call Sarah"))
	clk.Advance(time.Hour)
	changed := mustUpdate(t, ctx, s, created.ID, task.UpdateInput{
		Title: task.To("Call Sarah back"), Status: task.To(task.StatusCompleted),
		EndDatetime: task.To(dt(t, "2026-03-02T10:00:00")), TagIDs: task.To([]int{3, 1}),
	})
	if d := diffTask(mustGet(t, ctx, s, created.ID), changed); len(d) > 0 {
		t.Errorf("the stored task differs from the answer: %v", d)
	}
	if changed.Version != 2 || changed.UpdatedAt == created.UpdatedAt || changed.CreatedAt != created.CreatedAt {
		t.Errorf("version %d, updatedAt %s (was %s), createdAt %s (was %s)", changed.Version,
			changed.UpdatedAt, created.UpdatedAt, changed.CreatedAt, created.CreatedAt)
	}
	if changed.CompletedAt == nil || *changed.CompletedAt != changed.UpdatedAt {
		t.Errorf("completedAt = %v, want the change's time %s", changed.CompletedAt, changed.UpdatedAt)
	}
	got := mustGet(t, ctx, s, created.ID)
	if got.Version != 2 || got.CompletedAt == nil || !slices.Equal(got.TagIDs, []int{3, 1}) || got.DueDate.String() != "2026-03-02" {
		t.Errorf("read back %+v", got)
	}
}

func TestAChangeThatAltersNothingWritesNothing(t *testing.T) {
	s, clk, path := newStore(t)
	ctx := orgContext(t, s, "Acme")
	created := mustCreate(t, ctx, s, simple(t, "Call Sarah"))
	before := writeVersionOf(t, path)
	clk.Advance(time.Hour)
	same := mustUpdate(t, ctx, s, created.ID, task.UpdateInput{Title: task.To("Call Sarah")})
	if same.Version != 1 || same.UpdatedAt != created.UpdatedAt {
		t.Errorf("answered version %d, updatedAt %s; want 1 and %s", same.Version, same.UpdatedAt, created.UpdatedAt)
	}
	if got := mustGet(t, ctx, s, created.ID); got.Version != 1 || got.UpdatedAt != created.UpdatedAt {
		t.Errorf("stored version %d, updatedAt %s", got.Version, got.UpdatedAt)
	}
	if after := writeVersionOf(t, path); after != before {
		t.Errorf("the organisation's write version moved from %d to %d: a row was written", before, after)
	}
}

// writeVersionOf sums every organisation's write version: it moves with
// every write of a task row.
func writeVersionOf(t *testing.T, path string) int {
	t.Helper()
	conn := rawDB(t, path)
	defer conn.Close()
	var v int
	if err := conn.QueryRow("SELECT sum(write_version) FROM organisations").Scan(&v); err != nil {
		t.Fatal(err)
	}
	return v
}

func TestRefusedChangesAndDeletesStoreNothing(t *testing.T) {
	s, _, _ := newStore(t)
	ctx := orgContext(t, s, "Acme")
	other := orgContext(t, s, "Globex")
	created := mustCreate(t, ctx, s, simple(t, "Call Sarah"))
	theirs := mustCreate(t, other, s, simple(t, "Globex's own"))
	tests := []struct {
		name  string
		write func() error
		code  task.Code
		id    int
	}{
		{"a change that breaks a rule", func() error {
			_, err := s.UpdateTask(ctx, created.ID, task.UpdateInput{Title: task.Clear[string](), Priority: task.To(task.PriorityUrgent)}, task.AnyVersion())
			return err
		}, task.CodeInvalid, created.ID},
		{"a change conditional on another version", func() error {
			_, err := s.UpdateTask(ctx, created.ID, task.UpdateInput{Title: task.To("x")}, task.OneOf(2))
			return err
		}, task.CodeVersionConflict, created.ID},
		{"a delete conditional on another version", func() error {
			_, err := s.DeleteTask(ctx, created.ID, task.OneOf(5))
			return err
		}, task.CodeVersionConflict, created.ID},
		{"a change of another organisation's task", func() error {
			_, err := s.UpdateTask(ctx, theirs.ID, task.UpdateInput{Title: task.To("mine now")}, task.AnyVersion())
			return err
		}, task.CodeNotFound, theirs.ID},
		{"a delete of another organisation's task", func() error {
			_, err := s.DeleteTask(ctx, theirs.ID, task.AnyVersion())
			return err
		}, task.CodeNotFound, theirs.ID},
		{"a change of a task that does not exist", func() error {
			_, err := s.UpdateTask(ctx, 999, task.UpdateInput{Title: task.To("x")}, task.AnyVersion())
			return err
		}, task.CodeNotFound, created.ID},
	}
	for _, tt := range tests {
		t.Run(tt.name+" is refused and stores nothing", func(t *testing.T) {
			owner := ctx
			if tt.id == theirs.ID {
				owner = other
			}
			before := mustGet(t, owner, s, tt.id)
			e := wantCode(t, tt.write(), tt.code)
			if tt.code == task.CodeVersionConflict && e.CurrentVersion != before.Version {
				t.Errorf("the conflict names version %d, want %d", e.CurrentVersion, before.Version)
			}
			if d := diffTask(mustGet(t, owner, s, tt.id), before); len(d) > 0 {
				t.Errorf("the task changed: %v", d)
			}
		})
	}
}

func TestADeletedTaskIsGoneFromEveryRead(t *testing.T) {
	s, _, _ := newStore(t)
	ctx := orgContext(t, s, "Acme")
	keep := mustCreate(t, ctx, s, simple(t, "keep me"))
	gone := mustCreate(t, ctx, s, simple(t, "delete me"))
	deleted, err := s.DeleteTask(ctx, gone.ID, task.OneOf(1))
	if err != nil {
		t.Fatalf("DeleteTask: %v", err)
	}
	if deleted.ID != gone.ID || deleted.Title != "delete me" {
		t.Errorf("DeleteTask answered %+v, want the task as it was", deleted)
	}
	_, err = s.Task(ctx, gone.ID)
	wantCode(t, err, task.CodeNotFound)
	search := "delete"
	for _, p := range []task.ListParams{{}, {Filter: task.Filter{Search: &search}}, {Filter: task.Filter{Status: ptr(task.StatusOpen)}}} {
		page := mustList(t, ctx, s, p)
		if slices.Contains(ids(page.Items), gone.ID) {
			t.Errorf("list %+v still holds the deleted task", p.Filter)
		}
		if want := len(page.Items); page.TotalRecords != want {
			t.Errorf("list %+v counts %d tasks, lists %d", p.Filter, page.TotalRecords, want)
		}
	}
	_, err = s.DeleteTask(ctx, gone.ID, task.AnyVersion())
	wantCode(t, err, task.CodeNotFound)
	next := mustCreate(t, ctx, s, simple(t, "after"))
	if next.ID <= gone.ID {
		t.Errorf("a new task got id %d, not above the deleted %d: ids must never be reused", next.ID, gone.ID)
	}
	if got := mustGet(t, ctx, s, keep.ID); got.Title != "keep me" {
		t.Errorf("the other task reads %+v", got)
	}
}

func TestTotalsStayExactThroughChangesAndDeletes(t *testing.T) {
	s, clk, path := newStore(t)
	ctx := orgContext(t, s, "Acme")
	other := orgContext(t, s, "Globex")
	countFixture(t, ctx, other, s)
	page := mustList(t, ctx, s, task.ListParams{PageSize: ptr(100)})
	for i, tk := range page.Items {
		clk.Advance(time.Second)
		switch i % 4 {
		case 0:
			mustUpdate(t, ctx, s, tk.ID, task.UpdateInput{Status: task.To(task.Status((i / 4) % 5)),
				Priority: task.To(task.PriorityUrgent), AssignedUserID: task.To(1 + i%2)})
		case 1:
			mustUpdate(t, ctx, s, tk.ID, task.UpdateInput{AssignedUserID: task.Clear[int](), Title: task.To(fmt.Sprintf("renamed %d", i))})
		case 2:
			if _, err := s.DeleteTask(ctx, tk.ID, task.AnyVersion()); err != nil {
				t.Fatal(err)
			}
		}
	}
	conn := rawDB(t, path)
	defer conn.Close()
	for _, tc := range countCases(t) {
		for _, c := range []struct {
			name string
			ctx  context.Context
		}{{"Acme", ctx}, {"Globex", other}} {
			want := rawTotal(t, conn, orgID(t, c.ctx), tc.filter)
			if got := mustList(t, c.ctx, s, task.ListParams{Filter: tc.filter}).TotalRecords; got != want {
				t.Errorf("the total of %s for %s = %d, want %d", tc.name, c.name, got, want)
			}
		}
	}
}

func TestSearchFollowsRenamedAndDeletedTasks(t *testing.T) {
	s, _, _ := newStore(t)
	ctx := orgContext(t, s, "Acme")
	renamed := mustCreate(t, ctx, s, simple(t, "Quarterly review"))
	deleted := mustCreate(t, ctx, s, simple(t, "Quarterly planning"))
	// Let the writer move both into the search index, so the change and
	// the delete must reach the index rather than only the unindexed tail.
	time.Sleep(500 * time.Millisecond)
	mustUpdate(t, ctx, s, renamed.ID, task.UpdateInput{Title: task.To("Annual summary")})
	if _, err := s.DeleteTask(ctx, deleted.ID, task.AnyVersion()); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		term string
		want []int
	}{{"quarterly", nil}, {"annual summ", []int{renamed.ID}}} {
		page := mustList(t, ctx, s, task.ListParams{Filter: task.Filter{Search: &c.term}})
		if got := ids(page.Items); !slices.Equal(got, c.want) || page.TotalRecords != len(c.want) {
			t.Errorf("search %q finds %v (total %d), want %v", c.term, got, page.TotalRecords, c.want)
		}
	}
}

func TestOfConditionalChangesOfOneVersionExactlyOneWins(t *testing.T) {
	s, _, _ := newStore(t)
	ctx := orgContext(t, s, "Acme")
	const writers, rounds = 16, 20
	for round := range rounds {
		created := mustCreate(t, ctx, s, simple(t, "contended"))
		var wins, conflicts atomic.Int32
		var wg sync.WaitGroup
		start := make(chan struct{})
		for w := range writers {
			wg.Go(func() {
				<-start
				var err error
				if w%2 == 0 {
					_, err = s.UpdateTask(ctx, created.ID, task.UpdateInput{Title: task.To(fmt.Sprintf("writer %d", w))}, task.OneOf(1))
				} else {
					_, err = s.DeleteTask(ctx, created.ID, task.OneOf(1))
				}
				switch code := task.ErrorCode(err); {
				case err == nil:
					wins.Add(1)
				case code == task.CodeVersionConflict, code == task.CodeNotFound: // lost to a change, or to a delete
					conflicts.Add(1)
				default:
					t.Errorf("writer %d: %v", w, err)
				}
			})
		}
		close(start)
		wg.Wait()
		if wins.Load() != 1 || conflicts.Load() != writers-1 {
			t.Fatalf("round %d: %d writers won and %d lost, want exactly 1 winner", round, wins.Load(), conflicts.Load())
		}
	}
}

func TestConcurrentChangesOfDifferentTasksAllLand(t *testing.T) {
	s, _, _ := newStore(t)
	ctx := orgContext(t, s, "Acme")
	const tasks, changes = 8, 25
	created := make([]task.Task, tasks)
	for i := range created {
		created[i] = mustCreate(t, ctx, s, simple(t, "counter"))
	}
	var wg sync.WaitGroup
	for i := range tasks {
		for range changes {
			wg.Go(func() {
				// Each change adds a tag: none may be lost to another.
				for {
					cur := mustGet(t, ctx, s, created[i].ID)
					tags := append(slices.Clone(cur.TagIDs), len(cur.TagIDs)+1)
					_, err := s.UpdateTask(ctx, cur.ID, task.UpdateInput{TagIDs: task.To(tags)}, task.OneOf(cur.Version))
					if task.ErrorCode(err) == task.CodeVersionConflict {
						continue // read again and retry, as a client would
					}
					if err != nil {
						t.Error(err)
					}
					return
				}
			})
		}
	}
	wg.Wait()
	for _, c := range created {
		got := mustGet(t, ctx, s, c.ID)
		if len(got.TagIDs) != changes || got.Version != changes+1 {
			t.Errorf("task %d has %d tags at version %d, want %d at %d", c.ID, len(got.TagIDs), got.Version, changes, changes+1)
		}
	}
}

func newKeeper(s *sqlite.Store, ttl time.Duration) *idempotency.Keeper {
	return idempotency.New(s, ttl, slog.New(slog.NewTextHandler(io.Discard, nil)))
}

func TestAWriteKeepsItsOutcomeInItsOwnTransaction(t *testing.T) {
	s, _, path := newStore(t)
	ctx := orgContext(t, s, "Acme")
	k := newKeeper(s, time.Hour)
	claim := func(key string) context.Context {
		c, release, err := k.Begin(ctx, key, idempotency.Fingerprint("POST", "/v1/tasks", []byte(key)))
		if err != nil {
			t.Fatalf("Begin(%q): %v", key, err)
		}
		t.Cleanup(release)
		return c
	}
	created, err := s.CreateTask(claim("create"), simple(t, "kept"))
	if err != nil {
		t.Fatal(err)
	}
	changed, err := s.UpdateTask(claim("change"), created.ID, task.UpdateInput{Title: task.To("changed")}, task.AnyVersion())
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.UpdateTask(claim("refused"), created.ID, task.UpdateInput{Title: task.Clear[string]()}, task.AnyVersion())
	wantCode(t, err, task.CodeInvalid)

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
		if o.Task == nil || len(diffTask(*o.Task, *c.want)) > 0 {
			t.Errorf("key %q kept %+v, want %+v", c.key, o.Task, c.want)
		}
	}
	if n := rawCount(t, path, "idempotency_keys"); n != 2 {
		t.Errorf("%d outcomes kept, want 2", n)
	}
}

func keyID(t *testing.T, ctx context.Context) int {
	t.Helper()
	p, ok := access.FromContext(ctx)
	if !ok {
		t.Fatal("no principal")
	}
	return p.KeyID
}

func TestExpiredOutcomesAreIgnoredThenRemovedInBatches(t *testing.T) {
	s, _, path := newStore(t)
	ctx := orgContext(t, s, "Acme")
	k := newKeeper(s, time.Minute)
	now := time.Now()
	k.Now = func() time.Time { return now }
	for i := range 7 {
		c, release, err := k.Begin(ctx, fmt.Sprint("key-", i), []byte("fp"))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.CreateTask(c, simple(t, "x")); err != nil {
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
	if n := rawCount(t, path, "idempotency_keys"); n != 0 {
		t.Errorf("%d outcomes left", n)
	}
}

func TestTwoRequestsOfOneKeyThatCannotSeeEachOthersClaimsWriteOnce(t *testing.T) {
	// Two keepers are two servers: neither sees the other's running claim.
	s, _, path := newStore(t)
	ctx := orgContext(t, s, "Acme")
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
	if _, err := s.CreateTask(first, simple(t, "once")); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateTask(second, simple(t, "once")); err == nil {
		t.Errorf("the second request of the key was written too")
	}
	if n := rawCount(t, path, "tasks"); n != 1 {
		t.Errorf("%d tasks stored, want 1", n)
	}
}

func TestCachedTotalsFollowChangesOfTitlesAndDates(t *testing.T) {
	s, _, _ := newStore(t)
	ctx := orgContext(t, s, "Acme")
	var ids []int
	for range 3 {
		ids = append(ids, mustCreate(t, ctx, s, simple(t, "Alpha review")).ID)
	}
	alpha, beta := "alpha", "beta"
	from, to := date(t, "2026-03-01"), date(t, "2026-03-01")
	total := func(f task.Filter) int { return mustList(t, ctx, s, task.ListParams{Filter: f}).TotalRecords }
	// Counted once and cached under the organisation's write version.
	if a, d := total(task.Filter{Search: &alpha}), total(task.Filter{DueDateFrom: &from, DueDateTo: &to}); a != 3 || d != 3 {
		t.Fatalf("before the changes: %d alpha, %d due on March 1st; want 3 and 3", a, d)
	}
	mustUpdate(t, ctx, s, ids[0], task.UpdateInput{Title: task.To("Beta review")})
	mustUpdate(t, ctx, s, ids[1], task.UpdateInput{EndDatetime: task.To(dt(t, "2026-03-05T10:00:00"))})
	for _, c := range []struct {
		name   string
		filter task.Filter
		want   int
	}{
		{"the old title", task.Filter{Search: &alpha}, 2},
		{"the new title", task.Filter{Search: &beta}, 1},
		{"the old due date", task.Filter{DueDateFrom: &from, DueDateTo: &to}, 2},
	} {
		if got := total(c.filter); got != c.want {
			t.Errorf("after the changes, the total of %s = %d, want %d", c.name, got, c.want)
		}
	}
}
