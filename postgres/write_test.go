package postgres_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"tasksapi/access"
	"tasksapi/feed"
	"tasksapi/postgres"
	"tasksapi/task"
)

// inOrganisation is a context of a key of a new organisation named name,
// made through s, as an authenticated request's context is.
func inOrganisation(t testing.TB, s *postgres.Store, name string) context.Context {
	t.Helper()
	creds, err := access.NewKey(context.Background(), s, name, "test key")
	if err != nil {
		t.Fatalf("access.NewKey(%q): %v", name, err)
	}
	return access.WithPrincipal(context.Background(), access.Principal{
		OrganisationID: creds.OrganisationID, KeyID: creds.KeyID, AccessKey: creds.AccessKey})
}

// newTaskInput is a valid create whose counted values vary with i.
func newTaskInput(i int) task.CreateInput {
	start, _ := task.ParseDateTime("2026-07-15T10:00:00")
	in := task.CreateInput{Title: fmt.Sprintf("Task %d", i), StartDatetime: start, ContactID: new(7),
		Status: new(task.Status(i % 5)), Priority: new(task.Priority(i / 5 % 5)), TagIDs: []int{i%3 + 1, 4}}
	if i%3 > 0 {
		in.AssignedUserID = new(i % 3)
	}
	return in
}

// query reads one value straight from the database at url.
func query[T any](t testing.TB, url, sql string, args ...any) T {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var v T
	if err := conn.QueryRow(context.Background(), sql, args...).Scan(&v); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return v
}

// allChanges reads every change of ctx's organisation after after.
func allChanges(t testing.TB, s *postgres.Store, ctx context.Context, after int64) []feed.Change {
	t.Helper()
	var all []feed.Change
	for {
		page, err := s.Changes(ctx, feed.Query{After: after, Limit: 1000})
		if err != nil {
			t.Fatalf("Changes(after %d): %v", after, err)
		}
		all = append(all, page.Changes...)
		after = page.LastSeq
		if !page.HasMore {
			return all
		}
	}
}

func TestTheChangeOfEachWriteCarriesTheTaskAsTheWriteAnsweredIt(t *testing.T) {
	_, stores := servers(t, 1)
	s := stores[0]
	s.Now = func() time.Time { return time.Date(2026, 7, 1, 8, 30, 0, 0, time.UTC) }
	ctx := inOrganisation(t, s, "Acme")
	in := newTaskInput(7)
	in.EndDatetime = new(in.StartDatetime)
	in.Description = new("Call back")
	created, err := s.CreateTask(ctx, in)
	if err != nil {
		t.Fatalf("CreateTask: %v", err)
	}
	s.Now = func() time.Time { return time.Date(2026, 7, 1, 9, 0, 0, 0, time.UTC) }
	changed, err := s.UpdateTask(ctx, created.ID, task.UpdateInput{Status: task.To(task.StatusOpen),
		EndDatetime: task.Clear[task.DateTime]()}, task.OneOf(1))
	if err != nil {
		t.Fatalf("UpdateTask: %v", err)
	}
	deleted, err := s.DeleteTask(ctx, created.ID, task.OneOf(2))
	if err != nil {
		t.Fatalf("DeleteTask: %v", err)
	}
	want := []feed.Change{
		{Seq: 1, Type: feed.Created, TaskID: created.ID, At: created.CreatedAt, Fields: []string{}, Task: &created},
		{Seq: 2, Type: feed.Updated, TaskID: created.ID, At: changed.UpdatedAt,
			Fields: []string{"completedAt", "endDatetime", "status"}, Task: &changed},
		{Seq: 3, Type: feed.Deleted, TaskID: created.ID, At: changed.UpdatedAt, Fields: []string{}},
	}
	got := allChanges(t, s, ctx, 0)
	if len(got) != len(want) {
		t.Fatalf("%d changes, want %d: %+v", len(got), len(want), got)
	}
	for i := range want {
		w, g := want[i], got[i]
		if g.Seq != w.Seq || g.Type != w.Type || g.TaskID != w.TaskID || g.At != w.At ||
			!reflect.DeepEqual(g.Fields, w.Fields) || !reflect.DeepEqual(g.Task, w.Task) {
			t.Errorf("change %d: %+v (task %+v),\nwant %+v (task %+v)", i, g, g.Task, w, w.Task)
		}
	}
	if deleted.Version != 2 {
		t.Errorf("DeleteTask answered version %d, want the task as it was (2)", deleted.Version)
	}
}

