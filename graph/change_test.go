package graph_test

import (
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/99designs/gqlgen/client"

	"tasksapi/storetest"
)

// ---- fixtures for changes ----

// clock is a store's clock that moves only when told, so that a test can
// tell a write's time from an earlier one.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// advance moves the clock on by a minute and returns the new time as a
// DateTime is written.
func (c *clock) advance() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(time.Minute)
	return c.now.Format("2006-01-02T15:04:05")
}

// newChangeServer is newServer with the store's clock under the test's
// control.
func newChangeServer(t *testing.T) (tenant, *clock, *client.Client) {
	t.Helper()
	clk := &clock{now: time.Date(2026, 5, 1, 8, 0, 0, 0, time.UTC)}
	tn, _, c := serverOver(t, openStoreOn(t, storetest.SQLite, clk.Now))
	return tn, clk, c
}

// everyFieldInput is a createTask input with every writable field set.
func everyFieldInput() map[string]any {
	return map[string]any{
		"title": "Quarterly review", "startDatetime": "2026-07-15T10:00:00", "endDatetime": "2026-07-17T09:30:00",
		"description": "Bring the numbers", "dealId": 3, "contactId": 7, "priority": "HIGH",
		"status": "IN_PROGRESS", "assignedUserId": 5, "tagIds": []int{4, 2},
	}
}

const updateMutation = `mutation($id: ID!, $in: UpdateTaskInput!, $v: Int) {
	updateTask(id: $id, input: $in, expectedVersion: $v) { ` + allTaskFields + ` } }`

const deleteMutation = `mutation($id: ID!, $v: Int) { deleteTask(id: $id, expectedVersion: $v) }`

// updateTask sends updateMutation, failing on any error, and returns the
// changed task.
func updateTask(t *testing.T, c *client.Client, id string, in map[string]any) taskJSON {
	t.Helper()
	var out struct {
		UpdateTask taskJSON `json:"updateTask"`
	}
	mustQuery(t, c, updateMutation, &out, client.Var("id", id), client.Var("in", in))
	return out.UpdateTask
}

// readTask returns task(id), nil when it is null.
func readTask(t *testing.T, c *client.Client, id string) *taskJSON {
	t.Helper()
	var out struct {
		Task *taskJSON `json:"task"`
	}
	mustQuery(t, c, `query($id: ID!) { task(id: $id) { `+allTaskFields+` } }`, &out, client.Var("id", id))
	return out.Task
}

// ---- updateTask ----

