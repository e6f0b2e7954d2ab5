package graph

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/handler"
	"github.com/99designs/gqlgen/graphql/handler/extension"
	"github.com/99designs/gqlgen/graphql/handler/lru"
	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"tasksapi/access"
	"tasksapi/task"
)

// Error codes in extensions.code.
const (
	codeBadUserInput    = "BAD_USER_INPUT"
	codeNotFound        = "NOT_FOUND"
	codeUnauthenticated = "UNAUTHENTICATED"
	codeRateLimited     = "RATE_LIMITED"
	codeInternal        = "INTERNAL_SERVER_ERROR"
)

// internalMessage is all a client learns of a fault; the detail is logged.
const internalMessage = "internal server error"

// Limits bound what one GraphQL request may cost.
type Limits struct {
	MaxComplexity int // fields, with each task counted once per task of the page
	MaxDepth      int // nesting of selections, introspection included
}

// DefaultLimits let a full page of 100 tasks with every field through, and
// the playground's own schema query.
var DefaultLimits = Limits{MaxComplexity: 2500, MaxDepth: 15}

// NewHandler returns the GraphQL endpoint over svc: queries by GET and
// POST, mutations by POST only. guard admits each request.
func NewHandler(svc task.Service, guard *access.Guard, limits Limits, log *slog.Logger) http.Handler {
	cfg := Config{Resolvers: &Resolver{Service: svc, Log: log}}
	cfg.Complexity.Query.Tasks = func(child int, _ *task.Filter, pageSize *int, _ *int, _ *task.SortField, _ *task.SortOrder) int {
		return 1 + pageCost(pageSize, child)
	}
	cfg.Complexity.Query.TasksConnection = func(child int, _ *task.Filter, first *int, _ *string, _ *task.SortField, _ *task.SortOrder) int {
		return 1 + pageCost(first, child)
	}
	srv := handler.New(NewExecutableSchema(cfg))
	srv.AddTransport(transport.GET{})
	srv.AddTransport(transport.POST{})
	srv.SetQueryCache(lru.New[*ast.QueryDocument](1000))
	srv.SetDisableSuggestion(true)
	srv.SetParserTokenLimit(maxTokens)
	srv.Use(sizeLimit{})
	srv.Use(extension.Introspection{})
	srv.Use(extension.AutomaticPersistedQuery{Cache: lru.New[string](1000)})
	srv.Use(extension.FixedComplexityLimit(limits.MaxComplexity))
	srv.Use(depthLimit{max: limits.MaxDepth})

	srv.SetRecoverFunc(func(ctx context.Context, p any) error {
		log.ErrorContext(ctx, "graphql panic", "panic", p)
		return &task.Error{Code: task.CodeInternal, Message: internalMessage}
	})
	srv.SetErrorPresenter(presentError)

	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, err := guard.Admit(r, w.Header())
		if err != nil {
			writeRefusal(w, err)
			return
		}
		// Read the body here, so that one over the limit is a 413 rather
		// than gqlgen's generic read error.
		body, err := io.ReadAll(r.Body)
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			WriteError(w, http.StatusRequestEntityTooLarge, "PAYLOAD_TOO_LARGE", "Request body must be at most 1 MiB")
			return
		}
		// gqlgen decodes the first JSON value and ignores anything after it.
		if len(body) > 0 && !json.Valid(body) {
			WriteError(w, http.StatusBadRequest, "BAD_REQUEST", "the request body is not valid JSON")
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		srv.ServeHTTP(w, r.WithContext(ctx))
	})
}

// pageCost counts a page's selection once per task it can hold.
func pageCost(size *int, child int) int {
	n := task.DefaultPageSize
	if size != nil {
		n = max(1, min(*size, task.MaxPageSize))
	}
	return n * child
}

// writeRefusal answers a request the guard did not admit: the HTTP status
// says why, and the body is a GraphQL error with the matching code.
func writeRefusal(w http.ResponseWriter, err error) {
	var te *task.Error
	errors.As(err, &te)
	switch task.ErrorCode(err) {
	case task.CodeUnauthenticated:
		WriteError(w, http.StatusUnauthorized, codeUnauthenticated, te.Message)
	case task.CodeRateLimited:
		w.Header().Set("Retry-After", access.RetryAfterSeconds(te.RetryAfter))
		WriteError(w, http.StatusTooManyRequests, codeRateLimited, te.Message)
	default:
		WriteError(w, http.StatusInternalServerError, codeInternal, internalMessage)
	}
}

// WriteError answers with one GraphQL error and no data, for requests
// refused before they reach the executor.
func WriteError(w http.ResponseWriter, status int, code, message string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(graphql.Response{Errors: gqlerror.List{{
		Message: message, Extensions: map[string]any{"code": code},
	}}})
}

// presentError gives a domain error its GraphQL form. Errors of GraphQL
// itself (syntax, validation, coercion of built-in types) pass unchanged.
func presentError(ctx context.Context, err error) *gqlerror.Error {
	gqlErr := graphql.DefaultErrorPresenter(ctx, err)
	var te *task.Error
	if !errors.As(err, &te) {
		// gqlgen quotes a body that is not JSON back in its message.
		if strings.HasPrefix(gqlErr.Message, "json request body could not be decoded") {
			gqlErr.Message = "the request body is not valid JSON"
		}
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
