package rest_test

import (
	"net/http"
	"reflect"
	"strconv"
	"sync"
	"testing"
)

func TestEveryAnswerWithOneTaskCarriesItsVersionAsETag(t *testing.T) {
	srv := newServer(t, nil)
	id := srv.seed(t, valid)[0]
	tests := []struct {
		name string
		send func(t *testing.T) response
		etag string // "" for none
	}{
		{"a create tags version 1", func(t *testing.T) response { return srv.post(t, "/v1/tasks", valid) }, `"1"`},
		{"a read tags the current version", func(t *testing.T) response { return srv.get(t, taskPath(id)) }, `"1"`},
		{"a change tags the new version", func(t *testing.T) response { return srv.patch(t, id, `{"priority":4}`) }, `"2"`},
		{"a change that alters nothing tags the version it kept", func(t *testing.T) response { return srv.patch(t, id, `{}`) }, `"2"`},
		{"a list has no tag of its own", func(t *testing.T) response { return srv.get(t, "/v1/tasks") }, ""},
		{"a delete has no tag: the task is gone", func(t *testing.T) response { return srv.delete(t, id) }, ""},
		{"a refusal has no tag", func(t *testing.T) response { return srv.get(t, taskPath(id)) }, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := tt.send(t)
			if got := r.Header.Get("ETag"); got != tt.etag {
				t.Errorf("ETag %q, want %q", got, tt.etag)
			}
			if tt.etag != "" && tt.etag != `"`+strconv.Itoa(int(taskOf(t, r)["version"].(float64)))+`"` {
				t.Errorf("ETag %s is not the version of the task answered: %s", tt.etag, r.Data)
			}
		})
	}
}

// atVersion2 creates a task and changes it once.
func atVersion2(t *testing.T, srv *server) int {
	t.Helper()
	id := srv.seed(t, valid)[0]
	if r := srv.patch(t, id, `{"priority":4}`); r.Status != http.StatusOK {
		t.Fatalf("change: %d %q", r.Status, r.Message)
	}
	return id
}

func TestIfMatchChangesOrDeletesOnlyTheVersionsItNames(t *testing.T) {
	tests := []struct {
		name   string
		lines  []string // the If-Match header lines
		status int
	}{
		{"the current version matches", []string{`"2"`}, http.StatusOK},
		{"an old version does not match", []string{`"1"`}, http.StatusPreconditionFailed},
		{"a later version does not match", []string{`"3"`}, http.StatusPreconditionFailed},
		{"* matches any version", []string{"*"}, http.StatusOK},
		{"a weak tag of the current version does not match", []string{`W/"2"`}, http.StatusPreconditionFailed},
		{"a list matches when one of its tags does", []string{`"1", "2"`}, http.StatusOK},
		{"a list whose current version is weak does not match", []string{`"1", W/"2"`}, http.StatusPreconditionFailed},
		{"tags on several lines are one list", []string{`"1"`, `"2"`}, http.StatusOK},
		{"empty list elements are skipped", []string{` , "2" ,, `}, http.StatusOK},
		{"tags compare as text, so a leading zero does not match", []string{`"02"`}, http.StatusPreconditionFailed},
		{"a tag of another form does not match", []string{`"v2"`}, http.StatusPreconditionFailed},
		{"an empty list matches nothing", []string{`,`}, http.StatusPreconditionFailed},
		{"an unquoted version is malformed", []string{`2`}, http.StatusUnprocessableEntity},
		{"an unclosed quote is malformed", []string{`"2`}, http.StatusUnprocessableEntity},
		{"* in a list is malformed", []string{`*, "2"`}, http.StatusUnprocessableEntity},
		{"* beside another line is malformed", []string{`*`, `"2"`}, http.StatusUnprocessableEntity},
		{"tags without a comma between them are malformed", []string{`"1" "2"`}, http.StatusUnprocessableEntity},
		{"a lower-case weak prefix is malformed", []string{`w/"2"`}, http.StatusUnprocessableEntity},
		{"a space inside a tag is malformed", []string{`"2 "`}, http.StatusUnprocessableEntity},
	}
	srv := newServer(t, nil)
	for _, tt := range tests {
		for _, method := range []string{http.MethodPatch, http.MethodDelete} {
			t.Run(method+": "+tt.name, func(t *testing.T) {
				id := atVersion2(t, srv)
				before := srv.read(t, id)
				var headers []string
				for _, line := range tt.lines {
					headers = append(headers, "If-Match", line)
				}
				r := srv.send(t, method, taskPath(id), "application/json", `{"priority":0}`, headers...)
				if r.Status != tt.status {
					t.Fatalf("got %d %q %v, want %d", r.Status, r.Message, r.Errors, tt.status)
				}
				switch tt.status {
				case http.StatusOK:
					return // the change and the delete have tests of their own
				case http.StatusPreconditionFailed:
					if r.Success || r.Message == "" || r.Errors != nil || r.Header.Get("ETag") != `"2"` {
						t.Errorf("got %s with ETag %q, want a message and the current ETag \"2\"", r.Raw, r.Header.Get("ETag"))
					}
				case http.StatusUnprocessableEntity:
					if !reflect.DeepEqual(errorFields(r), []string{"If-Match"}) || r.Message != r.Errors["If-Match"][0] {
						t.Errorf("got %s, want errors on If-Match", r.Raw)
					}
				}
				if after := srv.read(t, id); !reflect.DeepEqual(after, before) {
					t.Errorf("the refused %s changed the task:\n%v, was\n%v", method, after, before)
				}
			})
		}
	}
}

