package graph_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/99designs/gqlgen/client"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/parser"

	"tasksapi/access"
	"tasksapi/graph"
	"tasksapi/idempotency"
	"tasksapi/sqlite"
	"tasksapi/store"
	"tasksapi/storetest"
	"tasksapi/task"
)

// ---- fixtures ----

// openStore opens a real SQLite file in a temporary directory.
func openStore(t *testing.T) *sqlite.Store {
	t.Helper()
	return openStoreOn(t, storetest.SQLite, nil).(*sqlite.Store)
}

// openStoreOn opens a new database of the store h makes, with now as its
// clock (nil: the real time).
func openStoreOn(t *testing.T, h storetest.Harness, now func() time.Time) store.Store {
	t.Helper()
	store := h.Open(t, h.NewDatabase(t), now)
	t.Cleanup(func() {
		if err := store.Close(); err != nil {
			t.Errorf("closing the store: %v", err)
		}
	})
	return store
}

func discardLogger() *slog.Logger {
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// tenant is one organisation of a store, with a key of its own.
type tenant struct {
	store store.Store
	key   access.Credentials
}

// newTenant creates organisation org, and a key in it, in store.
func newTenant(t *testing.T, store store.Store, org string) tenant {
	t.Helper()
	key, err := access.NewKey(context.Background(), store, org, "tests")
	if err != nil {
		t.Fatalf("access.NewKey(%q): %v", org, err)
	}
	return tenant{store: store, key: key}
}

// ctx is a context carrying the tenant's principal, for calling the store
// directly as a request of the tenant would.
func (tn tenant) ctx() context.Context {
	return access.WithPrincipal(context.Background(), access.Principal{
		OrganisationID: tn.key.OrganisationID, KeyID: tn.key.KeyID, AccessKey: tn.key.AccessKey,
	})
}

// keyHeaders are the client options that send key with a request.
func keyHeaders(key access.Credentials) []client.Option {
	return []client.Option{
		client.AddHeader(access.AccessKeyHeader, key.AccessKey),
		client.AddHeader(access.SecretKeyHeader, key.SecretKey),
	}
}

// newHandler returns the real GraphQL handler over svc, with the default
// limits and no rate limit; store authenticates the keys and keeps the
// outcomes of Idempotency-Keys.
func newHandler(svc task.Service, store store.Store, log *slog.Logger) http.Handler {
	return graph.NewHandler(graph.Options{Service: svc, Guard: access.NewGuard(store, 0, log), Keeper: newKeeper(store, log),
		Limits: graph.DefaultLimits, Log: log})
}

// newKeeper keeps the outcomes of Idempotency-Keys in store, as the server
// does.
func newKeeper(store idempotency.Store, log *slog.Logger) *idempotency.Keeper {
	return idempotency.New(store, idempotency.DefaultTTL, log)
}

// newServer returns an organisation of a fresh SQLite store, the real
// GraphQL handler over that store (every request needs key headers), and a
// gqlgen test client that sends the organisation's key with every request.
func newServer(t *testing.T) (tenant, http.Handler, *client.Client) {
	t.Helper()
	return serverOver(t, openStore(t))
}

// newServerOn is newServer over a fresh store that h makes.
func newServerOn(t *testing.T, h storetest.Harness) (tenant, http.Handler, *client.Client) {
	t.Helper()
	return serverOver(t, openStoreOn(t, h, nil))
}

// serverOver is newServer over store.
func serverOver(t *testing.T, store store.Store) (tenant, http.Handler, *client.Client) {
	t.Helper()
	tn := newTenant(t, store, "acme")
	h := newHandler(idempotency.Service{Service: store}, store, discardLogger())
	return tn, h, client.New(h, keyHeaders(tn.key)...)
}

// failingStore is a real store whose ListTasks fails with a detail that
// must never reach a client.
type failingStore struct{ task.Service }

func (failingStore) ListTasks(context.Context, task.ListParams) (task.Page, error) {
	return task.Page{}, errors.New("disk on fire: secret detail")
}

// panickingStore is a real store whose ListTasks panics.
type panickingStore struct{ task.Service }

func (panickingStore) ListTasks(context.Context, task.ListParams) (task.Page, error) {
	panic("disk on fire: secret detail")
}

// ---- response helpers ----

type gqlError struct {
	Message    string `json:"message"`
	Path       []any  `json:"path"`
	Extensions struct {
		Code           string              `json:"code"`
		Fields         map[string][]string `json:"fields"`
		CurrentVersion *int                `json:"currentVersion"`
	} `json:"extensions"`
}

type taskJSON struct {
	ID             string          `json:"id"`
	ActivityID     int             `json:"activityId"`
	Title          string          `json:"title"`
	ActivityType   string          `json:"activityType"`
	Status         string          `json:"status"`
	Priority       string          `json:"priority"`
	StartDatetime  string          `json:"startDatetime"`
	EndDatetime    *string         `json:"endDatetime"`
	DueDate        string          `json:"dueDate"`
	Description    *string         `json:"description"`
	DealID         *int            `json:"dealId"`
	ContactID      *int            `json:"contactId"`
	AssignedUserID *int            `json:"assignedUserId"`
	TagIDs         json.RawMessage `json:"tagIds"`
	CreatedAt      string          `json:"createdAt"`
	UpdatedAt      string          `json:"updatedAt"`
	CompletedAt    *string         `json:"completedAt"`
	Version        int             `json:"version"`
}

const allTaskFields = `id activityId title activityType status priority startDatetime endDatetime
	dueDate description dealId contactId assignedUserId tagIds createdAt updatedAt completedAt version`

type pageJSON struct {
	Items        []taskJSON `json:"items"`
	CurrentPage  int        `json:"currentPage"`
	TotalRecords int        `json:"totalRecords"`
	TotalPages   int        `json:"totalPages"`
	PageSize     int        `json:"pageSize"`
	PageIndex    int        `json:"pageIndex"`
}

const allPageFields = `items { id title } currentPage totalRecords totalPages pageSize pageIndex`

// do sends query through the gqlgen client and returns the response data as
// JSON and the errors, decoded.
func do(t *testing.T, c *client.Client, query string, opts ...client.Option) (json.RawMessage, []gqlError) {
	t.Helper()
	resp, err := c.RawPost(query, opts...)
	if err != nil {
		t.Fatalf("posting %q: %v", query, err)
	}
	data, err := json.Marshal(resp.Data)
	if err != nil {
		t.Fatalf("re-encoding data: %v", err)
	}
	var errs []gqlError
	if len(resp.Errors) > 0 && string(resp.Errors) != "null" {
		if err := json.Unmarshal(resp.Errors, &errs); err != nil {
			t.Fatalf("decoding errors %s: %v", resp.Errors, err)
		}
	}
	return data, errs
}

// mustQuery sends query, fails on any GraphQL error, and decodes the data
// into out.
func mustQuery(t *testing.T, c *client.Client, query string, out any, opts ...client.Option) {
	t.Helper()
	data, errs := do(t, c, query, opts...)
	if len(errs) > 0 {
		t.Fatalf("query %q: unexpected errors %+v", query, errs)
	}
	if err := json.Unmarshal(data, out); err != nil {
		t.Fatalf("decoding data %s: %v", data, err)
	}
}

// mustFail sends query and returns its only error, failing unless there is
// exactly one.
func mustFail(t *testing.T, c *client.Client, query string, opts ...client.Option) gqlError {
	t.Helper()
	data, errs := do(t, c, query, opts...)
	if len(errs) != 1 {
		t.Fatalf("query %q: got %d errors %+v (data %s), want exactly 1", query, len(errs), errs, data)
	}
	return errs[0]
}

// checkBadUserInput checks that e is a BAD_USER_INPUT error whose fields
// are exactly want, each with at least one non-empty message.
func checkBadUserInput(t *testing.T, e gqlError, want ...string) {
	t.Helper()
	if e.Extensions.Code != "BAD_USER_INPUT" {
		t.Errorf("extensions.code = %q, want BAD_USER_INPUT (error %+v)", e.Extensions.Code, e)
	}
	var got []string
	for f, msgs := range e.Extensions.Fields {
		got = append(got, f)
		if len(msgs) == 0 || slices.Contains(msgs, "") {
			t.Errorf("extensions.fields[%q] = %q, want non-empty messages", f, msgs)
		}
	}
	sort.Strings(got)
	want = slices.Clone(want)
	sort.Strings(want)
	if !slices.Equal(got, want) {
		t.Errorf("extensions.fields keys = %q, want %q (error %+v)", got, want, e)
	}
	if e.Message == "" {
		t.Errorf("the error message is empty")
	}
}

func totalRecords(t *testing.T, c *client.Client) int {
	t.Helper()
	var out struct {
		Tasks struct {
			TotalRecords int `json:"totalRecords"`
		} `json:"tasks"`
	}
	mustQuery(t, c, `{ tasks { totalRecords } }`, &out)
	return out.Tasks.TotalRecords
}

func createTask(t *testing.T, c *client.Client, input map[string]any) taskJSON {
	t.Helper()
	var out struct {
		CreateTask taskJSON `json:"createTask"`
	}
	mustQuery(t, c, `mutation($in: CreateTaskInput!) { createTask(input: $in) { `+allTaskFields+` } }`,
		&out, client.Var("in", input))
	return out.CreateTask
}

func listTasks(t *testing.T, c *client.Client, args string) pageJSON {
	t.Helper()
	q := `{ tasks { ` + allPageFields + ` } }`
	if args != "" {
		q = `{ tasks(` + args + `) { ` + allPageFields + ` } }`
	}
	var out struct {
		Tasks pageJSON `json:"tasks"`
	}
	mustQuery(t, c, q, &out)
	return out.Tasks
}

func titles(p pageJSON) []string {
	out := []string{}
	for _, it := range p.Items {
		out = append(out, it.Title)
	}
	return out
}

func ids(p pageJSON) []string {
	out := []string{}
	for _, it := range p.Items {
		out = append(out, it.ID)
	}
	return out
}

func ptr[T any](v T) *T { return &v }

// seed stores in directly, as tasks of tn, and returns the created tasks'
// ids as strings.
func seed(t *testing.T, tn tenant, ins ...task.CreateInput) []string {
	t.Helper()
	var out []string
	for _, in := range ins {
		tk, err := tn.store.CreateTask(tn.ctx(), in)
		if err != nil {
			t.Fatalf("seeding %q: %v", in.Title, err)
		}
		out = append(out, fmt.Sprint(tk.ID))
	}
	return out
}

func mustDateTime(t *testing.T, s string) task.DateTime {
	t.Helper()
	d, err := task.ParseDateTime(s)
	if err != nil {
		t.Fatalf("ParseDateTime(%q): %v", s, err)
	}
	return d
}

// ---- createTask ----

func TestCreateTaskReturnsEveryFieldWithDefaults(t *testing.T) {
	storetest.Each(t, func(t *testing.T, h storetest.Harness) {
		_, _, c := newServerOn(t, h)

		got := createTask(t, c, map[string]any{
			"title":         "  Call the client  ",
			"startDatetime": "2026-07-15T10:00:00",
			"dealId":        42,
		})

		if got.ID == "" || got.ID != fmt.Sprint(got.ActivityID) {
			t.Errorf("id = %q, activityId = %d: want the same number, id as a string", got.ID, got.ActivityID)
		}
		if got.ActivityID < 1 {
			t.Errorf("activityId = %d, want a positive id", got.ActivityID)
		}
		checks := []struct {
			field     string
			got, want any
		}{
			{"title (trimmed)", got.Title, "Call the client"},
			{"activityType", got.ActivityType, "Task"},
			{"priority", got.Priority, "MEDIUM"},
			{"status", got.Status, "OPEN"},
			{"startDatetime", got.StartDatetime, "2026-07-15T10:00:00"},
			{"endDatetime", got.EndDatetime, (*string)(nil)},
			{"dueDate (from startDatetime)", got.DueDate, "2026-07-15"},
			{"description", got.Description, (*string)(nil)},
			{"dealId", got.DealID, ptr(42)},
			{"contactId", got.ContactID, (*int)(nil)},
			{"assignedUserId", got.AssignedUserID, (*int)(nil)},
			{"tagIds", string(got.TagIDs), "[]"},
			{"completedAt", got.CompletedAt, (*string)(nil)},
			{"version", got.Version, 1},
		}
		for _, ch := range checks {
			if !reflect.DeepEqual(ch.got, ch.want) {
				t.Errorf("%s = %s, want %s", ch.field, show(ch.got), show(ch.want))
			}
		}
		for name, v := range map[string]string{"createdAt": got.CreatedAt, "updatedAt": got.UpdatedAt} {
			if _, err := task.ParseDateTime(v); err != nil {
				t.Errorf("%s = %q, want a YYYY-MM-DDTHH:MM:SS date-time: %v", name, v, err)
			}
		}
	})
}

func show(v any) string {
	rv := reflect.ValueOf(v)
	if rv.Kind() == reflect.Pointer {
		if rv.IsNil() {
			return "nil"
		}
		return fmt.Sprintf("&%v", rv.Elem().Interface())
	}
	return fmt.Sprintf("%q", fmt.Sprint(v))
}

func TestCreateTaskStoresEveryFieldGivenAndDerivesDueDateFromEnd(t *testing.T) {
	storetest.Each(t, func(t *testing.T, h storetest.Harness) {
		_, _, c := newServerOn(t, h)

		got := createTask(t, c, map[string]any{
			"title":          "Quarterly review",
			"startDatetime":  "2026-07-15T10:00:00",
			"endDatetime":    "2026-07-17T09:30:00",
			"description":    "Bring the numbers",
			"contactId":      7,
			"priority":       "URGENT",
			"status":         "IN_PROGRESS",
			"assignedUserId": 3,
			"tagIds":         []int{5, 2, 5, 9, 2},
		})

		if got.DueDate != "2026-07-17" {
			t.Errorf("dueDate = %q, want the date of endDatetime, 2026-07-17", got.DueDate)
		}
		if got.EndDatetime == nil || *got.EndDatetime != "2026-07-17T09:30:00" {
			t.Errorf("endDatetime = %s, want 2026-07-17T09:30:00", show(got.EndDatetime))
		}
		if string(got.TagIDs) != "[5,2,9]" {
			t.Errorf("tagIds = %s, want [5,2,9] (duplicates dropped, order kept)", got.TagIDs)
		}
		if got.Priority != "URGENT" || got.Status != "IN_PROGRESS" {
			t.Errorf("priority, status = %s, %s; want URGENT, IN_PROGRESS", got.Priority, got.Status)
		}
		if got.Description == nil || *got.Description != "Bring the numbers" {
			t.Errorf("description = %s, want Bring the numbers", show(got.Description))
		}
		if got.ContactID == nil || *got.ContactID != 7 || got.DealID != nil {
			t.Errorf("contactId, dealId = %s, %s; want 7, nil", show(got.ContactID), show(got.DealID))
		}
		if got.AssignedUserID == nil || *got.AssignedUserID != 3 {
			t.Errorf("assignedUserId = %s, want 3", show(got.AssignedUserID))
		}

		// Read back through task(id): the stored task is the one returned.
		var out struct {
			Task *taskJSON `json:"task"`
		}
		mustQuery(t, c, `query($id: ID!) { task(id: $id) { `+allTaskFields+` } }`, &out, client.Var("id", got.ID))
		if out.Task == nil {
			t.Fatalf("task(id: %q) = null, want the created task", got.ID)
		}
		if !reflect.DeepEqual(*out.Task, got) {
			t.Errorf("task(id) = %+v\nwant the created task %+v", *out.Task, got)
		}
	})
}

func TestExplicitNullPriorityAndStatusTakeTheDefaults(t *testing.T) {
	storetest.Each(t, func(t *testing.T, h storetest.Harness) {
		_, _, c := newServerOn(t, h)

		for _, tc := range []struct {
			name  string
			query string
			opts  []client.Option
		}{
			{"as literals", `mutation { createTask(input: {title: "x", startDatetime: "2026-01-01T10:00:00",
			dealId: 1, priority: null, status: null, tagIds: null}) { priority status tagIds } }`, nil},
			{"as null variables", `mutation($p: TaskPriority, $s: TaskStatus, $tags: [Int!]) {
			createTask(input: {title: "x", startDatetime: "2026-01-01T10:00:00",
			dealId: 1, priority: $p, status: $s, tagIds: $tags}) { priority status tagIds } }`,
				[]client.Option{client.Var("p", nil), client.Var("s", nil), client.Var("tags", nil)}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				var out struct {
					CreateTask struct {
						Priority string          `json:"priority"`
						Status   string          `json:"status"`
						TagIDs   json.RawMessage `json:"tagIds"`
					} `json:"createTask"`
				}
				mustQuery(t, c, tc.query, &out, tc.opts...)
				if out.CreateTask.Priority != "MEDIUM" || out.CreateTask.Status != "OPEN" {
					t.Errorf("priority, status = %s, %s; want MEDIUM, OPEN", out.CreateTask.Priority, out.CreateTask.Status)
				}
				if string(out.CreateTask.TagIDs) != "[]" {
					t.Errorf("tagIds = %s, want []", out.CreateTask.TagIDs)
				}
			})
		}

		// The same through a variable holding explicit nulls.
		got := createTask(t, c, map[string]any{
			"title": "y", "startDatetime": "2026-01-01T10:00:00", "contactId": 1,
			"priority": nil, "status": nil, "tagIds": nil,
		})
		if got.Priority != "MEDIUM" || got.Status != "OPEN" || string(got.TagIDs) != "[]" {
			t.Errorf("with null variables: priority, status, tagIds = %s, %s, %s; want MEDIUM, OPEN, []",
				got.Priority, got.Status, got.TagIDs)
		}
	})
}

