package seed_test

import (
	"fmt"
	"reflect"
	"strconv"
	"testing"
	"time"

	"tasksapi/seed"
	"tasksapi/task"
)

var end = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func generate(seedValue uint64, n int, end time.Time) []seed.Task {
	g := seed.New(seedValue, n, end)
	out := make([]seed.Task, n)
	for i := range out {
		out[i] = g.Task(i)
	}
	return out
}

func TestTheSameSeedMakesTheSameTasks(t *testing.T) {
	tests := []struct {
		name string
		a, b func() []seed.Task
	}{
		{"two generators of the same seed, n and end",
			func() []seed.Task { return generate(7, 500, end) },
			func() []seed.Task { return generate(7, 500, end) }},
		{"the same end given in another time zone",
			func() []seed.Task { return generate(7, 500, end) },
			func() []seed.Task { return generate(7, 500, end.In(time.FixedZone("CET", 3600))) }},
		{"tasks asked for in reverse order",
			func() []seed.Task { return generate(7, 500, end) },
			func() []seed.Task {
				g := seed.New(7, 500, end)
				out := make([]seed.Task, 500)
				for i := 499; i >= 0; i-- {
					out[i] = g.Task(i)
				}
				return out
			}},
		{"the same generator asked twice",
			func() []seed.Task { return generate(7, 500, end) },
			func() []seed.Task {
				g := seed.New(7, 500, end)
				for i := range 500 {
					g.Task(i)
				}
				out := make([]seed.Task, 500)
				for i := range out {
					out[i] = g.Task(i)
				}
				return out
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name+" make identical tasks", func(t *testing.T) {
			a, b := tc.a(), tc.b()
			for i := range a {
				if !reflect.DeepEqual(a[i], b[i]) {
					t.Fatalf("task %d differs:\n%+v\n%+v", i, describe(a[i]), describe(b[i]))
				}
			}
		})
	}
}

// describe prints a generated task with its optional fields followed.
func describe(g seed.Task) string {
	in := g.Input
	deref := func(p *int) string {
		if p == nil {
			return "nil"
		}
		return strconv.Itoa(*p)
	}
	endText, desc, priority, status := "nil", "nil", "nil", "nil"
	if in.EndDatetime != nil {
		endText = in.EndDatetime.String()
	}
	if in.Description != nil {
		desc = strconv.Quote(*in.Description)
	}
	if in.Priority != nil {
		priority = strconv.Itoa(int(*in.Priority))
	}
	if in.Status != nil {
		status = strconv.Itoa(int(*in.Status))
	}
	return fmt.Sprintf("created %v, title %q, start %v, end %s, description %s, deal %s, contact %s, assignee %s, priority %s, status %s, tags %v",
		g.CreatedAt, in.Title, in.StartDatetime, endText, desc, deref(in.DealID), deref(in.ContactID),
		deref(in.AssignedUserID), priority, status, in.TagIDs)
}

func TestADifferentSeedMakesDifferentTasks(t *testing.T) {
	a, b := generate(1, 200, end), generate(2, 200, end)
	same := 0
	for i := range a {
		if reflect.DeepEqual(a[i], b[i]) {
			same++
		}
	}
	if same > 0 {
		t.Errorf("%d of %d tasks are the same for seeds 1 and 2", same, len(a))
	}
	titles := 0
	for i := range a {
		if a[i].Input.Title != b[i].Input.Title {
			titles++
		}
	}
	if titles < len(a)/2 {
		t.Errorf("only %d of %d titles differ between seeds 1 and 2", titles, len(a))
	}
}

func TestEveryGeneratedInputIsAValidTask(t *testing.T) {
	for _, seedValue := range []uint64{0, 1, 2, 12345} {
		for i, g := range generate(seedValue, 2000, end) {
			if _, err := task.NewTask(g.Input); err != nil {
				t.Fatalf("seed %d, task %d: NewTask: %v\n%s", seedValue, i, err, describe(g))
			}
		}
	}
}

func TestCreatedTimesIncreaseOverTwoYears(t *testing.T) {
	const n = 1000
	tasks := generate(1, n, end)
	for i := 1; i < n; i++ {
		if !tasks[i].CreatedAt.After(tasks[i-1].CreatedAt) {
			t.Fatalf("task %d was created at %v, not after task %d at %v", i, tasks[i].CreatedAt, i-1, tasks[i-1].CreatedAt)
		}
	}
	first, last := tasks[0].CreatedAt, tasks[n-1].CreatedAt
	if last.After(end) {
		t.Errorf("the newest task was created at %v, after the end %v", last, end)
	}
	if span := last.Sub(first); span < 23*30*24*time.Hour || span > seed.Span {
		t.Errorf("created times span %v (%v to %v), want about two years (at most %v)", span, first, last, seed.Span)
	}
	if gap := end.Sub(last); gap > seed.Span/n+time.Second {
		t.Errorf("the newest task is %v before the end, want at most %v", gap, seed.Span/n)
	}
}

func TestStatusesAreSkewedByAge(t *testing.T) {
	const n = 2000
	tasks := generate(1, n, end)
	share := func(from, to int, statuses ...task.Status) float64 {
		hits := 0
		for i, g := range tasks[from:to] {
			if g.Input.Status == nil {
				t.Fatalf("task %d has no status", from+i)
			}
			for _, s := range statuses {
				if *g.Input.Status == s {
					hits++
					break
				}
			}
		}
		return float64(hits) / float64(to-from)
	}
	if got := share(0, n/10, task.StatusCompleted, task.StatusCancelled, task.StatusNoShow); got < 0.7 {
		t.Errorf("%.0f%% of the oldest tenth are completed, cancelled or no-show; want most (at least 70%%)", got*100)
	}
	if got := share(n-n/10, n, task.StatusOpen, task.StatusInProgress); got < 0.7 {
		t.Errorf("%.0f%% of the newest tenth are open or in progress; want most (at least 70%%)", got*100)
	}
}
