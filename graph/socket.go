package graph

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/errcode"
	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/coder/websocket"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"tasksapi/access"
	"tasksapi/task"
)

// graphqlTransportWS is the WebSocket subprotocol GraphQL is served over.
// The older subscriptions-transport-ws protocol (graphql-ws) is not: its
// messages and close codes differ, and its clients are long deprecated.
const graphqlTransportWS = "graphql-transport-ws"

// Close codes a socket ends with, beyond RFC 6455's own.
const (
	closeGoingAway      = 1001 // the server is stopping
	closeInternalError  = 1011 // a fault of the server's at connection_init
	closeBadRequest     = 4400 // a message that is not of the protocol
	closeForbidden      = 4403 // wrong or missing credentials at connection_init
	closeInitTimeout    = 4408 // no connection_init in time
	closeTooManyRequest = 4429 // the key's rate limit refused the connection_init
)

// DefaultInitTimeout is how long a socket may go without sending
// connection_init before it is closed with 4408.
const DefaultInitTimeout = 10 * time.Second

// pingInterval is how often an idle socket is pinged, and an idle event
// stream sent a comment: often enough for proxies that drop idle
// connections after 30 s or more. A socket whose client answers no ping
// for two intervals is dropped, so a peer that vanished without closing
// holds nothing for long.
const pingInterval = 15 * time.Second

// wsTransport serves GraphQL over WebSocket in the graphql-transport-ws
// protocol, over coder/websocket, in place of gqlgen's websocket
// transport: every message is answered as that one answers it, with the
// same messages, bytes and close codes, and with what it leaves out:
//
//   - a socket that sends no connection_init within initTimeout is closed
//     with 4408, as graphql-transport-ws asks (gqlgen's InitTimeout closes
//     with 1002);
//   - a write that blocks for sendTimeout drops the connection as too slow
//     (gqlgen's writes wait for ever, holding the socket's other writers);
//   - when stop ends, the socket is closed with 1001, going away: the
//     server's Shutdown does not touch a hijacked connection;
//   - a result whose payload was encoded once for every subscriber with
//     the same selection (see planReads.subscription) is written as it is,
//     with the subscription's id spliced in, where gqlgen encodes each
//     result three times for each subscriber;
//   - a socket costs its reader goroutine and one for each running
//     operation: pings, deadlines and the server's stop are timers.
type wsTransport struct {
	initTimeout time.Duration
	sendTimeout time.Duration
	stop        context.Context
	guard       *access.Guard
	log         *slog.Logger
}

var _ graphql.Transport = wsTransport{}

// wsReadLimit bounds a message a client sends (gqlgen's default).
const wsReadLimit = 1 << 20

func (wsTransport) Supports(r *http.Request) bool { return r.Header.Get("Upgrade") != "" }

func (t wsTransport) Do(w http.ResponseWriter, r *http.Request, exec graphql.GraphExecutor) {
	cw := &corkingWriter{ResponseWriter: w}
	conn, err := websocket.Accept(cw, r, &websocket.AcceptOptions{
		Subprotocols: []string{graphqlTransportWS},
		// The handler has checked the origin against the server's CORS
		// origins before the upgrade (allowedOrigin).
		InsecureSkipVerify: true,
	})
	if err != nil {
		t.log.WarnContext(r.Context(), "upgrading to a WebSocket failed", "err", err)
		transport.SendErrorf(w, http.StatusBadRequest, "unable to upgrade")
		return
	}
	c := &socket{t: t, conn: conn, corked: cw.conn, exec: exec, ctx: r.Context(), headers: r.Header,
		sub: subscriberOf(r.Context()), active: map[string]context.CancelFunc{}}
	c.sub.mu.Lock()
	c.sub.socket = c
	c.sub.mu.Unlock()
	// Either may fire at once; its close waits for the socket to be set.
	c.mu.Lock()
	c.initTimer = time.AfterFunc(t.initTimeout, func() {
		c.writeClose(closeInitTimeout, "Connection initialisation timeout")
	})
	c.stopWatch = context.AfterFunc(t.stop, func() {
		c.writeClose(closeGoingAway, "The server is shutting down")
	})
	c.mu.Unlock()
	if conn.Subprotocol() != graphqlTransportWS { // the handler asked for it: never
		c.close(websocket.StatusProtocolError, "unsupported negotiated subprotocol "+conn.Subprotocol())
		return
	}
	conn.SetReadLimit(wsReadLimit)
	if !c.init() {
		return
	}
	c.run()
}

