package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"slices"

	lru "github.com/hashicorp/golang-lru/v2"

	"tasksapi/task"
)

// A deep page (pageIndex far into a list) would skip its whole offset of
// index entries on every request: SQLite's B-trees hold no counts to skip
// by. Landmarks remember where every landmarkEvery-th task of a list sits,
// its sort key and id, for one write version of the organisation; a deep
// page starts from the nearest landmark before it (a keyset condition, as
// in tasksConnection) and skips fewer than landmarkEvery entries. Landmarks
// are found by hops of landmarkEvery entries through the list's own index,
// only as deep as a page asks for, and found again after any write to the
// organisation, which changes its version.
//
// Searches have none: their order comes from sorting the matches, which a
// hop would repeat; their deep pages skip ids only (see pageQuery).

// landmarkEvery is the distance between landmarks, in tasks.
const landmarkEvery = 1000

// landmarkLists is how many lists' landmarks are kept; a list's take about
// 50 bytes per thousand tasks.
const landmarkLists = 256

// landmarkKey names one list at one write version of its organisation.
type landmarkKey struct {
	org     int
	version int64
	filter  string
	sortBy  task.SortField
	order   task.SortOrder
}

// landmarks maps each list to its landmarks: element i is the position of
// the task at offset (i+1)*landmarkEvery - 1. The slices are never changed
// once stored, only replaced by longer ones.
type landmarks = lru.Cache[landmarkKey, []task.Position]

func newLandmarks() *landmarks {
	cache, err := lru.New[landmarkKey, []task.Position](landmarkLists)
	if err != nil {
		panic(err) // only for a size below 1
	}
	return cache
}

// landmark is where the page at q's offset starts: after the nearest
// landmark before it, read in tx.
func (s *Store) landmark(ctx context.Context, tx *sql.Tx, org int, q task.ListQuery) (start, error) {
	need := q.Offset() / landmarkEvery
	version, err := writeVersion(ctx, tx, org)
	if err != nil {
		return start{}, err
	}
	key := landmarkKey{org: org, version: version, filter: filterKey(q.Filter), sortBy: q.SortBy, order: q.SortOrder}
	marks, _ := s.landmarks.Get(key)
	if len(marks) < need {
		found, err := findLandmarks(ctx, tx, org, q, marks, need)
		if err != nil {
			return start{}, err
		}
		if len(found) > len(marks) {
			s.landmarks.Add(key, found)
		}
		marks = found
	}
	n := min(need, len(marks)) // fewer when the list ends before the offset
	if n == 0 {
		return start{skip: q.Offset()}, nil
	}
	return start{after: &marks[n-1], skip: q.Offset() - n*landmarkEvery}, nil
}

// findLandmarks extends known until it holds need landmarks or the list
// ends, one hop of landmarkEvery tasks a statement.
func findLandmarks(ctx context.Context, tx *sql.Tx, org int, q task.ListQuery, known []task.Position, need int) ([]task.Position, error) {
	marks := slices.Clip(known) // append copies: known may be read by other requests
	for len(marks) < need {
		var after *task.Position
		if len(marks) > 0 {
			after = &marks[len(marks)-1]
		}
		query, args := hopQuery(org, q, after)
		var pos task.Position
		err := tx.QueryRowContext(ctx, query, args...).Scan(&pos.Key, &pos.ID)
		if errors.Is(err, sql.ErrNoRows) {
			break
		}
		if err != nil {
			return nil, err
		}
		pos.SortBy, pos.SortOrder = q.SortBy, q.SortOrder
		marks = append(marks, pos)
	}
	return marks, nil
}

// hopQuery is the SQL of the landmark landmarkEvery tasks after the
// position after (from the start of the list when nil): its sort key and
// id.
func hopQuery(org int, q task.ListQuery, after *task.Position) (string, []any) {
	col := sortColumns[q.SortBy]
	where, args := whereClause(org, q.Filter, false)
	if after != nil {
		cond, afterArgs := keyset(col, q.SortOrder, *after)
		where, args = where+" AND "+cond, append(args, afterArgs...)
	}
	return "SELECT " + col + ", id FROM tasks" + where + orderBy(col, q.SortOrder) + " LIMIT 1 OFFSET ?",
		append(args, landmarkEvery-1)
}
