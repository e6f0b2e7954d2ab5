package graph_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"tasksapi/access"
	"tasksapi/feed"
	"tasksapi/graph"
	"tasksapi/sqlite"
	"tasksapi/task"
)

// Planned subscriptions must send what gqlgen's execution sends, byte for
// byte: each subscription below runs on the server and on the same server
// with no plans, over one store and one hub, and every message of the two
// is compared whole.

// liveServers are the server and the server with no plans, over one store
// and one hub, and the root fields the first has answered by a plan.
type liveServers struct {
	planned, gqlgen *feedServer
	acme            tenant

	mu     sync.Mutex
	fields []string
}

func newLiveServers(t *testing.T) *liveServers {
	t.Helper()
	store, err := sqlite.Open(filepath.Join(t.TempDir(), "tasks.db"), sqlite.SyncNormal)
	if err != nil {
		t.Fatalf("sqlite.Open: %v", err)
	}
	t.Cleanup(func() { store.Close() })
	hub := feed.NewHub(store)
	store.OnCommit(hub.Committed)
	log := discardLogger()
	stopCtx, stop := context.WithCancel(context.Background())
	t.Cleanup(stop)
	s := &liveServers{acme: newTenant(t, store, "acme")}
	o := graph.Options{Service: store, Guard: access.NewGuard(store, 0, log), Keeper: newKeeper(store, log),
		Limits: graph.DefaultLimits, Log: log, Feed: store, Hub: hub, Streams: feed.NewStreams(100), Stop: stopCtx}
	planned := graph.NewNotingHandler(o, func(field string) {
		s.mu.Lock()
		defer s.mu.Unlock()
		s.fields = append(s.fields, field)
	})
	s.planned = &feedServer{url: startServer(t, planned), store: store, streams: o.Streams, stop: stop, acme: s.acme}
	o.Streams = feed.NewStreams(100)
	s.gqlgen = &feedServer{url: startServer(t, graph.NewGqlgenHandler(o)), store: store, streams: o.Streams, stop: stop, acme: s.acme}
	return s
}

func (s *liveServers) planCount(field string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, f := range s.fields {
		if f == field {
			n++
		}
	}
	return n
}

// rawRead is the next message of ws as sent, but pings (answered).
func (ws *socket) rawRead() ([]byte, error) {
	ws.t.Helper()
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		_, b, err := ws.conn.Read(ctx)
		cancel()
		if err != nil {
			return nil, err
		}
		if bytes.Equal(b, []byte(`{"type":"ping"}`)) {
			ws.send(wsMessage{Type: "pong"})
			continue
		}
		return b, nil
	}
}

// liveCase is a subscription and how many messages it is answered with.
type liveCase struct {
	name, query string
	variables   map[string]any
	planned     bool // answered by a plan
	refused     bool // answered with errors, then complete or an error message
}