func TestInvalidCreateTaskIsOneBadUserInputErrorAndStoresNothing(t *testing.T) {
	storetest.Each(t, func(t *testing.T, h storetest.Harness) {
		const createMut = `mutation($in: CreateTaskInput!) { createTask(input: $in) { id } }`
		valid := func(overrides map[string]any) map[string]any {
			in := map[string]any{"title": "Valid", "startDatetime": "2026-01-01T10:00:00", "dealId": 1}
			for k, v := range overrides {
				if v == nil {
					delete(in, k)
					continue
				}
				in[k] = v
			}
			return in
		}
		type nullT struct{}
		null := nullT{} // a marker for an explicit JSON null

		tests := []struct {
			name       string
			query      string
			vars       map[string]any
			wantFields []string
		}{
			{
				name:       "a blank title is reported on title",
				query:      `mutation { createTask(input: {title: "   ", startDatetime: "2026-01-01T10:00:00", dealId: 1}) { id } }`,
				wantFields: []string{"title"},
			},
			{
				name:       "a title over 150 characters is reported on title",
				query:      createMut,
				vars:       map[string]any{"in": valid(map[string]any{"title": strings.Repeat("é", 151)})},
				wantFields: []string{"title"},
			},
			{
				name:       "neither dealId nor contactId is reported on both",
				query:      `mutation { createTask(input: {title: "x", startDatetime: "2026-01-01T10:00:00"}) { id } }`,
				wantFields: []string{"dealId", "contactId"},
			},
			{
				name: "explicit null dealId and contactId are reported on both",
				query: `mutation { createTask(input: {title: "x", startDatetime: "2026-01-01T10:00:00",
				dealId: null, contactId: null}) { id } }`,
				wantFields: []string{"dealId", "contactId"},
			},
			{
				name:       "null dealId and contactId in a variable are reported on both",
				query:      createMut,
				vars:       map[string]any{"in": valid(map[string]any{"dealId": null, "contactId": null})},
				wantFields: []string{"dealId", "contactId"},
			},
			{
				name: "an end before the start is reported on endDatetime",
				query: `mutation { createTask(input: {title: "x", startDatetime: "2026-01-02T10:00:00",
				endDatetime: "2026-01-02T09:59:59", dealId: 1}) { id } }`,
				wantFields: []string{"endDatetime"},
			},
			{
				name:       "a zoned startDatetime literal is reported on startDatetime",
				query:      `mutation { createTask(input: {title: "x", startDatetime: "2026-01-01T00:00:00Z", dealId: 1}) { id } }`,
				wantFields: []string{"startDatetime"},
			},
			{
				name:       "an impossible startDatetime literal is reported on startDatetime",
				query:      `mutation { createTask(input: {title: "x", startDatetime: "2026-02-30T10:00:00", dealId: 1}) { id } }`,
				wantFields: []string{"startDatetime"},
			},
			{
				name:       "a zoned startDatetime in an input variable is reported on startDatetime",
				query:      createMut,
				vars:       map[string]any{"in": valid(map[string]any{"startDatetime": "2026-01-01T00:00:00Z"})},
				wantFields: []string{"startDatetime"},
			},
			{
				name:       "an impossible startDatetime in an input variable is reported on startDatetime",
				query:      createMut,
				vars:       map[string]any{"in": valid(map[string]any{"startDatetime": "2026-02-30T10:00:00"})},
				wantFields: []string{"startDatetime"},
			},
			{
				name:       "a zoned DateTime variable is reported on startDatetime",
				query:      `mutation($s: DateTime!) { createTask(input: {title: "x", startDatetime: $s, dealId: 1}) { id } }`,
				vars:       map[string]any{"s": "2026-01-01T00:00:00Z"},
				wantFields: []string{"startDatetime"},
			},
			{
				name:       "an impossible DateTime variable is reported on startDatetime",
				query:      `mutation($s: DateTime!) { createTask(input: {title: "x", startDatetime: $s, dealId: 1}) { id } }`,
				vars:       map[string]any{"s": "2026-02-30T10:00:00"},
				wantFields: []string{"startDatetime"},
			},
			{
				name:       "a non-positive dealId is reported on dealId",
				query:      createMut,
				vars:       map[string]any{"in": valid(map[string]any{"dealId": 0})},
				wantFields: []string{"dealId"},
			},
			{
				name:       "a non-positive tag id is reported on tagIds",
				query:      createMut,
				vars:       map[string]any{"in": valid(map[string]any{"tagIds": []int{1, -2}})},
				wantFields: []string{"tagIds"},
			},
		}

		_, _, c := newServerOn(t, h)
		before := totalRecords(t, c)
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				var opts []client.Option
				for k, v := range tc.vars {
					opts = append(opts, client.Var(k, replaceNull(v, null)))
				}
				e := mustFail(t, c, tc.query, opts...)
				checkBadUserInput(t, e, tc.wantFields...)
				if after := totalRecords(t, c); after != before {
					t.Errorf("totalRecords = %d after a failed createTask, want %d (nothing stored)", after, before)
				}
			})
		}
	})
}

