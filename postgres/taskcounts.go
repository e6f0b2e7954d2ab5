package postgres

import (
	"github.com/jackc/pgx/v5"

	"tasksapi/task"
)

// The exact totals: task_counts holds how many of an organisation's tasks
// have each status and priority, and task_counts_by_user the same for
// each assignee. Every write moves them in the transaction that stores
// it (its group's: the steps of a group's writes of one organisation are
// summed into one statement), so a total read from them is exact at any
// snapshot.
//
// They are moved by statements of the write rather than by triggers, so
// that they come after the organisation's row is locked for the write's
// seq (see task.go): every write of an organisation's counts then holds
// that lock first, so two writes never wait for each other's counts in
// a cycle (a change from status 0 to 1 beside one from 1 to 0), and a
// count row is never locked for longer than the organisation's row.

// count is one step of a count: a task of an organisation with these
// values, added (n 1) or taken away (n -1).
type count struct {
	status   task.Status
	priority task.Priority
	assignee *int
	n        int
}

// countsOf is t counted n times.
func countsOf(t task.Task, n int) []count {
	return []count{{status: t.Status, priority: t.Priority, assignee: t.AssignedUserID, n: n}}
}

// Moving counts: one row per key, added to the stored n (a row of 0
// stays, as in the SQLite store). Arrays carry any number of keys in one
// statement.
const (
	moveCounts = `INSERT INTO task_counts (organisation_id, status, priority, n)
		SELECT $1, * FROM unnest($2::smallint[], $3::smallint[], $4::bigint[])
		ON CONFLICT (organisation_id, status, priority) DO UPDATE SET n = task_counts.n + excluded.n`
	moveUserCounts = `INSERT INTO task_counts_by_user (organisation_id, assigned_user_id, status, priority, n)
		SELECT $1, * FROM unnest($2::bigint[], $3::smallint[], $4::smallint[], $5::bigint[])
		ON CONFLICT (organisation_id, assigned_user_id, status, priority) DO UPDATE SET n = task_counts_by_user.n + excluded.n`
)

// The keys of the counts: a status and a priority, and an assignee for
// the counts by user.
type statusPriority struct {
	status   task.Status
	priority task.Priority
}

type userStatusPriority struct {
	user int
	statusPriority
}

// queueCounts queues the statements that apply counts to org's totals.
// Steps on one key are summed first: a statement may not change a row
// twice, and a change that keeps a task's counted values moves nothing.
func queueCounts(b *pgx.Batch, org int, counts []count) {
	var keys []statusPriority
	byKey := map[statusPriority]int{}
	var userKeys []userStatusPriority
	byUser := map[userStatusPriority]int{}
	for _, c := range counts {
		k := statusPriority{c.status, c.priority}
		if _, ok := byKey[k]; !ok {
			keys = append(keys, k)
		}
		byKey[k] += c.n
		if c.assignee != nil {
			u := userStatusPriority{*c.assignee, k}
			if _, ok := byUser[u]; !ok {
				userKeys = append(userKeys, u)
			}
			byUser[u] += c.n
		}
	}
	var statuses, priorities []int16
	var ns []int64
	for _, k := range keys {
		if n := byKey[k]; n != 0 {
			statuses, priorities, ns = append(statuses, int16(k.status)), append(priorities, int16(k.priority)), append(ns, int64(n))
		}
	}
	if len(ns) > 0 {
		b.Queue(moveCounts, org, statuses, priorities, ns)
	}
	var users []int64
	statuses, priorities, ns = nil, nil, nil
	for _, u := range userKeys {
		if n := byUser[u]; n != 0 {
			users = append(users, int64(u.user))
			statuses, priorities, ns = append(statuses, int16(u.status)), append(priorities, int16(u.priority)), append(ns, int64(n))
		}
	}
	if len(ns) > 0 {
		b.Queue(moveUserCounts, org, users, statuses, priorities, ns)
	}
}
