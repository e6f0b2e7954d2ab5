package graph_test

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// TestPersistedQueriesFollowTheAPQProtocol: a hash the server has not seen
// asks for the query; sent once with its query, the hash alone then runs it.
func TestPersistedQueriesFollowTheAPQProtocol(t *testing.T) {
	tn, h, _ := newServer(t)
	query := `{ tasks { totalRecords } }`
	sum := sha256.Sum256([]byte(query))
	ext := `"extensions":{"persistedQuery":{"version":1,"sha256Hash":"` + hex.EncodeToString(sum[:]) + `"}}`
	post := func(body string) (int, string) {
		req := httptest.NewRequest(http.MethodPost, "/query", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		for _, kv := range [][2]string{{"x-ysuite-access-key", tn.key.AccessKey}, {"x-ysuite-secret-key", tn.key.SecretKey}} {
			req.Header.Set(kv[0], kv[1])
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec.Code, rec.Body.String()
	}
	steps := []struct {
		name, body, want string
	}{
		{"an unknown hash asks for the query", `{` + ext + `}`, "PersistedQueryNotFound"},
		{"the query with its hash runs and is kept", `{"query":` + quoteJSON(query) + `,` + ext + `}`, `"totalRecords":0`},
		{"the hash alone then runs the query", `{` + ext + `}`, `"totalRecords":0`},
		{"a query that does not match its hash is refused", `{"query":"{ tasks { totalPages } }",` + ext + `}`, "provided APQ hash does not match query"},
	}
	for _, step := range steps {
		t.Run(step.name, func(t *testing.T) {
			if _, body := post(step.body); !strings.Contains(body, step.want) {
				t.Errorf("got %s, want it to contain %s", body, step.want)
			}
		})
	}
}

// TestPersistedQueriesRunByGET: the same protocol over GET, where a hash
// alone makes a short URL a cache in front of the server can hold.
func TestPersistedQueriesRunByGET(t *testing.T) {
	tn, h, _ := newServer(t)
	query := `{ tasks { totalPages } }`
	sum := sha256.Sum256([]byte(query))
	ext := `{"persistedQuery":{"version":1,"sha256Hash":"` + hex.EncodeToString(sum[:]) + `"}}`
	get := func(params url.Values) (int, string) {
		req := httptest.NewRequest(http.MethodGet, "/query?"+params.Encode(), nil)
		req.Header.Set("x-ysuite-access-key", tn.key.AccessKey)
		req.Header.Set("x-ysuite-secret-key", tn.key.SecretKey)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec.Code, rec.Body.String()
	}
	steps := []struct {
		name   string
		params url.Values
		want   string
	}{
		{"an unknown hash asks for the query", url.Values{"extensions": {ext}}, "PersistedQueryNotFound"},
		{"the query with its hash runs and is kept", url.Values{"query": {query}, "extensions": {ext}}, `"totalPages":0`},
		{"the hash alone then runs the query", url.Values{"extensions": {ext}}, `"totalPages":0`},
	}
	for _, step := range steps {
		t.Run(step.name, func(t *testing.T) {
			code, body := get(step.params)
			if code != http.StatusOK || !strings.Contains(body, step.want) {
				t.Errorf("got %d %s, want 200 and a body containing %s", code, body, step.want)
			}
		})
	}
}

func quoteJSON(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
