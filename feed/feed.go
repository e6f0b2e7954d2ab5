// Package feed is the change feed: every create, change and delete of an
// organisation's tasks, in the order they committed, each with a sequence
// number (seq). The store records a change in the same transaction as its
// write; readers page through what is recorded, and followers are woken
// after each commit to read on. Whatever a reader is shown comes from the
// stored feed, so a slow reader, a restart or a crash loses nothing: it
// reads on from the last seq it handled.
package feed

import (
	"context"
	"sync"
	"sync/atomic"

	"tasksapi/task"
)

// Type is what a change did to its task.
type Type int

const (
	Created Type = iota + 1
	Updated
	Deleted
)

// String is the type's wire name in REST and SSE.
func (t Type) String() string {
	switch t {
	case Created:
		return "created"
	case Updated:
		return "updated"
	case Deleted:
		return "deleted"
	}
	return "unknown"
}

// Change is one recorded write.
type Change struct {
	// Seq is the change's position: positive, and strictly increasing in
	// commit order (not necessarily consecutive).
	Seq  int64
	Type Type
	// TaskID is the task written.
	TaskID int
	// At is when the change was committed (UTC).
	At task.DateTime
	// Fields are the domain names of the fields an update changed,
	// derived ones included, sorted; empty for creates and deletes.
	Fields []string
	// Task is the task right after the change; nil for a delete.
	Task *task.Task

	wire *wireMemo // see Wire
}

// wireMemo holds a change's wire form once it has been encoded, and its
// other encodings by their keys (see Encoded).
type wireMemo struct {
	once sync.Once
	b    []byte

	mu      sync.Mutex                 // held to add an encoding
	encoded atomic.Pointer[[]encoding] // few: one for each distinct selection of it
}

type encoding struct {
	key string
	b   []byte
}

// NewChange returns a change whose wire form Wire encodes once.
func NewChange() Change { return Change{wire: new(wireMemo)} }

// Wire returns enc(c), encoded once for a change however many followers
// send it (for a change made by NewChange; others are encoded each time).
// enc must always encode the same way: the REST form, which server-sent
// events and webhooks send as it is.
func (c *Change) Wire(enc func(*Change) []byte) []byte {
	if c.wire == nil {
		return enc(c)
	}
	c.wire.once.Do(func() { c.wire.b = enc(c) })
	return c.wire.b
}

// Encoded returns enc(c), encoded once for a change and a key however
// many followers send it in the form the key names (for a change made by
// NewChange; others are encoded each time). The key must name the
// encoding whole: GraphQL subscriptions key a change's payload by the
// plan of their selection, so every subscriber with the same selection
// sends the same bytes, encoded by the first that needs them.
func (c *Change) Encoded(key string, enc func(*Change) []byte) []byte {
	m := c.wire
	if m == nil {
		return enc(c)
	}
	if b, ok := m.lookup(key); ok { // without a lock: read by every follower
		return b
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if b, ok := m.lookup(key); ok {
		return b
	}
	b := enc(c)
	if old := m.encoded.Load(); old == nil || len(*old) < maxEncodings {
		var next []encoding
		if old != nil {
			next = append(next, *old...)
		}
		next = append(next, encoding{key, b})
		m.encoded.Store(&next)
	}
	return b
}

func (m *wireMemo) lookup(key string) ([]byte, bool) {
	if encoded := m.encoded.Load(); encoded != nil {
		for _, e := range *encoded {
			if e.key == key {
				return e.b, true
			}
		}
	}
	return nil, false
}

// maxEncodings bounds the encodings a change keeps: subscribers of rarer
// selections encode it each on their own, so that many distinct
// selections cannot make every kept change hold many copies of itself.
const maxEncodings = 8

// Page is a run of an organisation's changes.
type Page struct {
	Changes []Change
	// LastSeq is the seq of the last change of the page, or the query's
	// After when the page is empty: the After of the next read.
	LastSeq int64
	// HeadSeq is the newest seq of the organisation's changes (0 when it
	// has none).
	HeadSeq int64
	// HasMore says whether changes after LastSeq exist now.
	HasMore bool
}

// Limits of a read.
const (
	DefaultLimit = 100
	MaxLimit     = 1000 // larger limits are served this many
	// MaxSeq is the largest seq: 2^53 - 1, the largest integer a JSON
	// number carries exactly in every client.
	MaxSeq = 1<<53 - 1
)

// Params is a read as a client sends it; nil means not sent.
type Params struct {
	After *int64
	Limit *int
}

// Query is a checked read: changes after After, at most Limit of them.
type Query struct {
	After int64
	Limit int
}

// Query checks p and applies the defaults: after 0 (from the oldest
// change kept), limit 100, limits above 1000 served as 1000.
func (p Params) Query() (Query, error) {
	q := Query{Limit: DefaultLimit}
	var errs []task.FieldError
	if p.After != nil {
		if *p.After < 0 || *p.After > MaxSeq {
			errs = append(errs, task.FieldError{Field: "after", Message: "must be a seq: an integer from 0 to 2^53 - 1"})
		}
		q.After = *p.After
	}
	if p.Limit != nil {
		if *p.Limit < 1 {
			errs = append(errs, task.FieldError{Field: "limit", Message: "must be at least 1"})
		}
		q.Limit = min(*p.Limit, MaxLimit)
	}
	if len(errs) > 0 {
		return Query{}, &task.Error{Code: task.CodeInvalid, Fields: errs}
	}
	return q, nil
}

// Reader reads the feed of the organisation of the principal in ctx.
type Reader interface {
	// Changes returns the changes after q.After. When changes after
	// q.After were removed as older than what is kept, it returns an
	// error of code task.CodeExpired.
	Changes(ctx context.Context, q Query) (Page, error)
}

// Expired is the error of a read from a point whose changes are no
// longer kept.
func Expired() *task.Error {
	return &task.Error{Code: task.CodeExpired,
		Message: "Changes after this point are no longer kept: read the list again and follow the feed from its head_seq"}
}
