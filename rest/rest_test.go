package rest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"tasksapi/access"
	"tasksapi/feed"
	"tasksapi/idempotency"
	"tasksapi/rest"
	"tasksapi/store"
	"tasksapi/storetest"
	"tasksapi/task"
)

// server is the REST routes over a fresh database, with a key of
// the organisation "Acme" that every request carries unless told otherwise.
type server struct {
	URL    string
	store  store.Store
	creds  access.Credentials
	clocks *clocks
}

func newServer(t *testing.T, wrap func(task.Service) task.Service) *server {
	t.Helper()
	return newServerWithLimit(t, wrap, 0)
}

func newServerWithLimit(t *testing.T, wrap func(task.Service) task.Service, rateLimit float64) *server {
	t.Helper()
	return serverOf(t, newHandler(t, wrap, rateLimit))
}

// newServerOn is newServer over a fresh store that h makes.
func newServerOn(t *testing.T, h storetest.Harness, wrap func(task.Service) task.Service) *server {
	t.Helper()
	return serverOf(t, newHandlerOn(t, h, wrap, 0, nil))
}

// serverOf serves a over real HTTP.
func serverOf(t *testing.T, a api) *server {
	t.Helper()
	srv := httptest.NewServer(a.handler)
	t.Cleanup(srv.Close)
	return &server{URL: srv.URL, store: a.store, creds: a.creds, clocks: a.clocks}
}

// api is the REST routes over a fresh database, with a key, built as
// the server builds them.
type api struct {
	handler http.Handler
	store   store.Store
	creds   access.Credentials
	clocks  *clocks
	streams *feed.Streams
	stop    context.CancelFunc // the server beginning to stop
}

// clocks are the store's and the Idempotency-Key keeper's. The store's
// ticks a second at each write, from a fixed time, so that a change's
// updated_at always differs from what it replaced; the keeper's is the
// real time moved ahead by skew, so that tests can outlive a kept key.
type clocks struct {
	ticks atomic.Int64
	skew  atomic.Int64 // nanoseconds
}

var clockStart = time.Date(2026, 7, 1, 8, 0, 0, 0, time.UTC)

func (c *clocks) store() time.Time {
	return clockStart.Add(time.Duration(c.ticks.Add(1)) * time.Second)
}

func (c *clocks) keeper() time.Time { return time.Now().Add(time.Duration(c.skew.Load())) }

func newHandler(t testing.TB, wrap func(task.Service) task.Service, rateLimit float64) api {
	t.Helper()
	return newHandlerWith(t, wrap, rateLimit, nil)
}

// newHandlerWith is newHandler with the options tune changes, when not
// nil, applied last.
func newHandlerWith(t testing.TB, wrap func(task.Service) task.Service, rateLimit float64, tune func(*rest.Options)) api {
	t.Helper()
	return newHandlerOn(t, storetest.SQLite, wrap, rateLimit, tune)
}

