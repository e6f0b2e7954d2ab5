package feed

import (
	"context"
	"errors"
	"sort"
	"sync"
	"time"

	"tasksapi/access"
)

// Hub tells followers of an organisation's feed when new changes commit,
// and keeps that organisation's newest changes in memory while it has
// followers: after each commit it reads them from the store once, and
// every follower that keeps up takes them from here, so a thousand
// followers cost one read a commit rather than a thousand. A follower that
// falls behind what is kept reads from the store instead: the stored feed
// is the source of truth, and nothing a slow follower misses is buffered
// for it.
type Hub struct {
	store Reader

	mu    sync.Mutex
	tails map[int]*tail // by organisation, while it has followers
}

// tailSize is how many of an organisation's newest changes a hub keeps.
const tailSize = 1024

// tail is one organisation's newest changes: every change with a seq
// after base, up to head, once ready.
type tail struct {
	org       int
	followers int

	mu      sync.Mutex
	ready   bool          // the first read has found the head
	base    int64         // changes after base are kept
	head    int64         // the highest seq read from the store
	changes []*Change     // in seq order, at most tailSize
	wake    chan struct{} // closed when a read has found more
	woke    time.Time     // when wake was last closed for new changes
	waking  bool          // a timer will close wake
	reading bool          // a read from the store is under way
	dirty   bool          // a commit came during that read: read again
	// The tail is read only while followers use it (see refresh): waiting
	// is how many wait at its head for the next commit, near when one last
	// took changes near the head, from the tail or from the store.
	waiting int
	near    time.Time
}

// wakeInterval is the least time between two wakes of an organisation's
// followers for new changes. A wake sets every follower that has caught
// up to work (for a WebSocket, a goroutine and a write each): changes
// that commit within this of the last wake are told of together, at the
// end of it, so that under many commits a second each follower takes
// them a few at a time. Changes are in the tail as soon as they are read:
// a follower still sending earlier ones finds them without waiting.
const wakeInterval = 10 * time.Millisecond

// idleTail is how long after a follower last took changes near the head
// that, with none waiting there, a tail stops reading commits.
const idleTail = time.Second

var errNoPrincipal = errors.New("feed: no principal in the context")

// NewHub returns a hub over the stored feed.
func NewHub(store Reader) *Hub {
	return &Hub{store: store, tails: map[int]*tail{}}
}

// Committed tells the hub that changes of org have committed. The store
// calls it after each commit that recorded changes; it never blocks the
// writer. Org 0 stands for every organisation.
func (h *Hub) Committed(org int) {
	if org == 0 {
		h.committedAll()
		return
	}
	h.mu.Lock()
	t := h.tails[org]
	h.mu.Unlock()
	if t != nil {
		t.refresh(h.store, false)
	}
}

// committedAll refreshes every followed organisation: a store whose news
// of commits was interrupted cannot tell which changed.
func (h *Hub) committedAll() {
	h.mu.Lock()
	tails := make([]*tail, 0, len(h.tails))
	for _, t := range h.tails {
		tails = append(tails, t)
	}
	h.mu.Unlock()
	for _, t := range tails {
		t.refresh(h.store, false)
	}
}

// Follower is one reader of an organisation's feed, from a seq on, used
// by one goroutine at a time.
type Follower struct {
	hub   *Hub
	tail  *tail
	after int64
}

// Follow returns a follower of the feed of the organisation of the
// principal in ctx, after the given seq. Close it when done.
func (h *Hub) Follow(ctx context.Context, after int64) (*Follower, error) {
	p, ok := access.FromContext(ctx)
	if !ok {
		return nil, errNoPrincipal
	}
	h.mu.Lock()
	t := h.tails[p.OrganisationID]
	if t == nil {
		t = &tail{org: p.OrganisationID, wake: make(chan struct{})}
		h.tails[p.OrganisationID] = t
	}
	t.followers++
	h.mu.Unlock()
	return &Follower{hub: h, tail: t, after: after}, nil
}

// Close ends f; the organisation's tail goes with its last follower.
func (f *Follower) Close() {
	h := f.hub
	h.mu.Lock()
	defer h.mu.Unlock()
	if f.tail.followers--; f.tail.followers == 0 {
		delete(h.tails, f.tail.org)
	}
}

