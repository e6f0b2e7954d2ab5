package graph

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vektah/gqlparser/v2/gqlerror"

	"tasksapi/access"
	"tasksapi/feed"
	"tasksapi/task"
)

// DefaultSendTimeout is how long a write to a subscriber (a WebSocket
// message, an event of an event stream, a keep-alive) may block before
// the subscriber is dropped as too slow. A write blocks only when the
// client has stopped reading and the connection's buffers are full, so
// the bound is generous: a client on a bad network keeps its
// subscriptions, and a stalled one holds a connection for at most this
// long. It resumes from the last seq it handled.
const DefaultSendTimeout = 30 * time.Second

// subscriber is one connection that carries subscriptions: a WebSocket
// (any number of them) or one event stream. Its transport puts it in the
// context of each operation, and the subscription resolver learns from it
// what kind of stream it is and, once it ends, why.
type subscriber struct {
	kind string          // feed.KindGraphQLWS or feed.KindGraphQLSSE
	stop context.Context // ends when the server stops

	// tooSlow is set before the connection is dropped for a write that
	// blocked past the send timeout, so that its subscriptions end with
	// that reason rather than as closed.
	tooSlow atomic.Bool

	mu sync.Mutex
	// A socket's credentials: each operation on it is admitted again,
	// as each request is (a revoked key starts nothing new, and a key's
	// rate limit counts what it sends over a socket too).
	accessKey, secret string
	// errs are the errors that ended an event stream's subscription, for
	// its transport to send before it ends the stream.
	errs gqlerror.List
	// socket is a WebSocket's connection, once accepted.
	socket *socket
}

type subscriberKey struct{}

func withSubscriber(ctx context.Context, s *subscriber) context.Context {
	return context.WithValue(ctx, subscriberKey{}, s)
}

// subscriberOf returns the subscriber of a WebSocket or event stream, or
// nil for a plain request.
func subscriberOf(ctx context.Context) *subscriber {
	s, _ := ctx.Value(subscriberKey{}).(*subscriber)
	return s
}

func (s *subscriber) setCredentials(accessKey, secret string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.accessKey, s.secret = accessKey, secret
}

func (s *subscriber) credentials() (accessKey, secret string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.accessKey, s.secret
}

// endReason says why a subscription ends on err: when its context has
// ended, because the client stopped it or went, was too slow, or the
// server is stopping; otherwise by err itself.
func (s *subscriber) endReason(ctx context.Context, err error) string {
	switch {
	case ctx.Err() == nil && task.ErrorCode(err) == task.CodeExpired:
		return feed.EndExpired
	case ctx.Err() == nil:
		return feed.EndFailed
	case s.tooSlow.Load():
		return feed.EndTooSlow
	case s.stop.Err() != nil:
		return feed.EndShutdown
	default:
		return feed.EndClosed
	}
}