// replaceNull turns every occurrence of marker in a variable map into an
// explicit nil, so that JSON carries "key": null rather than omitting it.
func replaceNull(v any, marker any) any {
	m, ok := v.(map[string]any)
	if !ok {
		return v
	}
	out := map[string]any{}
	for k, val := range m {
		if val == marker {
			out[k] = nil
			continue
		}
		out[k] = replaceNull(val, marker)
	}
	return out
}

func TestTheFirstFieldMessageIsTheErrorMessage(t *testing.T) {
	storetest.Each(t, func(t *testing.T, h storetest.Harness) {
		_, _, c := newServerOn(t, h)

		e := mustFail(t, c, `mutation { createTask(input: {title: "", startDatetime: "2026-01-01T10:00:00", dealId: 1}) { id } }`)

		msgs := e.Extensions.Fields["title"]
		if len(msgs) == 0 {
			t.Fatalf("extensions.fields has no title: %+v", e)
		}
		if e.Message != msgs[0] {
			t.Errorf("message = %q, want the first field message %q", e.Message, msgs[0])
		}
		if !strings.Contains(e.Message, "title") {
			t.Errorf("message = %q, want it to name the GraphQL field title", e.Message)
		}
	})
}

// ---- task(id) ----

func TestTaskReturnsNullWithoutErrorForAMissingID(t *testing.T) {
	storetest.Each(t, func(t *testing.T, h storetest.Harness) {
		_, _, c := newServerOn(t, h)

		data, errs := do(t, c, `{ task(id: "999") { id } }`)

		if len(errs) != 0 {
			t.Errorf("errors = %+v, want none", errs)
		}
		if string(data) != `{"task":null}` {
			t.Errorf("data = %s, want {\"task\":null}", data)
		}
	})
}

