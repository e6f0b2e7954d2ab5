package graph_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"tasksapi/access"
	"tasksapi/idempotency"
	"tasksapi/task"
)

// ---- fixtures for Idempotency-Key ----

// newKeyedServer serves GraphQL over real HTTP as the server does: the
// store (wrapped by wrap, unless nil) answers a repeat's writes from their
// kept outcomes. It returns the organisation and the endpoint's URL.
func newKeyedServer(t *testing.T, wrap func(task.Service) task.Service) (tenant, string) {
	t.Helper()
	store := openStore(t)
	tn := newTenant(t, store, "acme")
	var svc task.Service = store
	if wrap != nil {
		svc = wrap(svc)
	}
	return tn, startServer(t, newHandler(idempotency.Service{Service: svc}, store, discardLogger()))
}

// keyed is a POST of body to url with the organisation's key, an
// Idempotency-Key header for each of keys, and Accept (none when "").
type keyed struct {
	url    string
	keys   []string
	accept string
	body   string
}

func (k keyed) send(t *testing.T, creds access.Credentials) reply {
	t.Helper()
	req := newPost(t, k.url, &creds, strings.NewReader(k.body))
	for _, key := range k.keys {
		req.Header.Add(idempotency.Header, key)
	}
	if k.accept != "" {
		req.Header.Set("Accept", k.accept)
	}
	return send(t, req)
}

func createBody(t *testing.T, title string) string {
	t.Helper()
	return postJSON(t, `mutation($in: CreateTaskInput!) { createTask(input: $in) { `+allTaskFields+` } }`,
		map[string]any{"in": map[string]any{"title": title, "startDatetime": "2026-07-15T10:00:00", "dealId": 1}})
}

// createdID creates a task, with no key, and returns its id.
func createdID(t *testing.T, url string, creds access.Credentials) string {
	t.Helper()
	var out struct {
		CreateTask struct{ ID string } `json:"createTask"`
	}
	mustSucceed(t, keyed{url: url, body: createBody(t, "Existing")}.send(t, creds), &out)
	return out.CreateTask.ID
}

// everyTask is what the organisation's tasks are, every field of each.
func everyTask(t *testing.T, url string, creds access.Credentials) string {
	t.Helper()
	r := postQuery(t, url, &creds, `{ tasks(pageSize: 100) { totalRecords items { `+allTaskFields+` } } }`)
	mustSucceed(t, r, nil)
	return string(r.data)
}

// ---- repeats ----

func TestARepeatIsAnsweredAsTheFirstRequestWasAndWritesNothing(t *testing.T) {
	tn, url := newKeyedServer(t, nil)
	creds := tn.key
	update := func(id string, in map[string]any, version any) string {
		return postJSON(t, updateMutation, map[string]any{"id": id, "in": in, "v": version})
	}

	tests := []struct {
		name string
		body func() string // made before the first request
	}{
		{"a repeated createTask", func() string { return createBody(t, "Once") }},
		{"a repeated createTask selected beside __typename", func() string {
			return postJSON(t, `mutation { __typename createTask(input: {title: "Once", startDatetime: "2026-07-15T10:00:00", dealId: 1}) { id version } }`, nil)
		}},
		{"a repeated updateTask", func() string {
			return update(createdID(t, url, creds), map[string]any{"title": "Changed once", "status": "COMPLETED"}, nil)
		}},
		{"a repeated deleteTask, though the task is gone", func() string {
			return postJSON(t, deleteMutation, map[string]any{"id": createdID(t, url, creds)})
		}},
		{"a repeated createTask refused as BAD_USER_INPUT", func() string { return createBody(t, "   ") }},
		{"a repeated updateTask of a missing task, refused as NOT_FOUND", func() string {
			return update("999", map[string]any{"title": "x"}, nil)
		}},
		{"a repeated updateTask at another version, refused as VERSION_CONFLICT", func() string {
			return update(createdID(t, url, creds), map[string]any{"title": "x"}, 7)
		}},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := keyed{url: url, keys: []string{fmt.Sprintf("repeat-%d", i)}, body: tc.body()}
			first := req.send(t, creds)
			if first.status != http.StatusOK || first.header.Get(idempotency.ReplayedHeader) != "" {
				t.Fatalf("first request: status %d, %s %q; want 200 and no such header",
					first.status, idempotency.ReplayedHeader, first.header.Get(idempotency.ReplayedHeader))
			}
			stored := everyTask(t, url, creds)

			repeat := req.send(t, creds)

			if repeat.status != first.status || repeat.body != first.body {
				t.Errorf("the repeat answered %d %s\nwant the first answer %d %s", repeat.status, repeat.body, first.status, first.body)
			}
			if got := repeat.header.Get(idempotency.ReplayedHeader); got != "true" {
				t.Errorf("%s = %q on the repeat, want true", idempotency.ReplayedHeader, got)
			}
			if got, want := repeat.header.Get("Content-Type"), first.header.Get("Content-Type"); got != want {
				t.Errorf("Content-Type = %q on the repeat, want the first's %q", got, want)
			}
			if after := everyTask(t, url, creds); after != stored {
				t.Errorf("the repeat wrote: tasks were\n%s\nand are\n%s", stored, after)
			}
		})
	}
}

