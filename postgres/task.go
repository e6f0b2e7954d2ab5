package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"tasksapi/feed"
	"tasksapi/idempotency"
	"tasksapi/task"
)

// Writes of tasks. Each write is handed to the server's writer
// (writer.go), which runs it in one transaction with the writes that
// arrived beside it, sent as at most two pipelined batches: the tasks
// the group's changes and deletes read, then every write's statements
// and the commit. A create takes its id first, on its own. Within a
// group's transaction the statements come in one order, so that no two
// groups, of this server or another, can wait for each other in a cycle:
//
//  1. the tasks the changes and deletes apply to, read and locked in one
//     statement, in id order (writer.go);
//  2. each write's own row (insert, update or delete), and its
//     Idempotency-Key's outcome (idempotency.go), which may wait for
//     another transaction keeping the same key: two groups keeping two
//     keys in opposite orders deadlock, and PostgreSQL ends one, whose
//     writes are then each tried alone;
//  3. each organisation's part, in id order: its next seqs and the
//     changes (feed.go), from which on the organisation's row is locked
//     until the commit, so nothing after it may wait for another write;
//     the counts of its tasks (taskcounts.go), whose rows only ever
//     change under that lock, so they are never waited for apart; its
//     notification;
//  4. the commit.
//
// A write, once queued, is carried out whether or not its client waits:
// its group runs under a context of its own, as cancelling a statement
// in flight would leave its outcome unknown, and the other writes of
// the group with it.

// insertTask is the SQL of a new task, with the id it was given.
const insertTask = `INSERT INTO tasks (id, organisation_id, title, title_fold, status, priority,
	start_datetime, end_datetime, due_date, description, deal_id, contact_id, assigned_user_id,
	tag_ids, version, completed_at, created_at, updated_at)
	VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::date, $10, $11, $12, $13, $14, $15, $16, $17, $18)`

// updateTask sets every stored field of a changed task. Setting them all
// costs PostgreSQL no more than setting the changed ones: updated_at,
// which is indexed, changes with every change, so each writes every
// index anyway; one statement serves every change.
const updateTask = `UPDATE tasks SET title = $2, title_fold = $3, status = $4, priority = $5,
	start_datetime = $6, end_datetime = $7, due_date = $8::date, description = $9, deal_id = $10,
	contact_id = $11, assigned_user_id = $12, tag_ids = $13, version = $14, completed_at = $15,
	updated_at = $16
	WHERE id = $1`

// nextTaskID takes a new id from the tasks' identity sequence: ids are
// never given twice, even by transactions that roll back. A create takes
// its id first, so that its change's snapshot can be made before the
// transaction is sent whole.
const nextTaskID = `SELECT nextval(pg_get_serial_sequence('tasks', 'id'))`

// CreateTask validates in and stores the new task.
func (s *Store) CreateTask(ctx context.Context, in task.CreateInput) (task.Task, error) {
	org, err := organisation(ctx)
	if err != nil {
		return task.Task{}, err
	}
	t, err := task.NewTask(in)
	if err != nil {
		return task.Task{}, err
	}
	t.Created(task.NewDateTime(s.Now()))
	claim := idempotency.ClaimOf(ctx)
	if err := s.pool.QueryRow(ctx, nextTaskID).Scan(&t.ID); err != nil {
		return task.Task{}, fail(err, "create task")
	}
	err = s.commit(ctx, writeRequest{org: org, write: func(g *groupTx) error {
		queueInsert(g.b, org, t)
		if err := queueKeep(g.b, claim, t); err != nil {
			return err
		}
		g.record(org, feed.Created, t, nil, t.CreatedAt, countsOf(t, 1))
		return nil
	}})
	if err != nil {
		return task.Task{}, fail(err, "create task")
	}
	claim.Kept()
	return t, nil
}