// newHandlerOn is newHandlerWith over a fresh store that h makes.
func newHandlerOn(t testing.TB, h storetest.Harness, wrap func(task.Service) task.Service, rateLimit float64, tune func(*rest.Options)) api {
	t.Helper()
	c := &clocks{}
	store := h.Open(t, h.NewDatabase(t), c.store)
	creds, err := access.NewKey(context.Background(), store, "Acme", "tests")
	if err != nil {
		t.Fatal(err)
	}
	var svc task.Service = store
	if wrap != nil {
		svc = wrap(store)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	keeper := idempotency.New(store, idempotency.DefaultTTL, log)
	keeper.Now = c.keeper
	hub := feed.NewHub(store)
	store.OnCommit(hub.Committed)
	stop, stopping := context.WithCancel(context.Background())
	t.Cleanup(stopping)
	o := rest.Options{
		// As the server does: a repeat's writes are answered by the kept
		// outcome, never by the store.
		Service: idempotency.Service{Service: svc}, Guard: access.NewGuard(store, rateLimit, log), Keeper: keeper, Log: log,
		Feed: store, Hub: hub, Streams: feed.NewStreams(100), Stop: stop,
	}
	if tune != nil {
		tune(&o)
	}
	mux := http.NewServeMux()
	rest.New(o).Register(mux)
	// The server caps every request's body (limitBody); so do these.
	return api{handler: http.MaxBytesHandler(rest.JSONErrors(mux), rest.MaxBodyBytes), store: store, creds: creds, clocks: c,
		streams: o.Streams, stop: stopping}
}

// stalling is a service whose next write, once armed, waits until it is
// let go: a request is then still being answered while another arrives.
type stalling struct {
	task.Service
	armed   atomic.Bool
	entered chan struct{} // receives when the armed write is waiting
	release chan struct{} // lets it go on
}

func stallingService(s *(*stalling)) func(task.Service) task.Service {
	return func(svc task.Service) task.Service {
		*s = &stalling{Service: svc, entered: make(chan struct{}), release: make(chan struct{})}
		return *s
	}
}

func (s *stalling) wait() {
	if s.armed.CompareAndSwap(true, false) {
		s.entered <- struct{}{}
		<-s.release
	}
}

func (s *stalling) CreateTask(ctx context.Context, in task.CreateInput) (task.Task, error) {
	s.wait()
	return s.Service.CreateTask(ctx, in)
}

func (s *stalling) UpdateTask(ctx context.Context, id int, in task.UpdateInput, expect task.Expect) (task.Task, error) {
	s.wait()
	return s.Service.UpdateTask(ctx, id, in, expect)
}

func (s *stalling) DeleteTask(ctx context.Context, id int, expect task.Expect) (task.Task, error) {
	s.wait()
	return s.Service.DeleteTask(ctx, id, expect)
}

// running sends a write with the headers and keeps it waiting inside the
// service; end lets it finish, and returns its status.
func (s *stalling) running(t *testing.T, srv *server, method, path, body string, headers ...string) (end func() int) {
	t.Helper()
	req, err := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	authorize(req, srv.creds)
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Add(headers[i], headers[i+1])
	}
	s.armed.Store(true)
	status := make(chan int, 1)
	go func() { // not through t: a goroutine of a test may not stop it
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			status <- 0
			return
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		status <- res.StatusCode
	}()
	select {
	case <-s.entered:
	case <-time.After(10 * time.Second):
		s.armed.Store(false)
		t.Fatalf("%s %s did not reach the service", method, path)
	}
	return func() int {
		s.release <- struct{}{}
		return <-status
	}
}

// keyFor makes a key of another organisation.
func (s *server) keyFor(t *testing.T, org string) access.Credentials {
	t.Helper()
	creds, err := access.NewKey(context.Background(), s.store, org, "tests")
	if err != nil {
		t.Fatal(err)
	}
	return creds
}

// response is a decoded envelope.
type response struct {
	Status  int
	Header  http.Header
	Raw     []byte              `json:"-"` // the body as sent
	Success bool                `json:"success"`
	Message string              `json:"message"`
	Data    json.RawMessage     `json:"data"`
	Errors  map[string][]string `json:"errors"`
}

func (s *server) send(t *testing.T, method, path, contentType, body string, headers ...string) response {
	t.Helper()
	return s.sendAs(t, s.creds, method, path, contentType, body, headers...)
}

