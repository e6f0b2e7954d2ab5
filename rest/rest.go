// Package rest speaks the YSUITE External API's /v1/tasks dialect over the
// same task.Service and change feed as GraphQL. It only translates: HTTP
// and JSON in, a service call, the YSUITE envelope (or, for the feed's
// stream, server-sent events) out. Every rule lives in packages task and
// feed.
package rest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"path"
	"strconv"
	"strings"
	"time"

	"tasksapi/access"
	"tasksapi/feed"
	"tasksapi/idempotency"
	"tasksapi/task"
)

// MaxBodyBytes is the largest request body accepted.
const MaxBodyBytes = 1 << 20

// Fixed messages.
const (
	BodyTooLargeMessage = "Request body must be at most 1 MiB"
	InternalMessage     = "Internal server error"
)

// API is the REST interface.
type API struct {
	svc    task.Service
	guard  *access.Guard
	keeper *idempotency.Keeper
	log    *slog.Logger

	changes     feed.Reader
	hub         *feed.Hub
	streams     *feed.Streams
	stop        context.Context
	keepAlive   time.Duration
	sendTimeout time.Duration
}

// Options are what the REST interface is made of.
type Options struct {
	// Service holds the tasks. It should answer a repeat's writes with
	// the kept outcome (idempotency.Service), so that a repeat writes
	// nothing.
	Service task.Service
	// Guard admits each request.
	Guard *access.Guard
	// Keeper holds the Idempotency-Keys of writes.
	Keeper *idempotency.Keeper
	Log    *slog.Logger

	// Feed, Hub and Streams serve the change feed: GET /v1/tasks/changes
	// reads Feed, and each stream follows Hub and holds a place among its
	// key's Streams.
	Feed    feed.Reader
	Hub     *feed.Hub
	Streams *feed.Streams
	// Stop ends when the server begins to stop: every stream then ends,
	// and its client reconnects (to this server once it is back, or to
	// another) from the last event it got. Nil means never.
	Stop context.Context
	// KeepAlive is the longest a stream stays silent (0:
	// DefaultKeepAlive); SendTimeout the longest one batch of a stream's
	// events may take to send (0: DefaultSendTimeout).
	KeepAlive   time.Duration
	SendTimeout time.Duration
}

// New returns the REST interface made of o.
func New(o Options) *API {
	a := &API{svc: o.Service, guard: o.Guard, keeper: o.Keeper, log: o.Log,
		changes: o.Feed, hub: o.Hub, streams: o.Streams, stop: o.Stop,
		keepAlive: o.KeepAlive, sendTimeout: o.SendTimeout}
	if a.stop == nil {
		a.stop = context.Background()
	}
	if a.keepAlive <= 0 {
		a.keepAlive = DefaultKeepAlive
	}
	if a.sendTimeout <= 0 {
		a.sendTimeout = DefaultSendTimeout
	}
	return a
}

// Register adds the /v1/tasks routes, and the OpenAPI document that
// describes them, to mux. The feed's paths are more specific than
// /v1/tasks/{id}, so a GET of them is never read as a task id.
func (a *API) Register(mux *http.ServeMux) {
	mux.Handle("GET /v1/tasks", a.handle(read, a.listTasks))
	mux.Handle("POST /v1/tasks", a.handle(write, a.createTask))
	mux.Handle("GET /v1/tasks/{id}", a.handle(read, a.getTask))
	mux.Handle("PATCH /v1/tasks/{id}", a.handle(write, a.updateTask))
	mux.Handle("DELETE /v1/tasks/{id}", a.handle(write, a.deleteTask))
	mux.Handle("GET /v1/tasks/changes", a.handle(read, a.listChanges))
	mux.Handle("GET /v1/tasks/changes/stream", a.handle(read, a.streamChanges))
	mux.HandleFunc("GET /v1/openapi.json", serveOpenAPI) // no key: the document is public
}

// kind says whether a route takes an Idempotency-Key.
type kind int

const (
	read  kind = iota // safe to repeat as it is: a key is ignored
	write             // runs once per Idempotency-Key
)