// ---- argument validation ----

func TestInvalidListAndLookupArgumentsAreBadUserInputOnTheirField(t *testing.T) {
	storetest.Each(t, func(t *testing.T, h storetest.Harness) {
		tests := []struct {
			name       string
			query      string
			vars       map[string]any
			wantFields []string
		}{
			{"an impossible dueDateFrom literal", `{ tasks(filter: {dueDateFrom: "2026-13-01"}) { totalRecords } }`, nil, []string{"dueDateFrom"}},
			{"a malformed dueDateTo literal", `{ tasks(filter: {dueDateTo: "2026-1-01"}) { totalRecords } }`, nil, []string{"dueDateTo"}},
			{"an impossible dueDateFrom variable", `query($d: Date) { tasks(filter: {dueDateFrom: $d}) { totalRecords } }`,
				map[string]any{"d": "2026-13-01"}, []string{"dueDateFrom"}},
			{"an impossible dueDateFrom in a filter variable", `query($f: TaskFilter) { tasks(filter: $f) { totalRecords } }`,
				map[string]any{"f": map[string]any{"dueDateFrom": "2026-13-01"}}, []string{"dueDateFrom"}},
			{"dueDateFrom after dueDateTo", `{ tasks(filter: {dueDateFrom: "2026-02-02", dueDateTo: "2026-02-01"}) { totalRecords } }`,
				nil, []string{"dueDateTo"}},
			{"pageSize 0", `{ tasks(pageSize: 0) { totalRecords } }`, nil, []string{"pageSize"}},
			{"pageSize -5 as a variable", `query($n: Int) { tasks(pageSize: $n) { totalRecords } }`,
				map[string]any{"n": -5}, []string{"pageSize"}},
			{"pageIndex -1", `{ tasks(pageIndex: -1) { totalRecords } }`, nil, []string{"pageIndex"}},
			{"assignedUserId 0 in the filter", `{ tasks(filter: {assignedUserId: 0}) { totalRecords } }`, nil, []string{"assignedUserId"}},
			{"a non-numeric task id", `{ task(id: "abc") { id } }`, nil, []string{"id"}},
			{"a zero task id", `{ task(id: "0") { id } }`, nil, []string{"id"}},
			{"a non-numeric task id variable", `query($id: ID!) { task(id: $id) { id } }`, map[string]any{"id": "abc"}, []string{"id"}},
		}

		_, _, c := newServerOn(t, h)
		for _, tc := range tests {
			t.Run(tc.name+" is reported on "+strings.Join(tc.wantFields, ", "), func(t *testing.T) {
				var opts []client.Option
				for k, v := range tc.vars {
					opts = append(opts, client.Var(k, v))
				}
				checkBadUserInput(t, mustFail(t, c, tc.query, opts...), tc.wantFields...)
			})
		}
	})
}

