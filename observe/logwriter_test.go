package observe

import (
	"bytes"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// lockedBuffer is a bytes.Buffer safe for the flushing goroutine and the
// test to share.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func TestLogWriter(t *testing.T) {
	tests := []struct {
		name string
		run  func(t *testing.T)
	}{
		{"a line is held back rather than written at once", func(t *testing.T) {
			var out lockedBuffer
			l := NewLogWriter(&out, time.Hour)
			defer l.Close()
			fmt.Fprintln(l, "one")
			if got := out.String(); got != "" {
				t.Fatalf("written at once: %q", got)
			}
		}},
		{"lines reach the writer within the interval", func(t *testing.T) {
			var out lockedBuffer
			l := NewLogWriter(&out, 10*time.Millisecond)
			defer l.Close()
			fmt.Fprintln(l, "one")
			fmt.Fprintln(l, "two")
			deadline := time.Now().Add(5 * time.Second)
			for out.String() != "one\ntwo\n" {
				if time.Now().After(deadline) {
					t.Fatalf("after 5 s the writer has %q", out.String())
				}
				time.Sleep(time.Millisecond)
			}
		}},
		{"Close writes out what is left", func(t *testing.T) {
			var out lockedBuffer
			l := NewLogWriter(&out, time.Hour)
			fmt.Fprintln(l, "last words")
			if err := l.Close(); err != nil {
				t.Fatal(err)
			}
			if got := out.String(); got != "last words\n" {
				t.Fatalf("after Close the writer has %q", got)
			}
		}},
		{"lines written at once by many goroutines stay whole", func(t *testing.T) {
			var out lockedBuffer
			l := NewLogWriter(&out, time.Millisecond)
			line := strings.Repeat("x", 1000) + "\n"
			var wg sync.WaitGroup
			for range 8 {
				wg.Go(func() {
					for range 200 {
						l.Write([]byte(line))
					}
				})
			}
			wg.Wait()
			l.Close()
			if got := out.String(); got != strings.Repeat(line, 8*200) {
				t.Fatalf("%d bytes, not %d whole lines", len(got), 8*200)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, tt.run)
	}
}