// socket is one accepted WebSocket and the operations it runs.
type socket struct {
	t       wsTransport
	conn    *websocket.Conn
	corked  *corkedConn // conn's connection
	exec    graphql.GraphExecutor
	sub     *subscriber
	headers http.Header
	ctx     context.Context // the upgrade request's, then connection_init's

	mu           sync.Mutex
	active       map[string]context.CancelFunc // running operations, by id
	closed       bool                          // close has run
	closing      bool                          // a close handshake has begun: it closes the connection
	initTimer    *time.Timer                   // closes a socket that sends no connection_init
	stopWatch    func() bool                   // closes the socket when the server stops
	readDeadline *time.Timer                   // drops a socket whose client answers no ping
	pinger       *time.Timer
	receivedPong bool
}

// wsMessage is a graphql-transport-ws message, its fields in the order
// gqlgen writes them.
type wsMessage struct {
	Payload json.RawMessage `json:"payload,omitempty"`
	ID      string          `json:"id,omitempty"`
	Type    string          `json:"type"`
}

// The message types of graphql-transport-ws.
const (
	msgConnectionInit = "connection_init"
	msgConnectionAck  = "connection_ack"
	msgSubscribe      = "subscribe"
	msgNext           = "next"
	msgError          = "error"
	msgComplete       = "complete"
	msgPing           = "ping"
	msgPong           = "pong"
)

var (
	errInvalidMessage = errors.New("invalid message")
	errWebsocketRead  = transport.ErrWebsocketClosed
)

// next reads the next message. One that is not JSON, or of no type of the
// protocol, is errInvalidMessage; one of a type only a server sends is an
// error too.
func (c *socket) next() (wsMessage, error) {
	_, data, err := c.conn.Read(context.Background())
	if err != nil {
		switch websocket.CloseStatus(err) {
		case websocket.StatusNormalClosure, websocket.StatusNoStatusRcvd:
			return wsMessage{}, errWebsocketRead
		}
		return wsMessage{}, err
	}
	// The first message has come: connection_init or not, it is answered.
	c.mu.Lock()
	c.initTimer.Stop()
	c.mu.Unlock()
	var m wsMessage
	if err := decodeJSON(data, &m); err != nil {
		return wsMessage{}, errInvalidMessage
	}
	switch m.Type {
	case msgConnectionInit, msgSubscribe, msgComplete, msgPing, msgPong:
		return m, nil
	case msgConnectionAck, msgNext, msgError:
		return m, fmt.Errorf("invalid client->server message type %s", m.Type)
	}
	return wsMessage{}, errInvalidMessage
}

// decodeJSON decodes the first JSON value of data into v, numbers kept as
// json.Number, as gqlgen's transports read messages.
func decodeJSON(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	return dec.Decode(v)
}

// init reads connection_init and admits the socket by it, or closes it.
func (c *socket) init() bool {
	m, err := c.next()
	if err != nil {
		c.close(websocket.StatusProtocolError, "decoding error")
		return false
	}
	if m.Type != msgConnectionInit {
		c.close(websocket.StatusProtocolError, "unexpected message")
		return false
	}
	var payload transport.InitPayload
	if len(m.Payload) > 0 {
		payload = make(transport.InitPayload)
		if json.Unmarshal(m.Payload, &payload) != nil {
			return false // closeLeftOpen closes it with 4400
		}
	}
	ctx, code, reason, err := c.admit(payload)
	if err != nil {
		c.close(websocket.StatusCode(code), reason)
		return false
	}
	c.ctx = ctx
	c.send(wsMessage{Type: msgConnectionAck})
	return true
}

// run answers the socket's messages until it ends.
func (c *socket) run() {
	ctx, cancel := context.WithCancel(c.ctx)
	defer cancel()
	// The socket closes when run ends, or the request's context does.
	context.AfterFunc(ctx, func() { c.close(websocket.StatusNormalClosure, "terminated") })

	c.mu.Lock()
	c.setReadDeadline(time.Now().Add(2 * pingInterval))
	c.pinger = time.AfterFunc(pingInterval, c.ping)
	c.mu.Unlock()

	for {
		start := graphql.Now()
		m, err := c.next()
		if err != nil {
			if !errors.Is(err, net.ErrClosed) && !errors.Is(err, errWebsocketRead) {
				c.readFailed(err)
			}
			return
		}
		switch m.Type {
		case msgSubscribe:
			c.subscribe(start, m)
		case msgComplete:
			c.mu.Lock()
			stop := c.active[m.ID]
			c.mu.Unlock()
			if stop != nil {
				stop()
			}
		case msgPing:
			c.send(wsMessage{Type: msgPong, Payload: m.Payload})
		case msgPong:
			c.mu.Lock()
			c.receivedPong = true
			c.setReadDeadline(time.Time{})
			c.mu.Unlock()
		default: // a second connection_init
			c.close(websocket.StatusProtocolError, "unexpected message")
			return
		}
	}
}

