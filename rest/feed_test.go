package rest_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"tasksapi/access"
	"tasksapi/feed"
	"tasksapi/rest"
	"tasksapi/task"
)

// feedServer is the REST routes over a fresh database file and a real
// HTTP server, with the change feed's hub and streams as the server has
// them.
type feedServer struct {
	*server
	streams *feed.Streams
	stop    context.CancelFunc // the server beginning to stop
}

// newFeedServer starts a feed server. tune, when not nil, changes the REST
// options; setup, when not nil, the HTTP server before it starts.
func newFeedServer(t *testing.T, tune func(*rest.Options), setup func(*httptest.Server)) *feedServer {
	t.Helper()
	a := newHandlerWith(t, nil, 0, tune)
	hs := httptest.NewUnstartedServer(a.handler)
	if setup != nil {
		setup(hs)
	}
	hs.Start()
	// Streams end first, so that Close need not wait for them.
	t.Cleanup(func() { a.stop(); hs.Close() })
	return &feedServer{server: &server{URL: hs.URL, store: a.store, creds: a.creds, clocks: a.clocks},
		streams: a.streams, stop: a.stop}
}

// ctx carries the principal of the server's key, for calling the store
// as its requests do.
func (s *server) ctx() context.Context {
	return access.WithPrincipal(context.Background(), access.Principal{
		OrganisationID: s.creds.OrganisationID, KeyID: s.creds.KeyID, AccessKey: s.creds.AccessKey})
}

// storedSeqs are the seqs of every change of the key's organisation the
// store holds, read from the store itself.
func (s *server) storedSeqs(t testing.TB) []int64 {
	t.Helper()
	var seqs []int64
	for after := int64(0); ; {
		page, err := s.store.Changes(s.ctx(), feed.Query{After: after, Limit: feed.MaxLimit})
		if err != nil {
			t.Fatalf("reading the stored feed: %v", err)
		}
		for _, c := range page.Changes {
			seqs = append(seqs, c.Seq)
		}
		if after = page.LastSeq; !page.HasMore {
			return seqs
		}
	}
}

// changesData is the data of a read of the feed, each change as sent.
type changesData struct {
	Changes []json.RawMessage `json:"changes"`
	LastSeq *int64            `json:"last_seq"`
	HeadSeq *int64            `json:"head_seq"`
	HasMore *bool             `json:"has_more"`
}

// changeJSON is a change as the feed writes it.
type changeJSON struct {
	Seq        int64           `json:"seq"`
	Type       string          `json:"type"`
	ActivityID int             `json:"activity_id"`
	At         string          `json:"at"`
	Fields     []string        `json:"fields"`
	Task       json.RawMessage `json:"task"`
}

func decodeChange(t testing.TB, raw []byte) changeJSON {
	t.Helper()
	var c changeJSON
	if err := json.Unmarshal(raw, &c); err != nil {
		t.Fatalf("a change that is not JSON: %v\n%s", err, raw)
	}
	return c
}

// changes reads GET /v1/tasks/changes?query, which must answer 200.
func (s *server) changes(t *testing.T, query string) changesData {
	t.Helper()
	r := s.send(t, http.MethodGet, "/v1/tasks/changes?"+query, "", "")
	if r.Status != http.StatusOK || !r.Success {
		t.Fatalf("GET /v1/tasks/changes?%s = %d %q %v, want 200", query, r.Status, r.Message, r.Errors)
	}
	var d changesData
	if err := json.Unmarshal(r.Data, &d); err != nil {
		t.Fatal(err)
	}
	if d.Changes == nil || d.LastSeq == nil || d.HeadSeq == nil || d.HasMore == nil {
		t.Fatalf("GET /v1/tasks/changes?%s: data lacks a field: %s", query, r.Data)
	}
	return d
}

func seqsOf(t testing.TB, raws []json.RawMessage) []int64 {
	t.Helper()
	seqs := []int64{}
	for _, raw := range raws {
		seqs = append(seqs, decodeChange(t, raw).Seq)
	}
	return seqs
}

