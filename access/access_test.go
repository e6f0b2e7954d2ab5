package access_test

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"tasksapi/access"
	"tasksapi/sqlite"
	"tasksapi/task"
)

var discard = slog.New(slog.DiscardHandler)

// newStore opens a store on a fresh file; it is closed when the test ends.
func newStore(t *testing.T) *sqlite.Store {
	t.Helper()
	s, err := sqlite.Open(filepath.Join(t.TempDir(), "keys.db"))
	if err != nil {
		t.Fatalf("sqlite.Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func newKey(t *testing.T, s access.Store, org, label string) access.Credentials {
	t.Helper()
	creds, err := access.NewKey(t.Context(), s, org, label)
	if err != nil {
		t.Fatalf("NewKey(%q, %q): %v", org, label, err)
	}
	return creds
}

// request builds a request with the key headers; a nil value leaves that
// header out.
func request(t *testing.T, accessKey, secret *string) *http.Request {
	t.Helper()
	r := httptest.NewRequest(http.MethodGet, "/v1/tasks", nil)
	if accessKey != nil {
		r.Header.Set(access.AccessKeyHeader, *accessKey)
	}
	if secret != nil {
		r.Header.Set(access.SecretKeyHeader, *secret)
	}
	return r
}

func requestFor(t *testing.T, creds access.Credentials) *http.Request {
	t.Helper()
	return request(t, &creds.AccessKey, &creds.SecretKey)
}

func ptr[T any](v T) *T { return &v }

func wantCode(t *testing.T, err error, want task.Code) *task.Error {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want code %q", want)
	}
	var e *task.Error
	if !errors.As(err, &e) {
		t.Fatalf("got %v (%T), want a *task.Error with code %q", err, err, want)
	}
	if e.Code != want {
		t.Fatalf("error code = %q, want %q (error: %v)", e.Code, want, err)
	}
	return e
}

func admit(t *testing.T, g *access.Guard, creds access.Credentials) (context.Context, http.Header) {
	t.Helper()
	h := http.Header{}
	ctx, err := g.Admit(requestFor(t, creds), h)
	if err != nil {
		t.Fatalf("Admit of key %d: %v", creds.KeyID, err)
	}
	return ctx, h
}

func TestAdmitRejectsBadCredentialsAllAlike(t *testing.T) {
	s := newStore(t)
	acme := newKey(t, s, "Acme", "acme")
	other := newKey(t, s, "Acme", "other")
	globex := newKey(t, s, "Globex", "globex")
	revoked := newKey(t, s, "Acme", "revoked")
	if err := s.RevokeKey(t.Context(), revoked.AccessKey); err != nil {
		t.Fatalf("RevokeKey: %v", err)
	}
	guard := access.NewGuard(s, 2, discard)

	tests := []struct {
		name              string
		accessKey, secret *string
	}{
		{"a request without headers is rejected", nil, nil},
		{"a request with only the access key is rejected", &acme.AccessKey, nil},
		{"a request with only the secret is rejected", nil, &acme.SecretKey},
		{"an unknown access key is rejected", ptr("ak_unknown"), &acme.SecretKey},
		{"an access key in another case is rejected", ptr(strings.ToUpper(acme.AccessKey)), &acme.SecretKey},
		{"a right access key with a wrong secret is rejected", &acme.AccessKey, ptr("sk_wrong")},
		{"a right access key with its secret cut short by one character is rejected", &acme.AccessKey, ptr(acme.SecretKey[:len(acme.SecretKey)-1])},
		{"a right access key with another key's secret in the organisation is rejected", &acme.AccessKey, &other.SecretKey},
		{"a right access key with another organisation's secret is rejected", &acme.AccessKey, &globex.SecretKey},
		{"the access key and secret swapped are rejected", &acme.SecretKey, &acme.AccessKey},
		{"a revoked key with its own secret is rejected", &revoked.AccessKey, &revoked.SecretKey},
		{"empty strings in both headers are rejected", ptr(""), ptr("")},
		{"an empty access key with a right secret is rejected", ptr(""), &acme.SecretKey},
		{"a right access key with an empty secret is rejected", &acme.AccessKey, ptr("")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			ctx, err := guard.Admit(request(t, tt.accessKey, tt.secret), h)
			e := wantCode(t, err, task.CodeUnauthenticated)
			if e.Message != "Invalid API credentials." {
				t.Errorf("message = %q, want %q", e.Message, "Invalid API credentials.")
			}
			if ctx != nil {
				if p, ok := access.FromContext(ctx); ok {
					t.Errorf("a rejected request's context carries principal %+v", p)
				}
			}
			if len(h) != 0 {
				t.Errorf("a rejected request got headers %v, want none: it has no key to limit", h)
			}
		})
	}

	t.Run("rejected requests record no use of any key", func(t *testing.T) {
		keys, err := s.Keys(t.Context())
		if err != nil {
			t.Fatalf("Keys: %v", err)
		}
		for _, k := range keys {
			if k.LastUsedAt != nil {
				t.Errorf("key %q LastUsedAt = %v, want nil", k.Label, k.LastUsedAt)
			}
		}
	})
}

