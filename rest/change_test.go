package rest_test

import (
	"encoding/json"
	"maps"
	"net/http"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// full is a task with every writable field set.
const full = `{"title":"Send contract","start_datetime":"2026-07-16T09:00:00","end_datetime":"2026-07-17T09:00:00",
	"description":"Renewal","deal_id":3,"cstid":10,"priority":4,"status":1,"assigned_user_id":7,"tags":[4,7]}`

func taskPath(id int) string { return "/v1/tasks/" + strconv.Itoa(id) }

func (s *server) patch(t *testing.T, id int, body string, headers ...string) response {
	t.Helper()
	return s.send(t, http.MethodPatch, taskPath(id), "application/json", body, headers...)
}

func (s *server) delete(t *testing.T, id int, headers ...string) response {
	t.Helper()
	return s.send(t, http.MethodDelete, taskPath(id), "", "", headers...)
}

// read returns the task as stored, which must exist.
func (s *server) read(t *testing.T, id int) map[string]any {
	t.Helper()
	r := s.get(t, taskPath(id))
	if r.Status != http.StatusOK {
		t.Fatalf("GET task %d: %d %q", id, r.Status, r.Message)
	}
	return taskOf(t, r)
}

// taskOf is the task an answer carries.
func taskOf(t *testing.T, r response) map[string]any {
	t.Helper()
	var got map[string]any
	if err := json.Unmarshal(r.Data, &got); err != nil || got == nil {
		t.Fatalf("data %s is not a task: %v", r.Data, err)
	}
	return got
}

// without is m without the keys.
func without(m map[string]any, keys ...string) map[string]any {
	out := maps.Clone(m)
	for _, k := range keys {
		delete(out, k)
	}
	return out
}

// errorFields are the keys of a validation error's errors, sorted.
func errorFields(r response) []string {
	return slices.Sorted(maps.Keys(r.Errors))
}

func TestAChangeSetsWhatItSendsAndKeepsTheRest(t *testing.T) {
	tests := []struct {
		name   string
		change string
		want   map[string]any // the fields that differ from the task before
	}{
		{"a title alone changes only the title", `{"title":"Call back"}`,
			map[string]any{"title": "Call back"}},
		{"a title is trimmed as in a create", `{"title":"  Call back  "}`,
			map[string]any{"title": "Call back"}},
		{"null clears the end, and the due date follows the start", `{"end_datetime":null}`,
			map[string]any{"end_datetime": nil, "due_date": "2026-07-16"}},
		{"null clears the description", `{"description":null}`,
			map[string]any{"description": nil}},
		{"null clears the deal while a contact remains", `{"deal_id":null}`,
			map[string]any{"deal_id": nil}},
		{"null clears the contact while a deal remains", `{"cstid":null}`,
			map[string]any{"cstid": nil}},
		{"null clears the assigned user", `{"assigned_user_id":null}`,
			map[string]any{"assigned_user_id": nil}},
		{"null clears the tags to an empty list", `{"tags":null}`,
			map[string]any{"tags": []any{}}},
		{"an empty list clears the tags", `{"tags":[]}`,
			map[string]any{"tags": []any{}}},
		{"tags replace the task's, de-duplicated as in a create", `{"tags":[5,5,2]}`,
			map[string]any{"tags": []any{5.0, 2.0}}},
		{"a new end moves the due date", `{"end_datetime":"2026-07-20T10:00:00"}`,
			map[string]any{"end_datetime": "2026-07-20T10:00:00", "due_date": "2026-07-20"}},
		{"a new start moves the due date when the end is cleared", `{"start_datetime":"2026-07-10T09:00:00","end_datetime":null}`,
			map[string]any{"start_datetime": "2026-07-10T09:00:00", "end_datetime": nil, "due_date": "2026-07-10"}},
		{"a start and an end sent together are checked together", `{"start_datetime":"2026-08-01T09:00:00","end_datetime":"2026-08-02T09:00:00"}`,
			map[string]any{"start_datetime": "2026-08-01T09:00:00", "end_datetime": "2026-08-02T09:00:00", "due_date": "2026-08-02"}},
		{"a contact can replace the deal in one change", `{"deal_id":null,"cstid":11}`,
			map[string]any{"deal_id": nil, "cstid": 11.0}},
		{"status and priority change to any value in range", `{"status":4,"priority":0}`,
			map[string]any{"status": 4.0, "priority": 0.0}},
		{"unknown and read-only fields are ignored", `{"title":"Call back","colour":"red","activity_id":999,
			"activity_type":"Event","due_date":"1999-01-01","created_at":"2000-01-01T00:00:00",
			"updated_at":"2000-01-01T00:00:00","completed_at":"2000-01-01T00:00:00","version":77}`,
			map[string]any{"title": "Call back"}},
	}
	srv := newServer(t, nil)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id := srv.seed(t, full)[0]
			before := srv.read(t, id)
			r := srv.patch(t, id, tt.change)
			if r.Status != http.StatusOK || !r.Success || r.Message != "Task activity updated successfully." {
				t.Fatalf("got %d %v %q %v, want 200 with the update message", r.Status, r.Success, r.Message, r.Errors)
			}
			want := maps.Clone(before)
			maps.Copy(want, tt.want)
			// Versions and times have tests of their own.
			ignore := []string{"updated_at", "version"}
			if got := taskOf(t, r); !reflect.DeepEqual(without(got, ignore...), without(want, ignore...)) {
				t.Errorf("answered\n%v, want\n%v", got, want)
			}
			if stored := srv.read(t, id); !reflect.DeepEqual(stored, taskOf(t, r)) {
				t.Errorf("stored\n%v, answered\n%v", stored, taskOf(t, r))
			}
		})
	}
}

