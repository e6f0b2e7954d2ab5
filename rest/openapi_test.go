package rest_test

// The OpenAPI document (openapi.json) is held to the real handler: real
// requests are sent to the REST routes over a real database, and both the
// request and the answer are validated against the document, so that the
// document cannot drift from what the server does.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"tasksapi/access"
	"tasksapi/feed"
	"tasksapi/idempotency"
	"tasksapi/rest"
	"tasksapi/task"
)

// openAPI is the document as kept in the repository, loaded, validated and
// routed.
type openAPI struct {
	raw    []byte
	doc    *openapi3.T
	router routers.Router
}

// readEventStream lets the validator take a stream's events as a string,
// which is what the document says a text/event-stream body is; each
// event's data is held to the change's schema by check.
var readEventStream sync.Once

func loadOpenAPI(t *testing.T) *openAPI {
	t.Helper()
	readEventStream.Do(func() {
		openapi3filter.RegisterBodyDecoder("text/event-stream",
			func(body io.Reader, _ http.Header, _ *openapi3.SchemaRef, _ openapi3filter.EncodingFn) (any, error) {
				b, err := io.ReadAll(body)
				return string(b), err
			})
	})
	raw, err := os.ReadFile("openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(raw)
	if err != nil {
		t.Fatalf("loading openapi.json: %v", err)
	}
	if err := doc.Validate(loader.Context); err != nil {
		t.Fatalf("openapi.json is not a valid OpenAPI document: %v", err)
	}
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		t.Fatalf("routing openapi.json: %v", err)
	}
	return &openAPI{raw: raw, doc: doc, router: router}
}

// validation is how requests and responses are checked: a status the
// document does not list for the operation is an error, and a key scheme
// is met only when its header is sent.
var validation = &openapi3filter.Options{
	IncludeResponseStatus: true,
	SkipSettingDefaults:   true,
	AuthenticationFunc:    requireKeyHeader,
}

// requireKeyHeader meets an apiKey scheme in a header when the request
// carries that header: the document's header names must be the server's.
func requireKeyHeader(_ context.Context, in *openapi3filter.AuthenticationInput) error {
	s := in.SecurityScheme
	if s.Type != "apiKey" || s.In != "header" {
		return in.NewError(fmt.Errorf("scheme %q is a %s in %s, want an apiKey in a header", in.SecuritySchemeName, s.Type, s.In))
	}
	if in.RequestValidationInput.Request.Header.Get(s.Name) == "" {
		return in.NewError(fmt.Errorf("header %s is missing", s.Name))
	}
	return nil
}

// exchange is one real request and the document's view of it.
type exchange struct {
	name        string
	srv         *server
	noKey       bool
	method      string
	target      string // path and query
	contentType string
	body        string
	status      int
	// refusedBy is empty when the request conforms to the document, and
	// otherwise a fragment of the validator's reason for refusing it: the
	// document refuses what the server refuses wherever it can say so.
	refusedBy string
	header    []string // more request headers: name and value in turn
	// during, when set, runs before the request, and what it returns
	// after: for answers given while another request is being answered.
	during func(t *testing.T) (end func())
	// events is how many events of a stream are read before the client
	// ends it; the body validated is what was read.
	events int
}

func (e exchange) request(t *testing.T) *http.Request {
	t.Helper()
	req, err := http.NewRequest(e.method, e.srv.URL+e.target, strings.NewReader(e.body))
	if err != nil {
		t.Fatal(err)
	}
	if e.contentType != "" {
		req.Header.Set("Content-Type", e.contentType)
	}
	if !e.noKey {
		req.Header.Set(access.AccessKeyHeader, e.srv.creds.AccessKey)
		req.Header.Set(access.SecretKeyHeader, e.srv.creds.SecretKey)
	}
	for i := 0; i+1 < len(e.header); i += 2 {
		req.Header.Add(e.header[i], e.header[i+1])
	}
	return req
}

// send makes the request and returns the response with its whole body,
// or for a stream its first e.events events.
func (e exchange) send(t *testing.T) (*http.Response, []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	res, err := http.DefaultClient.Do(e.request(t).WithContext(ctx))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.Header.Get("Content-Type") == "text/event-stream" {
		return res, firstEvents(t, res.Body, e.events)
	}
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res, body
}

// firstEvents reads a stream up to the end of its nth event, comments
// included.
func firstEvents(t *testing.T, stream io.Reader, n int) []byte {
	t.Helper()
	var out []byte
	lines := bufio.NewReader(stream)
	for block := ""; n > 0; {
		line, err := lines.ReadString('\n')
		if err != nil {
			t.Fatalf("the stream ended (%v) with %d events still to come", err, n)
		}
		out = append(out, line...)
		if block += line; line == "\n" {
			if !strings.HasPrefix(block, ":") {
				n--
			}
			block = ""
		}
	}
	return out
}

// eventData returns the data of each event of a stream.
func eventData(stream []byte) []string {
	var data []string
	for _, line := range strings.Split(string(stream), "\n") {
		if d, ok := strings.CutPrefix(line, "data: "); ok {
			data = append(data, d)
		}
	}
	return data
}

