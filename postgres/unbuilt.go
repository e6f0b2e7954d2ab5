package postgres

// Methods not yet built on PostgreSQL. Each is removed from this file as
// it is written in its own file; the file goes when it is empty.

import (
	"context"
	"errors"

	"tasksapi/webhook"
)

var errUnbuilt = errors.New("not built on PostgreSQL yet")


func (s *Store) CreateWebhook(ctx context.Context, w webhook.NewWebhook) (webhook.Webhook, error) {
	return webhook.Webhook{}, errUnbuilt
}
func (s *Store) Webhooks(ctx context.Context) ([]webhook.Webhook, error) { return nil, errUnbuilt }
func (s *Store) Webhook(ctx context.Context, id int) (webhook.Webhook, error) {
	return webhook.Webhook{}, errUnbuilt
}
func (s *Store) DeleteWebhook(ctx context.Context, id int) error { return errUnbuilt }
func (s *Store) EnableWebhook(ctx context.Context, id int) (webhook.Webhook, error) {
	return webhook.Webhook{}, errUnbuilt
}
func (s *Store) ReplayWebhook(ctx context.Context, id int, after int64) (webhook.Webhook, error) {
	return webhook.Webhook{}, errUnbuilt
}
func (s *Store) WebhookDeliveries(ctx context.Context, id, first int) ([]webhook.Delivery, error) {
	return nil, errUnbuilt
}
func (s *Store) WebhookStates(ctx context.Context) ([]webhook.State, error) { return nil, errUnbuilt }
func (s *Store) WebhookState(ctx context.Context, id int) (webhook.State, error) {
	return webhook.State{}, errUnbuilt
}
func (s *Store) RecordAttempt(ctx context.Context, id int, generation int64, a webhook.Attempt) (webhook.State, error) {
	return webhook.State{}, errUnbuilt
}
func (s *Store) SkipRemovedChanges(ctx context.Context, id int, generation int64) (from, to int64, err error) {
	return 0, 0, errUnbuilt
}
