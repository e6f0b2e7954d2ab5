package postgres

import (
	"context"
	"sync"
	"testing"
	"time"
)

// HoldWriter keeps s's writer busy, in a group of its own, until release
// is called: writes made meanwhile queue up and commit as one group.
func HoldWriter(s *Store) (release func()) {
	held, unblock := make(chan struct{}), make(chan struct{})
	var once sync.Once
	go s.commit(context.Background(), writeRequest{write: func(*groupTx) error {
		once.Do(func() { close(held) })
		<-unblock
		return nil
	}})
	<-held
	return sync.OnceFunc(func() { close(unblock) })
}

// AwaitQueued waits until n writes wait for s's writer.
func AwaitQueued(t testing.TB, s *Store, n int) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); len(s.writes) < n; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d writes queued after 10s, want %d", len(s.writes), n)
		}
	}
}
