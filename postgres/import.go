package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"tasksapi/feed"
	"tasksapi/internal/snapshot"
	"tasksapi/task"
)

// importBatch is how many tasks one transaction of an import stores.
const importBatch = 50_000

// ImportTasks stores n tasks in org, made by next, through COPY in large
// transactions: the bulk path for seeding. Each input still passes
// task.NewTask, and each task records its created change and moves the
// counts, as a create does (and as the SQLite store's import does), so a
// seeded database reads as one made by creates.
func (s *Store) ImportTasks(ctx context.Context, org, n int, next func(i int) (task.CreateInput, time.Time)) error {
	for start := 0; start < n; start += importBatch {
		err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
			return importBatchOf(ctx, tx, org, start, min(importBatch, n-start), next)
		})
		if err != nil {
			return fail(err, "import tasks")
		}
	}
	// Fresh statistics, so the planner knows which index narrows best.
	if _, err := s.pool.Exec(ctx, "ANALYZE tasks, task_changes"); err != nil {
		return fail(err, "import tasks")
	}
	return nil
}

// importBatchOf stores the tasks start to start+size in tx, in the order
// of a write (see task.go): the tasks, then the organisation's seqs, the
// changes and the counts.
func importBatchOf(ctx context.Context, tx pgx.Tx, org, start, size int, next func(i int) (task.CreateInput, time.Time)) error {
	rows, err := tx.Query(ctx, nextTaskID+" FROM generate_series(1, $1)", size)
	if err != nil {
		return err
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int])
	if err != nil {
		return err
	}
	tasks := make([]task.Task, size)
	taskRows := make([][]any, size)
	counts := make([]count, 0, size)
	for i := range size {
		in, created := next(start + i)
		t, err := task.NewTask(in)
		if err != nil {
			return fmt.Errorf("task %d: %w", start+i, err)
		}
		t.Created(task.NewDateTime(created))
		t.ID = ids[i]
		tasks[i] = t
		taskRows[i] = []any{t.ID, org, t.Title, task.Fold(t.Title), int16(t.Status), int16(t.Priority),
			t.StartDatetime.Time(), timeOrNil(t.EndDatetime), pgDate(t.DueDate), t.Description, t.DealID, t.ContactID,
			t.AssignedUserID, tagIDs(t.TagIDs), t.Version, timeOrNil(t.CompletedAt), t.CreatedAt.Time(), t.UpdatedAt.Time()}
		counts = append(counts, countsOf(t, 1)...)
	}
	_, err = tx.CopyFrom(ctx, pgx.Identifier{"tasks"}, []string{"id", "organisation_id", "title", "title_fold",
		"status", "priority", "start_datetime", "end_datetime", "due_date", "description", "deal_id", "contact_id",
		"assigned_user_id", "tag_ids", "version", "completed_at", "created_at", "updated_at"}, pgx.CopyFromRows(taskRows))
	if err != nil {
		return err
	}
	var head int64
	if err := tx.QueryRow(ctx, "UPDATE organisations SET head_seq = head_seq + $2 WHERE id = $1 RETURNING head_seq",
		org, size).Scan(&head); err != nil {
		return err
	}
	first := head - int64(size) + 1
	_, err = tx.CopyFrom(ctx, pgx.Identifier{"task_changes"}, []string{"organisation_id", "seq", "type", "task_id",
		"at", "fields", "task"}, pgx.CopyFromSlice(size, func(i int) ([]any, error) {
		t := tasks[i]
		return []any{org, first + int64(i), int16(feed.Created), t.ID, t.CreatedAt.Time(), []string{}, snapshot.Append(nil, t)}, nil
	}))
	if err != nil {
		return err
	}
	b := &pgx.Batch{}
	queueCounts(b, org, counts)
	if err := tx.SendBatch(ctx, b).Close(); err != nil {
		return err
	}
	return notifyChanged(ctx, tx, org)
}
