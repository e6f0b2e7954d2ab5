package db

import (
	"path/filepath"
	"testing"
	"time"

	"tasksapi/access"
	"tasksapi/task"
)

// TestCommitGroup drives the writer's group commit directly: the groups
// that concurrent creates form under load, made here on purpose.
func TestCommitGroup(t *testing.T) {
	s, err := Open(filepath.Join(t.TempDir(), "group.db"), SyncNormal)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	org, err := s.Organisation(t.Context(), "Group")
	if err != nil {
		t.Fatal(err)
	}
	ctx := access.WithPrincipal(t.Context(), access.Principal{OrganisationID: org})
	start, err := task.ParseDateTime("2026-03-01T09:00:00")
	if err != nil {
		t.Fatal(err)
	}
	// request is a create of title in organisation id; an id with no
	// organisation breaks the foreign key, so its insert fails.
	request := func(id int, title string) createRequest {
		tk, err := task.NewTask(task.CreateInput{Title: title, StartDatetime: start, ContactID: new(1)})
		if err != nil {
			t.Fatal(err)
		}
		tk.CreatedAt = task.NewDateTime(time.Now())
		tk.UpdatedAt = tk.CreatedAt
		return createRequest{org: id, task: &tk, done: make(chan error, 1)}
	}
	// outcomes commits group and returns what each request was told.
	outcomes := func(group []createRequest) []error {
		s.commitGroup(group)
		errs := make([]error, len(group))
		for i, r := range group {
			select {
			case errs[i] = <-r.done:
			default:
				t.Fatalf("request %d was told nothing", i)
			}
		}
		return errs
	}
	// stored is the title of task id as the store reads it, or "" if it
	// is not there.
	stored := func(id int) string {
		tk, err := s.Task(ctx, id)
		if task.ErrorCode(err) == task.CodeNotFound {
			return ""
		}
		if err != nil {
			t.Fatal(err)
		}
		return tk.Title
	}

	tests := []struct {
		name string
		run  func(t *testing.T)
	}{
		{"a group is stored whole, each create with its own id", func(t *testing.T) {
			group := []createRequest{request(org, "one"), request(org, "two"), request(org, "three")}
			for i, err := range outcomes(group) {
				if err != nil {
					t.Fatalf("create %d: %v", i, err)
				}
			}
			for _, r := range group {
				if got := stored(r.task.ID); got != r.task.Title {
					t.Errorf("task %d reads back as %q, want %q", r.task.ID, got, r.task.Title)
				}
			}
			if a, b, c := group[0].task.ID, group[1].task.ID, group[2].task.ID; a == b || b == c || a == c {
				t.Errorf("ids %d, %d, %d are not distinct", a, b, c)
			}
		}},
		{"a create that fails in a group fails alone", func(t *testing.T) {
			group := []createRequest{request(org, "before"), request(org+1000, "orphan"), request(org, "after")}
			errs := outcomes(group)
			if errs[0] != nil || errs[2] != nil {
				t.Fatalf("the good creates failed: %v, %v", errs[0], errs[2])
			}
			if errs[1] == nil {
				t.Fatalf("a create for an organisation that does not exist succeeded")
			}
			if got := stored(group[0].task.ID); got != "before" {
				t.Errorf("the first create reads back as %q", got)
			}
			if got := stored(group[2].task.ID); got != "after" {
				t.Errorf("the last create reads back as %q", got)
			}
			if group[1].task.ID != 0 {
				t.Errorf("the failed create kept id %d", group[1].task.ID)
			}
		}},
		{"a lone create that fails is told so", func(t *testing.T) {
			if errs := outcomes([]createRequest{request(org+1000, "orphan")}); errs[0] == nil {
				t.Fatalf("a create for an organisation that does not exist succeeded")
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, tt.run)
	}
}
