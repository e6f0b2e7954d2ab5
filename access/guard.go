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
	limit       Limit  // PerSecond 0: no limit
	limitHeader string // X-RateLimit-Limit
	tokens      Tokens

	mu       sync.Mutex
	verified map[string]verifiedKey // by access key; only authenticated keys get in
	touched  map[int]time.Time
}

// Option configures a Guard.
type Option func(*Guard)

// verifiedKey is a key read from the store, trusted until the given time.
type verifiedKey struct {
	key   StoredKey
	until time.Time
}

// NewGuard returns a guard over store allowing perSecond requests a second
// per key, with bursts of twice that (at least 1); 0 turns the limit off.
// Each key's tokens are in this server's memory unless an option says
// where else (SharedTokens).
func NewGuard(store Store, perSecond float64, log *slog.Logger, opts ...Option) *Guard {
	g := &Guard{
		store:       store,
		log:         log,
		limit:       Limit{PerSecond: perSecond, Burst: max(1, int(math.Ceil(2*perSecond)))},
		limitHeader: strconv.FormatFloat(perSecond, 'f', -1, 64),
		tokens:      newMemoryTokens(),
		verified:    map[string]verifiedKey{},
		touched:     map[int]time.Time{},
	}
	for _, opt := range opts {
		opt(g)
	}
	return g
}

// Forget drops what the guard last verified of a key (of every key, when
// accessKey is ""), so that its next request is checked against the
// store: a store shared by several servers calls it when a key is revoked
// through another.
func (g *Guard) Forget(accessKey string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if accessKey == "" {
		clear(g.verified)
		return
	}
	delete(g.verified, accessKey)
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
	if g.touch(key.ID, now) {
		if err := g.store.TouchKey(ctx, key.ID, now); err != nil {
			g.log.WarnContext(ctx, "recording key use failed", "key_id", key.ID, "err", err)
		}
	}
	if g.limit.PerSecond > 0 {
		if err := g.charge(ctx, key.ID, now, h); err != nil {
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

// touch reports whether the key's use should be recorded now.
func (g *Guard) touch(keyID int, now time.Time) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	touch := now.Sub(g.touched[keyID]) >= touchEvery
	if touch {
		g.touched[keyID] = now
	}
	return touch
}

// charge takes a token of the key's bucket for one request.
func (g *Guard) charge(ctx context.Context, keyID int, now time.Time, h http.Header) error {
	h.Set("X-RateLimit-Limit", g.limitHeader)
	got, err := g.tokens.TakeTokens(ctx, keyID, g.limit, 1, now)
	if err != nil {
		return err
	}
	if got.N == 0 {
		h.Set("X-RateLimit-Remaining", "0")
		h.Set("Retry-After", RetryAfterSeconds(got.Wait))
		return &task.Error{Code: task.CodeRateLimited, Message: "Too many requests.", RetryAfter: got.Wait}
	}
	h.Set("X-RateLimit-Remaining", strconv.Itoa(max(0, int(got.Left))))
	return nil
}

// RetryAfterSeconds is the Retry-After header value for a wait of d:
// whole seconds, rounded up, at least 1.
func RetryAfterSeconds(d time.Duration) string {
	return strconv.Itoa(max(1, int(math.Ceil(d.Seconds()))))
}
