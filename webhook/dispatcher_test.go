package webhook_test

import (
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"tasksapi/webhook"
)

func TestChangesArriveInFeedOrderAndAFailedOneIsTriedAgain(t *testing.T) {
	f := newFixture(t, testOptions())
	rc := newReceiver(t, func(_ received, n int) int {
		if n <= 3 {
			return http.StatusServiceUnavailable
		}
		return http.StatusNoContent
	})
	w := f.addWebhook(t, rc.URL).Webhook
	seqs := f.createTasks(t, 4)
	eventually(t, "every change delivered", func() bool { return f.webhook(t, w.ID).LastDeliveredSeq == seqs[3] })

	want := []int64{seqs[0], seqs[0], seqs[0], seqs[0], seqs[1], seqs[2], seqs[3]}
	if got := rc.seqs(); !slices.Equal(got, want) {
		t.Errorf("the receiver got seqs %v, want %v: the first three times failed, then each in order", got, want)
	}
	if got := f.webhook(t, w.ID); got.FailingSince != nil || !got.Enabled {
		t.Errorf("after the failures passed the webhook is %+v, want enabled and not failing", got)
	}
}

func TestTheNextChangeWaitsBehindAFailingOne(t *testing.T) {
	f := newFixture(t, testOptions())
	var failing atomic.Bool
	failing.Store(true)
	rc := newReceiver(t, func(r received, _ int) int {
		if failing.Load() {
			return http.StatusInternalServerError
		}
		return http.StatusOK
	})
	w := f.addWebhook(t, rc.URL).Webhook
	seqs := f.createTasks(t, 3)
	eventually(t, "four attempts", func() bool { return len(rc.requests()) >= 4 })
	for _, seq := range rc.seqs() {
		if seq != seqs[0] {
			t.Fatalf("seq %d was sent while seq %d was failing: %v", seq, seqs[0], rc.seqs())
		}
	}
	failing.Store(false)
	eventually(t, "every change delivered", func() bool { return f.webhook(t, w.ID).LastDeliveredSeq == seqs[2] })
	got := rc.seqs()
	if tail := got[len(got)-3:]; !slices.Equal(tail, seqs) || slices.Index(got, seqs[1]) != len(got)-2 {
		t.Errorf("the receiver got %v; want the failing change until it passed, then %v once each", got, seqs[1:])
	}
}

func TestAttemptsAreRecordedAndCountedFromOneForEachChange(t *testing.T) {
	f := newFixture(t, testOptions())
	rc := newReceiver(t, func(_ received, n int) int {
		if n <= 2 {
			return http.StatusBadGateway
		}
		return http.StatusOK
	})
	w := f.addWebhook(t, rc.URL).Webhook
	seqs := f.createTasks(t, 2)
	eventually(t, "both changes delivered", func() bool { return f.webhook(t, w.ID).LastDeliveredSeq == seqs[1] })

	type attempt struct {
		seq     int64
		attempt int
		status  int
		failed  bool
	}
	want := []attempt{{seqs[1], 1, 200, false}, {seqs[0], 3, 200, false}, {seqs[0], 2, 502, true}, {seqs[0], 1, 502, true}}
	var got []attempt
	for _, d := range f.deliveries(t, w.ID) {
		a := attempt{seq: d.Seq, attempt: d.Attempt, failed: d.Error != nil}
		if d.StatusCode != nil {
			a.status = *d.StatusCode
		}
		if d.DurationMs < 0 || d.At.IsZero() || (a.failed && *d.Error != "the endpoint answered 502") {
			t.Errorf("attempt %+v: want a duration, a time and, for a failure, why", d)
		}
		got = append(got, a)
	}
	if !slices.Equal(got, want) {
		t.Errorf("recorded, newest first, %+v; want %+v", got, want)
	}
}

