//go:build sqlite_fts5

package sqlite

// The parts of the search index and how tasks move between them exist
// only in builds with FTS5; without it every search reads titles, which
// search_test.go covers in both builds.

import (
	"strings"
	"testing"
	"time"

	"tasksapi/task"
)

func TestNewTasksAreFoundBeforeAndAfterTheWriterIndexesThem(t *testing.T) {
	s, org := newSearchStore(t)
	ids := createTitles(t, s, org, []string{"Fresh renewal one", "Fresh renewal two"})
	checkSearches(t, s, org, "fresh renewal", "renewal two")
	s.indexTail()
	if got, want := deltaThrough(t, s), ids[len(ids)-1]; got != want {
		t.Errorf("after indexing, delta_through = %d, want the newest task %d", got, want)
	}
	checkSearches(t, s, org, "fresh renewal", "renewal two")
}

func TestRenamedAndDeletedTasksLeaveEveryPartOfTheIndexInStep(t *testing.T) {
	s, org := newSearchStore(t)
	// Two tasks in each part: the main index, the delta, the tail.
	var ids []int
	for _, part := range []string{"main", "delta", "tail"} {
		ids = append(ids, insertRaw(t, s, org, "Zone "+part+" keep"), insertRaw(t, s, org, "Zone "+part+" change"))
		switch part {
		case "main":
			if _, err := s.write.Exec(rebuildSearch); err != nil {
				t.Fatalf("rebuild: %v", err)
			}
		case "delta":
			s.indexTail()
		}
	}
	checkSearches(t, s, org, "zone", "zone main", "zone delta", "zone tail")
	for i := 1; i < len(ids); i += 2 { // the second task of each part
		if _, err := s.write.Exec("UPDATE tasks SET title = 'Renamed', title_fold = 'renamed' WHERE id = ?", ids[i]); err != nil {
			t.Fatalf("rename task %d: %v", ids[i], err)
		}
	}
	checkSearches(t, s, org, "zone", "change", "renamed", "keep")
	for i := 0; i < len(ids); i += 2 { // the first
		if _, err := s.write.Exec("DELETE FROM tasks WHERE id = ?", ids[i]); err != nil {
			t.Fatalf("delete task %d: %v", ids[i], err)
		}
	}
	checkSearches(t, s, org, "zone", "keep", "renamed")
	// Renamed again: the tasks of the main index's range now live in the
	// delta, and their entries there must change too; then one goes.
	for i := 1; i < len(ids); i += 2 {
		if _, err := s.write.Exec("UPDATE tasks SET title = 'Twice', title_fold = 'twice' WHERE id = ?", ids[i]); err != nil {
			t.Fatalf("rename task %d again: %v", ids[i], err)
		}
	}
	checkSearches(t, s, org, "zone", "renamed", "twice")
	if _, err := s.write.Exec("DELETE FROM tasks WHERE id = ?", ids[1]); err != nil {
		t.Fatalf("delete task %d: %v", ids[1], err)
	}
	checkSearches(t, s, org, "renamed", "twice")
	checkRebuiltIndex(t, s, org, "zone", "renamed", "twice")
}

func TestTheWriterIndexesNewTitlesByItself(t *testing.T) {
	s, org := newSearchStore(t)
	ids := createTitles(t, s, org, []string{"Indexed in the background"})
	deadline := time.Now().Add(5 * indexEvery)
	for deltaThrough(t, s) < ids[0] {
		if time.Now().After(deadline) {
			t.Fatalf("delta_through = %d after %v, want the new task %d: the writer never indexed it",
				deltaThrough(t, s), 5*indexEvery, ids[0])
		}
		time.Sleep(indexEvery / 4)
	}
	checkSearches(t, s, org, "in the background")
}

func TestARareTermIsReadThroughTheIndexAndACommonOneIsNot(t *testing.T) {
	ps := newPlanStore(t)
	var rare, common string
	if err := ps.s.read.QueryRow(`SELECT title_fold FROM tasks WHERE organisation_id = ? ORDER BY id LIMIT 1`,
		ps.org).Scan(&rare); err != nil {
		t.Fatalf("pick a rare term: %v", err)
	}
	if err := ps.s.read.QueryRow(`SELECT substr(title_fold, 1, 4) AS p FROM tasks WHERE organisation_id = ?
		GROUP BY p ORDER BY count(*) DESC LIMIT 1`, ps.org).Scan(&common); err != nil {
		t.Fatalf("pick a common term: %v", err)
	}
	rec := recordReads(t, ps)
	for _, tc := range []struct {
		term      string
		wantIndex bool
	}{{rare, true}, {common, false}} {
		rec.take()
		page, err := ps.s.ListTasks(ps.ctx, task.ListParams{Filter: task.Filter{Search: &tc.term}})
		if err != nil {
			t.Fatalf("ListTasks(%q): %v", tc.term, err)
		}
		if len(page.Items) == 0 {
			t.Fatalf("a search for %q lists nothing; the case proves little", tc.term)
		}
		matched := false // by the page's query; the total is always counted through the index
		for _, q := range rec.take() {
			if strings.HasPrefix(q.sql, "SELECT "+taskColumns) {
				matched = matched || strings.Contains(q.sql, "MATCH")
			}
		}
		if matched != tc.wantIndex {
			t.Errorf("the page of a search for %q (%d matches) read the trigram index: %v, want %v",
				tc.term, page.TotalRecords, matched, tc.wantIndex)
		}
	}
}
