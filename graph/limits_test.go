package graph_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"tasksapi/access"
	"tasksapi/graph"
	"tasksapi/sqlite"
	"tasksapi/task"
)

// ---- HTTP fixtures ----

// startServer serves h over a real HTTP server for the test's duration and
// returns its URL.
func startServer(t *testing.T, h http.Handler) string {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL
}

// newHTTPServer serves the real GraphQL handler over store, with guard and
// limits, and returns its URL.
func newHTTPServer(t *testing.T, store *sqlite.Store, guard *access.Guard, limits graph.Limits) string {
	t.Helper()
	log := discardLogger()
	if guard == nil {
		guard = access.NewGuard(store, 0, log)
	}
	return startServer(t, graph.NewHandler(graph.Options{Service: store, Guard: guard, Keeper: newKeeper(store, log), Limits: limits, Log: log}))
}

// reply is an HTTP response of the GraphQL endpoint, its body decoded.
type reply struct {
	status int
	header http.Header
	body   string
	data   json.RawMessage // "null" when there is none
	errors []gqlError
}

// hasData reports whether the reply carries any data.
func (r reply) hasData() bool {
	return len(r.data) > 0 && string(r.data) != "null"
}

// send sends req and decodes the GraphQL response it gets.
func send(t *testing.T, req *http.Request) reply {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("reading the response body: %v", err)
	}
	r := reply{status: resp.StatusCode, header: resp.Header, body: string(body)}
	var decoded struct {
		Data   json.RawMessage `json:"data"`
		Errors []gqlError      `json:"errors"`
	}
	if err := json.Unmarshal(body, &decoded); err != nil {
		t.Fatalf("status %d: the body %.300q is not a JSON object: %v", resp.StatusCode, body, err)
	}
	r.data, r.errors = decoded.Data, decoded.Errors
	return r
}

// newPost returns a POST of body to endpoint, with key's headers unless key is
// nil.
func newPost(t *testing.T, endpoint string, key *access.Credentials, body io.Reader) *http.Request {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, endpoint, body)
	if err != nil {
		t.Fatalf("building the request: %v", err)
	}
	req.Header.Set("Content-Type", "application/json")
	if key != nil {
		req.Header.Set(access.AccessKeyHeader, key.AccessKey)
		req.Header.Set(access.SecretKeyHeader, key.SecretKey)
	}
	return req
}

// postQuery POSTs query, as JSON, to endpoint with key's headers (none if key is
// nil).
func postQuery(t *testing.T, endpoint string, key *access.Credentials, query string) reply {
	t.Helper()
	body, err := json.Marshal(map[string]any{"query": query})
	if err != nil {
		t.Fatalf("encoding the query: %v", err)
	}
	return send(t, newPost(t, endpoint, key, bytes.NewReader(body)))
}

// mustSucceed checks that r is a 200 with data and no errors, and decodes
// the data into out.
func mustSucceed(t *testing.T, r reply, out any) {
	t.Helper()
	if r.status != http.StatusOK || len(r.errors) != 0 || !r.hasData() {
		t.Fatalf("status %d, errors %+v, data %.300s; want 200 with data and no errors", r.status, r.errors, r.data)
	}
	if out != nil {
		if err := json.Unmarshal(r.data, out); err != nil {
			t.Fatalf("decoding data %.300s: %v", r.data, err)
		}
	}
}

// mustRefuse checks that r carries no data and exactly one error, with
// extensions.code wantCode, and returns that error.
func mustRefuse(t *testing.T, r reply, wantCode string) gqlError {
	t.Helper()
	if r.hasData() {
		t.Errorf("data = %.300s, want none", r.data)
	}
	if len(r.errors) != 1 {
		t.Fatalf("status %d: got %d errors %+v, want exactly 1 with code %s", r.status, len(r.errors), r.errors, wantCode)
	}
	e := r.errors[0]
	if e.Extensions.Code != wantCode {
		t.Errorf("extensions.code = %q (message %q), want %q", e.Extensions.Code, e.Message, wantCode)
	}
	if e.Message == "" {
		t.Errorf("the error message is empty")
	}
	return e
}

