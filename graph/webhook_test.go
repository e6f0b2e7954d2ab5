package graph_test

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"tasksapi/access"
	"tasksapi/feed"
	"tasksapi/graph"
	"tasksapi/idempotency"
	"tasksapi/rest"
	"tasksapi/sqlite"
	"tasksapi/task"
	"tasksapi/webhook"
)

// ---- fixtures for webhooks ----

// webhookServer serves GraphQL over real HTTP as the server does, with a
// dispatcher delivering the webhooks of its store: its store tells a hub
// of each commit, and the dispatcher retries fast on a clock the test can
// move on.
type webhookServer struct {
	url   string
	store *sqlite.Store
	clock *offsetClock
	acme  tenant
}

// newWebhookServer serves an organisation acme from a fresh store. With
// allowPrivate, webhooks may name loopback addresses, as the local
// receivers of these tests are.
func newWebhookServer(t *testing.T, allowPrivate bool) *webhookServer {
	t.Helper()
	store := openStore(t)
	hub := feed.NewHub(store)
	store.OnCommit(hub.Committed)
	log := discardLogger()
	clk := &offsetClock{}
	// Closed before the store (cleanups run last first).
	d := webhook.NewDispatcher(store, hub, webhook.Options{Encode: rest.ChangeJSON, AllowPrivate: allowPrivate,
		Schedule: fastRetries, ReloadEvery: 50 * time.Millisecond, ShutdownGrace: 2 * time.Second, Now: clk.Now, Log: log})
	d.Start()
	t.Cleanup(d.Close)
	url := startServer(t, graph.NewHandler(graph.Options{Service: idempotency.Service{Service: store},
		Guard: access.NewGuard(store, 0, log), Keeper: newKeeper(store, log), Limits: graph.DefaultLimits, Log: log,
		Feed: store, Hub: hub, WebhookService: webhook.NewService(store, allowPrivate, d)}))
	return &webhookServer{url: url, store: store, clock: clk, acme: newTenant(t, store, "acme")}
}

// fastRetries try a failed change again at once, nearly: tests of retries
// need not wait.
var fastRetries = []time.Duration{10 * time.Millisecond, 20 * time.Millisecond, 40 * time.Millisecond}

// offsetClock is real time moved on by an offset the test sets, so that a
// test can jump past a day of failing while the retry timers still run.
type offsetClock struct {
	mu     sync.Mutex
	offset time.Duration
}

func (c *offsetClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.offset)
}

func (c *offsetClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.offset += d
}

// post sends a GraphQL request with key (none when nil) and returns the
// reply.
func (s *webhookServer) post(t *testing.T, key *access.Credentials, query string, variables map[string]any) reply {
	t.Helper()
	return send(t, newPost(t, s.url, key, strings.NewReader(postJSON(t, query, variables))))
}

// mustPost sends a request of acme, fails unless it succeeds, and decodes
// its data into out.
func (s *webhookServer) mustPost(t *testing.T, query string, variables map[string]any, out any) {
	t.Helper()
	mustSucceed(t, s.post(t, &s.acme.key, query, variables), out)
}

const allWebhookFields = `id url description enabled lastDeliveredSeq failingSince createdAt`

type webhookJSON struct {
	ID               string  `json:"id"`
	URL              string  `json:"url"`
	Description      *string `json:"description"`
	Enabled          bool    `json:"enabled"`
	LastDeliveredSeq int64   `json:"lastDeliveredSeq"`
	FailingSince     *string `json:"failingSince"`
	CreatedAt        string  `json:"createdAt"`
}

type deliveryJSON struct {
	ID         string  `json:"id"`
	Seq        int64   `json:"seq"`
	Attempt    int     `json:"attempt"`
	At         string  `json:"at"`
	StatusCode *int    `json:"statusCode"`
	Error      *string `json:"error"`
	DurationMs int     `json:"durationMs"`
}

type createdJSON struct {
	Webhook webhookJSON `json:"webhook"`
	Secret  string      `json:"secret"`
}

