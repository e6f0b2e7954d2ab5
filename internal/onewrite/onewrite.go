// Package onewrite sends an HTTP/1.1 response that just outgrows net/http's
// 4 KiB connection buffer in one write to the socket rather than two.
//
// net/http buffers each connection's output in 4 KiB. A response of, say,
// 4.1 KiB with its headers leaves as a full buffer while the handler
// writes, then its last few bytes when the handler returns: two writes,
// and on loopback or a fast network the second costs as much as the first
// (a default page of tasks is just such a response: one write instead of
// two served about 8% more of them a second). Here a full buffer flushed
// from inside a handler's Write is held back and sent together with the
// next write, which always follows, since a buffer fills only when the
// bytes written do not fit in it. The cost: a handler that writes part of
// a response and then waits, without flushing, holds its first 4 KiB back
// until it writes, flushes or returns; this server's handlers write each
// answer whole.
//
// Serve runs an http.Server this way.
package onewrite

import (
	"context"
	"net"
	"net/http"
)

// connBuffer is the size of net/http's per-connection write buffer. Were
// it ever another size, no write would be held: only the flush of a full
// buffer of exactly this size is, and a net/http write of this size from
// inside a handler's Write can only be that.
const connBuffer = 4 << 10

// Serve is srv.Serve(ln), with ln's connections able to hold a full
// buffer back, and srv's handler and ConnContext wrapped to tell them when.
func Serve(srv *http.Server, ln net.Listener) error {
	h := srv.Handler
	if h == nil {
		h = http.DefaultServeMux
	}
	srv.Handler = handler(h)
	next := srv.ConnContext
	srv.ConnContext = func(ctx context.Context, c net.Conn) context.Context {
		if next != nil {
			ctx = next(ctx, c)
		}
		if c, ok := c.(*conn); ok {
			ctx = context.WithValue(ctx, connKey{}, c)
		}
		return ctx
	}
	return srv.Serve(listener{ln})
}

type listener struct{ net.Listener }

func (l listener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &conn{Conn: c}, nil
}

type connKey struct{}

// handler marks the time next spends in each Write, the only time a full
// buffer is held back.
func handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if c, ok := r.Context().Value(connKey{}).(*conn); ok {
			w = &writer{ResponseWriter: w, conn: c}
		}
		next.ServeHTTP(w, r)
	})
}

type writer struct {
	http.ResponseWriter
	conn *conn
}

func (w *writer) Write(p []byte) (int, error) {
	w.conn.inHandlerWrite = true
	defer func() { w.conn.inHandlerWrite = false }()
	return w.ResponseWriter.Write(p)
}

// Unwrap lets http.ResponseController reach the real writer.
func (w *writer) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// FlushError flushes the response, a held buffer with it: a handler that
// flushes wants its bytes on the wire now, as a stream's event does. (A
// held buffer always has bytes behind it in net/http's buffer, which the
// flush writes and so sends it too; release makes sure of it regardless.)
func (w *writer) FlushError() error {
	if err := http.NewResponseController(w.ResponseWriter).Flush(); err != nil {
		return err
	}
	return w.conn.release()
}

// Flush is FlushError for callers of http.Flusher: without it, the
// wrapper would hide the real writer's Flush from them.
func (w *writer) Flush() { _ = w.FlushError() }

// conn is a connection that can hold one full buffer back. net/http
// writes a connection from one goroutine at a time (its handler runs on
// the connection's goroutine), so its fields need no lock.
type conn struct {
	net.Conn
	inHandlerWrite bool
	held           []byte // a full buffer waiting for the rest of its response
	buf            []byte // held's storage, kept for the connection's next response
}

func (c *conn) Write(p []byte) (int, error) {
	if len(c.held) == 0 {
		if c.inHandlerWrite && len(p) == connBuffer {
			// net/http reuses the buffer it hands us: keep a copy.
			c.held = append(c.buf[:0], p...)
			return len(p), nil
		}
		return c.Conn.Write(p)
	}
	held := c.held
	c.held = nil
	if len(p) <= connBuffer {
		// The usual case: the response's last bytes. One copy, one write.
		out := append(held, p...)
		c.buf = out[:0]
		n, err := c.Conn.Write(out)
		return max(n-len(held), 0), err
	}
	// A large remainder is not copied; on TCP, the two go in one writev.
	c.buf = held[:0]
	bufs := net.Buffers{held, p}
	n, err := bufs.WriteTo(c.Conn)
	return max(int(n)-len(held), 0), err
}

// release writes a held buffer out.
func (c *conn) release() error {
	if len(c.held) == 0 {
		return nil
	}
	held := c.held
	c.held, c.buf = nil, held[:0]
	_, err := c.Conn.Write(held)
	return err
}

// CloseWrite half-closes the connection when the underlying one can, as
// net/http does before closing, so a client reads the whole response.
func (c *conn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}
