package webhook

import (
	"context"
	"fmt"
	"unicode/utf8"

	"tasksapi/feed"
	"tasksapi/task"
)

// Service manages an organisation's webhooks: every method acts for the
// organisation of the principal in its context (see package access), and
// answers a webhook of another organisation as missing (NotFound). Bad
// input is an error of code task.CodeInvalid naming the field.
type Service struct {
	store        Store
	allowPrivate bool
	dispatcher   *Dispatcher
}

// NewService returns the management of the webhooks in store. With
// allowPrivate, URLs may name private addresses. d, when not nil, learns
// of each change at once; without it, a running dispatcher finds them
// within its ReloadEvery.
func NewService(store Store, allowPrivate bool, d *Dispatcher) *Service {
	return &Service{store: store, allowPrivate: allowPrivate, dispatcher: d}
}

// CreateInput is a webhook as a client asks for it.
type CreateInput struct {
	URL         string
	Description *string
}

// Create checks in and stores a new webhook with a new secret. It is sent
// the organisation's changes recorded after it was created.
func (s *Service) Create(ctx context.Context, in CreateInput) (Created, error) {
	u, err := checkURL(ctx, in.URL, s.allowPrivate)
	if err != nil {
		return Created{}, err
	}
	if in.Description != nil && utf8.RuneCountInString(*in.Description) > MaxDescriptionLength {
		return Created{}, task.Invalid("description", fmt.Sprintf("must be at most %d characters", MaxDescriptionLength))
	}
	secret := NewSecret()
	w, err := s.store.CreateWebhook(ctx, NewWebhook{URL: u, Description: in.Description, Secret: secret})
	if err != nil {
		return Created{}, err
	}
	s.changed()
	return Created{Webhook: w, Secret: secret}, nil
}

// List returns the organisation's webhooks, oldest first.
func (s *Service) List(ctx context.Context) ([]Webhook, error) {
	return s.store.Webhooks(ctx)
}

// Webhook returns one of the organisation's webhooks.
func (s *Service) Webhook(ctx context.Context, id int) (Webhook, error) {
	return s.store.Webhook(ctx, id)
}

// Deliveries returns a webhook's newest attempts, newest first: first of
// them (DefaultDeliveries when nil; more than KeptDeliveries is served as
// KeptDeliveries, all there are).
func (s *Service) Deliveries(ctx context.Context, id int, first *int) ([]Delivery, error) {
	n := DefaultDeliveries
	if first != nil {
		if *first < 1 {
			return nil, task.Invalid("first", "must be at least 1")
		}
		n = min(*first, KeptDeliveries)
	}
	return s.store.WebhookDeliveries(ctx, id, n)
}

// Delete removes a webhook and its attempts. An attempt under way ends
// as it will, and none follows.
func (s *Service) Delete(ctx context.Context, id int) error {
	if err := s.store.DeleteWebhook(ctx, id); err != nil {
		return err
	}
	s.changed()
	return nil
}

// Enable turns a disabled webhook on: it tries the first change not
// delivered at once, with the retry schedule from its start. An enabled
// webhook is returned as it is.
func (s *Service) Enable(ctx context.Context, id int) (Webhook, error) {
	w, err := s.store.EnableWebhook(ctx, id)
	if err != nil {
		return Webhook{}, err
	}
	s.changed()
	return w, nil
}

// Replay sends again every kept change after the seq after, in order, and
// then goes on as before. A webhook that has not yet delivered past after
// is left as it is; a disabled one stays disabled, and sends them when
// enabled.
func (s *Service) Replay(ctx context.Context, id int, after int64) (Webhook, error) {
	if after < 0 || after > feed.MaxSeq {
		return Webhook{}, task.Invalid("after", "must be a seq: an integer from 0 to 2^53 - 1")
	}
	w, err := s.store.ReplayWebhook(ctx, id, after)
	if err != nil {
		return Webhook{}, err
	}
	s.changed()
	return w, nil
}

// changed tells the dispatcher that a webhook changed.
func (s *Service) changed() {
	if s.dispatcher != nil {
		s.dispatcher.Reload()
	}
}