// addWebhook creates a webhook of acme to url through createWebhook.
func (s *webhookServer) addWebhook(t *testing.T, url string) createdJSON {
	t.Helper()
	var out struct {
		CreateWebhook createdJSON `json:"createWebhook"`
	}
	s.mustPost(t, `mutation($in: CreateWebhookInput!) { createWebhook(input: $in) { secret webhook { `+allWebhookFields+` } } }`,
		map[string]any{"in": map[string]any{"url": url}}, &out)
	return out.CreateWebhook
}

// webhooks lists acme's webhooks, every field of each.
func (s *webhookServer) webhooks(t *testing.T) []webhookJSON {
	t.Helper()
	var out struct {
		Webhooks []webhookJSON `json:"webhooks"`
	}
	s.mustPost(t, `{ webhooks { `+allWebhookFields+` } }`, nil, &out)
	return out.Webhooks
}

// webhook is acme's webhook of this id, failing the test if there is none.
func (s *webhookServer) webhook(t *testing.T, id string) webhookJSON {
	t.Helper()
	for _, w := range s.webhooks(t) {
		if w.ID == id {
			return w
		}
	}
	t.Fatalf("no webhook %s in the list", id)
	return webhookJSON{}
}

// deliveries lists a webhook's attempts, newest first, every field of each.
func (s *webhookServer) deliveries(t *testing.T, id string, first *int) []deliveryJSON {
	t.Helper()
	var out struct {
		WebhookDeliveries []deliveryJSON `json:"webhookDeliveries"`
	}
	s.mustPost(t, `query($id: ID!, $first: Int) { webhookDeliveries(webhookId: $id, first: $first) {
		id seq attempt at statusCode error durationMs } }`, map[string]any{"id": id, "first": first}, &out)
	return out.WebhookDeliveries
}

// createTasks creates n tasks of acme through createTask and returns the
// seqs of their changes.
func (s *webhookServer) createTasks(t *testing.T, n int) []int64 {
	t.Helper()
	var seqs []int64
	for i := range n {
		mustSucceed(t, send(t, newPost(t, s.url, &s.acme.key, strings.NewReader(createBody(t, fmt.Sprint("Task ", i))))), nil)
		seqs = append(seqs, headSeq(t, s.acme))
	}
	return seqs
}

// delivery is one request a receiver took.
type delivery struct {
	header http.Header
	body   []byte
	seq    int64 // of the change its data carries
}

// receiver is a real HTTP endpoint that records every request and answers
// each with the status answer gives for the nth request, from 1 (200 when
// answer is nil).
type receiver struct {
	url    string
	answer func(n int) int

	mu  sync.Mutex
	got []delivery
}

func newReceiver(t *testing.T, answer func(n int) int) *receiver {
	t.Helper()
	rc := &receiver{answer: answer}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var payload struct {
			Data struct {
				Seq int64 `json:"seq"`
			} `json:"data"`
		}
		json.Unmarshal(body, &payload)
		rc.mu.Lock()
		rc.got = append(rc.got, delivery{header: r.Header.Clone(), body: body, seq: payload.Data.Seq})
		n := len(rc.got)
		rc.mu.Unlock()
		status := http.StatusOK
		if rc.answer != nil {
			status = rc.answer(n)
		}
		w.WriteHeader(status)
	}))
	t.Cleanup(srv.Close)
	rc.url = srv.URL + "/hooks/tasks"
	return rc
}

func (rc *receiver) requests() []delivery {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return slices.Clone(rc.got)
}

// seqs are the seqs of the requests, in the order they came.
func (rc *receiver) seqs() []int64 {
	var out []int64
	for _, d := range rc.requests() {
		out = append(out, d.seq)
	}
	return out
}

// eventually waits up to 10 s for cond, failing the test with what if it
// never holds.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("gave up waiting: %s", what)
}

// ---- createWebhook and webhooks ----