// createMany creates n tasks through the store, from a few writers at
// once, so that their commits are grouped.
func (s *server) createMany(t testing.TB, n int) {
	t.Helper()
	var wg sync.WaitGroup
	var next atomic.Int64
	for range 8 {
		wg.Go(func() {
			for next.Add(1) <= int64(n) {
				if _, err := s.store.CreateTask(s.ctx(), task.CreateInput{Title: "t", StartDatetime: start, ContactID: ptr(1)}); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
}

var start = task.NewDateTime(time.Date(2026, 7, 15, 10, 0, 0, 0, time.UTC))

func ptr[T any](v T) *T { return &v }

func TestTheFeedIsReadAPageAtATime(t *testing.T) {
	srv := newServer(t, nil)
	empty := srv.changes(t, "")
	ids := srv.seed(t, valid, valid, valid, valid, valid)
	srv.patch(t, ids[0], `{"status":2}`)
	srv.delete(t, ids[1])
	all := srv.storedSeqs(t)
	if len(all) != 7 {
		t.Fatalf("the store holds %d changes, want 7", len(all))
	}
	head := all[6]

	t.Run("an organisation without changes reads none, with head_seq 0", func(t *testing.T) {
		if len(empty.Changes) != 0 || *empty.LastSeq != 0 || *empty.HeadSeq != 0 || *empty.HasMore {
			t.Errorf("got %d changes, last_seq %d, head_seq %d, has_more %v", len(empty.Changes), *empty.LastSeq, *empty.HeadSeq, *empty.HasMore)
		}
	})
	tests := []struct {
		name    string
		query   string
		seqs    []int64
		lastSeq int64
		hasMore bool
	}{
		{"a read without parameters has every change from the oldest, in seq order", "", all, head, false},
		{"a limit cuts the page, and has_more says more follow", "limit=3", all[:3], all[2], true},
		{"after starts the page after that seq", "after=" + strconv.FormatInt(all[2], 10) + "&limit=3", all[3:6], all[5], true},
		{"the last page says no more follow", "after=" + strconv.FormatInt(all[5], 10) + "&limit=3", all[6:], head, false},
		{"a read after the head is empty, with last_seq its after", "after=" + strconv.FormatInt(head, 10), []int64{}, head, false},
		{"a read far past the head is empty, with last_seq its after", "after=9007199254740991", []int64{}, feed.MaxSeq, false},
		{"after 0 is the oldest change kept", "after=0&limit=1", all[:1], all[0], true},
		{"an empty after and limit take their defaults", "after=&limit=", all, head, false},
		{"unknown parameters are ignored", "colour=red&limit=2", all[:2], all[1], true},
		{"a limit above 1000 is served", "limit=5000", all, head, false},
		{"a limit too large for 64 bits is served", "limit=99999999999999999999", all, head, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := srv.changes(t, tt.query)
			if got := seqsOf(t, d.Changes); !slices.Equal(got, tt.seqs) {
				t.Errorf("seqs %v, want %v", got, tt.seqs)
			}
			if *d.LastSeq != tt.lastSeq || *d.HeadSeq != head || *d.HasMore != tt.hasMore {
				t.Errorf("last_seq %d, head_seq %d, has_more %v; want %d, %d, %v",
					*d.LastSeq, *d.HeadSeq, *d.HasMore, tt.lastSeq, head, tt.hasMore)
			}
		})
	}
	t.Run("paging by last_seq reads every change once, in order", func(t *testing.T) {
		var got []int64
		for after := int64(0); ; {
			d := srv.changes(t, "limit=2&after="+strconv.FormatInt(after, 10))
			got = append(got, seqsOf(t, d.Changes)...)
			if after = *d.LastSeq; !*d.HasMore {
				break
			}
		}
		if !slices.Equal(got, all) {
			t.Errorf("paged through %v, want %v", got, all)
		}
	})
}

func TestAnOrganisationReadsOnlyItsOwnChanges(t *testing.T) {
	srv := newServer(t, nil)
	srv.seed(t, valid, valid)
	other := &server{URL: srv.URL, store: srv.store, creds: srv.keyFor(t, "Globex")}
	theirs := other.seed(t, valid)
	mine := srv.changes(t, "")
	for _, raw := range mine.Changes {
		if c := decodeChange(t, raw); c.ActivityID == theirs[0] {
			t.Errorf("Acme reads Globex's change %s", raw)
		}
	}
	d := other.changes(t, "")
	if len(d.Changes) != 1 || decodeChange(t, d.Changes[0]).ActivityID != theirs[0] || *d.HeadSeq != *d.LastSeq {
		t.Errorf("Globex reads %s, head_seq %d; want its one change, at the head", d.Changes, *d.HeadSeq)
	}
	if len(mine.Changes) != 2 || *mine.HeadSeq == *d.HeadSeq {
		t.Errorf("Acme reads %d changes, head_seq %d; want its two, below Globex's head %d", len(mine.Changes), *mine.HeadSeq, *d.HeadSeq)
	}
}

func TestTheFeedReadsAHundredByDefaultAndAThousandAtMost(t *testing.T) {
	srv := newServer(t, nil)
	srv.createMany(t, 1001)
	if d := srv.changes(t, ""); len(d.Changes) != 100 || !*d.HasMore {
		t.Errorf("a read without limit has %d changes, has_more %v; want 100 and more", len(d.Changes), *d.HasMore)
	}
	if d := srv.changes(t, "limit=1001"); len(d.Changes) != 1000 || !*d.HasMore {
		t.Errorf("a read with limit 1001 has %d changes, has_more %v; want 1000 and more", len(d.Changes), *d.HasMore)
	}
}

func TestABadFeedParameterIsA422OnIt(t *testing.T) {
	srv := newServer(t, nil)
	tests := []struct {
		name, query string
		fields      []string
	}{
		{"an after that is a word is refused", "after=latest", []string{"after"}},
		{"a negative after is refused", "after=-1", []string{"after"}},
		{"a fractional after is refused", "after=1.5", []string{"after"}},
		{"an after past 2^53 - 1 is refused", "after=9007199254740992", []string{"after"}},
		{"an after too large for 64 bits is refused", "after=99999999999999999999", []string{"after"}},
		{"a limit of 0 is refused", "limit=0", []string{"limit"}},
		{"a negative limit is refused", "limit=-5", []string{"limit"}},
		{"a limit that is a word is refused", "limit=all", []string{"limit"}},
		{"both broken are both reported", "after=x&limit=0", []string{"after", "limit"}},
		{"a query string that cannot be parsed is refused", "after=1;limit=2", []string{"query"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := srv.get(t, "/v1/tasks/changes?"+tt.query)
			if r.Status != http.StatusUnprocessableEntity || r.Success || r.Message == "" {
				t.Fatalf("got %d %v %q, want a 422", r.Status, r.Success, r.Message)
			}
			if got := errorFields(r); !slices.Equal(got, tt.fields) {
				t.Errorf("errors on %v, want %v", got, tt.fields)
			}
		})
	}
}

// expire removes the oldest n changes of the store, as the feed's
// retention does once they are old enough.
func expire(t testing.TB, s *server, n int) {
	t.Helper()
	later := clockStart.AddDate(1, 0, 0) // than any change of the store's clock
	if removed, err := s.store.DeleteOldChanges(context.Background(), later, n); err != nil || removed != n {
		t.Fatalf("DeleteOldChanges removed %d, %v; want %d", removed, err, n)
	}
}

func TestAReadFromAPointNoLongerKeptIsA410(t *testing.T) {
	srv := newServer(t, nil)
	srv.seed(t, valid, valid, valid, valid)
	all := srv.storedSeqs(t)
	expire(t, srv, 2)

	r := srv.get(t, "/v1/tasks/changes?after="+strconv.FormatInt(all[0], 10))
	if r.Status != http.StatusGone || r.Success || !strings.Contains(r.Message, "read the list again") ||
		!strings.Contains(r.Message, "head_seq") {
		t.Errorf("got %d %q, want a 410 saying to read the list again and follow from head_seq", r.Status, r.Message)
	}
	t.Run("a read from the last change removed goes on from there", func(t *testing.T) {
		if d := srv.changes(t, "after="+strconv.FormatInt(all[1], 10)); !slices.Equal(seqsOf(t, d.Changes), all[2:]) {
			t.Errorf("read %s, want the kept changes", d.Changes)
		}
	})
	t.Run("a read from 0 starts from the oldest change kept", func(t *testing.T) {
		if d := srv.changes(t, ""); !slices.Equal(seqsOf(t, d.Changes), all[2:]) {
			t.Errorf("read %s, want the kept changes", d.Changes)
		}
	})
}

func TestAChangeIsWrittenForEachKindOfWrite(t *testing.T) {
	srv := newServer(t, nil)
	id := srv.seed(t, `{"title":"Call","start_datetime":"2026-07-15T10:00:00","deal_id":3,"tags":[1]}`)[0]
	created := srv.read(t, id)
	changed := taskOf(t, srv.patch(t, id, `{"status":2,"end_datetime":"2026-07-16T10:00:00","deal_id":null,"cstid":4,
		"tags":[2],"assigned_user_id":5}`))
	srv.delete(t, id)
	d := srv.changes(t, "")
	if len(d.Changes) != 3 {
		t.Fatalf("%d changes, want 3", len(d.Changes))
	}
	tests := []struct {
		name   string
		typ    string
		fields []string
		task   map[string]any // nil: null
	}{
		{"a create has no fields and the task as created", "created", []string{}, created},
		{"a change names every field it changed, derived ones included, in REST names, sorted", "updated",
			[]string{"assigned_user_id", "completed_at", "cstid", "deal_id", "due_date", "end_datetime", "status", "tags"}, changed},
		{"a delete has no fields and a null task", "deleted", []string{}, nil},
	}
	var last int64
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := decodeChange(t, d.Changes[i])
			if c.Type != tt.typ || c.ActivityID != id || c.Seq <= last || !slices.Equal(c.Fields, tt.fields) {
				t.Errorf("got %s; want type %s, activity_id %d, a seq above %d, fields %q", d.Changes[i], tt.typ, id, last, tt.fields)
			}
			last = c.Seq
			if _, err := task.ParseDateTime(c.At); err != nil {
				t.Errorf("at %q: %v", c.At, err)
			}
			if tt.task == nil {
				if string(c.Task) != "null" {
					t.Errorf("task %s, want null", c.Task)
				}
				return
			}
			var got map[string]any
			if err := json.Unmarshal(c.Task, &got); err != nil || !reflect.DeepEqual(got, tt.task) {
				t.Errorf("task %s, want the task as read then, %v", c.Task, tt.task)
			}
		})
	}
}

