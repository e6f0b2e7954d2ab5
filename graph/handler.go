package graph

import (
	"context"
	"errors"
	"log/slog"
	"math"
	"net/http"
	"strings"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/handler"
	"github.com/99designs/gqlgen/graphql/handler/extension"
	"github.com/99designs/gqlgen/graphql/handler/lru"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"tasksapi/access"
	"tasksapi/feed"
	"tasksapi/idempotency"
	"tasksapi/observe"
	"tasksapi/task"
	"tasksapi/webhook"
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
	codeExpired         = "CHANGES_EXPIRED"
	codeUnavailable     = "SERVICE_UNAVAILABLE"
	codeTooManyStreams  = "TOO_MANY_SUBSCRIPTIONS"
	codeForbidden       = "FORBIDDEN"
)

// internalMessage is all a client learns of a fault; the detail is logged.
const internalMessage = "internal server error"

// Limits bound what one GraphQL request may cost.
type Limits struct {
	MaxComplexity int // fields, with each task counted once per task of the page
	MaxDepth      int // nesting of selections, introspection included
}

// DefaultLimits let a full page of 100 tasks with every field through, a
// page of 1000 changes with most fields (see changesCost), every webhook
// or 100 delivery attempts with every field, and the playground's own
// schema query.
var DefaultLimits = Limits{MaxComplexity: 2500, MaxDepth: 15}

// Options are what the GraphQL endpoint is made of.
type Options struct {
	// Service holds the tasks; it must answer a repeated write from its
	// kept outcome (idempotency.Service).
	Service task.Service
	// Guard admits each request, socket and operation on a socket.
	Guard *access.Guard
	// Keeper holds the Idempotency-Keys of mutations.
	Keeper *idempotency.Keeper
	Limits Limits
	Log    *slog.Logger

	// Feed, Hub and Streams serve the change feed: taskChanges reads
	// Feed, and each taskChanged subscription follows Hub and holds a
	// place among its key's Streams.
	Feed    feed.Reader
	Hub     *feed.Hub
	Streams *feed.Streams
	// WebhookService manages the organisation's webhooks: the webhooks
	// and webhookDeliveries queries and the webhook mutations.
	WebhookService *webhook.Service
	// Origins are the browser origins that may open a WebSocket, as the
	// server's CORS origins are written ("*": any); see allowedOrigin.
	Origins []string
	// Stop ends when the server begins to stop: every socket is then
	// closed with 1001 (going away) and every event stream ended. Nil
	// means never.
	Stop context.Context
	// InitTimeout is how long a socket may go without connection_init
	// (0: DefaultInitTimeout); SendTimeout how long a write to a
	// subscriber may block (0: DefaultSendTimeout).
	InitTimeout time.Duration
	SendTimeout time.Duration
}

// NewHandler returns the GraphQL endpoint: queries by GET and POST,
// mutations by POST only, and every operation over WebSocket
// (graphql-transport-ws) and, but mutations, as server-sent events
// (graphql-sse). The guard admits each request. Statuses and media types
// follow the GraphQL-over-HTTP specification (see httpTransport): under
// application/json, the default, every well-formed request is a 200 with
// its errors in the body; under application/graphql-response+json a
// request error is a 400. Refusals before GraphQL (401, 429, 413) keep
// their own statuses under both.
func NewHandler(o Options) http.Handler {
	return newHandler(o, &planReads{})
}

