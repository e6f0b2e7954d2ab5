package postgres_test

import (
	"context"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"tasksapi/access"
	"tasksapi/postgres"
	"tasksapi/task"
)

func TestAKeysSharedBucket(t *testing.T) {
	limit := access.Limit{PerSecond: 2, Burst: 8} // slow enough that the test's own time adds no token
	tests := []struct {
		name  string
		draws []int         // n of each draw before the last, through one server then the other
		pause time.Duration // between those and the last
		last  int
		want  int // tokens the last draw takes
	}{
		{"a key's first draw finds its bucket full", nil, 0, 10, 8},
		{"a draw takes what it asks when the bucket holds it", []int{3}, 0, 4, 4},
		{"a draw takes no more than the bucket holds", []int{6}, 0, 4, 2},
		{"an empty bucket gives nothing", []int{4, 4}, 0, 1, 0},
		{"a bucket refills at the limit's rate", []int{4, 4}, time.Second, 8, 2},
		{"a bucket refills up to the burst only", []int{1}, time.Second, 10, 8},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, stores := servers(t, 2)
			for i, n := range tt.draws {
				if _, err := stores[i%2].TakeTokens(t.Context(), 7, limit, n, time.Now()); err != nil {
					t.Fatal(err)
				}
			}
			time.Sleep(tt.pause)
			got, err := stores[1].TakeTokens(t.Context(), 7, limit, tt.last, time.Now())
			if err != nil {
				t.Fatal(err)
			}
			if got.N != tt.want {
				t.Errorf("the draw took %d tokens (%+v), want %d", got.N, got, tt.want)
			}
			if wantWait := got.N == 0; (got.Wait > 0) != wantWait || got.Wait > time.Second/2 {
				t.Errorf("the draw says to wait %v; want a wait of at most a token's time (500ms) only when it took none", got.Wait)
			}
		})
	}
}

// countedTokens counts the draws that reach the database.
type countedTokens struct {
	*postgres.Store
	draws atomic.Int64
}

func (c *countedTokens) TakeTokens(ctx context.Context, keyID int, limit access.Limit, n int, now time.Time) (access.Taken, error) {
	c.draws.Add(1)
	return c.Store.TakeTokens(ctx, keyID, limit, n, now)
}

func TestTwoServersTogetherAdmitAKeysRateLimit(t *testing.T) {
	const perSecond, window = 50, 3 * time.Second
	_, stores := servers(t, 2)
	creds, err := access.NewKey(t.Context(), stores[0], "Acme", "flooding")
	if err != nil {
		t.Fatal(err)
	}
	var guards []*access.Guard
	var buckets []*countedTokens
	for _, s := range stores {
		c := &countedTokens{Store: s}
		buckets = append(buckets, c)
		guards = append(guards, access.NewGuard(s, perSecond, slog.New(slog.DiscardHandler), access.SharedTokens(c)))
	}

	var admitted, refused atomic.Int64
	var wg sync.WaitGroup
	end := time.Now().Add(window)
	for i := range 8 { // four clients on each server, as fast as they can
		g := guards[i%2]
		wg.Go(func() {
			for time.Now().Before(end) {
				h := http.Header{}
				_, err := g.AdmitKey(context.Background(), creds.AccessKey, creds.SecretKey, h)
				switch task.ErrorCode(err) {
				case task.CodeRateLimited:
					refused.Add(1)
					if h.Get("Retry-After") == "" || h.Get("X-RateLimit-Remaining") != "0" {
						t.Errorf("a refusal has headers %v, want Retry-After and no requests remaining", h)
						return
					}
				case task.CodeInternal:
					if err != nil {
						t.Error(err)
						return
					}
					admitted.Add(1)
					if h.Get("X-RateLimit-Limit") != "50" || h.Get("X-RateLimit-Remaining") == "" {
						t.Errorf("an admission has headers %v, want the limit and what remains", h)
						return
					}
				default:
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()

	want := perSecond*window.Seconds() + 2*perSecond // the burst is twice the rate
	if got := float64(admitted.Load()); got < 0.8*want || got > 1.2*want {
		t.Errorf("the two servers admitted %.0f requests in %v, want within 20%% of %.0f (the rate over the time, and a burst)",
			got, window, want)
	}
	draws := buckets[0].draws.Load() + buckets[1].draws.Load()
	if total := admitted.Load() + refused.Load(); draws > total/5 {
		t.Errorf("%d of %d requests drew from the database, want at most a fifth", draws, total)
	}
	t.Logf("admitted %d, refused %d, %d draws from the database", admitted.Load(), refused.Load(), draws)
}
