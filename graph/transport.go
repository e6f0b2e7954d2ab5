package graph

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
	"net/url"
	"strconv"
	"strings"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"tasksapi/idempotency"
	"tasksapi/task"
)

// The media types a GraphQL response can be sent as. Under application/json
// every well-formed request is answered 200, its errors in the body; under
// application/graphql-response+json the status also tells a request error
// (400: the operation did not run) from a response that ran.
const (
	mediaJSON            = "application/json"
	mediaGraphQLResponse = "application/graphql-response+json"
)

// Error codes of requests refused by the transport itself.
const (
	codeBadRequest           = "BAD_REQUEST"
	codeMethodNotAllowed     = "METHOD_NOT_ALLOWED"
	codeUnsupportedMediaType = "UNSUPPORTED_MEDIA_TYPE"
	codePayloadTooLarge      = "PAYLOAD_TOO_LARGE"
)

// httpTransport serves GraphQL over HTTP GET and POST as the
// GraphQL-over-HTTP specification asks, in place of gqlgen's GET and POST
// transports (which answer request errors with 422 under application/json
// and send "data": null with them):
//
//   - the response's media type is negotiated from Accept: application/json
//     when Accept is missing, names neither type, or only wildcards;
//   - a request that is not well-formed (a body that is not a JSON object,
//     a query that is missing or not a string, variables or extensions that
//     are not objects) is a 400 under either media type;
//   - a request error (the document does not parse or validate, a variable
//     does not coerce, a limit refuses it) is a 200 under application/json
//     and a 400 under application/graphql-response+json, and its body has
//     no data entry under either, as the operation never ran;
//   - an operation that ran is a 200 with its data, field errors or not;
//   - a subscription is a 400: it is served over WebSocket and as
//     server-sent events (see sockets and sseTransport);
//   - a mutation by GET is a 405 with Allow: POST, and never runs; a method
//     other than GET and POST is a 405 with Allow: GET, POST; a POST whose
//     Content-Type is not application/json is a 415;
//   - a mutation POSTed with an Idempotency-Key runs under the key (see
//     claim); a refusal under the key is a 422 or 409 under either media
//     type, and so is a key sent with a mutation that is not a task
//     write. The header means nothing to a query.
type httpTransport struct {
	keeper *idempotency.Keeper
	log    *slog.Logger
}

var _ graphql.Transport = httpTransport{}

// Supports takes every plain HTTP request, so that Do answers an
// unsupported method or content type itself.
func (httpTransport) Supports(r *http.Request) bool { return r.Header.Get("Upgrade") == "" }

func (t httpTransport) Do(w http.ResponseWriter, r *http.Request, exec graphql.GraphExecutor) {
	media := responseMediaType(r.Header)
	start := graphql.Now()
	// A request without credentials may only introspect the schema. Until
	// its operation is known to do nothing else, any answer is the guard's
	// refusal, so a client without a key learns nothing more than before.
	refusal := anonymousRefusal(r.Context())

	params, body, rerr := readParams(r)
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

	ctx := r.Context()
	opCtx, errs := exec.CreateOperationContext(ctx, params)
	if refusal != nil && (errs != nil || !introspectionOnly(opCtx)) {
		writeRefusal(w, r, media, refusal, t.log)
		return
	}
	if errs != nil {
		status := http.StatusOK
		if media == mediaGraphQLResponse {
			status = http.StatusBadRequest
		}
		body := requestErrorBody{Errors: errs}
		if resp := exec.DispatchError(graphql.WithOperationContext(ctx, opCtx), errs); resp != nil {
			body = requestErrorBody{Errors: resp.Errors, Extensions: resp.Extensions}
		}
		writeResponse(w, media, status, body)
		return
	}
	if opCtx.Operation.Operation == ast.Subscription {
		writeRequestError(w, media, http.StatusBadRequest, codeBadRequest,
			"A subscription is served over WebSocket (graphql-transport-ws) or as server-sent events (a POST with Accept: text/event-stream)")
		return
	}
	if r.Method == http.MethodGet && opCtx.Operation.Operation != ast.Query {
		w.Header().Set("Allow", "POST")
		writeRequestError(w, media, http.StatusMethodNotAllowed, codeMethodNotAllowed,
			"GET serves queries only: send a "+string(opCtx.Operation.Operation)+" by POST")
		return
	}
	if keys := r.Header.Values(idempotency.Header); len(keys) > 0 && opCtx.Operation.Operation == ast.Mutation {
		claimed, release, err := t.claim(ctx, r, keys, body, opCtx)
		if err != nil {
			writeRefusal(w, r, media, err, t.log)
			return
		}
		ctx = claimed
		// Held until the answer is sent: a repeat that came sooner would
		// find no kept outcome and run the mutation again.
		defer release()
		if c, _ := idempotency.FromContext(ctx); c.Replayed() {
			w.Header().Set(idempotency.ReplayedHeader, "true")
		}
	}

	responses, ctx := exec.DispatchOperation(ctx, opCtx)
	resp := responses(ctx)
	if resp == nil { // the request's context ended: nobody is listening
		return
	}
	b, err := encodeResult(resp)
	if err != nil {
		writeResponse(w, media, http.StatusInternalServerError, internalErrorBody)
		return
	}
	writeBody(w, media, http.StatusOK, b)
}