// playgroundIntrospection is the schema query the GraphiQL playground sends.
func playgroundIntrospection(t *testing.T) string {
	t.Helper()
	q, err := os.ReadFile(filepath.Join("testdata", "introspection.graphql"))
	if err != nil {
		t.Fatalf("reading the introspection query: %v", err)
	}
	return string(q)
}

// ---- authentication ----

func TestRequestsWithoutValidCredentialsAreRefusedWith401(t *testing.T) {
	store := openStore(t)
	valid := newTenant(t, store, "acme").key
	revoked := newTenant(t, store, "acme").key
	endpoint := newHTTPServer(t, store, nil, graph.DefaultLimits)

	// Both keys work to begin with, so each refusal below is about the
	// credentials sent.
	for _, k := range []access.Credentials{valid, revoked} {
		mustSucceed(t, postQuery(t, endpoint, &k, `{ tasks { totalRecords } }`), nil)
	}
	if err := store.RevokeKey(t.Context(), revoked.AccessKey); err != nil {
		t.Fatalf("RevokeKey: %v", err)
	}
	// A running server trusts a verified key for access.VerifiedKeyTTL (its
	// own tests cover that): a new one has verified none.
	endpoint = newHTTPServer(t, store, nil, graph.DefaultLimits)

	creds := []struct {
		name string
		key  *access.Credentials
	}{
		{"no key", nil},
		{"an access key without a secret", &access.Credentials{AccessKey: valid.AccessKey}},
		{"a wrong secret", &access.Credentials{AccessKey: valid.AccessKey, SecretKey: valid.SecretKey + "x"}},
		{"another key's secret", &access.Credentials{AccessKey: valid.AccessKey, SecretKey: revoked.SecretKey}},
		{"an unknown access key", &access.Credentials{AccessKey: "ak_unknown", SecretKey: valid.SecretKey}},
		{"a revoked key", &revoked},
	}
	queries := []struct {
		name          string
		query         string
		introspection bool
	}{
		{"a tasks query", `{ tasks { totalRecords } }`, false},
		{"a createTask mutation", `mutation { createTask(input: {title: "x", startDatetime: "2026-01-01T10:00:00", dealId: 1}) { id } }`, false},
		{"the playground's introspection query", playgroundIntrospection(t), true},
	}
	for _, c := range creds {
		for _, q := range queries {
			if q.introspection && c.key == nil {
				continue // needs no key: TestIntrospectionNeedsNoKeyButEverythingElseDoes
			}
			t.Run(q.name+" with "+c.name+" is a 401", func(t *testing.T) {
				r := postQuery(t, endpoint, c.key, q.query)
				if r.status != http.StatusUnauthorized {
					t.Errorf("status = %d, want 401", r.status)
				}
				mustRefuse(t, r, "UNAUTHENTICATED")
			})
		}
	}

	t.Run("a GET with no key is a 401", func(t *testing.T) {
		req, err := http.NewRequest(http.MethodGet, endpoint+"?query="+url.QueryEscape("{ tasks { totalRecords } }"), nil)
		if err != nil {
			t.Fatalf("building the request: %v", err)
		}
		r := send(t, req)
		if r.status != http.StatusUnauthorized {
			t.Errorf("status = %d, want 401", r.status)
		}
		mustRefuse(t, r, "UNAUTHENTICATED")
	})

	// Nothing was created by the refused mutations.
	var out struct {
		Tasks struct {
			TotalRecords int `json:"totalRecords"`
		} `json:"tasks"`
	}
	mustSucceed(t, postQuery(t, endpoint, &valid, `{ tasks { totalRecords } }`), &out)
	if out.Tasks.TotalRecords != 0 {
		t.Errorf("totalRecords = %d after refused mutations, want 0", out.Tasks.TotalRecords)
	}
}