// ---- refusals under a key ----

func TestARequestTheKeyCannotServeIsRefusedAndRunsNothing(t *testing.T) {
	tn, url := newKeyedServer(t, nil)
	creds := tn.key
	two := postJSON(t, `mutation {
		a: createTask(input: {title: "A", startDatetime: "2026-07-15T10:00:00", dealId: 1}) { id }
		b: createTask(input: {title: "B", startDatetime: "2026-07-15T10:00:00", dealId: 1}) { id } }`, nil)

	// A request without keys is sent under the case's own key.
	tests := []struct {
		name       string
		first      *keyed // sent first, if any
		then       keyed
		wantStatus int
		wantCode   string
	}{
		{"the same key with another body is IDEMPOTENCY_KEY_REUSED",
			&keyed{url: url, body: createBody(t, "First")}, keyed{url: url, body: createBody(t, "Second")},
			http.StatusUnprocessableEntity, "IDEMPOTENCY_KEY_REUSED"},
		{"the same key and body at another path is IDEMPOTENCY_KEY_REUSED",
			&keyed{url: url + "/query", body: createBody(t, "First")}, keyed{url: url + "/graphql", body: createBody(t, "First")},
			http.StatusUnprocessableEntity, "IDEMPOTENCY_KEY_REUSED"},
		{"the key of a refused request, with the body put right, is IDEMPOTENCY_KEY_REUSED",
			&keyed{url: url, body: createBody(t, "")}, keyed{url: url, body: createBody(t, "Put right")},
			http.StatusUnprocessableEntity, "IDEMPOTENCY_KEY_REUSED"},
		{"an empty key is BAD_REQUEST",
			nil, keyed{url: url, keys: []string{""}, body: createBody(t, "x")},
			http.StatusUnprocessableEntity, "BAD_REQUEST"},
		{"a key over 255 characters is BAD_REQUEST",
			nil, keyed{url: url, keys: []string{strings.Repeat("k", 256)}, body: createBody(t, "x")},
			http.StatusUnprocessableEntity, "BAD_REQUEST"},
		{"a key with a space is BAD_REQUEST",
			nil, keyed{url: url, keys: []string{"two words"}, body: createBody(t, "x")},
			http.StatusUnprocessableEntity, "BAD_REQUEST"},
		{"a key with a character beyond ASCII is BAD_REQUEST",
			nil, keyed{url: url, keys: []string{"clé"}, body: createBody(t, "x")},
			http.StatusUnprocessableEntity, "BAD_REQUEST"},
		{"two Idempotency-Key headers are BAD_REQUEST",
			nil, keyed{url: url, keys: []string{"one", "two"}, body: createBody(t, "x")},
			http.StatusUnprocessableEntity, "BAD_REQUEST"},
		{"a mutation of two fields under a key is BAD_REQUEST, as a key keeps one write's outcome",
			nil, keyed{url: url, body: two},
			http.StatusUnprocessableEntity, "BAD_REQUEST"},
	}
	for i, tc := range tests {
		for _, media := range []string{mediaJSON, mediaResponse} {
			t.Run(tc.name+" under "+media, func(t *testing.T) {
				underKey := func(k keyed) keyed {
					if k.keys == nil {
						k.keys = []string{fmt.Sprintf("refusal-%d-%s", i, media)}
					}
					return k
				}
				if tc.first != nil {
					underKey(*tc.first).send(t, creds)
				}
				stored := everyTask(t, url, creds)
				req := underKey(tc.then)
				req.accept = media

				r := req.send(t, creds)

				if r.status != tc.wantStatus {
					t.Errorf("status = %d, want %d (body %s)", r.status, tc.wantStatus, r.body)
				}
				if got := r.header.Get("Content-Type"); got != media {
					t.Errorf("Content-Type = %q, want %q", got, media)
				}
				mustRefuse(t, r, tc.wantCode)
				if after := everyTask(t, url, creds); after != stored {
					t.Errorf("the refused request wrote: tasks were\n%s\nand are\n%s", stored, after)
				}
			})
		}
	}
}

