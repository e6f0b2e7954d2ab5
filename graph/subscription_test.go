package graph_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"tasksapi/access"
	"tasksapi/feed"
	"tasksapi/graph"
	"tasksapi/sqlite"
	"tasksapi/task"
)

// ---- a graphql-transport-ws client ----

// wsMessage is a graphql-transport-ws message.
type wsMessage struct {
	Type    string          `json:"type"`
	ID      string          `json:"id,omitempty"`
	Payload json.RawMessage `json:"payload,omitempty"`
}

// socket is a client's end of a graphql-transport-ws connection.
type socket struct {
	t    testing.TB
	conn *websocket.Conn
}

// dialOptions are how a test opens a socket: upgrade headers and the
// subprotocols offered (graphql-transport-ws when nil).
type dialOptions struct {
	header       http.Header
	subprotocols []string
}

// dial opens a socket to the server's endpoint; the HTTP response of a
// refused upgrade is returned with the error.
func dial(t testing.TB, s *feedServer, o dialOptions) (*socket, *http.Response, error) {
	t.Helper()
	if o.subprotocols == nil {
		o.subprotocols = []string{"graphql-transport-ws"}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, resp, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(s.url, "http"),
		&websocket.DialOptions{HTTPHeader: o.header, Subprotocols: o.subprotocols})
	if err != nil {
		return nil, resp, err
	}
	conn.SetReadLimit(64 << 20)
	ws := &socket{t: t, conn: conn}
	t.Cleanup(func() { conn.CloseNow() })
	return ws, resp, nil
}

// mustDial opens a socket, failing the test if it is refused.
func mustDial(t testing.TB, s *feedServer, o dialOptions) *socket {
	t.Helper()
	ws, resp, err := dial(t, s, o)
	if err != nil {
		status := 0
		if resp != nil {
			status = resp.StatusCode
		}
		t.Fatalf("dialling the socket: %v (status %d)", err, status)
	}
	return ws
}

// connect opens a socket and initialises it with key in connection_init.
func connect(t testing.TB, s *feedServer, key access.Credentials) *socket {
	t.Helper()
	ws := mustDial(t, s, dialOptions{})
	ws.init(keyPayload(key))
	return ws
}

func keyPayload(key access.Credentials) map[string]any {
	return map[string]any{access.AccessKeyHeader: key.AccessKey, access.SecretKeyHeader: key.SecretKey}
}

func keyHeader(key access.Credentials) http.Header {
	h := http.Header{}
	h.Set(access.AccessKeyHeader, key.AccessKey)
	h.Set(access.SecretKeyHeader, key.SecretKey)
	return h
}

