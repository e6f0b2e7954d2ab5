package postgres

import (
	"os"
	"slices"
	"testing"
	"time"

	"tasksapi/access"
	"tasksapi/task"
)

// BenchmarkListShapes times every list shape against a database named by
// TASKS_BENCH_POSTGRES (a postgres:// URL of a database whose organisation
// 1 holds many tasks, such as a million made by `server seed`), one
// request at a time, and reports the median besides the mean.
func BenchmarkListShapes(b *testing.B) {
	url := os.Getenv("TASKS_BENCH_POSTGRES")
	if url == "" {
		b.Skip("set TASKS_BENCH_POSTGRES to a seeded database to time the list shapes")
	}
	s, err := Open(b.Context(), url)
	if err != nil {
		b.Fatalf("Open: %v", err)
	}
	defer s.Close()
	org := 1
	if o := os.Getenv("TASKS_BENCH_ORG"); o == "2" {
		org = 2
	}
	ctx := access.WithPrincipal(b.Context(), access.Principal{OrganisationID: org})
	var total int
	if err := s.pool.QueryRow(ctx, "SELECT coalesce(sum(n), 0) FROM task_counts WHERE organisation_id = $1", org).Scan(&total); err != nil {
		b.Fatal(err)
	}
	from, to := task.Date{}, task.Date{}
	from, _ = task.ParseDate("2025-06-01")
	to, _ = task.ParseDate("2025-06-30")
	lists := []struct {
		name string
		p    task.ListParams
	}{
		{"default", task.ListParams{}},
		{"status=0", task.ListParams{Filter: task.Filter{Status: ptr(task.StatusOpen)}}},
		{"status=0&priority=3&sortBy=due_date", task.ListParams{Filter: task.Filter{Status: ptr(task.StatusOpen),
			Priority: ptr(task.PriorityHigh)}, SortBy: ptr(task.SortByDueDate)}},
		{"status=4&priority=4&sortBy=due_date&desc", task.ListParams{Filter: task.Filter{Status: ptr(task.StatusNoShow),
			Priority: ptr(task.PriorityUrgent)}, SortBy: ptr(task.SortByDueDate), SortOrder: ptr(task.Desc)}},
		{"assigned_user_id=7", task.ListParams{Filter: task.Filter{AssignedUserID: ptr(7)}}},
		{"due-date month", task.ListParams{Filter: task.Filter{DueDateFrom: &from, DueDateTo: &to}}},
		{"search=sarah", task.ListParams{Filter: task.Filter{Search: ptr("sarah")}}},
		{"search=initech (q3", task.ListParams{Filter: task.Filter{Search: ptr("initech (q3")}}},
		{"search=xyzzy", task.ListParams{Filter: task.Filter{Search: ptr("xyzzy")}}},
		{"search=ca", task.ListParams{Filter: task.Filter{Search: ptr("ca")}}},
		{"sortBy=title", task.ListParams{SortBy: ptr(task.SortByTitle)}},
		{"sortBy=end_datetime&desc", task.ListParams{SortBy: ptr(task.SortByEndDatetime), SortOrder: ptr(task.Desc)}},
		{"deep page", task.ListParams{PageIndex: ptr(total / 20)}},
		{"deep page by title", task.ListParams{PageIndex: ptr(total / 20), SortBy: ptr(task.SortByTitle)}},
		{"deep page of status=2", task.ListParams{PageIndex: ptr(total / 60), Filter: task.Filter{Status: ptr(task.StatusCompleted)}}},
	}
	for _, l := range lists {
		b.Run("REST "+l.name, func(b *testing.B) {
			timeEach(b, func() error { _, err := s.ListTasks(ctx, l.p); return err })
		})
	}
	b.Run("connection by due date, page 2", func(b *testing.B) {
		first, err := s.TaskConnection(ctx, task.ConnectionParams{SortBy: ptr(task.SortByDueDate)})
		if err != nil {
			b.Fatal(err)
		}
		p := task.ConnectionParams{SortBy: ptr(task.SortByDueDate), After: first.PageInfo().EndCursor}
		timeEach(b, func() error { _, err := s.TaskConnection(ctx, p); return err })
	})
	var id int
	if err := s.pool.QueryRow(ctx, "SELECT max(id) FROM tasks WHERE organisation_id = $1", org).Scan(&id); err != nil {
		b.Fatal(err)
	}
	b.Run("get by id", func(b *testing.B) {
		timeEach(b, func() error { _, err := s.Task(ctx, id); return err })
	})
}

// timeEach runs read b.N times and reports the median besides the mean.
func timeEach(b *testing.B, read func() error) {
	if err := read(); err != nil { // and warm what it reads
		b.Fatal(err)
	}
	took := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for range b.N {
		t0 := time.Now()
		if err := read(); err != nil {
			b.Fatal(err)
		}
		took = append(took, time.Since(t0))
	}
	slices.Sort(took)
	b.ReportMetric(float64(took[len(took)/2].Microseconds()), "p50-µs")
}