// envelope is the body of every refusal; a success's is written by hand
// (see wire.go).
type envelope struct {
	Success bool                `json:"success"` // always false
	Message string              `json:"message,omitempty"`
	Errors  map[string][]string `json:"errors,omitempty"`
}

// httpError is a refusal decided by this package (as opposed to the
// domain): its message is for the client.
type httpError struct {
	status  int
	message string
}

func (e *httpError) Error() string { return e.message }

// handle admits the request, claims the Idempotency-Key of a write, and
// adapts a handler that returns an error, so that every error body is
// written in one place: writeError.
func (a *API) handle(k kind, h func(http.ResponseWriter, *http.Request) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, err := a.guard.Admit(r, w.Header())
		if err == nil {
			r = r.WithContext(ctx)
			if k == write {
				var release func()
				r, release, err = a.claimKey(w, r)
				if release != nil {
					defer release() // after the answer is written
				}
			}
		}
		if err == nil {
			err = h(w, r)
		}
		if err != nil {
			// A refusal by a rule is kept for the key, so that a repeat
			// is refused alike; the other errors are not (see Refused).
			idempotency.Refused(r.Context(), err)
			a.writeError(w, r, err)
		}
	})
}

// claimKey claims the request's Idempotency-Key, when it has one, for its
// method, path and body, and returns the request carrying the claim and
// the release to call once answered. The body is read here, to be
// fingerprinted, and put back for the handler. A repeat is marked with
// Idempotent-Replayed and runs the same handler: the service answers its
// write with the kept outcome, so it gets the same status, headers and
// body.
func (a *API) claimKey(w http.ResponseWriter, r *http.Request) (*http.Request, func(), error) {
	keys := r.Header.Values(idempotency.Header)
	if len(keys) == 0 {
		return r, nil, nil
	}
	if len(keys) > 1 {
		return r, nil, task.Invalid(idempotency.Header, "must be sent once")
	}
	body, err := readBody(r)
	if err != nil {
		return r, nil, err // a refusal of the transport: nothing to keep
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	// The headers the handler reads are part of the request: a repeat with
	// another Content-Type or If-Match would be answered differently.
	mediaType, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	fingerprint := idempotency.Fingerprint(r.Method, r.URL.Path, body,
		"Content-Type: "+mediaType, ifMatch+": "+strings.Join(r.Header.Values(ifMatch), ","))
	ctx, release, err := a.keeper.Begin(r.Context(), keys[0], fingerprint)
	if err != nil {
		return r, nil, err
	}
	if c, ok := idempotency.FromContext(ctx); ok && c.Replayed() {
		w.Header().Set(idempotency.ReplayedHeader, "true")
	}
	return r.WithContext(ctx), release, nil
}

// readBody reads the whole request body, which the server caps at
// MaxBodyBytes for every route.
func readBody(r *http.Request) ([]byte, error) {
	body, err := io.ReadAll(r.Body)
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return nil, &httpError{http.StatusRequestEntityTooLarge, BodyTooLargeMessage}
	}
	if err != nil {
		return nil, &httpError{http.StatusBadRequest, "Request body could not be read"}
	}
	return body, nil
}

// statusClientClosedRequest is the status logged for a request whose
// client went away before its answer was ready.
const statusClientClosedRequest = 499

