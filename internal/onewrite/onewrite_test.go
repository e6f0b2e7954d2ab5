package onewrite

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync/atomic"
	"testing"
	"time"
)

// countingListener counts the writes made to its connections.
type countingListener struct {
	net.Listener
	writes *atomic.Int64
}

func (l countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return countingConn{c, l.writes}, nil
}

type countingConn struct {
	net.Conn
	writes *atomic.Int64
}

func (c countingConn) Write(p []byte) (int, error) {
	c.writes.Add(1)
	return c.Conn.Write(p)
}

// body is n bytes that show where a byte went missing.
func body(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = 'a' + byte(i%26)
	}
	return b
}

// serve starts a server answering /{n} with a body of n bytes, written
// whole with its length (or at /stream/{piece}/{n}, in pieces of that
// size, each flushed, with the length given too), and returns its URL and the count of its socket
// writes.
// With coalesce false it is a plain net/http server.
func serve(t *testing.T, coalesce bool) (string, *atomic.Int64) {
	t.Helper()
	mux := http.NewServeMux()
	mux.HandleFunc("/{n}", func(w http.ResponseWriter, r *http.Request) {
		n, _ := strconv.Atoi(r.PathValue("n"))
		w.Header().Set("Content-Length", strconv.Itoa(n))
		w.Write(body(n))
	})
	mux.HandleFunc("/stream/{piece}/{n}", func(w http.ResponseWriter, r *http.Request) {
		piece, _ := strconv.Atoi(r.PathValue("piece"))
		n, _ := strconv.Atoi(r.PathValue("n"))
		b := body(n)
		w.Header().Set("Content-Length", strconv.Itoa(n))
		for len(b) > 0 {
			k := min(len(b), piece)
			w.Write(b[:k])
			http.NewResponseController(w).Flush()
			b = b[k:]
		}
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	writes := new(atomic.Int64)
	l := countingListener{ln, writes}
	srv := &http.Server{Handler: mux}
	if coalesce {
		go Serve(srv, l)
	} else {
		go srv.Serve(l)
	}
	t.Cleanup(func() { srv.Close() })
	return "http://" + ln.Addr().String(), writes
}

func get(t *testing.T, client *http.Client, method, url string) []byte {
	t.Helper()
	req, _ := http.NewRequest(method, url, nil)
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading the body: %v", method, url, err)
	}
	return b
}

func TestOneWrite(t *testing.T) {
	// A client that gives up, so a response held back for ever fails the
	// test rather than hanging it.
	client := &http.Client{Timeout: 5 * time.Second}
	base, writes := serve(t, true)
	plainBase, plainWrites := serve(t, false)

	// writesOf is how many socket writes one GET of path takes.
	writesOf := func(base string, writes *atomic.Int64, path string) int64 {
		get(t, client, http.MethodGet, base+path) // open the connection first
		before := writes.Load()
		get(t, client, http.MethodGet, base+path)
		return writes.Load() - before
	}

	tests := []struct {
		name string
		run  func(t *testing.T)
	}{
		{"a response just over the buffer leaves in one write, where net/http alone takes two", func(t *testing.T) {
			if n := writesOf(plainBase, plainWrites, "/4000"); n != 2 {
				t.Fatalf("plain net/http took %d writes for a 4000-byte body; this test expects 2", n)
			}
			if n := writesOf(base, writes, "/4000"); n != 1 {
				t.Errorf("%d writes, want 1", n)
			}
		}},
		{"a response within the buffer leaves in one write", func(t *testing.T) {
			if n := writesOf(base, writes, "/100"); n != 1 {
				t.Errorf("%d writes, want 1", n)
			}
		}},
		{"every response size around the buffer arrives whole", func(t *testing.T) {
			// The headers take about a hundred bytes, so some size here
			// makes a response of exactly one buffer.
			for n := connBuffer - 300; n <= connBuffer+300; n++ {
				if got := get(t, client, http.MethodGet, base+"/"+strconv.Itoa(n)); !bytes.Equal(got, body(n)) {
					t.Fatalf("a %d-byte body arrived as %d bytes", n, len(got))
				}
			}
		}},
		{"a response of many buffers arrives whole", func(t *testing.T) {
			for _, n := range []int{2 * connBuffer, 3*connBuffer + 7, 1 << 20} {
				if got := get(t, client, http.MethodGet, base+"/"+strconv.Itoa(n)); !bytes.Equal(got, body(n)) {
					t.Fatalf("a %d-byte body arrived as %d bytes", n, len(got))
				}
			}
		}},
		{"a streamed response flushed by its handler arrives whole", func(t *testing.T) {
			for _, piece := range []int{connBuffer - 1, connBuffer + 1, 2 * connBuffer} {
				for _, n := range []int{connBuffer - 1, connBuffer, 3 * connBuffer, 2 * piece} {
					path := "/stream/" + strconv.Itoa(piece) + "/" + strconv.Itoa(n)
					if got := get(t, client, http.MethodGet, base+path); !bytes.Equal(got, body(n)) {
						t.Fatalf("%s arrived as %d bytes", path, len(got))
					}
				}
			}
		}},
		{"a HEAD response arrives, without its body", func(t *testing.T) {
			if got := get(t, client, http.MethodHead, base+"/5000"); len(got) != 0 {
				t.Fatalf("a HEAD response carried %d bytes", len(got))
			}
			if got := get(t, client, http.MethodGet, base+"/5000"); !bytes.Equal(got, body(5000)) {
				t.Fatalf("the GET after a HEAD got %d bytes", len(got))
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, tt.run)
	}
}

// TestAFlushReachesTheClientWhileTheHandlerWaits streams a response
// that is written, flushed and then held open, as a stream's event is:
// what was flushed must reach the client while the handler waits, through
// either way of flushing, whatever its size next to net/http's buffer.
func TestAFlushReachesTheClientWhileTheHandlerWaits(t *testing.T) {
	for _, flush := range []struct {
		name string
		do   func(w http.ResponseWriter)
	}{
		{"a ResponseController", func(w http.ResponseWriter) { http.NewResponseController(w).Flush() }},
		{"http.Flusher", func(w http.ResponseWriter) { w.(http.Flusher).Flush() }},
	} {
		for _, n := range []int{100, connBuffer - 100, connBuffer + 1, 2 * connBuffer} {
			t.Run(fmt.Sprintf("%d bytes flushed through %s", n, flush.name), func(t *testing.T) {
				release := make(chan struct{})
				defer close(release)
				first := body(n)
				srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					w.Write(first)
					flush.do(w)
					<-release
				})}
				ln, err := net.Listen("tcp", "127.0.0.1:0")
				if err != nil {
					t.Fatal(err)
				}
				go Serve(srv, ln)
				t.Cleanup(func() { srv.Close() })
				res, err := http.Get("http://" + ln.Addr().String())
				if err != nil {
					t.Fatal(err)
				}
				defer res.Body.Close()
				got := make([]byte, len(first))
				done := make(chan error, 1)
				go func() { _, err := io.ReadFull(res.Body, got); done <- err }()
				select {
				case err := <-done:
					if err != nil || !bytes.Equal(got, first) {
						t.Fatalf("read (%v) not the %d bytes flushed", err, len(first))
					}
				case <-time.After(5 * time.Second):
					t.Fatal("the flushed bytes did not arrive while the handler waited")
				}
			})
		}
	}
}