// ---- the stream ----

// stream is a client's side of one change stream.
type stream struct {
	res *http.Response
	r   *bufio.Reader
}

// sseEvent is one event of a stream, as sent.
type sseEvent struct {
	raw  string // every line of it, with the blank line that ends it
	id   int64
	name string
	data string
}

// openStream opens GET target with the server's key and headers (name
// and value in turn), and returns it once its headers have come, whatever
// its status.
func (s *server) openStream(t testing.TB, target string, headers ...string) *stream {
	t.Helper()
	return s.openStreamAs(t, s.creds, target, headers...)
}

func (s *server) openStreamAs(t testing.TB, creds access.Credentials, target string, headers ...string) *stream {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.URL+target, nil)
	if err != nil {
		t.Fatal(err)
	}
	if creds.AccessKey != "" {
		authorize(req, creds)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Add(headers[i], headers[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); res.Body.Close() })
	return &stream{res: res, r: bufio.NewReader(res.Body)}
}

// close ends the client's side of the stream.
func (s *stream) close() { s.res.Body.Close() }

// message reads the next block of lines up to the blank line that ends
// it: an event or a comment.
func (s *stream) message() (string, error) {
	var b strings.Builder
	for {
		line, err := s.r.ReadString('\n')
		b.WriteString(line)
		if err != nil {
			return b.String(), err
		}
		if line == "\n" {
			return b.String(), nil
		}
	}
}

