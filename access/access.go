// Package access decides who a request comes from: API keys, the
// organisations they belong to, and the per-key rate limit. Every task a
// request can see or write belongs to the organisation of its key.
package access

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"time"

	"tasksapi/task"
)

// The request headers that carry a key, as in the YSUITE API.
const (
	AccessKeyHeader = "x-ysuite-access-key"
	SecretKeyHeader = "x-ysuite-secret-key"
)

// Principal is the caller of an authenticated request.
type Principal struct {
	OrganisationID int
	KeyID          int
	AccessKey      string
}

type principalKey struct{}

// WithPrincipal returns ctx carrying p.
func WithPrincipal(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// FromContext returns the principal of an authenticated request.
func FromContext(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(Principal)
	return p, ok
}

// Credentials are a newly created key: the only time its secret exists
// outside the client.
type Credentials struct {
	OrganisationID int    `json:"organisation_id"`
	KeyID          int    `json:"key_id"`
	AccessKey      string `json:"access_key"`
	SecretKey      string `json:"secret_key"`
}

// Key is a stored key, as listed; it never holds the secret.
type Key struct {
	ID           int
	Organisation string
	Label        string
	AccessKey    string
	CreatedAt    time.Time
	LastUsedAt   *time.Time
	RevokedAt    *time.Time
}

// StoredKey is what authentication needs of a key.
type StoredKey struct {
	ID             int
	OrganisationID int
	SecretHash     []byte
	Revoked        bool
}

// Store keeps organisations and keys.
type Store interface {
	// CreateKey creates the organisation if it is new, and a key in it with
	// the given access key and secret hash.
	CreateKey(ctx context.Context, organisation, label, accessKey string, secretHash []byte) (Credentials, error)
	// Keys lists every key, revoked ones included.
	Keys(ctx context.Context) ([]Key, error)
	// RevokeKey revokes the key; an unknown key is CodeNotFound.
	RevokeKey(ctx context.Context, accessKey string) error
	// KeyByAccessKey finds a key; an unknown key is CodeNotFound.
	KeyByAccessKey(ctx context.Context, accessKey string) (StoredKey, error)
	// TouchKey records that the key was used at the given time.
	TouchKey(ctx context.Context, id int, at time.Time) error
	// HasKeys reports whether any key, even a revoked one, exists.
	HasKeys(ctx context.Context) (bool, error)
}

// NewKey makes a key for organisation (created if new) and returns its
// credentials, secret included. Secrets are 256 random bits; only their
// SHA-256 is stored, which for secrets of that strength is as safe as a
// slow password hash and costs microseconds per request.
func NewKey(ctx context.Context, store Store, organisation, label string) (Credentials, error) {
	if organisation == "" {
		return Credentials{}, task.Invalid("org", "is required")
	}
	accessKey := "ak_" + randomString(16)
	secret := "sk_" + randomString(32)
	creds, err := store.CreateKey(ctx, organisation, label, accessKey, hash(secret))
	if err != nil {
		return Credentials{}, err
	}
	creds.SecretKey = secret
	return creds, nil
}

func randomString(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // never fails: crypto/rand panics rather than return an error
	return base64.RawURLEncoding.EncodeToString(b)
}

func hash(secret string) []byte {
	sum := sha256.Sum256([]byte(secret))
	return sum[:]
}

// errUnauthenticated is the one answer to every bad credential, so that a
// caller cannot tell an unknown access key from a wrong secret.
var errUnauthenticated = &task.Error{Code: task.CodeUnauthenticated, Message: "Invalid API credentials."}

// authenticate checks a pair of credentials against the store.
func authenticate(ctx context.Context, store Store, accessKey, secret string) (StoredKey, error) {
	if accessKey == "" || secret == "" {
		return StoredKey{}, errUnauthenticated
	}
	key, err := store.KeyByAccessKey(ctx, accessKey)
	if task.ErrorCode(err) == task.CodeNotFound {
		// Compare anyway, so an unknown key takes as long as a known one.
		subtle.ConstantTimeCompare(hash(secret), make([]byte, sha256.Size))
		return StoredKey{}, errUnauthenticated
	}
	if err != nil {
		return StoredKey{}, err
	}
	if subtle.ConstantTimeCompare(hash(secret), key.SecretHash) != 1 || key.Revoked {
		return StoredKey{}, errUnauthenticated
	}
	return key, nil
}