// sendAs sends a request with creds' key headers (none for zero creds)
// and headers, given as name and value in turn.
func (s *server) sendAs(t *testing.T, creds access.Credentials, method, path, contentType, body string, headers ...string) response {
	t.Helper()
	req, err := http.NewRequest(method, s.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if creds.AccessKey != "" {
		req.Header.Set(access.AccessKeyHeader, creds.AccessKey)
		req.Header.Set(access.SecretKeyHeader, creds.SecretKey)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Add(headers[i], headers[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	r := response{Status: res.StatusCode, Header: res.Header, Raw: raw}
	if res.StatusCode == http.StatusNotModified {
		return r // no body: its tests check there is none
	}
	if ct := res.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("%s %s: Content-Type = %q, want application/json", method, path, ct)
	}
	if res.ContentLength != int64(len(raw)) {
		t.Errorf("%s %s: Content-Length = %d for a body of %d bytes, want the body sent whole with its length",
			method, path, res.ContentLength, len(raw))
	}
	if err := json.Unmarshal(raw, &r); err != nil {
		t.Fatalf("%s %s: body is not JSON: %v\n%s", method, path, err, raw)
	}
	return r
}

func (s *server) post(t *testing.T, path, body string) response {
	t.Helper()
	return s.send(t, http.MethodPost, path, "application/json", body)
}

func (s *server) get(t *testing.T, path string) response {
	t.Helper()
	return s.send(t, http.MethodGet, path, "", "")
}

// listData is the data of a list response.
type listData struct {
	Data         []map[string]any `json:"data"`
	CurrentPage  int              `json:"current_page"`
	TotalRecords int              `json:"total_records"`
	TotalPages   int              `json:"total_pages"`
}

func (s *server) list(t *testing.T, path string) listData {
	t.Helper()
	return decodeList(t, path, s.get(t, path))
}

func decodeList(t *testing.T, url string, r response) listData {
	t.Helper()
	if r.Status != http.StatusOK || !r.Success {
		t.Fatalf("GET %s = %d %q %v, want 200", url, r.Status, r.Message, r.Errors)
	}
	var d listData
	if err := json.Unmarshal(r.Data, &d); err != nil {
		t.Fatal(err)
	}
	if d.Data == nil {
		t.Fatalf("GET %s: data.data is null, want an array", url)
	}
	return d
}

func idsOf(d listData) []int {
	out := []int{}
	for _, task := range d.Data {
		out = append(out, int(task["activity_id"].(float64)))
	}
	return out
}

// seed creates tasks through the API and returns their ids in order.
func (s *server) seed(t *testing.T, bodies ...string) []int {
	t.Helper()
	var out []int
	for _, b := range bodies {
		r := s.post(t, "/v1/tasks", b)
		if r.Status != http.StatusOK {
			t.Fatalf("seeding %s: %d %q %v", b, r.Status, r.Message, r.Errors)
		}
		var created struct {
			ID int `json:"activity_id"`
		}
		if err := json.Unmarshal(r.Data, &created); err != nil {
			t.Fatal(err)
		}
		out = append(out, created.ID)
	}
	return out
}

const valid = `{"title":"Follow up with Sarah","start_datetime":"2026-07-15T10:00:00","cstid":10}`

func TestCreateAnswersWithTheWholeTask(t *testing.T) {
	storetest.Each(t, func(t *testing.T, h storetest.Harness) {
		srv := newServerOn(t, h, nil)
		r := srv.post(t, "/v1/tasks", `{"title":"  Follow up with Sarah ","start_datetime":"2026-07-15T10:00:00",
		"end_datetime":"2026-07-16T11:00:00","cstid":10,"priority":3,"description":"Renewal",
		"tags":[5,2,5],"activity_type":"Event","activity_id":99,"created_at":"2000-01-01T00:00:00"}`)
		if r.Status != http.StatusOK || !r.Success || r.Message != "Task activity created successfully." {
			t.Fatalf("got %d %v %q, want 200 success with the create message", r.Status, r.Success, r.Message)
		}
		var got map[string]any
		if err := json.Unmarshal(r.Data, &got); err != nil {
			t.Fatal(err)
		}
		want := map[string]any{
			"title": "Follow up with Sarah", "activity_type": "Task", "status": 0.0, "priority": 3.0,
			"start_datetime": "2026-07-15T10:00:00", "end_datetime": "2026-07-16T11:00:00",
			"due_date": "2026-07-16", "description": "Renewal", "deal_id": nil, "cstid": 10.0,
			"assigned_user_id": nil, "tags": []any{5.0, 2.0}, "completed_at": nil, "version": 1.0,
		}
		for k, v := range want {
			if !reflect.DeepEqual(got[k], v) {
				t.Errorf("%s = %#v, want %#v", k, got[k], v)
			}
		}
		if got["activity_id"] == 99.0 {
			t.Error("activity_id was taken from the client")
		}
		if got["created_at"] == "2000-01-01T00:00:00" || got["created_at"] != got["updated_at"] {
			t.Errorf("created_at %v, updated_at %v: want both set by the server", got["created_at"], got["updated_at"])
		}
		var keys []string
		for k := range got {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		wantKeys := []string{"activity_id", "activity_type", "assigned_user_id", "completed_at", "created_at", "cstid", "deal_id",
			"description", "due_date", "end_datetime", "priority", "start_datetime", "status", "tags", "title", "updated_at", "version"}
		if !reflect.DeepEqual(keys, wantKeys) {
			t.Errorf("fields = %v, want %v", keys, wantKeys)
		}
	})
}

func TestCreateAppliesDefaults(t *testing.T) {
	storetest.Each(t, func(t *testing.T, h storetest.Harness) {
		srv := newServerOn(t, h, nil)
		r := srv.post(t, "/v1/tasks", `{"title":"t","start_datetime":"2026-07-15T10:00:00","deal_id":4,"priority":null,"status":null,"tags":null}`)
		var got map[string]any
		if err := json.Unmarshal(r.Data, &got); err != nil {
			t.Fatal(err)
		}
		for k, v := range map[string]any{"priority": 2.0, "status": 0.0, "tags": []any{}, "due_date": "2026-07-15",
			"end_datetime": nil, "description": nil, "cstid": nil, "deal_id": 4.0} {
			if !reflect.DeepEqual(got[k], v) {
				t.Errorf("%s = %#v, want %#v", k, got[k], v)
			}
		}
	})
}

func TestCreateRefusesInvalidFields(t *testing.T) {
	storetest.Each(t, func(t *testing.T, h storetest.Harness) {
		long := strings.Repeat("é", 151)
		var tags51 []string
		for i := 1; i <= 51; i++ {
			tags51 = append(tags51, strconv.Itoa(i))
		}
		tests := []struct {
			name   string
			body   string
			fields []string // the keys of errors, sorted
		}{
			{"a missing title is refused", `{"start_datetime":"2026-07-15T10:00:00","cstid":1}`, []string{"title"}},
			{"a blank title is refused", `{"title":"   ","start_datetime":"2026-07-15T10:00:00","cstid":1}`, []string{"title"}},
			{"a title of 151 characters is refused", `{"title":"` + long + `","start_datetime":"2026-07-15T10:00:00","cstid":1}`, []string{"title"}},
			{"a missing start is refused", `{"title":"t","cstid":1}`, []string{"start_datetime"}},
			{"an impossible start date is refused", `{"title":"t","start_datetime":"2026-02-30T10:00:00","cstid":1}`, []string{"start_datetime"}},
			{"a start with a zone is refused", `{"title":"t","start_datetime":"2026-07-15T10:00:00Z","cstid":1}`, []string{"start_datetime"}},
			{"a start with an offset is refused", `{"title":"t","start_datetime":"2026-07-15T10:00:00+02:00","cstid":1}`, []string{"start_datetime"}},
			{"a date without a time is refused", `{"title":"t","start_datetime":"2026-07-15","cstid":1}`, []string{"start_datetime"}},
			{"an end before the start is refused", `{"title":"t","start_datetime":"2026-07-15T10:00:00","end_datetime":"2026-07-15T09:59:59","cstid":1}`, []string{"end_datetime"}},
			{"neither deal nor contact is refused on both fields", `{"title":"t","start_datetime":"2026-07-15T10:00:00"}`, []string{"cstid", "deal_id"}},
			{"a zero deal id is refused", `{"title":"t","start_datetime":"2026-07-15T10:00:00","deal_id":0}`, []string{"deal_id"}},
			{"a negative contact id is refused", `{"title":"t","start_datetime":"2026-07-15T10:00:00","cstid":-3}`, []string{"cstid"}},
			{"a zero assigned user is refused", `{"title":"t","start_datetime":"2026-07-15T10:00:00","cstid":1,"assigned_user_id":0}`, []string{"assigned_user_id"}},
			{"a priority above 4 is refused", `{"title":"t","start_datetime":"2026-07-15T10:00:00","cstid":1,"priority":5}`, []string{"priority"}},
			{"a negative status is refused", `{"title":"t","start_datetime":"2026-07-15T10:00:00","cstid":1,"status":-1}`, []string{"status"}},
			{"a description over 10000 characters is refused", `{"title":"t","start_datetime":"2026-07-15T10:00:00","cstid":1,"description":"` + strings.Repeat("d", 10001) + `"}`, []string{"description"}},
			{"51 distinct tags are refused", `{"title":"t","start_datetime":"2026-07-15T10:00:00","cstid":1,"tags":[` + strings.Join(tags51, ",") + `]}`, []string{"tags"}},
			{"a zero tag is refused", `{"title":"t","start_datetime":"2026-07-15T10:00:00","cstid":1,"tags":[1,0]}`, []string{"tags"}},
			{"a numeric title is a type error", `{"title":5,"start_datetime":"2026-07-15T10:00:00","cstid":1}`, []string{"title"}},
			{"a quoted deal id is a type error", `{"title":"t","start_datetime":"2026-07-15T10:00:00","deal_id":"10"}`, []string{"deal_id"}},
			{"a fractional contact id is a type error", `{"title":"t","start_datetime":"2026-07-15T10:00:00","cstid":1.5}`, []string{"cstid"}},
			{"an exponent contact id is a type error", `{"title":"t","start_datetime":"2026-07-15T10:00:00","cstid":1e2}`, []string{"cstid"}},
			{"a named priority is a type error", `{"title":"t","start_datetime":"2026-07-15T10:00:00","cstid":1,"priority":"high"}`, []string{"priority"}},
			{"tags as a string are a type error", `{"title":"t","start_datetime":"2026-07-15T10:00:00","cstid":1,"tags":"1,2"}`, []string{"tags"}},
			{"a string among the tags is a type error", `{"title":"t","start_datetime":"2026-07-15T10:00:00","cstid":1,"tags":[1,"2"]}`, []string{"tags"}},
			{"a numeric start is a type error", `{"title":"t","start_datetime":20260715,"cstid":1}`, []string{"start_datetime"}},
			{"a boolean description is a type error", `{"title":"t","start_datetime":"2026-07-15T10:00:00","cstid":1,"description":true}`, []string{"description"}},
			{"several broken rules are all reported", `{"title":"","start_datetime":"soon","cstid":0}`, []string{"cstid", "start_datetime", "title"}},
			{"a type error does not hide the other rules", `{"title":"","start_datetime":"2026-02-30T10:00:00"}`, []string{"cstid", "deal_id", "start_datetime", "title"}},
		}
		srv := newServerOn(t, h, nil)
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				r := srv.post(t, "/v1/tasks", tt.body)
				if r.Status != http.StatusUnprocessableEntity || r.Success {
					t.Fatalf("status %d success %v, want 422 and false", r.Status, r.Success)
				}
				var fields []string
				for f, msgs := range r.Errors {
					fields = append(fields, f)
					for _, m := range msgs {
						if !strings.HasPrefix(m, f+" ") {
							t.Errorf("message %q does not name its field %s", m, f)
						}
					}
				}
				sort.Strings(fields)
				if !reflect.DeepEqual(fields, tt.fields) {
					t.Errorf("errors on %v, want %v (%v)", fields, tt.fields, r.Errors)
				}
				if first := r.Errors[firstField(r.Message)]; len(first) == 0 || first[0] != r.Message {
					t.Errorf("message %q is not the first field message of %v", r.Message, r.Errors)
				}
			})
		}
		if d := srv.list(t, "/v1/tasks"); d.TotalRecords != 0 {
			t.Errorf("refused creates stored %d tasks", d.TotalRecords)
		}
	})
}

func TestAnUnreadableFieldHasOneMessage(t *testing.T) {
	storetest.Each(t, func(t *testing.T, h storetest.Harness) {
		srv := newServerOn(t, h, nil)
		r := srv.post(t, "/v1/tasks", `{"title":"t","start_datetime":7,"cstid":1}`)
		if want := []string{"start_datetime must be a string"}; !reflect.DeepEqual(r.Errors["start_datetime"], want) {
			t.Errorf("start_datetime errors = %v, want only %v", r.Errors["start_datetime"], want)
		}
	})
}

func firstField(message string) string { return strings.SplitN(message, " ", 2)[0] }

func TestCreateAcceptsEdgeValues(t *testing.T) {
	storetest.Each(t, func(t *testing.T, h storetest.Harness) {
		tests := []struct{ name, body string }{
			{"a title of exactly 150 multibyte characters is accepted", `{"title":"` + strings.Repeat("日", 150) + `","start_datetime":"2026-07-15T10:00:00","cstid":1}`},
			{"an end equal to the start is accepted", `{"title":"t","start_datetime":"2026-07-15T10:00:00","end_datetime":"2026-07-15T10:00:00","deal_id":1}`},
			{"a leap day is accepted", `{"title":"t","start_datetime":"2028-02-29T23:59:59","deal_id":1}`},
			{"a description of exactly 10000 characters is accepted", `{"title":"t","start_datetime":"2026-07-15T10:00:00","cstid":1,"description":"` + strings.Repeat("ü", 10000) + `"}`},
			{"unknown fields are ignored", `{"title":"t","start_datetime":"2026-07-15T10:00:00","cstid":1,"colour":"red"}`},
			{"a charset parameter on the content type is accepted", ""},
		}
		srv := newServerOn(t, h, nil)
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				var r response
				if tt.body == "" {
					r = srv.send(t, http.MethodPost, "/v1/tasks", "application/json; charset=utf-8", valid)
				} else {
					r = srv.post(t, "/v1/tasks", tt.body)
				}
				if r.Status != http.StatusOK {
					t.Errorf("status %d %q %v, want 200", r.Status, r.Message, r.Errors)
				}
			})
		}
	})
}

