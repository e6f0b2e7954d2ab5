package graph_test

import (
	"encoding/json"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/vektah/gqlparser/v2/ast"

	"tasksapi/access"
	"tasksapi/graph"
	"tasksapi/task"
)

// Planned reads must answer byte for byte as gqlgen's own execution does:
// each request below goes to the server and to the same server with no
// plans, over one store, and the two answers are compared whole.

// everyField is a selection of every field of the named object type, and
// of the object types below it, as the schema has them: a field added to
// the schema joins it, and is then planned or fails the tests below.
func everyField(s *ast.Schema, typeName string) string {
	var b strings.Builder
	b.WriteString("{")
	for _, f := range s.Types[typeName].Fields {
		if strings.HasPrefix(f.Name, "__") {
			continue
		}
		b.WriteString(" " + f.Name)
		if def := s.Types[f.Type.Name()]; def.Kind == ast.Object {
			b.WriteString(" " + everyField(s, def.Name))
		}
	}
	b.WriteString(" }")
	return b.String()
}

// planServers are the server and the server with no plans, over one store,
// and the root fields the first has answered by a plan.
type planServers struct {
	planned, gqlgen http.Handler
	key             access.Credentials

	mu     sync.Mutex
	fields []string
}

func newPlanServers(t *testing.T, svc func(tenant) task.Service) *planServers {
	t.Helper()
	store := openStore(t)
	tn := newTenant(t, store, "acme")
	seedVariedTasks(t, tn)
	log := discardLogger()
	guard := access.NewGuard(store, 0, log)
	s := &planServers{key: tn.key}
	o := graph.Options{Service: svc(tn), Guard: guard, Keeper: newKeeper(store, log), Limits: graph.DefaultLimits, Log: log}
	s.planned = graph.NewNotingHandler(o, func(field string) {
		s.mu.Lock()
		defer s.mu.Unlock()
		s.fields = append(s.fields, field)
	})
	o.Keeper = newKeeper(store, log)
	s.gqlgen = graph.NewGqlgenHandler(o)
	return s
}

// seedVariedTasks stores tasks with every optional field set and unset, and
// titles and descriptions that need escaping.
func seedVariedTasks(t *testing.T, tn tenant) {
	t.Helper()
	start := mustDateTime(t, "2026-03-01T09:00:00")
	end := mustDateTime(t, "2026-03-02T17:30:00")
	seed(t, tn,
		task.CreateInput{Title: `Call "Ann" about C:\deals <b>&</b> é 😀 ` + "\u2028", StartDatetime: start, DealID: ptr(1)},
		task.CreateInput{Title: "Every field", StartDatetime: start, EndDatetime: &end,
			Description: ptr("line one\nline two\ttabbed \x01 \"quoted\" \\"), DealID: ptr(2), ContactID: ptr(3),
			Priority: ptr(task.PriorityHigh), Status: ptr(task.StatusCompleted), AssignedUserID: ptr(4),
			TagIDs: []int{3, 1, 2}},
		task.CreateInput{Title: "Contact only", StartDatetime: end, ContactID: ptr(5), TagIDs: []int{7}},
	)
	for i := range 9 {
		seed(t, tn, task.CreateInput{Title: "Filler " + string(rune('a'+i)), StartDatetime: start,
			DealID: ptr(10 + i), Priority: ptr(task.Priority(i % 5)), Status: ptr(task.Status(i % 5))})
	}
}

// answer is what an HTTP exchange answered.
type answer struct {
	status      int
	contentType string
	body        string
}

func (s *planServers) send(t *testing.T, h http.Handler, query string, variables map[string]any) answer {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, "/query", strings.NewReader(postJSON(t, query, variables)))
	req.Header.Set("Content-Type", mediaJSON)
	req.Header.Set(access.AccessKeyHeader, s.key.AccessKey)
	req.Header.Set(access.SecretKeyHeader, s.key.SecretKey)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return answer{rec.Code, rec.Header().Get("Content-Type"), rec.Body.String()}
}