// Next returns the changes after the last one f took, up to limit, and
// moves f past them. With none yet, it waits until some commit or ctx
// ends (returning ctx's error). ctx must carry the follower's principal.
func (f *Follower) Next(ctx context.Context, limit int) ([]*Change, error) {
	for {
		changes, wake, covered := f.tail.after(f.after, limit)
		if !covered {
			// Behind what the hub keeps, or before its first read: read
			// the store. The wake channel was taken first, so a commit
			// after this read is not missed.
			page, err := f.hub.store.Changes(ctx, Query{After: f.after, Limit: limit})
			if err != nil {
				return nil, err
			}
			changes = make([]*Change, len(page.Changes))
			for i := range page.Changes {
				changes[i] = &page.Changes[i]
			}
			if !page.HasMore {
				f.tail.cameNear()
			}
			if len(changes) == 0 {
				f.tail.refresh(f.hub.store, true) // make the tail ready to serve what comes next
			}
		}
		if len(changes) > 0 {
			f.after = changes[len(changes)-1].Seq
			return changes, nil
		}
		// Waiting at the head keeps the tail read (see refresh). A commit
		// before the count goes up finds the tail used just now by after.
		if covered {
			f.tail.countWaiting(1)
		}
		select {
		case <-wake:
		case <-ctx.Done():
		}
		if covered {
			f.tail.countWaiting(-1)
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
	}
}

// after returns the kept changes after seq (at most limit), the channel
// that closes when more have been read, and whether the tail covers seq:
// false when changes after seq may not all be kept.
// A follower the tail covers has come near the head.
func (t *tail) after(seq int64, limit int) ([]*Change, <-chan struct{}, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.ready || seq < t.base {
		return nil, t.wake, false
	}
	i := sort.Search(len(t.changes), func(i int) bool { return t.changes[i].Seq > seq })
	t.near = time.Now()
	return t.changes[i:min(len(t.changes), i+limit)], t.wake, true
}

// cameNear notes that a follower took the last changes the store had.
func (t *tail) cameNear() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.near = time.Now()
}

// countWaiting adds d to the followers waiting at the head.
func (t *tail) countWaiting(d int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.waiting += d
}

// wakeForChanges wakes the followers for new changes, now or, within
// wakeInterval of the last such wake, at its end; t.mu is held.
func (t *tail) wakeForChanges() {
	if t.waking {
		return
	}
	if wait := wakeInterval - time.Since(t.woke); wait > 0 {
		t.waking = true
		time.AfterFunc(wait, func() {
			t.mu.Lock()
			defer t.mu.Unlock()
			t.waking = false
			t.woke = time.Now()
			t.wakeNow()
		})
		return
	}
	t.woke = time.Now()
	t.wakeNow()
}

// wakeNow wakes every waiting follower; t.mu is held.
func (t *tail) wakeNow() {
	close(t.wake)
	t.wake = make(chan struct{})
}

// refresh reads the changes after head from the store and wakes the
// followers. Reads of one tail never overlap: a commit that arrives
// during one makes it read once more.
//
// Unless forced, a tail that no follower waits at, nor took changes near
// the head in the last idleTail, is not read but dropped: its followers
// are behind, reading the store for themselves, as webhooks catching up
// do, or not reading at all, as one held by a failing endpoint; reading
// every commit for none of them cost a server delivering to five such
// webhooks about 4% of its processors. A follower that comes near the
// head has the next commit read again; one that finds nothing new in the
// store forces a read.
func (t *tail) refresh(store Reader, force bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.reading {
		t.dirty = true
		return
	}
	if !force && t.waiting == 0 && time.Since(t.near) > idleTail {
		t.ready, t.changes = false, nil
		return
	}
	t.reading = true
	go t.read(store)
}

func (t *tail) read(store Reader) {
	ctx := access.WithPrincipal(context.Background(), access.Principal{OrganisationID: t.org})
	for {
		t.mu.Lock()
		ready, head := t.ready, t.head
		t.dirty = false
		t.mu.Unlock()
		q := Query{After: head, Limit: MaxLimit}
		if !ready {
			q = Query{After: MaxSeq, Limit: 1} // only where the feed stands
		}
		page, err := store.Changes(ctx, q)

		t.mu.Lock()
		switch {
		case err != nil:
			// Followers read the store until a read succeeds, which
			// starts the tail afresh.
			t.ready, t.changes = false, nil
		case !ready:
			t.ready, t.base, t.head = true, page.HeadSeq, page.HeadSeq
		default:
			for i := range page.Changes {
				t.changes = append(t.changes, &page.Changes[i])
			}
			if over := len(t.changes) - tailSize; over > 0 {
				t.base = t.changes[over-1].Seq
				t.changes = append(t.changes[:0:0], t.changes[over:]...)
			}
			t.head = max(t.head, page.LastSeq)
		}
		if err == nil && ready && len(page.Changes) > 0 {
			t.wakeForChanges()
		} else {
			t.wakeNow()
		}
		if err != nil || (!t.dirty && !page.HasMore) {
			t.reading = false
			t.mu.Unlock()
			return
		}
		t.mu.Unlock()
	}
}
