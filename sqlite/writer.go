package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"tasksapi/task"
)

// Writes are committed in groups. Every commit of the one writer
// connection waits for its sync to disk; writes that arrive while a
// commit is under way queue up and go into the next transaction
// together, so under load one sync acknowledges many writes. A lone
// write commits at once: nothing waits for a group to fill.
const maxGroup = 128

// writeRequest is one write: a create, a change or a delete.
type writeRequest struct {
	// org is the organisation whose tasks the write changes, told to
	// s.committed once the write has committed.
	org int
	// write does the request's work in the group's transaction. It may
	// run more than once (see commitGroup), so it must start afresh each
	// time. A *task.Error is the request's answer, not a fault: write
	// returns one only before it has written anything, and the group
	// goes on without it.
	write func(ctx context.Context, tx *sql.Tx) error
	done  chan error // receives the outcome, once
}

// errClosed refuses a write that arrives after Close.
var errClosed = errors.New("the store is closed")

// commit runs write in the writer's next group transaction and returns
// its outcome once that transaction has committed (or failed).
func (s *Store) commit(ctx context.Context, org int, write func(ctx context.Context, tx *sql.Tx) error) error {
	req := writeRequest{org: org, write: write, done: make(chan error, 1)}
	if err := s.queueWrite(ctx, req); err != nil {
		return err
	}
	return <-req.done
}

// queueWrite hands req to the writer. Close takes closeMu to close
// s.writes, so a write that races it is refused instead of sending on a
// closed channel.
func (s *Store) queueWrite(ctx context.Context, req writeRequest) error {
	s.closeMu.RLock()
	defer s.closeMu.RUnlock()
	if s.closed {
		return errClosed
	}
	select {
	case s.writes <- req:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// gather is first and the writes already waiting behind it, at most
// maxGroup in all: the group one transaction commits.
func (s *Store) gather(first writeRequest) []writeRequest {
	group := []writeRequest{first}
	for len(group) < maxGroup {
		select {
		case r, ok := <-s.writes:
			if !ok {
				return group
			}
			group = append(group, r)
		default:
			return group
		}
	}
	return group
}

// groupWriter runs until s.writes is closed. Between groups, it moves
// the tasks created since into the search index (see indexTail).
func (s *Store) groupWriter() {
	defer close(s.writerDone)
	var tick <-chan time.Time
	if s.fts {
		ticker := time.NewTicker(indexEvery)
		defer ticker.Stop()
		tick = ticker.C
	}
	unindexed := false
	for {
		select {
		case first, ok := <-s.writes:
			if !ok {
				return
			}
			s.commitGroup(s.gather(first))
			unindexed = true
		case <-tick:
			if unindexed {
				s.indexTail()
				unindexed = false
			}
		}
	}
}

// commitGroup stores a group in one transaction. A request refused by a
// rule (a *task.Error) is answered with it and takes nothing with it.
// Should the transaction fail, each request is tried alone, so that one
// bad row fails only its own request.
func (s *Store) commitGroup(group []writeRequest) {
	ctx := context.Background() // one client going away must not undo the others
	answers := make([]error, len(group))
	err := inTx(ctx, s.write, func(tx *sql.Tx) error {
		for i, r := range group {
			err := r.write(ctx, tx)
			var refused *task.Error
			if errors.As(err, &refused) {
				answers[i] = err
				continue
			}
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil && len(group) > 1 {
		for _, r := range group {
			s.commitGroup([]writeRequest{r})
		}
		return
	}
	for i, r := range group {
		if err != nil {
			answers[i] = err
		}
		if answers[i] == nil && r.org != 0 && s.committed != nil {
			s.committed(r.org)
		}
		r.done <- answers[i]
	}
}
