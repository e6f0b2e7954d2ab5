package db

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"tasksapi/task"
)

// Creates are committed in groups. Every commit of the one writer
// connection waits for its sync to disk; creates that arrive while a
// commit is under way queue up and go into the next transaction
// together, so under load one sync acknowledges many creates. A lone
// create commits at once: nothing waits for a group to fill.
const maxGroup = 128

type createRequest struct {
	org  int
	task *task.Task // its ID is set once stored
	done chan error // receives the outcome, once
}

// errClosed refuses a create that arrives after Close.
var errClosed = errors.New("the store is closed")

// queueCreate hands req to the writer. Close takes closeMu to close
// s.creates, so a create that races it is refused instead of sending on a
// closed channel.
func (s *Store) queueCreate(ctx context.Context, req createRequest) error {
	s.closeMu.RLock()
	defer s.closeMu.RUnlock()
	if s.closed {
		return errClosed
	}
	select {
	case s.creates <- req:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// gather is first and the creates already waiting behind it, at most
// maxGroup in all: the group one transaction commits.
func (s *Store) gather(first createRequest) []createRequest {
	group := []createRequest{first}
	for len(group) < maxGroup {
		select {
		case r, ok := <-s.creates:
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

// groupWriter runs until s.creates is closed. Between groups, it moves
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
		case first, ok := <-s.creates:
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

// commitGroup stores a group in one transaction. Should the transaction
// fail, each create is tried alone, so that one bad row fails only its
// own request.
func (s *Store) commitGroup(group []createRequest) {
	ctx := context.Background() // one client going away must not undo the others
	err := inTx(ctx, s.write, func(tx *sql.Tx) error {
		for _, r := range group {
			if err := insert(ctx, tx, r.org, r.task); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil && len(group) > 1 {
		for _, r := range group {
			r.task.ID = 0
			s.commitGroup([]createRequest{r})
		}
		return
	}
	for _, r := range group {
		r.done <- err
	}
}
