package rest

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"tasksapi/access"
	"tasksapi/feed"
	"tasksapi/task"
)

// The change feed over REST: GET /v1/tasks/changes reads it a page at a
// time, and GET /v1/tasks/changes/stream follows it as server-sent events.
// What after and limit may be, and their defaults, are the domain's
// (feed.Params.Query); here text only becomes values.

const (
	// DefaultKeepAlive is the longest a stream stays silent: while no
	// change comes, a comment line is sent this often, so that proxies
	// and load balancers that close idle connections leave it open.
	DefaultKeepAlive = 15 * time.Second
	// DefaultSendTimeout is the longest one batch of a stream's events
	// (at most streamBatch changes, or one keep-alive) may take to leave
	// the server. A write blocks only once the client has stopped reading
	// (or reads slower than changes come) and the connection's buffers
	// are full; a stream whose batch has not gone out by then is ended as
	// too slow, and its client resumes from the last event it got. So the
	// server never holds more than one batch for a stream, and never waits
	// on a stalled client longer than this.
	DefaultSendTimeout = 30 * time.Second
	// streamBatch is how many changes a stream takes from the feed, and
	// writes, at a time.
	streamBatch = feed.DefaultLimit
)

// lastEventID is the header an EventSource sends when it reconnects: the
// id of the last event it got, which is that change's seq.
const lastEventID = "Last-Event-ID"

func (a *API) listChanges(w http.ResponseWriter, r *http.Request) error {
	values, err := parseQuery(r.URL.RawQuery)
	if err != nil {
		return err
	}
	var errs []task.FieldError
	p := feed.Params{
		After: queryInteger[int64](values, "after", &errs),
		Limit: queryInteger[int](values, "limit", &errs),
	}
	q := feedQuery(p, "", &errs)
	if len(errs) > 0 {
		return &task.Error{Code: task.CodeInvalid, Fields: errs}
	}
	page, err := a.changes.Changes(r.Context(), q)
	if err != nil {
		return err
	}
	buf := bodies.Get().(*[]byte)
	defer putBody(buf)
	*buf = appendChangesBody((*buf)[:0], page)
	writeBody(w, http.StatusOK, *buf)
	return nil
}

// streamChanges answers with the stream of the organisation's changes.
// Everything that can refuse it (the key, the parameters, the key's bound
// of streams, a point no longer kept) is settled before the stream
// starts, so that a refusal is an ordinary JSON answer.
func (a *API) streamChanges(w http.ResponseWriter, r *http.Request) error {
	after, err := streamStart(r)
	if err != nil {
		return err
	}
	p, ok := access.FromContext(r.Context())
	if !ok {
		return errors.New("a stream without a principal")
	}
	stream, err := a.streams.Open(p.KeyID, feed.KindSSE)
	if err != nil {
		return err
	}
	first, err := a.backlog(r.Context(), after)
	if err != nil {
		if task.ErrorCode(err) == task.CodeExpired {
			stream.End(feed.EndExpired)
		} else {
			stream.End(feed.EndFailed)
		}
		return err
	}
	stream.End(a.follow(w, r, stream, first))
	return nil
}

// streamStart reads where a stream starts: after the Last-Event-ID header,
// which an EventSource sends when it reconnects and so wins, else after
// the after parameter; nil, with neither, for from now. Both are checked
// when both are sent.
func streamStart(r *http.Request) (*int64, error) {
	values, err := parseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, err
	}
	var errs []task.FieldError
	after := queryInteger[int64](values, "after", &errs)
	var resume *int64
	switch ids := r.Header.Values(lastEventID); {
	case len(ids) > 1:
		errs = append(errs, task.FieldError{Field: lastEventID, Message: "must be sent once"})
	case len(ids) == 1 && ids[0] != "":
		resume = integer[int64](ids[0], lastEventID, &errs)
	}
	feedQuery(feed.Params{After: after}, "", &errs)
	// The header is a seq as after is, by the same rules, reported under
	// its own name.
	feedQuery(feed.Params{After: resume}, lastEventID, &errs)
	if len(errs) > 0 {
		return nil, &task.Error{Code: task.CodeInvalid, Fields: errs}
	}
	if resume != nil {
		return resume, nil
	}
	return after, nil
}

// backlog returns what a stream sends first, read before it starts so
// that a point no longer kept is a 410 rather than a stream that ends at
// once: a batch of the changes after `after`, or, from now, none, with
// LastSeq the organisation's newest seq.
func (a *API) backlog(ctx context.Context, after *int64) (feed.Page, error) {
	if after == nil {
		head, err := a.changes.Changes(ctx, feed.Query{After: feed.MaxSeq, Limit: 1})
		return feed.Page{LastSeq: head.HeadSeq, HeadSeq: head.HeadSeq}, err
	}
	return a.changes.Changes(ctx, feed.Query{After: *after, Limit: streamBatch})
}