func TestUpdateTaskChangesOnlyTheFieldsGiven(t *testing.T) {
	tests := []struct {
		name  string
		input map[string]any
		want  func(*taskJSON) // the task as created, changed as the input should change it
	}{
		{"a title replaces the title", map[string]any{"title": "Annual review"},
			func(w *taskJSON) { w.Title = "Annual review" }},
		{"a title is trimmed as in a create", map[string]any{"title": "  Annual review  "},
			func(w *taskJSON) { w.Title = "Annual review" }},
		{"a description replaces the description", map[string]any{"description": "Bring coffee"},
			func(w *taskJSON) { w.Description = ptr("Bring coffee") }},
		{"priority and status replace theirs", map[string]any{"priority": "LOW", "status": "CANCELLED"},
			func(w *taskJSON) { w.Priority, w.Status = "LOW", "CANCELLED" }},
		{"tagIds replace the tags, duplicates dropped", map[string]any{"tagIds": []int{9, 8, 9}},
			func(w *taskJSON) { w.TagIDs = []byte("[9,8]") }},
		{"an empty tagIds clears the tags", map[string]any{"tagIds": []int{}},
			func(w *taskJSON) { w.TagIDs = []byte("[]") }},
		{"null tagIds clears the tags to []", map[string]any{"tagIds": nil},
			func(w *taskJSON) { w.TagIDs = []byte("[]") }},
		{"null description clears it", map[string]any{"description": nil},
			func(w *taskJSON) { w.Description = nil }},
		{"null assignedUserId clears it", map[string]any{"assignedUserId": nil},
			func(w *taskJSON) { w.AssignedUserID = nil }},
		{"null dealId clears it while contactId remains", map[string]any{"dealId": nil},
			func(w *taskJSON) { w.DealID = nil }},
		{"null contactId clears it while dealId remains", map[string]any{"contactId": nil},
			func(w *taskJSON) { w.ContactID = nil }},
		{"null endDatetime clears it, and dueDate follows the start", map[string]any{"endDatetime": nil},
			func(w *taskJSON) { w.EndDatetime, w.DueDate = nil, "2026-07-15" }},
		{"a later endDatetime moves dueDate with it", map[string]any{"endDatetime": "2026-07-20T08:00:00"},
			func(w *taskJSON) { w.EndDatetime, w.DueDate = ptr("2026-07-20T08:00:00"), "2026-07-20" }},
		{"a startDatetime before the stored end keeps dueDate on the end", map[string]any{"startDatetime": "2026-07-16T10:00:00"},
			func(w *taskJSON) { w.StartDatetime = "2026-07-16T10:00:00" }},
		{"a start and an end moved together past the stored end are checked together",
			map[string]any{"startDatetime": "2026-08-01T10:00:00", "endDatetime": "2026-08-01T11:00:00"},
			func(w *taskJSON) {
				w.StartDatetime, w.EndDatetime, w.DueDate = "2026-08-01T10:00:00", ptr("2026-08-01T11:00:00"), "2026-08-01"
			}},
	}

	_, clk, c := newChangeServer(t)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			created := createTask(t, c, everyFieldInput())
			changedAt := clk.advance()

			got := updateTask(t, c, created.ID, tc.input)

			want := created
			tc.want(&want)
			want.Version, want.UpdatedAt = created.Version+1, changedAt
			if !reflect.DeepEqual(got, want) {
				t.Errorf("updateTask answered\n%+v\nwant\n%+v", got, want)
			}
			if stored := readTask(t, c, created.ID); stored == nil || !reflect.DeepEqual(*stored, want) {
				t.Errorf("task(id) reads\n%+v\nwant the task updateTask answered\n%+v", stored, want)
			}
		})
	}
}

func TestTheThreeStatesOfAFieldHoldInALiteralInput(t *testing.T) {
	tests := []struct {
		name  string
		query string // %ID% stands for the task's id
		opts  []client.Option
		want  *string // the description after the change
	}{
		{"a field left out keeps its value",
			`mutation { updateTask(id: "%ID%", input: {title: "Renamed"}) { id } }`, nil, ptr("Bring the numbers")},
		{"a null literal clears the field",
			`mutation { updateTask(id: "%ID%", input: {description: null}) { id } }`, nil, nil},
		{"a value replaces it",
			`mutation { updateTask(id: "%ID%", input: {description: "New"}) { id } }`, nil, ptr("New")},
		{"a variable left unset inside the input is left out, not null",
			`mutation($d: String) { updateTask(id: "%ID%", input: {description: $d}) { id } }`, nil, ptr("Bring the numbers")},
		{"a variable set to null inside the input is null",
			`mutation($d: String) { updateTask(id: "%ID%", input: {description: $d}) { id } }`,
			[]client.Option{client.Var("d", nil)}, nil},
	}

	_, _, c := newChangeServer(t)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			created := createTask(t, c, everyFieldInput())
			var out map[string]any
			mustQuery(t, c, strings.ReplaceAll(tc.query, "%ID%", created.ID), &out, tc.opts...)

			if got := readTask(t, c, created.ID).Description; !reflect.DeepEqual(got, tc.want) {
				t.Errorf("description = %s, want %s", show(got), show(tc.want))
			}
		})
	}
}