type ctxKey struct{}

func TestAdmitOfAValidKeyCarriesItsPrincipal(t *testing.T) {
	s := newStore(t)
	acme := newKey(t, s, "Acme", "acme")
	second := newKey(t, s, "Acme", "second")
	globex := newKey(t, s, "Globex", "globex")
	guard := access.NewGuard(s, 2, discard)

	for _, creds := range []access.Credentials{acme, second, globex} {
		r := requestFor(t, creds)
		r = r.WithContext(context.WithValue(r.Context(), ctxKey{}, "request value"))
		ctx, err := guard.Admit(r, http.Header{})
		if err != nil {
			t.Fatalf("Admit of key %d: %v", creds.KeyID, err)
		}
		p, ok := access.FromContext(ctx)
		if !ok {
			t.Fatalf("the admitted context carries no principal")
		}
		want := access.Principal{OrganisationID: creds.OrganisationID, KeyID: creds.KeyID, AccessKey: creds.AccessKey}
		if p != want {
			t.Errorf("principal = %+v, want %+v", p, want)
		}
		if ctx.Value(ctxKey{}) != "request value" {
			t.Errorf("the admitted context lost the request context's values")
		}
	}
	if acme.OrganisationID != second.OrganisationID || acme.OrganisationID == globex.OrganisationID {
		t.Errorf("organisations = %d, %d, %d; want the two Acme keys to share one and Globex another",
			acme.OrganisationID, second.OrganisationID, globex.OrganisationID)
	}
}

func TestRateLimitAllowsABurstOfTwiceTheRatePerKey(t *testing.T) {
	s := newStore(t)
	limited := newKey(t, s, "Acme", "limited")
	sameOrg := newKey(t, s, "Acme", "same organisation")
	otherOrg := newKey(t, s, "Globex", "other organisation")
	guard := access.NewGuard(s, 2, discard)

	for i, wantRemaining := range []string{"3", "2", "1", "0"} {
		_, h := admit(t, guard, limited)
		if got := h.Get("X-RateLimit-Limit"); got != "2" {
			t.Errorf("request %d: X-RateLimit-Limit = %q, want 2", i+1, got)
		}
		if got := h.Get("X-RateLimit-Remaining"); got != wantRemaining {
			t.Errorf("request %d: X-RateLimit-Remaining = %q, want %s", i+1, got, wantRemaining)
		}
	}

	var retryAfter time.Duration
	t.Run("the request after the burst is rate limited", func(t *testing.T) {
		for i := range 3 {
			h := http.Header{}
			ctx, err := guard.Admit(requestFor(t, limited), h)
			e := wantCode(t, err, task.CodeRateLimited)
			if ctx != nil {
				t.Errorf("a limited request got a context")
			}
			// One token comes back every half second.
			if e.RetryAfter <= 0 || e.RetryAfter > 500*time.Millisecond {
				t.Errorf("attempt %d: RetryAfter = %v, want more than 0 and at most 500ms", i+1, e.RetryAfter)
			}
			if got := h.Get("X-RateLimit-Remaining"); got != "0" {
				t.Errorf("attempt %d: X-RateLimit-Remaining = %q, want 0", i+1, got)
			}
			if got := h.Get("X-RateLimit-Limit"); got != "2" {
				t.Errorf("attempt %d: X-RateLimit-Limit = %q, want 2", i+1, got)
			}
			if got := h.Get("Retry-After"); got != "1" {
				t.Errorf("attempt %d: Retry-After = %q, want 1 (whole seconds, rounded up)", i+1, got)
			}
			retryAfter = e.RetryAfter
		}
	})

	t.Run("other keys are still admitted while one is limited", func(t *testing.T) {
		for _, creds := range []access.Credentials{sameOrg, otherOrg} {
			_, h := admit(t, guard, creds)
			if got := h.Get("X-RateLimit-Remaining"); got != "3" {
				t.Errorf("key %d: X-RateLimit-Remaining = %q, want 3 (a fresh bucket)", creds.KeyID, got)
			}
		}
		if _, err := guard.Admit(requestFor(t, limited), http.Header{}); task.ErrorCode(err) != task.CodeRateLimited {
			t.Errorf("the limited key after others were admitted: %v, want still rate limited", err)
		}
	})

	t.Run("rejected requests cost nothing: waiting RetryAfter is enough", func(t *testing.T) {
		if retryAfter <= 0 {
			t.Fatal("the limited requests gave no RetryAfter to wait for")
		}
		time.Sleep(retryAfter + 20*time.Millisecond)
		if _, err := guard.Admit(requestFor(t, limited), http.Header{}); err != nil {
			t.Errorf("after waiting RetryAfter (%v), Admit: %v; want admitted", retryAfter, err)
		}
	})
}