func TestCreateWebhookShowsTheSecretOnceAndTheListNever(t *testing.T) {
	s := newWebhookServer(t, true)
	head := s.createTasks(t, 1)[0]
	rc := newReceiver(t, nil)

	var out struct {
		CreateWebhook createdJSON `json:"createWebhook"`
	}
	s.mustPost(t, `mutation($in: CreateWebhookInput!) { createWebhook(input: $in) { secret webhook { `+allWebhookFields+` } } }`,
		map[string]any{"in": map[string]any{"url": "  " + rc.url + " ", "description": "CRM sync"}}, &out)
	created := out.CreateWebhook

	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(created.Secret, "whsec_"))
	if !strings.HasPrefix(created.Secret, "whsec_") || err != nil || len(key) != 32 {
		t.Errorf("secret = %q, want whsec_ and base64 of 32 bytes", created.Secret)
	}
	w := created.Webhook
	if _, err := task.ParseID("id", w.ID); err != nil {
		t.Errorf("id = %q, want a positive integer", w.ID)
	}
	checks := []struct {
		field     string
		got, want any
	}{
		{"url (trimmed)", w.URL, rc.url},
		{"description", show(w.Description), show(ptr("CRM sync"))},
		{"enabled", w.Enabled, true},
		{"lastDeliveredSeq (the organisation's head: only later changes are sent)", w.LastDeliveredSeq, head},
		{"failingSince", show(w.FailingSince), "nil"},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.field, c.got, c.want)
		}
	}
	if _, err := task.ParseDateTime(w.CreatedAt); err != nil {
		t.Errorf("createdAt = %q, want a date-time: %v", w.CreatedAt, err)
	}

	list := s.post(t, &s.acme.key, `{ webhooks { `+allWebhookFields+` } }`, nil)
	mustSucceed(t, list, nil)
	if strings.Contains(list.body, created.Secret) || strings.Contains(list.body, base64.StdEncoding.EncodeToString(key)) {
		t.Errorf("the list shows the secret: %s", list.body)
	}
	if got := s.webhooks(t); !reflect.DeepEqual(got, []webhookJSON{w}) {
		t.Errorf("webhooks = %+v, want just the one created, as createWebhook returned it: %+v", got, w)
	}
	for _, f := range graph.Schema().Types["Webhook"].Fields {
		if strings.Contains(strings.ToLower(f.Name), "secret") {
			t.Errorf("Webhook has a field %s: the secret is shown only by createWebhook", f.Name)
		}
	}
}

func TestWebhooksListsTheOrganisationsOwnOldestFirst(t *testing.T) {
	s := newWebhookServer(t, true)
	globex := newTenant(t, s.store, "globex")
	if got := s.webhooks(t); got == nil || len(got) != 0 {
		t.Errorf("webhooks of an organisation without any = %+v, want []", got)
	}
	first := s.addWebhook(t, newReceiver(t, nil).url).Webhook
	second := s.addWebhook(t, newReceiver(t, nil).url).Webhook

	if got := s.webhooks(t); !reflect.DeepEqual(got, []webhookJSON{first, second}) {
		t.Errorf("webhooks = %+v, want %+v, oldest first", got, []webhookJSON{first, second})
	}
	var other struct {
		Webhooks []webhookJSON `json:"webhooks"`
	}
	mustSucceed(t, s.post(t, &globex.key, `{ webhooks { id } }`, nil), &other)
	if len(other.Webhooks) != 0 {
		t.Errorf("another organisation's webhooks = %+v, want none", other.Webhooks)
	}
}

// ---- deliveries ----