// fail records the error that ends a subscription, for its transport to
// send: a WebSocket sends it as the subscription's error message, an
// event stream as a last next event.
func (s *subscriber) fail(ctx context.Context, err *gqlerror.Error) {
	if s.kind == feed.KindGraphQLWS {
		if op := operationOf(ctx); op != nil {
			op.fail(err)
		}
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.errs = append(s.errs, err)
}

// failures returns the errors recorded by fail.
func (s *subscriber) failures() gqlerror.List {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.errs
}

// follow starts a subscription to the feed of the caller's organisation:
// the changes after `after`, or when it is nil after the organisation's
// newest change now. It holds a place among the key's streams until the
// subscription ends, and refuses one more than the key may hold. Its
// changes come on the channel it returns, or, for a subscription whose
// plan takes them itself (see planReads.subscription), from the
// changeStream its context carries.
func (r *Resolver) follow(ctx context.Context, after *int64) (<-chan *feed.Change, error) {
	sub := subscriberOf(ctx)
	p, ok := access.FromContext(ctx)
	if sub == nil || !ok {
		return nil, errors.New("a subscription without a subscriber or a principal")
	}
	q, err := feed.Params{After: after}.Query()
	if err != nil {
		return nil, err
	}
	stream, err := r.Streams.Open(p.KeyID, sub.kind)
	if err != nil {
		return nil, err
	}
	changes := make(chan *feed.Change)
	start, err := r.start(ctx, q.After, after == nil)
	var f *feed.Follower
	if err == nil {
		f, err = r.Hub.Follow(ctx, start)
	}
	if err != nil {
		stream.End(sub.endReason(ctx, err))
		if ctx.Err() != nil {
			// Stopped before it started: it ends as a stopped
			// subscription does, with no error to report.
			close(changes)
			return changes, nil
		}
		return nil, err
	}
	// A context of its own, whose Done is at hand: a subscription's
	// context is a long chain of values, walked by each Done and Err.
	sctx, cancel := context.WithCancel(ctx)
	s := &changeStream{r: r, ctx: sctx, cancel: cancel, done: sctx.Done(), sub: sub, stream: stream, f: f}
	if taker := takerOf(ctx); taker != nil {
		*taker = s
		return changes, nil // never sent on
	}
	go r.pump(s, changes)
	return changes, nil
}

// start returns the seq a subscription follows from: after, once a read
// has found its changes still kept (so that a subscription from too far
// back is refused before it starts, as a read of taskChanges would be),
// or the organisation's newest seq when the client gave none.
func (r *Resolver) start(ctx context.Context, after int64, fromNow bool) (int64, error) {
	if fromNow {
		page, err := r.Feed.Changes(ctx, feed.Query{After: feed.MaxSeq, Limit: 1})
		return page.HeadSeq, err
	}
	_, err := r.Feed.Changes(ctx, feed.Query{After: after, Limit: 1})
	return after, err
}

// followBatch is how many changes a subscription takes from its follower
// at a time.
const followBatch = feed.DefaultLimit

// changeStream is a subscription's way through the feed: the changes its
// follower gives, one at a time, until the subscription's context ends
// or the follower fails; then it frees the subscription's place.
//
// It takes a batch from the follower only once the last is sent: a
// client that reads slowly holds back only its own follower, which then
// reads on from the store (see feed.Hub), and nothing is queued in memory
// for it. A transport whose write blocks past its send timeout drops the
// connection, which ends the context.
type changeStream struct {
	r       *Resolver
	ctx     context.Context
	cancel  context.CancelFunc
	done    <-chan struct{} // ctx's
	sub     *subscriber
	stream  *feed.Stream
	f       *feed.Follower
	pending []*feed.Change
	ended   bool
}

// next returns the next change, waiting for one to commit, or nil once
// the subscription has ended.
func (s *changeStream) next() *feed.Change {
	if s.ended {
		return nil
	}
	select {
	case <-s.done:
		s.end(s.ctx.Err())
		return nil
	default:
	}
	if len(s.pending) == 0 {
		changes, err := s.f.Next(s.ctx, followBatch)
		if err != nil {
			s.end(err)
			return nil
		}
		s.pending = changes
	}
	c := s.pending[0]
	s.pending = s.pending[1:]
	s.stream.Sent(1)
	return c
}

// ready reports whether next has a change at hand, without waiting.
func (s *changeStream) ready() bool { return len(s.pending) > 0 }

// end ends the subscription on err, with the reason err or its context
// gives. An error that is not the context's is recorded for the
// transport to send before the subscription ends, so the client knows
// why (and, when its point is no longer kept, not to resume from it).
func (s *changeStream) end(err error) {
	if s.ended {
		return
	}
	s.ended = true
	s.f.Close()
	s.stream.End(s.sub.endReason(s.ctx, err))
	if s.ctx.Err() == nil {
		s.sub.fail(s.ctx, presentError(s.ctx, s.r.fail(s.ctx, err)))
	}
	s.cancel()
}

// close ends the subscription if it has not ended: its context has, or
// whatever took its changes has stopped (a panic, reported on its own).
func (s *changeStream) close() {
	if s.ended {
		return
	}
	s.ended = true
	s.f.Close()
	s.stream.End(s.sub.endReason(s.ctx, s.ctx.Err()))
	s.cancel()
}

// pump sends s's changes into out, an unbuffered channel, until the
// subscription's context ends: the transport takes a change only once it
// has written the one before.
func (r *Resolver) pump(s *changeStream, out chan<- *feed.Change) {
	defer close(out)
	for {
		c := s.next()
		if c == nil {
			return
		}
		select {
		case out <- c:
		case <-s.ctx.Done():
			s.close()
			return
		}
	}
}

type takerKey struct{}

// withTaker marks ctx as a subscription's whose changes the caller takes
// itself: follow puts its changeStream in *taker, and starts no pump.
func withTaker(ctx context.Context, taker **changeStream) context.Context {
	return context.WithValue(ctx, takerKey{}, taker)
}

func takerOf(ctx context.Context) **changeStream {
	t, _ := ctx.Value(takerKey{}).(**changeStream)
	return t
}
