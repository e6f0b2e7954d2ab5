package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"tasksapi/task"
	"tasksapi/webhook"
)

var _ webhook.Store = (*Store)(nil)

// webhookColumns is the select list scanWebhook reads, from webhooks w
// joined with organisations o.
const webhookColumns = `w.id, w.organisation_id, o.name, w.url, w.description, w.secret, w.enabled,
	w.last_delivered_seq, w.attempts, w.next_attempt_at, w.failing_since, w.generation, w.created_at`

const webhookFrom = ` FROM webhooks w JOIN organisations o ON o.id = w.organisation_id`

func scanWebhook(row rowScanner) (webhook.State, error) {
	var (
		st           webhook.State
		nextAttempt  *int64
		failingSince *time.Time
		created      time.Time
	)
	err := row.Scan(&st.ID, &st.OrganisationID, &st.Organisation, &st.URL, &st.Description, &st.Secret, &st.Enabled,
		&st.LastDeliveredSeq, &st.Attempts, &nextAttempt, &failingSince, &st.Generation, &created)
	if err != nil {
		return st, err
	}
	if nextAttempt != nil {
		st.NextAttempt = time.UnixMilli(*nextAttempt).UTC()
	}
	if failingSince != nil {
		d := task.NewDateTime(*failingSince)
		st.FailingSince = &d
	}
	st.CreatedAt = task.NewDateTime(created)
	return st, nil
}

func scanWebhooks(rows pgx.Rows) ([]webhook.State, error) {
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (webhook.State, error) { return scanWebhook(row) })
}

// CreateWebhook stores a webhook of the organisation in ctx, starting at
// its head, the newest seq it has given (retention never lowers it). The
// organisation's row is locked while the webhooks are counted, so creates
// through several servers at once cannot pass the limit together; a task
// write holding the row meanwhile commits first, and is behind the head.
func (s *Store) CreateWebhook(ctx context.Context, in webhook.NewWebhook) (webhook.Webhook, error) {
	org, err := organisation(ctx)
	if err != nil {
		return webhook.Webhook{}, err
	}
	now := utcSecond(s.Now())
	var id int
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var head int64
		if err := tx.QueryRow(ctx, "SELECT head_seq FROM organisations WHERE id = $1 FOR NO KEY UPDATE", org).Scan(&head); err != nil {
			return err
		}
		var n int
		if err := tx.QueryRow(ctx, "SELECT count(*) FROM webhooks WHERE organisation_id = $1", org).Scan(&n); err != nil {
			return err
		}
		if n >= webhook.MaxPerOrganisation {
			return webhook.TooMany()
		}
		return tx.QueryRow(ctx, `INSERT INTO webhooks (organisation_id, url, description, secret, last_delivered_seq, created_at)
			VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`, org, in.URL, in.Description, in.Secret, head, now).Scan(&id)
	})
	if err != nil {
		return webhook.Webhook{}, fail(err, "create webhook")
	}
	return s.Webhook(ctx, id)
}

// Webhooks lists the organisation's webhooks, oldest first.
func (s *Store) Webhooks(ctx context.Context) ([]webhook.Webhook, error) {
	org, err := organisation(ctx)
	if err != nil {
		return nil, err
	}
	rows, err := s.pool.Query(ctx, "SELECT "+webhookColumns+webhookFrom+" WHERE w.organisation_id = $1 ORDER BY w.id", org)
	if err != nil {
		return nil, fail(err, "list webhooks")
	}
	states, err := scanWebhooks(rows)
	if err != nil {
		return nil, fail(err, "list webhooks")
	}
	hooks := make([]webhook.Webhook, len(states))
	for i, st := range states {
		hooks[i] = st.Webhook
	}
	return hooks, nil
}