func TestCreateRefusesBadBodies(t *testing.T) {
	storetest.Each(t, func(t *testing.T, h storetest.Harness) {
		tests := []struct {
			name        string
			contentType string
			body        string
			status      int
		}{
			{"a body that is not JSON is a 400", "application/json", `{"title":`, http.StatusBadRequest},
			{"an empty body is a 400", "application/json", ``, http.StatusBadRequest},
			{"a JSON array is a 400", "application/json", `[{"title":"t"}]`, http.StatusBadRequest},
			{"a JSON null is a 400", "application/json", `null`, http.StatusBadRequest},
			{"a JSON string is a 400", "application/json", `"task"`, http.StatusBadRequest},
			{"two objects in a row are a 400", "application/json", valid + valid, http.StatusBadRequest},
			{"a body over 1 MiB is a 413", "application/json", `{"title":"` + strings.Repeat("a", 1<<20) + `"}`, http.StatusRequestEntityTooLarge},
			{"a plain-text content type is a 415", "text/plain", valid, http.StatusUnsupportedMediaType},
			{"a form content type is a 415", "application/x-www-form-urlencoded", valid, http.StatusUnsupportedMediaType},
			{"a missing content type is a 415", "", valid, http.StatusUnsupportedMediaType},
		}
		srv := newServerOn(t, h, nil)
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				r := srv.send(t, http.MethodPost, "/v1/tasks", tt.contentType, tt.body)
				if r.Status != tt.status || r.Success || r.Message == "" {
					t.Errorf("got %d success=%v message=%q, want %d with a message", r.Status, r.Success, r.Message, tt.status)
				}
			})
		}
		if d := srv.list(t, "/v1/tasks"); d.TotalRecords != 0 {
			t.Errorf("refused bodies stored %d tasks", d.TotalRecords)
		}
	})
}

