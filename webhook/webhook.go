// Package webhook pushes an organisation's changes to its own HTTP
// endpoints, signed per the Standard Webhooks specification: in feed
// order, at least once, never skipped.
//
// Each webhook keeps a cursor in the store, the seq of the last change it
// delivered (the DESIGN note "Delivery keeps a cursor per reader"). One
// worker per enabled webhook follows the organisation's feed after that
// cursor, posts each change until the endpoint answers 2xx, and moves the
// cursor in the same transaction that records the attempt, so a restart or
// a crash resumes after the last delivered change. Deliveries made back to
// back are recorded together, a few times a second, rather than each
// before the next is sent (see recorder), so that a webhook keeps up with
// more changes than the store commits. A change that fails holds the ones
// after it back, and is tried again on a growing schedule; after a day of
// failing the webhook is disabled until it is enabled again.
//
// Service is what the management interfaces (GraphQL, the command line)
// call; Dispatcher runs the workers.
package webhook

import (
	"context"
	"fmt"
	"time"

	"tasksapi/feed"
	"tasksapi/task"
)

// Webhook is an endpoint of an organisation, as its owners see it: never
// with its secret, which is shown once, at creation.
type Webhook struct {
	ID             int
	OrganisationID int
	URL            string
	Description    *string
	// Enabled is false once the webhook has failed for FailingWindow;
	// Enable turns it on again.
	Enabled bool
	// LastDeliveredSeq is the cursor: every change of the organisation up
	// to it has been delivered, and delivery goes on after it.
	LastDeliveredSeq int64
	// FailingSince is when the first failed attempt since the last
	// delivery was made; nil while deliveries succeed.
	FailingSince *task.DateTime
	CreatedAt    task.DateTime
}

// Created is a new webhook and its signing secret, the only time the
// secret is shown.
type Created struct {
	Webhook Webhook
	Secret  string
}

// Delivery is one attempt to deliver one change.
type Delivery struct {
	ID  int
	Seq int64
	// Attempt counts the attempts of one change from 1; it starts again
	// at 1 when the webhook is enabled again or replayed.
	Attempt int
	At      task.DateTime
	// StatusCode is the endpoint's answer; nil when none came (refused,
	// unreachable, timed out).
	StatusCode *int
	// Error says why the attempt failed; nil when it delivered.
	Error      *string
	DurationMs int
}

// State is what delivering to a webhook needs of it.
type State struct {
	Webhook
	// Organisation is the organisation's name, for listings.
	Organisation string
	Secret       string
	// Attempts is how many attempts the change after the cursor has had.
	Attempts int
	// NextAttempt is when that change is due again; zero: at once.
	NextAttempt time.Time
	// Generation grows whenever the cursor is moved other than by a
	// delivery (Enable, Replay): an attempt made under an older
	// generation is recorded but moves nothing.
	Generation int64
}

// Attempt is the outcome of one attempt, to be recorded.
type Attempt struct {
	Seq      int64
	Number   int
	At       time.Time
	Duration time.Duration
	// StatusCode is the endpoint's answer, 0 when none came.
	StatusCode int
	// Error says why the attempt failed; empty when it delivered.
	Error string
	// For a failed attempt: when to try the change again, and whether
	// the webhook has failed long enough to be disabled.
	NextAttempt time.Time
	Disable     bool
	// Holder is the server that made the attempt under its lease (see
	// Store.ClaimWebhooks); the attempt moves the webhook on only while
	// that server still holds it. Empty: made under no lease, as by one
	// server alone.
	Holder string
}

// Delivered reports whether the attempt delivered its change.
func (a Attempt) Delivered() bool { return a.Error == "" }

// Outcome is where a run of attempts of one webhook, in the order they
// were made, leaves it: what Store.RecordAttempt writes, in one update.
type Outcome struct {
	// Delivered is whether any of them delivered its change: the cursor
	// moves to DeliveredSeq, the last of those, and FailingSince is set to
	// FailingSince, nil when no failure followed it.
	Delivered    bool
	DeliveredSeq int64
	// Attempts and NextAttempt are those of the change after the cursor:
	// the last attempt's number and schedule when it failed, 0 and zero
	// when it delivered.
	Attempts    int
	NextAttempt time.Time
	// FailingSince is when the first failure after the last delivery was
	// made (of all of them when none delivered: a webhook already failing
	// keeps its own); nil when none failed after it.
	FailingSince *time.Time
	// Disable is whether any failure was told to disable the webhook.
	Disable bool
}

// OutcomeOf sums up attempts, in the order made; there must be at least
// one.
func OutcomeOf(attempts []Attempt) Outcome {
	var o Outcome
	for _, a := range attempts {
		if a.Delivered() {
			o.Delivered, o.DeliveredSeq = true, a.Seq
			o.Attempts, o.NextAttempt, o.FailingSince = 0, time.Time{}, nil
			continue
		}
		o.Attempts, o.NextAttempt = a.Number, a.NextAttempt
		if o.FailingSince == nil {
			at := a.At
			o.FailingSince = &at
		}
		o.Disable = o.Disable || a.Disable
	}
	return o
}