// Webhook returns a webhook of the organisation.
func (s *Store) Webhook(ctx context.Context, id int) (webhook.Webhook, error) {
	org, err := organisation(ctx)
	if err != nil {
		return webhook.Webhook{}, err
	}
	st, err := scanWebhook(s.pool.QueryRow(ctx, "SELECT "+webhookColumns+webhookFrom+
		" WHERE w.id = $1 AND w.organisation_id = $2", id, org))
	if errors.Is(err, pgx.ErrNoRows) {
		return webhook.Webhook{}, webhook.NotFound()
	}
	if err != nil {
		return webhook.Webhook{}, fail(err, "read webhook %d", id)
	}
	return st.Webhook, nil
}

// DeleteWebhook removes a webhook of the organisation; its attempts go
// with it (ON DELETE CASCADE).
func (s *Store) DeleteWebhook(ctx context.Context, id int) error {
	org, err := organisation(ctx)
	if err != nil {
		return err
	}
	tag, err := s.pool.Exec(ctx, "DELETE FROM webhooks WHERE id = $1 AND organisation_id = $2", id, org)
	if err != nil {
		return fail(err, "delete webhook %d", id)
	}
	if tag.RowsAffected() == 0 {
		return webhook.NotFound()
	}
	return nil
}

// EnableWebhook turns a disabled webhook of the organisation on, from its
// cursor, at once, with its attempts counted afresh. The update names the
// organisation, so another's webhook is left alone and then read as
// missing.
func (s *Store) EnableWebhook(ctx context.Context, id int) (webhook.Webhook, error) {
	org, err := organisation(ctx)
	if err != nil {
		return webhook.Webhook{}, err
	}
	if _, err := s.pool.Exec(ctx, `UPDATE webhooks SET enabled = true, failing_since = NULL, attempts = 0,
		next_attempt_at = NULL, generation = generation + 1
		WHERE id = $1 AND organisation_id = $2 AND NOT enabled`, id, org); err != nil {
		return webhook.Webhook{}, fail(err, "enable webhook %d", id)
	}
	return s.Webhook(ctx, id)
}

// ReplayWebhook moves a webhook's cursor back to after, or to the oldest
// change kept when changes after after are gone; a cursor at or before
// that point stays. A move starts the change after it afresh (attempts
// from 1, at once). Either way it starts a new generation, so that no
// attempt under way, nor any delivery made but not yet recorded, moves
// the cursor forward again: those changes are sent again too. It is one
// statement, so attempts recorded meanwhile come wholly before or after
// it.
func (s *Store) ReplayWebhook(ctx context.Context, id int, after int64) (webhook.Webhook, error) {
	org, err := organisation(ctx)
	if err != nil {
		return webhook.Webhook{}, err
	}
	if _, err := s.pool.Exec(ctx, `UPDATE webhooks w SET generation = w.generation + 1,
		last_delivered_seq = least(w.last_delivered_seq, greatest($3, o.changes_removed_through)),
		attempts = CASE WHEN greatest($3, o.changes_removed_through) < w.last_delivered_seq THEN 0 ELSE w.attempts END,
		next_attempt_at = CASE WHEN greatest($3, o.changes_removed_through) < w.last_delivered_seq THEN NULL
			ELSE w.next_attempt_at END
		FROM organisations o WHERE o.id = w.organisation_id AND w.id = $1 AND w.organisation_id = $2`,
		id, org, after); err != nil {
		return webhook.Webhook{}, fail(err, "replay webhook %d", id)
	}
	return s.Webhook(ctx, id)
}

// WebhookDeliveries lists a webhook's newest attempts, newest first.
func (s *Store) WebhookDeliveries(ctx context.Context, id, first int) ([]webhook.Delivery, error) {
	org, err := organisation(ctx)
	if err != nil {
		return nil, err
	}
	var deliveries []webhook.Delivery
	err = pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		var one int
		err := tx.QueryRow(ctx, "SELECT 1 FROM webhooks WHERE id = $1 AND organisation_id = $2", id, org).Scan(&one)
		if errors.Is(err, pgx.ErrNoRows) {
			return webhook.NotFound()
		}
		if err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `SELECT id, seq, attempt, at, status_code, error, duration_ms
			FROM webhook_deliveries WHERE webhook_id = $1 ORDER BY id DESC LIMIT $2`, id, first)
		if err != nil {
			return err
		}
		deliveries, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (webhook.Delivery, error) {
			var (
				d  webhook.Delivery
				at time.Time
			)
			err := row.Scan(&d.ID, &d.Seq, &d.Attempt, &at, &d.StatusCode, &d.Error, &d.DurationMs)
			d.At = task.NewDateTime(at)
			return d, err
		})
		return err
	})
	if err != nil {
		return nil, fail(err, "list deliveries of webhook %d", id)
	}
	return deliveries, nil
}