// check sends the request to the real handler and validates the request
// and the answer against the document. It returns the operation and status
// seen, such as "GET /v1/tasks/{id} 400".
func (o *openAPI) check(t *testing.T, e exchange) string {
	t.Helper()
	if e.during != nil {
		defer e.during(t)()
	}
	res, body := e.send(t)
	if res.StatusCode != e.status {
		t.Fatalf("status %d, want %d: %s", res.StatusCode, e.status, body)
	}

	req := e.request(t) // a fresh copy: validation reads and replaces the body
	route, pathParams, err := o.router.FindRoute(req)
	if err != nil {
		t.Fatalf("the document has no operation for %s %s: %v", e.method, e.target, err)
	}
	in := &openapi3filter.RequestValidationInput{Request: req, PathParams: pathParams, Route: route, Options: validation}
	err = openapi3filter.ValidateRequest(context.Background(), in)
	switch {
	case e.refusedBy == "" && err != nil:
		t.Errorf("the document refuses this request, which it should accept: %v", err)
	case e.refusedBy != "" && err == nil:
		t.Errorf("the document accepts the request, want it refused for %q", e.refusedBy)
	case e.refusedBy != "" && !strings.Contains(err.Error(), e.refusedBy):
		t.Errorf("the document refuses the request for another reason than %q: %v", e.refusedBy, err)
	}

	out := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: in, Status: res.StatusCode, Header: res.Header, Options: validation,
	}
	out.SetBodyBytes(body)
	if err := openapi3filter.ValidateResponse(context.Background(), out); err != nil {
		t.Errorf("the answer does not match the document: %v\n%s", err, body)
	}
	if res.Header.Get("Content-Type") == "text/event-stream" {
		change := o.doc.Components.Schemas["TaskChange"].Value
		for _, data := range eventData(body) {
			var v any
			if err := json.Unmarshal([]byte(data), &v); err != nil {
				t.Errorf("an event's data is not JSON: %v\n%s", err, data)
			} else if err := change.VisitJSON(v, openapi3.EnableJSONSchema2020()); err != nil {
				t.Errorf("an event's data does not match components.schemas.TaskChange: %v\n%s", err, data)
			}
		}
	}
	return route.Method + " " + route.Path + " " + strconv.Itoa(res.StatusCode)
}

// broken is a service whose every call fails with an internal fault.
type broken struct{ task.Service }

var errBroken = errors.New("database is on fire at /var/lib/secret.db")

func (broken) ListTasks(context.Context, task.ListParams) (task.Page, error) {
	return task.Page{}, errBroken
}
func (broken) Task(context.Context, int) (task.Task, error) { return task.Task{}, errBroken }
func (broken) CreateTask(context.Context, task.CreateInput) (task.Task, error) {
	return task.Task{}, errBroken
}
func (broken) UpdateTask(context.Context, int, task.UpdateInput, task.Expect) (task.Task, error) {
	return task.Task{}, errBroken
}
func (broken) DeleteTask(context.Context, int, task.Expect) (task.Task, error) {
	return task.Task{}, errBroken
}

// brokenFeed is a change feed whose every read fails with an internal
// fault.
type brokenFeed struct{}

func (brokenFeed) Changes(context.Context, feed.Query) (feed.Page, error) {
	return feed.Page{}, errBroken
}

// notExercised are the documented answers the REST handler alone cannot
// give, with the reason. The server's body limit (limitBody in server.go,
// tested by protection_test.go) refuses a body declared over 1 MiB on every
// route and method before routing; the REST handler reads no body on a GET.
var notExercised = map[string]string{
	"GET /v1/tasks 413":                "only the server's body limit refuses a GET body",
	"GET /v1/tasks/{id} 413":           "only the server's body limit refuses a GET body",
	"GET /v1/tasks/changes 413":        "only the server's body limit refuses a GET body",
	"GET /v1/tasks/changes/stream 413": "only the server's body limit refuses a GET body",
	"GET /v1/openapi.json 413":         "only the server's body limit refuses a GET body",
}