// changeEveryWay writes tasks whose changes hold every field, set and
// unset, text that needs escaping, an update and a delete; it returns
// how many changes it made.
func changeEveryWay(t *testing.T, tn tenant, label string) int {
	t.Helper()
	end, _ := task.ParseDateTime("2026-03-02T17:30:00")
	description := "line\nbreak \"quoted\" <script>&amp;</script> \u2029 \x01"
	a, err := tn.store.CreateTask(tn.ctx(), task.CreateInput{Title: `Call "Ann" <b>&</b> é 😀 ` + "\u2028" + label,
		StartDatetime: start, EndDatetime: &end, ContactID: ptr(1), DealID: ptr(2), AssignedUserID: ptr(3),
		Description: &description, TagIDs: []int{4, 7}})
	if err != nil {
		t.Fatal(err)
	}
	b, err := tn.store.CreateTask(tn.ctx(), task.CreateInput{Title: "plain " + label, StartDatetime: start, ContactID: ptr(1)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tn.store.UpdateTask(tn.ctx(), a.ID, task.UpdateInput{Title: task.To("renamed <" + label + ">"),
		Status: task.To(task.StatusCompleted), EndDatetime: task.Patch[task.DateTime]{Set: true}}, task.AnyVersion()); err != nil {
		t.Fatal(err)
	}
	if _, err := tn.store.DeleteTask(tn.ctx(), b.ID, task.AnyVersion()); err != nil {
		t.Fatal(err)
	}
	return 4
}

func TestPlannedSubscriptionsSendWhatGqlgenSends(t *testing.T) {
	s := newLiveServers(t)
	changeEveryWay(t, s.acme, "backlog")
	schema := graph.Schema()
	every := everyField(schema, "TaskChange")
	cases := []liveCase{
		{name: "every field", query: `subscription { taskChanged(after: 0) ` + every + ` }`, planned: true},
		{name: "aliases", query: `subscription { c: taskChanged(after: 0) { s: seq t: type id: taskId task { n: title id i2: id v: version } at } }`, planned: true},
		{name: "the same field twice, merged", query: `subscription { taskChanged(after: 0) { seq task { title } seq task { version } } }`, planned: true},
		{name: "fragments", query: `subscription { taskChanged(after: 0) { ...F task { ... on Task { title ...T } } } }
			fragment F on TaskChange { seq __typename changedFields }
			fragment T on Task { __typename status priority dueDate completedAt tagIds }`, planned: true},
		{name: "__typename", query: `subscription { taskChanged(after: 0) { __typename t: __typename task { __typename } } }`, planned: true},
		{name: "@skip and @include, true", query: `subscription ($s: Boolean!) { taskChanged(after: 0) { seq @skip(if: $s) type @include(if: $s)
			task @include(if: $s) { title @skip(if: $s) version } ... @include(if: $s) { taskId } } }`,
			variables: map[string]any{"s": true}, planned: true},
		{name: "@skip and @include, false", query: `subscription ($s: Boolean!) { taskChanged(after: 0) { seq @skip(if: $s) type @include(if: $s)
			task @include(if: $s) { title @skip(if: $s) version } ... @include(if: $s) { taskId } } }`,
			variables: map[string]any{"s": false}, planned: true},
		{name: "after as a variable", query: `subscription ($after: Seq) { taskChanged(after: $after) { seq taskId } }`,
			variables: map[string]any{"after": 0}, planned: true},
		{name: "an after out of range", query: `subscription { taskChanged(after: -1) { seq } }`, refused: true, planned: true},
		{name: "an after of the wrong type", query: `subscription { taskChanged(after: "x") { seq } }`, refused: true, planned: true},
		{name: "two root fields", query: `subscription { taskChanged(after: 0) { seq } again: taskChanged(after: 0) { seq } }`, refused: true},
		{name: "a field that does not exist", query: `subscription { taskChanged(after: 0) { nope } }`, refused: true},
	}
	const backlog = 4
	type opened struct {
		c       liveCase
		planned *socket
		gqlgen  *socket
	}
	var open []opened
	for i, c := range cases {
		// An id that needs escaping: it is spliced into each message.
		id := fmt.Sprintf(`%d <"&">`, i)
		payload := map[string]any{"query": c.query}
		if c.variables != nil {
			payload["variables"] = c.variables
		}
		o := opened{c: c, planned: connect(t, s.planned, s.acme.key), gqlgen: connect(t, s.gqlgen, s.acme.key)}
		for _, ws := range []*socket{o.planned, o.gqlgen} {
			ws.send(map[string]any{"type": "subscribe", "id": id, "payload": payload})
		}
		open = append(open, o)
	}
	// Changes made once every subscription has read the backlog come from
	// the hub's memory, shared by every subscriber.
	read := func(o opened, n int) {
		t.Helper()
		for range n {
			p, err1 := o.planned.rawRead()
			g, err2 := o.gqlgen.rawRead()
			if err1 != nil || err2 != nil {
				t.Fatalf("%s: reading: %v, %v", o.c.name, err1, err2)
			}
			if !bytes.Equal(p, g) {
				t.Errorf("%s: the server sent\n%s\ngqlgen sent\n%s", o.c.name, p, g)
			}
			if o.c.refused {
				continue
			}
			var m struct {
				Type    string
				Payload struct{ Data map[string]any }
			}
			if err := json.Unmarshal(p, &m); err != nil || m.Type != "next" || len(m.Payload.Data) != 1 {
				t.Errorf("%s: not a next message with data: %s", o.c.name, p)
			}
		}
	}
	for _, o := range open {
		if o.c.refused {
			read(o, 2) // the errors, then complete
			continue
		}
		read(o, backlog)
	}
	changeEveryWay(t, s.acme, "live")
	for _, o := range open {
		if !o.c.refused {
			read(o, 4)
		}
	}
	planned := 0
	for _, c := range cases {
		if c.planned {
			planned++
		}
	}
	if n := s.planCount("taskChanged"); n != planned {
		t.Errorf("%d subscriptions were planned, want %d", n, planned)
	}
}

// Subscribers of one selection on many sockets share each change's
// payload, and each gets it with its own id.
func TestSubscribersOfOneSelectionEachGetTheirOwnID(t *testing.T) {
	s := newLiveServers(t)
	query := `subscription { taskChanged { seq taskId task { id title version } } }`
	var sockets []*socket
	for i := range 5 {
		ws := connect(t, s.planned, s.acme.key)
		for j := range 2 {
			ws.send(map[string]any{"type": "subscribe", "id": fmt.Sprint(i, "-", j), "payload": map[string]any{"query": query}})
		}
		sockets = append(sockets, ws)
	}
	waitFor(t, "the subscriptions to start", func() bool {
		open, _, _ := s.planned.streams.Stats()
		return open[feed.KindGraphQLWS] == 10
	})
	n := changeEveryWay(t, s.acme, "shared")
	for i, ws := range sockets {
		got := map[string][]string{}
		for range 2 * n {
			b, err := ws.rawRead()
			if err != nil {
				t.Fatal(err)
			}
			var m wsMessage
			if err := json.Unmarshal(b, &m); err != nil || m.Type != "next" {
				t.Fatalf("got %s", b)
			}
			got[m.ID] = append(got[m.ID], string(m.Payload))
			if want := `,"id":"` + m.ID + `","type":"next"}`; !strings.HasSuffix(string(b), want) {
				t.Errorf("a message ends %q, want %q", b, want)
			}
		}
		a, b := got[fmt.Sprint(i, "-0")], got[fmt.Sprint(i, "-1")]
		if len(a) != n || !slices.Equal(a, b) {
			t.Errorf("socket %d: the subscriptions got %q and %q", i, a, b)
		}
	}
}
