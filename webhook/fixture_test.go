package webhook_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"tasksapi/access"
	"tasksapi/feed"
	"tasksapi/sqlite"
	"tasksapi/task"
	"tasksapi/webhook"
)

// testEncode stands in for the REST form of a change: the body must carry
// whatever the encoder wrote, as its data.
func testEncode(c *feed.Change) []byte {
	return fmt.Appendf(nil, `{"seq":%d,"type":%q,"activity_id":%d}`, c.Seq, c.Type, c.TaskID)
}

// fastSchedule retries at once, nearly: tests of retries need not wait.
var fastSchedule = []time.Duration{10 * time.Millisecond, 20 * time.Millisecond, 40 * time.Millisecond}

// clock is real time moved on by an offset a test sets, so that a test can
// jump past the failing window while timers still run.
type clock struct {
	mu     sync.Mutex
	offset time.Duration
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.offset)
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.offset += d
}

// fixture is a store on a real file, its feed's hub, an organisation
// acting through ctx, and the webhook service and dispatcher over them.
type fixture struct {
	path  string
	store *sqlite.Store
	hub   *feed.Hub
	ctx   context.Context
	svc   *webhook.Service
	d     *webhook.Dispatcher
	opts  webhook.Options
	// wrap, when set, is the store the dispatcher is given over the real
	// one.
	wrap func(*sqlite.Store) webhook.Store
}

// testOptions deliver to local receivers, retry fast and quietly.
func testOptions() webhook.Options {
	return webhook.Options{Encode: testEncode, AllowPrivate: true, Schedule: fastSchedule,
		ReloadEvery: 50 * time.Millisecond, ShutdownGrace: 2 * time.Second,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
}

// newFixture starts a dispatcher with opts over a new store; both stop
// when the test ends.
func newFixture(t *testing.T, opts webhook.Options) *fixture {
	t.Helper()
	return newFixtureWith(t, opts, nil)
}

// newFixtureWith is newFixture with the dispatcher's store wrap(store).
func newFixtureWith(t *testing.T, opts webhook.Options, wrap func(*sqlite.Store) webhook.Store) *fixture {
	t.Helper()
	f := &fixture{path: filepath.Join(t.TempDir(), "tasks.db"), opts: opts, wrap: wrap}
	f.open(t)
	f.ctx = orgContext(t, f, "Acme")
	f.start(t)
	return f
}

// orgContext carries a principal of a new key of the named organisation,
// as an authenticated request does.
func orgContext(t *testing.T, f *fixture, name string) context.Context {
	t.Helper()
	creds, err := access.NewKey(t.Context(), f.store, name, "test key")
	if err != nil {
		t.Fatal(err)
	}
	return access.WithPrincipal(context.Background(), access.Principal{OrganisationID: creds.OrganisationID, KeyID: creds.KeyID})
}

// open opens the store and its hub.
func (f *fixture) open(t *testing.T) {
	t.Helper()
	s, err := sqlite.Open(f.path)
	if err != nil {
		t.Fatal(err)
	}
	f.store = s
	f.hub = feed.NewHub(s)
	s.OnCommit(f.hub.Committed)
	t.Cleanup(func() { s.Close() })
}

// start starts a dispatcher, stopped when the test ends (before the
// store: cleanups run last first).
func (f *fixture) start(t *testing.T) {
	var store webhook.Store = f.store
	if f.wrap != nil {
		store = f.wrap(f.store)
	}
	f.d = webhook.NewDispatcher(store, f.hub, f.opts)
	f.svc = webhook.NewService(f.store, true, f.d)
	f.d.Start()
	t.Cleanup(f.d.Close)
}

// restart stops the dispatcher and the store as a shutdown does, opens
// them again and starts a new dispatcher.
func (f *fixture) restart(t *testing.T) {
	t.Helper()
	f.d.Close()
	if err := f.store.Close(); err != nil {
		t.Fatal(err)
	}
	f.open(t)
	f.start(t)
}

func (f *fixture) addWebhook(t *testing.T, url string) webhook.Created {
	t.Helper()
	c, err := f.svc.Create(f.ctx, webhook.CreateInput{URL: url})
	if err != nil {
		t.Fatalf("Create(%q): %v", url, err)
	}
	return c
}

// createTask creates a task, which records one change.
func (f *fixture) createTask(t *testing.T) task.Task {
	t.Helper()
	made, err := f.store.CreateTask(f.ctx, task.CreateInput{Title: "Call Sarah",
		StartDatetime: task.NewDateTime(time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)), ContactID: new(1)})
	if err != nil {
		t.Fatal(err)
	}
	return made
}

// createTasks creates n tasks and returns the seqs of their changes.
func (f *fixture) createTasks(t *testing.T, n int) []int64 {
	t.Helper()
	var seqs []int64
	for range n {
		f.createTask(t)
		page, err := f.store.Changes(f.ctx, feed.Query{After: feed.MaxSeq, Limit: 1})
		if err != nil {
			t.Fatal(err)
		}
		seqs = append(seqs, page.HeadSeq)
	}
	return seqs
}

func (f *fixture) webhook(t *testing.T, id int) webhook.Webhook {
	t.Helper()
	w, err := f.svc.Webhook(f.ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func (f *fixture) deliveries(t *testing.T, id int) []webhook.Delivery {
	t.Helper()
	n := webhook.KeptDeliveries
	got, err := f.svc.Deliveries(f.ctx, id, &n)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// received is one request a receiver took.
type received struct {
	Header http.Header
	Body   []byte
	// ID is its webhook-id; Seq the seq of the change its data carries.
	ID  string
	Seq int64
}

// receiver is a real HTTP endpoint that records every request and answers
// each with the status answer gives (200 when answer is nil).
type receiver struct {
	*httptest.Server
	mu     sync.Mutex
	got    []received
	answer func(r received, n int) int // n counts the requests from 1
}

func newReceiver(t *testing.T, answer func(r received, n int) int) *receiver {
	t.Helper()
	rc := &receiver{answer: answer}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var payload struct {
			Data struct {
				Seq int64 `json:"seq"`
			} `json:"data"`
		}
		json.Unmarshal(body, &payload)
		got := received{Header: r.Header.Clone(), Body: body, ID: r.Header.Get(webhook.HeaderID), Seq: payload.Data.Seq}
		rc.mu.Lock()
		rc.got = append(rc.got, got)
		n := len(rc.got)
		rc.mu.Unlock()
		status := http.StatusOK
		if rc.answer != nil {
			status = rc.answer(got, n)
		}
		w.WriteHeader(status)
	}))
	t.Cleanup(rc.Close)
	return rc
}

func (rc *receiver) requests() []received {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]received(nil), rc.got...)
}

// seqs are the seqs of the requests, in the order they came.
func (rc *receiver) seqs() []int64 {
	var out []int64
	for _, r := range rc.requests() {
		out = append(out, r.Seq)
	}
	return out
}

// eventually waits up to 10 s for cond, failing the test with what if it
// never holds.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("gave up waiting: %s", what)
}