func TestGetTask(t *testing.T) {
	storetest.Each(t, func(t *testing.T, h storetest.Harness) {
		srv := newServerOn(t, h, nil)
		id := srv.seed(t, valid)[0]
		tests := []struct {
			name    string
			path    string
			status  int
			message string
		}{
			{"an existing task is returned", "/v1/tasks/" + strconv.Itoa(id), http.StatusOK, ""},
			{"a missing task is a 400 Task not found", "/v1/tasks/" + strconv.Itoa(id+1), http.StatusBadRequest, "Task not found"},
			{"a word id is a 422", "/v1/tasks/abc", http.StatusUnprocessableEntity, "id must be a positive integer"},
			{"a zero id is a 422", "/v1/tasks/0", http.StatusUnprocessableEntity, "id must be a positive integer"},
			{"a negative id is a 422", "/v1/tasks/-4", http.StatusUnprocessableEntity, "id must be a positive integer"},
			{"a fractional id is a 422", "/v1/tasks/1.5", http.StatusUnprocessableEntity, "id must be a positive integer"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				r := srv.get(t, tt.path)
				if r.Status != tt.status || r.Message != tt.message || r.Success != (tt.status == http.StatusOK) {
					t.Errorf("got %d %q success=%v, want %d %q", r.Status, r.Message, r.Success, tt.status, tt.message)
				}
				if tt.status == http.StatusOK {
					var got struct {
						ID    int    `json:"activity_id"`
						Title string `json:"title"`
					}
					if err := json.Unmarshal(r.Data, &got); err != nil || got.ID != id || got.Title != "Follow up with Sarah" {
						t.Errorf("data = %s, want task %d", r.Data, id)
					}
				}
			})
		}
	})
}