func TestAChangeThatAltersNothingWritesNothing(t *testing.T) {
	url, stores := servers(t, 1)
	s := stores[0]
	ctx := inOrganisation(t, s, "Acme")
	created, err := s.CreateTask(ctx, newTaskInput(1))
	if err != nil {
		t.Fatalf("CreateTask: %v", err)
	}
	s.Now = func() time.Time { return time.Now().Add(time.Hour) }
	same, err := s.UpdateTask(ctx, created.ID, task.UpdateInput{Title: task.To(created.Title)}, task.OneOf(1))
	if err != nil {
		t.Fatalf("UpdateTask: %v", err)
	}
	if !reflect.DeepEqual(same, created) {
		t.Errorf("UpdateTask answered %+v, want the task as it was, %+v", same, created)
	}
	if n := query[int64](t, url, "SELECT head_seq FROM organisations"); n != 1 {
		t.Errorf("head_seq %d after a change that altered nothing, want 1", n)
	}
	if v := query[int64](t, url, "SELECT version FROM tasks"); v != 1 {
		t.Errorf("stored version %d, want 1", v)
	}
}

func TestWritesRefusedByARuleWriteNothingAndAnswerTheRefusal(t *testing.T) {
	url, stores := servers(t, 1)
	s := stores[0]
	ctx := inOrganisation(t, s, "Acme")
	other := inOrganisation(t, s, "Other")
	created, err := s.CreateTask(ctx, newTaskInput(1))
	if err != nil {
		t.Fatalf("CreateTask: %v", err)
	}
	bad := newTaskInput(2)
	bad.Title = ""
	cases := []struct {
		name  string
		write func() error
		want  task.Code
	}{
		{"a create with a broken rule", func() error { _, err := s.CreateTask(ctx, bad); return err }, task.CodeInvalid},
		{"a change with a broken rule", func() error {
			_, err := s.UpdateTask(ctx, created.ID, task.UpdateInput{Title: task.Clear[string]()}, task.AnyVersion())
			return err
		}, task.CodeInvalid},
		{"a change of another version", func() error {
			_, err := s.UpdateTask(ctx, created.ID, task.UpdateInput{Title: task.To("x")}, task.OneOf(2))
			return err
		}, task.CodeVersionConflict},
		{"a delete of another version", func() error { _, err := s.DeleteTask(ctx, created.ID, task.OneOf(3)); return err }, task.CodeVersionConflict},
		{"a change of a missing task", func() error {
			_, err := s.UpdateTask(ctx, created.ID+1, task.UpdateInput{Title: task.To("x")}, task.AnyVersion())
			return err
		}, task.CodeNotFound},
		{"a change of another organisation's task", func() error {
			_, err := s.UpdateTask(other, created.ID, task.UpdateInput{Title: task.To("x")}, task.AnyVersion())
			return err
		}, task.CodeNotFound},
		{"a delete of another organisation's task", func() error { _, err := s.DeleteTask(other, created.ID, task.AnyVersion()); return err }, task.CodeNotFound},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := c.write()
			if code := task.ErrorCode(err); code != c.want {
				t.Errorf("error %v (code %s), want code %s", err, code, c.want)
			}
			if n := query[int64](t, url, "SELECT sum(head_seq) FROM organisations"); n != 1 {
				t.Errorf("head_seqs add up to %d, want the create's 1", n)
			}
			if v := query[int64](t, url, "SELECT version FROM tasks"); v != 1 {
				t.Errorf("stored version %d, want 1", v)
			}
		})
	}
}

func TestAVersionConflictNamesTheCurrentVersion(t *testing.T) {
	_, stores := servers(t, 1)
	s := stores[0]
	ctx := inOrganisation(t, s, "Acme")
	created, err := s.CreateTask(ctx, newTaskInput(1))
	if err != nil {
		t.Fatalf("CreateTask: %v", err)
	}
	_, err = s.DeleteTask(ctx, created.ID, task.OneOf(4, 5))
	if err == nil || err.Error() != task.VersionConflict(1).Error() || task.ErrorCode(err) != task.CodeVersionConflict {
		t.Fatalf("DeleteTask: %v, want %v", err, task.VersionConflict(1))
	}
}

