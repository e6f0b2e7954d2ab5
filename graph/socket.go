package graph

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/coder/websocket"

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

// sockets accepts WebSocket connections for gqlgen's websocket transport,
// over coder/websocket as gqlgen's own adapter does, with what that one
// leaves out:
//
//   - a socket that sends no connection_init within initTimeout is closed
//     with 4408, as graphql-transport-ws asks (gqlgen's InitTimeout closes
//     with 1002);
//   - a write that blocks for sendTimeout drops the connection as too slow
//     (gqlgen's writes wait for ever, holding the socket's other writers);
//   - when stop ends, the socket is closed with 1001, going away: the
//     server's Shutdown does not touch a hijacked connection.
type sockets struct {
	initTimeout time.Duration
	sendTimeout time.Duration
	stop        context.Context
}

var _ transport.WebsocketImplementation = sockets{}

func (s sockets) Accept(w http.ResponseWriter, r *http.Request, _ transport.WebsocketAcceptOptions) (transport.WebsocketConn, error) {
	conn, err := websocket.Accept(w, r, &websocket.AcceptOptions{
		Subprotocols: []string{graphqlTransportWS},
		// The handler has checked the origin against the server's CORS
		// origins before the upgrade (allowedOrigin).
		InsecureSkipVerify: true,
	})
	if err != nil {
		return nil, err
	}
	c := &socket{conn: conn, sub: subscriberOf(r.Context()), sendTimeout: s.sendTimeout}
	c.sub.mu.Lock()
	c.sub.socket = c
	c.sub.mu.Unlock()
	// Either may fire at once; its close waits for the socket to be set.
	c.mu.Lock()
	defer c.mu.Unlock()
	c.initTimer = time.AfterFunc(s.initTimeout, func() {
		_ = c.WriteClose(closeInitTimeout, "Connection initialisation timeout")
	})
	c.stopWatch = context.AfterFunc(s.stop, func() {
		_ = c.WriteClose(closeGoingAway, "The server is shutting down")
	})
	return c, nil
}

// socket is one accepted WebSocket, as gqlgen's transport uses it.
type socket struct {
	conn        *websocket.Conn
	sub         *subscriber
	sendTimeout time.Duration

	mu           sync.Mutex
	initTimer    *time.Timer // closes a socket that sends no connection_init
	stopWatch    func() bool // closes the socket when the server stops
	closing      bool        // a close handshake has begun: it closes the connection
	readDeadline *time.Timer // drops a socket whose client answers no ping
}

var (
	_ transport.WebsocketConn          = (*socket)(nil)
	_ transport.WebsocketReadLimiter   = (*socket)(nil)
	_ transport.WebsocketReadDeadliner = (*socket)(nil)
)

func (c *socket) NextReader() (int, io.Reader, error) {
	typ, data, err := c.conn.Read(context.Background())
	if err != nil {
		switch websocket.CloseStatus(err) {
		case websocket.StatusNormalClosure, websocket.StatusNoStatusRcvd:
			return 0, nil, transport.ErrWebsocketClosed
		}
		return 0, nil, err
	}
	// The first message has come: connection_init or not, gqlgen's
	// transport answers it.
	c.mu.Lock()
	c.initTimer.Stop()
	c.mu.Unlock()
	return int(typ), bytes.NewReader(data), nil
}

func (c *socket) WriteJSON(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// coder/websocket closes the connection when a write's context ends;
	// the subscriber learns why first.
	slow := time.AfterFunc(c.sendTimeout, func() {
		c.sub.tooSlow.Store(true)
		cancel()
	})
	defer slow.Stop()
	return c.conn.Write(ctx, websocket.MessageText, b)
}

// WriteClose begins the close handshake with code, unless one has begun:
// the first close of a socket says why it ends. The handshake waits for
// the client's answer (up to 5 s), so it runs on its own and closes the
// connection when done.
func (c *socket) WriteClose(code int, reason string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closing {
		return nil
	}
	c.closing = true
	c.release()
	go func() { _ = c.conn.Close(websocket.StatusCode(code), reason) }()
	return nil
}

