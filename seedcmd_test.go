package main

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"tasksapi/access"
	"tasksapi/internal/pgtest"
	"tasksapi/sqlite"
	"tasksapi/store"
	"tasksapi/task"
)

// seedCmd runs "server seed" with args and returns what it printed.
func seedCmd(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	err := run(t.Context(), append([]string{"seed"}, args...), func(string) string { return "" }, &stdout, &stderr)
	return stdout.String() + stderr.String(), err
}

// seeded is every task of organisation name in the database at path (a
// file or a URL), oldest first, and how many the list's total says there
// are.
func seeded(t *testing.T, path, name string) ([]task.Task, int) {
	t.Helper()
	db, err := store.Open(t.Context(), path, sqlite.SyncFull)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	org, err := db.Organisation(t.Context(), name)
	if err != nil {
		t.Fatal(err)
	}
	ctx := access.WithPrincipal(context.Background(), access.Principal{OrganisationID: org})
	var all []task.Task
	total := -1
	asc, size := task.Asc, 100
	for index := 0; ; index++ {
		page, err := db.ListTasks(ctx, task.ListParams{SortOrder: &asc, PageSize: &size, PageIndex: &index})
		if err != nil {
			t.Fatal(err)
		}
		total = page.TotalRecords
		all = append(all, page.Items...)
		if len(page.Items) < size {
			return all, total
		}
	}
}

// withoutTimes is what a generated task holds apart from its times, which
// count back from the moment the command runs.
func withoutTimes(tk task.Task) string {
	id := func(p *int) string {
		if p == nil {
			return "-"
		}
		return fmt.Sprint(*p)
	}
	return fmt.Sprint(tk.Title, tk.Status, tk.Priority, tk.Description != nil, id(tk.DealID), id(tk.ContactID),
		id(tk.AssignedUserID), tk.TagIDs, tk.EndDatetime != nil)
}

func TestSeedCommand(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name string
		run  func(t *testing.T)
	}{
		{"it fills a new organisation and says so", func(t *testing.T) {
			path := filepath.Join(dir, "fill.db")
			out, err := seedCmd(t, "--db", path, "--org", "Big", "--tasks", "250")
			if err != nil {
				t.Fatalf("seed: %v\n%s", err, out)
			}
			if !strings.Contains(out, `added 250 tasks to organisation "Big"`) {
				t.Errorf("it printed %q", out)
			}
			if tasks, total := seeded(t, path, "Big"); len(tasks) != 250 || total != 250 {
				t.Errorf("the organisation holds %d tasks, its total says %d; want 250", len(tasks), total)
			}
		}},
		{"a second run adds to the organisation", func(t *testing.T) {
			path := filepath.Join(dir, "twice.db")
			for range 2 {
				if out, err := seedCmd(t, "--db", path, "--org", "Big", "--tasks", "100"); err != nil {
					t.Fatalf("seed: %v\n%s", err, out)
				}
			}
			if _, total := seeded(t, path, "Big"); total != 200 {
				t.Errorf("total %d after two runs of 100, want 200", total)
			}
		}},
		{"the same seed makes the same tasks, another seed others", func(t *testing.T) {
			var runs [3][]task.Task
			for i, s := range []string{"7", "7", "8"} {
				path := filepath.Join(dir, fmt.Sprintf("seed%d.db", i))
				if out, err := seedCmd(t, "--db", path, "--org", "Big", "--tasks", "300", "--seed", s); err != nil {
					t.Fatalf("seed: %v\n%s", err, out)
				}
				runs[i], _ = seeded(t, path, "Big")
			}
			same, differ := 0, 0
			for i := range runs[0] {
				if withoutTimes(runs[0][i]) == withoutTimes(runs[1][i]) {
					same++
				}
				if withoutTimes(runs[0][i]) != withoutTimes(runs[2][i]) {
					differ++
				}
			}
			if same != len(runs[0]) {
				t.Errorf("seed 7 twice: %d of %d tasks alike", same, len(runs[0]))
			}
			if differ == 0 {
				t.Errorf("seeds 7 and 8 made the same tasks")
			}
		}},
		{"a negative count is refused", func(t *testing.T) {
			if _, err := seedCmd(t, "--db", filepath.Join(dir, "neg.db"), "--tasks", "-1"); err == nil {
				t.Fatal("no error")
			}
		}},
		{"a stray argument is refused", func(t *testing.T) {
			if _, err := seedCmd(t, "--db", filepath.Join(dir, "stray.db"), "extra"); err == nil {
				t.Fatal("no error")
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, tt.run)
	}
}

func TestSeedingPostgreSQLMakesTheTasksSeedingSQLiteMakes(t *testing.T) {
	file, url := filepath.Join(t.TempDir(), "tasks.db"), pgtest.URL(t)
	for _, db := range []string{file, url} {
		if out, err := seedCmd(t, "--db", db, "--org", "Big", "--tasks", "250", "--seed", "7"); err != nil {
			t.Fatalf("seed %s: %v\n%s", store.Redacted(db), err, out)
		}
	}
	want, wantTotal := seeded(t, file, "Big")
	got, total := seeded(t, url, "Big")
	if total != wantTotal || len(got) != len(want) {
		t.Fatalf("PostgreSQL holds %d tasks (total %d), SQLite %d (total %d)", len(got), total, len(want), wantTotal)
	}
	for i := range want {
		if withoutTimes(got[i]) != withoutTimes(want[i]) {
			t.Errorf("task %d on PostgreSQL is %s, on SQLite %s", i, withoutTimes(got[i]), withoutTimes(want[i]))
		}
	}
}