// ping pings the client every pingInterval. Once the client has answered
// a ping, the next must be answered within two intervals.
func (c *socket) ping() {
	c.send(wsMessage{Type: msgPing})
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return
	}
	if c.receivedPong {
		c.setReadDeadline(time.Now().Add(2 * pingInterval))
	}
	c.receivedPong = false
	c.pinger.Reset(pingInterval)
}

// readFailed learns of a message that could not be read. For a message
// that is not of the protocol (not JSON, or of no type it has), it closes
// the socket with 4400, as graphql-transport-ws asks; a connection that
// failed or was closed by the client is closed already.
func (c *socket) readFailed(err error) {
	if websocket.CloseStatus(err) != -1 || errors.Is(err, net.ErrClosed) {
		return
	}
	c.writeClose(closeBadRequest, "Invalid message")
}

// subscribe starts an operation: a subscription, or a query or mutation
// answered by one next message. Its results are sent by a goroutine of
// its own until it ends, then complete (or the error that ended it).
func (c *socket) subscribe(start time.Time, m wsMessage) {
	ctx := graphql.StartOperationTrace(c.ctx)
	params := &graphql.RawParams{}
	if err := decodeJSON(m.Payload, params); err != nil {
		c.sendError(m.ID, &gqlerror.Error{Message: "invalid json"})
		c.complete(m.ID)
		return
	}
	params.ReadTime = graphql.TraceTiming{Start: start, End: graphql.Now()}
	params.Headers = c.headers

	rc, errs := c.exec.CreateOperationContext(ctx, params)
	if errs != nil {
		resp := c.exec.DispatchError(graphql.WithOperationContext(ctx, rc), errs)
		switch errcode.GetErrorKind(errs) {
		case errcode.KindProtocol:
			c.sendError(m.ID, resp.Errors...)
		default:
			c.sendResponse(newOperation(c, m.ID), &graphql.Response{Errors: errs})
		}
		c.complete(m.ID)
		return
	}
	ctx = graphql.WithOperationContext(ctx, rc)
	ctx, cancel := context.WithCancel(ctx)
	op := newOperation(c, m.ID)
	ctx = withOperation(ctx, op)
	c.mu.Lock()
	c.active[m.ID] = cancel
	c.mu.Unlock()

	go func() {
		defer func() {
			r := recover()
			c.uncork(op)
			if op.onEnd != nil {
				op.onEnd()
			}
			if r != nil {
				err := rc.Recover(ctx, r)
				var gqlerr *gqlerror.Error
				if !errors.As(err, &gqlerr) {
					gqlerr = &gqlerror.Error{}
					if err != nil {
						gqlerr.Message = err.Error()
					}
				}
				c.sendError(m.ID, gqlerr)
			}
			if errs := op.failures(); len(errs) != 0 {
				c.sendError(m.ID, errs...)
			} else if c.ctx.Err() == nil {
				// A socket whose context ended is closing: complete
				// would tell of a normal end.
				c.complete(m.ID)
			}
			c.mu.Lock()
			delete(c.active, m.ID)
			c.mu.Unlock()
			cancel()
			op.release()
		}()
		responses, ctx := c.exec.DispatchOperation(ctx, rc)
		for {
			resp := responses(ctx)
			if resp == nil {
				break
			}
			c.sendResponse(op, resp)
		}
	}()
}

// sendResponse sends a result as a next message: as gqlgen encodes it, or
// when it is a change whose payload was encoded for every subscriber of
// its selection, that payload with the operation's id.
func (c *socket) sendResponse(op *operation, resp *graphql.Response) {
	if payload := op.sharedPayload(resp); payload != nil {
		if op.more && !op.corked {
			c.corked.cork()
			op.corked = true
		}
		b := append(append(append(op.buf[:0], `{"payload":`...), payload...), op.suffix...)
		op.buf = b
		c.writeTimed(b, op.timer)
		if !op.more {
			c.uncork(op)
		}
		return
	}
	c.uncork(op)
	b, err := json.Marshal(resp)
	if err != nil {
		panic(err)
	}
	c.send(wsMessage{Payload: b, ID: op.id, Type: msgNext})
}

// uncork sends the writes the socket held back for op, in one write to
// the connection.
func (c *socket) uncork(op *operation) {
	if !op.corked {
		return
	}
	op.corked = false
	op.timer.Reset(c.t.sendTimeout)
	c.corked.uncork()
	op.timer.Stop()
}

