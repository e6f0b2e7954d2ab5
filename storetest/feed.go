package storetest

import (
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"tasksapi/feed"
	"tasksapi/task"
)

var feedTests = []test{
	{"EveryWriteRecordsOneChange", everyWriteRecordsOneChange},
	{"ReadingTheFeedByPages", readingTheFeedByPages},
	{"AnOrganisationWithoutChangesHasHeadZero", anOrganisationWithoutChangesHasHeadZero},
	{"OldChangesAreRemovedAndAReadFromBeforeThemIsRefused", oldChangesAreRemovedAndAReadFromBeforeThemIsRefused},
	{"ReadersOfTheFeedSeeEveryCommittedChangeOnceInOrder", readersOfTheFeedSeeEveryCommittedChangeOnceInOrder},
}

func everyWriteRecordsOneChange(t *testing.T, h Harness) {
	s, clk, _ := h.New(t)
	ctx := OrgContext(t, s, "Acme")
	created := MustCreate(t, ctx, s, Simple(t, "Call Sarah"))
	clk.Advance(time.Minute)
	changed := mustUpdate(t, ctx, s, created.ID, task.UpdateInput{Status: task.To(task.StatusCompleted),
		EndDatetime: task.To(DT(t, "2026-03-03T09:00:00"))})
	mustUpdate(t, ctx, s, created.ID, task.UpdateInput{Status: task.To(task.StatusCompleted)}) // alters nothing
	_, err := s.UpdateTask(ctx, created.ID, task.UpdateInput{Title: task.Clear[string]()}, task.AnyVersion())
	WantCode(t, err, task.CodeInvalid)
	_, err = s.DeleteTask(ctx, created.ID, task.OneOf(1))
	WantCode(t, err, task.CodeVersionConflict)
	clk.Advance(time.Minute)
	if _, err := s.DeleteTask(ctx, created.ID, task.AnyVersion()); err != nil {
		t.Fatal(err)
	}

	page := mustChanges(t, ctx, s, 0, 100)
	if len(page.Changes) != 3 {
		t.Fatalf("%d changes recorded, want 3 (create, change, delete): %+v", len(page.Changes), page.Changes)
	}
	c, u, d := page.Changes[0], page.Changes[1], page.Changes[2]
	if c.Type != feed.Created || c.TaskID != created.ID || len(c.Fields) != 0 || c.Task == nil ||
		len(DiffTask(*c.Task, created)) > 0 || c.At != created.CreatedAt {
		t.Errorf("the create recorded %+v", c)
	}
	wantFields := []string{"completedAt", "dueDate", "endDatetime", "status"}
	if u.Type != feed.Updated || !slices.Equal(u.Fields, wantFields) || u.Task == nil ||
		len(DiffTask(*u.Task, changed)) > 0 || u.At != changed.UpdatedAt {
		t.Errorf("the change recorded %+v, want fields %v and the task as changed", u, wantFields)
	}
	if d.Type != feed.Deleted || d.TaskID != created.ID || d.Task != nil || len(d.Fields) != 0 {
		t.Errorf("the delete recorded %+v", d)
	}
	if !(c.Seq < u.Seq && u.Seq < d.Seq) {
		t.Errorf("seqs %d, %d, %d do not increase", c.Seq, u.Seq, d.Seq)
	}
	if page.LastSeq != d.Seq || page.HeadSeq != d.Seq || page.HasMore {
		t.Errorf("last %d, head %d, more %v; want %d, %d, false", page.LastSeq, page.HeadSeq, page.HasMore, d.Seq, d.Seq)
	}
}

func readingTheFeedByPages(t *testing.T, h Harness) {
	s, _, _ := h.New(t)
	ctx := OrgContext(t, s, "Acme")
	other := OrgContext(t, s, "Globex")
	var mine []int64
	for i := range 7 {
		MustCreate(t, other, s, Simple(t, "theirs"))
		MustCreate(t, ctx, s, Simple(t, fmt.Sprint("mine ", i)))
	}
	for _, c := range mustChanges(t, ctx, s, 0, 1000).Changes {
		mine = append(mine, c.Seq)
	}
	if len(mine) != 7 {
		t.Fatalf("the organisation sees %d changes, want its own 7", len(mine))
	}
	head := mine[6]
	tests := []struct {
		name  string
		after int64
		limit int
		want  []int64
		last  int64
		more  bool
	}{
		{"the first page from the start", 0, 3, mine[:3], mine[2], true},
		{"a page after a seq starts after it", mine[2], 3, mine[3:6], mine[5], true},
		{"the last page says nothing more follows", mine[5], 3, mine[6:], head, false},
		{"a page after the head is empty and keeps the point", head, 3, nil, head, false},
		{"a seq between two of the organisation's reads on from there", mine[3] - 1, 2, mine[3:5], mine[4], true},
		{"a page of exactly what is left says nothing more follows", mine[3], 3, mine[4:], head, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			page := mustChanges(t, ctx, s, tt.after, tt.limit)
			var got []int64
			for _, c := range page.Changes {
				got = append(got, c.Seq)
			}
			if !slices.Equal(got, tt.want) || page.LastSeq != tt.last || page.HasMore != tt.more || page.HeadSeq != head {
				t.Errorf("got %v last %d more %v head %d; want %v last %d more %v head %d",
					got, page.LastSeq, page.HasMore, page.HeadSeq, tt.want, tt.last, tt.more, head)
			}
		})
	}
}

