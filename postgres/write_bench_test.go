package postgres_test

import (
	"context"
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"tasksapi/internal/pgtest"
	"tasksapi/postgres"
	"tasksapi/task"
)

// BenchmarkCreateTaskFrom16Clients creates tasks of one organisation from
// 16 goroutines at once, as 16 clients would, and reports creates a
// second.
func BenchmarkCreateTaskFrom16Clients(b *testing.B) {
	s, err := postgres.Open(context.Background(), pgtest.URL(b))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	ctx := inOrganisation(b, s, "Acme")
	b.SetParallelism((16 + runtime.GOMAXPROCS(0) - 1) / runtime.GOMAXPROCS(0))
	start := time.Now()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for i := 0; pb.Next(); i++ {
			if _, err := s.CreateTask(ctx, newTaskInput(i)); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "creates/s")
}

// BenchmarkUpdateTaskFrom16Clients changes the titles of 1,000 tasks of
// one organisation from 16 goroutines at once, each change going to the
// next task in turn, as clients editing different tasks would, and
// reports changes a second.
func BenchmarkUpdateTaskFrom16Clients(b *testing.B) {
	s, err := postgres.Open(context.Background(), pgtest.URL(b))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	ctx := inOrganisation(b, s, "Acme")
	ids := make([]int, 1000)
	for i := range ids {
		t, err := s.CreateTask(ctx, newTaskInput(i))
		if err != nil {
			b.Fatal(err)
		}
		ids[i] = t.ID
	}
	var next atomic.Int64
	b.SetParallelism((16 + runtime.GOMAXPROCS(0) - 1) / runtime.GOMAXPROCS(0))
	start := time.Now()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			n := next.Add(1)
			in := task.UpdateInput{Title: task.To(fmt.Sprint("Title ", n))}
			if _, err := s.UpdateTask(ctx, ids[int(n)%len(ids)], in, task.AnyVersion()); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "updates/s")
}