func TestRealAnswersMatchTheOpenAPIDocument(t *testing.T) {
	o := loadOpenAPI(t)
	srv := newServer(t, nil)
	limited := newServerWithLimit(t, nil, 0.5) // bursts of 1: the second request within 2 s is refused
	faulty := newServer(t, func(s task.Service) task.Service { return broken{s} })
	faultyFeed := newFeedServer(t, func(o *rest.Options) { o.Feed = brokenFeed{} }, nil).server
	bounded := newFeedServer(t, func(o *rest.Options) { o.Streams = feed.NewStreams(1) }, nil).server
	// Its oldest two changes are no longer kept.
	expired := newServer(t, nil)
	expired.seed(t, valid, valid, valid)
	expiredAfter := strconv.FormatInt(expired.storedSeqs(t)[0], 10)
	expire(t, expired, 2)
	var stall *stalling
	stalled := newServer(t, stallingService(&stall))
	stalledPath := "/v1/tasks/" + strconv.Itoa(stalled.seed(t, valid)[0])
	id := srv.seed(t, valid, `{"title":"Send contract","start_datetime":"2026-07-16T09:00:00","end_datetime":"2026-07-17T09:00:00",
		"deal_id":3,"priority":4,"status":1,"assigned_user_id":7,"description":"Renewal","tags":[4,7]}`)[1]
	taskPath := "/v1/tasks/" + strconv.Itoa(id)
	const start = `"title":"t","start_datetime":"2026-07-15T10:00:00"`

	post := func(name, body string, status int, refusedBy string, header ...string) exchange {
		return exchange{name: name, srv: srv, method: http.MethodPost, target: "/v1/tasks",
			contentType: "application/json", body: body, status: status, refusedBy: refusedBy, header: header}
	}
	// Each change and delete has a task of its own, at version 1.
	fresh := func() string { return "/v1/tasks/" + strconv.Itoa(srv.seed(t, valid)[0]) }
	patch := func(name, target, body string, status int, refusedBy string, header ...string) exchange {
		return exchange{name: name, srv: srv, method: http.MethodPatch, target: target,
			contentType: "application/json", body: body, status: status, refusedBy: refusedBy, header: header}
	}
	del := func(name, target string, status int, refusedBy string, header ...string) exchange {
		return exchange{name: name, srv: srv, method: http.MethodDelete, target: target, status: status,
			refusedBy: refusedBy, header: header}
	}
	// inUse answers while a write under the same key is held in the
	// service.
	inUse := func(method, target, body string) func(t *testing.T) func() {
		return func(t *testing.T) func() {
			end := stall.running(t, stalled, method, target, body, idempotency.Header, "in-use-"+method)
			return func() {
				if status := end(); status != http.StatusOK {
					t.Errorf("the held request answered %d, want 200", status)
				}
			}
		}
	}
	changed, deleted, conditional, replayedChange, replayedDelete := fresh(), fresh(), fresh(), fresh(), fresh()
	other := fresh()
	get := func(name, target string, status int, refusedBy string) exchange {
		return exchange{name: name, srv: srv, method: http.MethodGet, target: target, status: status, refusedBy: refusedBy}
	}
	exchanges := []exchange{
		post("a create with every field answers 200 with the whole task", `{`+start+`,"end_datetime":"2026-07-15T11:00:00",
			"description":"Renewal","deal_id":3,"cstid":10,"priority":3,"status":1,"assigned_user_id":7,"tags":[4,7,4]}`, 200, ""),
		post("a create with the least a task needs answers 200 with nulls", `{`+start+`,"cstid":10}`, 200, ""),
		post("a create with explicit nulls and unknown fields answers 200", `{`+start+`,"deal_id":1,"cstid":null,
			"end_datetime":null,"description":null,"priority":null,"status":null,"assigned_user_id":null,"tags":null,
			"activity_type":"Event","colour":"red"}`, 200, ""),
		{name: "a create with a charset on the content type answers 200", srv: srv, method: http.MethodPost,
			target: "/v1/tasks", contentType: "application/json; charset=utf-8", body: valid, status: 200},
		post("a create at the ends of every range answers 200", `{"title":"`+strings.Repeat("日", 150)+`",
			"start_datetime":"2026-07-15T10:00:00","end_datetime":"2026-07-15T10:00:00","deal_id":1,"cstid":1,
			"status":4,"priority":0,"assigned_user_id":1,"description":"`+strings.Repeat("ü", 10000)+`","tags":[`+numbers(50)+`]}`, 200, ""),

		post("a missing title is a 422", `{"start_datetime":"2026-07-15T10:00:00","cstid":1}`, 422, "property \"title\" is missing"),
		post("a blank title is a 422", `{"title":"   ","start_datetime":"2026-07-15T10:00:00","cstid":1}`, 422, "/title"),
		post("a title of 151 characters is a 422", `{"title":"`+strings.Repeat("é", 151)+`","start_datetime":"2026-07-15T10:00:00","cstid":1}`, 422, "/title"),
		post("a missing start is a 422", `{"title":"t","cstid":1}`, 422, "property \"start_datetime\" is missing"),
		post("a start with a zone is a 422", `{"title":"t","start_datetime":"2026-07-15T10:00:00Z","cstid":1}`, 422, "/start_datetime"),
		post("a start with a fraction of a second is a 422", `{"title":"t","start_datetime":"2026-07-15T10:00:00.5","cstid":1}`, 422, "/start_datetime"),
		post("a date for a start is a 422", `{"title":"t","start_datetime":"2026-07-15","cstid":1}`, 422, "/start_datetime"),
		// The document's pattern checks the form; the server also checks the calendar.
		post("an impossible start day is a 422", `{"title":"t","start_datetime":"2026-02-30T10:00:00","cstid":1}`, 422, ""),
		// An order of two fields is a rule the document only states in words.
		post("an end before the start is a 422", `{`+start+`,"end_datetime":"2026-07-15T09:59:59","cstid":1}`, 422, ""),
		// So is "at least one of deal_id and cstid".
		post("neither a deal nor a contact is a 422 on both", `{`+start+`}`, 422, ""),
		post("both deal and contact null is a 422 on both", `{`+start+`,"deal_id":null,"cstid":null}`, 422, ""),
		post("a zero deal id is a 422", `{`+start+`,"deal_id":0}`, 422, "/deal_id"),
		post("a negative contact id is a 422", `{`+start+`,"cstid":-3}`, 422, "/cstid"),
		post("a zero assigned user is a 422", `{`+start+`,"cstid":1,"assigned_user_id":0}`, 422, "/assigned_user_id"),
		post("a priority above 4 is a 422", `{`+start+`,"cstid":1,"priority":5}`, 422, "/priority"),
		post("a negative status is a 422", `{`+start+`,"cstid":1,"status":-1}`, 422, "/status"),
		post("a description over 10000 characters is a 422", `{`+start+`,"cstid":1,"description":"`+strings.Repeat("d", 10001)+`"}`, 422, "/description"),
		post("51 tags are a 422", `{`+start+`,"cstid":1,"tags":[`+numbers(51)+`]}`, 422, "/tags"),
		post("a zero tag is a 422", `{`+start+`,"cstid":1,"tags":[1,0]}`, 422, "/tags"),
		post("a quoted deal id is a 422", `{`+start+`,"deal_id":"10"}`, 422, "/deal_id"),
		post("a fractional contact id is a 422", `{`+start+`,"cstid":1.5}`, 422, "/cstid"),
		post("a named priority is a 422", `{`+start+`,"cstid":1,"priority":"high"}`, 422, "/priority"),
		post("tags as a string are a 422", `{`+start+`,"cstid":1,"tags":"1,2"}`, 422, "/tags"),
		post("a numeric title is a 422", `{"title":5,"start_datetime":"2026-07-15T10:00:00","cstid":1}`, 422, "/title"),
		post("a boolean description is a 422", `{`+start+`,"cstid":1,"description":true}`, 422, "/description"),
		post("several broken rules are one 422", `{"title":"","start_datetime":"2026-02-30T10:00:00"}`, 422, "/title"),

		post("a body that is not JSON is a 400", `{"title":`, 400, "request body has an error"),
		post("a JSON array is a 400", `[{"title":"t"}]`, 400, "request body has an error"),
		post("a JSON null is a 400", `null`, 400, "request body has an error"),
		{name: "a plain-text body is a 415", srv: srv, method: http.MethodPost, target: "/v1/tasks",
			contentType: "text/plain", body: valid, status: 415, refusedBy: "Content-Type"},
		{name: "a body without a content type is a 415", srv: srv, method: http.MethodPost, target: "/v1/tasks",
			body: valid, status: 415, refusedBy: "Content-Type"},
		// The padding is an unknown field: the document takes the body; its size is what the server refuses.
		post("a body over 1 MiB is a 413", `{`+start+`,"cstid":1,"padding":"`+strings.Repeat("a", 1<<20)+`"}`, 413, ""),

		post("a create with an Idempotency-Key answers 200", valid, 200, "", idempotency.Header, "create-1"),
		post("a repeated create answers the same, marked as replayed", valid, 200, "", idempotency.Header, "create-1"),
		post("a create key with another body is a 422", `{`+start+`,"cstid":2}`, 422, "", idempotency.Header, "create-1"),
		post("a create key of 300 characters is a 422", valid, 422, "Idempotency-Key", idempotency.Header, strings.Repeat("k", 300)),
		post("a create key with a space is a 422", valid, 422, "Idempotency-Key", idempotency.Header, "two words"),
		{name: "a create under a key still being answered is a 409", srv: stalled, method: http.MethodPost, target: "/v1/tasks",
			contentType: "application/json", body: valid, status: 409, header: []string{idempotency.Header, "in-use-POST"},
			during: inUse(http.MethodPost, "/v1/tasks", valid)},

		patch("a change of every field answers 200", changed, `{"title":"Send contract","start_datetime":"2026-07-16T09:00:00",
			"end_datetime":"2026-07-17T09:00:00","description":"Renewal","deal_id":3,"cstid":10,"priority":4,"status":2,
			"assigned_user_id":7,"tags":[4,7,4]}`, 200, ""),
		patch("a change that clears every optional field it may answers 200", changed, `{"end_datetime":null,
			"description":null,"deal_id":null,"assigned_user_id":null,"tags":null}`, 200, ""),
		patch("a change that alters nothing answers 200", changed, `{}`, 200, ""),
		patch("a change with unknown and read-only fields answers 200", changed, `{"colour":"red","activity_id":1,
			"version":9,"completed_at":"2026-01-01T00:00:00","title":"Call back"}`, 200, ""),
		patch("a change conditional on the current version answers 200", conditional, `{"priority":1}`, 200, "", "If-Match", `"1"`),
		patch("a change conditional on an old version is a 412", conditional, `{"priority":3}`, 412, "", "If-Match", `"1"`),
		patch("a change conditional on a weak tag is a 412", conditional, `{"priority":3}`, 412, "", "If-Match", `W/"2"`),
		patch("a change conditional on any version answers 200", conditional, `{"priority":3}`, 200, "", "If-Match", "*"),
		patch("a change with a malformed If-Match is a 422", conditional, `{"priority":0}`, 422, "If-Match", "If-Match", "3"),
		patch("a change with an Idempotency-Key answers 200", replayedChange, `{"status":1}`, 200, "", idempotency.Header, "change-1"),
		patch("a repeated change answers the same, marked as replayed", replayedChange, `{"status":1}`, 200, "", idempotency.Header, "change-1"),
		patch("a repeat of a refused change is refused alike", replayedChange, `{"title":null}`, 422, "/title", idempotency.Header, "change-2"),
		patch("and so is its repeat", replayedChange, `{"title":null}`, 422, "/title", idempotency.Header, "change-2"),
		patch("a change key with another body is a 422", replayedChange, `{"status":3}`, 422, "", idempotency.Header, "change-1"),
		patch("a change to a null title is a 422", other, `{"title":null}`, 422, "/title"),
		patch("a change to a null status is a 422", other, `{"status":null}`, 422, "/status"),
		patch("a change to a title of 151 characters is a 422", other, `{"title":"`+strings.Repeat("é", 151)+`"}`, 422, "/title"),
		patch("a change to a quoted deal id is a 422", other, `{"deal_id":"3"}`, 422, "/deal_id"),
		// Rules on two fields, for the task as it would be, are stated in words.
		patch("an end before the stored start is a 422", other, `{"end_datetime":"2026-07-14T10:00:00"}`, 422, ""),
		patch("removing the last of deal_id and cstid is a 422", other, `{"cstid":null}`, 422, ""),
		patch("a change of a word id is a 422", "/v1/tasks/abc", `{}`, 422, "parameter \"id\" in path"),
		patch("a change of a missing task answers 400 Task not found", "/v1/tasks/999999", `{}`, 400, ""),
		patch("a change of a missing task answers 400 whatever If-Match says", "/v1/tasks/999999", `{}`, 400, "", "If-Match", `"1"`),
		patch("a body that is not a JSON object is a 400", other, `[]`, 400, "request body has an error"),
		{name: "a plain-text change is a 415", srv: srv, method: http.MethodPatch, target: other,
			contentType: "text/plain", body: `{}`, status: 415, refusedBy: "Content-Type"},
		patch("a change over 1 MiB is a 413", other, `{"padding":"`+strings.Repeat("a", 1<<20)+`"}`, 413, ""),
		{name: "a change under a key still being answered is a 409", srv: stalled, method: http.MethodPatch, target: stalledPath,
			contentType: "application/json", body: `{"status":1}`, status: 409, header: []string{idempotency.Header, "in-use-PATCH"},
			during: inUse(http.MethodPatch, stalledPath, `{"status":1}`)},

		del("a delete conditional on an old version is a 412", deleted, 412, "", "If-Match", `"7", "8"`),
		del("a delete with a malformed If-Match is a 422", deleted, 422, "If-Match", "If-Match", `"1`),
		del("a delete key of 300 characters is a 422", deleted, 422, "Idempotency-Key", idempotency.Header, strings.Repeat("k", 300)),
		del("a delete of a word id is a 422", "/v1/tasks/abc", 422, "parameter \"id\" in path"),
		del("a delete conditional on the current version answers 200", deleted, 200, "", "If-Match", `"1"`),
		del("a second delete answers 400 Task not found", deleted, 400, ""),
		del("a delete with an Idempotency-Key answers 200", replayedDelete, 200, "", idempotency.Header, "delete-1"),
		del("a repeated delete answers the same, marked as replayed", replayedDelete, 200, "", idempotency.Header, "delete-1"),
		del("a delete key used on another task is a 422", other, 422, "", idempotency.Header, "delete-1"),
		{name: "a delete with a body over 1 MiB under a key is a 413", srv: srv, method: http.MethodDelete, target: other,
			body: strings.Repeat("a", 1<<20+1), status: 413, header: []string{idempotency.Header, "delete-2"}},
		{name: "a delete under a key still being answered is a 409", srv: stalled, method: http.MethodDelete, target: stalledPath,
			status: 409, header: []string{idempotency.Header, "in-use-DELETE"}, during: inUse(http.MethodDelete, stalledPath, "")},

		get("an existing task answers 200", taskPath, 200, ""),
		{name: "a task whose version If-None-Match names answers 304", srv: srv, method: http.MethodGet, target: taskPath,
			status: 304, header: []string{"If-None-Match", `W/"1"`}},
		{name: "a task that If-None-Match * names answers 304", srv: srv, method: http.MethodGet, target: taskPath,
			status: 304, header: []string{"If-None-Match", "*"}},
		{name: "a task at another version than If-None-Match names answers 200", srv: srv, method: http.MethodGet, target: taskPath,
			status: 200, header: []string{"If-None-Match", `"2"`}},
		{name: "a malformed If-None-Match is a 422", srv: srv, method: http.MethodGet, target: taskPath,
			status: 422, refusedBy: "If-None-Match", header: []string{"If-None-Match", "1"}},
		get("a missing task answers 400 Task not found", "/v1/tasks/999999", 400, ""),
		get("a word id is a 422", "/v1/tasks/abc", 422, "parameter \"id\" in path"),
		get("a zero id is a 422", "/v1/tasks/0", 422, "parameter \"id\" in path"),
		get("a fractional id is a 422", "/v1/tasks/1.5", 422, "parameter \"id\" in path"),

		get("the list with no parameters answers 200", "/v1/tasks", 200, ""),
		get("the list with every filter answers 200", "/v1/tasks?pageSize=5&pageIndex=0&search=contract&status=1&priority=4"+
			"&assigned_user_id=7&due_date_from=2026-07-01&due_date_to=2026-07-31&sortBy=due_date&sortOrder=DESC", 200, ""),
		get("the list at the ends of every range answers 200", "/v1/tasks?pageSize=100&pageIndex=0&status=4&priority=0"+
			"&assigned_user_id=1&due_date_from=2026-07-15&due_date_to=2026-07-15&sortOrder=asc", 200, ""),
		get("a page past the end answers 200 with no tasks", "/v1/tasks?pageIndex=50", 200, ""),
		get("a page size above 100 is served as 100", "/v1/tasks?pageSize=500", 200, ""),
		get("unknown parameters are ignored", "/v1/tasks?colour=red", 200, ""),
		get("a word page size is a 422", "/v1/tasks?pageSize=ten", 422, "parameter \"pageSize\" in query"),
		get("a zero page size is a 422", "/v1/tasks?pageSize=0", 422, "parameter \"pageSize\" in query"),
		get("a negative page index is a 422", "/v1/tasks?pageIndex=-1", 422, "parameter \"pageIndex\" in query"),
		get("a status above 4 is a 422", "/v1/tasks?status=5", 422, "parameter \"status\" in query"),
		get("a word priority is a 422", "/v1/tasks?priority=high", 422, "parameter \"priority\" in query"),
		get("a zero assignee is a 422", "/v1/tasks?assigned_user_id=0", 422, "parameter \"assigned_user_id\" in query"),
		get("an impossible due_date_from is a 422", "/v1/tasks?due_date_from=2026-02-30", 422, "parameter \"due_date_from\" in query"),
		get("a due_date_to with a time is a 422", "/v1/tasks?due_date_to=2026-02-01T00:00:00", 422, "parameter \"due_date_to\" in query"),
		get("a range that ends before it starts is a 422", "/v1/tasks?due_date_from=2026-02-02&due_date_to=2026-02-01", 422, ""),
		get("an unknown sort field is a 422", "/v1/tasks?sortBy=colour", 422, "parameter \"sortBy\" in query"),
		get("an unknown sort order is a 422", "/v1/tasks?sortOrder=up", 422, "parameter \"sortOrder\" in query"),
		get("several bad parameters are one 422", "/v1/tasks?pageSize=0&status=9&sortOrder=up", 422, "parameter \"pageSize\" in query"),
		get("a query string with a semicolon is a 422", "/v1/tasks?status=1;priority=2", 422, ""),

		{name: "a list without a key is a 401", srv: srv, noKey: true, method: http.MethodGet, target: "/v1/tasks",
			status: 401, refusedBy: "security requirements failed"},
		{name: "a task without a key is a 401", srv: srv, noKey: true, method: http.MethodGet, target: taskPath,
			status: 401, refusedBy: "security requirements failed"},
		{name: "a create without a key is a 401", srv: srv, noKey: true, method: http.MethodPost, target: "/v1/tasks",
			contentType: "application/json", body: valid, status: 401, refusedBy: "security requirements failed"},
		{name: "a change without a key is a 401", srv: srv, noKey: true, method: http.MethodPatch, target: taskPath,
			contentType: "application/json", body: `{}`, status: 401, refusedBy: "security requirements failed"},
		{name: "a delete without a key is a 401", srv: srv, noKey: true, method: http.MethodDelete, target: taskPath,
			status: 401, refusedBy: "security requirements failed"},
		{name: "a wrong secret is a 401", srv: &server{URL: srv.URL, creds: access.Credentials{AccessKey: srv.creds.AccessKey, SecretKey: "sk_wrong"}},
			method: http.MethodGet, target: "/v1/tasks", status: 401},

		{name: "a list within the rate limit carries the limit headers", srv: limited, method: http.MethodGet, target: "/v1/tasks", status: 200},
		{name: "a create over the rate limit is a 429", srv: limited, method: http.MethodPost, target: "/v1/tasks",
			contentType: "application/json", body: valid, status: 429},
		{name: "a task over the rate limit is a 429", srv: limited, method: http.MethodGet, target: "/v1/tasks/1", status: 429},
		{name: "a list over the rate limit is a 429", srv: limited, method: http.MethodGet, target: "/v1/tasks", status: 429},
		{name: "a change over the rate limit is a 429", srv: limited, method: http.MethodPatch, target: "/v1/tasks/1",
			contentType: "application/json", body: `{}`, status: 429},
		{name: "a delete over the rate limit is a 429", srv: limited, method: http.MethodDelete, target: "/v1/tasks/1", status: 429},

		{name: "a list that fails inside is a 500", srv: faulty, method: http.MethodGet, target: "/v1/tasks", status: 500},
		{name: "a task that fails inside is a 500", srv: faulty, method: http.MethodGet, target: "/v1/tasks/1", status: 500},
		{name: "a create that fails inside is a 500", srv: faulty, method: http.MethodPost, target: "/v1/tasks",
			contentType: "application/json", body: valid, status: 500},
		{name: "a change that fails inside is a 500", srv: faulty, method: http.MethodPatch, target: "/v1/tasks/1",
			contentType: "application/json", body: `{}`, status: 500},
		{name: "a delete that fails inside is a 500", srv: faulty, method: http.MethodDelete, target: "/v1/tasks/1", status: 500},

		{name: "the document is served without a key", srv: srv, noKey: true, method: http.MethodGet, target: "/v1/openapi.json", status: 200},

		get("the feed with no parameters answers 200", "/v1/tasks/changes", 200, ""),
		get("a page of the feed answers 200", "/v1/tasks/changes?after=2&limit=3", 200, ""),
		get("a read of the feed past its head answers 200 with no changes", "/v1/tasks/changes?after=9007199254740991", 200, ""),
		get("a limit above 1000 is served as 1000", "/v1/tasks/changes?limit=5000", 200, ""),
		get("an after that is a word is a 422", "/v1/tasks/changes?after=latest", 422, "parameter \"after\" in query"),
		get("a negative after is a 422", "/v1/tasks/changes?after=-1", 422, "parameter \"after\" in query"),
		get("an after past 2^53 - 1 is a 422", "/v1/tasks/changes?after=9007199254740992", 422, "parameter \"after\" in query"),
		get("a zero limit is a 422", "/v1/tasks/changes?limit=0", 422, "parameter \"limit\" in query"),
		get("a fractional limit is a 422", "/v1/tasks/changes?limit=2.5", 422, "parameter \"limit\" in query"),
		get("a feed query string with a semicolon is a 422", "/v1/tasks/changes?after=1;limit=2", 422, ""),
		{name: "a read of the feed without a key is a 401", srv: srv, noKey: true, method: http.MethodGet,
			target: "/v1/tasks/changes", status: 401, refusedBy: "security requirements failed"},
		{name: "a read of the feed from a point no longer kept is a 410", srv: expired, method: http.MethodGet,
			target: "/v1/tasks/changes?after=" + expiredAfter, status: 410},
		{name: "a read of the feed over the rate limit is a 429", srv: limited, method: http.MethodGet,
			target: "/v1/tasks/changes", status: 429},
		{name: "a read of the feed that fails inside is a 500", srv: faultyFeed, method: http.MethodGet,
			target: "/v1/tasks/changes", status: 500},

		{name: "a stream from the start sends each change as an event", srv: srv, method: http.MethodGet,
			target: "/v1/tasks/changes/stream?after=0", status: 200, events: 3},
		{name: "a stream resumed by Last-Event-ID sends the changes after it", srv: srv, method: http.MethodGet,
			target: "/v1/tasks/changes/stream?after=0", status: 200, events: 1, header: []string{"Last-Event-ID", "3"}},
		{name: "a stream from now answers 200 at once", srv: srv, method: http.MethodGet,
			target: "/v1/tasks/changes/stream", status: 200},
		{name: "a stream from a word is a 422", srv: srv, method: http.MethodGet,
			target: "/v1/tasks/changes/stream?after=now", status: 422, refusedBy: "parameter \"after\" in query"},
		{name: "a stream from a Last-Event-ID that is not a seq is a 422", srv: srv, method: http.MethodGet,
			target: "/v1/tasks/changes/stream", status: 422, refusedBy: "parameter \"Last-Event-ID\" in header",
			header: []string{"Last-Event-ID", "-1"}},
		{name: "a stream without a key is a 401", srv: srv, noKey: true, method: http.MethodGet,
			target: "/v1/tasks/changes/stream", status: 401, refusedBy: "security requirements failed"},
		{name: "a stream from a point no longer kept is a 410", srv: expired, method: http.MethodGet,
			target: "/v1/tasks/changes/stream?after=" + expiredAfter, status: 410},
		{name: "a stream over the rate limit is a 429", srv: limited, method: http.MethodGet,
			target: "/v1/tasks/changes/stream", status: 429},
		{name: "a stream beyond the key's bound of streams is a 429", srv: bounded, method: http.MethodGet,
			target: "/v1/tasks/changes/stream", status: 429, during: func(t *testing.T) func() {
				held := bounded.openStream(t, "/v1/tasks/changes/stream")
				held.isStream(t)
				return held.close
			}},
		{name: "a stream whose feed fails inside is a 500", srv: faultyFeed, method: http.MethodGet,
			target: "/v1/tasks/changes/stream?after=0", status: 500},
	}

	for _, field := range []string{"activity_id", "title", "status", "priority", "start_datetime", "end_datetime",
		"due_date", "created_at", "updated_at"} {
		exchanges = append(exchanges, get("sorting by "+field+" answers 200", "/v1/tasks?sortBy="+field, 200, ""))
	}

	seen := map[string]bool{}
	for _, e := range exchanges {
		t.Run(e.name, func(t *testing.T) { seen[o.check(t, e)] = true })
	}

	t.Run("every documented answer of every operation was given by the handler", func(t *testing.T) {
		for _, path := range o.doc.Paths.InMatchingOrder() {
			for method, op := range o.doc.Paths.Value(path).Operations() {
				for status := range op.Responses.Map() {
					answer := method + " " + path + " " + status
					if !seen[answer] && notExercised[answer] == "" {
						t.Errorf("%s is documented but no request above got it", answer)
					}
				}
			}
		}
		for answer, reason := range notExercised {
			if seen[answer] || !documented(o.doc, answer) {
				t.Errorf("%s is listed as not exercised (%s), but it was given or is not documented", answer, reason)
			}
		}
	})
}

