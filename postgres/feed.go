package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"tasksapi/feed"
	"tasksapi/internal/snapshot"
	"tasksapi/task"
)

var _ feed.Reader = (*Store)(nil)

// No gaps, no repeats. Once a reader has been shown an organisation's
// change with seq S, no change of that organisation with a lower seq may
// appear later. Transactions on PostgreSQL commit side by side, so a seq
// handed out by a sequence could commit after a higher one that a reader
// has already passed: the reader would never see it.
//
// So each write takes its seq by updating its organisation's row:
//
//	UPDATE organisations SET head_seq = head_seq + 1 WHERE id = $1 RETURNING head_seq
//
// That locks the row until the write's transaction ends, and a second
// write of the organisation waits at the same statement until then. By
// the time the lock passes on, the first write's commit is durable and
// visible to every new snapshot (PostgreSQL makes a transaction visible
// before it releases its locks); a write that rolls back gives its seq
// back with the row, before anyone saw it. So an organisation's changes
// become visible one by one in seq order, with consecutive seqs, and a
// reader's snapshot that holds seq S holds every seq below it. This
// holds however many servers write, since the lock is the database's.
//
// The price is that an organisation's commits cannot share a flush:
// each holds the lock until its own flush is done. So a server commits
// its writes in groups (writer.go): the writes that arrive while a
// commit is under way run in one transaction, which takes the
// organisation's seqs one after another, holding the row once, so that
// one flush commits the lot. Seqs stay consecutive and visible in order:
// the group's changes of an organisation become visible together, at
// its commit, and a group that rolls back gives all its seqs back.
// And the lock is taken as late as a group can: after every write's task
// row and Idempotency-Key outcome, with nothing after it but the
// changes, the counts, the notification and the commit, all sent in the
// same batch, so that the lock is never held across a round trip to the
// server. A group takes the rows of several organisations in id order,
// so that two servers' groups never wait for each other's in a cycle.
// Organisations never wait for each other's locks; the writes of all of
// them that reach one server share its groups' flushes.

// head_seq is also the organisation's head as a reader reports it: it
// moves in the same transaction as the change it numbers.

// recordChange takes the organisation's next seq and records the change
// under it.
const recordChange = `WITH next AS (
		UPDATE organisations SET head_seq = head_seq + 1 WHERE id = $1 RETURNING head_seq)
	INSERT INTO task_changes (organisation_id, seq, type, task_id, at, fields, task)
	SELECT $1, head_seq, $2, $3, $4, $5, $6 FROM next`

// notify is the notification of a write of an organisation's tasks
// (see changedChannel): one per organisation per group, however many of
// its changes the group records, and one per import transaction.
const notify = "SELECT pg_notify('" + changedChannel + "', $1)"

// queueChange queues the change a write made, under the organisation's
// next seq. t is the task after the change (for a delete, as it was); at
// is the write's time.
func queueChange(b *pgx.Batch, org int, typ feed.Type, t task.Task, fields []string, at task.DateTime) {
	if fields == nil {
		fields = []string{}
	}
	var snap []byte // NULL for a delete
	if typ != feed.Deleted {
		snap = snapshot.Append(nil, t)
	}
	b.Queue(recordChange, org, int16(typ), t.ID, at.Time(), fields, snap)
}

// readChanges reads the organisation's head, what retention removed, and
// the page after $2, in one statement, so from one snapshot: one more
// change than the page is read, to tell whether more follow.
const readChanges = `SELECT o.changes_removed_through, o.head_seq, c.seq, c.type, c.task_id, c.at, c.fields, c.task
	FROM organisations o LEFT JOIN LATERAL (
		SELECT seq, type, task_id, at, fields, task FROM task_changes
		WHERE organisation_id = o.id AND seq > $2 ORDER BY seq LIMIT $3) c ON true
	WHERE o.id = $1
	ORDER BY c.seq`

// Changes returns the organisation's changes after q.After.
func (s *Store) Changes(ctx context.Context, q feed.Query) (feed.Page, error) {
	org, err := organisation(ctx)
	if err != nil {
		return feed.Page{}, err
	}
	page, err := read(ctx, s, func() (feed.Page, error) { return s.changes(ctx, org, q) })
	if err != nil {
		return feed.Page{}, fail(err, "read changes")
	}
	return page, nil
}

