package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"tasksapi/access"
	"tasksapi/task"
)

var _ access.Store = (*Store)(nil)

// utcSecond is a time as the timestamp(0) columns keep it: UTC, cut (not
// rounded, as PostgreSQL would) to the second, as SQLite's text keeps it.
func utcSecond(t time.Time) time.Time { return task.NewDateTime(t).Time() }

// CreateKey creates the organisation if it is new, and a key in it, in one
// transaction.
func (s *Store) CreateKey(ctx context.Context, organisation, label, accessKey string, secretHash []byte) (access.Credentials, error) {
	creds := access.Credentials{AccessKey: accessKey}
	now := utcSecond(s.Now())
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var err error
		if creds.OrganisationID, err = ensureOrganisation(ctx, tx, organisation, now); err != nil {
			return err
		}
		return tx.QueryRow(ctx, `INSERT INTO api_keys (organisation_id, label, access_key, secret_hash, created_at)
			VALUES ($1, $2, $3, $4, $5) RETURNING id`, creds.OrganisationID, label, accessKey, secretHash, now).Scan(&creds.KeyID)
	})
	if err != nil {
		return access.Credentials{}, fail(err, "create key")
	}
	return creds, nil
}

// Organisation returns the id of the named organisation, creating it if
// it is new.
func (s *Store) Organisation(ctx context.Context, name string) (int, error) {
	id, err := ensureOrganisation(ctx, s.pool, name, utcSecond(s.Now()))
	if err != nil {
		return 0, fail(err, "organisation %q", name)
	}
	return id, nil
}

// orgQuerier is a pool or a transaction.
type orgQuerier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// ensureOrganisation finds the named organisation or creates it. It reads
// first, so an existing one costs no identity value; a server creating the
// same one meanwhile makes the insert do nothing, and the read after it
// (a new snapshot, under READ COMMITTED) finds that server's row.
func ensureOrganisation(ctx context.Context, q orgQuerier, name string, now time.Time) (int, error) {
	const find = "SELECT id FROM organisations WHERE name = $1"
	var id int
	err := q.QueryRow(ctx, find, name).Scan(&id)
	if !errors.Is(err, pgx.ErrNoRows) {
		return id, err
	}
	err = q.QueryRow(ctx, `INSERT INTO organisations (name, created_at) VALUES ($1, $2)
		ON CONFLICT (name) DO NOTHING RETURNING id`, name, now).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		err = q.QueryRow(ctx, find, name).Scan(&id)
	}
	return id, err
}

// Keys lists every key, oldest first.
func (s *Store) Keys(ctx context.Context) ([]access.Key, error) {
	rows, err := s.pool.Query(ctx, `SELECT k.id, o.name, k.label, k.access_key, k.created_at, k.last_used_at, k.revoked_at
		FROM api_keys k JOIN organisations o ON o.id = k.organisation_id ORDER BY k.id`)
	if err != nil {
		return nil, fail(err, "list keys")
	}
	keys, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (access.Key, error) {
		var k access.Key
		err := row.Scan(&k.ID, &k.Organisation, &k.Label, &k.AccessKey, &k.CreatedAt, &k.LastUsedAt, &k.RevokedAt)
		return k, err
	})
	if err != nil {
		return nil, fail(err, "list keys")
	}
	return keys, nil
}

// RevokeKey revokes a key. Revoking a revoked key changes nothing: the
// first revocation's time stays.
func (s *Store) RevokeKey(ctx context.Context, accessKey string) error {
	// The notification goes out when the update commits: every server
	// then forgets the key (see revokedChannel).
	var found bool
	err := s.pool.QueryRow(ctx, `WITH revoked AS (
			UPDATE api_keys SET revoked_at = coalesce(revoked_at, $2) WHERE access_key = $1 RETURNING access_key)
		SELECT count(pg_notify('`+revokedChannel+`', access_key)) > 0 FROM revoked`,
		accessKey, utcSecond(s.Now())).Scan(&found)
	if err != nil {
		return fail(err, "revoke key")
	}
	if !found {
		return &task.Error{Code: task.CodeNotFound, Message: "no key has the access key " + accessKey}
	}
	return nil
}

// KeyByAccessKey finds the key with the given access key.
func (s *Store) KeyByAccessKey(ctx context.Context, accessKey string) (access.StoredKey, error) {
	k, err := read(ctx, s, func() (k access.StoredKey, err error) {
		err = s.pool.QueryRow(ctx, `SELECT id, organisation_id, secret_hash, revoked_at IS NOT NULL
			FROM api_keys WHERE access_key = $1`, accessKey).Scan(&k.ID, &k.OrganisationID, &k.SecretHash, &k.Revoked)
		return k, err
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return access.StoredKey{}, &task.Error{Code: task.CodeNotFound, Message: "no such key"}
	}
	if err != nil {
		return access.StoredKey{}, fail(err, "find key")
	}
	return k, nil
}

// TouchKey records when a key was last used.
func (s *Store) TouchKey(ctx context.Context, id int, at time.Time) error {
	_, err := s.pool.Exec(ctx, "UPDATE api_keys SET last_used_at = $2 WHERE id = $1", id, utcSecond(at))
	return fail(err, "record the use of key %d", id)
}

// HasKeys reports whether any key exists, revoked ones included.
func (s *Store) HasKeys(ctx context.Context) (bool, error) {
	var exists bool
	err := s.pool.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM api_keys)").Scan(&exists)
	return exists, fail(err, "look for keys")
}