func TestA412ForAWeakTagOfTheCurrentVersionSaysToSendItStrong(t *testing.T) {
	const advice = `; If-Match compares tags strongly, so W/"2" never matches: send "2"`
	tests := []struct {
		name   string
		tags   string
		advise bool
	}{
		{"a weak tag of the current version is explained", `W/"2"`, true},
		{"a list whose current version is weak is explained", `"1", W/"2"`, true},
		{"an old strong version is not", `"1"`, false},
		{"a weak old version is not", `W/"1"`, false},
	}
	srv := newServer(t, nil)
	for _, tt := range tests {
		for _, method := range []string{http.MethodPatch, http.MethodDelete} {
			t.Run(method+": "+tt.name, func(t *testing.T) {
				id := atVersion2(t, srv)
				r := srv.send(t, method, taskPath(id), "application/json", `{"priority":0}`, "If-Match", tt.tags)
				want := "The task has changed: its current version is 2"
				if tt.advise {
					want += advice
				}
				if r.Status != http.StatusPreconditionFailed || r.Message != want {
					t.Errorf("got %d %q, want 412 %q", r.Status, r.Message, want)
				}
			})
		}
	}
}

func TestIfMatchOnAMissingTaskIsNotFound(t *testing.T) {
	srv := newServer(t, nil)
	missing := srv.seed(t, valid)[0] + 1
	for _, method := range []string{http.MethodPatch, http.MethodDelete} {
		for _, tag := range []string{`"1"`, "*", `W/"1"`} {
			t.Run(method+" with If-Match "+tag+" is a 400 Task not found", func(t *testing.T) {
				r := srv.send(t, method, taskPath(missing), "application/json", `{}`, "If-Match", tag)
				if r.Status != http.StatusBadRequest || r.Message != "Task not found" || r.Header.Get("ETag") != "" {
					t.Errorf("got %d %q, ETag %q; want 400 Task not found without an ETag", r.Status, r.Message, r.Header.Get("ETag"))
				}
			})
		}
	}
}

func TestOfTwoChangesConditionalOnOneVersionExactlyOneSucceeds(t *testing.T) {
	srv := newServer(t, nil)
	id := srv.seed(t, valid)[0]
	const writers = 8
	statuses := make([]int, writers)
	var wg sync.WaitGroup
	for i := range writers {
		wg.Go(func() {
			r := srv.patch(t, id, `{"priority":`+strconv.Itoa(i%5)+`,"title":"writer `+strconv.Itoa(i)+`"}`, "If-Match", `"1"`)
			statuses[i] = r.Status
		})
	}
	wg.Wait()
	counts := map[int]int{}
	for _, s := range statuses {
		counts[s]++
	}
	if counts[http.StatusOK] != 1 || counts[http.StatusPreconditionFailed] != writers-1 {
		t.Errorf("statuses %v, want one 200 and %d 412s", counts, writers-1)
	}
	if v := srv.read(t, id)["version"]; v != 2.0 {
		t.Errorf("version %v, want 2: one change", v)
	}
}

func TestIfNoneMatchAnswersNotModifiedForTheCurrentVersion(t *testing.T) {
	tests := []struct {
		name   string
		lines  []string // the If-None-Match header lines
		status int
	}{
		{"the current version is not modified", []string{`"2"`}, http.StatusNotModified},
		{"a weak tag of the current version is not modified", []string{`W/"2"`}, http.StatusNotModified},
		{"* is not modified", []string{"*"}, http.StatusNotModified},
		{"a list holding the current version is not modified", []string{`"1", W/"2"`}, http.StatusNotModified},
		{"tags on several lines are one list", []string{`"1"`, `"2"`}, http.StatusNotModified},
		{"an old version is answered in full", []string{`"1"`}, http.StatusOK},
		{"a weak old version is answered in full", []string{`W/"1"`}, http.StatusOK},
		{"an empty list is answered in full", []string{``}, http.StatusOK},
		{"an unquoted version is malformed", []string{`2`}, http.StatusUnprocessableEntity},
		{"* in a list is malformed", []string{`"1", *`}, http.StatusUnprocessableEntity},
	}
	srv := newServer(t, nil)
	id := atVersion2(t, srv)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var headers []string
			for _, line := range tt.lines {
				headers = append(headers, "If-None-Match", line)
			}
			r := srv.send(t, http.MethodGet, taskPath(id), "", "", headers...)
			if r.Status != tt.status {
				t.Fatalf("got %d %s, want %d", r.Status, r.Raw, tt.status)
			}
			switch tt.status {
			case http.StatusNotModified:
				if len(r.Raw) != 0 || r.Header.Get("Content-Type") != "" || r.Header.Get("ETag") != `"2"` {
					t.Errorf("got body %q, Content-Type %q, ETag %q; want no body, no Content-Type and ETag \"2\"",
						r.Raw, r.Header.Get("Content-Type"), r.Header.Get("ETag"))
				}
			case http.StatusOK:
				if taskOf(t, r)["version"] != 2.0 || r.Header.Get("ETag") != `"2"` {
					t.Errorf("got %s with ETag %q, want the task at version 2", r.Data, r.Header.Get("ETag"))
				}
			case http.StatusUnprocessableEntity:
				if !reflect.DeepEqual(errorFields(r), []string{"If-None-Match"}) {
					t.Errorf("got %s, want errors on If-None-Match", r.Raw)
				}
			}
		})
	}
	t.Run("a missing task is a 400 Task not found, even for *", func(t *testing.T) {
		r := srv.send(t, http.MethodGet, taskPath(id+1), "", "", "If-None-Match", "*")
		if r.Status != http.StatusBadRequest || r.Message != "Task not found" {
			t.Errorf("got %d %q, want 400 Task not found", r.Status, r.Message)
		}
	})
}
