package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"

	lru "github.com/hashicorp/golang-lru/v2"

	"tasksapi/task"
)

// countTasks is how many of org's tasks match f, read in tx. Totals of no
// filter and of the equality filters (status, priority, assignee) come
// from the counters that triggers keep in the same transaction as every
// write (see counterTotal). Totals with a search or a due-date
// range are counted once per write version of the organisation and
// cached, so only the first request after a write pays.
func (s *Store) countTasks(ctx context.Context, tx *sql.Tx, org int, f task.Filter) (int, error) {
	var n int
	if total, ok := counterTotal(org, f); ok {
		err := tx.QueryRowContext(ctx, total.sql, total.args...).Scan(&n)
		return n, err
	}

	version, err := writeVersion(ctx, tx, org)
	if err != nil {
		return 0, err
	}
	key := countKey{org: org, version: version, filter: filterKey(f)}
	if n, ok := s.counts.cache.Get(key); ok {
		return n, nil
	}
	where, args := whereClause(org, f, s.fts)
	if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM tasks"+where, args...).Scan(&n); err != nil {
		return 0, err
	}
	s.counts.cache.Add(key, n)
	return n, nil
}

// writeVersion is org's write version, which every write to its tasks
// moves on (a trigger does): what the store's caches are keyed by.
func writeVersion(ctx context.Context, tx *sql.Tx, org int) (int64, error) {
	var version int64
	err := tx.QueryRowContext(ctx, "SELECT write_version FROM organisations WHERE id = "+bound, org).Scan(&version)
	return version, err
}

// sqlPart is a piece of SQL and the arguments of its placeholders.
type sqlPart struct {
	sql  string
	args []any
}

// counterTotal is the SQL of org's total for f when the counters hold it:
// for no filter, the organisation's task_count; for filters of equality
// only, a sum over task_counts or task_counts_by_user.
func counterTotal(org int, f task.Filter) (sqlPart, bool) {
	if f.Search != nil || f.DueDateFrom != nil || f.DueDateTo != nil {
		return sqlPart{}, false
	}
	if f == (task.Filter{}) {
		return sqlPart{"SELECT task_count FROM organisations WHERE id = " + bound, []any{org}}, true
	}
	table, where, args := "task_counts", "organisation_id = "+bound, []any{org}
	if f.AssignedUserID != nil {
		table, where, args = "task_counts_by_user", where+" AND assigned_user_id = "+bound, append(args, *f.AssignedUserID)
	}
	if f.Status != nil {
		where, args = where+" AND status = "+bound, append(args, *f.Status)
	}
	if f.Priority != nil {
		where, args = where+" AND priority = "+bound, append(args, *f.Priority)
	}
	return sqlPart{"SELECT coalesce(sum(n), 0) FROM " + table + " WHERE " + where, args}, true
}

// inlineTotal is the total a page's rows can carry, so that the page and
// its total come from one statement, and so one snapshot, without a
// transaction: the counter tables' sum, or nothing when no total is
// wanted. A search needs a transaction (see pageCount).
func inlineTotal(org int, f task.Filter, skip bool) (sqlPart, bool) {
	if f.Search != nil {
		return sqlPart{}, false
	}
	if skip {
		return sqlPart{}, true
	}
	return counterTotal(org, f)
}

// withTotal adds total, if any, as the last column of a select list.
func withTotal(columns string, total sqlPart) string {
	if total.sql == "" {
		return columns
	}
	return columns + ", (" + total.sql + ")"
}

// counts caches totals by organisation, write version and filter. An
// entry is never wrong: a write changes the version, so it is never read
// again and ages out.
type counts struct {
	cache *lru.Cache[countKey, int]
}

type countKey struct {
	org     int
	version int64
	filter  string
}

func newCounts() *counts {
	cache, err := lru.New[countKey, int](4096)
	if err != nil {
		panic(err) // only for a size below 1
	}
	return &counts{cache: cache}
}

// filterKey writes every field of f, so that two filters share a key only
// when they select the same tasks.
func filterKey(f task.Filter) string {
	search := "-"
	if f.Search != nil {
		search = strconv.Quote(*f.Search)
	}
	return fmt.Sprintf("search=%s status=%s priority=%s user=%s from=%s to=%s",
		search, keyPart(f.Status), keyPart(f.Priority), keyPart(f.AssignedUserID), keyPart(f.DueDateFrom), keyPart(f.DueDateTo))
}

// keyPart is the value *p, or "-" when p is nil.
func keyPart[T any](p *T) string {
	if p == nil {
		return "-"
	}
	return fmt.Sprint(*p)
}
