package sqlite

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"time"

	"tasksapi/idempotency"
	"tasksapi/task"
)

var _ idempotency.Store = (*Store)(nil)

// keepOutcome is the SQL that keeps an outcome. A record already there
// under the same key takes the new one only if it has expired (its last
// argument is the time of the claim); a live one means another request
// kept its outcome first, and nothing is written (see errKeyTaken).
const keepOutcome = `INSERT INTO idempotency_keys (key_id, key, fingerprint, outcome, expires_at)
	VALUES (?, ?, ?, ?, ?) ON CONFLICT (key_id, key) DO UPDATE SET
	fingerprint = excluded.fingerprint, outcome = excluded.outcome, expires_at = excluded.expires_at
	WHERE idempotency_keys.expires_at <= ?`

// errKeyTaken fails a write whose key another request kept an outcome for
// while it ran, so that the write is rolled back rather than made twice.
// One server's claims already keep two requests of a key apart; this
// holds when they cannot see each other's claims. The client's retry
// meets the kept outcome.
var errKeyTaken = errors.New("another request kept an outcome for this Idempotency-Key first")

// keepIn stores outcome for c within tx, or fails with errKeyTaken.
func keepIn(ctx context.Context, tx *sql.Tx, c *idempotency.Claim, outcome []byte) error {
	res, err := tx.ExecContext(ctx, keepOutcome, c.KeyID, c.Key, c.Fingerprint, outcome, c.Expires.Unix(), c.At.Unix())
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return cmp.Or(err, errKeyTaken)
	}
	return nil
}

// keep stores, within a write's transaction, the outcome t for the
// request's claim (idempotency.ClaimOf), if it has one; Claim.Kept tells
// the claim once the write has committed.
func keep(ctx context.Context, tx *sql.Tx, c *idempotency.Claim, t task.Task) error {
	outcome, err := c.Keep(t)
	if err != nil || outcome == nil {
		return err
	}
	return keepIn(ctx, tx, c, outcome)
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
		return keepIn(ctx, tx, c, outcome)
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