func (ws *socket) send(msg any) {
	ws.t.Helper()
	b, err := json.Marshal(msg)
	if err != nil {
		ws.t.Fatalf("encoding %v: %v", msg, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := ws.conn.Write(ctx, websocket.MessageText, b); err != nil {
		ws.t.Fatalf("sending %s: %v", b, err)
	}
}

// read returns the next message other than a ping (which it answers),
// or the error that ended the socket, within a few seconds.
func (ws *socket) read() (wsMessage, error) {
	ws.t.Helper()
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		_, b, err := ws.conn.Read(ctx)
		cancel()
		if err != nil {
			return wsMessage{}, err
		}
		var m wsMessage
		if err := json.Unmarshal(b, &m); err != nil {
			ws.t.Fatalf("the server sent %s: %v", b, err)
		}
		if m.Type == "ping" {
			ws.send(wsMessage{Type: "pong"})
			continue
		}
		return m, nil
	}
}

func (ws *socket) mustRead() wsMessage {
	ws.t.Helper()
	m, err := ws.read()
	if err != nil {
		ws.t.Fatalf("reading the socket: %v", err)
	}
	return m
}

// init sends connection_init with payload and expects connection_ack.
func (ws *socket) init(payload map[string]any) {
	ws.t.Helper()
	ws.send(map[string]any{"type": "connection_init", "payload": payload})
	if m := ws.mustRead(); m.Type != "connection_ack" {
		ws.t.Fatalf("the answer to connection_init is %+v, want connection_ack", m)
	}
}

// closeCode waits for the server to close the socket and returns the
// close code it sent.
func (ws *socket) closeCode() websocket.StatusCode {
	ws.t.Helper()
	for {
		m, err := ws.read()
		if err != nil {
			return websocket.CloseStatus(err)
		}
		ws.t.Logf("before the close: %+v", m)
	}
}

// subscribe starts a subscription to taskChanged under id; after is
// left out when nil.
func (ws *socket) subscribe(id string, after *int64) {
	ws.t.Helper()
	args := ""
	if after != nil {
		args = fmt.Sprintf("(after: %d)", *after)
	}
	ws.send(map[string]any{"type": "subscribe", "id": id, "payload": map[string]any{
		"query": `subscription { taskChanged` + args + ` { seq type taskId changedFields task { id title version } } }`}})
}

// execution is the payload of a next message.
type execution struct {
	Data struct {
		TaskChanged *changeJSON `json:"taskChanged"`
	} `json:"data"`
	Errors []gqlError `json:"errors"`
}

// nextChange reads the next message, which must be a change of
// subscription id.
func (ws *socket) nextChange(id string) changeJSON {
	ws.t.Helper()
	m := ws.mustRead()
	if m.Type != "next" || m.ID != id {
		ws.t.Fatalf("got %+v, want a next message of subscription %s", m, id)
	}
	var e execution
	if err := json.Unmarshal(m.Payload, &e); err != nil || e.Data.TaskChanged == nil || len(e.Errors) > 0 {
		ws.t.Fatalf("the next message %s holds no change (%v)", m.Payload, err)
	}
	return *e.Data.TaskChanged
}

// refusal reads the answer to a subscription refused at its start: a
// next message with one error, then complete. It returns the error.
func (ws *socket) refusal(id string) gqlError {
	ws.t.Helper()
	m := ws.mustRead()
	if m.ID != id {
		ws.t.Fatalf("got %+v, want a message of subscription %s", m, id)
	}
	e := refusalOf(ws.t, m)
	if m := ws.mustRead(); m.Type != "complete" || m.ID != id {
		ws.t.Errorf("after the error: %+v, want complete", m)
	}
	return e
}

// refusalOf returns the one error of a next message.
func refusalOf(t testing.TB, m wsMessage) gqlError {
	t.Helper()
	var e execution
	if m.Type != "next" || json.Unmarshal(m.Payload, &e) != nil || len(e.Errors) != 1 {
		t.Fatalf("got %+v, want a next message with one error", m)
	}
	return e.Errors[0]
}

// headSeq is the seq of tn's newest change now.
func headSeq(t testing.TB, tn tenant) int64 {
	t.Helper()
	page, err := tn.store.Changes(tn.ctx(), feed.Query{After: feed.MaxSeq, Limit: 1})
	if err != nil {
		t.Fatalf("Changes: %v", err)
	}
	return page.HeadSeq
}

// ---- subscriptions over WebSocket ----

func TestASubscriptionSendsTheBacklogThenEachNewChangeInOrder(t *testing.T) {
	s := newFeedServer(t)
	created := create(t, s.acme, "before")
	if _, err := s.store.UpdateTask(s.acme.ctx(), created.ID, task.UpdateInput{Title: task.To("renamed")}, task.AnyVersion()); err != nil {
		t.Fatal(err)
	}
	ws := connect(t, s, s.acme.key)
	ws.subscribe("1", ptr(int64(0)))

	backlog := []changeJSON{ws.nextChange("1"), ws.nextChange("1")}
	if backlog[0].Type != "CREATED" || backlog[1].Type != "UPDATED" || !slices.Equal(backlog[1].ChangedFields, []string{"title"}) ||
		backlog[1].Task == nil || backlog[1].Task.Title != "renamed" || backlog[1].Task.Version != 2 {
		t.Errorf("the backlog is %+v", backlog)
	}
	live := create(t, s.acme, "after")
	if _, err := s.store.DeleteTask(s.acme.ctx(), live.ID, task.AnyVersion()); err != nil {
		t.Fatal(err)
	}
	got := append(backlog, ws.nextChange("1"), ws.nextChange("1"))
	if got[2].Type != "CREATED" || got[2].TaskID != fmt.Sprint(live.ID) || got[3].Type != "DELETED" || got[3].Task != nil {
		t.Errorf("the live changes are %+v", got[2:])
	}
	if seqs, want := changeSeqs(got), storedSeqs(t, s.acme); !slices.Equal(seqs, want) {
		t.Errorf("the subscription sent %v, the feed holds %v", seqs, want)
	}
}

func TestASubscriptionWithoutAfterStartsFromNow(t *testing.T) {
	s := newFeedServer(t)
	create(t, s.acme, "old")
	ws := connect(t, s, s.acme.key)
	ws.subscribe("1", nil)
	// Changes are made until one arrives: the subscription has started
	// at some point of them, and sends none from before it.
	stop := make(chan struct{})
	var writes sync.WaitGroup
	writes.Go(func() {
		for {
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
				create(t, s.acme, "new")
			}
		}
	})
	c := ws.nextChange("1")
	close(stop)
	writes.Wait()
	if c.Task == nil || c.Task.Title != "new" {
		t.Errorf("the first change sent is %+v, want one made after subscribing", c)
	}
}