func TestIntrospectionNeedsNoKeyButEverythingElseDoes(t *testing.T) {
	store := openStore(t)
	key := newTenant(t, store, "acme").key
	endpoint := newHTTPServer(t, store, nil, graph.DefaultLimits)
	wrong := access.Credentials{AccessKey: key.AccessKey, SecretKey: key.SecretKey + "x"}
	empty := access.Credentials{} // both headers sent, without values, as the playground first sends them

	tests := []struct {
		name   string
		method string
		key    *access.Credentials
		query  string
		served bool // else a 401
	}{
		{"the playground's introspection query without a key is served", http.MethodPost, nil, playgroundIntrospection(t), true},
		{"the introspection query with empty key headers is served", http.MethodPost, &empty, playgroundIntrospection(t), true},
		{"an introspection query by GET without a key is served", http.MethodGet, nil, `{ __schema { queryType { name } } }`, true},
		{"__type without a key is served", http.MethodPost, nil, `{ __type(name: "Task") { fields { name } } }`, true},
		{"__typename alone without a key is served", http.MethodPost, nil, `{ __typename }`, true},
		{"introspection through a fragment without a key is served", http.MethodPost, nil, `{ ...F } fragment F on Query { __typename }`, true},
		{"introspection with a wrong key is a 401", http.MethodPost, &wrong, playgroundIntrospection(t), false},
		{"a tasks query without a key is a 401", http.MethodPost, nil, `{ tasks { totalRecords } }`, false},
		{"a tasks query by GET without a key is a 401", http.MethodGet, nil, `{ tasks { totalRecords } }`, false},
		{"a task read beside introspection without a key is a 401", http.MethodPost, nil, `{ __typename task(id: "1") { id } }`, false},
		{"a task read inside a fragment without a key is a 401", http.MethodPost, nil, `{ __typename ...F } fragment F on Query { tasks { totalRecords } }`, false},
		{"a mutation selecting only __typename without a key is a 401", http.MethodPost, nil, `mutation { __typename }`, false},
		{"a query that does not parse without a key is a 401", http.MethodPost, nil, `{ __typename`, false},
		{"a query that does not validate without a key is a 401", http.MethodPost, nil, `{ __typename nothing }`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var r reply
			if tt.method == http.MethodGet {
				req, err := http.NewRequest(http.MethodGet, endpoint+"?query="+url.QueryEscape(tt.query), nil)
				if err != nil {
					t.Fatalf("building the request: %v", err)
				}
				r = send(t, req)
			} else {
				r = postQuery(t, endpoint, tt.key, tt.query)
			}
			if !tt.served {
				if r.status != http.StatusUnauthorized {
					t.Errorf("status = %d, want 401", r.status)
				}
				mustRefuse(t, r, "UNAUTHENTICATED")
				return
			}
			mustSucceed(t, r, nil)
		})
	}
}

// ---- rate limit ----

func TestAKeyOverItsRateLimitIsRefusedWith429WhileOtherOrganisationsAreServed(t *testing.T) {
	store := openStore(t)
	a := newTenant(t, store, "acme").key
	b := newTenant(t, store, "globex").key
	endpoint := newHTTPServer(t, store, access.NewGuard(store, 1, discardLogger()), graph.DefaultLimits)
	const query = `{ tasks { totalRecords } }`

	// One request a second with bursts of two: two immediate requests pass.
	for i := range 2 {
		r := postQuery(t, endpoint, &a, query)
		if r.status != http.StatusOK || len(r.errors) != 0 {
			t.Fatalf("request %d of the burst: status %d, errors %+v; want 200 and no errors", i+1, r.status, r.errors)
		}
	}

	r := postQuery(t, endpoint, &a, query)

	if r.status != http.StatusTooManyRequests {
		t.Errorf("the third request: status = %d, want 429", r.status)
	}
	retry := r.header.Get("Retry-After")
	if n, err := strconv.Atoi(retry); err != nil || n < 1 {
		t.Errorf("Retry-After = %q, want a whole number of seconds, at least 1", retry)
	}
	mustRefuse(t, r, "RATE_LIMITED")

	// Another organisation's key has its own bucket.
	other := postQuery(t, endpoint, &b, query)
	if other.status != http.StatusOK || len(other.errors) != 0 {
		t.Errorf("another organisation's key while the first is limited: status %d, errors %+v; want 200 and no errors",
			other.status, other.errors)
	}
}

