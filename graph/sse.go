package graph

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"tasksapi/feed"
)

const mediaEventStream = "text/event-stream"

// sseTransport serves GraphQL as server-sent events, in the graphql-sse
// protocol's distinct connections mode: a POST with Accept:
// text/event-stream is answered with an event stream holding a next event
// for each result (each event of a subscription, or a query's one
// result), then complete. In place of gqlgen's SSE transport, which quotes
// a malformed body back, cannot be ended by the server's stop, and holds
// a write to a stalled client for ever:
//
//   - a request refused before its operation is read (401, 429, 413,
//     415, a malformed body: 400) gets the ordinary JSON answer, as the
//     same POST without text/event-stream would;
//   - an operation that does not parse or validate is reported in a next
//     event, then complete, as the protocol asks;
//   - mutations are not served as events: sent as a plain POST they can
//     carry an Idempotency-Key;
//   - an idle stream gets a comment every pingInterval, to keep proxies
//     from closing it;
//   - a write that blocks for sendTimeout ends the stream (too slow);
//   - when stop ends, the stream ends without complete: the client
//     reconnects and resumes from the last seq it handled.
type sseTransport struct {
	log         *slog.Logger
	stop        context.Context
	sendTimeout time.Duration
}

var _ graphql.Transport = sseTransport{}

func (sseTransport) Supports(r *http.Request) bool {
	return r.Method == http.MethodPost && acceptsEventStream(r.Header)
}

func (t sseTransport) Do(w http.ResponseWriter, r *http.Request, exec graphql.GraphExecutor) {
	media := responseMediaType(r.Header) // of an answer before the stream
	start := graphql.Now()
	refusal := anonymousRefusal(r.Context()) // see httpTransport.Do

	params, _, rerr := readParams(r)
	if rerr != nil {
		if refusal != nil {
			writeRefusal(w, r, media, refusal, t.log)
			return
		}
		rerr.write(w, media)
		return
	}
	params.Headers = r.Header
	params.ReadTime = graphql.TraceTiming{Start: start, End: graphql.Now()}

	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	sub := &subscriber{kind: feed.KindGraphQLSSE, stop: t.stop}
	ctx = withSubscriber(ctx, sub)
	opCtx, errs := exec.CreateOperationContext(ctx, params)
	if refusal != nil && (errs != nil || !introspectionOnly(opCtx)) {
		writeRefusal(w, r, media, refusal, t.log)
		return
	}
	if errs == nil && opCtx.Operation.Operation == ast.Mutation {
		errs = gqlerror.List{{Message: "A mutation is not served as events: send it by POST without Accept: text/event-stream",
			Extensions: map[string]any{"code": codeBadRequest}}}
	}

	es := &eventStream{w: w, rc: http.NewResponseController(w), sendTimeout: t.sendTimeout, sub: sub, cancel: cancel}
	if errs != nil {
		if resp := exec.DispatchError(graphql.WithOperationContext(ctx, opCtx), errs); resp != nil {
			errs = resp.Errors
		}
		_ = es.next(requestErrorBody{Errors: errs}) && es.complete()
		return
	}

	// The stream opens at once, with a comment: a client waiting for the
	// answer's headers learns that its subscription is under way.
	if !es.write([]byte(":\n\n")) {
		return
	}
	responses, ctx := exec.DispatchOperation(ctx, opCtx)
	// The results are taken on their own, so that the stream can be
	// pinged while it waits for one, and ended when the server stops.
	results := make(chan *graphql.Response)
	go func() {
		defer close(results)
		for {
			resp := responses(ctx)
			if resp == nil {
				return
			}
			// The generated subscription code writes each result into one
			// buffer it reuses: the next call would overwrite this result
			// before the stream has sent it.
			resp.Data = bytes.Clone(resp.Data)
			select {
			case results <- resp:
			case <-ctx.Done():
				return
			}
		}
	}()
	ping := time.NewTicker(pingInterval)
	defer ping.Stop()
	for {
		select {
		case resp, ok := <-results:
			if !ok {
				if ctx.Err() == nil {
					if errs := sub.failures(); len(errs) > 0 && !es.next(requestErrorBody{Errors: errs}) {
						return
					}
					es.complete()
				}
				return
			}
			b, err := encodeResult(resp)
			if err != nil {
				t.log.ErrorContext(ctx, "encoding an event failed", "err", err)
				b, _ = encodeResult(&graphql.Response{Errors: internalErrorBody.Errors})
			}
			if !es.event("next", b) {
				return
			}
			ping.Reset(pingInterval)
		case <-ping.C:
			if !es.write([]byte(":\n\n")) {
				return
			}
		case <-t.stop.Done():
			return // cancel ends the subscription, as shut down
		case <-ctx.Done():
			return
		}
	}
}

// eventStream writes one response's server-sent events.
type eventStream struct {
	w           http.ResponseWriter
	rc          *http.ResponseController
	sendTimeout time.Duration
	sub         *subscriber
	cancel      context.CancelFunc // ends the stream's operation
	started     bool
}

// next writes a next event of v, as JSON.
func (es *eventStream) next(v requestErrorBody) bool {
	b, err := json.Marshal(v)
	if err != nil {
		return false
	}
	return es.event("next", b)
}

func (es *eventStream) complete() bool { return es.event("complete", nil) }

// event writes one event. data is one line of JSON: encoding/json and
// gqlgen's marshallers escape every line break inside strings. complete
// carries an empty data line, so that an EventSource dispatches it too.
func (es *eventStream) event(name string, data []byte) bool {
	b := make([]byte, 0, len(name)+len(data)+16)
	b = append(append(append(b, "event: "...), name...), "\ndata:"...)
	if len(data) > 0 {
		b = append(append(b, ' '), data...)
	}
	return es.write(append(b, "\n\n"...))
}

// write sends b at once. The first write starts the stream. Each write
// may block for the send timeout at most (in place of the server's write
// timeout, which would end any stream after 30 s); one that fails ends
// the stream, as too slow when it timed out.
func (es *eventStream) write(b []byte) bool {
	if !es.started {
		es.started = true
		// The request has been read whole: the server's read timeout,
		// which would cancel the request's context when it passes, has
		// no more to guard.
		_ = es.rc.SetReadDeadline(time.Time{})
		h := es.w.Header()
		h.Set("Content-Type", mediaEventStream)
		h.Set("Cache-Control", "no-cache")
		h.Set("X-Accel-Buffering", "no") // nginx: pass events on as they come
		es.w.WriteHeader(http.StatusOK)
	}
	_ = es.rc.SetWriteDeadline(time.Now().Add(es.sendTimeout))
	_, err := es.w.Write(b)
	if err == nil {
		err = es.rc.Flush()
	}
	if err != nil {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			es.sub.tooSlow.Store(true)
		}
		es.cancel()
		return false
	}
	return true
}

// acceptsEventStream reports whether a request's Accept header names
// text/event-stream outright (a wildcard does not ask for a stream).
func acceptsEventStream(h http.Header) bool {
	var ranges []string
	for _, v := range h.Values("Accept") {
		ranges = append(ranges, strings.Split(v, ",")...)
	}
	q, specific, _ := acceptance(ranges, mediaEventStream)
	return specific == 2 && q > 0
}
