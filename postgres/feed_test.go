package postgres_test

import (
	"testing"
	"time"

	"tasksapi/feed"
	"tasksapi/task"
)

func TestRetentionRemovesTheOldestChangesAndRefusesReadsFromBeforeThem(t *testing.T) {
	url, stores := servers(t, 1)
	s := stores[0]
	ctx := inOrganisation(t, s, "Acme")
	other := inOrganisation(t, s, "Other")
	old := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	s.Now = func() time.Time { return old }
	for i := range 5 { // seqs 1 to 5 of Acme, old
		if _, err := s.CreateTask(ctx, newTaskInput(i)); err != nil {
			t.Fatalf("CreateTask: %v", err)
		}
	}
	if _, err := s.CreateTask(other, newTaskInput(0)); err != nil { // Other's seq 1, old
		t.Fatalf("CreateTask: %v", err)
	}
	s.Now = func() time.Time { return old.Add(48 * time.Hour) }
	for i := range 2 { // seqs 6 and 7, new
		if _, err := s.CreateTask(ctx, newTaskInput(i)); err != nil {
			t.Fatalf("CreateTask: %v", err)
		}
	}
	cut := old.Add(24 * time.Hour)
	for _, want := range []int{4, 2, 0} {
		if n, err := s.DeleteOldChanges(ctx, cut, 4); err != nil || n != want {
			t.Fatalf("DeleteOldChanges: %d, %v; want %d", n, err, want)
		}
	}
	if n := count(t, url, "task_changes"); n != 2 {
		t.Errorf("%d changes left, want Acme's 2 new ones", n)
	}
	cases := []struct {
		name     string
		after    int64
		wantErr  task.Code
		wantSeqs []int64
	}{
		{"a read from the start gets what is kept", 0, "", []int64{6, 7}},
		{"a read from before the last removed change is refused", 4, task.CodeExpired, nil},
		{"a read from the last removed change gets what follows", 5, "", []int64{6, 7}},
		{"a read from a kept change gets what follows", 6, "", []int64{7}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			page, err := s.Changes(ctx, feed.Query{After: c.after, Limit: 10})
			if c.wantErr != "" {
				if task.ErrorCode(err) != c.wantErr {
					t.Errorf("Changes(after %d): %v, want code %s", c.after, err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Changes(after %d): %v", c.after, err)
			}
			var seqs []int64
			for _, ch := range page.Changes {
				seqs = append(seqs, ch.Seq)
			}
			if len(seqs) != len(c.wantSeqs) || seqs[0] != c.wantSeqs[0] || page.HeadSeq != 7 {
				t.Errorf("seqs %v, head %d; want %v, head 7", seqs, page.HeadSeq, c.wantSeqs)
			}
		})
	}
}

func TestAPageOfChangesSaysWhetherMoreFollow(t *testing.T) {
	_, stores := servers(t, 1)
	s := stores[0]
	ctx := inOrganisation(t, s, "Acme")
	for i := range 3 {
		if _, err := s.CreateTask(ctx, newTaskInput(i)); err != nil {
			t.Fatalf("CreateTask: %v", err)
		}
	}
	cases := []struct {
		after, limit int
		wantLast     int64
		wantN        int
		wantMore     bool
	}{
		{0, 2, 2, 2, true},
		{0, 3, 3, 3, false},
		{2, 5, 3, 1, false},
		{3, 5, 3, 0, false},
		{9, 5, 9, 0, false},
	}
	for _, c := range cases {
		page, err := s.Changes(ctx, feed.Query{After: int64(c.after), Limit: c.limit})
		if err != nil {
			t.Fatalf("Changes: %v", err)
		}
		if len(page.Changes) != c.wantN || page.LastSeq != c.wantLast || page.HasMore != c.wantMore || page.HeadSeq != 3 {
			t.Errorf("after %d, limit %d: %d changes, last %d, more %v, head %d; want %d, %d, %v, 3",
				c.after, c.limit, len(page.Changes), page.LastSeq, page.HasMore, page.HeadSeq, c.wantN, c.wantLast, c.wantMore)
		}
	}
}