// ---- organisations ----

func TestATaskOfOneOrganisationIsInvisibleToAnother(t *testing.T) {
	store := openStore(t)
	a := newTenant(t, store, "acme").key
	b := newTenant(t, store, "globex").key
	endpoint := newHTTPServer(t, store, nil, graph.DefaultLimits)

	var created struct {
		CreateTask struct {
			ID string `json:"id"`
		} `json:"createTask"`
	}
	mustSucceed(t, postQuery(t, endpoint, &a,
		`mutation { createTask(input: {title: "Acme only", startDatetime: "2026-01-01T10:00:00", dealId: 1}) { id } }`), &created)
	id := created.CreateTask.ID
	lookup := fmt.Sprintf(`{ task(id: %q) { id title } tasks { totalRecords items { id } } }`, id)

	type view struct {
		Task *struct {
			ID    string `json:"id"`
			Title string `json:"title"`
		} `json:"task"`
		Tasks struct {
			TotalRecords int `json:"totalRecords"`
			Items        []struct {
				ID string `json:"id"`
			} `json:"items"`
		} `json:"tasks"`
	}

	var fromB view
	mustSucceed(t, postQuery(t, endpoint, &b, lookup), &fromB)
	if fromB.Task != nil {
		t.Errorf("with the other organisation's key, task(id: %q) = %+v, want null", id, *fromB.Task)
	}
	if fromB.Tasks.TotalRecords != 0 || len(fromB.Tasks.Items) != 0 {
		t.Errorf("with the other organisation's key, tasks = %+v, want totalRecords 0 and no items", fromB.Tasks)
	}

	var fromA view
	mustSucceed(t, postQuery(t, endpoint, &a, lookup), &fromA)
	if fromA.Task == nil || fromA.Task.Title != "Acme only" {
		t.Errorf("with the creator's key, task(id: %q) = %+v, want the task titled Acme only", id, fromA.Task)
	}
	if fromA.Tasks.TotalRecords != 1 || len(fromA.Tasks.Items) != 1 || fromA.Tasks.Items[0].ID != id {
		t.Errorf("with the creator's key, tasks = %+v, want just task %s", fromA.Tasks, id)
	}
}

// ---- cost limits ----

// largestQuery is the largest legitimate query: a full page of tasks with
// every field of Task and of TaskPage.
const largestQuery = `tasks(pageSize: 100) { items { ` + allTaskFields + ` }
	currentPage totalRecords totalPages pageSize pageIndex }`

func TestTheLargestLegitimateQueryIsServedUnderTheDefaultLimits(t *testing.T) {
	store := openStore(t)
	org := newTenant(t, store, "acme")
	var ins []task.CreateInput
	for i := range 105 {
		ins = append(ins, task.CreateInput{
			Title: fmt.Sprint("Task ", i), StartDatetime: mustDateTime(t, "2026-01-01T10:00:00"),
			EndDatetime: ptr(mustDateTime(t, "2026-01-02T10:00:00")), Description: ptr("d"),
			DealID: ptr(1), ContactID: ptr(2), AssignedUserID: ptr(3), TagIDs: []int{1, 2},
		})
	}
	seed(t, org, ins...)
	endpoint := newHTTPServer(t, store, nil, graph.DefaultLimits)

	var out struct {
		Tasks pageJSON `json:"tasks"`
	}
	mustSucceed(t, postQuery(t, endpoint, &org.key, "{ "+largestQuery+" }"), &out)

	if len(out.Tasks.Items) != 100 || out.Tasks.TotalRecords != 105 || out.Tasks.PageSize != 100 || out.Tasks.TotalPages != 2 {
		t.Errorf("%d items, totalRecords %d, pageSize %d, totalPages %d; want 100, 105, 100, 2",
			len(out.Tasks.Items), out.Tasks.TotalRecords, out.Tasks.PageSize, out.Tasks.TotalPages)
	}
	for _, it := range out.Tasks.Items {
		if it.ID == "" || it.Title == "" || it.EndDatetime == nil || it.AssignedUserID == nil || string(it.TagIDs) != "[1,2]" {
			t.Fatalf("item %+v lacks a field that was asked for", it)
		}
	}
}

