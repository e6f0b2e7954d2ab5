package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"tasksapi/idempotency"
	"tasksapi/task"
)

var _ idempotency.Store = (*Store)(nil)

// Keeping an outcome is two statements in the write's transaction: the
// record already under the key is removed only if it has expired (its
// argument is the time of the claim), and the new one inserted. A live
// record, or one that another transaction is inserting, makes the insert
// fail on the key's primary key (waiting first for that transaction to
// end), which fails the whole write with errKeyTaken: a live outcome is
// never overwritten.
const (
	removeExpiredOutcome = `DELETE FROM idempotency_keys WHERE key_id = $1 AND key = $2 AND expires_at <= $3`
	insertOutcome        = `INSERT INTO idempotency_keys (key_id, key, fingerprint, outcome, expires_at)
		VALUES ($1, $2, $3, $4, $5)`
)

// errKeyTaken fails a write whose key another request kept an outcome for
// while it ran, so that the write is rolled back rather than made twice.
// One server's claims already keep two requests of a key apart; this
// holds when they cannot see each other's claims, as on two servers. The
// client's retry meets the kept outcome.
var errKeyTaken = errors.New("another request kept an outcome for this Idempotency-Key first")

// uniqueViolation is the SQLSTATE of an insert that meets a row with the
// same key.
const uniqueViolation = "23505"

// keyTakenOr is errKeyTaken when err is the insert of an outcome meeting
// another under its key, and err otherwise. SQLSTATE and constraint are
// matched, never the message.
func keyTakenOr(err error) error {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == uniqueViolation && pgErr.ConstraintName == "idempotency_keys_pkey" {
		return errKeyTaken
	}
	return err
}

// queueKeepOutcome queues the statements that keep outcome for c.
func queueKeepOutcome(b *pgx.Batch, c *idempotency.Claim, outcome []byte) {
	b.Queue(removeExpiredOutcome, c.KeyID, c.Key, c.At.Unix())
	b.Queue(insertOutcome, c.KeyID, c.Key, c.Fingerprint, outcome, c.Expires.Unix())
}

// queueKeep queues, in a write's batch, the keeping of the outcome t for
// the request's claim (idempotency.ClaimOf), if it has one and it is not
// already kept; Claim.Kept tells the claim once the write has committed.
func queueKeep(b *pgx.Batch, c *idempotency.Claim, t task.Task) error {
	outcome, err := c.Keep(t)
	if err != nil || outcome == nil {
		return err
	}
	queueKeepOutcome(b, c, outcome)
	return nil
}

// IdempotencyRecord returns the unexpired record of an API key's key.
func (s *Store) IdempotencyRecord(ctx context.Context, keyID int, key string, now time.Time) (idempotency.Record, bool, error) {
	var r idempotency.Record
	err := s.pool.QueryRow(ctx, `SELECT fingerprint, outcome FROM idempotency_keys
		WHERE key_id = $1 AND key = $2 AND expires_at > $3`, keyID, key, now.Unix()).
		Scan(&r.Fingerprint, &r.Outcome)
	if errors.Is(err, pgx.ErrNoRows) {
		return idempotency.Record{}, false, nil
	}
	if err != nil {
		return idempotency.Record{}, false, fail(err, "read idempotency record")
	}
	return r, true, nil
}

// KeepOutcome stores the outcome of a request that wrote nothing, in a
// transaction of its own (the batch's implicit one).
func (s *Store) KeepOutcome(ctx context.Context, c *idempotency.Claim, outcome []byte) error {
	b := &pgx.Batch{}
	queueKeepOutcome(b, c, outcome)
	return fail(keyTakenOr(sendAll(context.WithoutCancel(ctx), s.pool, b)), "keep outcome")
}

// DeleteExpiredIdempotencyRecords removes up to limit expired records,
// found through the expiry index rather than by reading the table.
func (s *Store) DeleteExpiredIdempotencyRecords(ctx context.Context, now time.Time, limit int) (int, error) {
	tag, err := s.pool.Exec(ctx, `DELETE FROM idempotency_keys WHERE (key_id, key) IN
		(SELECT key_id, key FROM idempotency_keys WHERE expires_at <= $1 ORDER BY expires_at LIMIT $2)`, now.Unix(), limit)
	if err != nil {
		return 0, fail(err, "remove expired idempotency records")
	}
	return int(tag.RowsAffected()), nil
}
