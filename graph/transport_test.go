package graph_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"tasksapi/access"
	"tasksapi/graph"
)

// The GraphQL-over-HTTP specification's statuses and media types: under
// application/json (the default) a well-formed request is a 200 whatever
// its GraphQL errors; under application/graphql-response+json a request
// error, where the operation never ran, is a 400. Either way a request
// error's body has no data entry.

const (
	mediaJSON     = "application/json"
	mediaResponse = "application/graphql-response+json"
)

// exchange is one HTTP request to the GraphQL endpoint and its response,
// the body decoded into its top-level entries.
type exchange struct {
	status  int
	header  http.Header
	raw     string
	entries map[string]json.RawMessage
}

// errorCode is extensions.code of the first error, "" if there is none.
func (e exchange) errorCode(t *testing.T) string {
	t.Helper()
	var errs []gqlError
	if raw, ok := e.entries["errors"]; ok {
		if err := json.Unmarshal(raw, &errs); err != nil {
			t.Fatalf("errors %s: %v", raw, err)
		}
	}
	if len(errs) == 0 {
		return ""
	}
	return errs[0].Extensions.Code
}

// request sends method to endpoint with the given query string, body,
// Content-Type and Accept ("" sends none), and the key's headers unless key
// is nil.
func request(t *testing.T, method, endpoint, rawQuery, contentType, accept, body string, key *access.Credentials) exchange {
	t.Helper()
	u := endpoint
	if rawQuery != "" {
		u += "?" + rawQuery
	}
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, u, rd)
	if err != nil {
		t.Fatalf("building the request: %v", err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	if key != nil {
		req.Header.Set(access.AccessKeyHeader, key.AccessKey)
		req.Header.Set(access.SecretKeyHeader, key.SecretKey)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, u, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("reading the body: %v", err)
	}
	ex := exchange{status: resp.StatusCode, header: resp.Header, raw: string(raw)}
	if err := json.Unmarshal(raw, &ex.entries); err != nil {
		t.Fatalf("%s %s: status %d, the body %.300q is not a JSON object: %v", method, u, resp.StatusCode, raw, err)
	}
	return ex
}

// postJSON returns a POST body of query and variables.
func postJSON(t *testing.T, query string, variables map[string]any) string {
	t.Helper()
	b, err := json.Marshal(map[string]any{"query": query, "variables": variables})
	if err != nil {
		t.Fatalf("encoding the body: %v", err)
	}
	return string(b)
}

func TestTheResponseMediaTypeIsNegotiatedFromAccept(t *testing.T) {
	store := openStore(t)
	key := newTenant(t, store, "acme").key
	endpoint := newHTTPServer(t, store, nil, graph.DefaultLimits)
	body := postJSON(t, `{ __typename }`, nil)

	tests := []struct {
		accept string
		want   string
	}{
		{"", mediaJSON},
		{"application/json", mediaJSON},
		{"*/*", mediaJSON},
		{"application/*", mediaJSON},
		{"application/graphql-response+json", mediaResponse},
		{"application/graphql-response+json, application/json;q=0.9", mediaResponse},
		{"application/json, application/graphql-response+json", mediaJSON},
		{"application/graphql-response+json, application/json", mediaResponse},
		{"application/json;q=0.5, application/graphql-response+json", mediaResponse},
		{"application/graphql-response+json, */*", mediaResponse},
		{"text/html, application/xhtml+xml, */*;q=0.8", mediaJSON},
		{"application/graphql-response+json;q=0, */*", mediaJSON},
		{"text/html", mediaJSON}, // accepts neither: disregarded
	}
	for _, tc := range tests {
		t.Run("Accept "+tc.accept, func(t *testing.T) {
			ex := request(t, http.MethodPost, endpoint, "", mediaJSON, tc.accept, body, &key)
			if ex.status != http.StatusOK {
				t.Errorf("status %d (%s), want 200", ex.status, ex.raw)
			}
			if got := ex.header.Get("Content-Type"); got != tc.want {
				t.Errorf("Content-Type = %q, want %q", got, tc.want)
			}
			if _, ok := ex.entries["errors"]; ok {
				t.Errorf("errors in %s, want none", ex.raw)
			}
		})
	}
}

func TestStatusesAndBodiesFollowTheGraphQLOverHTTPSpecification(t *testing.T) {
	store := openStore(t)
	key := newTenant(t, store, "acme").key
	endpoint := newHTTPServer(t, store, nil, graph.Limits{MaxComplexity: 2500, MaxDepth: 3})

	type want struct {
		jsonStatus     int // under application/json, and with no Accept
		responseStatus int // under application/graphql-response+json
		code           string
		data           bool // a data entry is present
	}
	ran := want{http.StatusOK, http.StatusOK, "", true}
	requestError := func(code string) want {
		return want{http.StatusOK, http.StatusBadRequest, code, false}
	}
	malformed := want{http.StatusBadRequest, http.StatusBadRequest, "BAD_REQUEST", false}

	tests := []struct {
		name        string
		method      string
		rawQuery    string
		contentType string
		body        string
		want        want
	}{
		{"a query by POST runs", "POST", "", mediaJSON, postJSON(t, `{ tasks { totalRecords } }`, nil), ran},
		{"a query by GET runs", "GET", "query=" + url.QueryEscape(`{ tasks { totalRecords } }`), "", "", ran},
		{"a query by GET with variables runs", "GET",
			"query=" + url.QueryEscape(`query($n: Int) { tasks(pageSize: $n) { pageSize } }`) +
				"&variables=" + url.QueryEscape(`{"n": 5}`), "", "", ran},
		{"a mutation by POST runs", "POST", "", mediaJSON,
			postJSON(t, `mutation { createTask(input: {title: "by POST", startDatetime: "2026-01-01T10:00:00", dealId: 1}) { id } }`, nil), ran},
		{"a field error is a response that ran, with data", "POST", "", mediaJSON,
			postJSON(t, `{ task(id: "abc") { id } }`, nil), want{http.StatusOK, http.StatusOK, "BAD_USER_INPUT", true}},

		{"a document that does not parse is a request error", "POST", "", mediaJSON,
			postJSON(t, `{`, nil), requestError("GRAPHQL_PARSE_FAILED")},
		{"a document that does not parse by GET is a request error", "GET",
			"query=" + url.QueryEscape(`{ tasks {`), "", "", requestError("GRAPHQL_PARSE_FAILED")},
		{"an unknown field is a request error", "POST", "", mediaJSON,
			postJSON(t, `{ taks { totalRecords } }`, nil), requestError("GRAPHQL_VALIDATION_FAILED")},
		{"an unknown field by GET is a request error", "GET",
			"query=" + url.QueryEscape(`{ taks { totalRecords } }`), "", "", requestError("GRAPHQL_VALIDATION_FAILED")},
		{"an unknown operationName is a request error", "POST", "", mediaJSON,
			`{"query": "query A { __typename }", "operationName": "B"}`, requestError("GRAPHQL_VALIDATION_FAILED")},
		{"a null for a non-null variable is a request error", "POST", "", mediaJSON,
			postJSON(t, `query($id: ID!) { task(id: $id) { id } }`, map[string]any{"id": nil}), requestError("GRAPHQL_VALIDATION_FAILED")},
		{"a string for an Int variable is a request error", "POST", "", mediaJSON,
			postJSON(t, `query($n: Int) { tasks(pageSize: $n) { pageSize } }`, map[string]any{"n": "ten"}), requestError("GRAPHQL_VALIDATION_FAILED")},
		{"a variable that does not coerce by GET is a request error", "GET",
			"query=" + url.QueryEscape(`query($n: Int) { tasks(pageSize: $n) { pageSize } }`) +
				"&variables=" + url.QueryEscape(`{"n": 1.5}`), "", "", requestError("GRAPHQL_VALIDATION_FAILED")},
		{"a query over the depth limit is a request error", "POST", "", mediaJSON,
			postJSON(t, `{ __schema { queryType { fields { name } } } }`, nil), requestError("QUERY_TOO_DEEP")},
		{"a query over the size limit is a request error", "POST", "", mediaJSON,
			postJSON(t, "{ "+strings.Repeat("__typename ", 4000)+"}", nil), requestError("QUERY_TOO_LARGE")},
		{"a persisted query the server does not have is a request error", "POST", "", mediaJSON,
			`{"extensions": {"persistedQuery": {"version": 1, "sha256Hash": "` + strings.Repeat("ab", 32) + `"}}}`,
			requestError("PERSISTED_QUERY_NOT_FOUND")},

		{"a body that is not JSON is malformed", "POST", "", mediaJSON, `{ "not a JSON`, malformed},
		{"an empty body is malformed", "POST", "", mediaJSON, "", malformed},
		{"a body that is a JSON array is malformed", "POST", "", mediaJSON, `[{"query": "{ __typename }"}]`, malformed},
		{"a body without a query is malformed", "POST", "", mediaJSON, `{"qeury": "{ __typename }"}`, malformed},
		{"an empty query is malformed", "POST", "", mediaJSON, `{"query": ""}`, malformed},
		{"a query that is not a string is malformed", "POST", "", mediaJSON, `{"query": {"a": 1}}`, malformed},
		{"an operationName that is not a string is malformed", "POST", "", mediaJSON,
			`{"query": "{ __typename }", "operationName": 1}`, malformed},
		{"variables that are not an object are malformed", "POST", "", mediaJSON,
			`{"query": "{ __typename }", "variables": "{}"}`, malformed},
		{"extensions that are not an object are malformed", "POST", "", mediaJSON,
			`{"query": "{ __typename }", "extensions": [1]}`, malformed},
		{"a GET without a query is malformed", "GET", "", "", "", malformed},
		{"a GET whose variables are not a JSON object is malformed", "GET",
			"query=" + url.QueryEscape(`{ __typename }`) + "&variables=" + url.QueryEscape(`[1]`), "", "", malformed},
		{"a GET whose variables are not JSON is malformed", "GET",
			"query=" + url.QueryEscape(`{ __typename }`) + "&variables=" + url.QueryEscape(`{n:1}`), "", "", malformed},

		{"a POST without a Content-Type is refused", "POST", "", "", postJSON(t, `{ __typename }`, nil),
			want{http.StatusUnsupportedMediaType, http.StatusUnsupportedMediaType, "UNSUPPORTED_MEDIA_TYPE", false}},
		{"a POST of text/plain is refused", "POST", "", "text/plain", postJSON(t, `{ __typename }`, nil),
			want{http.StatusUnsupportedMediaType, http.StatusUnsupportedMediaType, "UNSUPPORTED_MEDIA_TYPE", false}},
		{"a PUT is refused", "PUT", "", mediaJSON, postJSON(t, `{ __typename }`, nil),
			want{http.StatusMethodNotAllowed, http.StatusMethodNotAllowed, "METHOD_NOT_ALLOWED", false}},
		// The method and the media type are judged before a body is read.
		{"a PUT is refused whatever its body", "PUT", "", mediaJSON, `{not json`,
			want{http.StatusMethodNotAllowed, http.StatusMethodNotAllowed, "METHOD_NOT_ALLOWED", false}},
		{"a POST of text/plain is refused whatever its body", "POST", "", "text/plain", `{not json`,
			want{http.StatusUnsupportedMediaType, http.StatusUnsupportedMediaType, "UNSUPPORTED_MEDIA_TYPE", false}},
		{"a GET runs from its URL, whatever body it carries", "GET",
			"query=" + url.QueryEscape(`{ tasks { totalRecords } }`), "", `{not json`, ran},
	}
	for _, tc := range tests {
		for _, accept := range []string{"", mediaJSON, mediaResponse} {
			name := tc.name + ", Accept " + accept
			if accept == "" {
				name = tc.name + ", no Accept"
			}
			t.Run(name, func(t *testing.T) {
				wantMedia, wantStatus := mediaJSON, tc.want.jsonStatus
				if accept == mediaResponse {
					wantMedia, wantStatus = mediaResponse, tc.want.responseStatus
				}
				ex := request(t, tc.method, endpoint, tc.rawQuery, tc.contentType, accept, tc.body, &key)

				if ex.status != wantStatus {
					t.Errorf("status %d, want %d (body %.300s)", ex.status, wantStatus, ex.raw)
				}
				if got := ex.header.Get("Content-Type"); got != wantMedia {
					t.Errorf("Content-Type = %q, want %q", got, wantMedia)
				}
				data, hasData := ex.entries["data"]
				if hasData != tc.want.data {
					t.Errorf("data entry present: %v, want %v (body %.300s)", hasData, tc.want.data, ex.raw)
				}
				if hasData && string(data) == "null" {
					t.Errorf("data is null, want the operation's data (body %.300s)", ex.raw)
				}
				if got := ex.errorCode(t); got != tc.want.code {
					t.Errorf("extensions.code of the first error = %q, want %q (body %.300s)", got, tc.want.code, ex.raw)
				}
				if tc.method == "PUT" && ex.header.Get("Allow") != "GET, POST" {
					t.Errorf("Allow = %q, want %q", ex.header.Get("Allow"), "GET, POST")
				}
			})
		}
	}
}

func TestAMutationByGETIsA405AndNeverRuns(t *testing.T) {
	store := openStore(t)
	key := newTenant(t, store, "acme").key
	endpoint := newHTTPServer(t, store, nil, graph.DefaultLimits)
	mutation := `mutation { createTask(input: {title: "by GET", startDatetime: "2026-01-01T10:00:00", dealId: 1}) { id } }`

	for _, accept := range []string{"", mediaJSON, "*/*", mediaResponse} {
		t.Run("Accept "+accept, func(t *testing.T) {
			wantMedia := mediaJSON
			if accept == mediaResponse {
				wantMedia = mediaResponse
			}
			ex := request(t, http.MethodGet, endpoint, "query="+url.QueryEscape(mutation), "", accept, "", &key)

			if ex.status != http.StatusMethodNotAllowed {
				t.Errorf("status %d, want 405 (body %.300s)", ex.status, ex.raw)
			}
			if got := ex.header.Get("Allow"); got != "POST" {
				t.Errorf("Allow = %q, want POST", got)
			}
			if got := ex.header.Get("Content-Type"); got != wantMedia {
				t.Errorf("Content-Type = %q, want %q", got, wantMedia)
			}
			if _, ok := ex.entries["data"]; ok {
				t.Errorf("the body %s has a data entry, want none", ex.raw)
			}
			if got := ex.errorCode(t); got != "METHOD_NOT_ALLOWED" {
				t.Errorf("extensions.code = %q, want METHOD_NOT_ALLOWED", got)
			}
		})
	}
	// Also when the mutation is picked by operationName from a document
	// that holds a query too.
	doc := `query Q { tasks { totalRecords } } ` + strings.Replace(mutation, "mutation", "mutation M", 1)
	ex := request(t, http.MethodGet, endpoint, "query="+url.QueryEscape(doc)+"&operationName=M", "", "", "", &key)
	if ex.status != http.StatusMethodNotAllowed {
		t.Errorf("a mutation named by operationName: status %d, want 405 (body %.300s)", ex.status, ex.raw)
	}
	ex = request(t, http.MethodGet, endpoint, "query="+url.QueryEscape(doc)+"&operationName=Q", "", "", "", &key)
	if ex.status != http.StatusOK || !strings.Contains(ex.raw, `"totalRecords":0`) {
		t.Errorf("the query of the same document: status %d, body %.300s; want 200 with totalRecords 0, no task created", ex.status, ex.raw)
	}
}

func TestRefusalsBeforeGraphQLKeepTheirStatusesUnderEitherMediaType(t *testing.T) {
	store := openStore(t)
	key := newTenant(t, store, "acme").key
	endpoint := newHTTPServer(t, store, nil, graph.DefaultLimits)
	body := postJSON(t, `{ tasks { totalRecords } }`, nil)

	for _, accept := range []string{"", mediaJSON, mediaResponse} {
		wantMedia := mediaJSON
		if accept == mediaResponse {
			wantMedia = mediaResponse
		}
		t.Run("no key, Accept "+accept, func(t *testing.T) {
			ex := request(t, http.MethodPost, endpoint, "", mediaJSON, accept, body, nil)
			if ex.status != http.StatusUnauthorized {
				t.Errorf("status %d, want 401", ex.status)
			}
			if got := ex.header.Get("Content-Type"); got != wantMedia {
				t.Errorf("Content-Type = %q, want %q", got, wantMedia)
			}
			if _, ok := ex.entries["data"]; ok {
				t.Errorf("the body %s has a data entry, want none", ex.raw)
			}
			if got := ex.errorCode(t); got != "UNAUTHENTICATED" {
				t.Errorf("extensions.code = %q, want UNAUTHENTICATED", got)
			}
		})
		t.Run("data after the JSON object, Accept "+accept, func(t *testing.T) {
			ex := request(t, http.MethodPost, endpoint, "", mediaJSON, accept, body+" SECRET", &key)
			if ex.status != http.StatusBadRequest {
				t.Errorf("status %d, want 400", ex.status)
			}
			if got := ex.header.Get("Content-Type"); got != wantMedia {
				t.Errorf("Content-Type = %q, want %q", got, wantMedia)
			}
			if _, ok := ex.entries["data"]; ok || strings.Contains(ex.raw, "SECRET") {
				t.Errorf("the body %s has a data entry or echoes the request", ex.raw)
			}
		})
	}
}
