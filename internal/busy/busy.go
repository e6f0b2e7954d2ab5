// Package busy tells whether this machine's processors are saturated, so
// that work which can wait (webhook deliveries catching up) gives way to
// work which cannot (API requests). It reads the processors' time from
// /proc/stat; where there is none, the machine is never busy.
package busy

import (
	"bytes"
	"context"
	"os"
	"strconv"
	"sync/atomic"
	"time"
)

// Meter samples how much of the processors' time went to work, every
// interval, and calls the machine busy while an interval's share reaches
// Threshold. A Meter that is not running, or nil, is never busy.
type Meter struct {
	// Threshold is the share of the processors' time (0 to 1) spent
	// working, not idle or waiting on the disk, at which the machine is
	// busy.
	Threshold float64
	// Stat is the file read; default /proc/stat.
	Stat string

	busy atomic.Bool
	// work and all are the last reading's totals.
	work, all uint64
}

// Busy reports whether the last interval was saturated.
func (m *Meter) Busy() bool { return m != nil && m.busy.Load() }

// Run samples every interval until ctx ends, when the machine is no longer
// busy; it returns at once if the processors' time cannot be read.
func (m *Meter) Run(ctx context.Context, every time.Duration) {
	if !m.sample() {
		return
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			m.busy.Store(false)
			return
		case <-t.C:
			m.sample()
		}
	}
}

// sample takes a reading and compares it with the last, if any; it
// reports whether the processors' time could be read.
func (m *Meter) sample() bool {
	work, all, ok := m.read()
	switch {
	case !ok:
		return false
	case m.all == 0: // the first reading: what came before is not this interval's
	case all > m.all:
		m.busy.Store(float64(work-m.work) >= m.Threshold*float64(all-m.all))
	default:
		return true // no tick since the last reading
	}
	m.work, m.all = work, all
	return true
}

// read returns the processors' time spent working and in all, in clock
// ticks since boot, from the first line of /proc/stat:
// "cpu user nice system idle iowait irq softirq steal guest guest_nice".
// Steal (time a virtual machine's host gave to others) and guest time
// (already in user and nice) are left out of both.
func (m *Meter) read() (work, all uint64, ok bool) {
	path := m.Stat
	if path == "" {
		path = "/proc/stat"
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, 0, false
	}
	line, _, _ := bytes.Cut(b, []byte{'\n'})
	fields := bytes.Fields(line)
	if len(fields) < 8 || string(fields[0]) != "cpu" {
		return 0, 0, false
	}
	for i, f := range fields[1:8] {
		n, err := strconv.ParseUint(string(f), 10, 64)
		if err != nil {
			return 0, 0, false
		}
		all += n
		if i != 3 && i != 4 { // idle, iowait
			work += n
		}
	}
	return work, all, true
}
