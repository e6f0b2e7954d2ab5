// Package idempotency makes writes safe to retry. A request sent with an
// Idempotency-Key runs once; the same request sent again with the same key
// is answered as the first was, and runs nothing.
//
// What is kept is the write's outcome: the task as the write left it (or
// removed it), or the rule the request broke. A write keeps it in its own
// transaction (the store reads the claim from the context), so a crash
// never keeps the write without its outcome, nor the outcome without the
// write. A repeat runs the same handler with the kept outcome in place of
// the write, so it gets the same status, headers and body, byte for byte.
// The interfaces keep the outcome of a request refused by a rule, which
// wrote nothing, through Refused.
package idempotency

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"tasksapi/access"
	"tasksapi/internal/sweep"
	"tasksapi/task"
)

// The header a client sends its key in, and the one that marks a repeat.
const (
	Header         = "Idempotency-Key"
	ReplayedHeader = "Idempotent-Replayed"
)

// DefaultTTL is how long an outcome is kept for repeats.
const DefaultTTL = 24 * time.Hour

// MaxKeyLength is the longest key accepted, in characters.
const MaxKeyLength = 255

// Outcome is what a write answered: the task it wrote or removed, or the
// rule it broke.
type Outcome struct {
	Task *task.Task  `json:"task,omitempty"`
	Err  *task.Error `json:"error,omitempty"`
}

// Result is the outcome as a write returns it.
func (o Outcome) Result() (task.Task, error) {
	if o.Err != nil {
		return task.Task{}, o.Err
	}
	if o.Task == nil {
		return task.Task{}, errors.New("a kept outcome holds neither a task nor an error")
	}
	return *o.Task, nil
}

// Encode is the stored form of o.
func (o Outcome) Encode() ([]byte, error) { return json.Marshal(o) }

// DecodeOutcome reads what Encode wrote.
func DecodeOutcome(b []byte) (Outcome, error) {
	var o Outcome
	if err := json.Unmarshal(b, &o); err != nil {
		return Outcome{}, fmt.Errorf("decode kept outcome: %w", err)
	}
	return o, nil
}

// Record is a kept outcome as stored.
type Record struct {
	Fingerprint []byte
	Outcome     []byte // Outcome.Encode
}

// Store keeps outcomes. A write that finds a Claim in its context keeps
// its outcome with Claim.Keep in the write's own transaction.
type Store interface {
	// IdempotencyRecord returns the unexpired record of an API key's key,
	// if any.
	IdempotencyRecord(ctx context.Context, keyID int, key string, now time.Time) (Record, bool, error)
	// KeepOutcome stores the outcome of a request that wrote nothing.
	KeepOutcome(ctx context.Context, c *Claim, outcome []byte) error
	// DeleteExpiredIdempotencyRecords removes up to limit records that
	// expired by now, and says how many it removed.
	DeleteExpiredIdempotencyRecords(ctx context.Context, now time.Time, limit int) (int, error)
}

// Keeper admits the requests that carry a key.
type Keeper struct {
	store Store
	ttl   time.Duration
	log   *slog.Logger
	// Now is the clock; tests replace it.
	Now func() time.Time

	mu      sync.Mutex
	running map[scope]bool // keys whose first request is being answered
}

// scope is a key as it belongs to the API key that sent it: another API
// key may use the same value for its own requests.
type scope struct {
	keyID int
	key   string
}

// New returns a Keeper that keeps outcomes in store for ttl.
func New(store Store, ttl time.Duration, log *slog.Logger) *Keeper {
	return &Keeper{store: store, ttl: ttl, log: log, Now: time.Now, running: map[scope]bool{}}
}

// Claim is a request's hold on its key while it runs.
type Claim struct {
	KeyID       int
	Key         string
	Fingerprint []byte
	At          time.Time // when the claim was made
	Expires     time.Time // when its outcome expires

	keeper *Keeper
	replay *Outcome // the kept outcome, when this request is a repeat
	mu     sync.Mutex
	kept   bool
}

type claimKey struct{}

// FromContext returns the claim of the request ctx belongs to, if any.
func FromContext(ctx context.Context) (*Claim, bool) {
	c, ok := ctx.Value(claimKey{}).(*Claim)
	return c, ok
}

// ClaimOf is the claim in ctx, or nil: a nil claim keeps nothing (Keep,
// Kept), so a store's write takes it from the request's context, before
// the write is queued to run under a context of its own, and uses it
// whether or not the request carried a key.
func ClaimOf(ctx context.Context) *Claim {
	c, _ := FromContext(ctx)
	return c
}

// Fingerprint identifies a request: its method, path and body, and any
// headers given (as "Name: value") that decide how the request is read.
// A repeat runs the same handler again, so a header that could make it
// answer differently (a Content-Type, an If-Match) belongs in the
// fingerprint: a repeat that differs in it is another request.
func Fingerprint(method, path string, body []byte, headers ...string) []byte {
	h := sha256.New()
	fmt.Fprintf(h, "%s %s\n", method, path)
	for _, line := range headers {
		fmt.Fprintf(h, "%s\n", line)
	}
	fmt.Fprintf(h, "\n")
	h.Write(body)
	return h.Sum(nil)
}

// CheckKey refuses a key that is not 1 to 255 visible ASCII characters.
func CheckKey(key string) error {
	if len(key) == 0 || len(key) > MaxKeyLength {
		return task.Invalid(Header, fmt.Sprintf("must be 1 to %d characters", MaxKeyLength))
	}
	for i := 0; i < len(key); i++ {
		if key[i] < 0x21 || key[i] > 0x7e {
			return task.Invalid(Header, "must hold only visible ASCII characters")
		}
	}
	return nil
}

