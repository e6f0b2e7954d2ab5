package webhook_test

import (
	"context"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"tasksapi/sqlite"
	"tasksapi/webhook"
)

// recordingStore counts the transactions that record attempts, and the
// attempts each records, and makes each take delay first: a store whose
// commits are slow.
type recordingStore struct {
	*sqlite.Store
	delay time.Duration

	mu    sync.Mutex
	calls []int // attempts recorded by each call
}

func (s *recordingStore) RecordAttempt(ctx context.Context, id int, generation int64, attempts ...webhook.Attempt) (webhook.State, error) {
	time.Sleep(s.delay)
	s.mu.Lock()
	s.calls = append(s.calls, len(attempts))
	s.mu.Unlock()
	return s.Store.RecordAttempt(ctx, id, generation, attempts...)
}

func (s *recordingStore) recorded() (calls, attempts int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, n := range s.calls {
		attempts += n
	}
	return len(s.calls), attempts
}

func newRecordingFixture(t *testing.T, opts webhook.Options, delay time.Duration) (*fixture, *recordingStore) {
	t.Helper()
	var rs *recordingStore
	f := newFixtureWith(t, opts, func(s *sqlite.Store) webhook.Store {
		rs = &recordingStore{Store: s, delay: delay}
		return rs
	})
	return f, rs
}

func TestDeliveriesMadeBackToBackAreRecordedTogether(t *testing.T) {
	opts := testOptions()
	opts.RecordEvery = 50 * time.Millisecond
	f, rs := newRecordingFixture(t, opts, 20*time.Millisecond)
	rc := newReceiver(t, nil)
	w := f.addWebhook(t, rc.URL).Webhook
	seqs := f.createTasks(t, 40)
	eventually(t, "every change delivered and recorded", func() bool {
		return f.webhook(t, w.ID).LastDeliveredSeq == seqs[len(seqs)-1]
	})

	if got := rc.seqs(); !slices.Equal(got, seqs) {
		t.Errorf("the receiver got %v, want %v: each once, in order", got, seqs)
	}
	calls, attempts := rs.recorded()
	if attempts != len(seqs) || calls > len(seqs)/3 {
		t.Errorf("%d attempts recorded in %d transactions; want the %d deliveries in far fewer transactions than deliveries",
			attempts, calls, len(seqs))
	}
	d := f.deliveries(t, w.ID)
	if len(d) != len(seqs) {
		t.Fatalf("%d attempts listed, want %d", len(d), len(seqs))
	}
	for i, a := range d {
		if want := seqs[len(seqs)-1-i]; a.Seq != want || a.Attempt != 1 || a.Error != nil || a.StatusCode == nil {
			t.Errorf("attempt %d listed is %+v, want seq %d delivered at its first attempt: newest first", i, a, want)
		}
	}
}

func TestAReplaySendsAgainDeliveriesNotYetRecorded(t *testing.T) {
	opts := testOptions()
	opts.RecordEvery = 500 * time.Millisecond // the first delivery is recorded at once, the next two wait
	f := newFixture(t, opts)
	rc := newReceiver(t, nil)
	w := f.addWebhook(t, rc.URL).Webhook
	seqs := f.createTasks(t, 3)
	eventually(t, "three deliveries", func() bool { return len(rc.requests()) == 3 })
	if _, err := f.svc.Replay(f.ctx, w.ID, seqs[0]); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the replay", func() bool { return len(rc.requests()) >= 5 })
	eventually(t, "the cursor at the head again", func() bool { return f.webhook(t, w.ID).LastDeliveredSeq == seqs[2] })
	want := []int64{seqs[0], seqs[1], seqs[2], seqs[1], seqs[2]}
	if got := rc.seqs(); !slices.Equal(got, want) {
		t.Errorf("the receiver got %v, want %v: the changes after %d again, whether or not they were recorded yet",
			got, want, seqs[0])
	}
}

func TestShutdownRecordsTheDeliveriesNotYetRecorded(t *testing.T) {
	opts := testOptions()
	opts.RecordEvery = time.Hour // only the first is recorded before the shutdown
	f := newFixture(t, opts)
	rc := newReceiver(t, nil)
	w := f.addWebhook(t, rc.URL).Webhook
	seqs := f.createTasks(t, 3)
	eventually(t, "three deliveries", func() bool { return len(rc.requests()) == 3 })
	f.d.Close()
	if got := f.webhook(t, w.ID).LastDeliveredSeq; got != seqs[2] {
		t.Errorf("after a shutdown the cursor is at %d, want %d, the last change delivered", got, seqs[2])
	}
	if d := f.deliveries(t, w.ID); len(d) != 3 {
		t.Errorf("%d attempts listed after a shutdown, want the 3 made", len(d))
	}
	f.restart(t)
	later := f.createTasks(t, 1)[0]
	eventually(t, "the next change", func() bool { return len(rc.requests()) == 4 })
	if got, want := rc.seqs(), append(seqs, later); !slices.Equal(got, want) {
		t.Errorf("the receiver got %v, want %v: nothing sent again after a shutdown", got, want)
	}
}