func (c *socket) complete(id string) { c.send(wsMessage{ID: id, Type: msgComplete}) }

func (c *socket) sendError(id string, errs ...*gqlerror.Error) {
	list := make([]error, len(errs))
	for i, err := range errs {
		list[i] = err
	}
	b, err := json.Marshal(list)
	if err != nil {
		panic(err)
	}
	c.send(wsMessage{Payload: b, ID: id, Type: msgError})
}

// send writes m; a write that fails is left to the reader, which learns
// of the connection's end.
func (c *socket) send(m wsMessage) {
	b, err := json.Marshal(m)
	if err != nil {
		panic(err)
	}
	c.writeTimed(b, nil)
}

// writeTimed writes one message, dropping the connection as too slow if
// the write blocks for the send timeout. timer, when given, is the
// caller's own, stopped, and fires tooSlow: kept from write to write, so
// that a stream of writes costs no timer each.
func (c *socket) writeTimed(b []byte, timer *time.Timer) {
	if timer == nil {
		timer = time.AfterFunc(c.t.sendTimeout, c.tooSlow)
	} else {
		timer.Reset(c.t.sendTimeout)
	}
	// coder/websocket sets a write's deadline from its context, at the
	// price of a registration each: this one never ends, and the timer
	// closes the connection, which ends a blocked write as well.
	_ = c.conn.Write(context.Background(), websocket.MessageText, b)
	timer.Stop()
}

// tooSlow drops a connection whose write blocked for the send timeout; its
// subscriptions end with that reason.
func (c *socket) tooSlow() {
	c.sub.tooSlow.Store(true)
	_ = c.conn.CloseNow()
}

// close closes the socket with code, unless a close has begun, and stops
// its operations.
func (c *socket) close(code websocket.StatusCode, reason string) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.startClose(int(code), reason)
	for _, stop := range c.active {
		stop()
	}
	c.closed = true
	if c.pinger != nil {
		c.pinger.Stop()
	}
	c.mu.Unlock()
}

// writeClose begins the close handshake with code, unless one has begun:
// the first close of a socket says why it ends.
func (c *socket) writeClose(code int, reason string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.startClose(code, reason)
}

// startClose begins the close handshake; c.mu is held. The handshake
// waits for the client's answer (up to 5 s), so it runs on its own and
// closes the connection when done.
func (c *socket) startClose(code int, reason string) {
	if c.closing {
		return
	}
	c.closing = true
	c.initTimer.Stop()
	c.stopWatch()
	c.setReadDeadline(time.Time{})
	go func() { _ = c.conn.Close(websocket.StatusCode(code), reason) }()
}

// setReadDeadline drops the connection at t unless called again before;
// the zero time clears it. c.mu is held.
func (c *socket) setReadDeadline(t time.Time) {
	if c.readDeadline != nil {
		c.readDeadline.Stop()
		c.readDeadline = nil
	}
	if !t.IsZero() && !c.closing {
		c.readDeadline = time.AfterFunc(time.Until(t), func() { _ = c.conn.CloseNow() })
	}
}

// closeLeftOpen closes a subscriber's socket if its transport left it
// open, as it does when connection_init has a payload that is not an
// object: graphql-transport-ws closes the socket with 4400 then, and
// nothing would read it any more. A socket closed already is left as it
// is.
func (s *subscriber) closeLeftOpen() {
	s.mu.Lock()
	c := s.socket
	s.mu.Unlock()
	if c != nil {
		c.writeClose(closeBadRequest, "Invalid message")
	}
}

// admit authenticates a socket's connection_init: by the key in its
// payload, or when the payload has none, by the key the upgrade request
// was admitted with. A refusal gives the code and reason to close the
// socket with: 4403 for credentials, 4429 for the rate limit, 1011 for a
// fault (logged).
func (c *socket) admit(payload transport.InitPayload) (context.Context, int, string, error) {
	ctx := c.ctx
	accessKey, secret := payload.GetString(access.AccessKeyHeader), payload.GetString(access.SecretKeyHeader)
	if accessKey == "" && secret == "" {
		if _, ok := access.FromContext(ctx); ok {
			return ctx, 0, "", nil
		}
		return nil, closeForbidden, "Forbidden", errNoCredentials
	}
	admitted, err := c.t.guard.AdmitKey(ctx, accessKey, secret, nil)
	if err != nil {
		switch task.ErrorCode(err) {
		case task.CodeUnauthenticated:
			return nil, closeForbidden, "Forbidden", err
		case task.CodeRateLimited:
			return nil, closeTooManyRequest, "Too many requests", err
		default:
			c.t.log.ErrorContext(ctx, "admitting a socket failed", "err", err)
			return nil, closeInternalError, "Internal error", err
		}
	}
	c.sub.setCredentials(accessKey, secret)
	return admitted, 0, "", nil
}