// event reads the next event, skipping comments. An event must be
// exactly three lines, id, event and data, and its id its data's seq.
func (s *stream) event(t testing.TB) sseEvent {
	t.Helper()
	for {
		raw, err := s.message()
		if err != nil {
			t.Fatalf("the stream ended (%v) before an event; last read %q", err, raw)
		}
		if strings.HasPrefix(raw, ":") {
			continue
		}
		var ev sseEvent
		lines := strings.Split(strings.TrimSuffix(raw, "\n\n"), "\n")
		if len(lines) != 3 || !strings.HasPrefix(lines[0], "id: ") || !strings.HasPrefix(lines[1], "event: ") ||
			!strings.HasPrefix(lines[2], "data: ") {
			t.Fatalf("an event that is not id, event and data lines: %q", raw)
		}
		ev.raw = raw
		ev.id, err = strconv.ParseInt(strings.TrimPrefix(lines[0], "id: "), 10, 64)
		ev.name = strings.TrimPrefix(lines[1], "event: ")
		ev.data = strings.TrimPrefix(lines[2], "data: ")
		if c := decodeChange(t, []byte(ev.data)); err != nil || c.Seq != ev.id || c.Type != ev.name {
			t.Fatalf("event id %q and name %q do not name its change %s", lines[0], ev.name, ev.data)
		}
		return ev
	}
}

// isStream fails unless the answer is a 200 event stream.
func (s *stream) isStream(t testing.TB) {
	t.Helper()
	if s.res.StatusCode != http.StatusOK || s.res.Header.Get("Content-Type") != "text/event-stream" ||
		s.res.Header.Get("Cache-Control") != "no-cache" {
		t.Fatalf("status %d, Content-Type %q, Cache-Control %q; want a 200 text/event-stream, no-cache",
			s.res.StatusCode, s.res.Header.Get("Content-Type"), s.res.Header.Get("Cache-Control"))
	}
}

// refusal reads a refused stream's JSON answer.
func (s *stream) refusal(t testing.TB) response {
	t.Helper()
	raw, err := io.ReadAll(s.res.Body)
	if err != nil {
		t.Fatal(err)
	}
	r := response{Status: s.res.StatusCode, Header: s.res.Header, Raw: raw}
	if ct := s.res.Header.Get("Content-Type"); ct != "application/json" || json.Unmarshal(raw, &r) != nil || r.Success || r.Message == "" {
		t.Fatalf("a %d answer of %q, %s; want the JSON error envelope", r.Status, ct, raw)
	}
	return r
}

