package playground_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"tasksapi/access"
	"tasksapi/db"
	"tasksapi/graph"
	"tasksapi/idempotency"
	"tasksapi/playground"
	"tasksapi/task"
)

// chromiumPath is Debian's Chromium, which install-chromium.sh installs.
const chromiumPath = "/usr/bin/chromium"

// TestPlaygroundRunsAQueryInARealBrowser opens the playground in headless
// Chromium, as a user would: it waits for GraphiQL to render, types the
// organisation's key into the two prefilled headers of the Headers editor,
// types a query, runs it, and reads the task's title in the result pane.
// Every request the page makes must go to the server itself: the page works
// offline.
func TestPlaygroundRunsAQueryInARealBrowser(t *testing.T) {
	ensureChromium(t)
	srv, key, title := newServer(t)

	// The browser lives at most a minute; the steps of the test, 30 s.
	browser := newBrowser(t, time.Minute)
	ctx, cancel := context.WithTimeout(browser, 30*time.Second)
	defer cancel()

	// Record what the page asks for and any error it throws, for the checks
	// and for the failure messages.
	var (
		mu         sync.Mutex
		requests   []string
		failed     []string
		exceptions []string
		browserLog []string
	)
	if err := chromedp.Listen(ctx, func(ev any) {
		mu.Lock()
		defer mu.Unlock()
		switch ev := ev.(type) {
		case *network.EventRequestWillBeSent:
			requests = append(requests, ev.Request.URL)
		case *network.EventLoadingFailed:
			failed = append(failed, fmt.Sprintf("%s %s (%s)", ev.Type, ev.ErrorText, ev.BlockedReason))
		case *cdplog.EventEntryAdded:
			// The browser's own messages, such as a script refused for its
			// integrity hash, or a 401 of the page's first schema query.
			browserLog = append(browserLog, fmt.Sprintf("%s %s: %s", ev.Entry.Level, ev.Entry.URL, ev.Entry.Text))
		case *runtime.EventExceptionThrown:
			d := ev.ExceptionDetails
			text := d.Text
			if d.Exception != nil && d.Exception.Description != "" {
				text += " " + d.Exception.Description
			}
			exceptions = append(exceptions, fmt.Sprintf("%s:%d: %s", d.URL, d.LineNumber+1, text))
		}
	}); err != nil {
		t.Fatalf("listening to the tab: %v", err)
	}
	report := func() string {
		mu.Lock()
		defer mu.Unlock()
		return fmt.Sprintf("\nrequests: %q\nfailed loads: %q\nuncaught exceptions: %q\nbrowser log: %q",
			requests, failed, exceptions, browserLog)
	}
	screenshot := func() {
		// Not ctx: the screenshot is most useful when a step ran out of time.
		sctx, scancel := context.WithTimeout(browser, 5*time.Second)
		defer scancel()
		png, err := chromedp.Run(sctx, chromedp.CaptureScreenshot())
		if err != nil {
			t.Logf("no screenshot: %v", err)
			return
		}
		saveArtifact(t, "playground.png", png)
	}
	step := func(what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		sctx, scancel := context.WithTimeout(ctx, 10*time.Second)
		defer scancel()
		if err := chromedp.Do(sctx, actions...); err != nil {
			screenshot()
			t.Fatalf("%s: %v%s", what, err, report())
		}
	}

	step("opening the playground and waiting for GraphiQL to render",
		chromedp.Navigate(srv.URL+"/"),
		chromedp.WaitVisible(chromedp.CSS(".graphiql-container .graphiql-query-editor .CodeMirror")),
	)

	// The Headers tab shows the two key headers, prefilled with empty values.
	step("opening the Headers editor",
		chromedp.Click(chromedp.Search(`//button[normalize-space(.)="Headers"]`)),
		chromedp.WaitVisible(chromedp.CSS(headersEditor)),
	)
	if got := editorValue(t, ctx, headersEditor); !strings.Contains(got, access.AccessKeyHeader) || !strings.Contains(got, access.SecretKeyHeader) {
		t.Errorf("the headers editor starts with %q, want both key headers in it", got)
	}
	headers := fmt.Sprintf(`{"%s": "%s", "%s": "%s"}`,
		access.AccessKeyHeader, key.AccessKey, access.SecretKeyHeader, key.SecretKey)
	step("typing the key headers", typeInto(headersEditor, headers)...)
	if got := editorValue(t, ctx, headersEditor); got != headers {
		t.Fatalf("after typing, the headers editor holds %q, want %q", got, headers)
	}

	const query = `{ tasks { totalRecords items { title } } }`
	step("typing the query", typeInto(queryEditor, query)...)
	if got := editorValue(t, ctx, queryEditor); got != query {
		t.Fatalf("after typing, the query editor holds %q, want %q", got, query)
	}

	// Run it as a user would, with the run button, and wait for the title to
	// show in the result pane.
	step("running the query and waiting for the task in the result pane",
		chromedp.Click(chromedp.CSS(".graphiql-execute-button")),
		chromedp.Poll[chromedp.Void](fmt.Sprintf(
			`document.querySelector(%q)?.innerText.includes(%q)`, responsePane, title)),
	)
	screenshot()

	// The pane holds exactly the server's answer.
	var res struct {
		Data struct {
			Tasks struct {
				TotalRecords int
				Items        []struct{ Title string }
			}
		}
		Errors []any
	}
	got := editorValue(t, ctx, responsePane+" .CodeMirror")
	if err := json.Unmarshal([]byte(got), &res); err != nil {
		t.Fatalf("the result pane holds %q, not JSON: %v", got, err)
	}
	if tk := res.Data.Tasks; len(res.Errors) != 0 || tk.TotalRecords != 1 || len(tk.Items) != 1 || tk.Items[0].Title != title {
		t.Errorf("the result pane holds %s, want the one task %q and no error", got, title)
	}

	// Offline: nothing but the server itself (and inline data: URLs).
	mu.Lock()
	requested, trouble := slices.Clone(requests), len(failed)+len(exceptions)
	mu.Unlock()
	for _, u := range requested {
		if !strings.HasPrefix(u, srv.URL+"/") && !strings.HasPrefix(u, "data:") {
			t.Errorf("the page requested %s, which is not on the server", u)
		}
	}
	for _, want := range []string{"/playground/graphiql-4.1.2/graphiql.min.js", "/playground/react-18.2.0/react.production.min.js"} {
		if !slices.Contains(requested, srv.URL+want) {
			t.Errorf("the page never loaded %s", want)
		}
	}
	if trouble > 0 {
		t.Errorf("the page had failed loads or uncaught exceptions:%s", strings.TrimPrefix(report(), "\n"))
	}
}