func TestAStoreCallWithoutAnOrganisationFailsClosed(t *testing.T) {
	_, stores := servers(t, 1)
	s := stores[0]
	ctx := context.Background()
	calls := map[string]func() error{
		"CreateTask": func() error { _, err := s.CreateTask(ctx, newTaskInput(1)); return err },
		"UpdateTask": func() error { _, err := s.UpdateTask(ctx, 1, task.UpdateInput{}, task.AnyVersion()); return err },
		"DeleteTask": func() error { _, err := s.DeleteTask(ctx, 1, task.AnyVersion()); return err },
		"Changes":    func() error { _, err := s.Changes(ctx, feed.Query{Limit: 1}); return err },
	}
	for name, call := range calls {
		if err := call(); task.ErrorCode(err) != task.CodeInternal {
			t.Errorf("%s without a principal: %v, want an internal error", name, err)
		}
	}
}

// write is one write that committed, as its answer told it.
type write struct {
	typ     feed.Type
	id      int
	version int
}

// writeConcurrently has writers goroutines, spread over the stores, create,
// change and delete tasks of ctx's organisation for d, changing each
// other's tasks too, and returns the writes that committed. Every change
// alters a value, so every write records a change.
func writeConcurrently(t *testing.T, stores []*postgres.Store, ctx context.Context, writers int, d time.Duration) []write {
	t.Helper()
	var (
		mu      sync.Mutex
		ids     []int
		written []write
		wg      sync.WaitGroup
	)
	record := func(w write) {
		mu.Lock()
		written = append(written, w)
		mu.Unlock()
	}
	deadline := time.Now().Add(d)
	for w := range writers {
		wg.Go(func() {
			s := stores[w%len(stores)]
			r := rand.New(rand.NewPCG(uint64(w), 1))
			for n := 0; time.Now().Before(deadline); n++ {
				switch op := r.IntN(10); {
				case op < 5:
					created, err := s.CreateTask(ctx, newTaskInput(r.IntN(1000)))
					if err != nil {
						t.Errorf("CreateTask: %v", err)
						return
					}
					record(write{feed.Created, created.ID, 1})
					mu.Lock()
					ids = append(ids, created.ID)
					mu.Unlock()
				case op < 9:
					mu.Lock()
					if len(ids) == 0 {
						mu.Unlock()
						continue
					}
					id := ids[r.IntN(len(ids))]
					mu.Unlock()
					in := newTaskInput(r.IntN(1000))
					change := task.UpdateInput{Title: task.To(fmt.Sprintf("w%d n%d", w, n)),
						Status: task.To(*in.Status), Priority: task.To(*in.Priority)}
					if r.IntN(2) == 0 {
						change.AssignedUserID = task.To(r.IntN(3) + 1)
					} else {
						change.AssignedUserID = task.Clear[int]()
					}
					changed, err := s.UpdateTask(ctx, id, change, task.AnyVersion())
					if task.ErrorCode(err) == task.CodeNotFound {
						continue // deleted meanwhile
					}
					if err != nil {
						t.Errorf("UpdateTask: %v", err)
						return
					}
					record(write{feed.Updated, id, changed.Version})
				default:
					mu.Lock()
					if len(ids) == 0 {
						mu.Unlock()
						continue
					}
					i := r.IntN(len(ids))
					id := ids[i]
					ids = append(ids[:i], ids[i+1:]...)
					mu.Unlock()
					if _, err := s.DeleteTask(ctx, id, task.AnyVersion()); err != nil {
						t.Errorf("DeleteTask: %v", err)
						return
					}
					record(write{feed.Deleted, id, 0})
				}
			}
		})
	}
	wg.Wait()
	return written
}

func TestEveryReaderSeesEveryChangeCommittedByAnyServerOnceInSeqOrder(t *testing.T) {
	_, stores := servers(t, 2)
	ctx := inOrganisation(t, stores[0], "Acme")
	const readers = 4
	seen := make([][]feed.Change, readers)
	done := make(chan struct{})
	var wg sync.WaitGroup
	for r := range readers {
		wg.Go(func() {
			s := stores[r%2]
			var after int64
			for finished := false; ; {
				select {
				case <-done:
					finished = true // one more read: everything is committed now
				default:
				}
				page, err := s.Changes(ctx, feed.Query{After: after, Limit: 10 + 17*r})
				if err != nil {
					t.Errorf("Changes: %v", err)
					return
				}
				for _, c := range page.Changes {
					if c.Seq <= after {
						t.Errorf("reader %d: seq %d after seq %d", r, c.Seq, after)
					}
					after = c.Seq
				}
				seen[r] = append(seen[r], page.Changes...)
				if finished && !page.HasMore {
					return
				}
			}
		})
	}
	written := writeConcurrently(t, stores, ctx, 16, 3*time.Second)
	close(done)
	wg.Wait()

	want := map[write]int{}
	for _, w := range written {
		want[w]++
	}
	t.Logf("%d writes committed", len(written))
	for r, changes := range seen {
		got := map[write]int{}
		for i, c := range changes {
			if c.Seq != int64(i+1) {
				t.Errorf("reader %d: change %d has seq %d, want %d: the seqs of an organisation are consecutive", r, i, c.Seq, i+1)
				break
			}
			w := write{c.Type, c.TaskID, 0}
			if c.Task != nil {
				w.version = c.Task.Version
			}
			got[w]++
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("reader %d saw %d changes, want each of the %d committed writes once", r, len(changes), len(written))
		}
	}
}