// listed is the feed's changes after `after` as GET /v1/tasks/changes has
// them, byte for byte.
func (s *server) listed(t *testing.T, after int64) []json.RawMessage {
	t.Helper()
	return s.changes(t, "limit=1000&after="+strconv.FormatInt(after, 10)).Changes
}

// waitFor polls cond until it holds, failing after half a minute.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestAStreamSendsWhatIsRecordedThenEachChangeAsItCommits(t *testing.T) {
	srv := newFeedServer(t, nil, nil)
	ids := srv.seed(t, valid, valid)
	srv.patch(t, ids[0], `{"title":"Call back"}`)
	s := srv.openStream(t, "/v1/tasks/changes/stream?after=0")
	s.isStream(t)
	for i, want := range srv.listed(t, 0) {
		ev := s.event(t)
		c := decodeChange(t, want)
		if wantRaw := fmt.Sprintf("id: %d\nevent: %s\ndata: %s\n\n", c.Seq, c.Type, want); ev.raw != wantRaw {
			t.Errorf("event %d is\n%q\nwant the change as listed\n%q", i, ev.raw, wantRaw)
		}
	}
	last := srv.storedSeqs(t)[2]
	srv.delete(t, ids[1])
	srv.patch(t, ids[0], `{"status":1}`)
	live := srv.listed(t, last)
	for i, want := range live {
		if ev := s.event(t); ev.data != string(want) {
			t.Errorf("live event %d has data %s, want %s", i, ev.data, want)
		}
	}
	if len(live) != 2 {
		t.Errorf("%d changes after the backlog, want 2", len(live))
	}
}

func TestAStreamWithoutAfterStartsFromNow(t *testing.T) {
	srv := newFeedServer(t, nil, nil)
	srv.seed(t, valid, valid)
	s := srv.openStream(t, "/v1/tasks/changes/stream")
	s.isStream(t) // its point is fixed before its headers are sent
	head := srv.storedSeqs(t)[1]
	id := srv.seed(t, valid)[0]
	if ev := s.event(t); ev.id <= head || ev.name != "created" || decodeChange(t, []byte(ev.data)).ActivityID != id {
		t.Errorf("first event %q, want the create made after the stream opened", ev.raw)
	}
}

func TestLastEventIDWinsOverAfter(t *testing.T) {
	srv := newFeedServer(t, nil, nil)
	srv.seed(t, valid, valid, valid)
	all := srv.storedSeqs(t)
	tests := []struct {
		name    string
		target  string
		headers []string
		first   int64
	}{
		{"a stream with after starts after it", "?after=" + strconv.FormatInt(all[0], 10), nil, all[1]},
		{"a reconnect's Last-Event-ID wins over after", "?after=0", []string{"Last-Event-ID", strconv.FormatInt(all[1], 10)}, all[2]},
		{"Last-Event-ID alone starts after it", "", []string{"Last-Event-ID", strconv.FormatInt(all[0], 10)}, all[1]},
		{"an empty Last-Event-ID is not sent", "?after=0", []string{"Last-Event-ID", ""}, all[0]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := srv.openStream(t, "/v1/tasks/changes/stream"+tt.target, tt.headers...)
			s.isStream(t)
			if ev := s.event(t); ev.id != tt.first {
				t.Errorf("first event %d, want %d", ev.id, tt.first)
			}
			s.close()
		})
	}
}

func TestABadStreamStartIsA422OnIt(t *testing.T) {
	srv := newFeedServer(t, nil, nil)
	tests := []struct {
		name, query string
		headers     []string
		fields      []string
	}{
		{"an after that is a word is refused", "?after=now", nil, []string{"after"}},
		{"a negative after is refused", "?after=-1", nil, []string{"after"}},
		{"a Last-Event-ID that is a word is refused", "", []string{"Last-Event-ID", "abc"}, []string{"Last-Event-ID"}},
		{"a Last-Event-ID past 2^53 - 1 is refused", "", []string{"Last-Event-ID", "9007199254740992"}, []string{"Last-Event-ID"}},
		{"a Last-Event-ID sent twice is refused", "", []string{"Last-Event-ID", "1", "Last-Event-ID", "2"}, []string{"Last-Event-ID"}},
		{"a bad after is refused with a good Last-Event-ID", "?after=-1", []string{"Last-Event-ID", "1"}, []string{"after"}},
		{"both broken are both reported", "?after=x", []string{"Last-Event-ID", "-1"}, []string{"Last-Event-ID", "after"}},
		{"a query string that cannot be parsed is refused", "?after=1;x=2", nil, []string{"query"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := srv.openStream(t, "/v1/tasks/changes/stream"+tt.query, tt.headers...).refusal(t)
			if r.Status != http.StatusUnprocessableEntity || !slices.Equal(errorFields(r), tt.fields) {
				t.Errorf("got %d on %v, want a 422 on %v", r.Status, errorFields(r), tt.fields)
			}
		})
	}
	if open, _, _ := srv.streams.Stats(); open[feed.KindSSE] != 0 {
		t.Errorf("%d streams are open after refusals", open[feed.KindSSE])
	}
}