func TestASocketIsAdmittedByTheKeyInConnectionInitOrOnTheUpgrade(t *testing.T) {
	s := newFeedServer(t)
	other := newTenant(t, s.store, "globex")
	wrong := access.Credentials{AccessKey: s.acme.key.AccessKey, SecretKey: s.acme.key.SecretKey + "x"}
	tests := []struct {
		name    string
		header  http.Header
		payload map[string]any
		want    string // the organisation whose change arrives
	}{
		{"a key in the connection_init payload is the socket's", nil, keyPayload(s.acme.key), "acme"},
		{"a key on the upgrade request is the socket's", keyHeader(s.acme.key), nil, "acme"},
		{"a key in the payload wins over one on the upgrade", keyHeader(other.key), keyPayload(s.acme.key), "acme"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ws := mustDial(t, s, dialOptions{header: tt.header})
			ws.init(tt.payload)
			ws.subscribe("1", ptr(headSeq(t, s.acme)))
			create(t, other, "globex")
			create(t, s.acme, "acme")
			if c := ws.nextChange("1"); c.Task == nil || c.Task.Title != tt.want {
				t.Errorf("the socket was sent %+v, want %s's change", c, tt.want)
			}
		})
	}

	refusals := []struct {
		name    string
		header  http.Header
		payload map[string]any
	}{
		{"no key anywhere closes the socket with 4403", nil, nil},
		{"a wrong secret in the payload closes the socket with 4403", nil, keyPayload(wrong)},
		{"an access key without a secret closes the socket with 4403", nil, map[string]any{access.AccessKeyHeader: s.acme.key.AccessKey}},
		{"a wrong key in the payload closes the socket with 4403 despite a right one on the upgrade", keyHeader(s.acme.key), keyPayload(wrong)},
	}
	for _, tt := range refusals {
		t.Run(tt.name, func(t *testing.T) {
			ws := mustDial(t, s, dialOptions{header: tt.header})
			ws.send(map[string]any{"type": "connection_init", "payload": tt.payload})
			if code := ws.closeCode(); code != 4403 {
				t.Errorf("close code %d, want 4403", code)
			}
		})
	}

	t.Run("a wrong key on the upgrade request is refused with 401 before the upgrade", func(t *testing.T) {
		_, resp, err := dial(t, s, dialOptions{header: keyHeader(wrong)})
		if err == nil || resp == nil || resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("the upgrade was answered %v, %v; want a 401", resp, err)
		}
	})
	t.Run("an upgrade without the graphql-transport-ws subprotocol is refused with 400", func(t *testing.T) {
		_, resp, err := dial(t, s, dialOptions{header: keyHeader(s.acme.key), subprotocols: []string{"graphql-ws"}})
		if err == nil || resp == nil || resp.StatusCode != http.StatusBadRequest {
			t.Errorf("the upgrade was answered %v, %v; want a 400", resp, err)
		}
	})
}

