package playground

import (
	"crypto/sha256"
	"encoding/base64"
	"html"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path"
	"strings"
	"testing"

	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/ast"
)

// TestAssetsMatchTheirHashes checks each hash the page gives the browser
// against the embedded file, so a file replaced without its hash (which the
// browser would refuse to run) fails here first, and that every embedded
// file but a licence is one the page loads.
func TestAssetsMatchTheirHashes(t *testing.T) {
	loaded := map[string]bool{}
	for _, a := range pageAssets {
		loaded[a.path] = true
		b, err := embedded.ReadFile("assets/" + a.path)
		if err != nil {
			t.Errorf("%s is not embedded: %v", a.path, err)
			continue
		}
		sum := sha256.Sum256(b)
		if got := "sha256-" + base64.StdEncoding.EncodeToString(sum[:]); got != a.sri {
			t.Errorf("%s hashes to %s, but the page says %s: run update.sh and copy its hashes", a.path, got, a.sri)
		}
	}
	err := fs.WalkDir(embedded, "assets", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		if name := strings.TrimPrefix(p, "assets/"); !loaded[name] && path.Base(name) != "LICENSE" {
			t.Errorf("assets/%s is embedded but the page never loads it", name)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// newMux mounts the handler as server.go does.
func newMux() http.Handler {
	mux := http.NewServeMux()
	pg := Handler("/query")
	mux.Handle("GET /{$}", pg)
	mux.Handle("GET /playground/", pg)
	return mux
}

func get(t *testing.T, h http.Handler, method, target string) *httptest.ResponseRecorder {
	t.Helper()
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(method, target, nil))
	return w
}

func TestThePageLoadsOnlyTheEmbeddedAssetsWithTheirHashes(t *testing.T) {
	w := get(t, newMux(), http.MethodGet, "/")
	if w.Code != http.StatusOK || !strings.HasPrefix(w.Header().Get("Content-Type"), "text/html") {
		t.Fatalf("GET / = %d %q, want 200 text/html", w.Code, w.Header().Get("Content-Type"))
	}
	page := html.UnescapeString(w.Body.String()) // html/template writes "+" as "&#43;"
	for _, a := range pageAssets {
		if !strings.Contains(page, `"`+a.url()+`" integrity="`+a.sri+`"`) {
			t.Errorf("the page does not load %s with integrity %s", a.url(), a.sri)
		}
	}
	// Nothing from elsewhere: no script or stylesheet by absolute URL.
	for _, bad := range []string{`src="http`, `href="http`, `src="//`, `href="//`, "jsdelivr"} {
		if strings.Contains(page, bad) {
			t.Errorf("the page has %q: it loads something from another host", bad)
		}
	}
	// The headers editor starts with the two key headers, empty (in a
	// JavaScript string).
	for _, h := range []string{"x-ysuite-access-key", "x-ysuite-secret-key"} {
		if !strings.Contains(page, `\"`+h+`\": \"\"`) {
			t.Errorf("the page does not prefill the header %s", h)
		}
	}
	if got := w.Header().Get("Cache-Control"); got != "no-cache" {
		t.Errorf("the page's Cache-Control = %q, want no-cache", got)
	}
}

func TestAssetsAreServedAsImmutable(t *testing.T) {
	h := newMux()
	for _, a := range pageAssets {
		w := get(t, h, http.MethodGet, a.url())
		want, _ := embedded.ReadFile("assets/" + a.path)
		if w.Code != http.StatusOK || w.Body.String() != string(want) {
			t.Errorf("GET %s = %d with %d bytes, want 200 with the %d bytes of the file", a.url(), w.Code, w.Body.Len(), len(want))
		}
		ctype := map[string]string{".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8"}[path.Ext(a.path)]
		if got := w.Header().Get("Content-Type"); got != ctype {
			t.Errorf("GET %s: Content-Type %q, want %q", a.url(), got, ctype)
		}
		if got := w.Header().Get("Cache-Control"); got != "public, max-age=31536000, immutable" {
			t.Errorf("GET %s: Cache-Control %q, want a year, immutable", a.url(), got)
		}
	}
	if w := get(t, h, http.MethodHead, graphiqlJS.url()); w.Code != http.StatusOK || w.Body.Len() != 0 {
		t.Errorf("HEAD %s = %d with %d bytes, want 200 and no body", graphiqlJS.url(), w.Code, w.Body.Len())
	}
}

func TestOtherPathsAndMethodsAreRefused(t *testing.T) {
	h := newMux()
	for _, tc := range []struct {
		method, target string
		want           int
	}{
		{http.MethodGet, "/playground/", http.StatusNotFound}, // no listing
		{http.MethodGet, "/playground/graphiql-4.1.2/", http.StatusNotFound},
		{http.MethodGet, "/playground/graphiql-4.1.2/missing.js", http.StatusNotFound},
		{http.MethodGet, "/elsewhere", http.StatusNotFound},
		{http.MethodPost, "/", http.StatusMethodNotAllowed},
		{http.MethodPost, graphiqlJS.url(), http.StatusMethodNotAllowed},
	} {
		if w := get(t, h, tc.method, tc.target); w.Code != tc.want {
			t.Errorf("%s %s = %d, want %d", tc.method, tc.target, w.Code, tc.want)
		}
	}
	// The handler alone, mounted elsewhere, refuses the same way.
	if w := get(t, Handler("/query"), http.MethodPut, "/"); w.Code != http.StatusMethodNotAllowed || w.Header().Get("Allow") != "GET, HEAD" {
		t.Errorf("PUT / = %d Allow %q, want 405 Allow GET, HEAD", w.Code, w.Header().Get("Allow"))
	}
	if w := get(t, Handler("/query"), http.MethodGet, "/elsewhere"); w.Code != http.StatusNotFound {
		t.Errorf("GET /elsewhere = %d, want 404", w.Code)
	}
}

// TestTheExampleIsValidAgainstTheSchema holds the editor's first content to
// the schema the server serves, so that every operation in it runs as it is.
func TestTheExampleIsValidAgainstTheSchema(t *testing.T) {
	sdl, err := os.ReadFile("../schema.graphqls")
	if err != nil {
		t.Fatal(err)
	}
	schema, gerr := gqlparser.LoadSchema(&ast.Source{Name: "schema.graphqls", Input: string(sdl)})
	if gerr != nil {
		t.Fatalf("loading the schema: %v", gerr)
	}
	doc, errs := gqlparser.LoadQuery(schema, example)
	if len(errs) > 0 {
		t.Fatalf("example.graphql does not validate against the schema: %v", errs)
	}
	kinds := map[ast.Operation]int{}
	for _, op := range doc.Operations {
		kinds[op.Operation]++
	}
	if kinds[ast.Query] == 0 || kinds[ast.Mutation] == 0 || kinds[ast.Subscription] == 0 {
		t.Errorf("the example has %v operations of each kind, want a query, a mutation and a subscription at least", kinds)
	}
	for _, h := range []string{"x-ysuite-access-key", "x-ysuite-secret-key", "Headers"} {
		if !strings.Contains(example, h) {
			t.Errorf("the example never mentions %q: it should say where the key goes", h)
		}
	}
}
