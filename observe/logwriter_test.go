package observe

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// chunks is a destination that hands each write it gets to the test.
type chunks chan string

func (c chunks) Write(p []byte) (int, error) {
	c <- string(p)
	return len(p), nil
}

// next is the next write c got, failing the test after 5 s without one.
func (c chunks) next(t *testing.T) string {
	t.Helper()
	select {
	case s := <-c:
		return s
	case <-time.After(5 * time.Second):
		t.Fatal("nothing written within 5 s")
		return ""
	}
}

func TestLogWriter(t *testing.T) {
	tests := []struct {
		name string
		run  func(t *testing.T)
	}{
		{"a line is held back rather than written at once", func(t *testing.T) {
			out := make(chunks, 1)
			l := NewLogWriter(out, time.Hour)
			defer l.Close()
			fmt.Fprintln(l, "one")
			select {
			case got := <-out:
				t.Fatalf("written at once: %q", got)
			default:
			}
		}},
		{"lines reach the writer together within the interval", func(t *testing.T) {
			out := make(chunks, 1)
			l := NewLogWriter(out, 10*time.Millisecond)
			defer l.Close()
			fmt.Fprint(l, "one\ntwo\n") // as one write, so that one flush carries both
			if got := out.next(t); got != "one\ntwo\n" {
				t.Fatalf("got %q", got)
			}
		}},
		{"Close writes out what is left", func(t *testing.T) {
			out := make(chunks, 1)
			l := NewLogWriter(out, time.Hour)
			fmt.Fprintln(l, "last words")
			if err := l.Close(); err != nil {
				t.Fatal(err)
			}
			if got := out.next(t); got != "last words\n" {
				t.Fatalf("after Close the writer has %q", got)
			}
		}},
		{"lines written at once by many goroutines stay whole", func(t *testing.T) {
			out := make(chunks)
			var got strings.Builder
			drained := make(chan struct{})
			go func() {
				defer close(drained)
				for s := range out {
					got.WriteString(s)
				}
			}()
			l := NewLogWriter(out, time.Millisecond)
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
			close(out)
			<-drained
			if got.String() != strings.Repeat(line, 8*200) {
				t.Fatalf("%d bytes, not %d whole lines", got.Len(), 8*200)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, tt.run)
	}
}