// requestError is a request refused before its operation is read: its
// status, the code and message of its one error, and for a 405 the
// methods the endpoint takes.
type requestError struct {
	status        int
	code, message string
	allow         string
}

func (e *requestError) write(w http.ResponseWriter, media string) {
	if e.allow != "" {
		w.Header().Set("Allow", e.allow)
	}
	writeRequestError(w, media, e.status, e.code, e.message)
}

// readParams reads the parameters of a GET from its query string, or of
// a POST from its body (returned too: an Idempotency-Key's fingerprint
// covers it), or says why it cannot.
func readParams(r *http.Request) (*graphql.RawParams, []byte, *requestError) {
	var params *graphql.RawParams
	var body []byte
	var err error
	switch r.Method {
	case http.MethodGet:
		params, err = getParams(r.URL.RawQuery)
	case http.MethodPost:
		if !isJSONContent(r.Header.Get("Content-Type")) {
			return nil, nil, &requestError{status: http.StatusUnsupportedMediaType, code: codeUnsupportedMediaType,
				message: "a GraphQL POST must have Content-Type application/json"}
		}
		if body, err = io.ReadAll(r.Body); err == nil {
			params, err = postParams(body)
		}
	default:
		return nil, nil, &requestError{status: http.StatusMethodNotAllowed, code: codeMethodNotAllowed,
			message: "GraphQL is served by GET (queries) and POST", allow: "GET, POST"}
	}
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return nil, nil, &requestError{status: http.StatusRequestEntityTooLarge, code: codePayloadTooLarge,
			message: bodyTooLargeMessage(tooLarge.Limit)}
	}
	if err != nil {
		return nil, nil, &requestError{status: http.StatusBadRequest, code: codeBadRequest, message: err.Error()}
	}
	return params, body, nil
}

// claim claims the Idempotency-Key of a mutation POSTed with one, for a
// request fingerprinted by its method, path and body, and returns the
// request's context carrying the claim. Its outcome is kept with its
// write, so a repeat is answered from it (idempotency.Service) by the same
// execution, to the same bytes. A key's outcome is one write's: a mutation
// selecting more than one field is refused under a key, as the second
// write's outcome could not be kept and a repeat would run it again. Only
// the task writes keep their outcomes (idempotency.Service), so a key on
// any other mutation is refused too, before it runs: a webhook mutation
// under a key would run again on every repeat (a second webhook, with a
// second secret), and createWebhook's answer holds a secret that is shown
// once and never kept.
func (t httpTransport) claim(ctx context.Context, r *http.Request, keys []string, body []byte,
	opCtx *graphql.OperationContext,
) (context.Context, func(), error) {
	if len(keys) > 1 {
		return nil, nil, task.Invalid(idempotency.Header, "must be sent once")
	}
	writes := 0
	for _, f := range graphql.CollectFields(opCtx, opCtx.Operation.SelectionSet, []string{"Mutation"}) {
		if f.Name == "__typename" {
			continue
		}
		if !keptWrites[f.Name] {
			return nil, nil, task.Invalid(idempotency.Header,
				"is taken only by a task write (createTask, updateTask, deleteTask): send "+f.Name+" without it")
		}
		writes++
	}
	if writes > 1 {
		return nil, nil, task.Invalid(idempotency.Header,
			"keeps the outcome of one write: a mutation sent with it must select one field")
	}
	return t.keeper.Begin(ctx, keys[0], idempotency.Fingerprint(r.Method, r.URL.Path, body))
}

