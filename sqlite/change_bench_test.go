package sqlite_test

// Benchmarks of the store's writes under concurrent writers, side by side:
//
//	go test -tags sqlite_fts5 -run '^$' -bench Writes ./sqlite
//
// Each writes into the create benchmarks' copy of the seeded database,
// opened with the server's default sync (full): every write is on disk
// before it returns, as in the server. About 16 goroutines write at once,
// like the load test's 16 clients, so that a commit's sync acknowledges
// the group of writes that queued behind it. ns/op is wall time per write
// across all of them; writes/s is its inverse.

import (
	"context"
	"io"
	"log/slog"
	"runtime"
	"strconv"
	"sync/atomic"
	"testing"

	"tasksapi/idempotency"
	"tasksapi/sqlite"
	"tasksapi/task"
)

// concurrentWriters is how many goroutines write at once.
const concurrentWriters = 16

// changeSeq numbers the changes, so that every one alters its task's
// title: each is a real change, with a new version.
var changeSeq atomic.Int64

// BenchmarkWrites measures a create, a change of an existing task's title,
// a completion and a create sent with an Idempotency-Key, each by 16
// concurrent writers.
func BenchmarkWrites(b *testing.B) {
	b.Run("create", func(b *testing.B) {
		benchWrites(b, func(store *sqlite.Store, ctx context.Context, _ *idempotency.Keeper, _ int) error {
			_, err := store.CreateTask(ctx, benchInput(createSeq.Add(1)))
			return err
		})
	})
	b.Run("rename", func(b *testing.B) {
		benchWrites(b, func(store *sqlite.Store, ctx context.Context, _ *idempotency.Keeper, n int) error {
			i := changeSeq.Add(1)
			in := task.UpdateInput{Title: task.To("Benchmark change " + strconv.FormatInt(i, 10))}
			_, err := store.UpdateTask(ctx, spreadID(i, n), in, task.AnyVersion())
			return err
		})
	})
	b.Run("complete", func(b *testing.B) {
		benchWrites(b, func(store *sqlite.Store, ctx context.Context, _ *idempotency.Keeper, n int) error {
			// As the load test's completions: status completed, with a note
			// of its own, so each is a real change whatever the status was.
			// At 10k the stride soon comes back to tasks it completed, and
			// then only the note changes; at 1M nearly every one moves its
			// task's entry in each sort index, which hold the status.
			i := changeSeq.Add(1)
			in := task.UpdateInput{Status: task.To(task.StatusCompleted), Description: task.To("Completed in the benchmark " + strconv.FormatInt(i, 10))}
			_, err := store.UpdateTask(ctx, spreadID(i, n), in, task.AnyVersion())
			return err
		})
	})
	b.Run("create with idempotency key", func(b *testing.B) {
		benchWrites(b, func(store *sqlite.Store, ctx context.Context, keeper *idempotency.Keeper, _ int) error {
			// As a request with a new key: the keeper looks the key up,
			// the create keeps its outcome in its own transaction.
			i := createSeq.Add(1)
			in := benchInput(i)
			key := "bench-" + strconv.FormatInt(i, 10)
			ctx, release, err := keeper.Begin(ctx, key, idempotency.Fingerprint("POST", "/v1/tasks", []byte(in.Title)))
			if err != nil {
				return err
			}
			defer release()
			_, err = idempotency.Service{Service: store}.CreateTask(ctx, in)
			return err
		})
	})
}

// spreadID is the i-th of a sequence of task ids that strides through 1
// to n, visiting the whole range in a scattered order rather than
// neighbours one after the other.
func spreadID(i int64, n int) int {
	const stride = 7_919 // a prime: coprime to any n it does not divide
	return 1 + int((i*stride)%int64(n))
}

// benchWrites runs write b.N times in all, from about 16 goroutines at
// once, for each size, over the create benchmarks' copy of its database;
// n is the number of seeded tasks, ids 1 to n.
func benchWrites(b *testing.B, write func(store *sqlite.Store, ctx context.Context, keeper *idempotency.Keeper, n int) error) {
	for _, size := range benchSizes {
		b.Run(size.Name, func(b *testing.B) {
			store, ctx := size.creates(b)
			keeper := idempotency.New(store, idempotency.DefaultTTL, slog.New(slog.NewTextHandler(io.Discard, nil)))
			procs := runtime.GOMAXPROCS(0)
			b.SetParallelism((concurrentWriters + procs - 1) / procs)
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if err := write(store, ctx, keeper, size.N); err != nil {
						b.Errorf("write: %v", err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "writes/s")
		})
	}
}