// Kept is the newest KeptDeliveries of attempts: a store need not write
// those it would remove at once.
func Kept(attempts []Attempt) []Attempt {
	return attempts[max(0, len(attempts)-KeptDeliveries):]
}

// NewWebhook is a checked webhook to store.
type NewWebhook struct {
	URL         string
	Description *string
	Secret      string
}

// Limits.
const (
	// MaxPerOrganisation is how many webhooks an organisation may have.
	MaxPerOrganisation = 20
	// KeptDeliveries is how many of its newest attempts each webhook
	// keeps.
	KeptDeliveries = 100
	// DefaultDeliveries is how many attempts Deliveries lists when not
	// told.
	DefaultDeliveries = 20
	// MaxURLLength and MaxDescriptionLength bound what a webhook stores.
	MaxURLLength         = 2048
	MaxDescriptionLength = 1000
)

// Store keeps webhooks and their delivery attempts. The methods that take
// a context without naming an organisation act for the organisation of the
// principal in it (see package access), and answer a webhook of another
// organisation as missing: NotFound.
type Store interface {
	// Reader reads the organisation's feed, which workers follow.
	feed.Reader

	// CreateWebhook stores a webhook that starts at the organisation's
	// head: it is sent the changes recorded after it. It refuses one more
	// than MaxPerOrganisation with TooMany.
	CreateWebhook(ctx context.Context, w NewWebhook) (Webhook, error)
	// Webhooks lists the organisation's webhooks, oldest first.
	Webhooks(ctx context.Context) ([]Webhook, error)
	Webhook(ctx context.Context, id int) (Webhook, error)
	// DeleteWebhook removes a webhook and its attempts.
	DeleteWebhook(ctx context.Context, id int) error
	// EnableWebhook turns a disabled webhook on, to try the first change
	// not delivered at once; an enabled one is left as it is.
	EnableWebhook(ctx context.Context, id int) (Webhook, error)
	// ReplayWebhook moves the cursor back to after (or to the oldest
	// change kept, when changes after it are gone), so that every kept
	// change after it is sent again. A cursor at or before after is left
	// as it is.
	ReplayWebhook(ctx context.Context, id int, after int64) (Webhook, error)
	// WebhookDeliveries lists a webhook's newest attempts, newest first,
	// at most first of them.
	WebhookDeliveries(ctx context.Context, id, first int) ([]Delivery, error)

	// WebhookStates lists every webhook of every organisation.
	WebhookStates(ctx context.Context) ([]State, error)
	// WebhookState reads a webhook of any organisation.
	WebhookState(ctx context.Context, id int) (State, error)
	// RecordAttempt records attempts, in the order they were made, in one
	// transaction, keeping the webhook's newest KeptDeliveries, and, if
	// the webhook is still at generation (and still held by the
	// attempts' Holder, when set), moves it on as each would in turn: past
	// a change delivered, to the next attempt after a failure (setting
	// FailingSince, and disabling it if told); OutcomeOf says where they
	// leave it. It returns the webhook as it now is. The attempts share
	// one generation and one Holder.
	RecordAttempt(ctx context.Context, id int, generation int64, attempts ...Attempt) (State, error)
	// SkipRemovedChanges moves the cursor of a webhook still at
	// generation past the changes that retention removed before they were
	// delivered, and says from where to where.
	SkipRemovedChanges(ctx context.Context, id int, generation int64) (from, to int64, err error)

	// ClaimWebhooks leases enabled webhooks to owner, one server of those
	// sharing the store, so that each webhook is delivered by one server
	// at a time: it takes those no server holds or whose lease ran out,
	// renews owner's own, and returns the ids of those owner holds, each
	// for at least ttl/2 from the call (a store with one server grants
	// it every enabled webhook).
	ClaimWebhooks(ctx context.Context, owner string, ttl time.Duration) ([]int, error)
	// ReleaseWebhooks ends owner's leases, for other servers to take at
	// once.
	ReleaseWebhooks(ctx context.Context, owner string) error
}

// NotFound is the error for a missing webhook, or one of another
// organisation.
func NotFound() *task.Error {
	return &task.Error{Code: task.CodeNotFound, Message: "Webhook not found"}
}

// TooMany is the error for one webhook more than an organisation may have.
func TooMany() *task.Error {
	return &task.Error{Code: task.CodeInvalid, Fields: []task.FieldError{{
		Message: fmt.Sprintf("An organisation has at most %d webhooks: delete one to add another", MaxPerOrganisation)}}}
}
