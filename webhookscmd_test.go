package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"tasksapi/access"
	"tasksapi/feed"
	"tasksapi/sqlite"
	"tasksapi/webhook"
)

// hookRequest is one request a hookReceiver took.
type hookRequest struct {
	header http.Header
	body   []byte
	// The payload's type, and what its data says of the change.
	typ  string
	data struct {
		Seq int64  `json:"seq"`
		At  string `json:"at"`
	}
}

// hookReceiver is a real endpoint that records what it is sent and
// answers 200 after delay.
type hookReceiver struct {
	*httptest.Server
	mu       sync.Mutex
	got      []hookRequest
	delay    time.Duration
	inFlight int // requests being answered
	maxIn    int // the most at once
}

func newHookReceiver(t *testing.T, delay time.Duration) *hookReceiver {
	t.Helper()
	rc := &hookReceiver{delay: delay}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		req := hookRequest{header: r.Header.Clone(), body: body}
		var payload struct {
			Type string          `json:"type"`
			Data json.RawMessage `json:"data"`
		}
		json.Unmarshal(body, &payload)
		req.typ = payload.Type
		json.Unmarshal(payload.Data, &req.data)
		rc.mu.Lock()
		rc.inFlight++
		rc.maxIn = max(rc.maxIn, rc.inFlight)
		rc.mu.Unlock()
		time.Sleep(rc.delay)
		rc.mu.Lock()
		rc.inFlight--
		rc.got = append(rc.got, req)
		rc.mu.Unlock()
	}))
	t.Cleanup(rc.Close)
	return rc
}

// firstSendings are the seqs of the changes a webhook was sent, each at
// its first sending, in the order sent. Every sending must carry the
// webhook-id of its webhook and change, so that a repeat (sent at least
// once, after a crash or a takeover) carries its first sending's.
func firstSendings(t *testing.T, reqs []hookRequest, webhookID int) []int64 {
	t.Helper()
	var firsts []int64
	seen := map[int64]bool{}
	for _, r := range reqs {
		seq, id := r.data.Seq, r.header.Get(webhook.HeaderID)
		if id != webhook.MessageID(webhookID, seq) {
			t.Errorf("seq %d has webhook-id %s, want %s", seq, id, webhook.MessageID(webhookID, seq))
		}
		if !seen[seq] {
			seen[seq] = true
			firsts = append(firsts, seq)
		}
	}
	return firsts
}

// maxInFlight is the most requests the receiver was answering at once.
func (rc *hookReceiver) maxInFlight() int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return rc.maxIn
}

func (rc *hookReceiver) requests() []hookRequest {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]hookRequest(nil), rc.got...)
}

func webhooks(t *testing.T, getenv func(string) string, args ...string) (string, error) {
	t.Helper()
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	var stdout bytes.Buffer
	err := run(context.Background(), append([]string{"webhooks"}, args...), getenv, &stdout, io.Discard)
	return stdout.String(), err
}

// addedWebhook is what webhooks add prints.
type addedWebhook struct {
	ID     int    `json:"id"`
	URL    string `json:"url"`
	Secret string `json:"secret"`
}

func decodeAdded(t *testing.T, out string) addedWebhook {
	t.Helper()
	var added addedWebhook
	dec := json.NewDecoder(strings.NewReader(out))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&added); err != nil || strings.Count(out, "\n") != 1 || added.ID == 0 ||
		added.URL == "" || !strings.HasPrefix(added.Secret, "whsec_") {
		t.Fatalf("webhooks add printed %q (%v), want one JSON line with id, url and secret", out, err)
	}
	return added
}

// createTask creates a task through REST and returns its answer's data.
func createTask(t *testing.T, url string, creds access.Credentials, title string) map[string]any {
	t.Helper()
	res, body := do(t, http.MethodPost, url+"/v1/tasks", "application/json",
		fmt.Sprintf(`{"title":%q,"start_datetime":"2026-07-15T10:00:00","cstid":10,"tags":[4,7]}`, title), auth(creds)...)
	var answer struct{ Data map[string]any }
	if err := json.Unmarshal(body, &answer); err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("create: %d %s", res.StatusCode, body)
	}
	return answer.Data
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("gave up waiting for %s", what)
}

