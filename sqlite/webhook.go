package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"tasksapi/task"
	"tasksapi/webhook"
)

var _ webhook.Store = (*Store)(nil)

// Webhook writes go through the writer like task writes, but tell the
// feed's hub nothing (organisation 0 to commit): they record no change.

// webhookColumns is the select list scanWebhook reads, from webhooks w
// joined with organisations o.
const webhookColumns = `w.id, w.organisation_id, o.name, w.url, w.description, w.secret, w.enabled,
	w.last_delivered_seq, w.attempts, w.next_attempt_at, w.failing_since, w.generation, w.created_at`

const webhookFrom = ` FROM webhooks w JOIN organisations o ON o.id = w.organisation_id`

func scanWebhook(row scanner) (webhook.State, error) {
	var (
		st           webhook.State
		description  sql.NullString
		nextAttempt  sql.NullInt64
		failingSince sql.NullString
		created      string
	)
	err := row.Scan(&st.ID, &st.OrganisationID, &st.Organisation, &st.URL, &description, &st.Secret, &st.Enabled,
		&st.LastDeliveredSeq, &st.Attempts, &nextAttempt, &failingSince, &st.Generation, &created)
	if err != nil {
		return st, err
	}
	if description.Valid {
		st.Description = &description.String
	}
	if nextAttempt.Valid {
		st.NextAttempt = time.UnixMilli(nextAttempt.Int64).UTC()
	}
	if failingSince.Valid {
		d, err := task.ParseDateTime(failingSince.String)
		if err != nil {
			return st, fmt.Errorf("webhook %d failing_since: %w", st.ID, err)
		}
		st.FailingSince = &d
	}
	if st.CreatedAt, err = task.ParseDateTime(created); err != nil {
		return st, fmt.Errorf("webhook %d created_at: %w", st.ID, err)
	}
	return st, nil
}