func TestAWebhookFailingForTheWholeWindowIsDisabledAndEnableResumesIt(t *testing.T) {
	clk := &clock{}
	opts := testOptions()
	opts.Now = clk.Now
	f := newFixture(t, opts)
	var failing atomic.Bool
	failing.Store(true)
	rc := newReceiver(t, func(received, int) int {
		if failing.Load() {
			return http.StatusInternalServerError
		}
		return http.StatusOK
	})
	w := f.addWebhook(t, rc.URL).Webhook
	first := f.createTasks(t, 1)[0]
	eventually(t, "a failed attempt", func() bool { return len(rc.requests()) > 0 })
	clk.Advance(webhook.DefaultFailingWindow + time.Hour)
	eventually(t, "the webhook disabled", func() bool { return !f.webhook(t, w.ID).Enabled })
	disabled := f.webhook(t, w.ID)
	if disabled.FailingSince == nil || disabled.LastDeliveredSeq != w.LastDeliveredSeq {
		t.Errorf("the disabled webhook is %+v, want failingSince set and its cursor where it was", disabled)
	}

	tried := len(rc.requests())
	second := f.createTasks(t, 1)[0]
	time.Sleep(200 * time.Millisecond)
	if n := len(rc.requests()); n != tried {
		t.Fatalf("a disabled webhook was sent %d more requests", n-tried)
	}

	failing.Store(false)
	enabled, err := f.svc.Enable(f.ctx, w.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !enabled.Enabled || enabled.FailingSince != nil {
		t.Errorf("Enable returned %+v, want enabled and not failing", enabled)
	}
	eventually(t, "both changes delivered", func() bool { return f.webhook(t, w.ID).LastDeliveredSeq == second })
	if got := rc.seqs()[tried:]; !slices.Equal(got, []int64{first, second}) {
		t.Errorf("after Enable the receiver got %v, want %v: from the first change not delivered", got, []int64{first, second})
	}
	if d := f.deliveries(t, w.ID)[1]; d.Seq != first || d.Attempt != 1 {
		t.Errorf("the first attempt after Enable is %+v, want attempt 1 of seq %d", d, first)
	}
}

func TestReplaySendsTheKeptChangesAfterAPointAgainThenGoesOn(t *testing.T) {
	f := newFixture(t, testOptions())
	rc := newReceiver(t, nil)
	w := f.addWebhook(t, rc.URL).Webhook
	seqs := f.createTasks(t, 3)
	eventually(t, "three deliveries", func() bool { return len(rc.requests()) == 3 })

	replayed, err := f.svc.Replay(f.ctx, w.ID, seqs[0])
	if err != nil {
		t.Fatal(err)
	}
	if replayed.LastDeliveredSeq != seqs[0] {
		t.Errorf("Replay returned cursor %d, want %d", replayed.LastDeliveredSeq, seqs[0])
	}
	eventually(t, "the replay", func() bool { return len(rc.requests()) == 5 })
	later := f.createTasks(t, 1)[0]
	eventually(t, "the next change", func() bool { return len(rc.requests()) == 6 })

	got := rc.requests()
	want := []int64{seqs[0], seqs[1], seqs[2], seqs[1], seqs[2], later}
	if !slices.Equal(rc.seqs(), want) {
		t.Errorf("the receiver got %v, want %v", rc.seqs(), want)
	}
	if got[3].ID != got[1].ID || got[4].ID != got[2].ID {
		t.Errorf("a replayed change has another webhook-id: %s, %s then %s, %s", got[1].ID, got[2].ID, got[3].ID, got[4].ID)
	}
}

func TestASlowEndpointDelaysNoOtherWebhook(t *testing.T) {
	f := newFixture(t, testOptions())
	release := make(chan struct{})
	slow := newReceiver(t, func(received, int) int {
		<-release
		return http.StatusOK
	})
	t.Cleanup(func() { close(release) }) // before the receiver closes: it waits for its requests
	fast := newReceiver(t, nil)
	f.addWebhook(t, slow.URL)
	f.addWebhook(t, fast.URL)
	began := time.Now()
	seqs := f.createTasks(t, 5)
	eventually(t, "the fast endpoint served", func() bool { return len(fast.requests()) == len(seqs) })
	if took := time.Since(began); took > 3*time.Second {
		t.Errorf("writes and the fast endpoint's deliveries took %s while the slow endpoint held a request", took)
	}
	if !slices.Equal(fast.seqs(), seqs) {
		t.Errorf("the fast endpoint got %v, want %v", fast.seqs(), seqs)
	}
	if n := len(slow.requests()); n != 1 {
		t.Errorf("the slow endpoint got %d requests while holding one, want 1", n)
	}
}

func TestAnAttemptWithoutAnAnswerInTimeFails(t *testing.T) {
	opts := testOptions()
	opts.Timeout = 200 * time.Millisecond
	f := newFixture(t, opts)
	rc := newReceiver(t, func(_ received, n int) int {
		if n == 1 {
			time.Sleep(time.Second)
		}
		return http.StatusOK
	})
	w := f.addWebhook(t, rc.URL).Webhook
	seq := f.createTasks(t, 1)[0]
	eventually(t, "the change delivered", func() bool { return f.webhook(t, w.ID).LastDeliveredSeq == seq })
	d := f.deliveries(t, w.ID)
	if len(d) != 2 || d[1].Error == nil || *d[1].Error != "no answer within 200ms" || d[1].StatusCode != nil {
		t.Errorf("attempts %+v, want the first to have failed with no answer within 200ms", d)
	}
}

func TestARestartResumesAfterTheLastDeliveredChange(t *testing.T) {
	f := newFixture(t, testOptions())
	rc := newReceiver(t, nil)
	w := f.addWebhook(t, rc.URL).Webhook
	before := f.createTasks(t, 2)
	eventually(t, "two deliveries", func() bool { return f.webhook(t, w.ID).LastDeliveredSeq == before[1] })
	f.d.Close()
	during := f.createTasks(t, 2) // recorded while nothing delivers
	f.restart(t)
	after := f.createTasks(t, 1)
	eventually(t, "every change delivered", func() bool { return f.webhook(t, w.ID).LastDeliveredSeq == after[0] })
	want := append(append(before, during...), after...)
	if got := rc.seqs(); !slices.Equal(got, want) {
		t.Errorf("the receiver got %v, want %v: each once, in order, across the restart", got, want)
	}
}

func TestShutdownWaitsForAnAttemptUnderWayForABoundedTime(t *testing.T) {
	tests := []struct {
		name      string
		answerIn  time.Duration
		wantError string // "" when the attempt delivers
	}{
		{"an answer within the grace is delivered and recorded", 300 * time.Millisecond, ""},
		{"an answer later than the grace is cut off and recorded as failed", time.Minute, "the server shut down during the attempt"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := testOptions()
			opts.ShutdownGrace = time.Second
			opts.Timeout = 2 * time.Minute
			f := newFixture(t, opts)
			arrived, stop := make(chan struct{}, 1), make(chan struct{})
			rc := newReceiver(t, func(received, int) int {
				arrived <- struct{}{}
				select {
				case <-time.After(tt.answerIn):
				case <-stop:
				}
				return http.StatusOK
			})
			t.Cleanup(func() { close(stop) })
			w := f.addWebhook(t, rc.URL).Webhook
			seq := f.createTasks(t, 1)[0]
			<-arrived
			began := time.Now()
			f.d.Close()
			if took := time.Since(began); took > opts.ShutdownGrace+time.Second {
				t.Errorf("Close took %s, more than the grace of %s", took, opts.ShutdownGrace)
			}
			d := f.deliveries(t, w.ID)
			if len(d) != 1 {
				t.Fatalf("recorded %d attempts, want the one under way", len(d))
			}
			got := f.webhook(t, w.ID)
			if tt.wantError == "" && (d[0].Error != nil || got.LastDeliveredSeq != seq) {
				t.Errorf("attempt %+v, cursor %d; want it delivered", d[0], got.LastDeliveredSeq)
			}
			if tt.wantError != "" && (d[0].Error == nil || *d[0].Error != tt.wantError || got.LastDeliveredSeq == seq) {
				t.Errorf("attempt %+v, cursor %d; want it failed: %s", d[0], got.LastDeliveredSeq, tt.wantError)
			}
		})
	}
}

