package sqlite

import (
	"context"
	"database/sql"
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
	type create struct {
		writeRequest
		task *task.Task
	}
	request := func(id int, title string) create {
		tk, err := task.NewTask(task.CreateInput{Title: title, StartDatetime: start, ContactID: new(1)})
		if err != nil {
			t.Fatal(err)
		}
		tk.Created(task.NewDateTime(time.Now()))
		return create{task: &tk, writeRequest: writeRequest{done: make(chan error, 1),
			write: func(ctx context.Context, tx *sql.Tx) error {
				tk.ID = 0
				return insert(ctx, tx, id, &tk)
			}}}
	}
	// refusal is a request that a rule refuses before it writes.
	refusal := create{task: &task.Task{}, writeRequest: writeRequest{done: make(chan error, 1),
		write: func(context.Context, *sql.Tx) error { return task.NotFound() }}}
	// outcomes commits group and returns what each request was told.
	outcomes := func(group []create) []error {
		requests := make([]writeRequest, len(group))
		for i, c := range group {
			requests[i] = c.writeRequest
		}
		s.commitGroup(requests)
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
			group := []create{request(org, "one"), request(org, "two"), request(org, "three")}
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
			group := []create{request(org, "before"), request(org+1000, "orphan"), request(org, "after")}
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
			if errs := outcomes([]create{request(org+1000, "orphan")}); errs[0] == nil {
				t.Fatalf("a create for an organisation that does not exist succeeded")
			}
		}},
		{"a request refused by a rule is told so and the rest of its group commits", func(t *testing.T) {
			group := []create{request(org, "first"), refusal, request(org, "last")}
			errs := outcomes(group)
			if errs[0] != nil || errs[2] != nil {
				t.Fatalf("the creates around the refusal failed: %v, %v", errs[0], errs[2])
			}
			if task.ErrorCode(errs[1]) != task.CodeNotFound {
				t.Fatalf("the refused request was told %v, want its refusal", errs[1])
			}
			if got := stored(group[0].task.ID); got != "first" {
				t.Errorf("the first create reads back as %q", got)
			}
			if got := stored(group[2].task.ID); got != "last" {
				t.Errorf("the last create reads back as %q", got)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, tt.run)
	}
}