// documented reports whether the document lists answer ("GET /path 200").
func documented(doc *openapi3.T, answer string) bool {
	f := strings.Fields(answer)
	item := doc.Paths.Value(f[1])
	if item == nil {
		return false
	}
	op := item.GetOperation(f[0])
	return op != nil && op.Responses.Value(f[2]) != nil
}

// numbers is "1,2,...,n".
func numbers(n int) string {
	s := make([]string, n)
	for i := range s {
		s[i] = strconv.Itoa(i + 1)
	}
	return strings.Join(s, ",")
}

func TestTheDocumentIsServedWithoutAKeyExactlyAsKept(t *testing.T) {
	o := loadOpenAPI(t)
	srv := newServer(t, nil)
	res, err := http.Get(srv.URL + "/v1/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != http.StatusOK || res.Header.Get("Content-Type") != "application/json" {
		t.Errorf("got %d %q, want 200 application/json", res.StatusCode, res.Header.Get("Content-Type"))
	}
	if !bytes.Equal(body, o.raw) {
		t.Errorf("the served document (%d bytes) differs from rest/openapi.json (%d bytes)", len(body), len(o.raw))
	}
	if !json.Valid(body) {
		t.Error("the served document is not valid JSON")
	}
	if res.Header.Get("X-RateLimit-Limit") != "" {
		t.Error("the document request was charged to a rate limit")
	}
}