// exchange sends the request to both servers, fails unless the answers
// are the same, and returns the answer and the root fields the planned
// server answered by a plan.
func (s *planServers) exchange(t *testing.T, query string, variables map[string]any) (answer, []string) {
	t.Helper()
	s.mu.Lock()
	s.fields = nil
	s.mu.Unlock()
	got := s.send(t, s.planned, query, variables)
	want := s.send(t, s.gqlgen, query, variables)
	if got != want {
		t.Errorf("planned answer differs from gqlgen's\nquery: %s\nplanned: %d %s %s\ngqlgen:  %d %s %s",
			query, got.status, got.contentType, got.body, want.status, want.contentType, want.body)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return got, slices.Sorted(slices.Values(s.fields))
}

// compare is exchange, failing too unless the planned server answered
// exactly wantPlanned by a plan.
func (s *planServers) compare(t *testing.T, query string, variables map[string]any, wantPlanned ...string) answer {
	t.Helper()
	got, planned := s.exchange(t, query, variables)
	if !slices.Equal(planned, wantPlanned) {
		t.Errorf("root fields answered by a plan: %q, want %q", planned, wantPlanned)
	}
	return got
}

func TestPlannedReadsAnswerAsGqlgenDoes(t *testing.T) {
	s := newPlanServers(t, func(tn tenant) task.Service { return tn.store })
	schema := graph.Schema()
	page, conn, one := everyField(schema, "TaskPage"), everyField(schema, "TaskConnection"), everyField(schema, "Task")

	var first struct {
		Data struct {
			TasksConnection struct{ PageInfo struct{ EndCursor string } }
		}
	}
	firstPage := s.compare(t, `{ tasksConnection(first: 3) { pageInfo { endCursor } } }`, nil, "tasksConnection")
	if err := json.Unmarshal([]byte(firstPage.body), &first); err != nil || first.Data.TasksConnection.PageInfo.EndCursor == "" {
		t.Fatalf("no end cursor in %s (%v)", firstPage.body, err)
	}

	tests := []struct {
		name        string
		query       string
		variables   map[string]any
		wantPlanned []string
	}{
		{"every field of a page of tasks", `{ tasks(pageSize: 20) ` + page + ` }`, nil, []string{"tasks"}},
		{"every field of a connection page", `{ tasksConnection(first: 5) ` + conn + ` }`, nil, []string{"tasksConnection"}},
		{"a connection page read after a cursor",
			`query($after: String) { tasksConnection(first: 4, after: $after) ` + conn + ` }`,
			map[string]any{"after": first.Data.TasksConnection.PageInfo.EndCursor}, []string{"tasksConnection"}},
		{"an empty connection page, with null cursors",
			`{ tasksConnection(filter: {assignedUserId: 999}) ` + conn + ` }`, nil, []string{"tasksConnection"}},
		{"an empty page of tasks", `{ tasks(pageIndex: 50) ` + page + ` }`, nil, []string{"tasks"}},
		{"every field of one task", `query($id: ID!) { task(id: $id) ` + one + ` }`,
			map[string]any{"id": "2"}, []string{"task"}},
		{"a task that does not exist is null", `{ task(id: "999999") ` + one + ` }`, nil, []string{"task"}},
		{"a task id that is not a number is the same error", `{ task(id: "abc") { id } }`, nil, []string{"task"}},
		{"a bad filter argument is the same error",
			`{ tasks(filter: {dueDateFrom: "tomorrow"}) { totalRecords } }`, nil, []string{"tasks"}},
		{"a bad argument variable is the same error",
			`query($size: Int) { tasks(pageSize: $size) { totalRecords } }`, map[string]any{"size": "ten"}, nil},
		{"aliases, one field under two names",
			`{ p: tasks(pageSize: 3) { all: totalRecords items { a: id b: id title t: title } } }`, nil, []string{"tasks"}},
		{"a field selected twice is written once", `{ tasks { items { id title id } items { title status } } }`, nil, []string{"tasks"}},
		{"__typename on every object",
			`{ __typename tasks { __typename items { __typename id } }
			   tasksConnection { __typename edges { __typename node { __typename } } pageInfo { __typename } }
			   task(id: "1") { __typename } }`, nil, []string{"task", "tasks", "tasksConnection"}},
		{"named and inline fragments, nested and overlapping",
			`{ tasks { ...P items { id ... on Task { title ...T } } } }
			 fragment P on TaskPage { pageSize items { ...T } }
			 fragment T on Task { id status dueDate tagIds }`, nil, []string{"tasks"}},
		{"@skip and @include by literal and by variable",
			`query($yes: Boolean!, $no: Boolean!) { tasks { items { id title @skip(if: $yes)
			   description @include(if: $yes) dealId @include(if: $no) status @skip(if: false) }
			   totalRecords @include(if: $no) ... on TaskPage @skip(if: $no) { pageSize } } }`,
			map[string]any{"yes": true, "no": false}, []string{"tasks"}},
		{"filters, sorts and paging from variables",
			`query($f: TaskFilter, $by: TaskSortField, $o: SortOrder) {
			   tasks(filter: $f, sortBy: $by, sortOrder: $o, pageSize: 2, pageIndex: 1) { items { id title priority } currentPage totalPages } }`,
			map[string]any{"f": map[string]any{"status": "OPEN"}, "by": "PRIORITY", "o": "DESC"}, []string{"tasks"}},
		{"a search", `{ tasks(filter: {search: "ann"}) { totalRecords items { title } } }`, nil, []string{"tasks"}},
		{"every read at once", `{ tasks ` + page + ` tasksConnection ` + conn + ` task(id: "1") ` + one + ` }`, nil,
			[]string{"task", "tasks", "tasksConnection"}},
		{"introspection beside a list is left to gqlgen",
			`{ __schema { queryType { name } } tasks { totalRecords } }`, nil, []string{"tasks"}},
		{"a deferred fragment is left to gqlgen", `{ tasks { items { id ... @defer { title } } } }`, nil, nil},
		{"a mutation is left to gqlgen",
			`mutation { createTask(input: {title: "x", startDatetime: "nope", dealId: 1}) { id } }`, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s.compare(t, tt.query, tt.variables, tt.wantPlanned...)
		})
	}
}

