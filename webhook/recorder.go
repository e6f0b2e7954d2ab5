package webhook

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"tasksapi/task"
)

// recorder records one worker's attempts in the store. A worker does not
// wait for a delivered change to be recorded before it sends the next:
// the recorder keeps the deliveries made meanwhile and records them
// together, in one transaction, at most once every RecordEvery while they
// come back to back (a lone one at once). So a webhook's deliveries are
// not held to the store's commits, and a busy webhook costs the store
// a few transactions a second rather than one a change.
//
// The cursor still moves only with the record of a 2xx, in feed order:
// should the server stop, the deliveries not yet recorded (at most
// RecordEvery's worth) are sent again after a restart, with the same
// webhook-id. A failed attempt is recorded at once, with the deliveries
// before it, as its schedule is read back from the store.
type recorder struct {
	store Store
	id    int
	every time.Duration
	log   *slog.Logger
	// onMoved is called when a recording finds that the worker must read
	// the webhook again.
	onMoved func()

	// recording is held while attempts are being written, so that runs
	// of attempts are recorded in the order they were made.
	recording sync.Mutex

	mu         sync.Mutex
	generation int64     // that of the attempts being made
	pending    []Attempt // made, not yet being recorded
	last       time.Time // when the last recording began
	busy       bool      // a recording is under way
	armed      bool      // timer will record pending
	timer      *time.Timer
	closed     bool
	// moved is set when a recording found the webhook moved on other than
	// by the worker's own attempts (a new generation, disabled, deleted),
	// or failed, and so left the changes it held to be sent again: the
	// worker must read the webhook again.
	moved bool
}

func newRecorder(store Store, id int, every time.Duration, log *slog.Logger, onMoved func()) *recorder {
	return &recorder{store: store, id: id, every: every, log: log, onMoved: onMoved}
}

// begin starts a run of deliveries under a webhook's generation; nothing
// is pending (see flush).
func (r *recorder) begin(generation int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.generation, r.moved = generation, false
}

// add keeps a delivered attempt, to be recorded with the others.
func (r *recorder) add(a Attempt) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.pending = append(r.pending, a)
	r.schedule()
}

// schedule arms the timer to record what is pending, RecordEvery after
// the last recording began, unless one is armed or under way (it
// schedules again when it ends). r.mu is held.
func (r *recorder) schedule() {
	if r.armed || r.busy || r.closed || len(r.pending) == 0 {
		return
	}
	r.armed = true
	wait := max(0, r.every-time.Since(r.last))
	if r.timer == nil {
		r.timer = time.AfterFunc(wait, r.fire)
	} else {
		r.timer.Reset(wait)
	}
}

func (r *recorder) fire() {
	r.mu.Lock()
	r.armed = false
	closed := r.closed
	r.mu.Unlock()
	if closed {
		return
	}
	_, err := r.flush()
	if err != nil && task.ErrorCode(err) != task.CodeNotFound {
		r.log.Error("recording deliveries failed: they are sent again", "err", err)
	}
	// The worker may be waiting for changes: wake it to read the webhook.
	if r.stale() {
		r.onMoved()
	}
}

// stale reports whether a recording found that the worker must read the
// webhook again.
func (r *recorder) stale() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.moved
}

// flush records what is pending, then the attempts given, in one
// transaction, and returns the webhook as it then is (a zero State when
// there was nothing to record).
func (r *recorder) flush(then ...Attempt) (State, error) {
	r.recording.Lock()
	defer r.recording.Unlock()
	r.mu.Lock()
	run := append(r.pending, then...)
	r.pending = nil
	generation := r.generation
	r.busy, r.last = true, time.Now()
	r.mu.Unlock()

	var st State
	var err error
	if len(run) > 0 {
		// Recorded even when delivery stops: the attempts were made.
		st, err = r.store.RecordAttempt(context.Background(), r.id, generation, run...)
	}

	r.mu.Lock()
	r.busy = false
	// A failure (the webhook deleted, or the store's) leaves the
	// deliveries in run to be sent again from the stored cursor.
	if len(run) > 0 && (err != nil || st.Generation != generation || !st.Enabled) {
		r.moved = true
	}
	r.schedule()
	r.mu.Unlock()
	return st, err
}

// close records what is pending and stops the timer: nothing is added
// after it.
func (r *recorder) close() {
	r.mu.Lock()
	r.closed = true
	if r.timer != nil {
		r.timer.Stop()
	}
	r.mu.Unlock()
	r.flush()
}