func TestThePlaygroundIntrospectionQueryIsServedUnderTheDefaultLimits(t *testing.T) {
	store := openStore(t)
	key := newTenant(t, store, "acme").key
	endpoint := newHTTPServer(t, store, nil, graph.DefaultLimits)

	var out struct {
		Schema struct {
			QueryType struct {
				Name string `json:"name"`
			} `json:"queryType"`
			Types []struct {
				Name string `json:"name"`
			} `json:"types"`
		} `json:"__schema"`
	}
	mustSucceed(t, postQuery(t, endpoint, &key, playgroundIntrospection(t)), &out)

	if out.Schema.QueryType.Name != "Query" {
		t.Errorf("queryType.name = %q, want Query", out.Schema.QueryType.Name)
	}
	found := false
	for _, ty := range out.Schema.Types {
		found = found || ty.Name == "Task"
	}
	if !found {
		t.Errorf("the schema's types %+v do not include Task", out.Schema.Types)
	}
}

func TestQueriesOverTheCostLimitsAreRefused(t *testing.T) {
	var manyLookups strings.Builder
	manyLookups.WriteString("{")
	for i := range 200 {
		fmt.Fprintf(&manyLookups, ` t%d: task(id: "1") { id title }`, i)
	}
	manyLookups.WriteString(" }")

	tests := []struct {
		name     string
		query    string
		wantCode string
		wantMsg  string // a part of the message, naming the limit
	}{
		{"the largest legitimate query twice under two aliases is over the complexity limit",
			"{ a: " + largestQuery + " b: " + largestQuery + " }",
			"COMPLEXITY_LIMIT_EXCEEDED", "exceeds the limit of 2500"},
		{"200 aliased task lookups are over the size limit",
			manyLookups.String(), "QUERY_TOO_LARGE", "over 500 fields"},
		{"an introspection query nested 16 levels deep through ofType is over the depth limit",
			"{ __schema { types { " + nest("ofType", 13, "name") + " } } }",
			"QUERY_TOO_DEEP", "deeper than 15 levels"},
		{"a query nested 16 levels deep through fragments is over the depth limit",
			`{ __schema { types { ...F } } }
			fragment F on __Type { ofType { ... on __Type { ...G } } }
			fragment G on __Type { ` + nest("ofType", 12, "name") + ` }`,
			"QUERY_TOO_DEEP", "deeper than 15 levels"},
		// gqlparser's own rule, run in validation before the depth limit,
		// refuses __Type's list fields nested more than three deep.
		{"an introspection query 17 levels deep through fields and type is refused by validation",
			"{ __schema { types { " + strings.Repeat("fields { type { ", 7) + "name" + strings.Repeat(" } }", 7) + " } } }",
			"GRAPHQL_VALIDATION_FAILED", "Maximum introspection depth exceeded"},
	}

	store := openStore(t)
	key := newTenant(t, store, "acme").key
	endpoint := newHTTPServer(t, store, nil, graph.DefaultLimits)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := mustRefuse(t, postQuery(t, endpoint, &key, tc.query), tc.wantCode)
			if !strings.Contains(e.Message, tc.wantMsg) {
				t.Errorf("message = %q, want it to contain %q", e.Message, tc.wantMsg)
			}
		})
	}
}

// nest returns field nested n times around inner: nest("a", 2, "b") is
// "a { a { b } }".
func nest(field string, n int, inner string) string {
	return strings.Repeat(field+" { ", n) + inner + strings.Repeat(" }", n)
}

func TestTheDefaultDepthLimitAllows15LevelsAndRefuses16(t *testing.T) {
	store := openStore(t)
	key := newTenant(t, store, "acme").key
	endpoint := newHTTPServer(t, store, nil, graph.DefaultLimits)

	// __schema, types, n times ofType, then name: n + 3 levels.
	mustSucceed(t, postQuery(t, endpoint, &key, "{ __schema { types { "+nest("ofType", 12, "name")+" } } }"), nil)
	mustRefuse(t, postQuery(t, endpoint, &key, "{ __schema { types { "+nest("ofType", 13, "name")+" } } }"), "QUERY_TOO_DEEP")
}