func (s *Store) changes(ctx context.Context, org int, q feed.Query) (feed.Page, error) {
	page := feed.Page{Changes: make([]feed.Change, 0, min(q.Limit, 64)), LastSeq: q.After}
	rows, err := s.pool.Query(ctx, readChanges, org, q.After, q.Limit+1)
	if err != nil {
		return feed.Page{}, err
	}
	defer rows.Close()
	var (
		removedThrough int64
		seq            pgtype.Int8
		typ            pgtype.Int2
		taskID         pgtype.Int8
		at             pgtype.Timestamp
		fields         []string
		snap           []byte
	)
	for rows.Next() {
		if err := rows.Scan(&removedThrough, &page.HeadSeq, &seq, &typ, &taskID, &at, &fields, &snap); err != nil {
			return feed.Page{}, err
		}
		if q.After > 0 && q.After < removedThrough {
			return feed.Page{}, feed.Expired()
		}
		if !seq.Valid { // no change after q.After
			break
		}
		if len(page.Changes) == q.Limit {
			page.HasMore = true
			break
		}
		c := feed.NewChange()
		c.Seq, c.Type, c.TaskID, c.At = seq.Int64, feed.Type(typ.Int16), int(taskID.Int64), task.NewDateTime(at.Time)
		c.Fields = append(make([]string, 0, len(fields)), fields...)
		if snap != nil {
			t, err := snapshot.Parse(snap)
			if err != nil {
				return feed.Page{}, fmt.Errorf("change %d task: %w", c.Seq, err)
			}
			c.Task = &t
		}
		page.Changes = append(page.Changes, c)
		page.LastSeq = c.Seq
	}
	return page, rows.Err()
}

// sweepLock is the advisory lock a removal of old changes holds, so that
// servers sweeping at the same moment take turns rather than contend for
// the same rows ("sweep" in ASCII).
const sweepLock = 0x7377656570

// deleteOldChanges removes, of each organisation whose oldest change is
// older than $1, its oldest changes older than $1, walking its changes in
// seq order (the primary key's) and stopping at $2 in all; and raises
// each organisation's changes_removed_through to the highest seq it lost.
// The times of an organisation's changes grow with their seqs up to a
// clock's skew between servers, so the changes removed are the oldest: a
// change left behind under a removed seq is one only a refused reader
// could have wanted, and goes in a later batch.
const deleteOldChanges = `WITH doomed AS (
		SELECT c.organisation_id, c.seq FROM organisations o CROSS JOIN LATERAL (
			SELECT organisation_id, seq, at FROM task_changes
			WHERE organisation_id = o.id ORDER BY seq LIMIT $2) c
		WHERE (SELECT at FROM task_changes WHERE organisation_id = o.id ORDER BY seq LIMIT 1) < $1
			AND c.at < $1
		ORDER BY c.organisation_id, c.seq LIMIT $2),
	gone AS (
		DELETE FROM task_changes t USING doomed d
		WHERE t.organisation_id = d.organisation_id AND t.seq = d.seq
		RETURNING t.organisation_id, t.seq),
	lost AS (SELECT organisation_id, max(seq) AS seq, count(*) AS n FROM gone GROUP BY organisation_id),
	marked AS (
		UPDATE organisations o SET changes_removed_through = greatest(o.changes_removed_through, lost.seq)
		FROM lost WHERE o.id = lost.organisation_id)
	SELECT coalesce(sum(n), 0) FROM lost`

// DeleteOldChanges removes up to limit changes committed before before,
// each organisation's oldest (lowest seq) first, and records for each
// organisation the highest seq it lost, so that a read from before it is
// refused rather than silently missing changes. It says how many it
// removed; while another server is removing, it removes none.
func (s *Store) DeleteOldChanges(ctx context.Context, before time.Time, limit int) (int, error) {
	var n int
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var mine bool
		if err := tx.QueryRow(ctx, "SELECT pg_try_advisory_xact_lock($1)", sweepLock).Scan(&mine); err != nil || !mine {
			return err
		}
		return tx.QueryRow(ctx, deleteOldChanges, task.NewDateTime(before).Time(), limit).Scan(&n)
	})
	if err != nil {
		return 0, fail(err, "remove old changes")
	}
	return n, nil
}