func TestABrokenRuleRefusesTheWholeChange(t *testing.T) {
	var tags51 []string
	for i := 1; i <= 51; i++ {
		tags51 = append(tags51, strconv.Itoa(i))
	}
	tests := []struct {
		name   string
		base   string // the task changed; full when empty
		change string
		fields []string // the keys of errors, sorted
	}{
		{"a null title is refused on title", "", `{"title":null}`, []string{"title"}},
		{"a null start is refused on start_datetime", "", `{"start_datetime":null}`, []string{"start_datetime"}},
		{"a null status is refused on status", "", `{"status":null}`, []string{"status"}},
		{"a null priority is refused on priority", "", `{"priority":null}`, []string{"priority"}},
		{"a blank title is refused", "", `{"title":"   "}`, []string{"title"}},
		{"a title of 151 characters is refused", "", `{"title":"` + strings.Repeat("é", 151) + `"}`, []string{"title"}},
		{"an impossible start date is refused", "", `{"start_datetime":"2026-02-30T10:00:00"}`, []string{"start_datetime"}},
		{"an end before the stored start is refused on end_datetime", "", `{"end_datetime":"2026-07-15T09:00:00"}`, []string{"end_datetime"}},
		{"a start after the stored end is refused on start_datetime", "", `{"start_datetime":"2026-07-18T09:00:00"}`, []string{"start_datetime"}},
		{"removing both deal and contact is refused on both", "", `{"deal_id":null,"cstid":null}`, []string{"cstid", "deal_id"}},
		{"removing the last link is refused on both", valid, `{"cstid":null}`, []string{"cstid", "deal_id"}},
		{"a zero deal id is refused", "", `{"deal_id":0}`, []string{"deal_id"}},
		{"a zero assigned user is refused", "", `{"assigned_user_id":0}`, []string{"assigned_user_id"}},
		{"a priority above 4 is refused", "", `{"priority":5}`, []string{"priority"}},
		{"a negative status is refused", "", `{"status":-1}`, []string{"status"}},
		{"a description over 10000 characters is refused", "", `{"description":"` + strings.Repeat("d", 10001) + `"}`, []string{"description"}},
		{"51 distinct tags are refused", "", `{"tags":[` + strings.Join(tags51, ",") + `]}`, []string{"tags"}},
		{"a numeric title is a type error", "", `{"title":5}`, []string{"title"}},
		{"a numeric start is a type error", "", `{"start_datetime":20260715}`, []string{"start_datetime"}},
		{"a quoted deal id is a type error", "", `{"deal_id":"3"}`, []string{"deal_id"}},
		{"a fractional contact id is a type error", "", `{"cstid":1.5}`, []string{"cstid"}},
		{"a named status is a type error", "", `{"status":"open"}`, []string{"status"}},
		{"a string among the tags is a type error", "", `{"tags":[1,"2"]}`, []string{"tags"}},
		{"a boolean description is a type error", "", `{"description":true}`, []string{"description"}},
		{"several broken rules are all reported", "", `{"title":null,"priority":9}`, []string{"priority", "title"}},
		{"a broken rule stores nothing, not even a valid field beside it", "", `{"title":"Call back","priority":9}`, []string{"priority"}},
	}
	srv := newServer(t, nil)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			base := full
			if tt.base != "" {
				base = tt.base
			}
			id := srv.seed(t, base)[0]
			before := srv.read(t, id)
			r := srv.patch(t, id, tt.change)
			if r.Status != http.StatusUnprocessableEntity || r.Success || r.Data != nil {
				t.Fatalf("got %d success=%v data=%s, want 422", r.Status, r.Success, r.Data)
			}
			if got := errorFields(r); !reflect.DeepEqual(got, tt.fields) {
				t.Errorf("errors on %v, want %v (%v)", got, tt.fields, r.Errors)
			}
			for f, msgs := range r.Errors {
				for _, m := range msgs {
					if !strings.HasPrefix(m, f+" ") {
						t.Errorf("message %q does not name its field %s", m, f)
					}
				}
			}
			if first := r.Errors[firstField(r.Message)]; len(first) == 0 || first[0] != r.Message {
				t.Errorf("message %q is not the first field message of %v", r.Message, r.Errors)
			}
			if after := srv.read(t, id); !reflect.DeepEqual(after, before) {
				t.Errorf("a refused change was stored:\n%v, was\n%v", after, before)
			}
		})
	}
}