// ---- tasks: paging ----

func TestTasksPagingArithmetic(t *testing.T) {
	storetest.Each(t, func(t *testing.T, h storetest.Harness) {
		org, _, c := newServerOn(t, h)
		var ins []task.CreateInput
		for i := range 23 {
			ins = append(ins, task.CreateInput{
				Title:         fmt.Sprintf("Task %02d", i),
				StartDatetime: mustDateTime(t, "2026-01-01T10:00:00"),
				DealID:        ptr(1),
			})
		}
		created := seed(t, org, ins...)
		newestFirst := slices.Clone(created)
		slices.Reverse(newestFirst)

		tests := []struct {
			name    string
			args    string
			want    pageJSON // Items unused
			wantIDs []string
		}{
			{"no arguments serve the first ten, newest first", "",
				pageJSON{CurrentPage: 1, TotalRecords: 23, TotalPages: 3, PageSize: 10, PageIndex: 0}, newestFirst[:10]},
			{"a null pageSize means 10", "pageSize: null",
				pageJSON{CurrentPage: 1, TotalRecords: 23, TotalPages: 3, PageSize: 10, PageIndex: 0}, newestFirst[:10]},
			{"a null pageIndex means 0", "pageIndex: null",
				pageJSON{CurrentPage: 1, TotalRecords: 23, TotalPages: 3, PageSize: 10, PageIndex: 0}, newestFirst[:10]},
			{"the second page follows the first", "pageIndex: 1",
				pageJSON{CurrentPage: 2, TotalRecords: 23, TotalPages: 3, PageSize: 10, PageIndex: 1}, newestFirst[10:20]},
			{"the last page is partial", "pageIndex: 2",
				pageJSON{CurrentPage: 3, TotalRecords: 23, TotalPages: 3, PageSize: 10, PageIndex: 2}, newestFirst[20:]},
			{"a page past the end is empty", "pageIndex: 3",
				pageJSON{CurrentPage: 4, TotalRecords: 23, TotalPages: 3, PageSize: 10, PageIndex: 3}, []string{}},
			{"a page far past the end is empty", "pageIndex: 2000000000",
				pageJSON{CurrentPage: 2000000001, TotalRecords: 23, TotalPages: 3, PageSize: 10, PageIndex: 2000000000}, []string{}},
			{"total pages round up", "pageSize: 7, pageIndex: 3",
				pageJSON{CurrentPage: 4, TotalRecords: 23, TotalPages: 4, PageSize: 7, PageIndex: 3}, newestFirst[21:]},
			{"a page size of 101 is served as 100", "pageSize: 101",
				pageJSON{CurrentPage: 1, TotalRecords: 23, TotalPages: 1, PageSize: 100, PageIndex: 0}, newestFirst},
			{"an exact fit has no extra page", "pageSize: 23",
				pageJSON{CurrentPage: 1, TotalRecords: 23, TotalPages: 1, PageSize: 23, PageIndex: 0}, newestFirst},
			{"no match is zero pages", `filter: {search: "nothing like this"}`,
				pageJSON{CurrentPage: 1, TotalRecords: 0, TotalPages: 0, PageSize: 10, PageIndex: 0}, []string{}},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				got := listTasks(t, c, tc.args)
				gotIDs := ids(got)
				got.Items = nil
				if !reflect.DeepEqual(got, tc.want) {
					t.Errorf("tasks(%s) = %+v, want %+v", tc.args, got, tc.want)
				}
				if !slices.Equal(gotIDs, tc.wantIDs) {
					t.Errorf("tasks(%s) ids = %v, want %v", tc.args, gotIDs, tc.wantIDs)
				}
			})
		}
	})
}

func TestAPageSizeOver100IsCappedAt100Items(t *testing.T) {
	storetest.Each(t, func(t *testing.T, h storetest.Harness) {
		org, _, c := newServerOn(t, h)
		var ins []task.CreateInput
		for i := range 105 {
			ins = append(ins, task.CreateInput{Title: fmt.Sprint("t", i), StartDatetime: mustDateTime(t, "2026-01-01T10:00:00"), ContactID: ptr(1)})
		}
		seed(t, org, ins...)

		got := listTasks(t, c, "pageSize: 101")

		if len(got.Items) != 100 || got.PageSize != 100 || got.TotalPages != 2 || got.TotalRecords != 105 {
			t.Errorf("pageSize 101 over 105 tasks: %d items, pageSize %d, totalPages %d, totalRecords %d; want 100, 100, 2, 105",
				len(got.Items), got.PageSize, got.TotalPages, got.TotalRecords)
		}
	})
}

