package rest_test

import (
	"bytes"
	"context"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"tasksapi/access"
	"tasksapi/idempotency"
	"tasksapi/task"
)

// replayed reports whether an answer is marked as a repeat's.
func replayed(r response) bool { return r.Header.Get(idempotency.ReplayedHeader) == "true" }

// sameAnswer fails unless the repeat is the first answer again, byte for
// byte, with the same entity tag, marked as replayed.
func sameAnswer(t *testing.T, first, repeat response) {
	t.Helper()
	if replayed(first) {
		t.Errorf("the first answer is marked as replayed")
	}
	if !replayed(repeat) {
		t.Errorf("the repeat is not marked %s: true", idempotency.ReplayedHeader)
	}
	if repeat.Status != first.Status || !bytes.Equal(repeat.Raw, first.Raw) || repeat.Header.Get("ETag") != first.Header.Get("ETag") {
		t.Errorf("the repeat answered %d %s (ETag %q), want the first answer %d %s (ETag %q)", repeat.Status, repeat.Raw,
			repeat.Header.Get("ETag"), first.Status, first.Raw, first.Header.Get("ETag"))
	}
}

func TestARepeatedWriteIsAnsweredAsTheFirstAndRunsNothing(t *testing.T) {
	srv := newServer(t, nil)
	key := func(k string) []string { return []string{idempotency.Header, k} }

	t.Run("a repeated create makes no second task", func(t *testing.T) {
		before := srv.list(t, "/v1/tasks").TotalRecords
		first := srv.send(t, http.MethodPost, "/v1/tasks", "application/json", valid, key("create")...)
		repeat := srv.send(t, http.MethodPost, "/v1/tasks", "application/json", valid, key("create")...)
		sameAnswer(t, first, repeat)
		if after := srv.list(t, "/v1/tasks").TotalRecords; after != before+1 {
			t.Errorf("%d tasks after a create and its repeat, want %d", after, before+1)
		}
	})
	t.Run("a repeated change makes no new version", func(t *testing.T) {
		id := srv.seed(t, valid)[0]
		first := srv.patch(t, id, `{"priority":4}`, key("change")...)
		repeat := srv.patch(t, id, `{"priority":4}`, key("change")...)
		sameAnswer(t, first, repeat)
		if v := srv.read(t, id)["version"]; v != 2.0 {
			t.Errorf("version %v after a change and its repeat, want 2", v)
		}
	})
	t.Run("a repeated change is answered with the task as the first change left it", func(t *testing.T) {
		id := srv.seed(t, valid)[0]
		first := srv.patch(t, id, `{"priority":4}`, key("change-then-more")...)
		srv.patch(t, id, `{"priority":1}`) // another client's change: version 3
		repeat := srv.patch(t, id, `{"priority":4}`, key("change-then-more")...)
		sameAnswer(t, first, repeat)
		if got := srv.read(t, id); got["version"] != 3.0 || got["priority"] != 1.0 {
			t.Errorf("the repeat ran again: %v", got)
		}
	})
	t.Run("a repeated delete answers as the first did, not Task not found", func(t *testing.T) {
		id := srv.seed(t, valid)[0]
		first := srv.send(t, http.MethodDelete, taskPath(id), "", "", key("delete")...)
		repeat := srv.send(t, http.MethodDelete, taskPath(id), "", "", key("delete")...)
		sameAnswer(t, first, repeat)
		if first.Status != http.StatusOK {
			t.Errorf("the first delete answered %d", first.Status)
		}
	})
}