func TestWithoutARateLimitEveryRequestPassesWithoutHeaders(t *testing.T) {
	s := newStore(t)
	creds := newKey(t, s, "Acme", "unlimited")
	guard := access.NewGuard(s, 0, discard)
	for i := range 50 {
		h := http.Header{}
		if _, err := guard.Admit(requestFor(t, creds), h); err != nil {
			t.Fatalf("request %d: %v", i+1, err)
		}
		for _, name := range []string{"X-RateLimit-Limit", "X-RateLimit-Remaining"} {
			if v, ok := h[name]; ok {
				t.Fatalf("request %d: %s = %q, want no such header", i+1, name, v)
			}
		}
	}
}

func TestRetryAfterSecondsRoundsUpToAtLeastOne(t *testing.T) {
	tests := []struct {
		d    time.Duration
		want string
	}{
		{-time.Second, "1"},
		{0, "1"},
		{time.Millisecond, "1"},
		{999 * time.Millisecond, "1"},
		{time.Second, "1"},
		{1001 * time.Millisecond, "2"},
		{1200 * time.Millisecond, "2"},
		{3 * time.Second, "3"},
		{90 * time.Second, "90"},
	}
	for _, tt := range tests {
		if got := access.RetryAfterSeconds(tt.d); got != tt.want {
			t.Errorf("RetryAfterSeconds(%v) = %q, want %q", tt.d, got, tt.want)
		}
	}
}

// touchCounter counts the TouchKey calls that reach the store.
type touchCounter struct {
	*sqlite.Store
	mu      sync.Mutex
	touches map[int]int
}

func (c *touchCounter) TouchKey(ctx context.Context, id int, at time.Time) error {
	c.mu.Lock()
	c.touches[id]++
	c.mu.Unlock()
	return c.Store.TouchKey(ctx, id, at)
}

func TestAdmitRecordsTheLastUseOnce(t *testing.T) {
	s := newStore(t)
	counter := &touchCounter{Store: s, touches: map[int]int{}}
	used := newKey(t, s, "Acme", "used")
	idle := newKey(t, s, "Acme", "idle")
	guard := access.NewGuard(counter, 0, discard)

	before := time.Now().UTC().Truncate(time.Second)
	for range 5 {
		admit(t, guard, used)
	}
	if _, err := guard.Admit(request(t, &idle.AccessKey, ptr("sk_wrong")), http.Header{}); err == nil {
		t.Fatalf("Admit with a wrong secret succeeded")
	}
	after := time.Now().UTC()

	if n := counter.touches[used.KeyID]; n != 1 {
		t.Errorf("5 requests wrote the key's last use %d times, want once", n)
	}
	if n := counter.touches[idle.KeyID]; n != 0 {
		t.Errorf("a rejected request wrote the key's last use %d times, want never", n)
	}

	keys, err := s.Keys(t.Context())
	if err != nil {
		t.Fatalf("Keys: %v", err)
	}
	for _, k := range keys {
		switch k.ID {
		case used.KeyID:
			if k.LastUsedAt == nil || k.LastUsedAt.Before(before) || k.LastUsedAt.After(after) {
				t.Errorf("used key LastUsedAt = %v, want between %v and %v", k.LastUsedAt, before, after)
			}
		case idle.KeyID:
			if k.LastUsedAt != nil {
				t.Errorf("idle key LastUsedAt = %v, want nil", k.LastUsedAt)
			}
		}
	}
}