func TestUnknownRoutesAnswerInTheEnvelope(t *testing.T) {
	storetest.Each(t, func(t *testing.T, h storetest.Harness) {
		srv := newServerOn(t, h, nil)
		tests := []struct {
			name, method, path string
			status             int
			allow              []string
		}{
			{"an unknown path is a 404", http.MethodGet, "/v1/projects", http.StatusNotFound, nil},
			{"a path below a task is a 404", http.MethodGet, "/v1/tasks/1/notes", http.StatusNotFound, nil},
			{"a trailing slash is a 404", http.MethodGet, "/v1/tasks/", http.StatusNotFound, nil},
			{"PUT on the list is a 405", http.MethodPut, "/v1/tasks", http.StatusMethodNotAllowed, []string{"GET", "HEAD", "POST"}},
			{"PUT on a task is a 405", http.MethodPut, "/v1/tasks/1", http.StatusMethodNotAllowed, []string{"DELETE", "GET", "HEAD", "PATCH"}},
			{"POST on a task is a 405", http.MethodPost, "/v1/tasks/1", http.StatusMethodNotAllowed, []string{"DELETE", "GET", "HEAD", "PATCH"}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				r := srv.send(t, tt.method, tt.path, "", "")
				if r.Status != tt.status || r.Success || r.Message == "" {
					t.Errorf("got %d success=%v %q, want %d with a message", r.Status, r.Success, r.Message, tt.status)
				}
				if tt.allow != nil {
					var allow []string
					for _, v := range r.Header.Values("Allow") {
						for _, m := range strings.Split(v, ",") {
							allow = append(allow, strings.TrimSpace(m))
						}
					}
					sort.Strings(allow)
					if !reflect.DeepEqual(allow, tt.allow) {
						t.Errorf("Allow = %v, want %v", allow, tt.allow)
					}
				}
			})
		}
	})
}