func TestWebhooksCommand(t *testing.T) {
	srv := startServerWith(t, func(c *config) { c.WebhooksAllowPrivate = true })
	rc := newHookReceiver(t, 0)

	out, err := webhooks(t, nil, "add", "--org", "Acme", "--url", rc.URL+"/hooks", "--description", "billing sync",
		"--webhooks-allow-private", "--db", srv.dbPath)
	if err != nil {
		t.Fatal(err)
	}
	added := decodeAdded(t, out)
	if added.URL != rc.URL+"/hooks" {
		t.Errorf("printed url %q, want %q", added.URL, rc.URL+"/hooks")
	}
	createTask(t, srv.URL, srv.creds, "Follow up with Sarah")
	waitFor(t, "the running server to deliver the new task's change", func() bool { return len(rc.requests()) == 1 })
	lib, err := standardwebhooks.NewWebhook(added.Secret)
	if err != nil {
		t.Fatal(err)
	}
	if r := rc.requests()[0]; lib.Verify(r.body, r.header) != nil || r.typ != "task.created" {
		t.Errorf("the delivery (%s) does not verify under the printed secret, or is not a create", r.body)
	}

	t.Run("list shows every webhook but never a secret", func(t *testing.T) {
		out, err := webhooks(t, nil, "list", "--db", srv.dbPath)
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{"Acme", rc.URL + "/hooks", `"billing sync"`, "ENABLED", "DELIVERED THROUGH", "yes"} {
			if !strings.Contains(out, want) {
				t.Errorf("list lacks %q:\n%s", want, out)
			}
		}
		if strings.Contains(out, "whsec_") {
			t.Errorf("list shows a secret:\n%s", out)
		}
	})
	t.Run("a removed webhook is sent nothing more by the running server", func(t *testing.T) {
		out, err := webhooks(t, nil, "remove", fmt.Sprint(added.ID), "--db", srv.dbPath)
		if err != nil || !strings.Contains(out, "removed") {
			t.Fatalf("remove printed %q, %v", out, err)
		}
		time.Sleep(2 * webhook.DefaultReloadEvery)
		createTask(t, srv.URL, srv.creds, "After the removal")
		time.Sleep(500 * time.Millisecond)
		if n := len(rc.requests()); n != 1 {
			t.Errorf("the removed webhook got %d requests, want only the one before", n)
		}
		if out, _ := webhooks(t, nil, "list", "--db", srv.dbPath); strings.Contains(out, rc.URL) {
			t.Errorf("list still shows the removed webhook:\n%s", out)
		}
	})
}

func TestWebhooksCommandRefusesMistakes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tasks.db")
	tests := []struct {
		name string
		args []string
	}{
		{"add without --org", []string{"add", "--url", "https://93.184.215.14/", "--db", path}},
		{"add without --url", []string{"add", "--org", "Acme", "--db", path}},
		{"add of a loopback URL without --webhooks-allow-private", []string{"add", "--org", "Acme", "--url", "http://127.0.0.1:9/", "--db", path}},
		{"add of the metadata address", []string{"add", "--org", "Acme", "--url", "http://169.254.169.254/", "--db", path}},
		{"add of a URL with a password, even with private addresses allowed",
			[]string{"add", "--org", "Acme", "--url", "http://u:p@127.0.0.1/", "--webhooks-allow-private", "--db", path}},
		{"remove without an id", []string{"remove", "--db", path}},
		{"remove of an id that is not a number", []string{"remove", "first", "--db", path}},
		{"remove of no such webhook", []string{"remove", "99", "--db", path}},
		{"an unknown subcommand", []string{"rotate", "--db", path}},
		{"no subcommand", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if out, err := webhooks(t, nil, tt.args...); err == nil {
				t.Errorf("webhooks %v succeeded (%q), want an error", tt.args, out)
			}
		})
	}
}

