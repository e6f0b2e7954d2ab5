package access_test

import (
	"context"
	"net/http"
	"sync"
	"testing"
	"time"

	"golang.org/x/time/rate"

	"tasksapi/access"
	"tasksapi/task"
)

// sharedBucket stands in for a bucket per key that several servers share,
// and counts the draws that reach it.
type sharedBucket struct {
	mu       sync.Mutex
	limiters map[int]*rate.Limiter
	draws    int
}

func (b *sharedBucket) TakeTokens(_ context.Context, keyID int, limit access.Limit, n int, now time.Time) (access.Taken, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.draws++
	lim, ok := b.limiters[keyID]
	if !ok {
		lim = rate.NewLimiter(rate.Limit(limit.PerSecond), limit.Burst)
		b.limiters[keyID] = lim
	}
	taken := 0
	for taken < n && lim.AllowN(now, 1) {
		taken++
	}
	got := access.Taken{N: taken, Left: lim.TokensAt(now)}
	if taken == 0 {
		got.Wait = time.Duration((1 - got.Left) / limit.PerSecond * float64(time.Second))
	}
	return got, nil
}

func TestGuardsSharingABucket(t *testing.T) {
	tests := []struct {
		name      string
		perSecond float64
		requests  int // through each of two guards, one after the other
		admitted  int // by both together
		maxDraws  int // from the shared bucket, by both together
	}{
		// A burst of 2, a lease of 1: three draws of the first guard (the
		// third finds none), one of the second.
		{"two guards admit a key's burst between them, not each", 1, 3, 2, 4},
		// A burst of 100, leases of 10: three draws of each guard.
		{"a guard draws a tenth of the burst at a time, not a token a request", 50, 25, 50, 6},
		// A burst of 10, leases of 1: ten draws that take a token, and
		// one of each guard that finds none; the refusals after it ask
		// nothing.
		{"a guard refuses a key whose shared bucket is empty without asking it again", 5, 50, 10, 12},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStore(t)
			creds := newKey(t, s, "Acme", "shared")
			shared := &sharedBucket{limiters: map[int]*rate.Limiter{}}
			guards := []*access.Guard{access.NewGuard(s, tt.perSecond, discard, access.SharedTokens(shared)),
				access.NewGuard(s, tt.perSecond, discard, access.SharedTokens(shared))}
			admitted := 0
			for _, g := range guards {
				for range tt.requests {
					h := http.Header{}
					_, err := g.Admit(requestFor(t, creds), h)
					switch {
					case err == nil:
						admitted++
					case task.ErrorCode(err) == task.CodeRateLimited:
						if h.Get("Retry-After") == "" || h.Get("X-RateLimit-Remaining") != "0" {
							t.Errorf("a refusal has headers %v, want Retry-After and nothing remaining", h)
						}
					default:
						t.Fatal(err)
					}
				}
			}
			if admitted != tt.admitted {
				t.Errorf("the guards admitted %d requests together, want %d", admitted, tt.admitted)
			}
			if shared.draws > tt.maxDraws {
				t.Errorf("the guards drew from the shared bucket %d times, want at most %d", shared.draws, tt.maxDraws)
			}
		})
	}
}
