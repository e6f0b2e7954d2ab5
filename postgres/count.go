package postgres

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"

	lru "github.com/hashicorp/golang-lru/v2"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"tasksapi/task"
)

// A list's total comes with its page, from the same statement and so the
// same snapshot. Totals of no filter and of the equality filters (status,
// priority, assignee) are sums over at most 25 rows of the counter tables,
// which every write keeps in its own transaction. Other totals (a search,
// a due-date range) are counted, once per write version of the
// organisation (its head_seq, which every write of its tasks moves on),
// and kept here; the statement reads the kept total when the version it
// was counted at is still the organisation's, and counts again otherwise,
// in the same round trip either way.

// list is the SQL of a list's filter and total, and, once its statement
// has run, the total and the write version it was read at.
type list struct {
	where string // the filter's conditions
	// totalSQL is the total's expression, "" when no total is wanted;
	// seqSQL the organisation's write version, "" when not wanted; allSQL
	// the organisation's number of tasks, read with a counted total.
	totalSQL, seqSQL, allSQL string
	// counted: the total is counted, not read from the counters, so the
	// store keeps it (see keepTotal) under key.
	counted bool
	key     countKey
	known   keptTotal // the kept total the statement was built with

	total, all int
	seq        int64
}

// countKey is a list's filter within an organisation.
type countKey struct {
	org    int
	filter string
}

// keptTotal is a total, the write version it was counted at and the
// organisation's number of tasks then (which the choice of a search's
// path weighs it against).
type keptTotal struct {
	seq        int64
	total, all int
}

// counts keeps totals counted for searches and due-date ranges, at most
// one version of each. An entry is never wrong: it is used only while the
// organisation's write version is the one it was counted at.
type counts = lru.Cache[countKey, keptTotal]

// listCaches holds the caches of list reads, made on first use.
type listCaches struct {
	once      sync.Once
	counts    *counts
	landmarks *landmarks
}

func (c *listCaches) init() {
	c.once.Do(func() { c.counts, c.landmarks = newCounts(), newLandmarks() })
}

// keptTotals is the store's cache of counted totals.
func (s *Store) keptTotals() *counts {
	s.lists.init()
	return s.lists.counts
}

func newCounts() *counts {
	cache, err := lru.New[countKey, keptTotal](4096)
	if err != nil {
		panic(err) // only for a size below 1
	}
	return cache
}

// newList builds the SQL of f's filter and total in org, binding values
// in a. withSeq asks for the write version the statement reads at;
// rowsNeeded is how many tasks the statement reads in order (see
// choosePath).
func (s *Store) newList(org int, f task.Filter, skipTotal, withSeq bool, rowsNeeded int, a *args) list {
	orgArg := a.add(int64(org))
	var l list
	seqSQL := "(SELECT head_seq FROM organisations WHERE id = " + orgArg + ")"
	if withSeq {
		l.seqSQL = seqSQL
	}
	l.known = keptTotal{seq: -1}
	if !counterAnswers(f) {
		l.key = countKey{org: org, filter: filterKey(f)}
		if kept, ok := s.keptTotals().Get(l.key); ok {
			l.known = kept
		}
	}
	path := searchPlanned
	if f.Search != nil {
		path = choosePath(task.Fold(*f.Search), l.known.total, l.known.all, rowsNeeded)
	}
	l.where = filterWhere(orgArg, f, path, a)
	switch {
	case skipTotal:
	case counterAnswers(f):
		l.totalSQL = counterTotal(orgArg, f, a)
	default:
		l.counted, l.seqSQL = true, seqSQL
		l.allSQL = counterTotal(orgArg, task.Filter{}, a)
		where := l.where
		if path != searchPlanned { // a count reads every match: the index's way
			where = filterWhere(orgArg, f, searchPlanned, a)
		}
		// A CASE evaluates a subquery only when its branch is taken, so
		// the count runs only when the kept total is of another version.
		l.totalSQL = "CASE WHEN " + seqSQL + " = " + a.add(l.known.seq) + " THEN " + a.add(int64(l.known.total)) +
			"::bigint ELSE (SELECT count(*) FROM tasks WHERE " + where + ") END"
	}
	return l
}

// keepTotal keeps a total that l's statement counted.
func (s *Store) keepTotal(l list) {
	if l.counted && l.seq != l.known.seq {
		s.keptTotals().Add(l.key, keptTotal{seq: l.seq, total: l.total, all: l.all})
	}
}

// counterAnswers reports whether the counter tables hold f's total: f
// filters by equalities only.
func counterAnswers(f task.Filter) bool {
	return f.Search == nil && f.DueDateFrom == nil && f.DueDateTo == nil
}

// counterTotal is the expression of f's total over the counter tables:
// task_counts, or task_counts_by_user for an assignee.
func counterTotal(org string, f task.Filter, a *args) string {
	table, where := "task_counts", "organisation_id = "+org
	if f.AssignedUserID != nil {
		table, where = "task_counts_by_user", where+" AND assigned_user_id = "+a.add(int64(*f.AssignedUserID))
	}
	if f.Status != nil {
		where += " AND status = " + a.add(int16(*f.Status))
	}
	if f.Priority != nil {
		where += " AND priority = " + a.add(int16(*f.Priority))
	}
	return "(SELECT coalesce(sum(n), 0)::bigint FROM " + table + " WHERE " + where + ")"
}

// query runs page, a statement whose rows are tasks (taskColumns, then the
// columns extra's pointers read), with l's total and write version, and
// hands each task row to each. Each row carries the total; so that an
// empty page still brings its total, the page is joined to a row of the
// total, which gives one row of NULLs when the page has none. (The join
// has no condition, so it can only be a nested loop over that one row,
// which keeps the page's order.)
func (l *list) query(ctx context.Context, db *pgxpool.Pool, page string, args []any, extra []any,
	each func(rows pgx.Rows, scan *taskScanner) error) error {
	var cols []string
	var tail []any
	if l.totalSQL != "" {
		cols, tail = append(cols, l.totalSQL+" AS total"), append(tail, &l.total)
	}
	if l.seqSQL != "" {
		cols, tail = append(cols, l.seqSQL+" AS seq"), append(tail, &l.seq)
	}
	if l.allSQL != "" {
		cols, tail = append(cols, l.allSQL+" AS all_tasks"), append(tail, &l.all)
	}
	if len(cols) > 0 {
		page = "SELECT p.*, c.* FROM (SELECT " + strings.Join(cols, ", ") + ") AS c LEFT JOIN LATERAL (" + page + ") AS p ON true"
	}
	rows, err := db.Query(ctx, page, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	scan := newTaskScanner(append(slices.Clip(extra), tail...)...)
	totalOnly := make([]any, len(scan.dest)) // nil skips a column
	copy(totalOnly[len(totalOnly)-len(tail):], tail)
	for rows.Next() {
		if len(tail) > 0 && rows.RawValues()[0] == nil { // no task: the page is empty
			if err := rows.Scan(totalOnly...); err != nil {
				return err
			}
			continue
		}
		if err := each(rows, scan); err != nil {
			return err
		}
	}
	return rows.Err()
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
