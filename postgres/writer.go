package postgres

import (
	"cmp"
	"context"
	"errors"
	"maps"
	"slices"
	"strconv"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"tasksapi/feed"
	"tasksapi/task"
)

// Writes are committed in groups, as on SQLite (sqlite/writer.go). A
// commit waits for PostgreSQL to flush it to disk, and a write holds its
// organisation's row locked until then (feed.go), so writes committed one
// by one could commit one organisation's changes only one flush at a
// time; and a transaction that notifies holds PostgreSQL's notification
// queue until its commit is flushed, so they also commit one at a time
// across the whole database. So one writer per server runs the writes
// that arrive while a commit is under way in one transaction, one after
// another: one hold of each organisation's row, one flush and one
// notification per organisation for the lot. A lone write commits at
// once: nothing waits for a group to fill.
const maxGroup = 128

// writeRequest is one write: a create, a change or a delete.
type writeRequest struct {
	org int
	// task is the id of the task a change or a delete reads, locked, when
	// the group's transaction begins; 0 for a create.
	task int
	// write queues the request's statements in the group's transaction.
	// It may run more than once (see commitGroup), so it must start
	// afresh each time. A *task.Error is the request's answer, not a
	// fault: write returns one only before it has queued anything, and
	// the group goes on without it.
	write func(g *groupTx) error
	done  chan error // receives the outcome, once
}

// groupTx is the transaction of a group, as its writes see it.
type groupTx struct {
	// b holds the writes' own statements, sent with the commit.
	b *pgx.Batch
	// tasks are the tasks the group's changes and deletes read, as the
	// group's writes so far have left them: a second change of a task in
	// the group applies to what the first made of it.
	tasks map[taskKey]task.Task
	// parts are, per organisation, what the group records under the
	// organisation's row, at the end of its transaction.
	parts map[int]*orgPart
}

type taskKey struct{ org, id int }

// orgPart is what a group's writes of one organisation record while
// holding its row: their changes, in the order the writes ran, and the
// steps of its counts.
type orgPart struct {
	changes []pendingChange
	counts  []count
}

// pendingChange is a change, to be recorded under the organisation's next seq.
type pendingChange struct {
	typ    feed.Type
	t      task.Task
	fields []string
	at     task.DateTime
}

// task is org's task id as the group has it so far, if it exists.
func (g *groupTx) task(org, id int) (task.Task, bool) {
	t, ok := g.tasks[taskKey{org, id}]
	return t, ok
}

// record has the change a write made recorded and org's counts moved by
// counts, at the end of the group's transaction; t is the task after the
// change (for a delete, as it was), and what later writes of the group
// find.
func (g *groupTx) record(org int, typ feed.Type, t task.Task, fields []string, at task.DateTime, counts []count) {
	p := g.parts[org]
	if p == nil {
		p = &orgPart{}
		g.parts[org] = p
	}
	p.changes = append(p.changes, pendingChange{typ, t, fields, at})
	p.counts = append(p.counts, counts...)
	if typ == feed.Deleted {
		delete(g.tasks, taskKey{org, t.ID})
	} else {
		g.tasks[taskKey{org, t.ID}] = t
	}
}

// errClosed refuses a write that arrives after Close.
var errClosed = errors.New("the store is closed")

// commit runs r.write in the writer's next group transaction and returns
// its outcome once that transaction has committed (or failed). Once
// queued, the write is carried out whether or not the client waits.
func (s *Store) commit(ctx context.Context, r writeRequest) error {
	r.done = make(chan error, 1)
	if err := s.queueWrite(ctx, r); err != nil {
		return err
	}
	return <-r.done
}

