package sqlite_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"tasksapi/feed"
	"tasksapi/sqlite"
	"tasksapi/task"
)

func mustChanges(t *testing.T, ctx context.Context, s *sqlite.Store, after int64, limit int) feed.Page {
	t.Helper()
	page, err := s.Changes(ctx, feed.Query{After: after, Limit: limit})
	if err != nil {
		t.Fatalf("Changes(after %d, limit %d): %v", after, limit, err)
	}
	return page
}

func TestEveryWriteRecordsOneChange(t *testing.T) {
	s, clk, _ := newStore(t)
	ctx := orgContext(t, s, "Acme")
	created := mustCreate(t, ctx, s, simple(t, "Call Sarah"))
	clk.Advance(time.Minute)
	changed := mustUpdate(t, ctx, s, created.ID, task.UpdateInput{Status: task.To(task.StatusCompleted),
		EndDatetime: task.To(dt(t, "2026-03-03T09:00:00"))})
	mustUpdate(t, ctx, s, created.ID, task.UpdateInput{Status: task.To(task.StatusCompleted)}) // alters nothing
	_, err := s.UpdateTask(ctx, created.ID, task.UpdateInput{Title: task.Clear[string]()}, task.AnyVersion())
	wantCode(t, err, task.CodeInvalid)
	_, err = s.DeleteTask(ctx, created.ID, task.OneOf(1))
	wantCode(t, err, task.CodeVersionConflict)
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
		len(diffTask(*c.Task, created)) > 0 || c.At != created.CreatedAt {
		t.Errorf("the create recorded %+v", c)
	}
	wantFields := []string{"completedAt", "dueDate", "endDatetime", "status"}
	if u.Type != feed.Updated || !slices.Equal(u.Fields, wantFields) || u.Task == nil ||
		len(diffTask(*u.Task, changed)) > 0 || u.At != changed.UpdatedAt {
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

func TestReadingTheFeedByPages(t *testing.T) {
	s, _, _ := newStore(t)
	ctx := orgContext(t, s, "Acme")
	other := orgContext(t, s, "Globex")
	var mine []int64
	for i := range 7 {
		mustCreate(t, other, s, simple(t, "theirs"))
		mustCreate(t, ctx, s, simple(t, fmt.Sprint("mine ", i)))
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

func TestAnOrganisationWithoutChangesHasHeadZero(t *testing.T) {
	s, _, _ := newStore(t)
	ctx := orgContext(t, s, "Acme")
	mustCreate(t, orgContext(t, s, "Globex"), s, simple(t, "theirs"))
	page := mustChanges(t, ctx, s, 0, 10)
	if len(page.Changes) != 0 || page.HeadSeq != 0 || page.LastSeq != 0 || page.HasMore {
		t.Errorf("got %+v", page)
	}
}

func TestOldChangesAreRemovedAndAReadFromBeforeThemIsRefused(t *testing.T) {
	s, clk, _ := newStore(t)
	ctx := orgContext(t, s, "Acme")
	other := orgContext(t, s, "Globex")
	for range 5 {
		mustCreate(t, ctx, s, simple(t, "old"))
	}
	mustCreate(t, other, s, simple(t, "old, theirs"))
	clk.Advance(48 * time.Hour)
	newer := mustCreate(t, ctx, s, simple(t, "new"))
	all := mustChanges(t, ctx, s, 0, 100).Changes
	cutoff := baseTime.Add(24 * time.Hour)
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
	wantCode(t, err, task.CodeExpired)
	_, err = s.Changes(ctx, feed.Query{After: all[3].Seq, Limit: 10})
	wantCode(t, err, task.CodeExpired)
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

func TestReadersOfTheFeedSeeEveryCommittedChangeOnceInOrder(t *testing.T) {
	s, _, _ := newStore(t)
	ctx := orgContext(t, s, "Acme")
	const writers, writes, readers = 16, 30, 4
	done := make(chan struct{})
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range writes {
				tk, err := s.CreateTask(ctx, simple(t, fmt.Sprintf("w%d-%d", w, i)))
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

func TestReadsAndRemovalsOfTheFeedAndOfIdempotencyOutcomesUseIndexesWithoutSorting(t *testing.T) {
	s, _, path := newStore(t)
	ctx := orgContext(t, s, "Acme")
	mustCreate(t, ctx, s, simple(t, "x"))
	conn := rawDB(t, path)
	defer conn.Close()
	for _, q := range []struct {
		name, sql string
		want      string
	}{
		{"a page of an organisation's changes", `SELECT seq, type, task_id, at, fields, task FROM task_changes
			WHERE organisation_id = +1 AND seq > 5 ORDER BY seq LIMIT 101`,
			"USING INDEX task_changes_org_seq (organisation_id=? AND seq>?)"},
		{"the removal of the oldest changes", `SELECT seq FROM task_changes NOT INDEXED WHERE at < '2026-01-01T00:00:00' ORDER BY seq LIMIT 500`,
			"SCAN task_changes"},
		{"the removal of expired idempotency outcomes", `SELECT id FROM idempotency_keys WHERE expires_at <= 1700000000 ORDER BY expires_at LIMIT 500`,
			"SEARCH idempotency_keys USING COVERING INDEX idempotency_keys_expiry (expires_at<?)"},
		{"the lookup of an idempotency outcome", `SELECT fingerprint, outcome FROM idempotency_keys WHERE key_id = +1 AND key = +'k' AND expires_at > 1700000000`,
			"SEARCH idempotency_keys USING INDEX sqlite_autoindex_idempotency_keys_1 (key_id=? AND key=?)"},
	} {
		t.Run(q.name, func(t *testing.T) {
			rows, err := conn.Query("EXPLAIN QUERY PLAN " + q.sql)
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			var plan []string
			for rows.Next() {
				var id, parent, notused int
				var detail string
				if err := rows.Scan(&id, &parent, &notused, &detail); err != nil {
					t.Fatal(err)
				}
				plan = append(plan, detail)
			}
			joined := fmt.Sprint(plan)
			if !strings.Contains(joined, q.want) || strings.Contains(joined, "TEMP B-TREE") {
				t.Errorf("plan %v, want %q and no sort", plan, q.want)
			}
		})
	}
}