func TestAWebhookMadeElsewhereIsFoundWithoutBeingToldOf(t *testing.T) {
	f := newFixture(t, testOptions())
	rc := newReceiver(t, nil)
	elsewhere := webhook.NewService(f.store, true, nil) // as the command line makes one
	if _, err := elsewhere.Create(f.ctx, webhook.CreateInput{URL: rc.URL}); err != nil {
		t.Fatal(err)
	}
	seq := f.createTasks(t, 1)[0]
	eventually(t, "the change delivered", func() bool { return slices.Equal(rc.seqs(), []int64{seq}) })
}

func TestADeletedWebhookIsSentNothingMore(t *testing.T) {
	f := newFixture(t, testOptions())
	rc := newReceiver(t, nil)
	w := f.addWebhook(t, rc.URL).Webhook
	f.createTasks(t, 1)
	eventually(t, "a delivery", func() bool { return len(rc.requests()) == 1 })
	if err := f.svc.Delete(f.ctx, w.ID); err != nil {
		t.Fatal(err)
	}
	f.createTasks(t, 2)
	time.Sleep(300 * time.Millisecond)
	if n := len(rc.requests()); n != 1 {
		t.Errorf("a deleted webhook was sent %d more requests", n-1)
	}
}

func TestEachWebhookIsSentItsOwnOrganisationsChanges(t *testing.T) {
	f := newFixture(t, testOptions())
	ours, theirs := newReceiver(t, nil), newReceiver(t, nil)
	f.addWebhook(t, ours.URL)
	other := *f
	other.ctx = orgContext(t, f, "Globex")
	other.addWebhook(t, theirs.URL)
	mine := f.createTasks(t, 2)
	their := other.createTasks(t, 1)
	eventually(t, "every delivery", func() bool { return len(ours.requests()) == 2 && len(theirs.requests()) == 1 })
	time.Sleep(100 * time.Millisecond)
	if !slices.Equal(ours.seqs(), mine) || !slices.Equal(theirs.seqs(), their) {
		t.Errorf("ours got %v, want %v; theirs got %v, want %v", ours.seqs(), mine, theirs.seqs(), their)
	}
	for _, r := range theirs.requests() {
		if !strings.Contains(string(r.Body), `"type":"task.created"`) {
			t.Errorf("theirs got %s", r.Body)
		}
	}
}
