package main

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
)

func TestOpenRoutesNeedNoKey(t *testing.T) {
	srv := startServer(t, filepath.Join(t.TempDir(), "tasks.db"))
	tests := []struct {
		name, method, path string
		header             []string
		status             int
	}{
		{"the playground needs no key", "GET", "/", nil, http.StatusOK},
		{"the health check needs no key", "GET", "/healthz", nil, http.StatusOK},
		{"a CORS preflight needs no key", "OPTIONS", "/v1/tasks",
			[]string{"Origin", "https://app.example", "Access-Control-Request-Method", "POST"}, http.StatusNoContent},
		{"a GraphQL preflight needs no key", "OPTIONS", "/query",
			[]string{"Origin", "https://app.example", "Access-Control-Request-Method", "POST"}, http.StatusNoContent},
		{"the REST API needs a key", "GET", "/v1/tasks", nil, http.StatusUnauthorized},
		{"GraphQL needs a key", "GET", "/query?query=%7Btasks%7BtotalRecords%7D%7D", nil, http.StatusUnauthorized},
		{"GraphQL introspection needs no key", "GET", "/query?query=%7B__typename%7D", nil, http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if res, body := do(t, tt.method, srv.URL+tt.path, "", "", tt.header...); res.StatusCode != tt.status {
				t.Errorf("got %d %.100s, want %d", res.StatusCode, body, tt.status)
			}
		})
	}
	t.Run("the playground offers the key headers", func(t *testing.T) {
		_, body := do(t, "GET", srv.URL+"/", "", "")
		for _, h := range []string{"x-ysuite-access-key", "x-ysuite-secret-key"} {
			if !strings.Contains(string(body), h) {
				t.Errorf("the playground page does not prefill %s", h)
			}
		}
	})
}

func TestOversizedBodiesAre413OnEveryRoute(t *testing.T) {
	srv := startServer(t, filepath.Join(t.TempDir(), "tasks.db"))
	big := `{"query":"` + strings.Repeat("a", 1<<20) + `"}`
	for _, path := range []string{"/v1/tasks", "/query", "/graphql", "/", "/nowhere", "/v1/tasks/1"} {
		for _, chunked := range []bool{false, true} {
			name := path + " with a declared length"
			if chunked {
				name = path + " sent in chunks"
			}
			t.Run(name, func(t *testing.T) {
				var body io.Reader = strings.NewReader(big)
				if chunked {
					body = io.MultiReader(body) // hides the length: sent chunked
				}
				req, err := http.NewRequest(http.MethodPost, srv.URL+path, body)
				if err != nil {
					t.Fatal(err)
				}
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("x-ysuite-access-key", srv.creds.AccessKey)
				req.Header.Set("x-ysuite-secret-key", srv.creds.SecretKey)
				res, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				defer res.Body.Close()
				raw, _ := io.ReadAll(res.Body)
				if chunked && (path == "/" || path == "/nowhere" || path == "/v1/tasks/1") {
					// Routes that take no body never read it, so never learn its size.
					if res.StatusCode != http.StatusMethodNotAllowed && res.StatusCode != http.StatusNotFound {
						t.Errorf("got %d, want the route's 404 or 405", res.StatusCode)
					}
					return
				}
				if res.StatusCode != http.StatusRequestEntityTooLarge || !json.Valid(raw) || bytes.Contains(raw, []byte("aaaa")) {
					t.Errorf("got %d %.100s, want a JSON 413 that does not echo the body", res.StatusCode, raw)
				}
			})
		}
	}
	if res, _ := do(t, "GET", srv.URL+"/v1/tasks", "", "", auth(srv.creds)...); res.StatusCode != http.StatusOK {
		t.Errorf("the server stopped serving: %d", res.StatusCode)
	}
}

func TestAPanicIsALogged500(t *testing.T) {
	var logged bytes.Buffer
	h := recoverPanics(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		panic("nil map in handler")
	}), slog.New(slog.NewTextHandler(&logged, nil)))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/v1/tasks", nil))
	var env struct {
		Success bool
		Message string
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &env); err != nil || rec.Code != http.StatusInternalServerError ||
		env.Success || env.Message != "Internal server error" {
		t.Errorf("got %d %s, want the 500 envelope", rec.Code, rec.Body)
	}
	if strings.Contains(rec.Body.String(), "nil map") || !strings.Contains(logged.String(), "nil map in handler") {
		t.Errorf("the panic should be logged, not answered: body %s, log %s", rec.Body, logged.String())
	}
}