// ---- tasks: sorting ----

func TestTasksSortOrder(t *testing.T) {
	storetest.Each(t, func(t *testing.T, h storetest.Harness) {
		org, _, c := newServerOn(t, h)
		// Titles in an order that is neither id order nor its reverse.
		names := []string{"delta", "Alpha", "echo", "charlie", "Bravo"}
		var ins []task.CreateInput
		for i, n := range names {
			ins = append(ins, task.CreateInput{
				Title:         n,
				StartDatetime: mustDateTime(t, fmt.Sprintf("2026-01-%02dT10:00:00", 10-i)),
				DealID:        ptr(1),
			})
		}
		seed(t, org, ins...)

		tests := []struct {
			name string
			args string
			want []string
		}{
			{"no sortBy is newest first", "", []string{"Bravo", "charlie", "echo", "Alpha", "delta"}},
			{"sortBy without sortOrder is ascending", "sortBy: TITLE", []string{"Alpha", "Bravo", "charlie", "delta", "echo"}},
			{"sortBy ACTIVITY_ID without sortOrder is oldest first", "sortBy: ACTIVITY_ID", names},
			{"sortBy with DESC is descending", "sortBy: TITLE, sortOrder: DESC", []string{"echo", "delta", "charlie", "Bravo", "Alpha"}},
			{"sortBy START_DATETIME ascending", "sortBy: START_DATETIME", []string{"Bravo", "charlie", "echo", "Alpha", "delta"}},
			{"sortOrder ASC without sortBy is oldest first", "sortOrder: ASC", names},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				if got := titles(listTasks(t, c, tc.args)); !slices.Equal(got, tc.want) {
					t.Errorf("tasks(%s) titles = %q, want %q", tc.args, got, tc.want)
				}
			})
		}
	})
}

// ---- tasks: filters ----

func TestEachTasksFilterNarrowsTheResults(t *testing.T) {
	storetest.Each(t, func(t *testing.T, h storetest.Harness) {
		org, _, c := newServerOn(t, h)
		dt := func(s string) task.DateTime { return mustDateTime(t, s) }
		seed(t, org,
			task.CreateInput{Title: "Call Alice", StartDatetime: dt("2026-03-01T09:00:00"), DealID: ptr(1),
				Status: ptr(task.StatusOpen), Priority: ptr(task.PriorityLow), AssignedUserID: ptr(7)},
			task.CreateInput{Title: "Email Bob", StartDatetime: dt("2026-03-05T10:00:00"), EndDatetime: ptr(dt("2026-03-10T10:00:00")),
				DealID: ptr(1), Status: ptr(task.StatusCompleted), Priority: ptr(task.PriorityHigh), AssignedUserID: ptr(8)},
			task.CreateInput{Title: "Review 100% of CALLS", StartDatetime: dt("2026-03-15T10:00:00"), ContactID: ptr(2),
				Status: ptr(task.StatusInProgress), Priority: ptr(task.PriorityUrgent), AssignedUserID: ptr(7)},
			task.CreateInput{Title: "Plan 1000 calls", StartDatetime: dt("2026-03-20T10:00:00"), ContactID: ptr(2)},
			task.CreateInput{Title: "call_back Carol", StartDatetime: dt("2026-03-25T10:00:00"), ContactID: ptr(3),
				Status: ptr(task.StatusCancelled)},
		)

		tests := []struct {
			name   string
			filter string
			want   []string // newest first
		}{
			{"search is a case-insensitive substring", `search: "call"`,
				[]string{"call_back Carol", "Plan 1000 calls", "Review 100% of CALLS", "Call Alice"}},
			{"search % is a literal character", `search: "%"`, []string{"Review 100% of CALLS"}},
			{"search 100% is literal, not a wildcard", `search: "100%"`, []string{"Review 100% of CALLS"}},
			{"search _ is a literal character", `search: "l_b"`, []string{"call_back Carol"}},
			{"an empty search does not filter", `search: ""`,
				[]string{"call_back Carol", "Plan 1000 calls", "Review 100% of CALLS", "Email Bob", "Call Alice"}},
			{"status", `status: COMPLETED`, []string{"Email Bob"}},
			{"status OPEN includes the default", `status: OPEN`, []string{"Plan 1000 calls", "Call Alice"}},
			{"priority", `priority: URGENT`, []string{"Review 100% of CALLS"}},
			{"priority MEDIUM includes the default", `priority: MEDIUM`, []string{"call_back Carol", "Plan 1000 calls"}},
			{"assignedUserId", `assignedUserId: 7`, []string{"Review 100% of CALLS", "Call Alice"}},
			{"dueDateFrom is inclusive and uses the end date", `dueDateFrom: "2026-03-10"`,
				[]string{"call_back Carol", "Plan 1000 calls", "Review 100% of CALLS", "Email Bob"}},
			{"dueDateTo is inclusive and uses the end date", `dueDateTo: "2026-03-09"`, []string{"Call Alice"}},
			{"dueDateFrom and dueDateTo together", `dueDateFrom: "2026-03-10", dueDateTo: "2026-03-20"`,
				[]string{"Plan 1000 calls", "Review 100% of CALLS", "Email Bob"}},
			{"dueDateFrom equal to dueDateTo", `dueDateFrom: "2026-03-01", dueDateTo: "2026-03-01"`, []string{"Call Alice"}},
			{"filters combine", `search: "call", assignedUserId: 7, status: OPEN`, []string{"Call Alice"}},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				got := listTasks(t, c, "filter: {"+tc.filter+"}")
				if !slices.Equal(titles(got), tc.want) {
					t.Errorf("filter {%s}: titles = %q, want %q", tc.filter, titles(got), tc.want)
				}
				if got.TotalRecords != len(tc.want) {
					t.Errorf("filter {%s}: totalRecords = %d, want %d", tc.filter, got.TotalRecords, len(tc.want))
				}
			})
		}
	})
}

// ---- introspection ----