// keptWrites are the mutations whose outcome an Idempotency-Key keeps:
// the writes idempotency.Service answers from a kept outcome.
var keptWrites = map[string]bool{"createTask": true, "updateTask": true, "deleteTask": true}

// encodeResult writes an operation's response with its data spliced in as
// the executor wrote it: handing that to encoding/json would validate and
// compact it all over again. Errors come first, as the GraphQL
// specification suggests.
func encodeResult(resp *graphql.Response) ([]byte, error) {
	b, err := json.Marshal(struct {
		Errors     gqlerror.List  `json:"errors,omitempty"`
		Label      string         `json:"label,omitempty"`
		Path       ast.Path       `json:"path,omitempty"`
		HasNext    *bool          `json:"hasNext,omitempty"`
		Extensions map[string]any `json:"extensions,omitempty"`
	}{resp.Errors, resp.Label, resp.Path, resp.HasNext, resp.Extensions})
	if err != nil {
		return nil, err
	}
	b = b[:len(b)-1] // reopen the object
	if len(b) > 1 {
		b = append(b, ',')
	}
	b = append(b, `"data":`...)
	if resp.Data == nil {
		b = append(b, "null"...)
	}
	b = append(b, resp.Data...)
	return append(b, '}'), nil
}

// requestErrorBody is the response to a request that failed before its
// operation ran: errors, and no data entry at all.
type requestErrorBody struct {
	Errors     gqlerror.List  `json:"errors"`
	Extensions map[string]any `json:"extensions,omitempty"`
}

// writeRequestError answers with one error of code and no data entry.
func writeRequestError(w http.ResponseWriter, media string, status int, code, message string) {
	writeResponse(w, media, status, requestErrorBody{Errors: gqlerror.List{{
		Message: message, Extensions: map[string]any{"code": code},
	}}})
}

// bodyTooLargeMessage says that a body is over the limit of limit bytes.
func bodyTooLargeMessage(limit int64) string {
	size := fmt.Sprintf("%d bytes", limit)
	if limit%(1<<20) == 0 {
		size = fmt.Sprintf("%d MiB", limit>>20)
	}
	return "Request body must be at most " + size
}

// WriteBodyTooLarge refuses, as application/json, a body declared over
// the server's limit of limit bytes before it is read.
func WriteBodyTooLarge(w http.ResponseWriter, limit int64) {
	writeRequestError(w, mediaJSON, http.StatusRequestEntityTooLarge, codePayloadTooLarge, bodyTooLargeMessage(limit))
}

// internalErrorBody is the answer when a response cannot be encoded.
var internalErrorBody = requestErrorBody{Errors: gqlerror.List{{
	Message: internalMessage, Extensions: map[string]any{"code": codeInternal},
}}}

// writeResponse sends body as JSON with the given status and media type.
func writeResponse(w http.ResponseWriter, media string, status int, body any) {
	b, err := json.Marshal(body)
	if err != nil {
		status = http.StatusInternalServerError
		b, _ = json.Marshal(internalErrorBody)
	}
	writeBody(w, media, status, b)
}