func TestTheDocumentIsAValidOpenAPI31Document(t *testing.T) {
	o := loadOpenAPI(t) // loads and validates it
	if o.doc.OpenAPI != "3.1.0" || !o.doc.IsOpenAPI31OrLater() {
		t.Errorf("openapi = %q, want 3.1.0", o.doc.OpenAPI)
	}
}

func TestTheKeyHeadersGuardEveryTaskOperationAndNotTheDocument(t *testing.T) {
	o := loadOpenAPI(t)
	schemes := o.doc.Components.SecuritySchemes
	for name, header := range map[string]string{"accessKey": access.AccessKeyHeader, "secretKey": access.SecretKeyHeader} {
		s := schemes[name]
		if s == nil || s.Value.Type != "apiKey" || s.Value.In != "header" || s.Value.Name != header {
			t.Errorf("security scheme %s is not an apiKey in the header %s", name, header)
		}
	}
	want := openapi3.SecurityRequirements{{"accessKey": []string{}, "secretKey": []string{}}}
	for _, path := range o.doc.Paths.InMatchingOrder() {
		for method, op := range o.doc.Paths.Value(path).Operations() {
			switch {
			case path == "/v1/openapi.json":
				if op.Security == nil || len(*op.Security) != 0 {
					t.Errorf("%s %s asks for a key, want none", method, path)
				}
			case op.Security == nil || !equalRequirements(*op.Security, want):
				t.Errorf("%s %s does not require both key headers together", method, path)
			}
		}
	}
	if len(o.doc.Security) != 0 {
		t.Error("the document sets a global security requirement; each operation says its own")
	}
}