func TestAChangeThatAltersAValueMakesANewVersion(t *testing.T) {
	srv := newServer(t, nil)
	id := srv.seed(t, valid)[0]
	created := srv.read(t, id)
	tests := []struct {
		name    string
		change  string
		version float64
	}{
		{"the first change makes version 2", `{"priority":4}`, 2},
		{"each later change adds one", `{"title":"Call back"}`, 3},
	}
	previous := created
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := taskOf(t, srv.patch(t, id, tt.change))
			if got["version"] != tt.version {
				t.Errorf("version %v, want %v", got["version"], tt.version)
			}
			if got["updated_at"].(string) <= previous["updated_at"].(string) {
				t.Errorf("updated_at %v, want later than %v", got["updated_at"], previous["updated_at"])
			}
			if got["created_at"] != created["created_at"] {
				t.Errorf("created_at %v, want %v as created", got["created_at"], created["created_at"])
			}
			previous = got
		})
	}
}

func TestAChangeThatAltersNothingKeepsTheTaskAsItIs(t *testing.T) {
	tests := []struct{ name, change string }{
		{"an empty object alters nothing", `{}`},
		{"the values the task has alter nothing", `{"title":"Follow up with Sarah","start_datetime":"2026-07-15T10:00:00","cstid":10,"priority":2}`},
		{"a title that trims to the same alters nothing", `{"title":"  Follow up with Sarah "}`},
		{"clearing what is not set alters nothing", `{"end_datetime":null,"description":null,"deal_id":null,"tags":null}`},
		{"only unknown and read-only fields alter nothing", `{"colour":"red","version":5,"updated_at":"2000-01-01T00:00:00"}`},
	}
	srv := newServer(t, nil)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id := srv.seed(t, valid)[0]
			before := srv.read(t, id)
			r := srv.patch(t, id, tt.change)
			if r.Status != http.StatusOK || r.Message != "Task activity updated successfully." {
				t.Fatalf("got %d %q %v, want 200 with the update message", r.Status, r.Message, r.Errors)
			}
			if got := taskOf(t, r); !reflect.DeepEqual(got, before) {
				t.Errorf("answered\n%v, want the task as it was\n%v", got, before)
			}
			if after := srv.read(t, id); !reflect.DeepEqual(after, before) {
				t.Errorf("stored\n%v, want the task as it was\n%v", after, before)
			}
		})
	}
}

