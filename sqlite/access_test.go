package sqlite_test

import (
	"database/sql"
	"io"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"tasksapi/sqlite"
	"tasksapi/storetest"
	"tasksapi/task"
)

// rawDB opens the file straight, bypassing the store.
func rawDB(t *testing.T, path string) *sql.DB {
	t.Helper()
	conn, err := sql.Open("sqlite3", path)
	if err != nil {
		t.Fatalf("sql.Open: %v", err)
	}
	return conn
}

// taskOrganisations lists the distinct organisation ids of the stored
// tasks, read straight from the file.
func taskOrganisations(t *testing.T, path string) []int {
	t.Helper()
	conn := rawDB(t, path)
	defer conn.Close()
	rows, err := conn.Query("SELECT DISTINCT organisation_id FROM tasks ORDER BY organisation_id")
	if err != nil {
		t.Fatalf("read tasks.organisation_id: %v", err)
	}
	defer rows.Close()
	var out []int
	for rows.Next() {
		var id int
		if err := rows.Scan(&id); err != nil {
			t.Fatalf("scan organisation_id: %v", err)
		}
		out = append(out, id)
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("read tasks.organisation_id: %v", err)
	}
	return out
}

// copyRelease1 copies the database file of the previous release into a
// temporary directory: the committed file is never opened in place.
func copyRelease1(t *testing.T) string {
	t.Helper()
	src, err := os.Open(filepath.Join("testdata", "release1.db"))
	if err != nil {
		t.Fatalf("open fixture: %v", err)
	}
	defer src.Close()
	path := storetest.SQLite.NewDatabase(t)
	dst, err := os.Create(path)
	if err != nil {
		t.Fatalf("create copy: %v", err)
	}
	if _, err := io.Copy(dst, src); err != nil {
		dst.Close()
		t.Fatalf("copy fixture: %v", err)
	}
	if err := dst.Close(); err != nil {
		t.Fatalf("close copy: %v", err)
	}
	return path
}

// release1Tasks are the tasks the previous release wrote to
// testdata/release1.db.
func release1Tasks(t *testing.T) []task.Task {
	t.Helper()
	created := storetest.DT(t, "2026-11-28T12:25:10")
	return []task.Task{
		{ID: 1, Title: "Follow up with Sarah", Status: 0, Priority: 3,
			StartDatetime: storetest.DT(t, "2026-07-15T10:00:00"), EndDatetime: storetest.Ptr(storetest.DT(t, "2026-07-15T11:00:00")),
			DueDate: storetest.Date(t, "2026-07-15"), Description: storetest.Ptr("Discuss renewal"), ContactID: storetest.Ptr(10),
			TagIDs: []int{3, 1}, CreatedAt: created, UpdatedAt: created},
		{ID: 2, Title: "Send contract", Status: 1, Priority: 2,
			StartDatetime: storetest.DT(t, "2026-07-16T09:00:00"), DueDate: storetest.Date(t, "2026-07-16"),
			DealID: storetest.Ptr(7), AssignedUserID: storetest.Ptr(4), TagIDs: []int{}, CreatedAt: created, UpdatedAt: created},
		{ID: 3, Title: "Quarterly review", Status: 0, Priority: 2,
			StartDatetime: storetest.DT(t, "2026-08-01T09:00:00"), DueDate: storetest.Date(t, "2026-08-01"),
			DealID: storetest.Ptr(8), ContactID: storetest.Ptr(11), TagIDs: []int{5}, CreatedAt: created, UpdatedAt: created},
	}
}