func equalRequirements(a, b openapi3.SecurityRequirements) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if len(a[i]) != len(b[i]) {
			return false
		}
		for k := range a[i] {
			if _, ok := b[i][k]; !ok {
				return false
			}
		}
	}
	return true
}

func TestTheTaskSchemaListsEveryFieldOfARealTaskAsRequired(t *testing.T) {
	o := loadOpenAPI(t)
	srv := newServer(t, nil)
	var got map[string]any
	if err := json.Unmarshal(srv.post(t, "/v1/tasks", valid).Data, &got); err != nil {
		t.Fatal(err)
	}
	var fields []string
	for f := range got {
		fields = append(fields, f)
	}
	sort.Strings(fields)

	schema := o.doc.Components.Schemas["Task"].Value
	var properties []string
	for p := range schema.Properties {
		properties = append(properties, p)
	}
	sort.Strings(properties)
	required := slices.Sorted(slices.Values(schema.Required))
	if !slices.Equal(properties, fields) || !slices.Equal(required, fields) {
		t.Errorf("Task properties %v, required %v; a real task has %v", properties, required, fields)
	}
}

func TestEveryDocumentedBodyFieldIsReadByTheServer(t *testing.T) {
	o := loadOpenAPI(t)
	srv := newServer(t, nil)
	id := strconv.Itoa(srv.seed(t, valid)[0])
	bodies := []struct {
		schema, method, path, body string
	}{
		{"CreateTaskRequest", http.MethodPost, "/v1/tasks", valid},
		{"UpdateTaskRequest", http.MethodPatch, "/v1/tasks/" + id, `{}`},
	}
	for _, b := range bodies {
		schema := o.doc.Components.Schemas[b.schema].Value
		if len(schema.Properties) == 0 {
			t.Fatalf("%s has no properties", b.schema)
		}
		for field := range schema.Properties {
			t.Run(field+" of the wrong type in a "+b.method+" is a 422 on "+field, func(t *testing.T) {
				body := strings.TrimSuffix(b.body, "}")
				if body != "{" {
					body += ","
				}
				r := srv.send(t, b.method, b.path, "application/json", body+`"`+field+`":{}}`)
				if r.Status != http.StatusUnprocessableEntity || len(r.Errors[field]) == 0 {
					t.Errorf("got %d %v, want 422 on %s", r.Status, r.Errors, field)
				}
			})
		}
		for _, field := range schema.Required {
			t.Run("a "+b.method+" without "+field+" is a 422 on "+field, func(t *testing.T) {
				var body map[string]any
				if err := json.Unmarshal([]byte(b.body), &body); err != nil {
					t.Fatal(err)
				}
				delete(body, field)
				raw, _ := json.Marshal(body)
				if r := srv.send(t, b.method, b.path, "application/json", string(raw)); r.Status != http.StatusUnprocessableEntity || len(r.Errors[field]) == 0 {
					t.Errorf("got %d %v, want 422 on %s", r.Status, r.Errors, field)
				}
			})
		}
	}
}