type introType struct {
	Name        string       `json:"name"`
	Kind        string       `json:"kind"`
	Description *string      `json:"description"`
	Fields      []introField `json:"fields"`
	InputFields []introValue `json:"inputFields"`
	EnumValues  []introValue `json:"enumValues"`
}

type introField struct {
	Name        string       `json:"name"`
	Description *string      `json:"description"`
	Args        []introValue `json:"args"`
}

type introValue struct {
	Name        string  `json:"name"`
	Description *string `json:"description"`
}

func described(d *string) bool { return d != nil && strings.TrimSpace(*d) != "" }

func TestEverySchemaElementHasADescriptionInIntrospection(t *testing.T) {
	storetest.Each(t, func(t *testing.T, h storetest.Harness) {
		_, _, c := newServerOn(t, h)
		var out struct {
			Schema struct {
				Types []introType `json:"types"`
			} `json:"__schema"`
		}
		mustQuery(t, c, `{ __schema { types {
		name kind description
		fields(includeDeprecated: true) { name description args { name description } }
		inputFields { name description }
		enumValues(includeDeprecated: true) { name description }
	} } }`, &out)

		builtin := map[string]bool{"String": true, "Int": true, "Boolean": true, "ID": true, "Float": true}
		served := map[string]introType{}
		for _, ty := range out.Schema.Types {
			served[ty.Name] = ty
			if strings.HasPrefix(ty.Name, "__") || builtin[ty.Name] {
				continue
			}
			if !described(ty.Description) {
				t.Errorf("type %s has no description", ty.Name)
			}
			for _, f := range ty.Fields {
				if !described(f.Description) {
					t.Errorf("field %s.%s has no description", ty.Name, f.Name)
				}
				for _, a := range f.Args {
					if !described(a.Description) {
						t.Errorf("argument %s.%s(%s) has no description", ty.Name, f.Name, a.Name)
					}
				}
			}
			for _, f := range ty.InputFields {
				if !described(f.Description) {
					t.Errorf("input field %s.%s has no description", ty.Name, f.Name)
				}
			}
			for _, v := range ty.EnumValues {
				if !described(v.Description) {
					t.Errorf("enum value %s.%s has no description", ty.Name, v.Name)
				}
			}
		}

		// Everything defined in schema.graphqls must be served, so the loop
		// above cannot pass by seeing nothing.
		src, err := os.ReadFile(filepath.Join("..", "schema.graphqls"))
		if err != nil {
			t.Fatalf("reading the schema: %v", err)
		}
		doc, err := parser.ParseSchema(&ast.Source{Name: "schema.graphqls", Input: string(src)})
		if err != nil {
			t.Fatalf("parsing the schema: %v", err)
		}
		defs := append(slices.Clone(doc.Definitions), doc.Extensions...)
		if len(defs) < 10 {
			t.Fatalf("schema.graphqls defines %d types, expected at least 10", len(defs))
		}
		for _, def := range defs {
			ty, ok := served[def.Name]
			if !ok {
				t.Errorf("type %s of schema.graphqls is missing from introspection", def.Name)
				continue
			}
			servedNames := map[string]bool{}
			for _, f := range ty.Fields {
				servedNames[f.Name] = true
				for _, a := range f.Args {
					servedNames[f.Name+"("+a.Name+")"] = true
				}
			}
			for _, f := range ty.InputFields {
				servedNames[f.Name] = true
			}
			for _, v := range ty.EnumValues {
				servedNames[v.Name] = true
			}
			var want []string
			for _, f := range def.Fields {
				want = append(want, f.Name)
				for _, a := range f.Arguments {
					want = append(want, f.Name+"("+a.Name+")")
				}
			}
			for _, v := range def.EnumValues {
				want = append(want, v.Name)
			}
			for _, n := range want {
				if !servedNames[n] {
					t.Errorf("%s.%s of schema.graphqls is missing from introspection", def.Name, n)
				}
			}
		}
	})
}

// ---- faults ----

func TestAnInternalFaultIsHiddenBehindAFixedMessage(t *testing.T) {
	storetest.Each(t, func(t *testing.T, h storetest.Harness) {
		store := openStoreOn(t, h, nil)
		key := newTenant(t, store, "acme").key
		var logs bytes.Buffer
		handler := newHandler(failingStore{store}, store, slog.New(slog.NewTextHandler(&logs, nil)))
		c := client.New(handler, keyHeaders(key)...)

		resp, err := c.RawPost(`{ tasks { totalRecords } }`)
		if err != nil {
			t.Fatalf("posting: %v", err)
		}
		if strings.Contains(string(resp.Errors), "secret detail") || strings.Contains(string(resp.Errors), "disk on fire") {
			t.Errorf("errors leak the internal detail: %s", resp.Errors)
		}
		var errs []gqlError
		if err := json.Unmarshal(resp.Errors, &errs); err != nil {
			t.Fatalf("decoding errors %s: %v", resp.Errors, err)
		}
		if len(errs) != 1 {
			t.Fatalf("got %d errors %+v, want 1", len(errs), errs)
		}
		if errs[0].Extensions.Code != "INTERNAL_SERVER_ERROR" {
			t.Errorf("extensions.code = %q, want INTERNAL_SERVER_ERROR", errs[0].Extensions.Code)
		}
		if errs[0].Message != "internal server error" {
			t.Errorf("message = %q, want the fixed %q", errs[0].Message, "internal server error")
		}
		if !strings.Contains(logs.String(), "secret detail") {
			t.Errorf("the detail was not logged; log:\n%s", logs.String())
		}
	})
}