func TestAStreamIsRefusedBeforeItStartsAsAnOrdinaryAnswer(t *testing.T) {
	srv := newFeedServer(t, func(o *rest.Options) { o.Streams = feed.NewStreams(2) }, nil)
	srv.seed(t, valid, valid, valid)
	all := srv.storedSeqs(t)

	t.Run("a stream without a key is a 401", func(t *testing.T) {
		if r := srv.openStreamAs(t, access.Credentials{}, "/v1/tasks/changes/stream").refusal(t); r.Status != http.StatusUnauthorized {
			t.Errorf("got %d, want 401", r.Status)
		}
	})
	t.Run("a stream from a point no longer kept is a 410 saying to read the list again", func(t *testing.T) {
		expire(t, srv.server, 2)
		r := srv.openStream(t, "/v1/tasks/changes/stream?after="+strconv.FormatInt(all[0], 10)).refusal(t)
		if r.Status != http.StatusGone || !strings.Contains(r.Message, "read the list again") {
			t.Errorf("got %d %q, want a 410", r.Status, r.Message)
		}
		_, _, ended := srv.streams.Stats()
		if ended[feed.EndExpired] != 1 {
			t.Errorf("ended %v, want one expired", ended)
		}
	})
	t.Run("a key holding as many streams as it may is refused one more with a 429", func(t *testing.T) {
		srv.openStream(t, "/v1/tasks/changes/stream").isStream(t)
		held := srv.openStream(t, "/v1/tasks/changes/stream")
		held.isStream(t)
		r := srv.openStream(t, "/v1/tasks/changes/stream").refusal(t)
		if r.Status != http.StatusTooManyRequests || !strings.Contains(r.Message, "2 open streams") {
			t.Errorf("got %d %q, want a 429 naming the bound", r.Status, r.Message)
		}
		other := srv.keyFor(t, "Acme")
		srv.openStreamAs(t, other, "/v1/tasks/changes/stream").isStream(t) // another key has its own bound

		held.close()
		waitFor(t, "the closed stream to free its place", func() bool {
			open, _, ended := srv.streams.Stats()
			return open[feed.KindSSE] == 2 && ended[feed.EndClosed] == 1
		})
		srv.openStream(t, "/v1/tasks/changes/stream").isStream(t)
	})
}

func TestASilentStreamSendsAKeepAliveComment(t *testing.T) {
	srv := newFeedServer(t, func(o *rest.Options) { o.KeepAlive = 30 * time.Millisecond }, nil)
	s := srv.openStream(t, "/v1/tasks/changes/stream")
	s.isStream(t)
	for i := range 3 {
		if m, err := s.message(); err != nil || m != ": keep-alive\n\n" {
			t.Fatalf("message %d of a silent stream is %q, %v; want a keep-alive comment", i, m, err)
		}
	}
	id := srv.seed(t, valid)[0]
	if ev := s.event(t); decodeChange(t, []byte(ev.data)).ActivityID != id {
		t.Errorf("after keep-alives, the stream sent %q, want the new change", ev.raw)
	}
}

func TestAStreamOutlivesTheServersReadAndWriteTimeouts(t *testing.T) {
	srv := newFeedServer(t, func(o *rest.Options) { o.KeepAlive = 50 * time.Millisecond }, func(hs *httptest.Server) {
		hs.Config.ReadTimeout = 200 * time.Millisecond
		hs.Config.WriteTimeout = 200 * time.Millisecond
	})
	s := srv.openStream(t, "/v1/tasks/changes/stream")
	s.isStream(t)
	time.Sleep(600 * time.Millisecond)
	id := srv.seed(t, valid)[0]
	if ev := s.event(t); decodeChange(t, []byte(ev.data)).ActivityID != id {
		t.Errorf("the stream sent %q, want the new change", ev.raw)
	}
}