// follow sends the stream: first's changes, then each batch of new ones as
// it commits, and a keep-alive whenever the stream has been silent for
// keepAlive. It returns why the stream ended: the client went away, the
// server began to stop, the client stopped taking events, or the feed
// could not be read.
func (a *API) follow(w http.ResponseWriter, r *http.Request, stream *feed.Stream, first feed.Page) string {
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	defer context.AfterFunc(a.stop, cancel)()
	es := &eventStream{w: w, rc: http.NewResponseController(w), timeout: a.sendTimeout}
	defer es.finish()
	ended := func(err error) string {
		var ne net.Error
		switch {
		case errors.As(err, &ne) && ne.Timeout():
			return feed.EndTooSlow
		case a.stop.Err() != nil:
			return feed.EndShutdown
		default:
			return feed.EndClosed
		}
	}

	if err := es.start(); err != nil || r.Method == http.MethodHead {
		return ended(err)
	}
	backlog := make([]*feed.Change, len(first.Changes))
	for i := range first.Changes {
		backlog[i] = &first.Changes[i]
	}
	if err := es.send(backlog); err != nil {
		return ended(err)
	}
	stream.Sent(len(backlog))

	f, err := a.hub.Follow(ctx, first.LastSeq)
	if err != nil {
		a.log.ErrorContext(ctx, "following the change feed failed", "err", err)
		return feed.EndFailed
	}
	defer f.Close()
	for {
		// Next waits for a commit; the wait ends after keepAlive, so
		// that a silent stream sends its comment. A wait ended that way
		// changes nothing of the follower: the next one reads on from
		// the same seq.
		wait, stopWaiting := context.WithTimeout(ctx, a.keepAlive)
		changes, err := f.Next(wait, streamBatch)
		idle := errors.Is(wait.Err(), context.DeadlineExceeded)
		stopWaiting()
		switch {
		case err == nil:
			if err := es.send(changes); err != nil {
				return ended(err)
			}
			stream.Sent(len(changes))
		case ctx.Err() != nil:
			return ended(nil)
		case idle:
			if err := es.keepAlive(); err != nil {
				return ended(err)
			}
		case task.ErrorCode(err) == task.CodeExpired:
			// The client's reconnect is answered with the 410 itself.
			return feed.EndExpired
		default:
			a.log.ErrorContext(ctx, "reading the change feed for a stream failed", "err", err)
			return feed.EndFailed
		}
	}
}

// eventStream writes one response's server-sent events.
type eventStream struct {
	w       http.ResponseWriter
	rc      *http.ResponseController
	timeout time.Duration
	buf     []byte // an event's lines before its data
}

// start sends the stream's headers at once, so that the client knows its
// stream is under way before any change comes.
func (es *eventStream) start() error {
	h := es.w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no") // nginx: pass events on as they come
	es.w.WriteHeader(http.StatusOK)
	es.deadline()
	return es.rc.Flush()
}

// send writes one event for each change, and flushes them together: one
// batch, under one write deadline. data is the change on one line, as
// ChangeJSON escapes every line break inside its strings.
func (es *eventStream) send(changes []*feed.Change) error {
	if len(changes) == 0 {
		return nil
	}
	es.deadline()
	for _, c := range changes {
		b := append(es.buf[:0], "id: "...)
		b = strconv.AppendInt(b, c.Seq, 10)
		b = append(b, "\nevent: "...)
		b = append(b, c.Type.String()...)
		b = append(b, "\ndata: "...)
		es.buf = b
		if _, err := es.w.Write(b); err != nil {
			return err
		}
		if _, err := es.w.Write(c.Wire(ChangeJSON)); err != nil {
			return err
		}
		if _, err := es.w.Write(eventEnd); err != nil {
			return err
		}
	}
	return es.rc.Flush()
}

var (
	eventEnd     = []byte("\n\n")
	keepAliveMsg = []byte(": keep-alive\n\n")
)

// keepAlive writes a comment line, which an EventSource ignores.
func (es *eventStream) keepAlive() error {
	es.deadline()
	if _, err := es.w.Write(keepAliveMsg); err != nil {
		return err
	}
	return es.rc.Flush()
}

// deadline gives the next batch its send timeout, in place of the
// server's write timeout, which would end every stream after 30 s.
func (es *eventStream) deadline() {
	_ = es.rc.SetWriteDeadline(time.Now().Add(es.timeout))
}

// finish gives the end of the response its own send timeout: the
// deadline of the last batch may have passed while the stream was idle.
func (es *eventStream) finish() { es.deadline() }

// parseQuery parses a query string; one that cannot be parsed is a 422
// on the field query, never read as something else.
func parseQuery(rawQuery string) (url.Values, error) {
	values, err := url.ParseQuery(rawQuery)
	if err != nil {
		return nil, task.Invalid("query", "could not be parsed: "+err.Error())
	}
	return values, nil
}

// queryInteger reads the query parameter name as an integer, nil when it
// is absent or empty; a value that is not one is recorded in errs.
func queryInteger[T int | int64](values url.Values, name string, errs *[]task.FieldError) *T {
	s := values.Get(name)
	if s == "" {
		return nil
	}
	return integer[T](s, name, errs)
}

// integer converts s, or records in errs that field must be an integer.
// A number too large for 64 bits is still a number: it is read as the
// largest (or smallest) one, which the domain's ranges then refuse or
// cap like any other out of range.
func integer[T int | int64](s, field string, errs *[]task.FieldError) *T {
	bits := 64
	if _, isInt := any(T(0)).(int); isInt {
		bits = strconv.IntSize
	}
	n, err := strconv.ParseInt(s, 10, bits)
	if err != nil && !errors.Is(err, strconv.ErrRange) {
		*errs = append(*errs, task.FieldError{Field: field, Message: "must be an integer"})
		return nil
	}
	v := T(n)
	return &v
}

// feedQuery applies the domain's rules to p, adding those it breaks to
// errs, under the name field when one is given.
func feedQuery(p feed.Params, field string, errs *[]task.FieldError) feed.Query {
	q, err := p.Query()
	var te *task.Error
	if errors.As(err, &te) {
		for _, fe := range te.Fields {
			if field != "" {
				fe.Field = field
			}
			*errs = append(*errs, fe)
		}
	}
	return q
}