func TestEveryDocumentedQueryParameterIsReadByTheServer(t *testing.T) {
	o := loadOpenAPI(t)
	srv := newServer(t, nil)
	op := o.doc.Paths.Value("/v1/tasks").Get
	if len(op.Parameters) == 0 {
		t.Fatal("GET /v1/tasks has no parameters")
	}
	for _, p := range op.Parameters {
		name := p.Value.Name
		if name == "search" { // any text is a search: it is read when it filters
			t.Run("a search filters by title", func(t *testing.T) {
				srv.seed(t, valid)
				if d := srv.list(t, "/v1/tasks?search=no-such-title"); d.TotalRecords != 0 {
					t.Errorf("the search matched %d tasks, want 0", d.TotalRecords)
				}
			})
			continue
		}
		t.Run("a bad "+name+" is a 422 on "+name, func(t *testing.T) {
			r := srv.get(t, "/v1/tasks?"+name+"=%21bad")
			if r.Status != http.StatusUnprocessableEntity || len(r.Errors[name]) == 0 {
				t.Errorf("got %d %v, want 422 on %s", r.Status, r.Errors, name)
			}
		})
	}
}

func TestUnknownPathsAndMethodsAnswerAsTheDocumentSays(t *testing.T) {
	o := loadOpenAPI(t)
	srv := newServer(t, nil)
	// The document says in words how these answer: the error envelope,
	// and for a 405 the methods the path takes in Allow.
	envelope := o.doc.Components.Schemas["Error"]
	if envelope == nil {
		t.Fatal("components.schemas has no Error")
	}
	allow := &openapi3.HeaderRef{Value: &openapi3.Header{Parameter: openapi3.Parameter{
		Required: true, Schema: openapi3.NewStringSchema().WithMinLength(1).NewRef()}}}
	tests := []struct {
		name, method, path, message, allow string
		status                             int
	}{
		{"an unknown path is a 404", http.MethodGet, "/v1/projects", "Not found", "", http.StatusNotFound},
		{"a trailing slash is a 404", http.MethodGet, "/v1/tasks/", "Not found", "", http.StatusNotFound},
		{"a path below the stream is a 404", http.MethodGet, "/v1/tasks/changes/stream/1", "Not found", "", http.StatusNotFound},
		{"PUT on the list is a 405", http.MethodPut, "/v1/tasks", "Method not allowed", "GET, HEAD, POST", http.StatusMethodNotAllowed},
		{"PUT on a task is a 405", http.MethodPut, "/v1/tasks/1", "Method not allowed", "DELETE, GET, HEAD, PATCH", http.StatusMethodNotAllowed},
		{"POST on the stream is a 405", http.MethodPost, "/v1/tasks/changes/stream", "Method not allowed", "GET, HEAD", http.StatusMethodNotAllowed},
		{"POST on the document is a 405", http.MethodPost, "/v1/openapi.json", "Method not allowed", "GET, HEAD", http.StatusMethodNotAllowed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, _, err := o.router.FindRoute(mustRequest(t, tt.method, srv.URL+tt.path)); err == nil {
				t.Fatalf("the document has an operation for %s %s", tt.method, tt.path)
			}
			e := exchange{srv: srv, method: tt.method, target: tt.path, status: tt.status}
			res, body := e.send(t)
			if res.StatusCode != tt.status || res.Header.Get("Allow") != tt.allow {
				t.Errorf("got %d with Allow %q, want %d with Allow %q", res.StatusCode, res.Header.Get("Allow"), tt.status, tt.allow)
			}
			var env struct{ Message string }
			if json.Unmarshal(body, &env) != nil || env.Message != tt.message {
				t.Errorf("message %q, want %q", env.Message, tt.message)
			}
			// No operation answers these, so the answer is checked as the
			// one answer of a stand-in operation.
			response := openapi3.NewResponse().WithDescription(tt.name).WithJSONSchemaRef(envelope)
			if tt.allow != "" {
				response.Headers = openapi3.Headers{"Allow": allow}
			}
			op := &openapi3.Operation{Responses: openapi3.NewResponses(openapi3.WithStatus(tt.status, &openapi3.ResponseRef{Value: response}))}
			route := &routers.Route{Spec: o.doc, Path: tt.path, Method: tt.method, Operation: op, PathItem: &openapi3.PathItem{}}
			out := &openapi3filter.ResponseValidationInput{
				RequestValidationInput: &openapi3filter.RequestValidationInput{Request: e.request(t), Route: route, Options: validation},
				Status:                 res.StatusCode, Header: res.Header, Options: validation,
			}
			out.SetBodyBytes(body)
			if err := openapi3filter.ValidateResponse(context.Background(), out); err != nil {
				t.Errorf("the answer is not the error envelope of components.schemas.Error: %v\n%s", err, body)
			}
		})
	}
}