func TestWebhooksAllowPrivateIsAFlagAndAnEnvironmentVariable(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tasks.db")
	env := func(k string) string {
		if k == "WEBHOOKS_ALLOW_PRIVATE" {
			return "1"
		}
		return ""
	}
	if _, err := webhooks(t, env, "add", "--org", "Acme", "--url", "http://127.0.0.1:9/", "--db", path); err != nil {
		t.Errorf("add of a loopback URL with WEBHOOKS_ALLOW_PRIVATE=1: %v", err)
	}
	tests := []struct {
		name string
		args []string
		env  func(string) string
		want bool
	}{
		{"serving refuses private addresses by default", nil, nil, false},
		{"WEBHOOKS_ALLOW_PRIVATE=1 allows them", nil, env, true},
		{"the flag allows them", []string{"--webhooks-allow-private"}, nil, true},
		{"the flag wins over the environment", []string{"--webhooks-allow-private=false"}, env, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			getenv := tt.env
			if getenv == nil {
				getenv = func(string) string { return "" }
			}
			cfg, err := parseConfig(tt.args, getenv, io.Discard)
			if err != nil || cfg.WebhooksAllowPrivate != tt.want {
				t.Errorf("WebhooksAllowPrivate = %v (%v), want %v", cfg.WebhooksAllowPrivate, err, tt.want)
			}
		})
	}
}

func TestAWebhookBodyCarriesTheChangeAsTheRESTFeedListsIt(t *testing.T) {
	srv := startServerWith(t, func(c *config) { c.WebhooksAllowPrivate = true })
	rc := newHookReceiver(t, 0)
	out, err := webhooks(t, nil, "add", "--org", "Acme", "--url", rc.URL, "--webhooks-allow-private", "--db", srv.dbPath)
	if err != nil {
		t.Fatal(err)
	}
	decodeAdded(t, out) // sent what is recorded from now, whenever the running server finds it

	id := fmt.Sprint(createTask(t, srv.URL, srv.creds, "Send contract")["activity_id"])
	if res, body := do(t, http.MethodPatch, srv.URL+"/v1/tasks/"+id, "application/json",
		`{"status":2,"cstid":null,"deal_id":3}`, auth(srv.creds)...); res.StatusCode != http.StatusOK {
		t.Fatalf("PATCH: %d %s", res.StatusCode, body)
	}
	if res, body := do(t, http.MethodDelete, srv.URL+"/v1/tasks/"+id, "", "", auth(srv.creds)...); res.StatusCode != http.StatusOK {
		t.Fatalf("DELETE: %d %s", res.StatusCode, body)
	}
	waitFor(t, "three deliveries", func() bool { return len(rc.requests()) == 3 })
	_, body := do(t, http.MethodGet, srv.URL+"/v1/tasks/changes", "", "", auth(srv.creds)...)
	var list struct {
		Data struct{ Changes []json.RawMessage }
	}
	if err := json.Unmarshal(body, &list); err != nil || len(list.Data.Changes) != 3 {
		t.Fatalf("GET /v1/tasks/changes: %v %s", err, body)
	}

	for i, tt := range []struct{ name, typ string }{
		{"a create's body carries it as listed", "created"},
		{"a change's body carries it as listed", "updated"},
		{"a delete's body carries it as listed", "deleted"},
	} {
		typ := tt.typ
		t.Run(tt.name, func(t *testing.T) {
			r := rc.requests()[i]
			var payload struct {
				Type      string          `json:"type"`
				Timestamp string          `json:"timestamp"`
				Data      json.RawMessage `json:"data"`
			}
			if err := json.Unmarshal(r.body, &payload); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(payload.Data, list.Data.Changes[i]) {
				t.Errorf("the body's data is\n%s\nthe feed lists\n%s", payload.Data, list.Data.Changes[i])
			}
			if payload.Type != "task."+typ || payload.Timestamp != r.data.At+"Z" {
				t.Errorf("type %q, timestamp %q; want task.%s at the change's commit time %sZ",
					payload.Type, payload.Timestamp, typ, r.data.At)
			}
		})
	}
}

