package playground_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
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
	"tasksapi/internal/serverbin"
)

// chromiumPath is Debian's Chromium, which install-chromium.sh installs.
const chromiumPath = "/usr/bin/chromium"

func TestMain(m *testing.M) {
	code := m.Run()
	serverbin.Remove()
	os.Exit(code)
}

// TestPlaygroundRunsAQueryInARealBrowser opens the playground in headless
// Chromium, as a user would: it waits for GraphiQL to render, types the
// organisation's key into the two prefilled headers of the Headers editor,
// types a query, runs it, and reads the task's title in the result pane.
// Every request the page makes must go to the server itself: the page works
// offline.
func TestPlaygroundRunsAQueryInARealBrowser(t *testing.T) {
	srv := startServer(t)
	const title = "Call Sarah about the playground"
	srv.createTask(t, title)
	p := openPlayground(t, srv, "playground.png")

	p.enterKey()

	const query = `{ tasks { totalRecords items { title } } }`
	p.step("typing the query", append(typeInto(queryEditor, query), oneOperation)...)
	if got := p.editorValue(queryEditor); got != query {
		t.Fatalf("after typing, the query editor holds %q, want %q", got, query)
	}

	// Run it as a user would, with the run button, and wait for the title to
	// show in the result pane.
	p.step("running the query and waiting for the task in the result pane",
		chromedp.Click(chromedp.CSS(runButton)),
		chromedp.Poll[chromedp.Void](fmt.Sprintf(
			`document.querySelector(%q)?.innerText.includes(%q)`, responsePane, title)),
	)
	p.screenshot()

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
	got := p.editorValue(responseEditor)
	if err := json.Unmarshal([]byte(got), &res); err != nil {
		t.Fatalf("the result pane holds %q, not JSON: %v", got, err)
	}
	if tk := res.Data.Tasks; len(res.Errors) != 0 || tk.TotalRecords != 1 || len(tk.Items) != 1 || tk.Items[0].Title != title {
		t.Errorf("the result pane holds %s, want the one task %q and no error", got, title)
	}

	p.checkOfflineAndQuiet()
	requested := p.requested()
	for _, want := range []string{
		"/playground/graphiql-4.1.2/graphiql.min.js", "/playground/react-18.2.0/react.production.min.js",
		"/playground/plugin-explorer-4.0.6/index.umd.js", "/playground/graphql-ws-6.4.2/graphql-ws.min.js",
	} {
		if !slices.Contains(requested, srv.URL+want) {
			t.Errorf("the page never loaded %s", want)
		}
	}
}

// TestPlaygroundOpensWithTheExampleAndTheExplorer opens the playground for
// the first time: the editor holds example.graphql, not GraphiQL's generic
// welcome, and the explorer is open beside it, listing the schema's fields
// without a key.
func TestPlaygroundOpensWithTheExampleAndTheExplorer(t *testing.T) {
	example, err := os.ReadFile("example.graphql")
	if err != nil {
		t.Fatal(err)
	}
	srv := startServer(t)
	p := openPlayground(t, srv, "playground-first-visit.png")

	if got := p.editorValue(queryEditor); got != string(example) {
		t.Errorf("the editor opens with\n%s\nwant example.graphql:\n%s", got, example)
	}
	// The explorer builds queries from the schema: it lists Query's fields
	// once the schema has been read.
	p.step("waiting for the explorer to list the schema's fields",
		chromedp.WaitVisible(chromedp.CSS(explorerPane)),
		chromedp.Poll[chromedp.Void](fmt.Sprintf(
			`document.querySelector(%q)?.innerText.includes("tasksConnection")`, explorerPane)),
	)
	p.screenshot()
	if got := p.editorValue(headersEditor); !strings.Contains(got, `"`+access.AccessKeyHeader+`": ""`) || !strings.Contains(got, `"`+access.SecretKeyHeader+`": ""`) {
		t.Errorf("the headers editor starts with %q, want both key headers in it, empty", got)
	}
	p.checkOfflineAndQuiet()
}

