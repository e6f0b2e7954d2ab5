package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"tasksapi/access"
	"tasksapi/task"
)

var _ access.Store = (*Store)(nil)

// stamp is the stored text of a time: the task date-time form, in UTC.
func stamp(t time.Time) string { return task.NewDateTime(t).String() }

// CreateKey creates the organisation if it is new, and a key in it.
func (s *Store) CreateKey(ctx context.Context, organisation, label, accessKey string, secretHash []byte) (access.Credentials, error) {
	creds := access.Credentials{AccessKey: accessKey}
	now := stamp(s.Now())
	err := inTx(ctx, s.write, func(tx *sql.Tx) error {
		var err error
		if creds.OrganisationID, err = ensureOrganisation(ctx, tx, organisation, now); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO api_keys (organisation_id, label, access_key, secret_hash, created_at)
			VALUES (?, ?, ?, ?, ?)`, creds.OrganisationID, label, accessKey, secretHash, now)
		if err != nil {
			return err
		}
		id, err := res.LastInsertId()
		creds.KeyID = int(id)
		return err
	})
	if err != nil {
		return access.Credentials{}, fmt.Errorf("create key: %w", err)
	}
	return creds, nil
}

// Organisation returns the id of the named organisation, creating it if
// it is new.
func (s *Store) Organisation(ctx context.Context, name string) (int, error) {
	var id int
	err := inTx(ctx, s.write, func(tx *sql.Tx) error {
		var err error
		id, err = ensureOrganisation(ctx, tx, name, stamp(s.Now()))
		return err
	})
	return id, err
}

func ensureOrganisation(ctx context.Context, tx *sql.Tx, name, now string) (int, error) {
	if _, err := tx.ExecContext(ctx, `INSERT INTO organisations (name, created_at)
		SELECT ?1, ?2 WHERE NOT EXISTS (SELECT 1 FROM organisations WHERE name = +?1)`, name, now); err != nil {
		return 0, err
	}
	var id int
	err := tx.QueryRowContext(ctx, "SELECT id FROM organisations WHERE name = "+bound, name).Scan(&id)
	return id, err
}

// Keys lists every key, oldest first.
func (s *Store) Keys(ctx context.Context) ([]access.Key, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT k.id, o.name, k.label, k.access_key, k.created_at,
		k.last_used_at, k.revoked_at FROM api_keys k JOIN organisations o ON o.id = k.organisation_id ORDER BY k.id`)
	if err != nil {
		return nil, fmt.Errorf("list keys: %w", err)
	}
	defer rows.Close()
	var keys []access.Key
	for rows.Next() {
		var (
			k               access.Key
			created         string
			lastUsed, revok sql.NullString
		)
		if err := rows.Scan(&k.ID, &k.Organisation, &k.Label, &k.AccessKey, &created, &lastUsed, &revok); err != nil {
			return nil, fmt.Errorf("list keys: %w", err)
		}
		c, err := task.ParseDateTime(created)
		if err != nil {
			return nil, fmt.Errorf("key %d created_at: %w", k.ID, err)
		}
		k.CreatedAt = c.Time()
		if k.LastUsedAt, err = timePtr(lastUsed); err != nil {
			return nil, fmt.Errorf("key %d last_used_at: %w", k.ID, err)
		}
		if k.RevokedAt, err = timePtr(revok); err != nil {
			return nil, fmt.Errorf("key %d revoked_at: %w", k.ID, err)
		}
		keys = append(keys, k)
	}
	return keys, rows.Err()
}

// timePtr reads a nullable stored time.
func timePtr(s sql.NullString) (*time.Time, error) {
	if !s.Valid {
		return nil, nil
	}
	d, err := task.ParseDateTime(s.String)
	if err != nil {
		return nil, err
	}
	t := d.Time()
	return &t, nil
}

// RevokeKey revokes a key. Revoking a revoked key changes nothing.
func (s *Store) RevokeKey(ctx context.Context, accessKey string) error {
	err := inTx(ctx, s.write, func(tx *sql.Tx) error {
		var id int
		err := tx.QueryRowContext(ctx, "SELECT id FROM api_keys WHERE access_key = "+bound, accessKey).Scan(&id)
		if errors.Is(err, sql.ErrNoRows) {
			return &task.Error{Code: task.CodeNotFound, Message: "no key has the access key " + accessKey}
		}
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, "UPDATE api_keys SET revoked_at = ? WHERE id = "+bound+" AND revoked_at IS NULL",
			stamp(s.Now()), id)
		return err
	})
	if err != nil && task.ErrorCode(err) == task.CodeInternal {
		return fmt.Errorf("revoke key: %w", err)
	}
	return err
}

// KeyByAccessKey finds the key with the given access key.
func (s *Store) KeyByAccessKey(ctx context.Context, accessKey string) (access.StoredKey, error) {
	var k access.StoredKey
	err := s.read.QueryRowContext(ctx, `SELECT id, organisation_id, secret_hash, revoked_at IS NOT NULL
		FROM api_keys WHERE access_key = `+bound, accessKey).Scan(&k.ID, &k.OrganisationID, &k.SecretHash, &k.Revoked)
	if errors.Is(err, sql.ErrNoRows) {
		return access.StoredKey{}, &task.Error{Code: task.CodeNotFound, Message: "no such key"}
	}
	if err != nil {
		return access.StoredKey{}, fmt.Errorf("find key: %w", err)
	}
	return k, nil
}

// TouchKey records when a key was last used.
func (s *Store) TouchKey(ctx context.Context, id int, at time.Time) error {
	_, err := s.write.ExecContext(ctx, "UPDATE api_keys SET last_used_at = ? WHERE id = "+bound, stamp(at), id)
	return err
}

// HasKeys reports whether any key exists, revoked ones included.
func (s *Store) HasKeys(ctx context.Context) (bool, error) {
	var exists bool
	err := s.read.QueryRowContext(ctx, "SELECT EXISTS (SELECT 1 FROM api_keys)").Scan(&exists)
	return exists, err
}
