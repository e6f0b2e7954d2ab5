package graph

import (
	"context"
	"errors"
	"log/slog"
	"net/http"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/handler"
	"github.com/99designs/gqlgen/graphql/handler/extension"
	"github.com/99designs/gqlgen/graphql/handler/lru"
	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"tasksapi/task"
)

// Error codes in extensions.code.
const (
	codeBadUserInput = "BAD_USER_INPUT"
	codeNotFound     = "NOT_FOUND"
	codeInternal     = "INTERNAL_SERVER_ERROR"
)

// internalMessage is all a client learns of a fault; the detail is logged.
const internalMessage = "internal server error"

// NewHandler returns the GraphQL endpoint over svc: queries by GET and
// POST, mutations by POST only.
func NewHandler(svc task.Service, log *slog.Logger) http.Handler {
	srv := handler.New(NewExecutableSchema(Config{Resolvers: &Resolver{Service: svc}}))
	srv.AddTransport(transport.GET{})
	srv.AddTransport(transport.POST{})
	srv.SetQueryCache(lru.New[*ast.QueryDocument](1000))
	srv.Use(extension.Introspection{})
	srv.Use(extension.AutomaticPersistedQuery{Cache: lru.New[string](1000)})

	// A resolver's untyped error is a fault of ours: log it, show nothing.
	srv.AroundFields(func(ctx context.Context, next graphql.Resolver) (any, error) {
		res, err := next(ctx)
		if err != nil && task.ErrorCode(err) == task.CodeInternal {
			log.ErrorContext(ctx, "graphql resolver failed",
				"field", graphql.GetFieldContext(ctx).Path().String(), "err", err)
			return res, &task.Error{Code: task.CodeInternal, Message: internalMessage}
		}
		return res, err
	})
	srv.SetRecoverFunc(func(ctx context.Context, p any) error {
		log.ErrorContext(ctx, "graphql panic", "panic", p)
		return &task.Error{Code: task.CodeInternal, Message: internalMessage}
	})
	srv.SetErrorPresenter(presentError)
	return srv
}

// presentError gives a domain error its GraphQL form. Errors of GraphQL
// itself (syntax, validation, coercion of built-in types) pass unchanged.
func presentError(ctx context.Context, err error) *gqlerror.Error {
	gqlErr := graphql.DefaultErrorPresenter(ctx, err)
	var te *task.Error
	if !errors.As(err, &te) {
		return gqlErr
	}
	switch te.Code {
	case task.CodeInvalid:
		fields := map[string][]string{}
		for i, f := range te.Fields {
			if f.Field == "" { // a scalar's error: the field is where it was found
				f.Field = lastFieldName(gqlErr.Path)
			}
			msg := f.Text(func(name string) string { return name })
			if i == 0 {
				gqlErr.Message = msg
			}
			fields[f.Field] = append(fields[f.Field], msg)
		}
		gqlErr.Extensions = map[string]any{"code": codeBadUserInput, "fields": fields}
	case task.CodeNotFound:
		gqlErr.Message = te.Message
		gqlErr.Extensions = map[string]any{"code": codeNotFound}
	default:
		gqlErr.Message = internalMessage
		gqlErr.Extensions = map[string]any{"code": codeInternal}
	}
	return gqlErr
}

func lastFieldName(path ast.Path) string {
	for i := len(path) - 1; i >= 0; i-- {
		if name, ok := path[i].(ast.PathName); ok {
			return string(name)
		}
	}
	return "input"
}