func TestARefusedUpdateIsBadUserInputOnItsFieldAndStoresNothing(t *testing.T) {
	tests := []struct {
		name       string
		input      map[string]any
		wantFields []string
	}{
		{"null title is refused on title", map[string]any{"title": nil}, []string{"title"}},
		{"null startDatetime is refused on startDatetime", map[string]any{"startDatetime": nil}, []string{"startDatetime"}},
		{"null status is refused on status", map[string]any{"status": nil}, []string{"status"}},
		{"null priority is refused on priority", map[string]any{"priority": nil}, []string{"priority"}},
		{"a blank title is refused on title", map[string]any{"title": "   "}, []string{"title"}},
		{"a title over 150 characters is refused on title", map[string]any{"title": strings.Repeat("é", 151)}, []string{"title"}},
		{"a description over 10,000 characters is refused on description",
			map[string]any{"description": strings.Repeat("x", 10001)}, []string{"description"}},
		{"a non-positive dealId is refused on dealId", map[string]any{"dealId": 0}, []string{"dealId"}},
		{"a non-positive assignedUserId is refused on assignedUserId", map[string]any{"assignedUserId": -1}, []string{"assignedUserId"}},
		{"a non-positive tag id is refused on tagIds", map[string]any{"tagIds": []int{1, -2}}, []string{"tagIds"}},
		{"a zoned endDatetime is refused on endDatetime", map[string]any{"endDatetime": "2026-07-17T09:30:00Z"}, []string{"endDatetime"}},
		{"null dealId and contactId together are refused on both",
			map[string]any{"dealId": nil, "contactId": nil}, []string{"dealId", "contactId"}},
		{"an endDatetime before the stored start is refused on endDatetime",
			map[string]any{"endDatetime": "2026-07-15T09:59:59"}, []string{"endDatetime"}},
		{"a startDatetime after the stored end is refused on startDatetime",
			map[string]any{"startDatetime": "2026-07-17T09:30:01"}, []string{"startDatetime"}},
		{"one broken rule refuses the whole change",
			map[string]any{"title": "Fine", "description": "Fine too", "dealId": 0}, []string{"dealId"}},
	}

	_, clk, c := newChangeServer(t)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			created := createTask(t, c, everyFieldInput())
			clk.advance()

			data, errs := do(t, c, updateMutation, client.Var("id", created.ID), client.Var("in", tc.input))

			if len(errs) != 1 {
				t.Fatalf("got %d errors %+v (data %s), want exactly 1", len(errs), errs, data)
			}
			checkBadUserInput(t, errs[0], tc.wantFields...)
			if string(data) != "null" {
				t.Errorf("data = %s, want null", data)
			}
			if stored := readTask(t, c, created.ID); stored == nil || !reflect.DeepEqual(*stored, created) {
				t.Errorf("after the refused change task(id) reads\n%+v\nwant it as created\n%+v", stored, created)
			}
		})
	}
}

func TestAnIDThatIsNotAPositiveIntegerIsBadUserInputOnID(t *testing.T) {
	_, _, c := newChangeServer(t)
	for _, q := range []string{
		`mutation { updateTask(id: "abc", input: {title: "x"}) { id } }`,
		`mutation { deleteTask(id: "0") }`,
	} {
		checkBadUserInput(t, mustFail(t, c, q), "id")
	}
}

func TestAChangeThatAltersNothingKeepsVersionAndUpdatedAt(t *testing.T) {
	tests := []struct {
		name  string
		input map[string]any
	}{
		{"an empty input", map[string]any{}},
		{"every value the task already has", everyFieldInput()},
		{"a title that trims to the one it has", map[string]any{"title": " Quarterly review "}},
		{"the tags it has, with a duplicate", map[string]any{"tagIds": []int{4, 2, 4}}},
	}

	_, clk, c := newChangeServer(t)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			created := createTask(t, c, everyFieldInput())
			clk.advance()

			got := updateTask(t, c, created.ID, tc.input)

			if !reflect.DeepEqual(got, created) {
				t.Errorf("updateTask answered\n%+v\nwant the task as it was\n%+v", got, created)
			}
			if stored := readTask(t, c, created.ID); stored == nil || !reflect.DeepEqual(*stored, created) {
				t.Errorf("task(id) reads\n%+v\nwant it as it was\n%+v", stored, created)
			}
		})
	}
}