// TestPlaygroundKeepsTheUsersQueryAndKeyOverAReload enters a key and a
// query of the user's own and reloads the page: both are still there, in
// the one tab, and the example does not come back.
func TestPlaygroundKeepsTheUsersQueryAndKeyOverAReload(t *testing.T) {
	srv := startServer(t)
	p := openPlayground(t, srv, "playground-reloaded.png")

	p.enterKey()
	headers := p.editorValue(headersEditor)
	const query = `{ tasks { totalRecords } }`
	p.step("typing the query", append(typeInto(queryEditor, query), oneOperation)...)
	// GraphiQL stores the tabs a moment after each change.
	p.step("reloading the page once GraphiQL has stored the query",
		chromedp.Poll[chromedp.Void](fmt.Sprintf(
			`(localStorage.getItem("graphiql:tabState") || "").includes(%q)`, query)),
		chromedp.Reload(),
		chromedp.WaitVisible(chromedp.CSS(queryEditor)),
	)
	p.screenshot()
	if got := p.editorValue(queryEditor); got != query {
		t.Errorf("after a reload the editor holds %q, want the user's %q", got, query)
	}
	p.step("opening the Headers editor",
		chromedp.Click(chromedp.Search(`//button[normalize-space(.)="Headers"]`)),
		chromedp.WaitVisible(chromedp.CSS(headersEditor)),
	)
	if got := p.editorValue(headersEditor); got != headers {
		t.Errorf("after a reload the headers editor holds %q, want the key entered, %q", got, headers)
	}
	if tabs := p.text(".graphiql-tabs"); strings.Count(tabs, "<untitled>") != 1 {
		t.Errorf("after a reload the tabs are %q, want the user's one tab", tabs)
	}
	p.checkOfflineAndQuiet()
}

// TestPlaygroundDocumentsTheSchemaBeforeAKeyIsEntered opens the playground
// without entering a key: the schema is read all the same, so the docs pane
// lists the schema's types, and the page shows no error.
func TestPlaygroundDocumentsTheSchemaBeforeAKeyIsEntered(t *testing.T) {
	srv := startServer(t)
	p := openPlayground(t, srv, "playground-docs.png")

	p.step("opening the docs and waiting for the schema's types",
		chromedp.Click(chromedp.CSS(`button[aria-label="Show Documentation Explorer"]`)),
		chromedp.WaitVisible(chromedp.CSS(docsPane)),
		chromedp.Poll[chromedp.Void](fmt.Sprintf(
			`document.querySelector(%q)?.innerText.includes("TaskChange")`, docsPane)),
	)
	p.screenshot()
	docs := p.text(docsPane)
	for _, name := range []string{"Query", "Mutation", "Subscription", "Task", "TaskChange", "TaskPage"} {
		if !regexp.MustCompile(`\b` + name + `\b`).MatchString(docs) {
			t.Errorf("the docs pane does not list the type %s; it holds:\n%s", name, docs)
		}
	}
	if got := p.editorValue(responseEditor); got != "" {
		t.Errorf("before anything is run, the result pane holds %q, want it empty", got)
	}
	// A refused schema query would show in the browser's log as a failed
	// request to the endpoint.
	for _, line := range p.logged() {
		if strings.Contains(line, "/query") {
			t.Errorf("the browser logged %q", line)
		}
	}
	p.checkOfflineAndQuiet()
}