func TestAReceiverGetsEachChangeSignedPerStandardWebhooks(t *testing.T) {
	s := newWebhookServer(t, true)
	rc := newReceiver(t, nil)
	created := s.addWebhook(t, rc.url)

	var made struct {
		CreateTask taskJSON `json:"createTask"`
	}
	mustSucceed(t, send(t, newPost(t, s.url, &s.acme.key, strings.NewReader(createBody(t, "Call Sarah")))), &made)
	seq := headSeq(t, s.acme)
	eventually(t, "the change delivered", func() bool { return len(rc.requests()) == 1 })

	got := rc.requests()[0]
	lib, err := standardwebhooks.NewWebhook(created.Secret)
	if err != nil {
		t.Fatalf("the library refuses the secret %q: %v", created.Secret, err)
	}
	if err := lib.Verify(got.body, got.header); err != nil {
		t.Errorf("the signature does not verify with the secret createWebhook showed: %v (headers %v)", err, got.header)
	}
	other, _ := standardwebhooks.NewWebhook(webhook.NewSecret())
	if other.Verify(got.body, got.header) == nil {
		t.Errorf("the signature verifies with another secret too")
	}
	if ct := got.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q, want application/json", ct)
	}
	var body struct {
		Type      string `json:"type"`
		Timestamp string `json:"timestamp"`
		Data      struct {
			Seq        int64  `json:"seq"`
			Type       string `json:"type"`
			ActivityID int    `json:"activity_id"`
			Task       struct {
				Title string `json:"title"`
			} `json:"task"`
		} `json:"data"`
	}
	if err := json.Unmarshal(got.body, &body); err != nil {
		t.Fatalf("the body %s is not JSON: %v", got.body, err)
	}
	if _, err := time.Parse(time.RFC3339, body.Timestamp); err != nil || !strings.HasSuffix(body.Timestamp, "Z") {
		t.Errorf("timestamp = %q, want RFC 3339 in UTC", body.Timestamp)
	}
	if body.Type != "task.created" || body.Data.Seq != seq || body.Data.Type != "created" ||
		fmt.Sprint(body.Data.ActivityID) != made.CreateTask.ID || body.Data.Task.Title != "Call Sarah" {
		t.Errorf("the body is %s; want a task.created of seq %d with task %s, as the REST feed lists it",
			got.body, seq, made.CreateTask.ID)
	}
	// The cursor moves once the answer is recorded, just after the
	// receiver has answered.
	eventually(t, "lastDeliveredSeq at the change delivered", func() bool {
		return s.webhook(t, created.Webhook.ID).LastDeliveredSeq == seq
	})
}

func TestWebhookDeliveriesListsAttemptsNewestFirstEachCountedFromOne(t *testing.T) {
	s := newWebhookServer(t, true)
	rc := newReceiver(t, func(n int) int {
		if n <= 2 {
			return http.StatusBadGateway
		}
		return http.StatusOK
	})
	id := s.addWebhook(t, rc.url).Webhook.ID
	seqs := s.createTasks(t, 2)
	eventually(t, "both changes delivered", func() bool { return s.webhook(t, id).LastDeliveredSeq == seqs[1] })

	type attempt struct {
		seq     int64
		attempt int
		status  int
		error   string
	}
	want := []attempt{
		{seqs[1], 1, 200, ""},
		{seqs[0], 3, 200, ""},
		{seqs[0], 2, 502, "the endpoint answered 502"},
		{seqs[0], 1, 502, "the endpoint answered 502"},
	}
	var got []attempt
	for _, d := range s.deliveries(t, id, nil) {
		a := attempt{seq: d.Seq, attempt: d.Attempt}
		if d.StatusCode != nil {
			a.status = *d.StatusCode
		}
		if d.Error != nil {
			a.error = *d.Error
		}
		if _, err := task.ParseDateTime(d.At); err != nil || d.DurationMs < 0 || d.ID == "" {
			t.Errorf("attempt %+v: want an id, a date-time and a duration", d)
		}
		got = append(got, a)
	}
	if !slices.Equal(got, want) {
		t.Errorf("webhookDeliveries = %+v\nwant, newest first, %+v", got, want)
	}

	if got := s.deliveries(t, id, ptr(2)); len(got) != 2 || got[0].Seq != seqs[1] || got[1].Attempt != 3 {
		t.Errorf("webhookDeliveries(first: 2) = %+v, want the two newest", got)
	}
	if got := s.deliveries(t, id, ptr(500)); len(got) != 4 {
		t.Errorf("webhookDeliveries(first: 500) = %d attempts, want all 4 kept", len(got))
	}
	e := mustRefuse(t, s.post(t, &s.acme.key, `query($id: ID!) { webhookDeliveries(webhookId: $id, first: 0) { id } }`,
		map[string]any{"id": id}), "BAD_USER_INPUT")
	checkBadUserInput(t, e, "first")
}