// WebhookStates lists every webhook of every organisation.
func (s *Store) WebhookStates(ctx context.Context) ([]webhook.State, error) {
	rows, err := s.pool.Query(ctx, "SELECT "+webhookColumns+webhookFrom+" ORDER BY w.id")
	if err != nil {
		return nil, fail(err, "list webhooks")
	}
	states, err := scanWebhooks(rows)
	if err != nil {
		return nil, fail(err, "list webhooks")
	}
	return states, nil
}

// WebhookState reads a webhook of any organisation.
func (s *Store) WebhookState(ctx context.Context, id int) (webhook.State, error) {
	st, err := scanWebhook(s.pool.QueryRow(ctx, "SELECT "+webhookColumns+webhookFrom+" WHERE w.id = $1", id))
	if errors.Is(err, pgx.ErrNoRows) {
		return webhook.State{}, webhook.NotFound()
	}
	if err != nil {
		return webhook.State{}, fail(err, "read webhook %d", id)
	}
	return st, nil
}

// foreignKeyViolation is the SQLSTATE of a row that names a missing one:
// an attempt of a webhook deleted meanwhile.
const foreignKeyViolation = "23503"

// RecordAttempt records attempts and moves the webhook on, in one
// transaction: the cursor moves past a change only with the record of the
// attempt that delivered it, so after a crash the change is either
// recorded as delivered or sent again. The webhook moves only while it is
// at generation and, for attempts made under a lease, while their server
// still holds the lease: a server that lost it has been followed by
// another, whose progress is the one that counts. A run of attempts costs
// a few statements whatever its length: one insert of the newest kept,
// one trim, one update (see webhook.OutcomeOf).
func (s *Store) RecordAttempt(ctx context.Context, id int, generation int64, attempts ...webhook.Attempt) (webhook.State, error) {
	if len(attempts) == 0 {
		return s.WebhookState(ctx, id)
	}
	kept, o := webhook.Kept(attempts), webhook.OutcomeOf(attempts)
	holder := attempts[len(attempts)-1].Holder
	var insert strings.Builder
	insert.WriteString("INSERT INTO webhook_deliveries (webhook_id, seq, attempt, at, status_code, error, duration_ms) VALUES ")
	args := make([]any, 0, 1+6*len(kept))
	args = append(args, id)
	for i, a := range kept {
		if i > 0 {
			insert.WriteByte(',')
		}
		n := len(args)
		fmt.Fprintf(&insert, "($1, $%d, $%d, $%d, $%d, $%d, $%d)", n+1, n+2, n+3, n+4, n+5, n+6)
		var status *int
		var reason *string
		if a.StatusCode != 0 {
			status = &a.StatusCode
		}
		if a.Error != "" {
			reason = &a.Error
		}
		args = append(args, a.Seq, a.Number, utcSecond(a.At), status, reason, a.Duration.Milliseconds())
	}
	var seq, next *int64
	var since *time.Time
	if o.Delivered {
		seq = &o.DeliveredSeq
	}
	if !o.NextAttempt.IsZero() {
		ms := o.NextAttempt.UnixMilli()
		next = &ms
	}
	if o.FailingSince != nil {
		at := utcSecond(*o.FailingSince)
		since = &at
	}
	var st webhook.State
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, insert.String(), args...)
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) && pgErr.Code == foreignKeyViolation {
			return webhook.NotFound() // deleted meanwhile: nothing to keep
		}
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM webhook_deliveries WHERE webhook_id = $1 AND id <=
			(SELECT id FROM webhook_deliveries WHERE webhook_id = $1 ORDER BY id DESC OFFSET $2 LIMIT 1)`,
			id, webhook.KeptDeliveries); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE webhooks SET last_delivered_seq = coalesce($4::bigint, last_delivered_seq),
			attempts = $5, next_attempt_at = $6,
			failing_since = CASE WHEN $4::bigint IS NULL THEN coalesce(failing_since, $7) ELSE $7 END,
			enabled = enabled AND NOT $8
			WHERE id = $1 AND generation = $2 AND ($3 = '' OR lease_owner = $3)`,
			id, generation, holder, seq, o.Attempts, next, since, o.Disable); err != nil {
			return err
		}
		st, err = scanWebhook(tx.QueryRow(ctx, "SELECT "+webhookColumns+webhookFrom+" WHERE w.id = $1", id))
		return err
	})
	if err != nil {
		return webhook.State{}, fail(err, "record attempts of webhook %d", id)
	}
	return st, nil
}