func (c *socket) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.release()
	if c.closing {
		return nil // the handshake closes the connection
	}
	return c.conn.CloseNow()
}

// release stops the socket's timers and its watch on the server's stop;
// c.mu is held.
func (c *socket) release() {
	c.initTimer.Stop()
	c.stopWatch()
	c.setReadDeadline(time.Time{})
}

func (c *socket) Subprotocol() string { return c.conn.Subprotocol() }

func (c *socket) SetReadLimit(limit int64) { c.conn.SetReadLimit(limit) }

// SetReadDeadline drops the connection at t unless called again before;
// the zero time clears it. gqlgen's transport sets one after each ping
// and clears it on the pong.
func (c *socket) SetReadDeadline(t time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.setReadDeadline(t)
	return nil
}

func (c *socket) setReadDeadline(t time.Time) {
	if c.readDeadline != nil {
		c.readDeadline.Stop()
		c.readDeadline = nil
	}
	if !t.IsZero() {
		c.readDeadline = time.AfterFunc(time.Until(t), func() { _ = c.conn.CloseNow() })
	}
}

// closeLeftOpen closes a subscriber's socket if gqlgen's transport left it
// open, as it does when connection_init has a payload that is not an
// object: graphql-transport-ws closes the socket with 4400 then, and
// nothing would read it any more. A socket closed already is left as it
// is.
func (s *subscriber) closeLeftOpen() {
	s.mu.Lock()
	c := s.socket
	s.mu.Unlock()
	if c != nil {
		_ = c.WriteClose(closeBadRequest, "Invalid message")
	}
}

// socketReadFailed learns of a socket whose message could not be read.
// For a message that is not of the protocol (not JSON, or of no type it
// has), it closes the socket with 4400, as graphql-transport-ws asks,
// before gqlgen's transport closes it with 1000; a connection that failed
// or was closed by the client is closed already.
func socketReadFailed(ctx context.Context, err error) {
	var we transport.WebsocketError
	sub := subscriberOf(ctx)
	if !errors.As(err, &we) || !we.IsReadError || sub == nil ||
		websocket.CloseStatus(err) != -1 || errors.Is(err, net.ErrClosed) {
		return
	}
	sub.closeLeftOpen()
}

// initSocket authenticates a socket's connection_init: by the key in its
// payload, or when the payload has none, by the key the upgrade request
// was admitted with. A refusal closes the socket: 4403 for credentials,
// 4429 for the rate limit, 1011 for a fault (logged).
func initSocket(guard *access.Guard, log *slog.Logger) transport.WebsocketInitFunc {
	return func(ctx context.Context, payload transport.InitPayload) (context.Context, *transport.InitPayload, error) {
		accessKey, secret := payload.GetString(access.AccessKeyHeader), payload.GetString(access.SecretKeyHeader)
		if accessKey == "" && secret == "" {
			if _, ok := access.FromContext(ctx); ok {
				return ctx, nil, nil
			}
			return closeSocket(ctx, closeForbidden, "Forbidden"), nil, errNoCredentials
		}
		admitted, err := guard.AdmitKey(ctx, accessKey, secret, nil)
		if err != nil {
			switch task.ErrorCode(err) {
			case task.CodeUnauthenticated:
				return closeSocket(ctx, closeForbidden, "Forbidden"), nil, err
			case task.CodeRateLimited:
				return closeSocket(ctx, closeTooManyRequest, "Too many requests"), nil, err
			default:
				log.ErrorContext(ctx, "admitting a socket failed", "err", err)
				return closeSocket(ctx, closeInternalError, "Internal error"), nil, err
			}
		}
		subscriberOf(ctx).setCredentials(accessKey, secret)
		return admitted, nil, nil
	}
}

// errNoCredentials refuses a socket that sent no key, neither on the
// upgrade request nor in connection_init.
var errNoCredentials = &task.Error{Code: task.CodeUnauthenticated, Message: "Invalid API credentials."}

// closeSocket is ctx telling gqlgen's transport how to close a socket
// whose connection_init is refused.
func closeSocket(ctx context.Context, code int, reason string) context.Context {
	return transport.AppendCloseReason(transport.WithWebsocketCloseCode(ctx, code), reason)
}

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