// TestPlaygroundFollowsTaskChangesThroughASubscription runs the example's
// subscription in the playground. Run before the key is entered, it is
// refused at once; with the key entered and run again, it stays open, a
// task created through REST shows up in the result pane as it is created,
// and stopping it ends it on the server.
func TestPlaygroundFollowsTaskChangesThroughASubscription(t *testing.T) {
	srv := startServer(t)
	p := openPlayground(t, srv, "playground-subscription.png")

	const subscription = `subscription { taskChanged { seq type taskId changedFields task { id title status version } } }`
	p.step("typing the subscription", append(typeInto(queryEditor, subscription), oneOperation)...)
	if got := p.editorValue(queryEditor); got != subscription {
		t.Fatalf("after typing, the query editor holds %q, want %q", got, subscription)
	}

	// Without a key the server closes the socket with 4403; the page says
	// so rather than trying again.
	p.step("running the subscription without a key and waiting for the refusal",
		chromedp.Click(chromedp.CSS(runButton)),
		chromedp.Poll[chromedp.Void](fmt.Sprintf(
			`document.querySelector(%q)?.innerText.includes("4403")`, responsePane)),
	)

	if got := p.text(responsePane); !strings.Contains(got, "4403 Forbidden") || !strings.Contains(got, "Headers pane") {
		t.Errorf("after the refusal the result pane holds %q, want the close code and where the key goes", got)
	}

	// With the key, the socket is a new one, whose connection_init carries it.
	p.enterKey()
	p.step("running the subscription with the key",
		chromedp.Click(chromedp.CSS(runButton)),
	)
	// A subscription follows the changes from when it starts: the task is
	// created once the server holds it open, and not before.
	srv.waitForSubscriptions(t, 1)
	const title = "Send the contract to Acme"
	id := srv.createTask(t, title)
	p.step("waiting for the created task in the result pane",
		chromedp.Poll[chromedp.Void](fmt.Sprintf(
			`document.querySelector(%q)?.innerText.includes(%q)`, responsePane, title)),
	)
	p.screenshot()

	var res struct {
		Data struct {
			TaskChanged struct {
				Seq           int64
				Type          string
				TaskID        string
				ChangedFields []string
				Task          struct{ ID, Title, Status string }
			}
		}
		Errors []any
	}
	got := p.editorValue(responseEditor)
	if err := json.Unmarshal([]byte(got), &res); err != nil {
		t.Fatalf("the result pane holds %q, not JSON: %v", got, err)
	}
	if c := res.Data.TaskChanged; len(res.Errors) != 0 || c.Seq <= 0 || c.Type != "CREATED" || c.TaskID != strconv.Itoa(id) ||
		len(c.ChangedFields) != 0 || c.Task.ID != strconv.Itoa(id) || c.Task.Title != title || c.Task.Status != "OPEN" {
		t.Errorf("the result pane holds %s, want the creation of task %d %q and no error", got, id, title)
	}

	// Stopping it in the playground ends it on the server.
	p.step("stopping the subscription", chromedp.Click(chromedp.CSS(runButton)))
	srv.waitForSubscriptions(t, 0)

	// Both sockets went to the endpoint on the page's own host.
	sockets := p.sockets()
	if want := "ws" + strings.TrimPrefix(srv.URL, "http") + "/query"; len(sockets) != 2 || sockets[0] != want || sockets[1] != want {
		t.Errorf("the page opened the sockets %q, want two (one for each run) to %s", sockets, want)
	}
	p.checkOfflineAndQuiet()
}

const (
	queryEditor = ".graphiql-query-editor .CodeMirror"
	// The Variables and Headers editors share a pane; the hidden one has the
	// class "hidden".
	headersEditor  = ".graphiql-editor-tool .graphiql-editor:not(.hidden) .CodeMirror"
	responsePane   = ".graphiql-response"
	responseEditor = responsePane + " .CodeMirror"
	runButton      = ".graphiql-execute-button"
	docsPane       = ".graphiql-doc-explorer"
	explorerPane   = ".graphiql-explorer-root"
)

// playground is one tab of headless Chromium on the playground, recording
// what the page asks for and any error it throws, for the checks and for
// the failure messages.
type playground struct {
	t       *testing.T
	srv     server
	browser context.Context // the tab, for as long as the browser lives
	ctx     context.Context // the tab, for the test's steps
	shot    string          // the screenshot's file name

	mu         sync.Mutex
	requests   []string
	socketURLs []string
	failed     []string
	exceptions []string
	browserLog []string
}

// openPlayground starts Chromium (installing it when it may), opens the
// playground of srv in a tab and waits for GraphiQL to render. The browser
// lives at most a minute; the test's steps, 45 s.
func openPlayground(t *testing.T, srv server, screenshot string) *playground {
	t.Helper()
	ensureChromium(t)
	browser := newBrowser(t, time.Minute)
	ctx, cancel := context.WithTimeout(browser, 45*time.Second)
	t.Cleanup(cancel)
	p := &playground{t: t, srv: srv, browser: browser, ctx: ctx, shot: screenshot}
	if err := chromedp.Listen(ctx, p.record); err != nil {
		t.Fatalf("listening to the tab: %v", err)
	}
	p.step("opening the playground and waiting for GraphiQL to render",
		chromedp.Navigate(srv.URL+"/"),
		chromedp.WaitVisible(chromedp.CSS(queryEditor)),
	)
	return p
}

