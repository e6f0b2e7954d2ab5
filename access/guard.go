package access

import (
	"context"
	"crypto/subtle"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"tasksapi/observe"
	"tasksapi/task"
)

// VerifiedKeyTTL is how long a verified key is trusted before it is read
// from the store again. Reading it took one of the two database statements
// of a typical request; the price is that a revocation, made by `server
// keys revoke` in another process, takes effect within this time rather
// than at once.
const VerifiedKeyTTL = time.Second

// touchEvery is how stale a key's "last used" time may get: recording
// every request would make every read a write.
const touchEvery = time.Minute

// Guard admits requests: it authenticates the key headers and charges the
// key's token bucket. Both interfaces call it and render its errors in
// their own form, so the rules are the same for REST and GraphQL.
type Guard struct {
	store       Store
	log         *slog.Logger
	perSecond   rate.Limit // 0: no limit
	burst       int
	limitHeader string // X-RateLimit-Limit

	mu       sync.Mutex
	verified map[string]verifiedKey // by access key; only authenticated keys get in
	limiters map[int]*rate.Limiter  // by key id; only authenticated keys get one
	touched  map[int]time.Time
}

// verifiedKey is a key read from the store, trusted until the given time.
type verifiedKey struct {
	key   StoredKey
	until time.Time
}

// NewGuard returns a guard over store allowing perSecond requests a second
// per key, with bursts of twice that (at least 1); 0 turns the limit off.
func NewGuard(store Store, perSecond float64, log *slog.Logger) *Guard {
	return &Guard{
		store:       store,
		log:         log,
		perSecond:   rate.Limit(perSecond),
		burst:       max(1, int(math.Ceil(2*perSecond))),
		limitHeader: strconv.FormatFloat(perSecond, 'f', -1, 64),
		verified:    map[string]verifiedKey{},
		limiters:    map[int]*rate.Limiter{},
		touched:     map[int]time.Time{},
	}
}

// Admit authenticates r and charges its key one request. It sets the
// X-RateLimit-* headers on h (and Retry-After when refused) and returns
// r's context carrying the principal, or an error with code
// CodeUnauthenticated or CodeRateLimited.
func (g *Guard) Admit(r *http.Request, h http.Header) (context.Context, error) {
	return g.AdmitKey(r.Context(), r.Header.Get(AccessKeyHeader), r.Header.Get(SecretKeyHeader), h)
}

// AdmitKey is Admit for credentials that come other than in a request's
// headers: in a WebSocket's connection_init message, or kept for each
// operation sent over the socket. It returns ctx carrying the principal;
// h, when not nil, gets the X-RateLimit-* headers.
func (g *Guard) AdmitKey(ctx context.Context, accessKey, secret string, h http.Header) (context.Context, error) {
	if h == nil {
		h = http.Header{}
	}
	now := time.Now()
	key, err := g.authenticate(ctx, accessKey, secret, now)
	if err != nil {
		return nil, err
	}
	observe.SetOrganisation(ctx, key.OrganisationID)
	lim, touch := g.limiter(key.ID, now)
	if touch {
		if err := g.store.TouchKey(ctx, key.ID, now); err != nil {
			g.log.WarnContext(ctx, "recording key use failed", "key_id", key.ID, "err", err)
		}
	}
	if lim != nil {
		if err := g.charge(lim, now, h); err != nil {
			return nil, err
		}
	}
	return WithPrincipal(ctx, Principal{OrganisationID: key.OrganisationID, KeyID: key.ID, AccessKey: accessKey}), nil
}

// authenticate checks the credentials against the key as last verified,
// or, when that is older than VerifiedKeyTTL, as stored. The secret is
// checked on every request either way. A wrong secret for a key verified
// in the last second is refused without a read, so a little faster than
// an unknown key: the timing can tell that an access key is in use, which
// it names, but nothing of its secret, which is what protects it.
func (g *Guard) authenticate(ctx context.Context, accessKey, secret string, now time.Time) (StoredKey, error) {
	g.mu.Lock()
	v, ok := g.verified[accessKey]
	g.mu.Unlock()
	if ok && now.Before(v.until) {
		if subtle.ConstantTimeCompare(hash(secret), v.key.SecretHash) != 1 {
			return StoredKey{}, errUnauthenticated
		}
		return v.key, nil
	}
	key, err := authenticate(ctx, g.store, accessKey, secret)
	g.mu.Lock()
	defer g.mu.Unlock()
	if err != nil {
		delete(g.verified, accessKey) // revoked, perhaps
		return StoredKey{}, err
	}
	g.verified[accessKey] = verifiedKey{key: key, until: now.Add(VerifiedKeyTTL)}
	return key, nil
}

// limiter returns the key's bucket (nil when unlimited) and whether its
// use should be recorded now.
func (g *Guard) limiter(keyID int, now time.Time) (*rate.Limiter, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	touch := now.Sub(g.touched[keyID]) >= touchEvery
	if touch {
		g.touched[keyID] = now
	}
	if g.perSecond == 0 {
		return nil, touch
	}
	lim, ok := g.limiters[keyID]
	if !ok {
		lim = rate.NewLimiter(g.perSecond, g.burst)
		g.limiters[keyID] = lim
	}
	return lim, touch
}

func (g *Guard) charge(lim *rate.Limiter, now time.Time, h http.Header) error {
	h.Set("X-RateLimit-Limit", g.limitHeader)
	res := lim.ReserveN(now, 1)
	if delay := res.DelayFrom(now); delay > 0 {
		res.CancelAt(now)
		h.Set("X-RateLimit-Remaining", "0")
		h.Set("Retry-After", RetryAfterSeconds(delay))
		return &task.Error{Code: task.CodeRateLimited, Message: "Too many requests.", RetryAfter: delay}
	}
	h.Set("X-RateLimit-Remaining", strconv.Itoa(max(0, int(lim.TokensAt(now)))))
	return nil
}

// RetryAfterSeconds is the Retry-After header value for a wait of d:
// whole seconds, rounded up, at least 1.
func RetryAfterSeconds(d time.Duration) string {
	return strconv.Itoa(max(1, int(math.Ceil(d.Seconds()))))
}
