//go:build sqlite_fts5

package db

// The parts of the search index and how tasks move between them exist
// only in builds with FTS5; without it every search reads titles, which
// search_test.go covers in both builds.

import "testing"

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
}
