package graph

import (
	"log/slog"
	"net/http"

	"github.com/vektah/gqlparser/v2/ast"

	"tasksapi/access"
	"tasksapi/idempotency"
	"tasksapi/task"
)

// NewGqlgenHandler is NewHandler with no planned reads: gqlgen executes
// every field, the answer the plans are held to.
func NewGqlgenHandler(svc task.Service, guard *access.Guard, keeper *idempotency.Keeper, limits Limits, log *slog.Logger) http.Handler {
	return newHandler(svc, guard, keeper, limits, log, nil)
}

// NewNotingHandler is NewHandler that calls planned with the name of each
// root field a plan answers.
func NewNotingHandler(svc task.Service, guard *access.Guard, keeper *idempotency.Keeper, limits Limits, log *slog.Logger,
	planned func(field string),
) http.Handler {
	return newHandler(svc, guard, keeper, limits, log, &planReads{planned: planned})
}

// Schema is the parsed schema the server serves.
func Schema() *ast.Schema { return NewExecutableSchema(Config{}).Schema() }