const (
	queryEditor = ".graphiql-query-editor .CodeMirror"
	// The Variables and Headers editors share a pane; the hidden one has the
	// class "hidden".
	headersEditor = ".graphiql-editor-tool .graphiql-editor:not(.hidden) .CodeMirror"
	responsePane  = ".graphiql-response"
)

// typeInto clicks into the CodeMirror editor sel, selects all its text
// (Ctrl+A), deletes it and types text, key by key. The editor closes
// brackets and quotes as they are typed and steps over a typed closing one,
// so text comes out as typed.
func typeInto(sel, text string) []chromedp.Action[chromedp.Void] {
	return []chromedp.Action[chromedp.Void]{
		chromedp.Click(chromedp.CSS(sel)),
		chromedp.KeyEvent("a", chromedp.KeyModifiers(chromedp.ModifierCtrl)),
		chromedp.KeyEvent(kb.Backspace),
		chromedp.KeyEvent(text),
	}
}

// editorValue is the text of the CodeMirror editor sel.
func editorValue(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[string](
		fmt.Sprintf(`document.querySelector(%q).CodeMirror.getValue()`, sel)))
	if err != nil {
		t.Fatalf("reading the editor %s: %v", sel, err)
	}
	return v
}

// newServer starts the playground and the real GraphQL endpoint over a
// fresh SQLite file holding one task of organisation Acme, and returns the
// server, Acme's key and the task's title.
func newServer(t *testing.T) (*httptest.Server, access.Credentials, string) {
	t.Helper()
	store, err := db.Open(filepath.Join(t.TempDir(), "tasks.db"))
	if err != nil {
		t.Fatalf("db.Open: %v", err)
	}
	t.Cleanup(func() {
		if err := store.Close(); err != nil {
			t.Errorf("closing the store: %v", err)
		}
	})
	ctx := context.Background()
	key, err := access.NewKey(ctx, store, "Acme", "test")
	if err != nil {
		t.Fatalf("access.NewKey: %v", err)
	}
	const title = "Call Sarah about the playground"
	contact := 10
	start, err := task.ParseDateTime("2026-07-15T10:00:00")
	if err != nil {
		t.Fatal(err)
	}
	orgCtx := access.WithPrincipal(ctx, access.Principal{
		OrganisationID: key.OrganisationID, KeyID: key.KeyID, AccessKey: key.AccessKey,
	})
	if _, err := store.CreateTask(orgCtx, task.CreateInput{Title: title, StartDatetime: start, ContactID: &contact}); err != nil {
		t.Fatalf("CreateTask: %v", err)
	}

	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	mux := http.NewServeMux()
	pg := playground.Handler("/query")
	mux.Handle("GET /{$}", pg)
	mux.Handle("GET /playground/", pg)
	mux.Handle("/query", graph.NewHandler(store, access.NewGuard(store, 0, log), idempotency.New(store, idempotency.DefaultTTL, log), graph.DefaultLimits, log))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv, key, title
}

