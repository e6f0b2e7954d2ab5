package observe

import (
	"bufio"
	"io"
	"sync"
	"time"
)

// LogWriter collects log lines for an underlying writer and writes them
// out together: a line per request written straight to stderr was a
// system call per request, a few percent of a small request's CPU. A line
// reaches the writer within the flush interval, at once when 64 KiB have
// gathered, and on Close; a process killed outright loses at most the
// last interval's lines.
type LogWriter struct {
	mu   sync.Mutex
	buf  *bufio.Writer
	stop chan struct{}
	done chan struct{}
}

// NewLogWriter buffers w's lines, writing them out every interval.
func NewLogWriter(w io.Writer, interval time.Duration) *LogWriter {
	l := &LogWriter{buf: bufio.NewWriterSize(w, 64<<10), stop: make(chan struct{}), done: make(chan struct{})}
	go l.flushEvery(interval)
	return l
}

// Write buffers p, which a log handler passes as one whole line.
func (l *LogWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

// Flush writes out the buffered lines.
func (l *LogWriter) Flush() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Flush()
}

// Close writes out the buffered lines and stops the periodic flush; later
// writes are buffered until Flush.
func (l *LogWriter) Close() error {
	close(l.stop)
	<-l.done
	return l.Flush()
}

func (l *LogWriter) flushEvery(interval time.Duration) {
	defer close(l.done)
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-tick.C:
			_ = l.Flush() // a failing stderr has nowhere to report to
		case <-l.stop:
			return
		}
	}
}