func TestPlannedReadsFailAsGqlgenDoes(t *testing.T) {
	tests := []struct {
		name string
		svc  func(tenant) task.Service
	}{
		{"a store fault is the same fixed message",
			func(tn tenant) task.Service { return failingStore{tn.store} }},
		{"a panic is the same internal error",
			func(tn tenant) task.Service { return panickingStore{tn.store} }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newPlanServers(t, tt.svc)
			got := s.compare(t, `{ tasks { totalRecords items { id } } }`, nil, "tasks")
			if !strings.Contains(got.body, `"errors"`) {
				t.Errorf("answer %s has no errors", got.body)
			}
		})
	}
}

// randomSelection is a selection on the named object type of one to five
// random picks: a field (aliased or not, at times with @skip or
// @include), __typename, or an inline or spread fragment of more picks.
func randomSelection(r *rand.Rand, s *ast.Schema, typeName string) string {
	fields := s.Types[typeName].Fields
	// An alias of another field's name would make two fields conflict.
	aliases := []string{"", "", "", "x", "y"}
	directives := []string{"", "", "", " @skip(if: true)", " @skip(if: false)", " @include(if: $on)", " @include(if: false)"}
	var b strings.Builder
	b.WriteString("{")
	for range 1 + r.IntN(5) {
		switch pick := r.IntN(10); {
		case pick == 0:
			b.WriteString(" __typename")
		case pick == 1:
			b.WriteString(" ... on " + typeName + directives[r.IntN(len(directives))] + " " + randomSelection(r, s, typeName))
		case pick == 2:
			b.WriteString(" ..." + directives[r.IntN(len(directives))] + " " + randomSelection(r, s, typeName))
		default:
			f := fields[r.IntN(len(fields))]
			if strings.HasPrefix(f.Name, "__") {
				continue
			}
			b.WriteString(" ")
			if alias := aliases[r.IntN(len(aliases))]; alias != "" {
				b.WriteString(f.Name + alias + ": ")
			}
			b.WriteString(f.Name + directives[r.IntN(len(directives))])
			if def := s.Types[f.Type.Name()]; def.Kind == ast.Object {
				b.WriteString(" " + randomSelection(r, s, def.Name))
			}
		}
	}
	b.WriteString(" }")
	return b.String()
}

func TestRandomSelectionsAnswerAsGqlgenDoes(t *testing.T) {
	s := newPlanServers(t, func(tn tenant) task.Service { return tn.store })
	schema := graph.Schema()
	r := rand.New(rand.NewPCG(1, 2)) // the same queries on every run
	roots := []struct{ field, typeName string }{
		{`tasks(pageSize: 3, sortBy: PRIORITY)`, "TaskPage"},
		{`tasksConnection(first: 2, filter: {status: OPEN})`, "TaskConnection"},
		{`task(id: "2")`, "Task"},
	}
	const queries = 300
	planned := 0
	for i := range queries {
		root := roots[r.IntN(len(roots))]
		query := `query($on: Boolean!) { __typename @skip(if: $on) ` + root.field + " " +
			randomSelection(r, schema, root.typeName) + ` }`
		_, fields := s.exchange(t, query, map[string]any{"on": i%2 == 0})
		planned += len(fields)
	}
	if planned < queries/2 {
		t.Errorf("%d of %d random queries were answered by a plan, want at least half", planned, queries)
	}
}