// CreateWebhook stores a webhook of the organisation in ctx, starting at
// its head: the newest seq of its changes, or of those retention removed
// when none are left. The count and the insert are one transaction of the
// writer, so concurrent creates cannot pass the limit together.
func (s *Store) CreateWebhook(ctx context.Context, in webhook.NewWebhook) (webhook.Webhook, error) {
	org, err := organisation(ctx)
	if err != nil {
		return webhook.Webhook{}, err
	}
	now := stamp(s.Now())
	var id int64
	err = s.commit(ctx, 0, func(ctx context.Context, tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM webhooks WHERE organisation_id = "+bound, org).Scan(&n); err != nil {
			return err
		}
		if n >= webhook.MaxPerOrganisation {
			return webhook.TooMany()
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO webhooks (organisation_id, url, description, secret, last_delivered_seq, created_at)
			SELECT ?1, ?2, ?3, ?4, max(o.changes_removed_through,
				(SELECT coalesce(max(seq), 0) FROM task_changes WHERE organisation_id = +?1)), ?5
			FROM organisations o WHERE o.id = +?1`, org, in.URL, in.Description, in.Secret, now)
		if err != nil {
			return err
		}
		id, err = res.LastInsertId()
		return err
	})
	if err != nil {
		return webhook.Webhook{}, refusalOr(err, "create webhook")
	}
	return s.Webhook(ctx, int(id))
}

// Webhooks lists the organisation's webhooks, oldest first.
func (s *Store) Webhooks(ctx context.Context) ([]webhook.Webhook, error) {
	org, err := organisation(ctx)
	if err != nil {
		return nil, err
	}
	rows, err := s.read.QueryContext(ctx, "SELECT "+webhookColumns+webhookFrom+
		" WHERE w.organisation_id = "+bound+" ORDER BY w.id", org)
	if err != nil {
		return nil, fmt.Errorf("list webhooks: %w", err)
	}
	states, err := scanWebhooks(rows)
	if err != nil {
		return nil, fmt.Errorf("list webhooks: %w", err)
	}
	hooks := make([]webhook.Webhook, len(states))
	for i, st := range states {
		hooks[i] = st.Webhook
	}
	return hooks, nil
}

func scanWebhooks(rows *sql.Rows) ([]webhook.State, error) {
	defer rows.Close()
	var states []webhook.State
	for rows.Next() {
		st, err := scanWebhook(rows)
		if err != nil {
			return nil, err
		}
		states = append(states, st)
	}
	return states, rows.Err()
}

// Webhook returns a webhook of the organisation.
func (s *Store) Webhook(ctx context.Context, id int) (webhook.Webhook, error) {
	org, err := organisation(ctx)
	if err != nil {
		return webhook.Webhook{}, err
	}
	st, err := scanWebhook(s.read.QueryRowContext(ctx, "SELECT "+webhookColumns+webhookFrom+
		" WHERE w.id = "+bound+" AND w.organisation_id = "+bound, id, org))
	if errors.Is(err, sql.ErrNoRows) {
		return webhook.Webhook{}, webhook.NotFound()
	}
	if err != nil {
		return webhook.Webhook{}, fmt.Errorf("read webhook %d: %w", id, err)
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
	err = s.commit(ctx, 0, func(ctx context.Context, tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, "DELETE FROM webhooks WHERE id = "+bound+" AND organisation_id = "+bound, id, org)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err == nil && n == 0 {
			return webhook.NotFound()
		}
		return err
	})
	if err != nil {
		return refusalOr(err, "delete webhook %d", id)
	}
	return nil
}

// EnableWebhook turns a disabled webhook of the organisation on, from its
// cursor, at once, with its attempts counted afresh.
func (s *Store) EnableWebhook(ctx context.Context, id int) (webhook.Webhook, error) {
	org, err := organisation(ctx)
	if err != nil {
		return webhook.Webhook{}, err
	}
	err = s.commit(ctx, 0, func(ctx context.Context, tx *sql.Tx) error {
		if err := ownWebhook(ctx, tx, org, id); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `UPDATE webhooks SET enabled = 1, failing_since = NULL, attempts = 0,
			next_attempt_at = NULL, generation = generation + 1 WHERE id = `+bound+` AND enabled = 0`, id)
		return err
	})
	if err != nil {
		return webhook.Webhook{}, refusalOr(err, "enable webhook %d", id)
	}
	return s.Webhook(ctx, id)
}

// ownWebhook refuses, as missing, a webhook that is not the organisation's.
func ownWebhook(ctx context.Context, tx *sql.Tx, org, id int) error {
	var one int
	err := tx.QueryRowContext(ctx, "SELECT 1 FROM webhooks WHERE id = "+bound+" AND organisation_id = "+bound, id, org).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return webhook.NotFound()
	}
	return err
}

// ReplayWebhook moves a webhook's cursor back to after, or to the oldest
// change kept when changes after after are gone; a cursor at or before
// that point stays. A move starts the change after it afresh (attempts
// from 1, at once). Either way it starts a new generation, so that no
// attempt under way, nor any delivery made but not yet recorded, moves
// the cursor forward again: those changes are sent again too.
func (s *Store) ReplayWebhook(ctx context.Context, id int, after int64) (webhook.Webhook, error) {
	org, err := organisation(ctx)
	if err != nil {
		return webhook.Webhook{}, err
	}
	err = s.commit(ctx, 0, func(ctx context.Context, tx *sql.Tx) error {
		var cursor, removedThrough int64
		err := tx.QueryRowContext(ctx, `SELECT w.last_delivered_seq, o.changes_removed_through`+webhookFrom+
			` WHERE w.id = `+bound+` AND w.organisation_id = `+bound, id, org).Scan(&cursor, &removedThrough)
		if errors.Is(err, sql.ErrNoRows) {
			return webhook.NotFound()
		}
		if err != nil {
			return err
		}
		point := max(after, removedThrough)
		if point >= cursor {
			_, err = tx.ExecContext(ctx, `UPDATE webhooks SET generation = generation + 1 WHERE id = `+bound, id)
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE webhooks SET last_delivered_seq = ?, attempts = 0, next_attempt_at = NULL,
			generation = generation + 1 WHERE id = `+bound, point, id)
		return err
	})
	if err != nil {
		return webhook.Webhook{}, refusalOr(err, "replay webhook %d", id)
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
	err = inTx(ctx, s.read, func(tx *sql.Tx) error {
		if err := ownWebhook(ctx, tx, org, id); err != nil {
			return err
		}
		rows, err := tx.QueryContext(ctx, `SELECT id, seq, attempt, at, status_code, error, duration_ms
			FROM webhook_deliveries WHERE webhook_id = `+bound+` ORDER BY id DESC`+limitClause(first), id)
		if err != nil {
			return err
		}
		defer rows.Close()
		deliveries = make([]webhook.Delivery, 0, first)
		for rows.Next() {
			var (
				d      webhook.Delivery
				at     string
				status sql.NullInt64
				reason sql.NullString
			)
			if err := rows.Scan(&d.ID, &d.Seq, &d.Attempt, &at, &status, &reason, &d.DurationMs); err != nil {
				return err
			}
			if d.At, err = task.ParseDateTime(at); err != nil {
				return fmt.Errorf("delivery %d at: %w", d.ID, err)
			}
			if status.Valid {
				code := int(status.Int64)
				d.StatusCode = &code
			}
			if reason.Valid {
				d.Error = &reason.String
			}
			deliveries = append(deliveries, d)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, refusalOr(err, "list deliveries of webhook %d", id)
	}
	return deliveries, nil
}

// WebhookStates lists every webhook of every organisation.
func (s *Store) WebhookStates(ctx context.Context) ([]webhook.State, error) {
	rows, err := s.read.QueryContext(ctx, "SELECT "+webhookColumns+webhookFrom+" ORDER BY w.id")
	if err != nil {
		return nil, fmt.Errorf("list webhooks: %w", err)
	}
	states, err := scanWebhooks(rows)
	if err != nil {
		return nil, fmt.Errorf("list webhooks: %w", err)
	}
	return states, nil
}

// WebhookState reads a webhook of any organisation.
func (s *Store) WebhookState(ctx context.Context, id int) (webhook.State, error) {
	st, err := scanWebhook(s.read.QueryRowContext(ctx, "SELECT "+webhookColumns+webhookFrom+" WHERE w.id = "+bound, id))
	if errors.Is(err, sql.ErrNoRows) {
		return webhook.State{}, webhook.NotFound()
	}
	if err != nil {
		return webhook.State{}, fmt.Errorf("read webhook %d: %w", id, err)
	}
	return st, nil
}

// RecordAttempt records attempts and moves the webhook on, in one
// transaction: the cursor moves past a change only with the record of the
// attempt that delivered it, so after a crash the change is either
// recorded as delivered or sent again. A run of attempts costs a few
// statements whatever its length: one insert of the newest kept, one trim,
// one update (see webhook.OutcomeOf).
func (s *Store) RecordAttempt(ctx context.Context, id int, generation int64, attempts ...webhook.Attempt) (webhook.State, error) {
	if len(attempts) == 0 {
		return s.WebhookState(ctx, id)
	}
	kept, o := webhook.Kept(attempts), webhook.OutcomeOf(attempts)
	insert := make([]byte, 0, 100+16*len(kept))
	insert = append(insert, "INSERT INTO webhook_deliveries (webhook_id, seq, attempt, at, status_code, error, duration_ms) VALUES "...)
	args := make([]any, 0, 7*len(kept))
	for i, a := range kept {
		if i > 0 {
			insert = append(insert, ',')
		}
		insert = append(insert, "(?, ?, ?, ?, ?, ?, ?)"...)
		var status, reason any
		if a.StatusCode != 0 {
			status = a.StatusCode
		}
		if a.Error != "" {
			reason = a.Error
		}
		args = append(args, id, a.Seq, a.Number, stamp(a.At), status, reason, a.Duration.Milliseconds())
	}
	var st webhook.State
	err := s.commit(ctx, 0, func(ctx context.Context, tx *sql.Tx) error {
		var current int64
		err := tx.QueryRowContext(ctx, "SELECT generation FROM webhooks WHERE id = "+bound, id).Scan(&current)
		if errors.Is(err, sql.ErrNoRows) {
			return webhook.NotFound() // deleted meanwhile: nothing to keep
		}
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, string(insert), args...); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM webhook_deliveries WHERE webhook_id = `+bound+` AND id <=
			(SELECT id FROM webhook_deliveries WHERE webhook_id = `+bound+` ORDER BY id DESC LIMIT 1 OFFSET `+
			fmt.Sprint(webhook.KeptDeliveries)+`)`, id, id); err != nil {
			return err
		}
		if current == generation {
			var seq, next, since any
			if o.Delivered {
				seq = o.DeliveredSeq
			}
			if !o.NextAttempt.IsZero() {
				next = o.NextAttempt.UnixMilli()
			}
			if o.FailingSince != nil {
				since = stamp(*o.FailingSince)
			}
			if _, err := tx.ExecContext(ctx, `UPDATE webhooks SET last_delivered_seq = coalesce(?1, last_delivered_seq),
				attempts = ?2, next_attempt_at = ?3,
				failing_since = CASE WHEN ?1 IS NULL THEN coalesce(failing_since, ?4) ELSE ?4 END,
				enabled = enabled AND NOT ?5 WHERE id = ?6`, seq, o.Attempts, next, since, o.Disable, id); err != nil {
				return err
			}
		}
		st, err = scanWebhook(tx.QueryRowContext(ctx, "SELECT "+webhookColumns+webhookFrom+" WHERE w.id = "+bound, id))
		return err
	})
	if err != nil {
		return webhook.State{}, refusalOr(err, "record attempts of webhook %d", id)
	}
	return st, nil
}

// SkipRemovedChanges moves the cursor of a webhook still at generation up
// to the last change its organisation's retention removed, when it is
// behind it.
func (s *Store) SkipRemovedChanges(ctx context.Context, id int, generation int64) (from, to int64, err error) {
	err = s.commit(ctx, 0, func(ctx context.Context, tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, `SELECT w.last_delivered_seq, o.changes_removed_through`+webhookFrom+
			` WHERE w.id = `+bound+` AND w.generation = `+bound, id, generation).Scan(&from, &to)
		if errors.Is(err, sql.ErrNoRows) {
			from, to = 0, 0
			return nil // deleted or moved meanwhile: it is read again
		}
		if err != nil || to <= from {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE webhooks SET last_delivered_seq = ?, attempts = 0, next_attempt_at = NULL
			WHERE id = `+bound, to, id)
		return err
	})
	if err != nil {
		return 0, 0, refusalOr(err, "skip removed changes of webhook %d", id)
	}
	return from, to, nil
}

// ClaimWebhooks grants owner every enabled webhook: a SQLite file has one
// server, so there is no other to share them with, and no lease to keep.
func (s *Store) ClaimWebhooks(ctx context.Context, owner string, ttl time.Duration) ([]int, error) {
	rows, err := s.read.QueryContext(ctx, "SELECT id FROM webhooks WHERE enabled ORDER BY id")
	if err != nil {
		return nil, fmt.Errorf("claim webhooks: %w", err)
	}
	defer rows.Close()
	var ids []int
	for rows.Next() {
		var id int
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("claim webhooks: %w", err)
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// ReleaseWebhooks has nothing to release: see ClaimWebhooks.
func (s *Store) ReleaseWebhooks(ctx context.Context, owner string) error { return nil }