func TestTotalsStayExactUnderConcurrentWritesOnTwoServers(t *testing.T) {
	url, stores := servers(t, 2)
	ctx := inOrganisation(t, stores[0], "Acme")
	writeConcurrently(t, stores, ctx, 16, 2*time.Second)
	cases := []struct{ name, sql string }{
		{"by status and priority", `SELECT count(*) FROM
			(SELECT organisation_id, status, priority, count(*) AS n FROM tasks GROUP BY 1, 2, 3) counted
			FULL JOIN (SELECT * FROM task_counts WHERE n <> 0) kept USING (organisation_id, status, priority)
			WHERE counted.n IS DISTINCT FROM kept.n`},
		{"by assignee, status and priority", `SELECT count(*) FROM
			(SELECT organisation_id, assigned_user_id, status, priority, count(*) AS n FROM tasks
			 WHERE assigned_user_id IS NOT NULL GROUP BY 1, 2, 3, 4) counted
			FULL JOIN (SELECT * FROM task_counts_by_user WHERE n <> 0) kept
			USING (organisation_id, assigned_user_id, status, priority)
			WHERE counted.n IS DISTINCT FROM kept.n`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if n := query[int64](t, url, c.sql); n != 0 {
				t.Errorf("%d counts differ from the tasks counted", n)
			}
		})
	}
}

func TestOfConcurrentWritesConditionalOnOneVersionExactlyOneWins(t *testing.T) {
	cases := []struct {
		name  string
		write func(s *postgres.Store, ctx context.Context, id, i int) error
	}{
		{"changes", func(s *postgres.Store, ctx context.Context, id, i int) error {
			_, err := s.UpdateTask(ctx, id, task.UpdateInput{Title: task.To(fmt.Sprint("Title ", i))}, task.OneOf(1))
			return err
		}},
		{"deletes", func(s *postgres.Store, ctx context.Context, id, i int) error {
			_, err := s.DeleteTask(ctx, id, task.OneOf(1))
			return err
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, stores := servers(t, 2)
			ctx := inOrganisation(t, stores[0], "Acme")
			created, err := stores[0].CreateTask(ctx, newTaskInput(1))
			if err != nil {
				t.Fatalf("CreateTask: %v", err)
			}
			errs := make([]error, 16)
			var wg sync.WaitGroup
			for i := range errs {
				wg.Go(func() { errs[i] = c.write(stores[i%2], ctx, created.ID, i) })
			}
			wg.Wait()
			won := 0
			for _, err := range errs {
				switch task.ErrorCode(err) {
				case task.CodeVersionConflict, task.CodeNotFound:
				default:
					if err != nil {
						t.Errorf("unexpected error: %v", err)
					}
					won++
				}
			}
			if won != 1 {
				t.Errorf("%d writes won, want 1", won)
			}
			if changes := allChanges(t, stores[1], ctx, 0); len(changes) != 2 {
				t.Errorf("%d changes, want the create's and the winner's", len(changes))
			}
		})
	}
}

func TestIdsAreNeverGivenTwice(t *testing.T) {
	_, stores := servers(t, 1)
	s := stores[0]
	ctx := inOrganisation(t, s, "Acme")
	first, err := s.CreateTask(ctx, newTaskInput(1))
	if err != nil {
		t.Fatalf("CreateTask: %v", err)
	}
	if _, err := s.DeleteTask(ctx, first.ID, task.AnyVersion()); err != nil {
		t.Fatalf("DeleteTask: %v", err)
	}
	second, err := s.CreateTask(ctx, newTaskInput(2))
	if err != nil {
		t.Fatalf("CreateTask: %v", err)
	}
	if second.ID <= first.ID {
		t.Errorf("a task created after task %d was deleted got id %d", first.ID, second.ID)
	}
}