func TestAPanickingResolverIsAnInternalErrorAndTheHandlerKeepsServing(t *testing.T) {
	storetest.Each(t, func(t *testing.T, h storetest.Harness) {
		store := openStoreOn(t, h, nil)
		key := newTenant(t, store, "acme").key
		c := client.New(newHandler(panickingStore{store}, store, discardLogger()), keyHeaders(key)...)

		resp, err := c.RawPost(`{ tasks { totalRecords } }`)
		if err != nil {
			t.Fatalf("posting: %v", err)
		}
		if strings.Contains(string(resp.Errors), "secret detail") {
			t.Errorf("errors leak the panic value: %s", resp.Errors)
		}
		var errs []gqlError
		if err := json.Unmarshal(resp.Errors, &errs); err != nil {
			t.Fatalf("decoding errors %s: %v", resp.Errors, err)
		}
		if len(errs) != 1 {
			t.Fatalf("got %d errors %+v, want 1", len(errs), errs)
		}
		if errs[0].Extensions.Code != "INTERNAL_SERVER_ERROR" || errs[0].Message != "internal server error" {
			t.Errorf("error = %q (code %q), want %q (INTERNAL_SERVER_ERROR)",
				errs[0].Message, errs[0].Extensions.Code, "internal server error")
		}

		// The same handler serves the next request, which reaches the real store.
		var out struct {
			CreateTask struct {
				ID string `json:"id"`
			} `json:"createTask"`
		}
		mustQuery(t, c, `mutation { createTask(input: {title: "after", startDatetime: "2026-01-01T10:00:00", dealId: 1}) { id } }`, &out)
		var got struct {
			Task *struct {
				Title string `json:"title"`
			} `json:"task"`
		}
		mustQuery(t, c, `query($id: ID!) { task(id: $id) { title } }`, &got, client.Var("id", out.CreateTask.ID))
		if got.Task == nil || got.Task.Title != "after" {
			t.Errorf("after the panic, task(id: %q) = %+v, want the task titled after", out.CreateTask.ID, got.Task)
		}
	})
}

// ---- transport ----

func TestAMutationOverGETIsRefused(t *testing.T) {
	storetest.Each(t, func(t *testing.T, h storetest.Harness) {
		org, handler, c := newServerOn(t, h)

		get := func(query string) *httptest.ResponseRecorder {
			t.Helper()
			req := httptest.NewRequest(http.MethodGet, "/?query="+url.QueryEscape(query), nil)
			req.Header.Set(access.AccessKeyHeader, org.key.AccessKey)
			req.Header.Set(access.SecretKeyHeader, org.key.SecretKey)
			rec := httptest.NewRecorder()
			handler.ServeHTTP(rec, req)
			return rec
		}

		// A query over GET works, so the refusal below is about the mutation.
		if rec := get(`{ tasks { totalRecords } }`); rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `"totalRecords":0`) {
			t.Fatalf("GET query: status %d, body %s; want 200 with totalRecords 0", rec.Code, rec.Body)
		}

		rec := get(`mutation { createTask(input: {title: "via GET", startDatetime: "2026-01-01T10:00:00", dealId: 1}) { id } }`)

		var body struct {
			Data   map[string]any    `json:"data"`
			Errors []json.RawMessage `json:"errors"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
			t.Fatalf("GET mutation: status %d, body %q is not JSON: %v", rec.Code, rec.Body, err)
		}
		if rec.Code == http.StatusOK && len(body.Errors) == 0 {
			t.Errorf("GET mutation: status 200 with no errors (body %s), want a refusal", rec.Body)
		}
		if body.Data["createTask"] != nil {
			t.Errorf("GET mutation returned data %v, want none", body.Data)
		}
		if n := totalRecords(t, c); n != 0 {
			t.Errorf("totalRecords = %d after a mutation over GET, want 0", n)
		}
	})
}

// failingKeys is a real key store whose lookups fail with a detail that
// must reach the log and never the client.
type failingKeys struct{ store.Store }

func (failingKeys) KeyByAccessKey(context.Context, string) (access.StoredKey, error) {
	return access.StoredKey{}, errors.New("key table unreadable: secret detail")
}

func TestAFaultWhileAdmittingIsLoggedAndHiddenBehindA500(t *testing.T) {
	storetest.Each(t, func(t *testing.T, h storetest.Harness) {
		store := openStoreOn(t, h, nil)
		key := newTenant(t, store, "acme").key
		var logs bytes.Buffer
		log := slog.New(slog.NewTextHandler(&logs, nil))
		endpoint := startServer(t, graph.NewHandler(graph.Options{Service: store, Guard: access.NewGuard(failingKeys{store}, 0, log),
			Keeper: newKeeper(store, log), Limits: graph.DefaultLimits, Log: log}))

		r := postQuery(t, endpoint, &key, `{ tasks { totalRecords } }`)
		if r.status != http.StatusInternalServerError {
			t.Errorf("status = %d, want 500", r.status)
		}
		e := mustRefuse(t, r, "INTERNAL_SERVER_ERROR")
		if strings.Contains(r.body, "secret detail") || e.Message != "internal server error" {
			t.Errorf("the answer is %q, want the fixed message and no detail", r.body)
		}
		if !strings.Contains(logs.String(), "secret detail") {
			t.Errorf("the detail was not logged; log:\n%s", logs.String())
		}
	})
}

// totalRecorder is a real store that remembers whether the last list or
// connection asked for its total.
type totalRecorder struct {
	task.Service
	skipTotal *bool
}

func (r totalRecorder) ListTasks(ctx context.Context, p task.ListParams) (task.Page, error) {
	*r.skipTotal = p.SkipTotal
	return r.Service.ListTasks(ctx, p)
}

func (r totalRecorder) TaskConnection(ctx context.Context, p task.ConnectionParams) (task.Connection, error) {
	*r.skipTotal = p.SkipTotal
	return r.Service.TaskConnection(ctx, p)
}

func TestATotalIsCountedOnlyWhenSelected(t *testing.T) {
	storetest.Each(t, func(t *testing.T, h storetest.Harness) {
		store := openStoreOn(t, h, nil)
		tn := newTenant(t, store, "acme")
		var skip bool
		c := client.New(newHandler(totalRecorder{store, &skip}, store, discardLogger()), keyHeaders(tn.key)...)
		tests := []struct {
			name, query string
			wantSkip    bool
		}{
			{"a page of items alone skips it", `{ tasks { items { id } pageSize } }`, true},
			{"totalRecords counts", `{ tasks { totalRecords } }`, false},
			{"totalPages counts", `{ tasks { totalPages } }`, false},
			{"totalRecords under an alias counts", `{ t: tasks { n: totalRecords } }`, false},
			{"totalRecords in a fragment counts", `{ tasks { ...Totals } } fragment Totals on TaskPage { totalRecords }`, false},
			{"a connection of edges alone skips it", `{ tasksConnection { edges { node { id } } } }`, true},
			{"totalCount counts", `{ tasksConnection { totalCount } }`, false},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				skip = !tt.wantSkip
				var out map[string]any
				if err := c.Post(tt.query, &out); err != nil {
					t.Fatalf("query: %v", err)
				}
				if skip != tt.wantSkip {
					t.Errorf("SkipTotal = %v, want %v", skip, tt.wantSkip)
				}
			})
		}
	})
}
