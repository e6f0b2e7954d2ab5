package access

import (
	"context"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Limit is a key's rate limit: a bucket of at most Burst tokens that
// gains PerSecond tokens a second; each admitted request spends one.
type Limit struct {
	PerSecond float64
	Burst     int
}

// Taken is what a draw from a key's bucket took.
type Taken struct {
	// N is how many tokens it took: 0 when the bucket had none.
	N int
	// Left is how many tokens the bucket holds after the draw.
	Left float64
	// Wait, when N is 0, is how long until the bucket has a token.
	Wait time.Duration
}

// Tokens is where the keys' tokens come from: a bucket per key, in this
// server's memory (the default) or shared by every server over one
// database, so that a key's limit counts its requests on all of them.
type Tokens interface {
	// TakeTokens takes up to n tokens from the key's bucket at now (a
	// bucket shared by several servers may keep time by its own clock).
	TakeTokens(ctx context.Context, keyID int, limit Limit, n int, now time.Time) (Taken, error)
}

// memoryTokens keeps each key's bucket in this server's memory: the limit
// of a server that serves alone.
type memoryTokens struct {
	mu       sync.Mutex
	limiters map[int]*rate.Limiter // by key id; only authenticated keys get one
}

func newMemoryTokens() *memoryTokens { return &memoryTokens{limiters: map[int]*rate.Limiter{}} }

func (m *memoryTokens) TakeTokens(_ context.Context, keyID int, limit Limit, n int, now time.Time) (Taken, error) {
	m.mu.Lock()
	lim, ok := m.limiters[keyID]
	if !ok {
		lim = rate.NewLimiter(rate.Limit(limit.PerSecond), limit.Burst)
		m.limiters[keyID] = lim
	}
	m.mu.Unlock()
	res := lim.ReserveN(now, 1)
	if delay := res.DelayFrom(now); delay > 0 {
		res.CancelAt(now) // a refused request costs nothing
		return Taken{Wait: delay}, nil
	}
	taken := 1
	for taken < n && lim.AllowN(now, 1) {
		taken++
	}
	return Taken{N: taken, Left: lim.TokensAt(now)}, nil
}

// SharedTokens has a guard draw each key's tokens from shared, a bucket
// per key that several servers share (package postgres keeps one), so
// that a key's limit counts its requests on all of them together.
func SharedTokens(shared Tokens) Option {
	return func(g *Guard) { g.tokens = &leasedTokens{shared: shared, leases: map[int]*lease{}} }
}

// leasedTokens draws a key's tokens from a shared bucket a lease at a
// time (leaseSize) and spends them one request at a time, so that the
// database sees about one request in leaseSize. The limit holds across
// servers as the tokens only ever come from the shared bucket: over any
// time, the servers admit at most its burst plus its rate times that
// time, and at least that less the tokens each holds unspent (under a
// lease each).
type leasedTokens struct {
	shared Tokens
	mu     sync.Mutex
	leases map[int]*lease // by key id
}

// lease is what this server holds of a key's shared bucket.
type lease struct {
	mu sync.Mutex // held across a draw, so requests of one key wait for it rather than each drawing
	// held is the tokens drawn and not yet spent.
	held int
	// left is the shared bucket's tokens after the last draw, for
	// X-RateLimit-Remaining.
	left float64
	// emptyUntil is when the shared bucket, found empty, has a token
	// again: until then requests are refused without asking it, so a
	// flood of refused requests costs the database nothing.
	emptyUntil time.Time
}

// leaseSize is how many tokens a server draws at once: a tenth of the
// burst, so that each server holds at most a little more than its share.
func leaseSize(limit Limit) int { return max(1, limit.Burst/10) }

func (l *leasedTokens) TakeTokens(ctx context.Context, keyID int, limit Limit, n int, now time.Time) (Taken, error) {
	l.mu.Lock()
	ls, ok := l.leases[keyID]
	if !ok {
		ls = &lease{}
		l.leases[keyID] = ls
	}
	l.mu.Unlock()
	ls.mu.Lock()
	defer ls.mu.Unlock()
	if ls.held == 0 {
		if wait := ls.emptyUntil.Sub(now); wait > 0 {
			return Taken{Wait: wait}, nil
		}
		drawn, err := l.shared.TakeTokens(ctx, keyID, limit, max(n, leaseSize(limit)), now)
		if err != nil {
			return Taken{}, err
		}
		if drawn.N == 0 {
			ls.emptyUntil = now.Add(drawn.Wait)
			return drawn, nil
		}
		ls.held, ls.left = drawn.N, drawn.Left
	}
	taken := min(n, ls.held)
	ls.held -= taken
	return Taken{N: taken, Left: float64(ls.held) + ls.left}, nil
}
