package storetest

import (
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"tasksapi/task"
)

var changeTests = []test{
	{"AChangeIsStoredAsItIsAnswered", aChangeIsStoredAsItIsAnswered},
	{"AChangeThatAltersNothingWritesNothing", aChangeThatAltersNothingWritesNothing},
	{"RefusedChangesAndDeletesStoreNothing", refusedChangesAndDeletesStoreNothing},
	{"ADeletedTaskIsGoneFromEveryRead", aDeletedTaskIsGoneFromEveryRead},
	{"SearchFollowsRenamedAndDeletedTasks", searchFollowsRenamedAndDeletedTasks},
	{"OfConditionalChangesOfOneVersionExactlyOneWins", ofConditionalChangesOfOneVersionExactlyOneWins},
	{"ConcurrentChangesOfDifferentTasksAllLand", concurrentChangesOfDifferentTasksAllLand},
}

func aChangeIsStoredAsItIsAnswered(t *testing.T, h Harness) {
	s, clk, _ := h.New(t)
	ctx := OrgContext(t, s, "Acme")
	created := MustCreate(t, ctx, s, Simple(t, "Call Sarah"))
	clk.Advance(time.Hour)
	changed := mustUpdate(t, ctx, s, created.ID, task.UpdateInput{
		Title: task.To("Call Sarah back"), Status: task.To(task.StatusCompleted),
		EndDatetime: task.To(DT(t, "2026-03-02T10:00:00")), TagIDs: task.To([]int{3, 1}),
	})
	if d := DiffTask(mustGet(t, ctx, s, created.ID), changed); len(d) > 0 {
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

func aChangeThatAltersNothingWritesNothing(t *testing.T, h Harness) {
	s, clk, _ := h.New(t)
	ctx := OrgContext(t, s, "Acme")
	created := MustCreate(t, ctx, s, Simple(t, "Call Sarah"))
	before := mustChanges(t, ctx, s, 0, 1).HeadSeq
	clk.Advance(time.Hour)
	same := mustUpdate(t, ctx, s, created.ID, task.UpdateInput{Title: task.To("Call Sarah")})
	if same.Version != 1 || same.UpdatedAt != created.UpdatedAt {
		t.Errorf("answered version %d, updatedAt %s; want 1 and %s", same.Version, same.UpdatedAt, created.UpdatedAt)
	}
	if got := mustGet(t, ctx, s, created.ID); got.Version != 1 || got.UpdatedAt != created.UpdatedAt {
		t.Errorf("stored version %d, updatedAt %s", got.Version, got.UpdatedAt)
	}
	if after := mustChanges(t, ctx, s, 0, 1).HeadSeq; after != before {
		t.Errorf("the feed's head moved from %d to %d: a change was recorded", before, after)
	}
}

func refusedChangesAndDeletesStoreNothing(t *testing.T, h Harness) {
	s, _, _ := h.New(t)
	ctx := OrgContext(t, s, "Acme")
	other := OrgContext(t, s, "Globex")
	created := MustCreate(t, ctx, s, Simple(t, "Call Sarah"))
	theirs := MustCreate(t, other, s, Simple(t, "Globex's own"))
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
			e := WantCode(t, tt.write(), tt.code)
			if tt.code == task.CodeVersionConflict && e.CurrentVersion != before.Version {
				t.Errorf("the conflict names version %d, want %d", e.CurrentVersion, before.Version)
			}
			if d := DiffTask(mustGet(t, owner, s, tt.id), before); len(d) > 0 {
				t.Errorf("the task changed: %v", d)
			}
		})
	}
}

func aDeletedTaskIsGoneFromEveryRead(t *testing.T, h Harness) {
	s, _, _ := h.New(t)
	ctx := OrgContext(t, s, "Acme")
	keep := MustCreate(t, ctx, s, Simple(t, "keep me"))
	gone := MustCreate(t, ctx, s, Simple(t, "delete me"))
	deleted, err := s.DeleteTask(ctx, gone.ID, task.OneOf(1))
	if err != nil {
		t.Fatalf("DeleteTask: %v", err)
	}
	if deleted.ID != gone.ID || deleted.Title != "delete me" {
		t.Errorf("DeleteTask answered %+v, want the task as it was", deleted)
	}
	_, err = s.Task(ctx, gone.ID)
	WantCode(t, err, task.CodeNotFound)
	search := "delete"
	for _, p := range []task.ListParams{{}, {Filter: task.Filter{Search: &search}}, {Filter: task.Filter{Status: Ptr(task.StatusOpen)}}} {
		page := MustList(t, ctx, s, p)
		if slices.Contains(IDs(page.Items), gone.ID) {
			t.Errorf("list %+v still holds the deleted task", p.Filter)
		}
		if want := len(page.Items); page.TotalRecords != want {
			t.Errorf("list %+v counts %d tasks, lists %d", p.Filter, page.TotalRecords, want)
		}
	}
	_, err = s.DeleteTask(ctx, gone.ID, task.AnyVersion())
	WantCode(t, err, task.CodeNotFound)
	next := MustCreate(t, ctx, s, Simple(t, "after"))
	if next.ID <= gone.ID {
		t.Errorf("a new task got id %d, not above the deleted %d: ids must never be reused", next.ID, gone.ID)
	}
	if got := mustGet(t, ctx, s, keep.ID); got.Title != "keep me" {
		t.Errorf("the other task reads %+v", got)
	}
}

func searchFollowsRenamedAndDeletedTasks(t *testing.T, h Harness) {
	s, _, _ := h.New(t)
	ctx := OrgContext(t, s, "Acme")
	renamed := MustCreate(t, ctx, s, Simple(t, "Quarterly review"))
	deleted := MustCreate(t, ctx, s, Simple(t, "Quarterly planning"))
	// Give a store that indexes titles in the background (SQLite's
	// writer) time to index both, so that the change and the delete must
	// reach the index rather than only the titles not yet indexed.
	time.Sleep(500 * time.Millisecond)
	mustUpdate(t, ctx, s, renamed.ID, task.UpdateInput{Title: task.To("Annual summary")})
	if _, err := s.DeleteTask(ctx, deleted.ID, task.AnyVersion()); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		term string
		want []int
	}{{"quarterly", nil}, {"annual summ", []int{renamed.ID}}} {
		page := MustList(t, ctx, s, task.ListParams{Filter: task.Filter{Search: &c.term}})
		if got := IDs(page.Items); !slices.Equal(got, c.want) || page.TotalRecords != len(c.want) {
			t.Errorf("search %q finds %v (total %d), want %v", c.term, got, page.TotalRecords, c.want)
		}
	}
}

func ofConditionalChangesOfOneVersionExactlyOneWins(t *testing.T, h Harness) {
	s, _, _ := h.New(t)
	ctx := OrgContext(t, s, "Acme")
	const writers, rounds = 16, 20
	for round := range rounds {
		created := MustCreate(t, ctx, s, Simple(t, "contended"))
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

func concurrentChangesOfDifferentTasksAllLand(t *testing.T, h Harness) {
	s, _, _ := h.New(t)
	ctx := OrgContext(t, s, "Acme")
	const tasks, changes = 8, 25
	created := make([]task.Task, tasks)
	for i := range created {
		created[i] = MustCreate(t, ctx, s, Simple(t, "counter"))
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