// Begin claims key for a request of the principal in ctx whose
// fingerprint is given. It returns the request's context carrying the
// claim, and release, to call once the answer is sent. It refuses a bad
// key (CodeInvalid), a key whose first request is still being answered
// (CodeKeyInUse) and a key kept for another request (CodeKeyReused).
func (k *Keeper) Begin(ctx context.Context, key string, fingerprint []byte) (context.Context, func(), error) {
	if err := CheckKey(key); err != nil {
		return nil, nil, err
	}
	p, ok := access.FromContext(ctx)
	if !ok {
		return nil, nil, errors.New("idempotency: no principal in the request context")
	}
	s := scope{keyID: p.KeyID, key: key}
	k.mu.Lock()
	if k.running[s] {
		k.mu.Unlock()
		return nil, nil, &task.Error{Code: task.CodeKeyInUse,
			Message: "A request with this Idempotency-Key is still being answered; retry later"}
	}
	k.running[s] = true
	k.mu.Unlock()
	release := func() {
		k.mu.Lock()
		delete(k.running, s)
		k.mu.Unlock()
	}

	now := k.Now()
	c := &Claim{KeyID: p.KeyID, Key: key, Fingerprint: fingerprint, At: now, Expires: now.Add(k.ttl), keeper: k}
	rec, found, err := k.store.IdempotencyRecord(ctx, p.KeyID, key, now)
	if err != nil {
		release()
		return nil, nil, fmt.Errorf("idempotency: read kept outcome: %w", err)
	}
	if found {
		if string(rec.Fingerprint) != string(fingerprint) {
			release()
			return nil, nil, &task.Error{Code: task.CodeKeyReused,
				Message: "This Idempotency-Key was used for a different request"}
		}
		o, err := DecodeOutcome(rec.Outcome)
		if err != nil {
			release()
			return nil, nil, err
		}
		c.replay = &o
	}
	return context.WithValue(ctx, claimKey{}, c), release, nil
}

// Replayed reports whether the request is a repeat, answered with its
// kept outcome.
func (c *Claim) Replayed() bool { return c.replay != nil }

// Keep returns the stored form of a write's outcome, for the write to
// store in its own transaction, or nil when there is nothing to keep (a
// repeat, an outcome already kept, or no claim). Call Kept once the
// write commits.
func (c *Claim) Keep(t task.Task) ([]byte, error) {
	if c == nil {
		return nil, nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.replay != nil || c.kept {
		return nil, nil
	}
	return Outcome{Task: &t}.Encode()
}

// Kept records that the outcome is stored.
func (c *Claim) Kept() {
	if c == nil {
		return
	}
	c.mu.Lock()
	c.kept = true
	c.mu.Unlock()
}

// Refused keeps the outcome of a request of ctx that a rule refused
// before it wrote anything, when it carries a claim: a repeat then gets
// the same answer, and a different request under the key is refused.
// Answers that say nothing of the request itself (authentication, rate
// limits, faults) are not kept, so the client can retry them.
func Refused(ctx context.Context, err error) {
	c, ok := FromContext(ctx)
	var te *task.Error
	if !ok || !errors.As(err, &te) || !kept(te.Code) {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.replay != nil || c.kept {
		return
	}
	b, encErr := Outcome{Err: te}.Encode()
	if encErr == nil {
		// Kept even when the client has gone: its retry must meet it.
		encErr = c.keeper.store.KeepOutcome(context.WithoutCancel(ctx), c, b)
	}
	if encErr != nil {
		c.keeper.log.ErrorContext(ctx, "keeping a refusal for its Idempotency-Key failed", "err", encErr)
		return
	}
	c.kept = true
}

// kept reports whether a refusal of this code is kept for repeats.
func kept(code task.Code) bool {
	switch code {
	case task.CodeInvalid, task.CodeMalformed, task.CodeNotFound, task.CodeVersionConflict:
		return true
	}
	return false
}

// replayed returns the kept outcome when ctx is a repeat's.
func replayed(ctx context.Context) (Outcome, bool) {
	c, ok := FromContext(ctx)
	if !ok || c.replay == nil {
		return Outcome{}, false
	}
	return *c.replay, true
}

// Service answers the writes of a repeat with the kept outcome, so a
// repeat writes nothing, and passes every other call to the store.
type Service struct{ task.Service }

var _ task.Service = Service{}

func (s Service) CreateTask(ctx context.Context, in task.CreateInput) (task.Task, error) {
	if o, ok := replayed(ctx); ok {
		return o.Result()
	}
	return s.Service.CreateTask(ctx, in)
}

func (s Service) UpdateTask(ctx context.Context, id int, in task.UpdateInput, expect task.Expect) (task.Task, error) {
	if o, ok := replayed(ctx); ok {
		return o.Result()
	}
	return s.Service.UpdateTask(ctx, id, in, expect)
}

func (s Service) DeleteTask(ctx context.Context, id int, expect task.Expect) (task.Task, error) {
	if o, ok := replayed(ctx); ok {
		return o.Result()
	}
	return s.Service.DeleteTask(ctx, id, expect)
}

// Sweep removes expired records in small batches, every interval, until
// ctx ends: off the request path, each batch a short write.
func (k *Keeper) Sweep(ctx context.Context, interval time.Duration) {
	sweep.Every(ctx, interval, "expired idempotency keys", k.log, func(ctx context.Context, limit int) (int, error) {
		return k.store.DeleteExpiredIdempotencyRecords(ctx, k.Now(), limit)
	})
}