func (a *API) writeError(w http.ResponseWriter, r *http.Request, err error) {
	var he *httpError
	if errors.As(err, &he) {
		writeJSON(w, he.status, envelope{Message: he.message})
		return
	}
	var te *task.Error
	errors.As(err, &te)
	switch task.ErrorCode(err) { // CodeInternal for anything untyped
	case task.CodeInvalid:
		var env envelope
		env.Message, env.Errors = te.Messages(wireName, "")
		writeJSON(w, http.StatusUnprocessableEntity, env)
	case task.CodeNotFound:
		// The YSUITE API answers a missing task with 400, not 404.
		writeJSON(w, http.StatusBadRequest, envelope{Message: te.Message})
	case task.CodeMalformed:
		writeJSON(w, http.StatusBadRequest, envelope{Message: te.Message})
	case task.CodeVersionConflict:
		// The current entity tag lets the client read the task again, or
		// decide that its change still holds, without another request.
		w.Header().Set("ETag", entityTag(te.CurrentVersion))
		writeJSON(w, http.StatusPreconditionFailed, envelope{Message: te.Message})
	case task.CodeKeyInUse:
		writeJSON(w, http.StatusConflict, envelope{Message: te.Message})
	case task.CodeKeyReused:
		writeJSON(w, http.StatusUnprocessableEntity, envelope{Message: te.Message})
	case task.CodeUnauthenticated:
		writeJSON(w, http.StatusUnauthorized, envelope{Message: te.Message})
	case task.CodeRateLimited:
		writeJSON(w, http.StatusTooManyRequests, envelope{Message: te.Message})
	case task.CodeTooManySubscriptions:
		// No Retry-After: a place frees when one of the key's own
		// streams ends, which no delay can promise.
		writeJSON(w, http.StatusTooManyRequests, envelope{Message: te.Message})
	case task.CodeExpired:
		writeJSON(w, http.StatusGone, envelope{Message: te.Message})
	case task.CodeUnavailable:
		a.log.WarnContext(r.Context(), "database unavailable", "method", r.Method, "path", r.URL.Path, "err", te.Cause)
		w.Header().Set("Retry-After", access.RetryAfterSeconds(te.RetryAfter))
		writeJSON(w, http.StatusServiceUnavailable, envelope{Message: te.Message})
	default:
		if ctxErr := r.Context().Err(); ctxErr != nil && errors.Is(err, ctxErr) {
			// The client went away before its answer: no fault of the
			// server's, and nobody to tell. The status is for the logs
			// and metrics: nginx's "client closed request".
			writeJSON(w, statusClientClosedRequest, envelope{Message: "The client closed the request."})
			return
		}
		a.log.ErrorContext(r.Context(), "request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		writeJSON(w, http.StatusInternalServerError, envelope{Message: InternalMessage})
	}
}

// WriteError writes an error envelope with message, for refusals made
// outside this package (an oversized body, a panic).
func WriteError(w http.ResponseWriter, status int, message string) {
	writeJSON(w, status, envelope{Message: message})
}

// writeJSON answers with a refusal.
func writeJSON(w http.ResponseWriter, status int, env envelope) {
	b, err := json.Marshal(env)
	if err != nil {
		// Envelopes hold only encodable values: this is a bug, which
		// recoverPanics logs and answers with a 500.
		panic(fmt.Errorf("encode response: %w", err))
	}
	writeBody(w, status, append(b, '\n'))
}

// writeBody sends a JSON body. A body written whole, with its length, is
// sent as it is rather than in HTTP chunks.
func writeBody(w http.ResponseWriter, status int, b []byte) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// JSONErrors wraps mux so that the 404 and 405 answers it gives for paths
// and methods it has no route for come in the JSON envelope too (keeping
// the Allow header of a 405). A path that is not in clean form ("/v1/./x",
// "//v1") is a 404 here rather than the mux's HTML redirect.
func JSONErrors(mux *http.ServeMux) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p := r.URL.Path; p != path.Clean(p) && p != path.Clean(p)+"/" {
			writeJSON(w, http.StatusNotFound, envelope{Message: "Not found"})
			return
		}
		h, pattern := mux.Handler(r)
		if pattern != "" {
			mux.ServeHTTP(w, r) // the mux, not h, sets the path values
			return
		}
		rec := &statusRecorder{header: http.Header{}}
		h.ServeHTTP(rec, r)
		if allow := rec.header.Values("Allow"); len(allow) > 0 {
			w.Header()["Allow"] = allow
		}
		if rec.status == http.StatusMethodNotAllowed {
			writeJSON(w, rec.status, envelope{Message: "Method not allowed"})
			return
		}
		writeJSON(w, http.StatusNotFound, envelope{Message: "Not found"})
	})
}

// statusRecorder keeps the status and headers of the mux's own plain-text
// error and drops its body.
type statusRecorder struct {
	header http.Header
	status int
}

func (s *statusRecorder) Header() http.Header         { return s.header }
func (s *statusRecorder) Write(b []byte) (int, error) { return len(b), nil }
func (s *statusRecorder) WriteHeader(status int)      { s.status = status }
