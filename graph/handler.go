package graph

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/handler"
	"github.com/99designs/gqlgen/graphql/handler/extension"
	"github.com/99designs/gqlgen/graphql/handler/lru"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"tasksapi/access"
	"tasksapi/idempotency"
	"tasksapi/observe"
	"tasksapi/task"
)

// Error codes in extensions.code.
const (
	codeBadUserInput    = "BAD_USER_INPUT"
	codeNotFound        = "NOT_FOUND"
	codeVersionConflict = "VERSION_CONFLICT"
	codeUnauthenticated = "UNAUTHENTICATED"
	codeRateLimited     = "RATE_LIMITED"
	codeKeyReused       = "IDEMPOTENCY_KEY_REUSED"
	codeKeyInUse        = "IDEMPOTENCY_KEY_IN_USE"
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
// POST, mutations by POST only. guard admits each request. Statuses and
// media types follow the GraphQL-over-HTTP specification (see
// httpTransport): under application/json, the default, every well-formed
// request is a 200 with its errors in the body; under
// application/graphql-response+json a request error is a 400. Refusals
// before GraphQL (401, 429, 413) keep their own statuses under both.
// keeper holds the Idempotency-Keys of mutations; svc must answer a
// repeat's writes from its kept outcome (idempotency.Service).
func NewHandler(svc task.Service, guard *access.Guard, keeper *idempotency.Keeper, limits Limits, log *slog.Logger) http.Handler {
	return newHandler(svc, guard, keeper, limits, log, &planReads{})
}

// newHandler is NewHandler with reads answered by plans, or with no plans
// (plans nil) by gqlgen alone.
func newHandler(svc task.Service, guard *access.Guard, keeper *idempotency.Keeper, limits Limits, log *slog.Logger,
	plans *planReads,
) http.Handler {
	cfg := Config{Resolvers: &Resolver{Service: svc, Log: log}}
	cfg.Complexity.Query.Tasks = func(child int, _ *task.Filter, pageSize *int, _ *int, _ *task.SortField, _ *task.SortOrder) int {
		return 1 + pageCost(pageSize, child)
	}
	cfg.Complexity.Query.TasksConnection = func(child int, _ *task.Filter, first *int, _ *string, _ *task.SortField, _ *task.SortOrder) int {
		return 1 + pageCost(first, child)
	}
	schema := NewExecutableSchema(cfg)
	srv := handler.New(schema)
	srv.AddTransport(httpTransport{keeper: keeper, log: log})
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
	if plans != nil {
		plans.schema = schema.(*executableSchema)
		srv.AroundRootFields(plans.intercept)
	}
	// The request log and metrics name each operation and count its errors.
	srv.AroundOperations(func(ctx context.Context, next graphql.OperationHandler) graphql.ResponseHandler {
		oc := graphql.GetOperationContext(ctx)
		name := oc.OperationName
		if name == "" && oc.Operation != nil {
			name = oc.Operation.Name
		}
		observe.SetOperation(ctx, name)
		return next(ctx)
	})
	srv.AroundResponses(func(ctx context.Context, next graphql.ResponseHandler) *graphql.Response {
		resp := next(ctx)
		if resp != nil && len(resp.Errors) > 0 {
			observe.SetOperationFailed(ctx)
		}
		return resp
	})

	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		media := responseMediaType(r.Header)
		ctx, err := guard.Admit(r, w.Header())
		if err != nil {
			if sentCredentials(r.Header) || task.ErrorCode(err) != task.CodeUnauthenticated {
				writeRefusal(w, r, media, err, log)
				return
			}
			// Introspection needs no key, so that the playground can show
			// the schema before one is entered; the transport refuses
			// anything else once it has read the operation.
			ctx = withAnonymousRefusal(r.Context(), err)
		}
		srv.ServeHTTP(w, r.WithContext(ctx))
	})
}

// sentCredentials reports whether a request carries either key header
// with a value. Credentials that are sent are always checked: a wrong key
// is refused even for a request that would need none.
func sentCredentials(h http.Header) bool {
	return h.Get(access.AccessKeyHeader) != "" || h.Get(access.SecretKeyHeader) != ""
}

type anonymousKey struct{}

// withAnonymousRefusal marks a request sent without credentials, carrying
// the guard's refusal for whatever it may not do without them.
func withAnonymousRefusal(ctx context.Context, refusal error) context.Context {
	return context.WithValue(ctx, anonymousKey{}, refusal)
}

// anonymousRefusal is the guard's refusal of a request sent without
// credentials, or nil for an admitted request.
func anonymousRefusal(ctx context.Context) error {
	err, _ := ctx.Value(anonymousKey{}).(error)
	return err
}

// introspectionOnly reports whether an operation is a query that selects
// nothing but the schema's own fields (__schema, __type, __typename) at its
// root, through fragments too: those describe the API, and no
// organisation's data.
func introspectionOnly(oc *graphql.OperationContext) bool {
	if oc == nil || oc.Operation == nil || oc.Operation.Operation != ast.Query {
		return false
	}
	for _, f := range graphql.CollectFields(oc, oc.Operation.SelectionSet, []string{"Query"}) {
		if !strings.HasPrefix(f.Name, "__") {
			return false
		}
	}
	return true
}

// pageCost counts a page's selection once per task it can hold.
func pageCost(size *int, child int) int { return task.PageSize(size) * child }

// writeRefusal answers a request that was refused before its operation
// ran, by the guard or under its Idempotency-Key: the HTTP status says
// why, under either media type, and the body is one GraphQL error with the
// matching code.
func writeRefusal(w http.ResponseWriter, r *http.Request, media string, err error, log *slog.Logger) {
	var te *task.Error
	errors.As(err, &te)
	switch task.ErrorCode(err) {
	case task.CodeUnauthenticated:
		writeRequestError(w, media, http.StatusUnauthorized, codeUnauthenticated, te.Message)
	case task.CodeRateLimited:
		writeRequestError(w, media, http.StatusTooManyRequests, codeRateLimited, te.Message)
	case task.CodeInvalid: // an Idempotency-Key malformed, or for a request it cannot serve
		writeRequestError(w, media, http.StatusUnprocessableEntity, codeBadRequest, te.Error())
	case task.CodeKeyReused:
		writeRequestError(w, media, http.StatusUnprocessableEntity, codeKeyReused, te.Message)
	case task.CodeKeyInUse:
		writeRequestError(w, media, http.StatusConflict, codeKeyInUse, te.Message)
	default:
		log.ErrorContext(r.Context(), "admitting a request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		writeRequestError(w, media, http.StatusInternalServerError, codeInternal, internalMessage)
	}
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
		// A scalar's error names no field: the field is where it was found.
		message, fields := te.Messages(func(name string) string { return name }, lastFieldName(gqlErr.Path))
		gqlErr.Message = message
		gqlErr.Extensions = map[string]any{"code": codeBadUserInput, "fields": fields}
	case task.CodeNotFound:
		gqlErr.Message = te.Message
		gqlErr.Extensions = map[string]any{"code": codeNotFound}
	case task.CodeVersionConflict:
		gqlErr.Message = te.Message
		gqlErr.Extensions = map[string]any{"code": codeVersionConflict, "currentVersion": te.CurrentVersion}
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