func TestARepeatWhileTheFirstIsRunningIsRefusedWith409(t *testing.T) {
	entered, release := make(chan struct{}), make(chan struct{})
	tn, url := newKeyedServer(t, func(store task.Service) task.Service {
		return blockingCreates{Service: store, entered: entered, release: release}
	})
	// Released before the server closes, which waits for the request.
	releaseFirst := sync.OnceFunc(func() { close(release) })
	t.Cleanup(releaseFirst)
	req := keyed{url: url, keys: []string{"still-running"}, body: createBody(t, "Slow")}
	firstReq := newPost(t, url, &tn.key, strings.NewReader(req.body))
	firstReq.Header.Set(idempotency.Header, req.keys[0])
	firstDone := make(chan error, 1)
	var firstBody []byte
	go func() { // no t.Fatal off the test's goroutine: the error comes back
		resp, err := http.DefaultClient.Do(firstReq)
		if err == nil {
			firstBody, err = io.ReadAll(resp.Body)
			resp.Body.Close()
		}
		firstDone <- err
	}()
	select {
	case <-entered:
	case err := <-firstDone:
		t.Fatalf("the first request ended before its create ran: %v (%s)", err, firstBody)
	}

	for _, media := range []string{mediaJSON, mediaResponse} {
		repeat := req
		repeat.accept = media
		r := repeat.send(t, tn.key)
		if r.status != http.StatusConflict {
			t.Errorf("under %s: status = %d, want 409 (body %s)", media, r.status, r.body)
		}
		mustRefuse(t, r, "IDEMPOTENCY_KEY_IN_USE")
	}

	releaseFirst()
	if err := <-firstDone; err != nil {
		t.Fatalf("the first request: %v", err)
	}
	if !strings.Contains(string(firstBody), `"title":"Slow"`) {
		t.Fatalf("the first request answered %s, want the created task", firstBody)
	}
	if again := req.send(t, tn.key); again.body != string(firstBody) || again.header.Get(idempotency.ReplayedHeader) != "true" {
		t.Errorf("once the first has answered, a repeat answers %s (%s %q), want its answer replayed",
			again.body, idempotency.ReplayedHeader, again.header.Get(idempotency.ReplayedHeader))
	}
}

// blockingCreates is a store whose creates, once entered, wait until
// released: a first request that is still being answered for as long as
// the test needs.
type blockingCreates struct {
	task.Service
	entered chan<- struct{}
	release <-chan struct{}
}

func (b blockingCreates) CreateTask(ctx context.Context, in task.CreateInput) (task.Task, error) {
	b.entered <- struct{}{}
	<-b.release
	return b.Service.CreateTask(ctx, in)
}

func TestAFaultIsNotKeptSoARetryUnderTheSameKeyRuns(t *testing.T) {
	var failed atomic.Bool
	tn, url := newKeyedServer(t, func(store task.Service) task.Service {
		return failingFirstCreate{Service: store, failed: &failed}
	})
	req := keyed{url: url, keys: []string{"after-a-fault"}, body: createBody(t, "Retried")}

	first := req.send(t, tn.key)
	if len(first.errors) != 1 || first.errors[0].Extensions.Code != "INTERNAL_SERVER_ERROR" {
		t.Fatalf("first request: errors %+v, want one INTERNAL_SERVER_ERROR", first.errors)
	}

	retry := req.send(t, tn.key)

	mustSucceed(t, retry, nil)
	if got := retry.header.Get(idempotency.ReplayedHeader); got != "" {
		t.Errorf("%s = %q on the retry, want none: it ran", idempotency.ReplayedHeader, got)
	}
	if !strings.Contains(everyTask(t, url, tn.key), `"totalRecords":1`) {
		t.Errorf("tasks = %s, want the one task the retry created", everyTask(t, url, tn.key))
	}
}

// failingFirstCreate is a store whose first create fails with a fault.
type failingFirstCreate struct {
	task.Service
	failed *atomic.Bool
}

func (f failingFirstCreate) CreateTask(ctx context.Context, in task.CreateInput) (task.Task, error) {
	if f.failed.CompareAndSwap(false, true) {
		return task.Task{}, errors.New("disk full")
	}
	return f.Service.CreateTask(ctx, in)
}

// ---- queries ----

func TestAnIdempotencyKeyOnAQueryIsIgnored(t *testing.T) {
	tn, url := newKeyedServer(t, nil)
	query := postJSON(t, `{ tasks { totalRecords } }`, nil)

	tests := []struct {
		name string
		key  string
	}{
		{"a malformed key on a query is not refused", "two words"},
		{"a query sent twice with one key runs twice", "query-key"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for range 2 {
				r := keyed{url: url, keys: []string{tc.key}, body: query}.send(t, tn.key)
				mustSucceed(t, r, nil)
				if got := r.header.Get(idempotency.ReplayedHeader); got != "" {
					t.Errorf("%s = %q, want none", idempotency.ReplayedHeader, got)
				}
			}
		})
	}

	// The key a query carried is still free for a mutation.
	r := keyed{url: url, keys: []string{"query-key"}, body: createBody(t, "After the query")}.send(t, tn.key)
	mustSucceed(t, r, nil)
	if got := r.header.Get(idempotency.ReplayedHeader); got != "" {
		t.Errorf("the mutation after the query: %s = %q, want none", idempotency.ReplayedHeader, got)
	}
}