func TestCompletedAtFollowsTheStatus(t *testing.T) {
	completed := `{"title":"t","start_datetime":"2026-07-15T10:00:00","cstid":1,"status":2}`
	tests := []struct {
		name   string
		create string
		change string
		// want is completed_at after the change: a value, or the name of
		// the field it equals in the task created or the task changed.
		want any
	}{
		{"a task created as Completed has its created_at", completed, `{}`, "created.created_at"},
		{"a task created open has none", valid, `{}`, nil},
		{"becoming Completed sets it to the time of the change", valid, `{"status":2}`, "changed.updated_at"},
		{"leaving Completed clears it", completed, `{"status":1}`, nil},
		{"staying Completed keeps the first completion", completed, `{"title":"Done at last"}`, "created.completed_at"},
		{"another status than Completed leaves it null", valid, `{"status":3}`, nil},
	}
	srv := newServer(t, nil)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id := srv.seed(t, tt.create)[0]
			created := srv.read(t, id)
			r := srv.patch(t, id, tt.change)
			if r.Status != http.StatusOK {
				t.Fatalf("change: %d %q %v", r.Status, r.Message, r.Errors)
			}
			changed := taskOf(t, r)
			want := tt.want
			if s, ok := want.(string); ok {
				from, field, _ := strings.Cut(s, ".")
				if want = map[string]map[string]any{"created": created, "changed": changed}[from][field]; want == nil {
					t.Fatalf("%s is null, want a time", s)
				}
			}
			if changed["completed_at"] != want {
				t.Errorf("completed_at = %v, want %v (%v)", changed["completed_at"], want, tt.want)
			}
		})
	}
}

func TestAChangeRefusesABodyItCannotRead(t *testing.T) {
	tests := []struct {
		name        string
		contentType string
		body        string
		status      int
	}{
		{"a plain-text content type is a 415", "text/plain", `{"title":"x"}`, http.StatusUnsupportedMediaType},
		{"a missing content type is a 415", "", `{"title":"x"}`, http.StatusUnsupportedMediaType},
		{"a body that is not JSON is a 400", "application/json", `{"title":`, http.StatusBadRequest},
		{"an empty body is a 400", "application/json", ``, http.StatusBadRequest},
		{"a JSON array is a 400", "application/json", `[{"title":"x"}]`, http.StatusBadRequest},
		{"a JSON null is a 400", "application/json", `null`, http.StatusBadRequest},
		{"a JSON string is a 400", "application/json", `"x"`, http.StatusBadRequest},
		{"two objects in a row are a 400", "application/json", `{"title":"x"}{}`, http.StatusBadRequest},
		{"a body over 1 MiB is a 413", "application/json", `{"title":"` + strings.Repeat("a", 1<<20) + `"}`, http.StatusRequestEntityTooLarge},
	}
	srv := newServer(t, nil)
	id := srv.seed(t, valid)[0]
	before := srv.read(t, id)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := srv.send(t, http.MethodPatch, taskPath(id), tt.contentType, tt.body)
			if r.Status != tt.status || r.Success || r.Message == "" || r.Errors != nil {
				t.Errorf("got %d success=%v %q %v, want %d with a message", r.Status, r.Success, r.Message, r.Errors, tt.status)
			}
		})
	}
	if after := srv.read(t, id); !reflect.DeepEqual(after, before) {
		t.Errorf("a refused body changed the task:\n%v, was\n%v", after, before)
	}
}