func (p *playground) record(ev any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch ev := ev.(type) {
	case *network.EventRequestWillBeSent:
		u := ev.Request.URL
		if strings.HasPrefix(u, "data:") && len(u) > 40 {
			u = u[:40] + "..." // an inline font, say: its type is enough
		}
		p.requests = append(p.requests, u)
	case *network.EventWebSocketCreated:
		p.socketURLs = append(p.socketURLs, ev.URL)
	case *network.EventLoadingFailed:
		p.failed = append(p.failed, fmt.Sprintf("%s %s (%s)", ev.Type, ev.ErrorText, ev.BlockedReason))
	case *cdplog.EventEntryAdded:
		// The browser's own messages, such as a script refused for its
		// integrity hash, or a 401 of the page's schema query.
		p.browserLog = append(p.browserLog, fmt.Sprintf("%s %s: %s", ev.Entry.Level, ev.Entry.URL, ev.Entry.Text))
	case *runtime.EventExceptionThrown:
		d := ev.ExceptionDetails
		text := d.Text
		if d.Exception != nil && d.Exception.Description != "" {
			text += " " + d.Exception.Description
		}
		p.exceptions = append(p.exceptions, fmt.Sprintf("%s:%d: %s", d.URL, d.LineNumber+1, text))
	}
}

func (p *playground) report() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return fmt.Sprintf("\nrequests: %q\nsockets: %q\nfailed loads: %q\nuncaught exceptions: %q\nbrowser log: %q",
		p.requests, p.socketURLs, p.failed, p.exceptions, p.browserLog)
}

func (p *playground) logged() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.browserLog)
}

func (p *playground) requested() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.requests)
}

func (p *playground) sockets() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.socketURLs)
}

// step runs actions, within 10 s; on failure it keeps a screenshot and ends
// the test with what the page did.
func (p *playground) step(what string, actions ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	sctx, cancel := context.WithTimeout(p.ctx, 10*time.Second)
	defer cancel()
	if err := chromedp.Do(sctx, actions...); err != nil {
		p.screenshot()
		p.t.Fatalf("%s: %v%s", what, err, p.report())
	}
}

// screenshot keeps the tab's screenshot as an artifact.
func (p *playground) screenshot() {
	p.t.Helper()
	// Not p.ctx: the screenshot is most useful when a step ran out of time.
	sctx, cancel := context.WithTimeout(p.browser, 5*time.Second)
	defer cancel()
	png, err := chromedp.Run(sctx, chromedp.CaptureScreenshot())
	if err != nil {
		p.t.Logf("no screenshot: %v", err)
		return
	}
	saveArtifact(p.t, p.shot, png)
}

// enterKey types the organisation's key into the two prefilled headers of
// the Headers editor.
func (p *playground) enterKey() {
	p.t.Helper()
	// The Headers tab shows the two key headers, prefilled with empty values.
	p.step("opening the Headers editor",
		chromedp.Click(chromedp.Search(`//button[normalize-space(.)="Headers"]`)),
		chromedp.WaitVisible(chromedp.CSS(headersEditor)),
	)
	if got := p.editorValue(headersEditor); !strings.Contains(got, access.AccessKeyHeader) || !strings.Contains(got, access.SecretKeyHeader) {
		p.t.Errorf("the headers editor starts with %q, want both key headers in it", got)
	}
	headers := fmt.Sprintf(`{"%s": "%s", "%s": "%s"}`,
		access.AccessKeyHeader, p.srv.Key.AccessKey, access.SecretKeyHeader, p.srv.Key.SecretKey)
	p.step("typing the key headers", typeInto(headersEditor, headers)...)
	if got := p.editorValue(headersEditor); got != headers {
		p.t.Fatalf("after typing, the headers editor holds %q, want %q", got, headers)
	}
}

// editorValue is the text of the CodeMirror editor sel.
func (p *playground) editorValue(sel string) string {
	p.t.Helper()
	v, err := chromedp.Run(p.ctx, chromedp.Evaluate[string](
		fmt.Sprintf(`document.querySelector(%q).CodeMirror.getValue()`, sel)))
	if err != nil {
		p.t.Fatalf("reading the editor %s: %v", sel, err)
	}
	return v
}

// text is the rendered text of the element sel.
func (p *playground) text(sel string) string {
	p.t.Helper()
	v, err := chromedp.Run(p.ctx, chromedp.Evaluate[string](
		fmt.Sprintf(`document.querySelector(%q).innerText`, sel)))
	if err != nil {
		p.t.Fatalf("reading %s: %v", sel, err)
	}
	return v
}

