package feed

import (
	"fmt"
	"maps"
	"sync"
	"sync/atomic"

	"tasksapi/task"
)

// Streams keeps account of the feed's open streams and subscriptions:
// it bounds how many each API key holds at once (REST streams and GraphQL
// subscriptions together), and counts what they send and why they end,
// for the metrics.
type Streams struct {
	max int

	mu    sync.Mutex
	byKey map[int]int               // open, by API key
	open  map[string]int            // open, by kind
	sent  map[string]*atomic.Uint64 // changes sent, by kind: counted by every stream, without the lock
	ended map[string]uint64         // ended, by reason
}

// The kinds of stream, and the reasons one ends.
const (
	KindSSE        = "sse"         // GET /v1/tasks/changes/stream
	KindGraphQLWS  = "graphql-ws"  // a subscription over graphql-transport-ws
	KindGraphQLSSE = "graphql-sse" // a subscription over graphql-sse

	EndClosed   = "closed"   // the client went away or stopped it
	EndTooSlow  = "too_slow" // it could not take changes as fast as they came
	EndExpired  = "expired"  // its point in the feed is no longer kept
	EndShutdown = "shutdown" // the server stopped
	EndFailed   = "failed"   // a fault of the server's
)

// NewStreams allows each key max open streams and subscriptions.
func NewStreams(max int) *Streams {
	return &Streams{max: max, byKey: map[int]int{}, open: map[string]int{},
		sent: map[string]*atomic.Uint64{}, ended: map[string]uint64{}}
}

// Stream is one open stream or subscription.
type Stream struct {
	streams *Streams
	keyID   int
	kind    string
	sent    *atomic.Uint64 // of its kind
	once    sync.Once
}

// Open holds a place for a stream of the given kind for the key until it
// ends, or refuses one more than the key may hold with
// task.CodeTooManySubscriptions.
func (s *Streams) Open(keyID int, kind string) (*Stream, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.byKey[keyID] >= s.max {
		return nil, &task.Error{Code: task.CodeTooManySubscriptions,
			Message: fmt.Sprintf("This key already holds %d open streams and subscriptions, the most it may", s.max)}
	}
	s.byKey[keyID]++
	s.open[kind]++
	sent := s.sent[kind]
	if sent == nil {
		sent = new(atomic.Uint64)
		s.sent[kind] = sent
	}
	return &Stream{streams: s, keyID: keyID, kind: kind, sent: sent}, nil
}

// Sent counts n changes sent.
func (st *Stream) Sent(n int) { st.sent.Add(uint64(n)) }

// End frees the stream's place and counts why it ended; only the first
// call counts.
func (st *Stream) End(reason string) {
	st.once.Do(func() {
		s := st.streams
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.byKey[st.keyID]--; s.byKey[st.keyID] == 0 {
			delete(s.byKey, st.keyID)
		}
		s.open[st.kind]--
		s.ended[reason]++
	})
}

// Stats returns a snapshot of the account, for the metrics: open
// streams by kind, changes sent by kind, streams ended by reason.
func (s *Streams) Stats() (open map[string]int, sent map[string]uint64, ended map[string]uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sent = make(map[string]uint64, len(s.sent))
	for kind, n := range s.sent {
		if v := n.Load(); v > 0 {
			sent[kind] = v
		}
	}
	return maps.Clone(s.open), sent, maps.Clone(s.ended)
}