func TestTheDepthLimitCountsEveryLevelOfSelection(t *testing.T) {
	store := openStore(t)
	key := newTenant(t, store, "acme").key
	endpoint := newHTTPServer(t, store, nil, graph.Limits{MaxComplexity: 2500, MaxDepth: 3})

	tests := []struct {
		name    string
		query   string
		allowed bool
	}{
		{"tasks, items and a field, depth 3, is allowed", `{ tasks { items { id } } }`, true},
		{"depth 3 through a fragment is allowed", `{ tasks { ...P } } fragment P on TaskPage { items { id } }`, true},
		{"depth 3 through an inline fragment is allowed", `{ tasks { ... on TaskPage { items { id } } } }`, true},
		{"depth 3 of introspection is allowed", `{ __schema { queryType { name } } }`, true},
		{"depth 4 of introspection is refused", `{ __schema { queryType { fields { name } } } }`, false},
		{"depth 4 through a fragment is refused",
			`{ __schema { ...S } } fragment S on __Schema { queryType { fields { name } } }`, false},
		{"depth 4 ending in __typename is refused", `{ __schema { queryType { fields { __typename } } } }`, false},
		{"depth 4 beside tasks is refused", `{ tasks { items { id } } __schema { types { fields { name } } } }`, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := postQuery(t, endpoint, &key, tc.query)
			if tc.allowed {
				mustSucceed(t, r, nil)
				return
			}
			mustRefuse(t, r, "QUERY_TOO_DEEP")
		})
	}
}

// ---- hostile sizes ----

func TestHostileQueriesAreRefusedBeforeTheyRun(t *testing.T) {
	var aliases strings.Builder
	aliases.WriteString("{")
	for i := range 600 {
		fmt.Fprintf(&aliases, " f%d: __typename", i)
	}
	aliases.WriteString(" }")

	tests := []struct {
		name     string
		query    string
		wantCode string
		wantMsg  string // a part of the message, naming the limit
	}{
		{"20,000 repeated __typename fields",
			"{ " + strings.Repeat("__typename ", 20000) + "}",
			"QUERY_TOO_LARGE", "over 32768 bytes"},
		{"a query over 32 KiB made of a comment",
			"# " + strings.Repeat("x", 33<<10) + "\n{ tasks { totalRecords } }",
			"QUERY_TOO_LARGE", "over 32768 bytes"},
		{"a query over 32 KiB made of a string argument",
			`{ tasks(filter: {search: "` + strings.Repeat("x", 33<<10) + `"}) { totalRecords } }`,
			"QUERY_TOO_LARGE", "over 32768 bytes"},
		{"600 distinct aliased fields", aliases.String(), "QUERY_TOO_LARGE", "over 500 fields"},
		{"4,000 tokens that are not names, under 32 KiB",
			`{ tasks(pageSize: [` + strings.Repeat("1 ", 5000) + `]) { totalRecords } }`,
			"GRAPHQL_PARSE_FAILED", "exceeded token limit of 4000"},
	}

	store := openStore(t)
	key := newTenant(t, store, "acme").key
	endpoint := newHTTPServer(t, store, nil, graph.DefaultLimits)
	for _, tc := range tests {
		t.Run(tc.name+" are refused", func(t *testing.T) {
			e := mustRefuse(t, postQuery(t, endpoint, &key, tc.query), tc.wantCode)
			if !strings.Contains(e.Message, tc.wantMsg) {
				t.Errorf("message = %q, want it to contain %q", e.Message, tc.wantMsg)
			}
		})
	}
}

// ---- error messages ----