func TestNewKey(t *testing.T) {
	s := newStore(t)
	first := newKey(t, s, "Acme", "first")
	second := newKey(t, s, "Acme", "second")

	// Secrets carry 256 random bits, 43 characters of URL-safe base64;
	// access keys need only be unique, so at least 96 bits.
	shapes := []struct {
		name   string
		value  func(access.Credentials) string
		prefix string
		min    int
	}{
		{"access key", func(c access.Credentials) string { return c.AccessKey }, "ak_", 16},
		{"secret", func(c access.Credentials) string { return c.SecretKey }, "sk_", 43},
	}
	urlSafe := regexp.MustCompile(`^[A-Za-z0-9_-]+$`)
	for _, sh := range shapes {
		for _, creds := range []access.Credentials{first, second} {
			v := sh.value(creds)
			rest, ok := strings.CutPrefix(v, sh.prefix)
			if !ok {
				t.Errorf("%s %q does not start with %q", sh.name, v, sh.prefix)
			}
			if len(rest) < sh.min || !urlSafe.MatchString(rest) {
				t.Errorf("%s %q: want at least %d URL-safe characters after the prefix", sh.name, v, sh.min)
			}
		}
		if sh.value(first) == sh.value(second) {
			t.Errorf("two keys share the %s %q", sh.name, sh.value(first))
		}
	}
	if first.KeyID == second.KeyID || first.KeyID < 1 || first.OrganisationID < 1 || first.OrganisationID != second.OrganisationID {
		t.Errorf("credentials %+v and %+v: want distinct positive key ids in one organisation", first, second)
	}

	t.Run("an empty organisation name is invalid and creates nothing", func(t *testing.T) {
		s := newStore(t)
		_, err := access.NewKey(t.Context(), s, "", "label")
		wantCode(t, err, task.CodeInvalid)
		if has, err := s.HasKeys(t.Context()); err != nil || has {
			t.Errorf("HasKeys after a rejected NewKey = %v, %v; want false", has, err)
		}
	})
}

// lookupCounter counts the key lookups that reach the store.
type lookupCounter struct {
	*sqlite.Store
	mu      sync.Mutex
	lookups int
}

func (c *lookupCounter) KeyByAccessKey(ctx context.Context, accessKey string) (access.StoredKey, error) {
	c.mu.Lock()
	c.lookups++
	c.mu.Unlock()
	return c.Store.KeyByAccessKey(ctx, accessKey)
}

func TestAVerifiedKeyIsReadFromTheStoreOncePerTTL(t *testing.T) {
	s := newStore(t)
	counter := &lookupCounter{Store: s}
	creds := newKey(t, s, "Acme", "busy")
	guard := access.NewGuard(counter, 0, discard)
	for range 20 {
		admit(t, guard, creds)
	}
	if counter.lookups != 1 {
		t.Errorf("20 requests within %v read the key %d times, want once", access.VerifiedKeyTTL, counter.lookups)
	}
	time.Sleep(access.VerifiedKeyTTL)
	admit(t, guard, creds)
	if counter.lookups != 2 {
		t.Errorf("a request after %v read the key %d times in all, want twice", access.VerifiedKeyTTL, counter.lookups)
	}
}

func TestAVerifiedKeyStillNeedsItsSecret(t *testing.T) {
	s := newStore(t)
	acme := newKey(t, s, "Acme", "acme")
	other := newKey(t, s, "Acme", "other")
	guard := access.NewGuard(s, 0, discard)
	admit(t, guard, acme)
	for name, secret := range map[string]string{
		"a wrong secret":       "sk_wrong",
		"an empty secret":      "",
		"another key's secret": other.SecretKey,
	} {
		t.Run(name+" is rejected", func(t *testing.T) {
			_, err := guard.Admit(request(t, &acme.AccessKey, &secret), http.Header{})
			wantCode(t, err, task.CodeUnauthenticated)
		})
	}
}

func TestARevokedKeyIsRefusedOnceItsVerificationExpires(t *testing.T) {
	s := newStore(t)
	creds := newKey(t, s, "Acme", "leaked")
	guard := access.NewGuard(s, 0, discard)
	admit(t, guard, creds)
	if err := s.RevokeKey(t.Context(), creds.AccessKey); err != nil {
		t.Fatalf("RevokeKey: %v", err)
	}
	// Within the TTL the key is trusted as verified: the documented price of
	// not reading it on every request.
	admit(t, guard, creds)
	time.Sleep(access.VerifiedKeyTTL)
	for range 2 { // and the refusal is not itself remembered as a verification
		_, err := guard.Admit(requestFor(t, creds), http.Header{})
		wantCode(t, err, task.CodeUnauthenticated)
	}
}

func TestAForgottenKeyIsCheckedAgainstTheStoreAtOnce(t *testing.T) {
	for _, forget := range []struct{ name, accessKey string }{
		{"by its access key", "the key's"},
		{"with every key", ""},
	} {
		t.Run(forget.name, func(t *testing.T) {
			s := newStore(t)
			creds := newKey(t, s, "Acme", "leaked")
			guard := access.NewGuard(s, 0, discard)
			admit(t, guard, creds)
			if err := s.RevokeKey(t.Context(), creds.AccessKey); err != nil {
				t.Fatalf("RevokeKey: %v", err)
			}
			accessKey := forget.accessKey
			if accessKey != "" {
				accessKey = creds.AccessKey
			}
			guard.Forget(accessKey)
			_, err := guard.Admit(requestFor(t, creds), http.Header{})
			wantCode(t, err, task.CodeUnauthenticated)
		})
	}
}