func TestASocketWithoutConnectionInitIsClosedWith4408(t *testing.T) {
	s := newFeedServer(t, func(o *graph.Options) { o.InitTimeout = 100 * time.Millisecond })
	ws := mustDial(t, s, dialOptions{header: keyHeader(s.acme.key)})
	began := time.Now()
	if code := ws.closeCode(); code != 4408 {
		t.Errorf("close code %d, want 4408", code)
	}
	if waited := time.Since(began); waited > 5*time.Second {
		t.Errorf("the socket was closed after %v, want about 100ms", waited)
	}

	t.Run("a socket that sends connection_init in time stays open", func(t *testing.T) {
		ws := connect(t, s, s.acme.key)
		time.Sleep(300 * time.Millisecond)
		ws.send(map[string]any{"type": "subscribe", "id": "1", "payload": map[string]any{"query": `{ __typename }`}})
		if m := ws.mustRead(); m.Type != "next" {
			t.Errorf("got %+v, want the query's answer", m)
		}
	})
}

func TestAMessageOutsideTheProtocolClosesTheSocketWith4400(t *testing.T) {
	s := newFeedServer(t)
	tests := []struct {
		name    string
		init    bool // connection_init is sent and acknowledged first
		message string
	}{
		{"a connection_init whose payload is not an object", false, `{"type":"connection_init","payload":"key"}`},
		{"a message that is not JSON", true, `subscribe me`},
		{"a message of no type the protocol has", true, `{"type":"start","id":"1"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name+" closes the socket with 4400", func(t *testing.T) {
			ws := mustDial(t, s, dialOptions{})
			if tt.init {
				ws.init(keyPayload(s.acme.key))
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if err := ws.conn.Write(ctx, websocket.MessageText, []byte(tt.message)); err != nil {
				t.Fatal(err)
			}
			if code := ws.closeCode(); code != 4400 {
				t.Errorf("close code %d, want 4400", code)
			}
		})
	}
}

func TestWebSocketsFollowTheServersCORSOrigins(t *testing.T) {
	tests := []struct {
		name    string
		origins []string
		origin  string
		allowed bool
	}{
		{"a client that sends no Origin is not a browser and is allowed", []string{"https://app.example"}, "", true},
		{"a listed origin is allowed", []string{"https://app.example"}, "https://app.example", true},
		{"an origin is compared without regard to case", []string{"https://App.Example"}, "https://app.EXAMPLE", true},
		{"an origin that is not listed is refused with 403", []string{"https://app.example"}, "https://evil.example", false},
		{"the same host with another scheme is refused", []string{"https://app.example"}, "http://app.example", false},
		{"a listed pattern with a * allows its subdomains", []string{"https://*.example.com"}, "https://a.example.com", true},
		{"a pattern does not allow another domain", []string{"https://*.example.com"}, "https://example.org", false},
		{"* allows any origin", []string{"*"}, "https://anywhere.example", true},
		{"with no origins listed only clients that are not browsers are allowed", nil, "https://app.example", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newFeedServer(t, func(o *graph.Options) { o.Origins = tt.origins })
			h := keyHeader(s.acme.key)
			if tt.origin != "" {
				h.Set("Origin", tt.origin)
			}
			ws, resp, err := dial(t, s, dialOptions{header: h})
			if tt.allowed {
				if err != nil {
					t.Fatalf("the upgrade was refused: %v", err)
				}
				ws.init(nil)
				return
			}
			if err == nil || resp == nil || resp.StatusCode != http.StatusForbidden {
				t.Errorf("the upgrade was answered %v, %v; want a 403", resp, err)
			}
		})
	}
	t.Run("the server's own origin is allowed, for the playground", func(t *testing.T) {
		s := newFeedServer(t, func(o *graph.Options) { o.Origins = []string{"https://app.example"} })
		h := keyHeader(s.acme.key)
		h.Set("Origin", s.url)
		mustDial(t, s, dialOptions{header: h}).init(nil)
	})
}

func TestAKeyHoldsAtMostItsBoundOfSubscriptions(t *testing.T) {
	s := newFeedServer(t, func(o *graph.Options) { o.Streams = feed.NewStreams(2) })
	other := newTenant(t, s.store, "acme") // another key of the same organisation
	head := headSeq(t, s.acme)
	ws := connect(t, s, s.acme.key)
	for _, id := range []string{"1", "2", "3"} {
		ws.subscribe(id, &head)
	}
	// The subscriptions start side by side: whichever comes last is
	// refused.
	m := ws.mustRead()
	refused := m.ID
	if e := refusalOf(t, m); e.Extensions.Code != "TOO_MANY_SUBSCRIPTIONS" {
		t.Errorf("the third subscription got %+v, want TOO_MANY_SUBSCRIPTIONS", e)
	}
	if m := ws.mustRead(); m.Type != "complete" || m.ID != refused {
		t.Errorf("after the refusal: %+v, want complete", m)
	}
	var held []string
	for _, id := range []string{"1", "2", "3"} {
		if id != refused {
			held = append(held, id)
		}
	}
	// Another key has its own bound.
	ows := connect(t, s, other.key)
	ows.subscribe("1", &head)

	// Ending one frees its place.
	ws.send(map[string]any{"type": "complete", "id": held[0]})
	waitFor(t, "the ended subscription's place to be freed", func() bool {
		_, _, ended := s.streams.Stats()
		return ended[feed.EndClosed] == 1
	})
	ws.subscribe("4", &head)
	created := create(t, s.acme, "x")
	changed := map[string]bool{}
	for len(changed) < 2 {
		switch m := ws.mustRead(); {
		case m.Type == "complete" && m.ID == held[0]: // the end of the one stopped
		case m.Type == "next" && (m.ID == held[1] || m.ID == "4"):
			changed[m.ID] = true
		default:
			t.Fatalf("got %+v, want a change of subscriptions %s and 4", m, held[1])
		}
	}
	if c := ows.nextChange("1"); c.TaskID != fmt.Sprint(created.ID) {
		t.Errorf("the other key's subscription got %+v", c)
	}
}

func TestASubscriptionFromBeforeWhatIsKeptIsChangesExpired(t *testing.T) {
	s := newFeedServer(t)
	for range 3 {
		create(t, s.acme, "x")
	}
	seqs := storedSeqs(t, s.acme)
	s.store.Now = func() time.Time { return time.Now().Add(time.Hour) }
	if _, err := s.store.DeleteOldChanges(context.Background(), time.Now().Add(time.Minute), 2); err != nil {
		t.Fatal(err)
	}
	ws := connect(t, s, s.acme.key)
	ws.subscribe("1", &seqs[0])
	if e := ws.refusal("1"); e.Extensions.Code != "CHANGES_EXPIRED" || !strings.Contains(e.Message, "headSeq") {
		t.Errorf("got %+v, want CHANGES_EXPIRED saying to follow from headSeq", e)
	}
	_, _, ended := s.streams.Stats()
	if ended[feed.EndExpired] != 1 {
		t.Errorf("streams ended %v, want one expired", ended)
	}
	ws.subscribe("2", &seqs[1])
	if c := ws.nextChange("2"); c.Seq != seqs[2] {
		t.Errorf("from the last seq removed, the first change is %d, want %d", c.Seq, seqs[2])
	}
}

func TestEachOperationOnASocketIsChargedToItsKeysRateLimit(t *testing.T) {
	s := newFeedServer(t, func(o *graph.Options) { o.Guard = access.NewGuard(o.Feed.(*sqlite.Store), 1, discardLogger()) })
	// A bucket of two, filled again at one a second: connection_init
	// takes one, the first operation the other.
	ws := connect(t, s, s.acme.key)
	ws.send(map[string]any{"type": "subscribe", "id": "1", "payload": map[string]any{"query": `{ tasks { totalRecords } }`}})
	if m := ws.mustRead(); m.Type != "next" || strings.Contains(string(m.Payload), "errors") {
		t.Errorf("the first operation got %+v, want its answer", m)
	}
	ws.mustRead() // complete
	ws.send(map[string]any{"type": "subscribe", "id": "2", "payload": map[string]any{"query": `{ tasks { totalRecords } }`}})
	if e := ws.refusal("2"); e.Extensions.Code != "RATE_LIMITED" {
		t.Errorf("the second operation got %+v, want RATE_LIMITED", e)
	}
}

func TestAStoppingServerClosesSocketsWith1001(t *testing.T) {
	s := newFeedServer(t)
	ws := connect(t, s, s.acme.key)
	ws.subscribe("1", nil)
	idle := mustDial(t, s, dialOptions{}) // not yet initialised
	waitFor(t, "the subscription to start", func() bool {
		open, _, _ := s.streams.Stats()
		return open[feed.KindGraphQLWS] == 1
	})
	s.stop()
	if code := ws.closeCode(); code != websocket.StatusGoingAway {
		t.Errorf("the subscribed socket's close code is %d, want 1001", code)
	}
	if code := idle.closeCode(); code != websocket.StatusGoingAway {
		t.Errorf("the idle socket's close code is %d, want 1001", code)
	}
	waitFor(t, "the subscription to end as shut down", func() bool {
		open, _, ended := s.streams.Stats()
		return open[feed.KindGraphQLWS] == 0 && ended[feed.EndShutdown] == 1
	})
}

func TestASubscriberThatStopsReadingIsDroppedAsTooSlow(t *testing.T) {
	s := newFeedServer(t, func(o *graph.Options) { o.SendTimeout = 300 * time.Millisecond })
	// More than the connection's buffers hold: each change carries a
	// description of 10,000 characters.
	description := strings.Repeat("x", 10000)
	for range 3000 {
		if _, err := s.store.CreateTask(s.acme.ctx(), task.CreateInput{Title: "t", StartDatetime: start, ContactID: ptr(1),
			Description: &description}); err != nil {
			t.Fatal(err)
		}
	}
	ws := connect(t, s, s.acme.key)
	ws.send(map[string]any{"type": "subscribe", "id": "1", "payload": map[string]any{
		"query": `subscription { taskChanged(after: 0) { seq task { description } } }`}})
	// The client reads nothing more.
	waitFor(t, "the subscription to end as too slow", func() bool {
		open, _, ended := s.streams.Stats()
		return open[feed.KindGraphQLWS] == 0 && ended[feed.EndTooSlow] == 1
	})
	_, sent, _ := s.streams.Stats()
	if sent[feed.KindGraphQLWS] >= 3000 {
		t.Errorf("all %d changes were sent to a client that read none", sent[feed.KindGraphQLWS])
	}
}

func TestAPlainPOSTOfASubscriptionIsRefused(t *testing.T) {
	s := newFeedServer(t)
	r := postQuery(t, s.url, &s.acme.key, `subscription { taskChanged { seq } }`)
	if r.status != http.StatusBadRequest {
		t.Errorf("status = %d, want 400", r.status)
	}
	mustRefuse(t, r, "BAD_REQUEST")
}

// waitFor polls cond until it holds, failing after a few seconds.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// ---- subscriptions over graphql-sse ----

// sseEvent is one server-sent event.
type sseEvent struct {
	name, data string
}

// eventStream POSTs query with Accept: text/event-stream and returns the
// response and a reader of its events.
func eventStream(t *testing.T, ctx context.Context, s *feedServer, key *access.Credentials, query string) (*http.Response, func() (sseEvent, error)) {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"query": query})
	req := newPost(t, s.url, key, strings.NewReader(string(body)))
	req = req.WithContext(ctx)
	req.Header.Set("Accept", "text/event-stream")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST: %v", err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	lines := bufio.NewScanner(resp.Body)
	lines.Buffer(nil, 1<<20)
	return resp, func() (sseEvent, error) {
		var ev sseEvent
		for lines.Scan() {
			line := lines.Text()
			switch {
			case line == "":
				if ev.name != "" {
					return ev, nil
				}
			case strings.HasPrefix(line, ":"): // a comment, to keep the stream open
			case strings.HasPrefix(line, "event: "):
				ev.name = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "data:"):
				ev.data = strings.TrimSpace(strings.TrimPrefix(line, "data:"))
			}
		}
		if err := lines.Err(); err != nil {
			return ev, err
		}
		return ev, errors.New("the stream ended")
	}
}

func TestGraphQLOverSSESendsNextEventsThenComplete(t *testing.T) {
	s := newFeedServer(t)
	created := create(t, s.acme, "before")

	t.Run("a subscription sends the backlog then each new change as next events", func(t *testing.T) {
		resp, next := eventStream(t, t.Context(), s, &s.acme.key, `subscription { taskChanged(after: 0) { seq type task { title } } }`)
		if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/event-stream" {
			t.Fatalf("status %d, Content-Type %q; want a 200 event stream", resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		var titles []string
		for i := range 2 {
			if i == 1 {
				create(t, s.acme, "after")
			}
			ev, err := next()
			var e execution
			if err != nil || ev.name != "next" || json.Unmarshal([]byte(ev.data), &e) != nil || e.Data.TaskChanged == nil {
				t.Fatalf("event %d: %+v, %v; want a next event with a change", i, ev, err)
			}
			titles = append(titles, e.Data.TaskChanged.Task.Title)
		}
		if !slices.Equal(titles, []string{"before", "after"}) {
			t.Errorf("the changes sent are of %q", titles)
		}
	})
	t.Run("a backlog sent in a burst arrives each change once, in order", func(t *testing.T) {
		s := newFeedServer(t)
		for i := range 30 {
			create(t, s.acme, fmt.Sprint("burst ", i))
		}
		want := storedSeqs(t, s.acme)
		_, next := eventStream(t, t.Context(), s, &s.acme.key, `subscription { taskChanged(after: 0) { seq } }`)
		var got []int64
		for range want {
			ev, err := next()
			var e execution
			if err != nil || ev.name != "next" || json.Unmarshal([]byte(ev.data), &e) != nil || e.Data.TaskChanged == nil {
				t.Fatalf("event %d: %+v, %v; want a next event with a change", len(got), ev, err)
			}
			got = append(got, e.Data.TaskChanged.Seq)
		}
		if !slices.Equal(got, want) {
			t.Errorf("the stream sent seqs %v, want %v", got, want)
		}
	})
	t.Run("a query is one next event, then complete", func(t *testing.T) {
		_, next := eventStream(t, t.Context(), s, &s.acme.key, fmt.Sprintf(`{ task(id: "%d") { title } }`, created.ID))
		if ev, err := next(); err != nil || ev.name != "next" || ev.data != `{"data":{"task":{"title":"before"}}}` {
			t.Errorf("first event %+v, %v; want the task", ev, err)
		}
		if ev, err := next(); err != nil || ev.name != "complete" {
			t.Errorf("second event %+v, %v; want complete", ev, err)
		}
	})
	t.Run("a subscription from before what is kept is a next event with CHANGES_EXPIRED, then complete", func(t *testing.T) {
		s := newFeedServer(t)
		create(t, s.acme, "x")
		create(t, s.acme, "y")
		first := storedSeqs(t, s.acme)[0]
		s.store.Now = func() time.Time { return time.Now().Add(time.Hour) }
		if _, err := s.store.DeleteOldChanges(context.Background(), time.Now().Add(time.Minute), 2); err != nil {
			t.Fatal(err)
		}
		_, next := eventStream(t, t.Context(), s, &s.acme.key, fmt.Sprintf(`subscription { taskChanged(after: %d) { seq } }`, first))
		ev, err := next()
		var e execution
		if err != nil || ev.name != "next" || json.Unmarshal([]byte(ev.data), &e) != nil || len(e.Errors) != 1 ||
			e.Errors[0].Extensions.Code != "CHANGES_EXPIRED" {
			t.Errorf("first event %+v, %v; want CHANGES_EXPIRED", ev, err)
		}
		if ev, err := next(); err != nil || ev.name != "complete" {
			t.Errorf("second event %+v, %v; want complete", ev, err)
		}
	})
	t.Run("an operation that does not validate is a next event with its errors, then complete", func(t *testing.T) {
		_, next := eventStream(t, t.Context(), s, &s.acme.key, `subscription { nothing }`)
		ev, err := next()
		if err != nil || ev.name != "next" || !strings.Contains(ev.data, "GRAPHQL_VALIDATION_FAILED") || strings.Contains(ev.data, `"data"`) {
			t.Errorf("first event %+v, %v; want the validation error and no data", ev, err)
		}
		if ev, err := next(); err != nil || ev.name != "complete" {
			t.Errorf("second event %+v, %v; want complete", ev, err)
		}
	})
	t.Run("a mutation is not served as events", func(t *testing.T) {
		_, next := eventStream(t, t.Context(), s, &s.acme.key, `mutation { deleteTask(id: "1") }`)
		if ev, err := next(); err != nil || ev.name != "next" || !strings.Contains(ev.data, "BAD_REQUEST") {
			t.Errorf("first event %+v, %v; want BAD_REQUEST", ev, err)
		}
		if len(storedSeqs(t, s.acme)) != 2 {
			t.Errorf("the mutation ran")
		}
	})
	t.Run("a request without a key is a 401 JSON answer, not a stream", func(t *testing.T) {
		resp, _ := eventStream(t, t.Context(), s, nil, `subscription { taskChanged { seq } }`)
		if resp.StatusCode != http.StatusUnauthorized || resp.Header.Get("Content-Type") != "application/json" {
			t.Errorf("status %d, Content-Type %q; want a 401 in JSON", resp.StatusCode, resp.Header.Get("Content-Type"))
		}
	})
	t.Run("a stopping server ends the stream without complete", func(t *testing.T) {
		s := newFeedServer(t)
		_, next := eventStream(t, t.Context(), s, &s.acme.key, `subscription { taskChanged { seq } }`)
		waitFor(t, "the subscription to start", func() bool {
			open, _, _ := s.streams.Stats()
			return open[feed.KindGraphQLSSE] == 1
		})
		s.stop()
		if ev, err := next(); err == nil {
			t.Errorf("after the stop the stream sent %+v, want its end", ev)
		}
		waitFor(t, "the subscription to end as shut down", func() bool {
			_, _, ended := s.streams.Stats()
			return ended[feed.EndShutdown] == 1
		})
	})
}

// ---- many writers, many subscribers ----

func TestEverySubscriberSeesEveryChangeOnceInOrderWhileManyWrite(t *testing.T) {
	s := newFeedServer(t)
	const writers, subscribers = 8, 10
	writing := 2 * time.Second
	if testing.Short() {
		writing = 300 * time.Millisecond
	}
	// Half the subscribers start before the writes, half while they go
	// on; all from the start of the feed.
	got := make([][]int64, subscribers)
	var subs sync.WaitGroup
	done := make(chan struct{}) // closed when the writes are over
	var head int64
	subscribe := func(i int) {
		ws := connect(t, s, s.acme.key)
		ws.subscribe("1", ptr(int64(0)))
		subs.Go(func() {
			for {
				m, err := ws.read()
				var e execution
				if err != nil || m.Type != "next" || json.Unmarshal(m.Payload, &e) != nil || e.Data.TaskChanged == nil {
					t.Errorf("subscriber %d, after %d changes: %+v, %v; want a change", i, len(got[i]), m, err)
					return
				}
				c := e.Data.TaskChanged
				got[i] = append(got[i], c.Seq)
				select {
				case <-done:
					if c.Seq >= head {
						return
					}
				default:
				}
			}
		})
	}
	for i := range subscribers / 2 {
		subscribe(i)
	}
	var writes sync.WaitGroup
	deadline := time.Now().Add(writing)
	for w := range writers {
		writes.Go(func() {
			for i := 0; time.Now().Before(deadline); i++ {
				tk := create(t, s.acme, fmt.Sprintf("writer %d, task %d", w, i))
				switch i % 3 {
				case 1:
					if _, err := s.store.UpdateTask(s.acme.ctx(), tk.ID, task.UpdateInput{Status: task.To(task.StatusCompleted)}, task.AnyVersion()); err != nil {
						t.Error(err)
					}
				case 2:
					if _, err := s.store.DeleteTask(s.acme.ctx(), tk.ID, task.AnyVersion()); err != nil {
						t.Error(err)
					}
				}
			}
		})
	}
	time.Sleep(writing / 2)
	for i := subscribers / 2; i < subscribers; i++ {
		subscribe(i)
	}
	writes.Wait()
	want := storedSeqs(t, s.acme)
	head = want[len(want)-1]
	close(done)
	// A subscriber waiting for a change after the last one is woken by
	// one more, which is not counted.
	create(t, s.acme, "the last")
	subs.Wait()
	t.Logf("%d writers made %d changes", writers, len(want))
	for i, seqs := range got {
		if len(seqs) > 0 && seqs[len(seqs)-1] > head {
			seqs = seqs[:len(seqs)-1]
		}
		if !slices.Equal(seqs, want) {
			t.Errorf("subscriber %d saw %d changes, want all %d of the feed, each once, in order", i, len(seqs), len(want))
		}
	}
}