func TestAChangeOrDeleteNeedsATaskIDThatIsAPositiveInteger(t *testing.T) {
	srv := newServer(t, nil)
	srv.seed(t, valid)
	for _, method := range []string{http.MethodPatch, http.MethodDelete} {
		for _, id := range []string{"abc", "0", "-1", "01", "1.5", "99999999999999999999"} {
			t.Run(method+" of task "+id+" is a 422 on id", func(t *testing.T) {
				r := srv.send(t, method, "/v1/tasks/"+id, "application/json", `{}`)
				if r.Status != http.StatusUnprocessableEntity || !reflect.DeepEqual(errorFields(r), []string{"id"}) {
					t.Errorf("got %d %v, want 422 on id", r.Status, r.Errors)
				}
			})
		}
	}
	if d := srv.list(t, "/v1/tasks"); d.TotalRecords != 1 {
		t.Errorf("%d tasks left, want 1", d.TotalRecords)
	}
}

func TestAMissingTaskIsNotFound(t *testing.T) {
	srv := newServer(t, nil)
	id := srv.seed(t, valid)[0]
	tests := []struct {
		name string
		send func(t *testing.T) response
	}{
		{"a change of a task that never existed", func(t *testing.T) response { return srv.patch(t, id+1, `{"title":"x"}`) }},
		{"a delete of a task that never existed", func(t *testing.T) response { return srv.delete(t, id+1) }},
	}
	for _, tt := range tests {
		t.Run(tt.name+" is a 400 Task not found", func(t *testing.T) {
			if r := tt.send(t); r.Status != http.StatusBadRequest || r.Message != "Task not found" || r.Data != nil {
				t.Errorf("got %d %q %s, want 400 Task not found", r.Status, r.Message, r.Data)
			}
		})
	}
}

func TestADeletedTaskIsGoneForEveryRead(t *testing.T) {
	srv := newServer(t, nil)
	ids := srv.seed(t, valid, valid, valid)
	gone := ids[2] // the newest: its id would be the next one given, were ids reused
	r := srv.delete(t, gone)
	if r.Status != http.StatusOK || !r.Success || r.Message != "Task activity deleted successfully." {
		t.Fatalf("delete: %d %v %q, want 200 with the delete message", r.Status, r.Success, r.Message)
	}
	if want := `{"activity_id":` + strconv.Itoa(gone) + `}`; string(r.Data) != want {
		t.Errorf("data = %s, want %s", r.Data, want)
	}
	if r.Header.Get("ETag") != "" {
		t.Errorf("a delete answered with ETag %q: there is no task left to tag", r.Header.Get("ETag"))
	}

	tests := []struct {
		name  string
		check func(t *testing.T)
	}{
		{"reading it is a 400 Task not found", func(t *testing.T) {
			if r := srv.get(t, taskPath(gone)); r.Status != http.StatusBadRequest || r.Message != "Task not found" {
				t.Errorf("got %d %q", r.Status, r.Message)
			}
		}},
		{"the list and its total leave it out", func(t *testing.T) {
			d := srv.list(t, "/v1/tasks")
			if got := idsOf(d); !reflect.DeepEqual(got, []int{ids[1], ids[0]}) || d.TotalRecords != 2 {
				t.Errorf("list %v (%d), want [%d %d] (2)", got, d.TotalRecords, ids[1], ids[0])
			}
		}},
		{"changing it is a 400 Task not found", func(t *testing.T) {
			if r := srv.patch(t, gone, `{"title":"x"}`); r.Status != http.StatusBadRequest || r.Message != "Task not found" {
				t.Errorf("got %d %q", r.Status, r.Message)
			}
		}},
		{"deleting it again is a 400 Task not found", func(t *testing.T) {
			if r := srv.delete(t, gone); r.Status != http.StatusBadRequest || r.Message != "Task not found" {
				t.Errorf("got %d %q", r.Status, r.Message)
			}
		}},
		{"its id is never given to another task", func(t *testing.T) {
			if next := srv.seed(t, valid)[0]; next <= gone {
				t.Errorf("the next task got id %d, want above the deleted %d", next, gone)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, tt.check)
	}
}
