package feed_test

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"tasksapi/access"
	"tasksapi/feed"
	"tasksapi/sqlite"
	"tasksapi/task"
)

// newFeed opens a store on a fresh file with a hub told of its commits,
// and returns them with an organisation's context.
func newFeed(t *testing.T) (*sqlite.Store, *feed.Hub, context.Context) {
	t.Helper()
	s, err := sqlite.Open(filepath.Join(t.TempDir(), "tasks.db"), sqlite.SyncNormal)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	hub := feed.NewHub(s)
	s.OnCommit(hub.Committed)
	creds, err := access.NewKey(t.Context(), s, "Acme", "test")
	if err != nil {
		t.Fatal(err)
	}
	return s, hub, access.WithPrincipal(t.Context(), access.Principal{OrganisationID: creds.OrganisationID, KeyID: creds.KeyID})
}

func create(t *testing.T, ctx context.Context, s *sqlite.Store, title string) task.Task {
	t.Helper()
	start, _ := task.ParseDateTime("2026-03-01T09:00:00")
	tk, err := s.CreateTask(ctx, task.CreateInput{Title: title, StartDatetime: start, ContactID: new(1)})
	if err != nil {
		t.Error(err)
	}
	return tk
}

// collect takes n changes from f, failing after a few seconds.
func collect(t *testing.T, ctx context.Context, f *feed.Follower, n, limit int) []int64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	var seqs []int64
	for len(seqs) < n {
		changes, err := f.Next(ctx, limit)
		if err != nil {
			t.Errorf("Next after %d of %d changes: %v", len(seqs), n, err)
			return seqs
		}
		for _, c := range changes {
			seqs = append(seqs, c.Seq)
		}
	}
	return seqs
}

func storedSeqs(t *testing.T, ctx context.Context, s *sqlite.Store) []int64 {
	t.Helper()
	var seqs []int64
	for after := int64(0); ; {
		page, err := s.Changes(ctx, feed.Query{After: after, Limit: feed.MaxLimit})
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range page.Changes {
			seqs = append(seqs, c.Seq)
		}
		after = page.LastSeq
		if !page.HasMore {
			return seqs
		}
	}
}

func TestAFollowerGetsTheBacklogThenEachNewChange(t *testing.T) {
	s, hub, ctx := newFeed(t)
	for i := range 5 {
		create(t, ctx, s, fmt.Sprint("before ", i))
	}
	f, err := hub.Follow(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	backlog := collect(t, ctx, f, 5, 100)
	go func() {
		for i := range 5 {
			time.Sleep(5 * time.Millisecond)
			create(t, ctx, s, fmt.Sprint("after ", i))
		}
	}()
	live := collect(t, ctx, f, 5, 100)
	if got, want := append(backlog, live...), storedSeqs(t, ctx, s); !slices.Equal(got, want) {
		t.Errorf("the follower took %v, the feed holds %v", got, want)
	}
}

func TestAFollowerFromNowGetsOnlyWhatComesNext(t *testing.T) {
	s, hub, ctx := newFeed(t)
	create(t, ctx, s, "old")
	head := storedSeqs(t, ctx, s)[0]
	f, _ := hub.Follow(ctx, head)
	defer f.Close()
	go create(t, ctx, s, "new")
	got := collect(t, ctx, f, 1, 100)
	if len(got) != 1 || got[0] <= head {
		t.Errorf("took %v, want the one change after %d", got, head)
	}
}

func TestAFollowerFarBehindCatchesUpFromTheStore(t *testing.T) {
	s, hub, ctx := newFeed(t)
	live, _ := hub.Follow(ctx, 0) // keeps the organisation's tail in memory
	defer live.Close()
	const n = 1500 // more than the hub keeps
	for i := range n {
		create(t, ctx, s, fmt.Sprint(i))
	}
	collect(t, ctx, live, n, 1000)
	late, _ := hub.Follow(ctx, 0)
	defer late.Close()
	if got, want := collect(t, ctx, late, n, 1000), storedSeqs(t, ctx, s); !slices.Equal(got, want) {
		t.Errorf("the late follower took %d changes, the feed holds %d (in order, each once: %v)", len(got), len(want), slices.Equal(got, want))
	}
}

func TestAWaitingFollowerEndsWithItsContext(t *testing.T) {
	_, hub, ctx := newFeed(t)
	f, _ := hub.Follow(ctx, 0)
	defer f.Close()
	wait, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if _, err := f.Next(wait, 10); err != context.DeadlineExceeded {
		t.Errorf("Next with nothing to take = %v, want the context's deadline", err)
	}
}

func TestManyFollowersUnderConcurrentWritersEachSeeEveryChangeOnceInOrder(t *testing.T) {
	s, hub, ctx := newFeed(t)
	const writers, writes, followers = 16, 25, 40
	// Half the followers start before the writes, half part way through,
	// from the start of the feed.
	start := func() *feed.Follower {
		f, err := hub.Follow(ctx, 0)
		if err != nil {
			t.Error(err)
		}
		return f
	}
	total := writers * (writes + writes/5)
	results := make([][]int64, followers)
	var fg sync.WaitGroup
	follow := func(i int) {
		f := start()
		fg.Go(func() {
			defer f.Close()
			results[i] = collect(t, ctx, f, total, 1+i%50)
		})
	}
	for i := range followers / 2 {
		follow(i)
	}
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range writes {
				tk := create(t, ctx, s, fmt.Sprintf("w%d-%d", w, i))
				if i%5 == 0 {
					if _, err := s.DeleteTask(ctx, tk.ID, task.AnyVersion()); err != nil {
						t.Error(err)
					}
				}
				if w == 0 && i == writes/2 {
					for j := followers / 2; j < followers; j++ {
						follow(j)
					}
				}
			}
		})
	}
	wg.Wait()
	fg.Wait()
	want := storedSeqs(t, ctx, s)
	if len(want) != total {
		t.Fatalf("the feed holds %d changes, want %d", len(want), total)
	}
	for i, got := range results {
		if !slices.Equal(got, want) {
			t.Errorf("follower %d took %d changes, want all %d in order, each once", i, len(got), len(want))
		}
	}
}