// newBrowser starts headless Chromium with an empty profile of its own, and
// returns a context of one of its tabs. The browser ends with the test, or
// after limit.
func newBrowser(t *testing.T, limit time.Duration) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath),
		chromedp.NoSandbox, // CI runs as root
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 800),
	)
	lctx, lcancel := context.WithTimeout(context.Background(), limit)
	actx, acancel := chromedp.NewExecAllocator(lctx, opts...)
	ctx, cancel := chromedp.NewContext(actx)
	// Cleanups run last first: the browser ends before its profile's
	// directory is removed.
	t.Cleanup(func() { cancel(); acancel(); lcancel() })
	if err := chromedp.Do(ctx); err != nil { // starts it, bound to ctx rather than a step's context
		t.Fatalf("starting Chromium (%s): %v", chromiumPath, err)
	}
	return ctx
}

// saveArtifact writes b to the directory named by $TEST_ARTIFACTS (made if
// need be), or else to the test's temporary directory, and logs the path.
func saveArtifact(t *testing.T, name string, b []byte) {
	t.Helper()
	dir := os.Getenv("TEST_ARTIFACTS")
	if dir == "" {
		dir = t.TempDir()
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Errorf("making the artifacts directory: %v", err)
		return
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Errorf("saving %s: %v", name, err)
		return
	}
	t.Logf("screenshot: %s", path)
}

// ensureChromium installs Chromium with install-chromium.sh when it is
// missing and the test may (as root, with apt-get), so that the README's
// test command works on a fresh machine; elsewhere it says how.
func ensureChromium(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err == nil {
		return
	}
	if _, err := exec.LookPath("apt-get"); err != nil || os.Geteuid() != 0 {
		t.Fatalf("this test drives headless Chromium at %s, which is missing.\n"+
			"Install it (Debian, as root) with: bash playground/install-chromium.sh", chromiumPath)
	}
	t.Logf("installing Chromium from Debian: install-chromium.sh")
	if out, err := exec.Command("bash", "install-chromium.sh").CombinedOutput(); err != nil {
		t.Fatalf("install-chromium.sh: %v\n%s", err, out)
	}
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Fatalf("install-chromium.sh ran, but %s is still missing", chromiumPath)
	}
}