func TestAWebhookDisabledAfterADayOfFailingResumesWhenEnabled(t *testing.T) {
	s := newWebhookServer(t, true)
	var mu sync.Mutex
	failing := true
	rc := newReceiver(t, func(int) int {
		mu.Lock()
		defer mu.Unlock()
		if failing {
			return http.StatusInternalServerError
		}
		return http.StatusOK
	})
	created := s.addWebhook(t, rc.url).Webhook
	seq := s.createTasks(t, 1)[0]
	eventually(t, "a failed attempt", func() bool { return len(rc.requests()) > 0 })
	s.clock.advance(25 * time.Hour)
	eventually(t, "the webhook disabled", func() bool { return !s.webhook(t, created.ID).Enabled })

	disabled := s.webhook(t, created.ID)
	if disabled.FailingSince == nil || disabled.LastDeliveredSeq != created.LastDeliveredSeq {
		t.Errorf("the disabled webhook is %+v, want failingSince set and its cursor where it was", disabled)
	}
	mu.Lock()
	failing = false
	mu.Unlock()

	var out struct {
		EnableWebhook webhookJSON `json:"enableWebhook"`
	}
	s.mustPost(t, `mutation($id: ID!) { enableWebhook(id: $id) { `+allWebhookFields+` } }`, map[string]any{"id": created.ID}, &out)
	if !out.EnableWebhook.Enabled || out.EnableWebhook.ID != created.ID {
		t.Errorf("enableWebhook = %+v, want the webhook, enabled", out.EnableWebhook)
	}
	eventually(t, "the change delivered", func() bool { return s.webhook(t, created.ID).LastDeliveredSeq == seq })
	if w := s.webhook(t, created.ID); !w.Enabled || w.FailingSince != nil {
		t.Errorf("after delivering, the webhook is %+v, want enabled and failingSince null", w)
	}
	if d := s.deliveries(t, created.ID, ptr(1)); len(d) != 1 || d[0].Attempt != 1 || d[0].Error != nil {
		t.Errorf("the newest attempt is %+v, want attempt 1 again, delivered", d)
	}

	before := s.webhook(t, created.ID)
	s.mustPost(t, `mutation($id: ID!) { enableWebhook(id: $id) { `+allWebhookFields+` } }`, map[string]any{"id": created.ID}, &out)
	if !reflect.DeepEqual(out.EnableWebhook, before) {
		t.Errorf("enableWebhook on an enabled webhook = %+v, want it as it was: %+v", out.EnableWebhook, before)
	}
}

func TestReplayWebhookSendsAgainEveryChangeAfterTheSeqGiven(t *testing.T) {
	s := newWebhookServer(t, true)
	rc := newReceiver(t, nil)
	id := s.addWebhook(t, rc.url).Webhook.ID
	seqs := s.createTasks(t, 3)
	eventually(t, "three changes delivered", func() bool { return s.webhook(t, id).LastDeliveredSeq == seqs[2] })
	sent := rc.requests()

	var out struct {
		ReplayWebhook webhookJSON `json:"replayWebhook"`
	}
	s.mustPost(t, `mutation($id: ID!, $after: Seq!) { replayWebhook(id: $id, after: $after) { id lastDeliveredSeq enabled } }`,
		map[string]any{"id": id, "after": seqs[0]}, &out)
	if out.ReplayWebhook.LastDeliveredSeq != seqs[0] || !out.ReplayWebhook.Enabled {
		t.Errorf("replayWebhook = %+v, want lastDeliveredSeq moved back to %d", out.ReplayWebhook, seqs[0])
	}
	eventually(t, "the replay delivered", func() bool { return len(rc.requests()) == 5 })

	if got, want := rc.seqs(), []int64{seqs[0], seqs[1], seqs[2], seqs[1], seqs[2]}; !slices.Equal(got, want) {
		t.Errorf("the receiver got seqs %v, want %v: the changes after %d again, in order", got, want, seqs[0])
	}
	replayed := rc.requests()[3:]
	for i, d := range replayed {
		if got, want := d.header.Get(webhook.HeaderID), sent[i+1].header.Get(webhook.HeaderID); got != want {
			t.Errorf("the replay of seq %d has webhook-id %q, want the first sending's %q", d.seq, got, want)
		}
	}
	eventually(t, "the cursor back at the head", func() bool { return s.webhook(t, id).LastDeliveredSeq == seqs[2] })

	s.mustPost(t, `mutation($id: ID!, $after: Seq!) { replayWebhook(id: $id, after: $after) { lastDeliveredSeq } }`,
		map[string]any{"id": id, "after": seqs[2]}, &out)
	if out.ReplayWebhook.LastDeliveredSeq != seqs[2] {
		t.Errorf("replayWebhook after the cursor's own seq moved it to %d, want it left at %d",
			out.ReplayWebhook.LastDeliveredSeq, seqs[2])
	}
	e := mustRefuse(t, s.post(t, &s.acme.key, `mutation($id: ID!) { replayWebhook(id: $id, after: -1) { id } }`,
		map[string]any{"id": id}), "BAD_USER_INPUT")
	checkBadUserInput(t, e, "after")
}

