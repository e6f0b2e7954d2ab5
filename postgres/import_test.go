package postgres_test

import (
	"strconv"
	"testing"
	"time"

	"tasksapi/task"
)

func TestAnImportStoresItsTasksAsCreatesWould(t *testing.T) {
	url, stores := servers(t, 1)
	s := stores[0]
	ctx := inOrganisation(t, s, "Acme")
	if _, err := s.CreateTask(ctx, newTaskInput(0)); err != nil {
		t.Fatalf("CreateTask: %v", err)
	}
	const n = 1200
	created := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	org := query[int](t, url, "SELECT id FROM organisations")
	if err := s.ImportTasks(ctx, org, n, func(i int) (task.CreateInput, time.Time) {
		return newTaskInput(i), created.Add(time.Duration(i) * time.Second)
	}); err != nil {
		t.Fatalf("ImportTasks: %v", err)
	}
	after, err := s.CreateTask(ctx, newTaskInput(1))
	if err != nil {
		t.Fatalf("CreateTask: %v", err)
	}
	cases := []struct {
		name string
		sql  string
		want int64
	}{
		{"every task is stored", "SELECT count(*) FROM tasks", n + 2},
		{"ids are distinct", "SELECT count(DISTINCT id) FROM tasks", n + 2},
		{"a later create gets a later id", "SELECT count(*) FROM tasks WHERE id >= " + strconv.Itoa(after.ID), 1},
		{"every task records its created change", "SELECT count(*) FROM task_changes WHERE type = 1", n + 2},
		{"the seqs run on without a gap", "SELECT max(seq) - min(seq) + 1 FROM task_changes", n + 2},
		{"the head is the last seq", "SELECT head_seq FROM organisations", n + 2},
		{"a change is at its task's creation", `SELECT count(*) FROM task_changes c JOIN tasks t ON t.id = c.task_id
			WHERE c.at = t.created_at`, n + 2},
		{"the totals count every task", "SELECT sum(n) FROM task_counts", n + 2},
		{"the totals by assignee count every assigned task", "SELECT sum(n) FROM task_counts_by_user",
			query[int64](t, url, "SELECT count(*) FROM tasks WHERE assigned_user_id IS NOT NULL")},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := query[int64](t, url, c.sql); got != c.want {
				t.Errorf("%d, want %d", got, c.want)
			}
		})
	}
}