// errNoCredentials refuses a socket that sent no key, neither on the
// upgrade request nor in connection_init.
var errNoCredentials = &task.Error{Code: task.CodeUnauthenticated, Message: "Invalid API credentials."}

// offersSubprotocol reports whether a WebSocket upgrade offers the
// graphql-transport-ws subprotocol.
func offersSubprotocol(h http.Header) bool {
	for _, v := range h.Values("Sec-WebSocket-Protocol") {
		for p := range strings.SplitSeq(v, ",") {
			if strings.TrimSpace(p) == graphqlTransportWS {
				return true
			}
		}
	}
	return false
}

// allowedOrigin applies the server's CORS origins to a WebSocket upgrade,
// which CORS itself does not cover: a browser opens a socket to any
// origin, and the server must refuse the ones it does not serve. An
// upgrade without an Origin header is from a client that is not a
// browser, and one from the server's own origin (the playground's) is
// always allowed. Otherwise the origin must be listed, or match a listed
// pattern with one * (as rs/cors reads them); "*" allows any.
func allowedOrigin(r *http.Request, allowed []string) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true
	}
	if u, err := url.Parse(origin); err == nil && strings.EqualFold(u.Host, r.Host) {
		return true
	}
	origin = strings.ToLower(origin)
	for _, a := range allowed {
		a = strings.ToLower(a)
		if a == "*" || a == origin {
			return true
		}
		if prefix, suffix, ok := strings.Cut(a, "*"); ok && len(origin) >= len(prefix)+len(suffix) &&
			strings.HasPrefix(origin, prefix) && strings.HasSuffix(origin, suffix) {
			return true
		}
	}
	return false
}

// corkingWriter hands coder/websocket the hijacked connection as a
// corkedConn.
type corkingWriter struct {
	http.ResponseWriter
	conn *corkedConn
}

func (w *corkingWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *corkingWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	conn, brw, err := http.NewResponseController(w.ResponseWriter).Hijack()
	if err != nil {
		return nil, nil, err
	}
	w.conn = &corkedConn{Conn: conn}
	// A writer of the same size as net/http's, over the corked connection;
	// the hijack leaves it empty.
	return w.conn, bufio.NewReadWriter(brw.Reader, bufio.NewWriterSize(w.conn, brw.Writer.Size())), nil
}

// corkedConn is a WebSocket's connection that can hold its writes back
// and send them in one system call: coder/websocket writes each message to
// the connection as it is written, and a subscriber that is behind is
// sent its changes together (up to maxCorked bytes at a time), which costs
// the server and the client a fraction of a write each.
type corkedConn struct {
	net.Conn

	mu    sync.Mutex
	corks int     // holders of the cork: writes are held while any
	held  *[]byte // writes held back, in a buffer of corkBuffers
	err   error   // the write that failed: the connection is done
}

// maxCorked bounds the bytes a connection holds back.
const maxCorked = 32 << 10

// corkBuffers are the buffers of held writes, taken by a connection while
// it holds some: few connections hold writes back at any moment.
var corkBuffers = sync.Pool{New: func() any {
	b := make([]byte, 0, maxCorked)
	return &b
}}

func (c *corkedConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return 0, c.err
	}
	if c.corks > 0 && (c.held == nil || len(*c.held)+len(p) <= maxCorked) && len(p) <= maxCorked {
		if c.held == nil {
			c.held = corkBuffers.Get().(*[]byte)
		}
		*c.held = append(*c.held, p...)
		return len(p), nil
	}
	if err := c.flush(); err != nil {
		return 0, err
	}
	return c.Conn.Write(p)
}

// cork holds writes back until every cork is undone.
func (c *corkedConn) cork() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.corks++
}

// uncork undoes a cork, sending what is held once none is left.
func (c *corkedConn) uncork() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.corks--; c.corks == 0 {
		_ = c.flush()
	}
}

// flush sends what is held; c.mu is held.
func (c *corkedConn) flush() error {
	if c.held == nil {
		return c.err
	}
	if c.err == nil {
		_, c.err = c.Conn.Write(*c.held)
	}
	*c.held = (*c.held)[:0]
	corkBuffers.Put(c.held)
	c.held = nil
	return c.err
}