func TestUpgradingARelease1DatabaseKeepsItsTasksInTheDefaultOrganisation(t *testing.T) {
	path := copyRelease1(t)
	if v := userVersion(t, path); v != 1 {
		t.Fatalf("the fixture's user_version = %d, want 1 (release 1)", v)
	}
	s := open(t, path)
	c := storetest.NewClock()
	s.Now = c.Now
	want := release1Tasks(t)

	if got, want := userVersion(t, path), migrationCount(t); got != want {
		t.Errorf("after upgrading, user_version = %d, want %d (the number of migration files)", got, want)
	}

	taskOrgs := taskOrganisations(t, path)
	def := storetest.OrgContext(t, s, "Default")
	if !slices.Equal(taskOrgs, []int{storetest.OrgID(t, def)}) {
		t.Errorf("the old tasks belong to organisations %v; a new key for Default got organisation %d, want the same",
			taskOrgs, storetest.OrgID(t, def))
	}
	if n := rawCount(t, path, "organisations"); n != 1 {
		t.Errorf("after creating a key for Default there are %d organisations, want 1", n)
	}

	checkOldTasks := func(t *testing.T, s *sqlite.Store) {
		t.Helper()
		for _, w := range want {
			got, err := s.Task(def, w.ID)
			if err != nil {
				t.Errorf("Task(%d) through Default: %v", w.ID, err)
				continue
			}
			for _, d := range storetest.DiffTask(got, w) {
				t.Errorf("old task %d has %s", w.ID, d)
			}
		}
		page := storetest.MustList(t, def, s, task.ListParams{SortBy: storetest.Ptr(task.SortByID), PageSize: storetest.Ptr(100)})
		listed := map[int]task.Task{}
		for _, it := range page.Items {
			listed[it.ID] = it
		}
		for _, w := range want {
			got, ok := listed[w.ID]
			if !ok {
				t.Errorf("old task %d is not in Default's list %v", w.ID, storetest.IDs(page.Items))
				continue
			}
			for _, d := range storetest.DiffTask(got, w) {
				t.Errorf("old task %d, as listed, has %s", w.ID, d)
			}
		}
	}

	t.Run("the old tasks keep every field and belong to Default", func(t *testing.T) {
		checkOldTasks(t, s)
		if page := storetest.MustList(t, def, s, task.ListParams{}); page.TotalRecords != 3 {
			t.Errorf("Default's TotalRecords = %d, want 3", page.TotalRecords)
		}
	})

	t.Run("another organisation sees none of the old tasks", func(t *testing.T) {
		acme := storetest.OrgContext(t, s, "Acme")
		for _, w := range want {
			_, err := s.Task(acme, w.ID)
			storetest.WantCode(t, err, task.CodeNotFound)
		}
		if page := storetest.MustList(t, acme, s, task.ListParams{}); page.TotalRecords != 0 || len(page.Items) != 0 {
			t.Errorf("Acme lists %v (%d records), want nothing", storetest.IDs(page.Items), page.TotalRecords)
		}
	})

	var added task.Task
	t.Run("a new task gets an id after the old ones", func(t *testing.T) {
		in := storetest.Simple(t, "After the upgrade")
		in.TagIDs = []int{2}
		added = storetest.MustCreate(t, def, s, in)
		if added.ID <= 3 {
			t.Errorf("new task id = %d, want more than 3", added.ID)
		}
		checkOldTasks(t, s)
	})

	storetest.MustClose(t, s)
	checkIntegrity(t, path)

	t.Run("reopening the upgraded file applies no migration again", func(t *testing.T) {
		orgsBefore := rawCount(t, path, "organisations")
		for i := range 2 {
			s := open(t, path)
			if got, want := userVersion(t, path), migrationCount(t); got != want {
				t.Errorf("reopen %d: user_version = %d, want %d", i+1, got, want)
			}
			checkOldTasks(t, s)
			if got, err := s.Task(def, added.ID); err != nil || got.Title != "After the upgrade" {
				t.Errorf("reopen %d: Task(%d) = %q, %v; want the task added after the upgrade", i+1, added.ID, got.Title, err)
			}
			if page := storetest.MustList(t, def, s, task.ListParams{}); page.TotalRecords != 4 {
				t.Errorf("reopen %d: Default's TotalRecords = %d, want 4", i+1, page.TotalRecords)
			}
			storetest.MustClose(t, s)
			if n := rawCount(t, path, "organisations"); n != orgsBefore {
				t.Errorf("reopen %d: %d organisations, want %d as before", i+1, n, orgsBefore)
			}
			checkIntegrity(t, path)
		}
	})
}

// checkIntegrity runs SQLite's own checks on the file.
func checkIntegrity(t *testing.T, path string) {
	t.Helper()
	conn, err := sql.Open("sqlite3", path)
	if err != nil {
		t.Fatalf("sql.Open: %v", err)
	}
	defer conn.Close()
	var result string
	if err := conn.QueryRow("PRAGMA integrity_check").Scan(&result); err != nil {
		t.Fatalf("PRAGMA integrity_check: %v", err)
	}
	if result != "ok" {
		t.Errorf("PRAGMA integrity_check = %q, want ok", result)
	}
	rows, err := conn.Query("PRAGMA foreign_key_check")
	if err != nil {
		t.Fatalf("PRAGMA foreign_key_check: %v", err)
	}
	defer rows.Close()
	for rows.Next() {
		var table, parent string
		var rowid sql.NullInt64
		var fk int
		if err := rows.Scan(&table, &rowid, &parent, &fk); err != nil {
			t.Fatalf("scan foreign_key_check: %v", err)
		}
		t.Errorf("foreign_key_check: row %v of %s breaks its key to %s", rowid, table, parent)
	}
}

func TestANewDatabaseHasNoOrganisation(t *testing.T) {
	_, _, path := newStore(t)
	if n := rawCount(t, path, "organisations"); n != 0 {
		t.Errorf("a new database has %d organisations, want 0: Default is only for tasks of an older release", n)
	}
}