func TestAStreamEndsCleanlyWhenTheServerBeginsToStop(t *testing.T) {
	srv := newFeedServer(t, nil, nil)
	s := srv.openStream(t, "/v1/tasks/changes/stream")
	s.isStream(t)
	srv.stop()
	for {
		m, err := s.message()
		if err == io.EOF && m == "" {
			break
		}
		if err != nil || !strings.HasPrefix(m, ":") {
			t.Fatalf("after the stop the stream sent %q, %v; want its clean end", m, err)
		}
	}
	waitFor(t, "the stream to end as shut down", func() bool {
		open, _, ended := srv.streams.Stats()
		return open[feed.KindSSE] == 0 && ended[feed.EndShutdown] == 1
	})
}

func TestAHEADOfTheStreamAnswersItsHeadersAndEnds(t *testing.T) {
	srv := newFeedServer(t, nil, nil)
	req, err := http.NewRequest(http.MethodHead, srv.URL+"/v1/tasks/changes/stream", nil)
	if err != nil {
		t.Fatal(err)
	}
	authorize(req, srv.creds)
	client := &http.Client{Timeout: 5 * time.Second}
	res, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK || res.Header.Get("Content-Type") != "text/event-stream" {
		t.Errorf("HEAD answered %d %q, want the stream's 200 headers", res.StatusCode, res.Header.Get("Content-Type"))
	}
	waitFor(t, "the HEAD to free its place", func() bool {
		open, _, _ := srv.streams.Stats()
		return open[feed.KindSSE] == 0
	})
}

// smallBuffers makes each accepted connection's send buffer small, so
// that a client that stops reading blocks the server's writes soon.
type smallBuffers struct{ net.Listener }

func (l smallBuffers) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetWriteBuffer(4 << 10)
	}
	return c, err
}