// failing is a service whose every call fails with an internal detail.
type failing struct{ task.Service }

var errSecret = errors.New("disk I/O error at /var/lib/secret.db")

func (failing) ListTasks(context.Context, task.ListParams) (task.Page, error) {
	return task.Page{}, errSecret
}
func (failing) CreateTask(context.Context, task.CreateInput) (task.Task, error) {
	return task.Task{}, errSecret
}

func TestInternalFaultsHideTheirDetail(t *testing.T) {
	storetest.Each(t, func(t *testing.T, h storetest.Harness) {
		srv := newServerOn(t, h, func(s task.Service) task.Service { return failing{s} })
		for _, r := range []response{srv.get(t, "/v1/tasks"), srv.post(t, "/v1/tasks", valid)} {
			if r.Status != http.StatusInternalServerError || r.Success || r.Message != "Internal server error" {
				t.Errorf("got %d %q, want 500 Internal server error", r.Status, r.Message)
			}
			if strings.Contains(string(r.Data)+r.Message, "secret") {
				t.Error("the response leaks the internal error")
			}
		}
	})
}

// abandoned fails every list as a store does when its caller's context
// ends: with the context's error.
type abandoned struct{ task.Service }

func (abandoned) ListTasks(ctx context.Context, _ task.ListParams) (task.Page, error) {
	<-ctx.Done()
	return task.Page{}, ctx.Err()
}

func TestARequestWhoseClientWentAwayIsNotAnInternalFault(t *testing.T) {
	var logged bytes.Buffer
	a := newHandlerOn(t, storetest.SQLite, func(s task.Service) task.Service { return abandoned{s} }, 0,
		func(o *rest.Options) { o.Log = slog.New(slog.NewTextHandler(&logged, nil)) })
	ctx, cancel := context.WithCancel(context.Background())
	req := httptest.NewRequestWithContext(ctx, http.MethodGet, "/v1/tasks", nil)
	req.Header.Set(access.AccessKeyHeader, a.creds.AccessKey)
	req.Header.Set(access.SecretKeyHeader, a.creds.SecretKey)
	rec := httptest.NewRecorder()
	done := make(chan struct{})
	go func() { a.handler.ServeHTTP(rec, req); close(done) }()
	cancel()
	<-done
	if rec.Code != 499 {
		t.Errorf("status %d, want 499 (client closed request)", rec.Code)
	}
	if strings.Contains(logged.String(), "level=ERROR") {
		t.Errorf("a client going away was logged as an error:\n%s", logged.String())
	}
}
