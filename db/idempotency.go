package db

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"tasksapi/idempotency"
	"tasksapi/task"
)

var _ idempotency.Store = (*Store)(nil)

// keepOutcome is the SQL that keeps an outcome. A record still there
// under the same key has expired (a live one would have been replayed),
// and the new one takes its place.
const keepOutcome = `INSERT INTO idempotency_keys (key_id, key, fingerprint, outcome, expires_at)
	VALUES (?, ?, ?, ?, ?) ON CONFLICT (key_id, key) DO UPDATE SET
	fingerprint = excluded.fingerprint, outcome = excluded.outcome, expires_at = excluded.expires_at`

// claimOf is the Idempotency-Key claim of a request, or nil. A write
// takes it from the request's context before it is queued: the writer
// runs it under a context of its own.
func claimOf(ctx context.Context) *idempotency.Claim {
	c, _ := idempotency.FromContext(ctx)
	return c
}

// keep stores, within a write's transaction, the outcome t for the
// request's claim, if it has one; kept tells the claim once the write
// has committed.
func keep(ctx context.Context, tx *sql.Tx, c *idempotency.Claim, t task.Task) error {
	if c == nil {
		return nil
	}
	outcome, err := c.Keep(t)
	if err != nil || outcome == nil {
		return err
	}
	_, err = tx.ExecContext(ctx, keepOutcome, c.KeyID, c.Key, c.Fingerprint, outcome, c.Expires.Unix())
	return err
}

func kept(c *idempotency.Claim) {
	if c != nil {
		c.Kept()
	}
}

// IdempotencyRecord returns the unexpired record of an API key's key.
func (s *Store) IdempotencyRecord(ctx context.Context, keyID int, key string, now time.Time) (idempotency.Record, bool, error) {
	var r idempotency.Record
	err := s.read.QueryRowContext(ctx, `SELECT fingerprint, outcome FROM idempotency_keys
		WHERE key_id = `+bound+` AND key = `+bound+` AND expires_at > ?`, keyID, key, now.Unix()).
		Scan(&r.Fingerprint, &r.Outcome)
	if errors.Is(err, sql.ErrNoRows) {
		return idempotency.Record{}, false, nil
	}
	return r, err == nil, err
}

// KeepOutcome stores the outcome of a request that wrote nothing.
func (s *Store) KeepOutcome(ctx context.Context, c *idempotency.Claim, outcome []byte) error {
	return s.commit(ctx, 0, func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, keepOutcome, c.KeyID, c.Key, c.Fingerprint, outcome, c.Expires.Unix())
		return err
	})
}

// DeleteExpiredIdempotencyRecords removes up to limit expired records,
// found through the expiry index rather than by reading the table.
func (s *Store) DeleteExpiredIdempotencyRecords(ctx context.Context, now time.Time, limit int) (int, error) {
	var n int64
	err := s.commit(ctx, 0, func(ctx context.Context, tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM idempotency_keys WHERE id IN
			(SELECT id FROM idempotency_keys WHERE expires_at <= ? ORDER BY expires_at`+limitClause(limit)+`)`, now.Unix())
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return int(n), err
}