func TestAClientThatStopsReadingIsEndedAsTooSlow(t *testing.T) {
	srv := newFeedServer(t, func(o *rest.Options) { o.SendTimeout = 200 * time.Millisecond },
		func(hs *httptest.Server) { hs.Listener = smallBuffers{hs.Listener} })
	// Far more than the connections' buffers hold: each change carries a
	// description of 10,000 characters.
	const changes = 300
	description := strings.Repeat("x", 10000)
	for range changes {
		if _, err := srv.store.CreateTask(srv.ctx(), task.CreateInput{Title: "t", StartDatetime: start, ContactID: ptr(1),
			Description: &description}); err != nil {
			t.Fatal(err)
		}
	}
	conn, err := net.Dial("tcp", strings.TrimPrefix(srv.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.(*net.TCPConn).SetReadBuffer(4 << 10)
	fmt.Fprintf(conn, "GET /v1/tasks/changes/stream?after=0 HTTP/1.1\r\nHost: tasks\r\n%s: %s\r\n%s: %s\r\n\r\n",
		access.AccessKeyHeader, srv.creds.AccessKey, access.SecretKeyHeader, srv.creds.SecretKey)
	status, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil || !strings.Contains(status, "200") {
		t.Fatalf("status line %q, %v", status, err)
	}
	// The client reads nothing more.
	waitFor(t, "the stream to end as too slow", func() bool {
		open, _, ended := srv.streams.Stats()
		return open[feed.KindSSE] == 0 && ended[feed.EndTooSlow] == 1
	})
	if _, sent, _ := srv.streams.Stats(); sent[feed.KindSSE] >= changes {
		t.Errorf("all %d changes were counted as sent to a client that read none", sent[feed.KindSSE])
	}
}

func TestEveryReaderSeesEveryChangeOnceInOrderWhileManyWrite(t *testing.T) {
	srv := newFeedServer(t, nil, nil)
	const writers, streams, pagers = 8, 5, 3
	writing := 2 * time.Second
	if testing.Short() {
		writing = 300 * time.Millisecond
	}
	ctx, stopReading := context.WithCancel(context.Background())
	defer stopReading()
	type reader struct {
		name string
		mu   sync.Mutex
		seqs []int64
	}
	var readers []*reader
	var reading sync.WaitGroup
	add := func(name string, read func(r *reader)) {
		r := &reader{name: name}
		readers = append(readers, r)
		reading.Go(func() { read(r) })
	}
	seen := func(r *reader, seq int64) {
		r.mu.Lock()
		r.seqs = append(r.seqs, seq)
		r.mu.Unlock()
	}
	follow := func(i int) {
		s := srv.openStream(t, "/v1/tasks/changes/stream?after=0")
		s.isStream(t)
		add(fmt.Sprintf("stream %d", i), func(r *reader) {
			defer s.close()
			go func() { <-ctx.Done(); s.close() }()
			for {
				raw, err := s.message()
				if err != nil {
					if ctx.Err() == nil {
						t.Errorf("%s ended: %v", r.name, err)
					}
					return
				}
				if strings.HasPrefix(raw, ":") {
					continue
				}
				lines := strings.Split(raw, "\n")
				id, err := strconv.ParseInt(strings.TrimPrefix(lines[0], "id: "), 10, 64)
				if err != nil || len(lines) != 5 {
					t.Errorf("%s got %q", r.name, raw)
					return
				}
				seen(r, id)
			}
		})
	}
	page := func(i int) {
		limit := []int{5, 50, 1000}[i]
		add(fmt.Sprintf("pager %d (limit %d)", i, limit), func(r *reader) {
			var after int64
			for ctx.Err() == nil {
				res, err := http.DefaultClient.Do(func() *http.Request {
					req, _ := http.NewRequestWithContext(ctx, http.MethodGet,
						fmt.Sprintf("%s/v1/tasks/changes?after=%d&limit=%d", srv.URL, after, limit), nil)
					authorize(req, srv.creds)
					return req
				}())
				if err != nil {
					if ctx.Err() == nil {
						t.Errorf("%s: %v", r.name, err)
					}
					return
				}
				var body struct{ Data changesData }
				err = json.NewDecoder(res.Body).Decode(&body)
				res.Body.Close()
				if err != nil || res.StatusCode != http.StatusOK {
					t.Errorf("%s: %d, %v", r.name, res.StatusCode, err)
					return
				}
				for _, raw := range body.Data.Changes {
					var c changeJSON
					if err := json.Unmarshal(raw, &c); err != nil {
						t.Errorf("%s got %s: %v", r.name, raw, err)
						return
					}
					seen(r, c.Seq)
				}
				after = *body.Data.LastSeq
				if !*body.Data.HasMore {
					time.Sleep(5 * time.Millisecond)
				}
			}
		})
	}
	// Some readers start before the writes, the others while they go on;
	// all from the start of the feed.
	for i := range 3 {
		follow(i)
	}
	page(0)
	var writes sync.WaitGroup
	deadline := time.Now().Add(writing)
	for w := range writers {
		writes.Go(func() {
			for i := 0; time.Now().Before(deadline); i++ {
				var created struct {
					Data struct {
						ActivityID int `json:"activity_id"`
					}
				}
				if !srv.write(t, http.MethodPost, "/v1/tasks", fmt.Sprintf(
					`{"title":"writer %d, task %d","start_datetime":"2026-07-15T10:00:00","cstid":%d}`, w, i, w+1), &created) {
					return
				}
				switch path := taskPath(created.Data.ActivityID); i % 3 {
				case 1:
					srv.write(t, http.MethodPatch, path, `{"status":2}`, nil)
				case 2:
					srv.write(t, http.MethodDelete, path, "", nil)
				}
			}
		})
	}
	time.Sleep(writing / 2)
	for i := 3; i < streams; i++ {
		follow(i)
	}
	page(1)
	page(2)
	writes.Wait()
	want := srv.storedSeqs(t)
	head := want[len(want)-1]
	waitFor(t, "every reader to reach the head", func() bool {
		for _, r := range readers {
			r.mu.Lock()
			n := len(r.seqs)
			reached := n > 0 && r.seqs[n-1] >= head
			r.mu.Unlock()
			if !reached {
				return false
			}
		}
		return true
	})
	stopReading()
	reading.Wait()
	t.Logf("%d writers made %d changes", writers, len(want))
	for _, r := range readers {
		if !slices.Equal(r.seqs, want) {
			t.Errorf("%s saw %d changes, want all %d of the stored feed, each once, in order", r.name, len(r.seqs), len(want))
		}
	}
	if _, sent, _ := srv.streams.Stats(); sent[feed.KindSSE] != uint64(streams*len(want)) {
		t.Errorf("the streams counted %d changes sent, want %d", sent[feed.KindSSE], streams*len(want))
	}
}

// write sends a write, which must answer 200, and decodes its body into
// out when not nil. It reports a failure with t.Errorf, so that writers
// may run in goroutines of their own.
func (s *server) write(t *testing.T, method, path, body string, out any) bool {
	req, err := http.NewRequest(method, s.URL+path, strings.NewReader(body))
	if err != nil {
		t.Error(err)
		return false
	}
	req.Header.Set("Content-Type", "application/json")
	authorize(req, s.creds)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Errorf("%s %s: %v", method, path, err)
		return false
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil || res.StatusCode != http.StatusOK {
		t.Errorf("%s %s: %d %s %v", method, path, res.StatusCode, raw, err)
		return false
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			t.Errorf("%s %s: %v", method, path, err)
			return false
		}
	}
	return true
}
