package postgres_test

import (
	"context"
	"runtime"
	"testing"
	"time"

	"tasksapi/internal/pgtest"
	"tasksapi/postgres"
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