// ---- deleteWebhook ----

func TestDeleteWebhookReturnsItsIDAndItIsGoneFromEveryRead(t *testing.T) {
	s := newWebhookServer(t, true)
	keep := s.addWebhook(t, newReceiver(t, nil).url).Webhook
	id := s.addWebhook(t, newReceiver(t, nil).url).Webhook.ID

	var out struct {
		DeleteWebhook string `json:"deleteWebhook"`
	}
	s.mustPost(t, `mutation($id: ID!) { deleteWebhook(id: $id) }`, map[string]any{"id": id}, &out)
	if out.DeleteWebhook != id {
		t.Errorf("deleteWebhook = %q, want the id %q", out.DeleteWebhook, id)
	}
	if got := s.webhooks(t); !reflect.DeepEqual(got, []webhookJSON{keep}) {
		t.Errorf("webhooks = %+v, want only the other one %+v", got, keep)
	}
	for _, op := range []string{
		`mutation($id: ID!) { deleteWebhook(id: $id) }`,
		`query($id: ID!) { webhookDeliveries(webhookId: $id) { id } }`,
		`mutation($id: ID!) { enableWebhook(id: $id) { id } }`,
	} {
		mustRefuse(t, s.post(t, &s.acme.key, op, map[string]any{"id": id}), "NOT_FOUND")
	}
}

// ---- refusals ----

func TestCreateWebhookRefusesAURLItMustNotCallAsBadUserInputOnURL(t *testing.T) {
	s := newWebhookServer(t, false)
	tests := []struct {
		name, url string
	}{
		{"a loopback address", "http://127.0.0.1:8080/hook"},
		{"a private address", "http://10.0.0.1/hook"},
		{"the IPv6 loopback address", "http://[::1]/hook"},
		{"the cloud metadata service's link-local address", "http://169.254.169.254/latest/meta-data/"},
		{"an IPv4 loopback address written as IPv6", "http://[::ffff:127.0.0.1]/hook"},
		{"the unspecified address", "http://0.0.0.0/hook"},
		{"a scheme other than http and https", "ftp://93.184.215.14/hook"},
		{"a URL with a user name and password", "https://user:secret@93.184.215.14/hook"},
		{"a URL with a user name alone", "https://user@93.184.215.14/hook"},
		{"a relative URL", "/hooks/tasks"},
		{"an empty URL", "   "},
		{"a URL over 2,048 characters", "https://93.184.215.14/" + strings.Repeat("a", 2048)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := s.post(t, &s.acme.key, `mutation($in: CreateWebhookInput!) { createWebhook(input: $in) { secret } }`,
				map[string]any{"in": map[string]any{"url": tt.url}})
			checkBadUserInput(t, mustRefuse(t, r, "BAD_USER_INPUT"), "url")
		})
	}
	t.Run("a description over 1,000 characters", func(t *testing.T) {
		r := s.post(t, &s.acme.key, `mutation($in: CreateWebhookInput!) { createWebhook(input: $in) { secret } }`,
			map[string]any{"in": map[string]any{"url": "https://93.184.215.14/hook", "description": strings.Repeat("é", 1001)}})
		checkBadUserInput(t, mustRefuse(t, r, "BAD_USER_INPUT"), "description")
	})
	if got := s.webhooks(t); len(got) != 0 {
		t.Errorf("refused webhooks were stored: %+v", got)
	}
}

