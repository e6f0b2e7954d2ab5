// Package graph serves the GraphQL interface. generated.go is written by
// gqlgen from schema.graphqls and gqlgen.yml (run `go generate ./...` at the
// repository root after changing either); the resolvers are thin calls into
// task.Service, the change feed and webhook.Service.
package graph

import (
	"context"
	"errors"
	"log/slog"

	"github.com/99designs/gqlgen/graphql"

	"tasksapi/feed"
	"tasksapi/idempotency"
	"tasksapi/task"
	"tasksapi/webhook"
)

// Resolver holds the dependencies of every resolver.
type Resolver struct {
	Service task.Service
	Log     *slog.Logger
	Feed    feed.Reader   // the change feed, paged
	Hub     *feed.Hub     // the change feed, followed live
	Streams *feed.Streams // bounds each key's subscriptions
	// WebhookService manages the organisation's webhooks.
	WebhookService *webhook.Service
}

// fail is what a resolver returns for err: a domain error as it is, for
// the error presenter to render; anything else is a fault of ours,
// logged in full and shown to the client only as a fixed message.
//
// A rule's refusal of a mutation sent with an Idempotency-Key is kept for
// the key, as a write's outcome is, so that a repeat is refused alike and
// the key cannot then be spent on another request; faults are not kept,
// so the client can retry them.
func (r *Resolver) fail(ctx context.Context, err error) error {
	switch task.ErrorCode(err) {
	case task.CodeUnavailable:
		r.Log.WarnContext(ctx, "database unavailable", "field", graphql.GetFieldContext(ctx).Path().String(), "err", errors.Unwrap(err))
		return err
	case task.CodeInternal:
	default:
		idempotency.Refused(ctx, err)
		return err
	}
	if ctx.Err() != nil && errors.Is(err, ctx.Err()) {
		// The client has gone or stopped the operation: no fault, and
		// nobody to tell.
		return &task.Error{Code: task.CodeInternal, Message: internalMessage}
	}
	r.Log.ErrorContext(ctx, "graphql resolver failed", "field", graphql.GetFieldContext(ctx).Path().String(), "err", err)
	return &task.Error{Code: task.CodeInternal, Message: internalMessage}
}

// selectsTotal reports whether the query asks for a list's totals, which
// cost a count that a page of items alone does not.
func selectsTotal(ctx context.Context) bool {
	for _, f := range graphql.CollectFieldsCtx(ctx, nil) {
		if f.Name == "totalRecords" || f.Name == "totalPages" || f.Name == "totalCount" {
			return true
		}
	}
	return false
}