// UpdateTask changes the task with the given id by in, if expect accepts
// its version. The task is read locked, changed by the domain's rules
// (task.Task.Apply) and written in one transaction, so no other write
// comes between the read and the write: of two changes conditional on
// the same version, the second waits for the first (or follows it in
// its group), then finds its version.
func (s *Store) UpdateTask(ctx context.Context, id int, in task.UpdateInput, expect task.Expect) (task.Task, error) {
	org, err := organisation(ctx)
	if err != nil {
		return task.Task{}, err
	}
	claim := idempotency.ClaimOf(ctx)
	var t task.Task
	err = s.change(ctx, org, id, expect, func(old task.Task, g *groupTx) error {
		var fields []string
		var err error
		t, fields, err = old.Apply(in, task.NewDateTime(s.Now()))
		if err != nil {
			return err
		}
		if len(fields) > 0 {
			queueUpdate(g.b, t)
		}
		if err := queueKeep(g.b, claim, t); err != nil {
			return err
		}
		if len(fields) > 0 {
			g.record(org, feed.Updated, t, fields, t.UpdatedAt, append(countsOf(old, -1), countsOf(t, 1)...))
		}
		return nil
	})
	if err != nil {
		return task.Task{}, fail(err, "update task %d", id)
	}
	claim.Kept()
	return t, nil
}

// DeleteTask removes the task with the given id, if expect accepts its
// version, and returns it as it was. Its id came from the identity
// sequence, so it is never given to another task.
func (s *Store) DeleteTask(ctx context.Context, id int, expect task.Expect) (task.Task, error) {
	org, err := organisation(ctx)
	if err != nil {
		return task.Task{}, err
	}
	claim := idempotency.ClaimOf(ctx)
	var t task.Task
	err = s.change(ctx, org, id, expect, func(old task.Task, g *groupTx) error {
		t = old
		g.b.Queue("DELETE FROM tasks WHERE id = $1", t.ID)
		if err := queueKeep(g.b, claim, t); err != nil {
			return err
		}
		g.record(org, feed.Deleted, t, nil, task.NewDateTime(s.Now()), countsOf(t, -1))
		return nil
	})
	if err != nil {
		return task.Task{}, fail(err, "delete task %d", id)
	}
	claim.Kept()
	return t, nil
}

// change runs a change or a delete of org's task id in the writer's next
// group: the group reads the task locked against other writes until its
// commit; write then queues the statements of the change (nothing, when
// it alters nothing) on the task as the group has it. A refusal, of
// expect or of write, comes before anything is queued.
func (s *Store) change(ctx context.Context, org, id int, expect task.Expect, write func(old task.Task, g *groupTx) error) error {
	return s.commit(ctx, writeRequest{org: org, task: id, write: func(g *groupTx) error {
		old, ok := g.task(org, id)
		if !ok {
			return task.NotFound()
		}
		if err := expect.Check(old.Version); err != nil {
			return err
		}
		return write(old, g)
	}})
}

// batchSender is a pool or a connection.
type batchSender interface {
	SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults
}

var (
	_ batchSender = (*pgxpool.Pool)(nil)
	_ batchSender = (*pgxpool.Conn)(nil)
)

// sendAll sends b and reads each of its results, returning the first
// failure: after one, PostgreSQL skips the rest of the batch.
func sendAll(ctx context.Context, to batchSender, b *pgx.Batch) error {
	br := to.SendBatch(ctx, b)
	var first error
	for range b.Len() {
		if _, err := br.Exec(); err != nil && first == nil {
			first = err
		}
	}
	if err := br.Close(); first == nil {
		first = err
	}
	return first
}

// queueInsert queues the insert of t, with its id, in org.
func queueInsert(b *pgx.Batch, org int, t task.Task) {
	b.Queue(insertTask, t.ID, org, t.Title, task.Fold(t.Title), t.Status, t.Priority,
		t.StartDatetime.Time(), timeOrNil(t.EndDatetime), t.DueDate.String(), t.Description,
		t.DealID, t.ContactID, t.AssignedUserID, tagIDs(t.TagIDs), t.Version, timeOrNil(t.CompletedAt),
		t.CreatedAt.Time(), t.UpdatedAt.Time())
}

// queueUpdate queues the write of every stored field of t.
func queueUpdate(b *pgx.Batch, t task.Task) {
	b.Queue(updateTask, t.ID, t.Title, task.Fold(t.Title), t.Status, t.Priority,
		t.StartDatetime.Time(), timeOrNil(t.EndDatetime), t.DueDate.String(), t.Description,
		t.DealID, t.ContactID, t.AssignedUserID, tagIDs(t.TagIDs), t.Version, timeOrNil(t.CompletedAt),
		t.UpdatedAt.Time())
}

// timeOrNil is an optional date-time as a statement's argument.
func timeOrNil(d *task.DateTime) any {
	if d == nil {
		return nil
	}
	return d.Time()
}

// tagIDs is a task's tags as an argument: never NULL, as the column is
// not.
func tagIDs(ids []int) []int {
	if ids == nil {
		return []int{}
	}
	return ids
}