// SkipRemovedChanges moves the cursor of a webhook still at generation up
// to the last change its organisation's retention removed, when it is
// behind it.
func (s *Store) SkipRemovedChanges(ctx context.Context, id int, generation int64) (from, to int64, err error) {
	err = s.pool.QueryRow(ctx, `WITH old AS (
			SELECT w.id, w.last_delivered_seq AS from_seq, o.changes_removed_through AS to_seq`+webhookFrom+`
			WHERE w.id = $1 AND w.generation = $2 FOR NO KEY UPDATE OF w
		), moved AS (
			UPDATE webhooks w SET last_delivered_seq = old.to_seq, attempts = 0, next_attempt_at = NULL
			FROM old WHERE w.id = old.id AND old.to_seq > old.from_seq
		)
		SELECT from_seq, to_seq FROM old`, id, generation).Scan(&from, &to)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, 0, nil // deleted or moved meanwhile: it is read again
	}
	if err != nil {
		return 0, 0, fail(err, "skip removed changes of webhook %d", id)
	}
	return from, to, nil
}

// ClaimWebhooks takes, for owner, the enabled webhooks no server holds or
// whose holder let its lease run out, and renews owner's leases that are
// past half their time, each until ttl from now by the database's clock,
// which every server shares; it returns the webhooks owner then holds,
// each for at least half of ttl. Renewing only at half time writes each
// held row every ttl/2 rather than at every claim. The rows are locked in
// id order, so servers claiming at once never deadlock, and a row another
// server claims meanwhile is checked again once that commits: a webhook
// is held by one server, never two.
func (s *Store) ClaimWebhooks(ctx context.Context, owner string, ttl time.Duration) ([]int, error) {
	rows, err := s.pool.Query(ctx, `WITH claimable AS (
			SELECT id FROM webhooks
			WHERE enabled AND (lease_owner IS NULL OR lease_until <= now()
				OR (lease_owner = $1 AND lease_until < now() + $2::float8 * interval '1 second' / 2))
			ORDER BY id FOR NO KEY UPDATE
		), claimed AS (
			UPDATE webhooks w SET lease_owner = $1, lease_until = now() + $2::float8 * interval '1 second'
			FROM claimable c WHERE w.id = c.id
			RETURNING w.id
		)
		SELECT id FROM claimed
		UNION SELECT id FROM webhooks WHERE enabled AND lease_owner = $1 AND lease_until > now()
		ORDER BY id`, owner, ttl.Seconds())
	if err != nil {
		return nil, fail(err, "claim webhooks")
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int])
	if err != nil {
		return nil, fail(err, "claim webhooks")
	}
	return ids, nil
}

// ReleaseWebhooks ends owner's leases, so that other servers take its
// webhooks over at their next claim rather than when the leases run out.
func (s *Store) ReleaseWebhooks(ctx context.Context, owner string) error {
	_, err := s.pool.Exec(ctx, "UPDATE webhooks SET lease_owner = NULL, lease_until = NULL WHERE lease_owner = $1", owner)
	return fail(err, "release the webhooks of %s", owner)
}