func TestARepeatedRefusalIsAnsweredAsTheFirst(t *testing.T) {
	srv := newServer(t, nil)
	id := srv.seed(t, valid)[0]
	missing := id + 1000
	tests := []struct {
		name                   string
		method, path, body     string
		ifMatch                string
		status                 int
		changeTheTaskInBetween bool // so that a request run again would answer otherwise
	}{
		{"a broken rule of a create is a 422 again", http.MethodPost, "/v1/tasks", `{"title":""}`, "", http.StatusUnprocessableEntity, false},
		{"a create body that is not an object is a 400 again", http.MethodPost, "/v1/tasks", `[]`, "", http.StatusBadRequest, false},
		{"a null title of a change is a 422 again", http.MethodPatch, taskPath(id), `{"title":null}`, "", http.StatusUnprocessableEntity, false},
		{"a wrong JSON type in a change is a 422 again", http.MethodPatch, taskPath(id), `{"title":1}`, "", http.StatusUnprocessableEntity, false},
		{"a change of a missing task is a 400 again", http.MethodPatch, taskPath(missing), `{"title":"x"}`, "", http.StatusBadRequest, false},
		{"a version conflict is a 412 again, with the version it met", http.MethodPatch, taskPath(id), `{"priority":0}`, `"9"`, http.StatusPreconditionFailed, true},
		{"a delete of a missing task is a 400 again", http.MethodDelete, taskPath(missing), "", "", http.StatusBadRequest, false},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			headers := []string{idempotency.Header, "refusal-" + strconv.Itoa(i)}
			if tt.ifMatch != "" {
				headers = append(headers, "If-Match", tt.ifMatch)
			}
			first := srv.send(t, tt.method, tt.path, "application/json", tt.body, headers...)
			if first.Status != tt.status {
				t.Fatalf("the first answer is %d %s, want %d", first.Status, first.Raw, tt.status)
			}
			if tt.changeTheTaskInBetween {
				srv.patch(t, id, `{"title":"Moved on `+strconv.Itoa(i)+`"}`)
			}
			sameAnswer(t, first, srv.send(t, tt.method, tt.path, "application/json", tt.body, headers...))
		})
	}
}

func TestAKeyUsedForAnotherRequestIsRefused(t *testing.T) {
	srv := newServer(t, nil)
	ids := srv.seed(t, valid, valid)
	tests := []struct {
		name          string
		first, second func(t *testing.T, key string) response
	}{
		{"another body", func(t *testing.T, key string) response {
			return srv.send(t, http.MethodPost, "/v1/tasks", "application/json", valid, idempotency.Header, key)
		}, func(t *testing.T, key string) response {
			return srv.send(t, http.MethodPost, "/v1/tasks", "application/json", strings.Replace(valid, "Sarah", "Sam", 1), idempotency.Header, key)
		}},
		{"another task", func(t *testing.T, key string) response {
			return srv.patch(t, ids[0], `{"priority":4}`, idempotency.Header, key)
		}, func(t *testing.T, key string) response {
			return srv.patch(t, ids[1], `{"priority":4}`, idempotency.Header, key)
		}},
		{"another method", func(t *testing.T, key string) response {
			return srv.patch(t, ids[1], `{}`, idempotency.Header, key)
		}, func(t *testing.T, key string) response {
			return srv.send(t, http.MethodDelete, taskPath(ids[1]), "", "", idempotency.Header, key)
		}},
		{"another Content-Type", func(t *testing.T, key string) response {
			return srv.send(t, http.MethodPost, "/v1/tasks", "application/json", valid, idempotency.Header, key)
		}, func(t *testing.T, key string) response {
			return srv.send(t, http.MethodPost, "/v1/tasks", "text/plain", valid, idempotency.Header, key)
		}},
		{"another If-Match", func(t *testing.T, key string) response {
			return srv.patch(t, ids[0], `{"priority":3}`, idempotency.Header, key, "If-Match", "*")
		}, func(t *testing.T, key string) response {
			return srv.patch(t, ids[0], `{"priority":3}`, idempotency.Header, key, "If-Match", `W/"1"`)
		}},
		{"another body after a refusal", func(t *testing.T, key string) response {
			return srv.patch(t, ids[0], `{"title":null}`, idempotency.Header, key)
		}, func(t *testing.T, key string) response {
			return srv.patch(t, ids[0], `{"title":"Fixed"}`, idempotency.Header, key)
		}},
	}
	for i, tt := range tests {
		t.Run("the key with "+tt.name+" is a 422 that runs nothing", func(t *testing.T) {
			key := "reused-" + strconv.Itoa(i)
			tt.first(t, key)
			before := srv.list(t, "/v1/tasks?sortBy=activity_id")
			r := tt.second(t, key)
			if r.Status != http.StatusUnprocessableEntity || r.Success || r.Message == "" || r.Errors != nil || replayed(r) {
				t.Errorf("got %d %s (replayed %v), want a 422 with a message", r.Status, r.Raw, replayed(r))
			}
			if after := srv.list(t, "/v1/tasks?sortBy=activity_id"); !reflect.DeepEqual(after, before) {
				t.Errorf("the refused request wrote:\n%v, was\n%v", after, before)
			}
		})
	}
}