// writeBody sends a JSON body with the given status and media type.
func writeBody(w http.ResponseWriter, media string, status int, b []byte) {
	h := w.Header()
	h.Set("Content-Type", media)
	h.Add("Vary", "Accept")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// responseMediaType negotiates the response's media type from the Accept
// header(s) of a request: the supported type of the highest quality, a type
// named outright winning over one matched by a wildcard, and the one named
// first winning a tie. application/json is the answer when Accept is
// missing, when it accepts neither type (the header is then disregarded, as
// the specification allows), and for wildcards alone.
func responseMediaType(h http.Header) string {
	var ranges []string
	for _, v := range h.Values("Accept") {
		ranges = append(ranges, strings.Split(v, ",")...)
	}
	gq, gs, gp := acceptance(ranges, mediaGraphQLResponse)
	jq, js, jp := acceptance(ranges, mediaJSON)
	switch {
	case gq <= 0 && jq <= 0: // neither is acceptable: disregard the header
		return mediaJSON
	case gq != jq:
		return pick(gq > jq)
	case gs != js: // named beats matched by a wildcard
		return pick(gs > js)
	default: // both named first wins; wildcards alone mean application/json
		return pick(gs == 2 && gp < jp)
	}
}

func pick(graphQLResponse bool) string {
	if graphQLResponse {
		return mediaGraphQLResponse
	}
	return mediaJSON
}

// acceptance is the quality the media ranges give mediaType, from the most
// specific range that matches it (2: the type itself, 1: type/*, 0: */*;
// -1 if none does), and that range's position.
func acceptance(ranges []string, mediaType string) (q float64, specific, pos int) {
	specific = -1
	major, _, _ := strings.Cut(mediaType, "/")
	for i, rng := range ranges {
		mt, params, err := mime.ParseMediaType(strings.TrimSpace(rng))
		if err != nil {
			continue
		}
		s := -1
		switch {
		case mt == mediaType:
			s = 2
		case mt == major+"/*":
			s = 1
		case mt == "*/*":
			s = 0
		}
		if s <= specific {
			continue
		}
		rq := 1.0
		if v, ok := params["q"]; ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil || f < 0 || f > 1 {
				continue
			}
			rq = f
		}
		q, specific, pos = rq, s, i
	}
	return q, specific, pos
}

// isJSONContent reports whether a Content-Type is application/json.
func isJSONContent(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	return err == nil && mt == mediaJSON
}

// postParams reads the parameters of a POST: a body of one JSON object.
func postParams(body []byte) (*graphql.RawParams, error) {
	var p graphql.RawParams
	if err := decodeOne(bytes.NewReader(body), &p); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("the request body is empty: send a JSON object with a query")
		}
		return nil, errors.New("the request body must be a JSON object with a string query, " +
			"an optional string operationName and optional object variables and extensions")
	}
	return &p, checkQuery(&p)
}

// getParams reads the parameters of a GET from its URL's query string.
func getParams(rawQuery string) (*graphql.RawParams, error) {
	values, err := url.ParseQuery(rawQuery)
	if err != nil {
		return nil, errors.New("the URL's query string is malformed")
	}
	p := graphql.RawParams{Query: values.Get("query"), OperationName: values.Get("operationName")}
	if v := values.Get("variables"); v != "" {
		if decodeOne(strings.NewReader(v), &p.Variables) != nil {
			return nil, errors.New("the variables parameter must be a JSON object")
		}
	}
	if v := values.Get("extensions"); v != "" {
		if decodeOne(strings.NewReader(v), &p.Extensions) != nil {
			return nil, errors.New("the extensions parameter must be a JSON object")
		}
	}
	return &p, checkQuery(&p)
}

// checkQuery refuses a request without a query, unless it names a persisted
// one by its hash.
func checkQuery(p *graphql.RawParams) error {
	if p.Query == "" && p.Extensions["persistedQuery"] == nil {
		return errors.New("the request has no query")
	}
	return nil
}

// decodeOne decodes exactly one JSON value from r into v, with numbers kept
// as json.Number so that integers coerce exactly.
func decodeOne(r io.Reader, v any) error {
	dec := json.NewDecoder(r)
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("data after the JSON value")
	}
	return nil
}
