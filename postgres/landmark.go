package postgres

import (
	"context"
	"strconv"

	lru "github.com/hashicorp/golang-lru/v2"

	"tasksapi/task"
)

// A deep page (pageIndex far into a list) skips its offset of index
// entries: at a million tasks, OFFSET 500000 read half a million entries
// of an index-only scan, 80 ms a page. Landmarks remember where every
// landmarkEvery-th task of a list sits, its sort key and id, at one write
// version of the organisation (its head_seq); a deep page starts after the
// nearest landmark before it, by a keyset condition as a cursor page does,
// and skips fewer than landmarkEvery entries. A list's landmarks are found
// by one statement, as deep as the page asks, and found again after any
// write to the organisation, which moves its version on: that page costs
// what the plain offset does. A page read at another version than its
// landmarks' is read again.
//
// Searches have none: their order comes from walking or sorting the
// matches, which finding landmarks would repeat.

// landmarkEvery is the distance between landmarks, in tasks.
const landmarkEvery = 1000

// landmarkLists is how many lists' landmarks are kept; a list's take about
// 50 bytes per thousand tasks.
const landmarkLists = 256

// landmarkKey names one list of an organisation.
type landmarkKey struct {
	org    int
	filter string
	sortBy task.SortField
	order  task.SortOrder
}

// landmarkSet is a list's landmarks at write version seq: at[i] is the
// position of the task at offset (i+1)*landmarkEvery - 1. The list ends
// before the next one when ended. Never changed once stored.
type landmarkSet struct {
	seq   int64
	at    []task.Position
	ended bool
}

type landmarks = lru.Cache[landmarkKey, landmarkSet]

func newLandmarks() *landmarks {
	cache, err := lru.New[landmarkKey, landmarkSet](landmarkLists)
	if err != nil {
		panic(err) // only for a size below 1
	}
	return cache
}

// fromLandmark reports whether the page of q starts from a landmark.
func fromLandmark(q task.ListQuery) bool {
	return q.Offset() >= landmarkEvery && q.Filter.Search == nil
}

// deepPage reads the page of q from the nearest landmark before it.
func (s *Store) deepPage(ctx context.Context, org int, q task.ListQuery) (task.Page, error) {
	s.lists.init()
	need := q.Offset() / landmarkEvery
	key := landmarkKey{org: org, filter: filterKey(q.Filter), sortBy: q.SortBy, order: q.SortOrder}
	for range 2 {
		marks, ok := s.lists.landmarks.Get(key)
		if !ok || (len(marks.at) < need && !marks.ended) {
			var err error
			if marks, err = s.findLandmarks(ctx, org, q, need); err != nil {
				return task.Page{}, err
			}
			s.lists.landmarks.Add(key, marks)
		}
		from := start{skip: q.Offset()}
		if n := min(need, len(marks.at)); n > 0 {
			from = start{after: &marks.at[n-1], skip: q.Offset() - n*landmarkEvery}
		}
		var seq int64
		page, l, err := s.listPage(ctx, org, q, from, &seq)
		if err != nil {
			return task.Page{}, err
		}
		s.keepTotal(l)
		if seq == marks.seq {
			return page, nil
		}
		s.lists.landmarks.Remove(key) // written since: find them again
	}
	// Writes keep coming: the plain offset is right at any version.
	page, l, err := s.listPage(ctx, org, q, start{skip: q.Offset()}, nil)
	s.keepTotal(l)
	return page, err
}

// findLandmarks finds the first need landmarks of q's list, fewer when it
// ends before them, in one statement: a walk of the list's index.
func (s *Store) findLandmarks(ctx context.Context, org int, q task.ListQuery, need int) (landmarkSet, error) {
	var a args
	orgArg := a.add(int64(org))
	where := filterWhere(orgArg, q.Filter, searchPlanned, &a)
	order := orderBy(q.SortBy, q.SortOrder, true)
	every := strconv.Itoa(landmarkEvery)
	walk := "SELECT " + sortColumns[q.SortBy] + " AS k, id, row_number() OVER (" + order[1:] + ") AS n FROM tasks WHERE " +
		where + order + limitClause(need*landmarkEvery)
	sql := "SELECT c.head_seq, m.k, m.id FROM (SELECT head_seq FROM organisations WHERE id = " + orgArg + ") AS c " +
		"LEFT JOIN LATERAL (SELECT k, id FROM (" + walk + ") AS w WHERE n % " + every + " = 0) AS m ON true"
	rows, err := s.pool.Query(ctx, sql, a.args...)
	if err != nil {
		return landmarkSet{}, err
	}
	defer rows.Close()
	set := landmarkSet{at: make([]task.Position, 0, need)}
	var k any
	var id *int64
	for rows.Next() {
		if err := rows.Scan(&set.seq, &k, &id); err != nil {
			return landmarkSet{}, err
		}
		if id == nil { // the list has no landmark
			break
		}
		set.at = append(set.at, task.Position{SortBy: q.SortBy, SortOrder: q.SortOrder, Key: positionKey(q.SortBy, k), ID: int(*id)})
	}
	set.ended = len(set.at) < need
	return set, rows.Err()
}