func TestAMalformedKeyIsRefused(t *testing.T) {
	tests := []struct {
		name string
		keys []string // the header lines
	}{
		{"an empty key", []string{""}},
		{"a key of 256 characters", []string{strings.Repeat("k", 256)}},
		{"a key of 300 characters", []string{strings.Repeat("k", 300)}},
		{"a key with a space", []string{"two words"}},
		{"a key with a non-ASCII letter", []string{"clé"}},
		{"a key sent twice", []string{"a", "b"}},
	}
	srv := newServer(t, nil)
	id := srv.seed(t, valid)[0]
	for _, tt := range tests {
		for _, req := range []struct{ method, path, body string }{
			{http.MethodPost, "/v1/tasks", valid},
			{http.MethodPatch, taskPath(id), `{"priority":4}`},
			{http.MethodDelete, taskPath(id), ""},
		} {
			t.Run(tt.name+" is a 422 on a "+req.method, func(t *testing.T) {
				var headers []string
				for _, k := range tt.keys {
					headers = append(headers, idempotency.Header, k)
				}
				r := srv.send(t, req.method, req.path, "application/json", req.body, headers...)
				if r.Status != http.StatusUnprocessableEntity || !reflect.DeepEqual(errorFields(r), []string{idempotency.Header}) ||
					!strings.HasPrefix(r.Message, idempotency.Header+" ") {
					t.Errorf("got %d %s, want a 422 on %s", r.Status, r.Raw, idempotency.Header)
				}
			})
		}
	}
	t.Run("a key of 255 visible characters is taken", func(t *testing.T) {
		key := strings.Repeat("~", 254) + "!"
		if r := srv.send(t, http.MethodPost, "/v1/tasks", "application/json", valid, idempotency.Header, key); r.Status != http.StatusOK {
			t.Errorf("got %d %s, want 200", r.Status, r.Raw)
		}
	})
	if d := srv.list(t, "/v1/tasks"); d.TotalRecords != 2 {
		t.Errorf("%d tasks, want 2: refused keys wrote", d.TotalRecords)
	}
	if v := srv.read(t, id)["version"]; v != 1.0 {
		t.Errorf("version %v, want 1: refused keys changed the task", v)
	}
}

func TestKeysBelongToTheAPIKeyThatSendsThem(t *testing.T) {
	srv := newServer(t, nil)
	sameOrganisation := srv.keyFor(t, "Acme")
	otherOrganisation := srv.keyFor(t, "Globex")
	first := srv.send(t, http.MethodPost, "/v1/tasks", "application/json", valid, idempotency.Header, "shared")
	for _, tt := range []struct {
		name  string
		creds access.Credentials
	}{
		{"another key of the organisation runs its own request", sameOrganisation},
		{"a key of another organisation runs its own request", otherOrganisation},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := srv.sendAs(t, tt.creds, http.MethodPost, "/v1/tasks", "application/json", valid, idempotency.Header, "shared")
			if r.Status != http.StatusOK || replayed(r) || bytes.Equal(r.Data, first.Data) {
				t.Errorf("got %d %s (replayed %v), want a task of its own", r.Status, r.Data, replayed(r))
			}
		})
	}
	if d := srv.list(t, "/v1/tasks"); d.TotalRecords != 2 {
		t.Errorf("Acme has %d tasks, want 2", d.TotalRecords)
	}
}

// flaky fails its first write with a fault, then works.
type flaky struct {
	task.Service
	failed atomic.Bool
}

func (f *flaky) CreateTask(ctx context.Context, in task.CreateInput) (task.Task, error) {
	if f.failed.CompareAndSwap(false, true) {
		return task.Task{}, errSecret
	}
	return f.Service.CreateTask(ctx, in)
}