// countingReader counts the reads of the stored feed.
type countingReader struct {
	feed.Reader
	mu    sync.Mutex
	reads int
}

func (c *countingReader) Changes(ctx context.Context, q feed.Query) (feed.Page, error) {
	c.mu.Lock()
	c.reads++
	c.mu.Unlock()
	return c.Reader.Changes(ctx, q)
}

func TestFollowersThatKeepUpCostOneStoreReadACommitNotOneEach(t *testing.T) {
	s, _, ctx := newFeed(t)
	counter := &countingReader{Reader: s}
	hub := feed.NewHub(counter)
	s.OnCommit(hub.Committed)
	const followers, commits = 20, 20
	fs := make([]*feed.Follower, followers)
	for i := range fs {
		fs[i], _ = hub.Follow(ctx, 0)
		defer fs[i].Close()
	}
	for range commits {
		create(t, ctx, s, "x")
		var wg sync.WaitGroup
		for _, f := range fs {
			wg.Go(func() { collect(t, ctx, f, 1, 10) })
		}
		wg.Wait()
	}
	// Each follower reads the store until the tail is ready; after that
	// the tail reads once a commit (and at most once more for a commit
	// that arrives during a read).
	if limit := followers*2 + commits*2; counter.reads > limit {
		t.Errorf("%d followers and %d commits made %d store reads, want at most %d (one each would be %d)",
			followers, commits, counter.reads, limit, followers*commits)
	}
}

// countedFollower is a hub over s that counts its reads of the store, and
// a follower of it from the start of the feed.
func countedFollower(t *testing.T, s *sqlite.Store, ctx context.Context) (*countingReader, *feed.Follower) {
	t.Helper()
	counter := &countingReader{Reader: s}
	hub := feed.NewHub(counter)
	s.OnCommit(hub.Committed)
	f, err := hub.Follow(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.Close)
	return counter, f
}

// readsDuring30Commits is how many times the store was read while 30 tasks were
// created, and just after.
func readsDuring30Commits(t *testing.T, s *sqlite.Store, ctx context.Context, counter *countingReader) int {
	t.Helper()
	counter.mu.Lock()
	counter.reads = 0
	counter.mu.Unlock()
	for i := range 30 {
		create(t, ctx, s, fmt.Sprint("counted ", i))
	}
	time.Sleep(100 * time.Millisecond) // for any read the commits started
	counter.mu.Lock()
	defer counter.mu.Unlock()
	return counter.reads
}

func TestATailWhoseFollowersAreAllBehindReadsNoCommitsUntilOneComesNear(t *testing.T) {
	s, _, ctx := newFeed(t)
	counter, f := countedFollower(t, s, ctx)
	for i := range 250 {
		create(t, ctx, s, fmt.Sprint("backlog ", i))
	}
	got := collect(t, ctx, f, 100, 100) // a full page: the follower is behind
	if reads := readsDuring30Commits(t, s, ctx, counter); reads != 0 {
		t.Errorf("30 commits while the only follower was behind made %d store reads, want none", reads)
	}
	got = append(got, collect(t, ctx, f, 180, 100)...) // caught up, from the store
	done := make(chan []int64)
	go func() { done <- collect(t, ctx, f, 1, 100) }() // waits at the head
	time.Sleep(50 * time.Millisecond)
	create(t, ctx, s, "near the head")
	got = append(got, <-done...)
	if want := storedSeqs(t, ctx, s); !slices.Equal(got, want) {
		t.Errorf("the follower took %d changes, want all %d in order, each once", len(got), len(want))
	}
}

func TestATailStopsReadingCommitsASecondAfterItsOnlyFollowerStoppedTaking(t *testing.T) {
	s, _, ctx := newFeed(t)
	counter, f := countedFollower(t, s, ctx)
	create(t, ctx, s, "taken")
	got := collect(t, ctx, f, 1, 100) // near the head, then busy elsewhere
	time.Sleep(1100 * time.Millisecond)
	if reads := readsDuring30Commits(t, s, ctx, counter); reads != 0 {
		t.Errorf("30 commits a second after the only follower last took a change made %d store reads, want none", reads)
	}
	got = append(got, collect(t, ctx, f, 30, 100)...)
	if want := storedSeqs(t, ctx, s); !slices.Equal(got, want) {
		t.Errorf("the follower took %v, want %v", got, want)
	}
}

func TestAFollowerWaitingAtTheHeadLongerThanASecondGetsTheNextChange(t *testing.T) {
	s, _, ctx := newFeed(t)
	_, f := countedFollower(t, s, ctx)
	create(t, ctx, s, "taken")
	got := collect(t, ctx, f, 1, 100)
	done := make(chan []int64)
	go func() { done <- collect(t, ctx, f, 1, 100) }() // waits at the head
	time.Sleep(1200 * time.Millisecond)                // longer than a tail stays read without a waiter
	create(t, ctx, s, "after a long wait")
	got = append(got, <-done...)
	if want := storedSeqs(t, ctx, s); !slices.Equal(got, want) {
		t.Errorf("the follower took %v, want %v", got, want)
	}
}