// queueWrite hands r to the writer. Close takes closeMu to close
// s.writes, so a write that races it is refused instead of sending on a
// closed channel.
func (s *Store) queueWrite(ctx context.Context, r writeRequest) error {
	s.closeMu.RLock()
	defer s.closeMu.RUnlock()
	if s.closed {
		return errClosed
	}
	select {
	case s.writes <- r:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// groupWriter commits groups until s.writes is closed and drained.
func (s *Store) groupWriter() {
	defer close(s.writerDone)
	for first := range s.writes {
		s.commitGroup(s.gather(first))
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

// commitGroup stores a group in one transaction. A request refused by a
// rule (a *task.Error) is answered with it and takes nothing with it.
// Should the transaction fail and be known undone, each request is tried
// alone, so that one bad write (an Idempotency-Key kept meanwhile by
// another server, a deadlock with another server's group) fails only
// itself. A group whose commit may or may not have happened (the
// connection lost on the way) is not tried again: each request is
// answered with the failure, which says so.
func (s *Store) commitGroup(group []writeRequest) {
	ctx := context.Background() // one client going away must not undo the others
	answers := make([]error, len(group))
	committing, err := s.runGroup(ctx, group, answers)
	// The database refused a statement: it undid the whole transaction.
	// Any other failure before the commit was sent left nothing
	// committed either.
	var pgErr *pgconn.PgError
	undone := err != nil && !unreachable(err) && (!committing || errors.As(err, &pgErr))
	if undone && len(group) > 1 {
		for _, r := range group {
			s.commitGroup([]writeRequest{r})
		}
		return
	}
	for i, r := range group {
		if err != nil {
			answers[i] = keyTakenOr(err)
		}
		r.done <- answers[i]
	}
}

// readLocked reads the tasks a group's changes and deletes apply to, each
// in its organisation, locked against other writes until the commit. The
// rows are locked in id order, so that two servers' groups never lock
// each other's rows in a cycle.
const readLocked = `SELECT ` + taskColumns + `, organisation_id
	FROM unnest($1::bigint[], $2::bigint[]) AS w(w_org, w_id)
	JOIN tasks ON id = w_id AND organisation_id = w_org
	ORDER BY id FOR UPDATE OF tasks`

// runGroup runs group in one transaction, in the order task.go sets
// out, setting answers[i] to the refusal of group[i], if any. It says
// whether it got as far as sending the commit.
func (s *Store) runGroup(ctx context.Context, group []writeRequest, answers []error) (committing bool, err error) {
	// By organisation, and by task within one: the order in which the
	// group locks their rows. Writes of one task keep their order.
	slices.SortStableFunc(group, func(a, b writeRequest) int {
		return cmp.Or(cmp.Compare(a.org, b.org), cmp.Compare(a.task, b.task))
	})
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return false, err
	}
	defer conn.Release() // a connection left in a transaction is closed, not reused
	defer func() {
		if err != nil && conn.Conn().PgConn().TxStatus() != 'I' {
			conn.Exec(ctx, "ROLLBACK")
		}
	}()
	g := &groupTx{b: &pgx.Batch{}, tasks: map[taskKey]task.Task{}, parts: map[int]*orgPart{}}
	g.b.Queue("BEGIN")
	var orgs, ids []int64
	for i, r := range group {
		if r.task != 0 && (i == 0 || r.org != group[i-1].org || r.task != group[i-1].task) {
			orgs, ids = append(orgs, int64(r.org)), append(ids, int64(r.task))
		}
	}
	if len(ids) > 0 {
		g.b.Queue(readLocked, orgs, ids)
		err := g.readTasks(ctx, conn.Conn())
		if err != nil {
			return false, err
		}
		g.b = &pgx.Batch{}
	}
	for i, r := range group {
		err := r.write(g)
		var refused *task.Error
		if errors.As(err, &refused) {
			answers[i] = err
			continue
		}
		if err != nil {
			return false, err
		}
	}
	// Last, each organisation's row, in id order, and what only changes
	// under it: from here on nothing waits for another write.
	for _, org := range slices.Sorted(maps.Keys(g.parts)) {
		p := g.parts[org]
		for _, c := range p.changes {
			queueChange(g.b, org, c.typ, c.t, c.fields, c.at)
		}
		queueCounts(g.b, org, p.counts)
		g.b.Queue(notify, strconv.Itoa(org))
	}
	g.b.Queue("COMMIT")
	return true, sendAll(ctx, conn, g.b)
}

// readTasks sends g.b, which begins the transaction and ends with
// readLocked, and keeps the tasks read.
func (g *groupTx) readTasks(ctx context.Context, conn *pgx.Conn) error {
	br := conn.SendBatch(ctx, g.b)
	defer br.Close()
	for range g.b.Len() - 1 {
		if _, err := br.Exec(); err != nil {
			return err
		}
	}
	var org int
	scanner := newTaskScanner(&org)
	rows, err := br.Query()
	if err != nil {
		return err
	}
	for rows.Next() {
		t, err := scanner.scan(rows)
		if err != nil {
			rows.Close()
			return err
		}
		g.tasks[taskKey{org, t.ID}] = t
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	return br.Close()
}