func TestAnswersRefusedBeforeTheRequestRanAreNotKept(t *testing.T) {
	tests := []struct {
		name   string
		wrap   func(task.Service) task.Service
		status int
		first  func(srv *server, t *testing.T) response
	}{
		{"a 415", nil, http.StatusUnsupportedMediaType, func(srv *server, t *testing.T) response {
			return srv.send(t, http.MethodPost, "/v1/tasks", "text/plain", valid, idempotency.Header, "k")
		}},
		{"a 413", nil, http.StatusRequestEntityTooLarge, func(srv *server, t *testing.T) response {
			big := strings.Replace(valid, "}", `,"padding":"`+strings.Repeat("a", 1<<20)+`"}`, 1)
			return srv.send(t, http.MethodPost, "/v1/tasks", "application/json", big, idempotency.Header, "k")
		}},
		{"a 401", nil, http.StatusUnauthorized, func(srv *server, t *testing.T) response {
			return srv.sendAs(t, access.Credentials{}, http.MethodPost, "/v1/tasks", "application/json", valid, idempotency.Header, "k")
		}},
		{"a 500", func(s task.Service) task.Service { return &flaky{Service: s} }, http.StatusInternalServerError, func(srv *server, t *testing.T) response {
			return srv.send(t, http.MethodPost, "/v1/tasks", "application/json", valid, idempotency.Header, "k")
		}},
	}
	for _, tt := range tests {
		t.Run("after "+tt.name+" a corrected retry under the same key runs", func(t *testing.T) {
			srv := newServer(t, tt.wrap)
			if r := tt.first(srv, t); r.Status != tt.status {
				t.Fatalf("the first request answered %d %s, want %d", r.Status, r.Raw, tt.status)
			}
			r := srv.send(t, http.MethodPost, "/v1/tasks", "application/json", valid, idempotency.Header, "k")
			if r.Status != http.StatusOK || replayed(r) {
				t.Errorf("the retry answered %d %s (replayed %v), want a new task", r.Status, r.Raw, replayed(r))
			}
			if d := srv.list(t, "/v1/tasks"); d.TotalRecords != 1 {
				t.Errorf("%d tasks, want 1", d.TotalRecords)
			}
		})
	}
}

func TestAKeyOnAReadIsIgnored(t *testing.T) {
	srv := newServer(t, nil)
	id := srv.seed(t, valid)[0]
	for _, path := range []string{"/v1/tasks", taskPath(id)} {
		for _, key := range []string{"read", strings.Repeat("k", 300)} {
			t.Run("GET "+path+" with a key of "+strconv.Itoa(len(key))+" characters answers as without", func(t *testing.T) {
				without := srv.get(t, path)
				for range 2 {
					r := srv.send(t, http.MethodGet, path, "", "", idempotency.Header, key)
					if r.Status != http.StatusOK || replayed(r) || !bytes.Equal(r.Raw, without.Raw) {
						t.Errorf("got %d %s (replayed %v), want the answer without a key", r.Status, r.Raw, replayed(r))
					}
				}
			})
		}
	}
}

func TestAKeyWhoseFirstRequestIsStillRunningIsInUse(t *testing.T) {
	var stall *stalling
	srv := newServer(t, stallingService(&stall))
	id := srv.seed(t, valid)[0]
	tests := []struct{ method, path, body string }{
		{http.MethodPost, "/v1/tasks", valid},
		{http.MethodPatch, taskPath(id), `{"priority":4}`},
		{http.MethodDelete, taskPath(id), ""},
	}
	for i, tt := range tests {
		t.Run("a "+tt.method+" under a key still being answered is a 409", func(t *testing.T) {
			key := "running-" + strconv.Itoa(i)
			end := stall.running(t, srv, tt.method, tt.path, tt.body, idempotency.Header, key)
			r := srv.send(t, tt.method, tt.path, "application/json", tt.body, idempotency.Header, key)
			if r.Status != http.StatusConflict || r.Success || r.Message == "" || replayed(r) {
				t.Errorf("got %d %s, want a 409 with a message", r.Status, r.Raw)
			}
			if status := end(); status != http.StatusOK {
				t.Fatalf("the first request answered %d, want 200", status)
			}
			if r := srv.send(t, tt.method, tt.path, "application/json", tt.body, idempotency.Header, key); r.Status != http.StatusOK || !replayed(r) {
				t.Errorf("once answered, a repeat got %d (replayed %v), want the kept 200", r.Status, replayed(r))
			}
		})
	}
}

func TestKeptAnswersExpireAfter24Hours(t *testing.T) {
	tests := []struct {
		name     string
		later    time.Duration
		replayed bool
		tasks    int
	}{
		{"a repeat within 24 hours is replayed", 23*time.Hour + 59*time.Minute, true, 1},
		{"a repeat after 24 hours runs as a new request", 24*time.Hour + time.Minute, false, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newServer(t, nil)
			srv.send(t, http.MethodPost, "/v1/tasks", "application/json", valid, idempotency.Header, "k")
			srv.clocks.skew.Store(int64(tt.later))
			r := srv.send(t, http.MethodPost, "/v1/tasks", "application/json", valid, idempotency.Header, "k")
			if r.Status != http.StatusOK || replayed(r) != tt.replayed {
				t.Errorf("got %d, replayed %v; want 200, replayed %v", r.Status, replayed(r), tt.replayed)
			}
			if d := srv.list(t, "/v1/tasks"); d.TotalRecords != tt.tasks {
				t.Errorf("%d tasks, want %d", d.TotalRecords, tt.tasks)
			}
		})
	}
}