func TestEachChangeAddsOneToVersion(t *testing.T) {
	_, clk, c := newChangeServer(t)
	created := createTask(t, c, everyFieldInput())

	for i, title := range []string{"One", "Two", "Three"} {
		changedAt := clk.advance()
		got := updateTask(t, c, created.ID, map[string]any{"title": title})
		if got.Version != created.Version+i+1 || got.UpdatedAt != changedAt {
			t.Errorf("change %d: version %d, updatedAt %s; want %d, %s",
				i+1, got.Version, got.UpdatedAt, created.Version+i+1, changedAt)
		}
	}
}

func TestCompletedAtFollowsTheStatus(t *testing.T) {
	tests := []struct {
		name    string
		created string         // the status the task is created with
		change  map[string]any // nil: no change
		want    string         // "null", "createdAt" or "changedAt"
	}{
		{"a task created open is not completed", "OPEN", nil, "null"},
		{"a task created completed was completed when created", "COMPLETED", nil, "createdAt"},
		{"a change to COMPLETED completes the task at the change", "OPEN", map[string]any{"status": "COMPLETED"}, "changedAt"},
		{"a change away from COMPLETED clears completedAt", "COMPLETED", map[string]any{"status": "IN_PROGRESS"}, "null"},
		{"a change that keeps COMPLETED keeps completedAt", "COMPLETED", map[string]any{"title": "Renamed"}, "createdAt"},
	}

	_, clk, c := newChangeServer(t)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := everyFieldInput()
			in["status"] = tc.created
			created := createTask(t, c, in)
			changedAt := clk.advance()
			got := created
			if tc.change != nil {
				got = updateTask(t, c, created.ID, tc.change)
			}

			want := map[string]*string{"null": nil, "createdAt": &created.CreatedAt, "changedAt": &changedAt}[tc.want]
			if !reflect.DeepEqual(got.CompletedAt, want) {
				t.Errorf("completedAt = %s, want %s (%s)", show(got.CompletedAt), show(want), tc.want)
			}
		})
	}
}

// ---- expectedVersion ----

func TestExpectedVersionMakesAChangeOrDeleteConditional(t *testing.T) {
	tests := []struct {
		name      string
		query     string
		expected  int  // against a task at version 2
		wantTaken bool // whether the change or delete happens
	}{
		{"updateTask at the expected version changes the task", updateMutation, 2, true},
		{"updateTask at another version is a VERSION_CONFLICT and changes nothing", updateMutation, 1, false},
		{"deleteTask at the expected version deletes the task", deleteMutation, 2, true},
		{"deleteTask at another version is a VERSION_CONFLICT and deletes nothing", deleteMutation, 3, false},
	}

	_, _, c := newChangeServer(t)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			created := createTask(t, c, everyFieldInput())
			before := updateTask(t, c, created.ID, map[string]any{"title": "At version 2"})

			data, errs := do(t, c, tc.query, client.Var("id", created.ID), client.Var("v", tc.expected),
				client.Var("in", map[string]any{"title": "At version 3"}))

			after := readTask(t, c, created.ID)
			if tc.wantTaken {
				if len(errs) != 0 {
					t.Fatalf("errors %+v, want none", errs)
				}
				if tc.query == deleteMutation && after != nil {
					t.Errorf("after the delete task(id) reads %+v, want null", after)
				}
				if tc.query == updateMutation && (after == nil || after.Version != 3) {
					t.Errorf("after the change task(id) reads %+v, want version 3", after)
				}
				return
			}
			if len(errs) != 1 || errs[0].Extensions.Code != "VERSION_CONFLICT" {
				t.Fatalf("errors %+v (data %s), want one VERSION_CONFLICT", errs, data)
			}
			if v := errs[0].Extensions.CurrentVersion; v == nil || *v != 2 {
				t.Errorf("extensions.currentVersion = %s, want 2", show(v))
			}
			if errs[0].Message == "" {
				t.Errorf("the error message is empty")
			}
			if string(data) != "null" {
				t.Errorf("data = %s, want null", data)
			}
			if after == nil || !reflect.DeepEqual(*after, before) {
				t.Errorf("task(id) reads %+v, want it unchanged: %+v", after, before)
			}
		})
	}
}