// checkOfflineAndQuiet checks that the page asked nothing of any host but
// the server (inline data: URLs aside), and had no failed load and no
// uncaught exception.
func (p *playground) checkOfflineAndQuiet() {
	p.t.Helper()
	p.mu.Lock()
	requested, sockets, trouble := slices.Clone(p.requests), slices.Clone(p.socketURLs), len(p.failed)+len(p.exceptions)
	p.mu.Unlock()
	ws := "ws" + strings.TrimPrefix(p.srv.URL, "http") + "/"
	for _, u := range requested {
		if !strings.HasPrefix(u, p.srv.URL+"/") && !strings.HasPrefix(u, "data:") {
			p.t.Errorf("the page requested %s, which is not on the server", u)
		}
	}
	for _, u := range sockets {
		if !strings.HasPrefix(u, ws) {
			p.t.Errorf("the page opened a socket to %s, which is not on the server", u)
		}
	}
	if trouble > 0 {
		p.t.Errorf("the page had failed loads or uncaught exceptions:%s", strings.TrimPrefix(p.report(), "\n"))
	}
}

// oneOperation waits until GraphiQL has read the query editor's new text
// as a single operation. It reads the text a moment after each keystroke;
// until then, the example's several operations make the run button a menu
// to choose one from, which a click opens instead of running anything.
var oneOperation = chromedp.Poll[chromedp.Void](fmt.Sprintf(
	`!document.querySelector(%q).hasAttribute("aria-haspopup")`, runButton))

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

// server is the real server binary, serving a fresh database that holds
// one key, of organisation Acme.
type server struct {
	URL string
	Key access.Credentials
}

// servingAt finds the server's address in its "serving" log line.
var servingAt = regexp.MustCompile(`playground=(http://\S+)`)

// startServer runs the server binary, built as a user builds it, so that
// the browser meets every route and wrapper of the real server: the
// playground, GraphQL over HTTP and WebSocket, and REST. It ends with the
// test.
func startServer(t *testing.T) server {
	t.Helper()
	bin, dbPath := serverBinary(t), filepath.Join(t.TempDir(), "tasks.db")
	out, err := exec.Command(bin, "keys", "create", "--org", "Acme", "--db", dbPath).Output()
	if err != nil {
		t.Fatalf("server keys create: %v", err)
	}
	var s server
	if err := json.Unmarshal(out, &s.Key); err != nil {
		t.Fatalf("server keys create printed %q: %v", out, err)
	}

	cmd := exec.Command(bin, "serve", "--addr", "127.0.0.1:0", "--db", dbPath, "--rate-limit", "0")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	var logged []string
	for lines := bufio.NewScanner(stderr); lines.Scan(); {
		logged = append(logged, lines.Text())
		if m := servingAt.FindStringSubmatch(lines.Text()); m != nil {
			go io.Copy(io.Discard, stderr)
			s.URL = m[1]
			return s
		}
	}
	t.Fatalf("the server exited before serving:\n%s", strings.Join(logged, "\n"))
	return s
}

// createTask creates a task through REST, as another client of the
// organisation would, and returns its id.
func (s server) createTask(t *testing.T, title string) int {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"title": title, "start_datetime": "2026-07-15T10:00:00", "cstid": 10})
	req, err := http.NewRequest(http.MethodPost, s.URL+"/v1/tasks", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(access.AccessKeyHeader, s.Key.AccessKey)
	req.Header.Set(access.SecretKeyHeader, s.Key.SecretKey)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST /v1/tasks: %v", err)
	}
	defer res.Body.Close()
	var created struct {
		Success bool
		Data    struct {
			ActivityID int `json:"activity_id"`
		}
	}
	b, _ := io.ReadAll(res.Body)
	if err := json.Unmarshal(b, &created); err != nil || res.StatusCode != http.StatusOK || !created.Success {
		t.Fatalf("POST /v1/tasks = %d %s, want 200 and the created task", res.StatusCode, b)
	}
	return created.Data.ActivityID
}

// waitForSubscriptions waits, up to 10 s, until the server's metrics count
// n open GraphQL subscriptions over WebSocket.
func (s server) waitForSubscriptions(t *testing.T, n int) {
	t.Helper()
	want := fmt.Sprintf(`tasks_feed_streams_open{kind="graphql-ws"} %d`, n)
	var last string
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		res, err := http.Get(s.URL + "/metrics")
		if err != nil {
			t.Fatalf("GET /metrics: %v", err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		for line := range strings.Lines(string(b)) {
			if strings.HasPrefix(line, "tasks_feed_streams_open") {
				last = strings.TrimSpace(line)
				if last == want {
					return
				}
			}
		}
	}
	t.Fatalf("the server's metrics never showed %s (last: %q)", want, last)
}

// serverBinary is the server binary, built once for all the tests.
func serverBinary(t *testing.T) string { return serverbin.Path(t, "..") }

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