func TestAFailingEndpointCostsOneRecordAnAttemptOnItsSchedule(t *testing.T) {
	opts := testOptions()
	opts.Schedule = []time.Duration{50 * time.Millisecond, 100 * time.Millisecond}
	f, rs := newRecordingFixture(t, opts, 0)
	var mu sync.Mutex
	var arrivals []time.Time
	rc := newReceiver(t, func(received, int) int {
		mu.Lock()
		arrivals = append(arrivals, time.Now())
		mu.Unlock()
		return http.StatusServiceUnavailable
	})
	w := f.addWebhook(t, rc.URL).Webhook
	f.createTasks(t, 3)
	eventually(t, "five attempts", func() bool { return len(rc.requests()) >= 5 })
	f.d.Close()

	mu.Lock()
	defer mu.Unlock()
	calls, attempts := rs.recorded()
	if calls != len(arrivals) || attempts != len(arrivals) {
		t.Errorf("%d attempts were made, recorded in %d transactions as %d: want one transaction an attempt, no more",
			len(arrivals), calls, attempts)
	}
	for i := 1; i < len(arrivals); i++ {
		// Scheduled from when the attempt before began, a moment before
		// it arrived.
		want := opts.Schedule[min(i, len(opts.Schedule))-1] - 10*time.Millisecond
		if gap := arrivals[i].Sub(arrivals[i-1]); gap < want {
			t.Errorf("attempt %d came %s after the one before, want at least %s", i+1, gap, want)
		}
	}
	if st := f.webhook(t, w.ID); st.FailingSince == nil || st.LastDeliveredSeq != w.LastDeliveredSeq {
		t.Errorf("the failing webhook is %+v, want failing at its first change", st)
	}
}

// catchUpTime makes a backlog of n changes for a webhook while its
// dispatcher is stopped, starts it again with opts, checks that every
// change arrives once in order, and returns the time from the first
// arrival to the last.
func catchUpTime(t *testing.T, opts webhook.Options, n int) time.Duration {
	t.Helper()
	f := newFixture(t, opts)
	var mu sync.Mutex
	var arrivals []time.Time
	rc := newReceiver(t, func(received, int) int {
		mu.Lock()
		arrivals = append(arrivals, time.Now())
		mu.Unlock()
		return http.StatusOK
	})
	f.addWebhook(t, rc.URL)
	f.d.Close()
	seqs := f.createTasks(t, n) // a backlog, sent when the dispatcher starts again
	f.restart(t)
	eventually(t, "every change delivered", func() bool { return len(rc.requests()) == len(seqs) })
	if got := rc.seqs(); !slices.Equal(got, seqs) {
		t.Errorf("the receiver got %v, want %v", got, seqs)
	}
	mu.Lock()
	defer mu.Unlock()
	return arrivals[len(arrivals)-1].Sub(arrivals[0])
}

func TestAWebhookBehindTheFeedCatchesUpAtMostAtMaxRate(t *testing.T) {
	opts := testOptions()
	opts.MaxRate = 100 // in bursts of 10
	// 10 at once, then one every 10 ms.
	if took, least := catchUpTime(t, opts, 40), 290*time.Millisecond; took < least {
		t.Errorf("40 changes arrived within %s, want at least %s at 100 a second in bursts of 10", took, least)
	}
}

func TestWhileTheMachineIsBusyAWebhookBehindTheFeedCatchesUpAtBusyRate(t *testing.T) {
	// MaxRate 1,000 a second in bursts of 100; BusyRate 50 in bursts of 5.
	// Slowed, the first batch of 100 takes about 1.9 s; at MaxRate, about
	// what the receiver takes to answer.
	const slowed, fast = 1800 * time.Millisecond, 1200 * time.Millisecond
	for _, tc := range []struct {
		name    string
		busy    bool
		backlog int
		lag     time.Duration // BusyLagLimit
		slowed  bool
	}{
		{"a busy machine sends a webhook a batch behind at BusyRate", true, 120, time.Minute, true},
		{"an idle machine sends a webhook a batch behind at MaxRate", false, 120, time.Minute, false},
		{"a busy machine sends a webhook less than a batch behind at MaxRate", true, 60, time.Minute, false},
		{"a busy machine sends a webhook behind by BusyLagLimit at MaxRate", true, 120, time.Nanosecond, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts := testOptions()
			opts.MaxRate, opts.BusyRate, opts.BusyLagLimit = 1000, 50, tc.lag
			var busy atomic.Bool
			busy.Store(tc.busy)
			opts.Busy = busy.Load
			took := catchUpTime(t, opts, tc.backlog)
			if tc.slowed && took < slowed {
				t.Errorf("%d changes arrived within %s, want at least %s at 50 a second", tc.backlog, took, slowed)
			}
			if !tc.slowed && took >= fast {
				t.Errorf("%d changes took %s, want them sent at MaxRate, within %s", tc.backlog, took, fast)
			}
		})
	}
}
