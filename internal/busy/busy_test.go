package busy

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// statLine is /proc/stat with these totals for all processors, in clock
// ticks (user nice system idle iowait irq softirq steal guest guest_nice),
// and a line for one processor after it.
func statLine(user, system, idle, iowait, steal int) string {
	return fmt.Sprintf("cpu  %d 0 %d %d %d 0 0 %d 0 0\ncpu0 1 2 3 4 5 6 7 8 9 10\n", user, system, idle, iowait, steal)
}

func TestTheMachineIsBusyWhileItsProcessorsWorkAtLeastTheThresholdShare(t *testing.T) {
	start := statLine(1000, 500, 5000, 0, 0)
	for _, tc := range []struct {
		name     string
		readings []string
		busy     bool
	}{
		{"an interval mostly spent working is busy",
			[]string{start, statLine(1060, 530, 5010, 0, 0)}, true},
		{"an interval spent working for exactly the threshold is busy",
			[]string{start, statLine(1040, 510, 5050, 0, 0)}, true},
		{"a mostly idle interval is not busy",
			[]string{start, statLine(1010, 505, 5085, 0, 0)}, false},
		{"waiting on the disk is not work",
			[]string{start, statLine(1010, 510, 5010, 70, 0)}, false},
		{"time a host gave to other machines counts for nothing",
			[]string{start, statLine(1060, 530, 5010, 0, 900)}, true},
		{"a busy interval after an idle one is busy",
			[]string{start, statLine(1010, 505, 5085, 0, 0), statLine(1100, 505, 5095, 0, 0)}, true},
		{"an idle interval after a busy one is not busy",
			[]string{start, statLine(1100, 500, 5000, 0, 0), statLine(1105, 500, 5095, 0, 0)}, false},
		{"an interval without ticks keeps the last answer",
			[]string{start, statLine(1100, 500, 5000, 0, 0), statLine(1100, 500, 5000, 0, 0)}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "stat")
			m := &Meter{Threshold: 0.5, Stat: path}
			for _, r := range tc.readings {
				write(t, path, r)
				m.sample()
			}
			if got := m.Busy(); got != tc.busy {
				t.Errorf("Busy() = %v, want %v", got, tc.busy)
			}
		})
	}
}

func TestAMachineWithoutProcessorTimesIsNeverBusy(t *testing.T) {
	for _, tc := range []struct{ name, content string }{
		{"no such file", ""},
		{"not the cpu line first", "intr 1 2 3\n"},
		{"too few fields", "cpu 1 2 3\n"},
		{"a field that is not a number", "cpu 1 2 x 4 5 6 7 8\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "stat")
			if tc.content != "" {
				write(t, path, tc.content)
			}
			m := &Meter{Threshold: 0, Stat: path} // any work at all would be busy
			done := make(chan struct{})
			go func() { m.Run(context.Background(), time.Millisecond); close(done) }()
			select {
			case <-done:
			case <-time.After(5 * time.Second):
				t.Fatal("Run went on sampling what it cannot read")
			}
			if m.Busy() {
				t.Error("Busy() = true, want false")
			}
		})
	}
}

func TestANilMeterIsNeverBusy(t *testing.T) {
	var m *Meter
	if m.Busy() {
		t.Error("a nil Meter is busy")
	}
}

func TestRunSamplesEveryIntervalUntilItsContextEnds(t *testing.T) {
	path := filepath.Join(t.TempDir(), "stat")
	write(t, path, statLine(1000, 500, 5000, 0, 0))
	m := &Meter{Threshold: 0.5, Stat: path}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { m.Run(ctx, 5*time.Millisecond); close(done) }()
	time.Sleep(20 * time.Millisecond)
	write(t, path, statLine(1090, 500, 5010, 0, 0)) // 90% of the interval at work
	deadline := time.Now().Add(5 * time.Second)
	for !m.Busy() && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if !m.Busy() {
		t.Error("Busy() stayed false for 5 s after a busy interval")
	}
	cancel()
	<-done
	if m.Busy() {
		t.Error("Busy() = true after Run ended")
	}
}

// write replaces the file at path whole, as a running Meter may read it.
func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path+".new", []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(path+".new", path); err != nil {
		t.Fatal(err)
	}
}