func TestEveryDocumentedParameterOfTheFeedIsReadByTheServer(t *testing.T) {
	o := loadOpenAPI(t)
	srv := newFeedServer(t, nil, nil)
	for _, path := range []string{"/v1/tasks/changes", "/v1/tasks/changes/stream"} {
		op := o.doc.Paths.Value(path).Get
		if len(op.Parameters) == 0 {
			t.Fatalf("GET %s has no parameters", path)
		}
		for _, p := range op.Parameters {
			name, in := p.Value.Name, p.Value.In
			t.Run("a bad "+name+" of "+path+" is a 422 on "+name, func(t *testing.T) {
				target, headers := path+"?"+name+"=%21bad", []string(nil)
				if in == "header" {
					target, headers = path, []string{name, "!bad"}
				}
				r := srv.openStream(t, target, headers...).refusal(t)
				if r.Status != http.StatusUnprocessableEntity || len(r.Errors[name]) == 0 {
					t.Errorf("got %d %v, want 422 on %s", r.Status, r.Errors, name)
				}
			})
		}
	}
}

func TestTheChangeSchemaListsEveryFieldOfARealChange(t *testing.T) {
	o := loadOpenAPI(t)
	srv := newServer(t, nil)
	srv.seed(t, valid)
	var got map[string]any
	if err := json.Unmarshal(srv.changes(t, "").Changes[0], &got); err != nil {
		t.Fatal(err)
	}
	fields := slices.Sorted(maps.Keys(got))
	schema := o.doc.Components.Schemas["TaskChange"].Value
	properties := slices.Sorted(maps.Keys(schema.Properties))
	required := slices.Sorted(slices.Values(schema.Required))
	if !slices.Equal(properties, fields) || !slices.Equal(required, fields) {
		t.Errorf("TaskChange properties %v, required %v; a real change has %v", properties, required, fields)
	}

	t.Run("a change may name every field of a task but its id, type, timestamps and version", func(t *testing.T) {
		var named []string
		for _, v := range schema.Properties["fields"].Value.Items.Value.Enum {
			named = append(named, v.(string))
		}
		var want []string
		for f := range o.doc.Components.Schemas["Task"].Value.Properties {
			switch f {
			case "activity_id", "activity_type", "created_at", "updated_at", "version":
			default:
				want = append(want, f)
			}
		}
		slices.Sort(want)
		if !slices.Equal(named, want) {
			t.Errorf("fields may name %v, want %v, in order", named, want)
		}
	})
}

func mustRequest(t *testing.T, method, url string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	return req
}