func anOrganisationWithoutChangesHasHeadZero(t *testing.T, h Harness) {
	s, _, _ := h.New(t)
	ctx := OrgContext(t, s, "Acme")
	MustCreate(t, OrgContext(t, s, "Globex"), s, Simple(t, "theirs"))
	page := mustChanges(t, ctx, s, 0, 10)
	if len(page.Changes) != 0 || page.HeadSeq != 0 || page.LastSeq != 0 || page.HasMore {
		t.Errorf("got %+v", page)
	}
}

func oldChangesAreRemovedAndAReadFromBeforeThemIsRefused(t *testing.T, h Harness) {
	s, clk, _ := h.New(t)
	ctx := OrgContext(t, s, "Acme")
	other := OrgContext(t, s, "Globex")
	for range 5 {
		MustCreate(t, ctx, s, Simple(t, "old"))
	}
	MustCreate(t, other, s, Simple(t, "old, theirs"))
	clk.Advance(48 * time.Hour)
	newer := MustCreate(t, ctx, s, Simple(t, "new"))
	all := mustChanges(t, ctx, s, 0, 100).Changes
	cutoff := BaseTime.Add(24 * time.Hour)
	if n, err := s.DeleteOldChanges(ctx, cutoff, 4); err != nil || n != 4 {
		t.Fatalf("the first batch removed %d (%v), want 4", n, err)
	}
	if n, err := s.DeleteOldChanges(ctx, cutoff, 4); err != nil || n != 2 {
		t.Fatalf("the second batch removed %d (%v), want the 2 left", n, err)
	}
	if n, _ := s.DeleteOldChanges(ctx, cutoff, 4); n != 0 {
		t.Fatalf("a third batch removed %d", n)
	}
	_, err := s.Changes(ctx, feed.Query{After: all[1].Seq, Limit: 10})
	WantCode(t, err, task.CodeExpired)
	_, err = s.Changes(ctx, feed.Query{After: all[3].Seq, Limit: 10})
	WantCode(t, err, task.CodeExpired)
	for _, after := range []int64{0, all[4].Seq} {
		page := mustChanges(t, ctx, s, after, 10)
		if len(page.Changes) != 1 || page.Changes[0].TaskID != newer.ID {
			t.Errorf("a read after %d got %+v, want only the change kept", after, page.Changes)
		}
	}
	if page := mustChanges(t, other, s, 0, 10); len(page.Changes) != 0 {
		t.Errorf("the other organisation still has %d changes", len(page.Changes))
	}
}

func readersOfTheFeedSeeEveryCommittedChangeOnceInOrder(t *testing.T, h Harness) {
	s, _, _ := h.New(t)
	ctx := OrgContext(t, s, "Acme")
	const writers, writes, readers = 16, 30, 4
	done := make(chan struct{})
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range writes {
				tk, err := s.CreateTask(ctx, Simple(t, fmt.Sprintf("w%d-%d", w, i)))
				if err != nil {
					t.Error(err)
					return
				}
				if i%3 == 0 {
					_, err = s.UpdateTask(ctx, tk.ID, task.UpdateInput{Priority: task.To(task.PriorityUrgent)}, task.AnyVersion())
				}
				if i%5 == 0 && err == nil {
					_, err = s.DeleteTask(ctx, tk.ID, task.AnyVersion())
				}
				if err != nil {
					t.Error(err)
				}
			}
		})
	}
	seen := make([][]int64, readers)
	var rg sync.WaitGroup
	for r := range readers {
		rg.Go(func() {
			var after int64
			for finished := false; ; {
				select {
				case <-done:
					finished = true
				default:
				}
				page, err := s.Changes(ctx, feed.Query{After: after, Limit: 7 + r})
				if err != nil {
					t.Error(err)
					return
				}
				for _, c := range page.Changes {
					seen[r] = append(seen[r], c.Seq)
				}
				after = page.LastSeq
				if finished && !page.HasMore {
					return
				}
			}
		})
	}
	wg.Wait()
	close(done)
	rg.Wait()
	var want []int64
	for after := int64(0); ; {
		page := mustChanges(t, ctx, s, after, 1000)
		for _, c := range page.Changes {
			want = append(want, c.Seq)
		}
		after = page.LastSeq
		if !page.HasMore {
			break
		}
	}
	if n := writers * (writes + writes/3 + writes/5); len(want) != n {
		t.Fatalf("the feed holds %d changes, want %d", len(want), n)
	}
	for r, got := range seen {
		if !slices.Equal(got, want) {
			t.Errorf("reader %d saw %d changes, the feed holds %d (first difference at %d)", r, len(got), len(want), firstDiff(got, want))
		}
	}
}

func firstDiff(a, b []int64) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}