// ---- a task that is not there ----

func TestAChangeOrDeleteOfATaskThatIsNotThereIsNotFound(t *testing.T) {
	tn, _, c := newChangeServer(t)
	other := newTenant(t, tn.store, "globex")
	otherClient := client.New(newHandler(tn.store, tn.store, discardLogger()), keyHeaders(other.key)...)
	theirs := createTask(t, otherClient, everyFieldInput())
	deleted := createTask(t, c, everyFieldInput())
	if _, errs := do(t, c, deleteMutation, client.Var("id", deleted.ID)); len(errs) != 0 {
		t.Fatalf("deleting: %+v", errs)
	}

	tests := []struct {
		name, query, id string
	}{
		{"updating a task that never existed", updateMutation, "999"},
		{"updating another organisation's task", updateMutation, theirs.ID},
		{"updating a deleted task", updateMutation, deleted.ID},
		{"deleting a task that never existed", deleteMutation, "999"},
		{"deleting another organisation's task", deleteMutation, theirs.ID},
		{"deleting a task deleted already", deleteMutation, deleted.ID},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			data, errs := do(t, c, tc.query, client.Var("id", tc.id), client.Var("in", map[string]any{"title": "Mine now"}))

			if len(errs) != 1 || errs[0].Extensions.Code != "NOT_FOUND" || errs[0].Message != "Task not found" {
				t.Fatalf("errors %+v, want one NOT_FOUND, Task not found", errs)
			}
			if string(data) != "null" {
				t.Errorf("data = %s, want null", data)
			}
		})
	}
	if got := readTask(t, otherClient, theirs.ID); got == nil || !reflect.DeepEqual(*got, theirs) {
		t.Errorf("the other organisation reads its task as\n%+v\nwant it untouched\n%+v", got, theirs)
	}
}

// ---- deleteTask ----

func TestDeleteTaskReturnsTheIDAndTheTaskIsGoneFromEveryRead(t *testing.T) {
	_, _, c := newChangeServer(t)
	kept := createTask(t, c, everyFieldInput())
	gone := createTask(t, c, everyFieldInput())

	var out struct {
		DeleteTask string `json:"deleteTask"`
	}
	mustQuery(t, c, deleteMutation, &out, client.Var("id", gone.ID))

	if out.DeleteTask != gone.ID {
		t.Errorf("deleteTask = %q, want the deleted id %q", out.DeleteTask, gone.ID)
	}
	if got := readTask(t, c, gone.ID); got != nil {
		t.Errorf("task(id) = %+v, want null", got)
	}
	page := listTasks(t, c, "")
	if got := ids(page); len(got) != 1 || got[0] != kept.ID || page.TotalRecords != 1 {
		t.Errorf("tasks lists %q of %d, want only %q of 1", got, page.TotalRecords, kept.ID)
	}
	var conn struct {
		TasksConnection struct {
			TotalCount int `json:"totalCount"`
			Edges      []struct {
				Node struct {
					ID string `json:"id"`
				} `json:"node"`
			} `json:"edges"`
		} `json:"tasksConnection"`
	}
	mustQuery(t, c, `{ tasksConnection { totalCount edges { node { id } } } }`, &conn)
	if e := conn.TasksConnection.Edges; len(e) != 1 || e[0].Node.ID != kept.ID || conn.TasksConnection.TotalCount != 1 {
		t.Errorf("tasksConnection = %+v, want only %q, totalCount 1", conn.TasksConnection, kept.ID)
	}
}