// startServerWith runs serve, with a configuration change, over a new
// database that has a key of the organisation "Acme".
func startServerWith(t *testing.T, change func(*config)) *testServer {
	t.Helper()
	path := filepath.Join(t.TempDir(), "tasks.db")
	store, err := sqlite.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	creds, err := access.NewKey(context.Background(), store, "Acme", "tests")
	store.Close()
	if err != nil {
		t.Fatal(err)
	}
	cfg := testConfig(path)
	change(&cfg)
	url, stop := runServer(t, cfg, io.Discard)
	return &testServer{URL: url, dbPath: path, creds: creds, stop: stop}
}

// TestEveryChangeReachesAWebhookAcrossASIGKILL kills the real server
// binary while it delivers a backlog of changes to a webhook: after a
// restart the receiver must have been sent every change of the feed, in
// order, each repeat carrying the webhook-id of its first sending.
func TestEveryChangeReachesAWebhookAcrossASIGKILL(t *testing.T) {
	bin, dbPath := serverBinary(t), filepath.Join(t.TempDir(), "tasks.db")
	out, err := exec.Command(bin, "keys", "create", "--org", "Crash", "--db", dbPath).Output()
	if err != nil {
		t.Fatal(err)
	}
	var creds access.Credentials
	if err := json.Unmarshal(out, &creds); err != nil {
		t.Fatal(err)
	}
	rc := newHookReceiver(t, 5*time.Millisecond) // slower than the writes: a backlog builds
	out, err = exec.Command(bin, "webhooks", "add", "--org", "Crash", "--url", rc.URL, "--webhooks-allow-private",
		"--db", dbPath).Output()
	if err != nil {
		t.Fatal(err)
	}
	added := decodeAdded(t, string(out))

	t.Setenv("WEBHOOKS_ALLOW_PRIVATE", "1") // for the server started next
	cmd, url := startBinary(t, bin, dbPath)
	for i := 0; len(rc.requests()) < 20; i++ {
		if i < 400 {
			createTask(t, url, creds, fmt.Sprint("crash ", i))
		} else {
			time.Sleep(10 * time.Millisecond)
		}
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	before := len(rc.requests())

	restarted, _ := startBinary(t, bin, dbPath)
	recorded := storedFeed(t, dbPath, creds.OrganisationID)
	waitFor(t, "every change delivered after the restart", func() bool {
		reqs := rc.requests()
		return len(reqs) > 0 && reqs[len(reqs)-1].data.Seq == recorded[len(recorded)-1]
	})
	restarted.Process.Signal(os.Interrupt)
	restarted.Wait()

	reqs := rc.requests()
	firsts := firstSendings(t, reqs, added.ID)
	if !slices.Equal(firsts, recorded) {
		t.Errorf("the receiver was first sent %d changes, %v..., want the feed's %d in order", len(firsts), firsts[:min(5, len(firsts))], len(recorded))
	}
	t.Logf("%d changes, %d requests, %d of them before the SIGKILL, %d repeats", len(recorded), len(reqs), before, len(reqs)-len(firsts))
}

// storedFeed reads the seqs of every change of an organisation from the
// database file, beside the server using it.
func storedFeed(t *testing.T, path string, org int) []int64 {
	t.Helper()
	store, err := sqlite.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	ctx := access.WithPrincipal(context.Background(), access.Principal{OrganisationID: org})
	var seqs []int64
	for q := (feed.Query{Limit: feed.MaxLimit}); ; {
		page, err := store.Changes(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range page.Changes {
			seqs = append(seqs, c.Seq)
		}
		if q.After = page.LastSeq; !page.HasMore {
			return seqs
		}
	}
}