func TestAnotherOrganisationsWebhookIsNotFound(t *testing.T) {
	s := newWebhookServer(t, true)
	globex := newTenant(t, s.store, "globex")
	rc := newReceiver(t, nil)
	theirs := s.addWebhook(t, rc.url).Webhook

	ops := []struct {
		name, query string
	}{
		{"webhookDeliveries", `query($id: ID!) { webhookDeliveries(webhookId: $id) { id } }`},
		{"deleteWebhook", `mutation($id: ID!) { deleteWebhook(id: $id) }`},
		{"enableWebhook", `mutation($id: ID!) { enableWebhook(id: $id) { id } }`},
		{"replayWebhook", `mutation($id: ID!) { replayWebhook(id: $id, after: 0) { id } }`},
	}
	for _, op := range ops {
		t.Run(op.name+" of another organisation's webhook is NOT_FOUND", func(t *testing.T) {
			e := mustRefuse(t, s.post(t, &globex.key, op.query, map[string]any{"id": theirs.ID}), "NOT_FOUND")
			if e.Message != "Webhook not found" {
				t.Errorf("message = %q, want Webhook not found", e.Message)
			}
		})
		t.Run(op.name+" of a webhook that never existed is NOT_FOUND", func(t *testing.T) {
			mustRefuse(t, s.post(t, &s.acme.key, op.query, map[string]any{"id": "999999"}), "NOT_FOUND")
		})
		t.Run(op.name+" of an id that is not a positive integer is BAD_USER_INPUT", func(t *testing.T) {
			e := mustRefuse(t, s.post(t, &s.acme.key, op.query, map[string]any{"id": "abc"}), "BAD_USER_INPUT")
			field := "id"
			if op.name == "webhookDeliveries" {
				field = "webhookId"
			}
			checkBadUserInput(t, e, field)
		})
	}
	if got := s.webhooks(t); !reflect.DeepEqual(got, []webhookJSON{theirs}) {
		t.Errorf("the organisation's webhooks are %+v after another's attempts, want %+v untouched", got, theirs)
	}
}

func TestA21stWebhookIsRefusedAsBadUserInput(t *testing.T) {
	s := newWebhookServer(t, true)
	rc := newReceiver(t, nil)
	for range webhook.MaxPerOrganisation {
		s.addWebhook(t, rc.url)
	}

	r := s.post(t, &s.acme.key, `mutation($in: CreateWebhookInput!) { createWebhook(input: $in) { secret } }`,
		map[string]any{"in": map[string]any{"url": rc.url}})

	e := mustRefuse(t, r, "BAD_USER_INPUT")
	if !strings.Contains(e.Message, "at most 20 webhooks") {
		t.Errorf("message = %q, want it to say an organisation has at most 20 webhooks", e.Message)
	}
	// The whole list, every field of each, is served under the default
	// limits.
	if got := s.webhooks(t); len(got) != webhook.MaxPerOrganisation {
		t.Errorf("%d webhooks after the refusal, want %d", len(got), webhook.MaxPerOrganisation)
	}
}

func TestEveryWebhookOperationNeedsAKey(t *testing.T) {
	s := newWebhookServer(t, true)
	id := s.addWebhook(t, newReceiver(t, nil).url).Webhook.ID
	ops := []struct {
		name, query string
	}{
		{"webhooks", `{ webhooks { id } }`},
		{"webhookDeliveries", `query($id: ID!) { webhookDeliveries(webhookId: $id) { id } }`},
		{"createWebhook", `mutation { createWebhook(input: {url: "https://93.184.215.14/hook"}) { secret } }`},
		{"deleteWebhook", `mutation($id: ID!) { deleteWebhook(id: $id) }`},
		{"enableWebhook", `mutation($id: ID!) { enableWebhook(id: $id) { id } }`},
		{"replayWebhook", `mutation($id: ID!) { replayWebhook(id: $id, after: 0) { id } }`},
	}
	for _, op := range ops {
		t.Run(op.name+" without a key is a 401", func(t *testing.T) {
			var vars map[string]any
			if strings.Contains(op.query, "$id") {
				vars = map[string]any{"id": id}
			}
			r := s.post(t, nil, op.query, vars)
			if r.status != http.StatusUnauthorized {
				t.Errorf("status = %d, want 401", r.status)
			}
			mustRefuse(t, r, "UNAUTHENTICATED")
		})
	}
	if got := s.webhooks(t); len(got) != 1 || got[0].ID != id {
		t.Errorf("webhooks = %+v after requests without a key, want the one there was", got)
	}
}