// newHandler is NewHandler with reads answered by plans, or with no plans
// (plans nil) by gqlgen alone.
func newHandler(o Options, plans *planReads) http.Handler {
	if o.Stop == nil {
		o.Stop = context.Background()
	}
	if o.InitTimeout == 0 {
		o.InitTimeout = DefaultInitTimeout
	}
	if o.SendTimeout == 0 {
		o.SendTimeout = DefaultSendTimeout
	}
	log, guard := o.Log, o.Guard
	cfg := Config{Resolvers: &Resolver{Service: o.Service, Log: log, Feed: o.Feed, Hub: o.Hub, Streams: o.Streams,
		WebhookService: o.WebhookService}}
	cfg.Complexity.Query.Tasks = func(child int, _ *task.Filter, pageSize *int, _ *int, _ *task.SortField, _ *task.SortOrder) int {
		return 1 + pageCost(pageSize, child)
	}
	cfg.Complexity.Query.TasksConnection = func(child int, _ *task.Filter, first *int, _ *string, _ *task.SortField, _ *task.SortOrder) int {
		return 1 + pageCost(first, child)
	}
	cfg.Complexity.Query.TaskChanges = func(child int, _ *int64, first *int) int {
		return 1 + changesCost(first, child)
	}
	// A list of webhooks holds at most MaxPerOrganisation; a list of
	// deliveries as many as first asks for, up to KeptDeliveries.
	cfg.Complexity.Query.Webhooks = func(child int) int {
		return 1 + webhook.MaxPerOrganisation*child
	}
	cfg.Complexity.Query.WebhookDeliveries = func(child int, _ string, first *int) int {
		return 1 + deliveriesCost(first, child)
	}
	schema := NewExecutableSchema(cfg)
	var served graphql.ExecutableSchema = schema
	if plans != nil {
		plans.schema = schema.(*executableSchema)
		served = plannedSchema{executableSchema: plans.schema, plans: plans}
	}
	srv := handler.New(served)
	// The first transport that takes a request serves it: a POST asking
	// for events before plain HTTP, which takes any request but an upgrade.
	srv.AddTransport(sseTransport{log: log, stop: o.Stop, sendTimeout: o.SendTimeout})
	srv.AddTransport(httpTransport{keeper: o.Keeper, log: log})
	srv.AddTransport(wsTransport{initTimeout: o.InitTimeout, sendTimeout: o.SendTimeout, stop: o.Stop,
		guard: guard, log: log})
	srv.SetQueryCache(lru.New[*ast.QueryDocument](1000))
	srv.SetDisableSuggestion(true)
	srv.SetParserTokenLimit(maxTokens)
	srv.Use(sizeLimit{})
	srv.Use(extension.Introspection{})
	srv.Use(extension.AutomaticPersistedQuery{Cache: lru.New[string](1000)})
	srv.Use(extension.FixedComplexityLimit(o.Limits.MaxComplexity))
	srv.Use(depthLimit{max: o.Limits.MaxDepth})

	srv.SetRecoverFunc(func(ctx context.Context, p any) error {
		log.ErrorContext(ctx, "graphql panic", "panic", p)
		return &task.Error{Code: task.CodeInternal, Message: internalMessage}
	})
	srv.SetErrorPresenter(presentError)
	if plans != nil {
		srv.AroundRootFields(plans.intercept)
	}
	// Each operation sent over a socket is admitted as a request is.
	srv.AroundOperations(func(ctx context.Context, next graphql.OperationHandler) graphql.ResponseHandler {
		sub := subscriberOf(ctx)
		if sub == nil || sub.kind != feed.KindGraphQLWS {
			return next(ctx)
		}
		accessKey, secret := sub.credentials()
		admitted, err := guard.AdmitKey(ctx, accessKey, secret, nil)
		if err != nil {
			if task.ErrorCode(err) == task.CodeInternal {
				log.ErrorContext(ctx, "admitting an operation on a socket failed", "err", err)
			}
			return graphql.OneShot(&graphql.Response{Errors: gqlerror.List{presentError(ctx, err)}})
		}
		return next(admitted)
	})
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
		if r.Header.Get("Upgrade") != "" {
			// Checked before the key: a page of a foreign origin learns
			// nothing of the credentials it tries.
			if !allowedOrigin(r, o.Origins) {
				writeRequestError(w, media, http.StatusForbidden, codeForbidden,
					"WebSockets are not served to this origin")
				return
			}
			if !offersSubprotocol(r.Header) {
				writeRequestError(w, media, http.StatusBadRequest, codeBadRequest,
					"GraphQL over WebSocket needs the "+graphqlTransportWS+" subprotocol")
				return
			}
			sub := &subscriber{kind: feed.KindGraphQLWS, stop: o.Stop}
			sub.setCredentials(r.Header.Get(access.AccessKeyHeader), r.Header.Get(access.SecretKeyHeader))
			r = r.WithContext(withSubscriber(r.Context(), sub))
			defer sub.closeLeftOpen()
		}
		ctx, err := guard.Admit(r, w.Header())
		if err != nil {
			if sentCredentials(r.Header) || task.ErrorCode(err) != task.CodeUnauthenticated {
				writeRefusal(w, r, media, err, log)
				return
			}
			// Introspection needs no key, so that the playground can show
			// the schema before one is entered; the transport refuses
			// anything else once it has read the operation. A socket may
			// send its key in connection_init.
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

// changesCost counts a page of changes' selection once per ten changes it
// can hold. Counting it once per change, as pageCost does a page of
// tasks, would let no page over about 90 changes with every field, nor
// any page of 1000, through the default limit: the largest legitimate
// read, a page of 1000 changes (REST's largest too) with every field of
// the change and nearly all of its task's, would cost 28,000. Counted so,
// that page costs about 2,500 and passes, while two of them, or an alias
// flood of smaller pages, do not: a request reads at most about 1000
// changes' worth of fields.
func changesCost(first *int, child int) int {
	q, err := feed.Params{Limit: first}.Query()
	if err != nil {
		return child // refused by the resolver
	}
	return (q.Limit*child + changesPerCount - 1) / changesPerCount
}

// changesPerCount is how many changes of a page count as one.
const changesPerCount = 10

// deliveriesCost counts a list of delivery attempts' selection once per
// attempt it can hold: first of them, DefaultDeliveries when null, at most
// KeptDeliveries. A first the resolver refuses counts once.
func deliveriesCost(first *int, child int) int {
	n := webhook.DefaultDeliveries
	if first != nil {
		n = max(1, min(*first, webhook.KeptDeliveries))
	}
	return n * child
}

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
	case task.CodeUnavailable:
		log.WarnContext(r.Context(), "database unavailable", "method", r.Method, "path", r.URL.Path, "err", te.Cause)
		w.Header().Set("Retry-After", access.RetryAfterSeconds(te.RetryAfter))
		writeRequestError(w, media, http.StatusServiceUnavailable, codeUnavailable, te.Message)
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
		message, fields := te.Messages(graphQLName, lastFieldName(gqlErr.Path))
		gqlErr.Message = message
		gqlErr.Extensions = map[string]any{"code": codeBadUserInput, "fields": fields}
	case task.CodeNotFound:
		gqlErr.Message = te.Message
		gqlErr.Extensions = map[string]any{"code": codeNotFound}
	case task.CodeVersionConflict:
		gqlErr.Message = te.Message
		gqlErr.Extensions = map[string]any{"code": codeVersionConflict, "currentVersion": te.CurrentVersion}
	case task.CodeExpired:
		// The domain's message names REST's head_seq.
		gqlErr.Message = "Changes after this point are no longer kept: read the list again and follow the feed from its headSeq"
		gqlErr.Extensions = map[string]any{"code": codeExpired}
	case task.CodeTooManySubscriptions:
		gqlErr.Message = te.Message
		gqlErr.Extensions = map[string]any{"code": codeTooManyStreams}
	// Refusals of the guard reach here only for operations on a socket;
	// a request's are written by writeRefusal.
	case task.CodeUnauthenticated:
		gqlErr.Message = te.Message
		gqlErr.Extensions = map[string]any{"code": codeUnauthenticated}
	case task.CodeRateLimited:
		gqlErr.Message = te.Message
		gqlErr.Extensions = map[string]any{"code": codeRateLimited,
			"retryAfter": int(math.Ceil(te.RetryAfter.Seconds()))}
	case task.CodeUnavailable:
		gqlErr.Message = te.Message
		gqlErr.Extensions = map[string]any{"code": codeUnavailable,
			"retryAfter": int(math.Ceil(te.RetryAfter.Seconds()))}
	default:
		gqlErr.Message = internalMessage
		gqlErr.Extensions = map[string]any{"code": codeInternal}
	}
	return gqlErr
}

// graphQLName is a domain field's name in GraphQL: its own, but for the
// change feed's page size, limit in the domain (and REST) and first in
// GraphQL, as in every GraphQL connection.
func graphQLName(field string) string {
	if field == "limit" {
		return "first"
	}
	return field
}

func lastFieldName(path ast.Path) string {
	for i := len(path) - 1; i >= 0; i-- {
		if name, ok := path[i].(ast.PathName); ok {
			return string(name)
		}
	}
	return "input"
}