func TestAMisspelledFieldGetsNoSuggestion(t *testing.T) {
	store := openStore(t)
	key := newTenant(t, store, "acme").key
	endpoint := newHTTPServer(t, store, nil, graph.DefaultLimits)

	e := mustRefuse(t, postQuery(t, endpoint, &key, `{ taks { totalRecords } }`), "GRAPHQL_VALIDATION_FAILED")

	if !strings.Contains(e.Message, "taks") {
		t.Errorf("message = %q, want it to name the unknown field taks", e.Message)
	}
	if strings.Contains(e.Message, "Did you mean") || strings.Contains(e.Message, `"tasks"`) {
		t.Errorf("message = %q, want no suggestion of the schema's fields", e.Message)
	}
}

func TestABodyThatIsNotJSONIsRefusedWithoutEchoingIt(t *testing.T) {
	const marker = "SECRET-MARKER-d41d8cd9"
	tests := []struct {
		name string
		body string
	}{
		{"an unterminated string", `{"query":"` + marker},
		{"an unterminated object", `{"query": "{ tasks { totalRecords } }", "x": "` + marker + `"`},
		{"a JSON array", `[{"query": "{ tasks { totalRecords } }", "x": "` + marker + `"}]`},
		{"a bare word", marker},
		{"a query that is not a string", `{"query": {"` + marker + `": 1}}`},
	}

	store := openStore(t)
	key := newTenant(t, store, "acme").key
	endpoint := newHTTPServer(t, store, nil, graph.DefaultLimits)
	for _, tc := range tests {
		t.Run(tc.name+" is refused and not echoed", func(t *testing.T) {
			r := send(t, newPost(t, endpoint, &key, strings.NewReader(tc.body)))
			if r.status != http.StatusBadRequest {
				t.Errorf("status = %d, want 400", r.status)
			}
			if len(r.errors) == 0 || r.hasData() {
				t.Errorf("errors %+v, data %s; want an error and no data", r.errors, r.data)
			}
			if strings.Contains(r.body, marker) || strings.Contains(r.body, "SECRET") {
				t.Errorf("the response echoes the body: %s", r.body)
			}
		})
	}
}

// As REST does, with a 400: a decoder that stopped at the first JSON value
// would run the query and ignore the rest.
func TestABodyWithDataAfterItsJSONObjectIsRefused(t *testing.T) {
	store := openStore(t)
	key := newTenant(t, store, "acme").key
	endpoint := newHTTPServer(t, store, nil, graph.DefaultLimits)

	r := send(t, newPost(t, endpoint, &key, strings.NewReader(`{"query": "{ tasks { totalRecords } }"} SECRET-MARKER`)))

	if r.status != http.StatusBadRequest {
		t.Errorf("status = %d, want 400", r.status)
	}
	if len(r.errors) == 0 || r.hasData() {
		t.Errorf("errors %+v, data %s; want an error and no data", r.errors, r.data)
	}
	if strings.Contains(r.body, "SECRET") {
		t.Errorf("the response echoes the body: %s", r.body)
	}
}

func TestAChunkedBodyOver1MiBIsRefusedWith413(t *testing.T) {
	store := openStore(t)
	key := newTenant(t, store, "acme").key
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	h := graph.NewHandler(graph.Options{Service: store, Guard: access.NewGuard(store, 0, log), Keeper: newKeeper(store, log),
		Limits: graph.DefaultLimits, Log: log})
	var chunked atomic.Bool
	endpoint := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		chunked.Store(len(r.TransferEncoding) > 0 && r.TransferEncoding[0] == "chunked")
		http.MaxBytesHandler(h, 1<<20).ServeHTTP(w, r)
	}))

	body := `{"query": "{ tasks { totalRecords } }", "variables": {"pad": "` + strings.Repeat("x", 1<<20) + `"}}`
	// A reader of unknown length, so the client sends the body chunked.
	req := newPost(t, endpoint, &key, io.MultiReader(strings.NewReader(body)))
	req.ContentLength = -1

	r := send(t, req)

	if !chunked.Load() {
		t.Errorf("the request was not chunked, so the test proves nothing about chunked bodies")
	}
	if r.status != http.StatusRequestEntityTooLarge {
		t.Errorf("status = %d, want 413", r.status)
	}
	mustRefuse(t, r, "PAYLOAD_TOO_LARGE")
}