func TestAnIdempotencyKeyOnAWebhookMutationIsRefusedAndNothingRuns(t *testing.T) {
	s := newWebhookServer(t, true)
	rc := newReceiver(t, nil)
	existing := s.addWebhook(t, rc.url).Webhook
	tests := []struct {
		name, query string
		variables   map[string]any
	}{
		{"createWebhook", `mutation($in: CreateWebhookInput!) { createWebhook(input: $in) { secret } }`,
			map[string]any{"in": map[string]any{"url": rc.url}}},
		{"deleteWebhook", `mutation($id: ID!) { deleteWebhook(id: $id) }`, map[string]any{"id": existing.ID}},
		{"enableWebhook", `mutation($id: ID!) { enableWebhook(id: $id) { id } }`, map[string]any{"id": existing.ID}},
		{"replayWebhook", `mutation($id: ID!) { replayWebhook(id: $id, after: 0) { id } }`, map[string]any{"id": existing.ID}},
		{"createWebhook beside createTask",
			`mutation($in: CreateWebhookInput!) { createTask(input: {title: "x", startDatetime: "2026-07-15T10:00:00", dealId: 1}) { id }
			   createWebhook(input: $in) { secret } }`,
			map[string]any{"in": map[string]any{"url": rc.url}}},
	}
	for i, tt := range tests {
		for _, media := range []string{mediaJSON, mediaResponse} {
			t.Run(tt.name+" under "+media, func(t *testing.T) {
				req := newPost(t, s.url, &s.acme.key, strings.NewReader(postJSON(t, tt.query, tt.variables)))
				req.Header.Set(idempotency.Header, fmt.Sprintf("webhook-%d-%s", i, media))
				req.Header.Set("Accept", media)

				r := send(t, req)

				if r.status != http.StatusUnprocessableEntity {
					t.Errorf("status = %d, want 422 (body %s)", r.status, r.body)
				}
				e := mustRefuse(t, r, "BAD_REQUEST")
				if !strings.Contains(e.Message, "Idempotency-Key") || !strings.Contains(e.Message, "createTask") {
					t.Errorf("message = %q, want it to say the key is taken only by task writes", e.Message)
				}
			})
		}
	}
	if got := s.webhooks(t); !reflect.DeepEqual(got, []webhookJSON{existing}) {
		t.Errorf("webhooks = %+v after the refusals, want only %+v, untouched", got, existing)
	}
	if n := headSeq(t, s.acme); n != 0 {
		t.Errorf("the refused requests wrote a task: the feed's head is %d", n)
	}
}

func TestWebhookListsCountAgainstTheComplexityLimitByWhatTheyCanHold(t *testing.T) {
	s := newWebhookServer(t, true)
	id := s.addWebhook(t, newReceiver(t, nil).url).Webhook.ID
	const every = `{ id seq attempt at statusCode error durationMs }`
	deliveries := func(alias string) string {
		return alias + `: webhookDeliveries(webhookId: "` + id + `", first: 100) ` + every
	}

	// 100 attempts of 7 fields: 701 each, so three fit under 2500 and four
	// do not.
	mustSucceed(t, s.post(t, &s.acme.key, `{ `+deliveries("a")+` `+deliveries("b")+` `+deliveries("c")+` }`, nil), nil)
	e := mustRefuse(t, s.post(t, &s.acme.key,
		`{ `+deliveries("a")+` `+deliveries("b")+` `+deliveries("c")+` `+deliveries("d")+` }`, nil), "COMPLEXITY_LIMIT_EXCEEDED")
	if !strings.Contains(e.Message, "2804") {
		t.Errorf("message = %q, want the cost 4 × (1 + 100 × 7) = 2804 counted", e.Message)
	}
}
