package graph_test

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
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

func quoteJSON(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
