package storetest

import (
	"context"
	"fmt"
	"reflect"
	"testing"
	"time"

	"tasksapi/feed"
	"tasksapi/store"
	"tasksapi/task"
	"tasksapi/webhook"
)

var webhookTests = []test{
	{"AWebhookStartsAtItsOrganisationsHead", aWebhookStartsAtItsOrganisationsHead},
	{"AnOrganisationHasAtMostTwentyWebhooks", anOrganisationHasAtMostTwentyWebhooks},
	{"AWebhookOfAnotherOrganisationIsNotFound", aWebhookOfAnotherOrganisationIsNotFound},
	{"RecordingAttemptsMovesTheWebhookOn", recordingAttemptsMovesTheWebhookOn},
	{"TheNewestHundredAttemptsOfAWebhookAreKept", theNewestHundredAttemptsOfAWebhookAreKept},
	{"ARunOfAttemptsRecordedAtOnceIsAsEachInTurn", aRunOfAttemptsRecordedAtOnceIsAsEachInTurn},
	{"ARunOfAttemptsKeepsTheNewestHundred", aRunOfAttemptsKeepsTheNewestHundred},
	{"EnablingAWebhook", enablingAWebhook},
	{"ReplayingAWebhookMovesItsCursorBack", replayingAWebhookMovesItsCursorBack},
	{"DeletingAWebhookRemovesItsAttempts", deletingAWebhookRemovesItsAttempts},
	{"AWebhooksProgressSurvivesARestart", aWebhooksProgressSurvivesARestart},
	{"SkippingChangesRetentionRemoved", skippingChangesRetentionRemoved},
}

func mustCreateWebhook(t *testing.T, ctx context.Context, s store.Store, url string) webhook.Webhook {
	t.Helper()
	w, err := s.CreateWebhook(ctx, webhook.NewWebhook{URL: url, Secret: webhook.NewSecret()})
	if err != nil {
		t.Fatalf("CreateWebhook(%q): %v", url, err)
	}
	return w
}

func mustState(t *testing.T, s store.Store, id int) webhook.State {
	t.Helper()
	st, err := s.WebhookState(t.Context(), id)
	if err != nil {
		t.Fatalf("WebhookState(%d): %v", id, err)
	}
	return st
}

func mustRecord(t *testing.T, s store.Store, st webhook.State, a ...webhook.Attempt) webhook.State {
	t.Helper()
	next, err := s.RecordAttempt(t.Context(), st.ID, st.Generation, a...)
	if err != nil {
		t.Fatalf("RecordAttempt(%+v): %v", a, err)
	}
	return next
}

func feedQuery(after int64) feed.Query { return feed.Query{After: after, Limit: 100} }

// headOf is the newest seq of the organisation's changes.
// storedRows counts the rows of table as stored, when the harness can
// read them (ok false when it cannot).
func storedRows(t *testing.T, h Harness, name, table string) (n int, ok bool) {
	t.Helper()
	if h.Dump == nil {
		return 0, false
	}
	dumped, found := h.Dump(t, name)[table]
	if !found {
		t.Fatalf("the database has no table %s", table)
	}
	return len(dumped.Rows), true
}

func headOf(t *testing.T, ctx context.Context, s store.Store) int64 {
	t.Helper()
	return mustChanges(t, ctx, s, 0, 1).HeadSeq
}

func aWebhookStartsAtItsOrganisationsHead(t *testing.T, h Harness) {
	s, clk, _ := h.New(t)
	acme, globex, empty := OrgContext(t, s, "Acme"), OrgContext(t, s, "Globex"), OrgContext(t, s, "Initech")
	MustCreate(t, acme, s, Simple(t, "ours"))
	MustCreate(t, acme, s, Simple(t, "ours too"))
	MustCreate(t, globex, s, Simple(t, "theirs, later"))

	w := mustCreateWebhook(t, acme, s, "https://example.com/hook")
	if want := headOf(t, acme, s); w.LastDeliveredSeq != want {
		t.Errorf("a new webhook's cursor is %d, want the organisation's head %d", w.LastDeliveredSeq, want)
	}
	if w := mustCreateWebhook(t, empty, s, "https://example.com/hook"); w.LastDeliveredSeq != 0 {
		t.Errorf("a webhook of an organisation without changes starts at %d, want 0", w.LastDeliveredSeq)
	}
	if !w.Enabled || w.FailingSince != nil || w.URL != "https://example.com/hook" || w.Description != nil ||
		w.CreatedAt != task.NewDateTime(clk.Now()) || w.OrganisationID == 0 {
		t.Errorf("a new webhook is %+v", w)
	}

	clk.Advance(time.Hour)
	MustCreate(t, acme, s, Simple(t, "gone"))
	clk.Advance(time.Hour)
	if _, err := s.DeleteOldChanges(t.Context(), clk.Now(), 100); err != nil {
		t.Fatal(err)
	}
	removed := w.LastDeliveredSeq + 1 // at least: the last create
	if w := mustCreateWebhook(t, acme, s, "https://example.com/later"); w.LastDeliveredSeq < removed {
		t.Errorf("a webhook created after retention emptied the feed starts at %d, want at least %d, the last seq removed",
			w.LastDeliveredSeq, removed)
	}
}

func anOrganisationHasAtMostTwentyWebhooks(t *testing.T, h Harness) {
	s, _, _ := h.New(t)
	acme := OrgContext(t, s, "Acme")
	for i := range webhook.MaxPerOrganisation {
		mustCreateWebhook(t, acme, s, fmt.Sprintf("https://example.com/%d", i))
	}
	_, err := s.CreateWebhook(acme, webhook.NewWebhook{URL: "https://example.com/one-more", Secret: webhook.NewSecret()})
	WantCode(t, err, task.CodeInvalid)
	mustCreateWebhook(t, OrgContext(t, s, "Globex"), s, "https://example.com/theirs")
	if hooks, err := s.Webhooks(acme); err != nil || len(hooks) != webhook.MaxPerOrganisation {
		t.Errorf("the organisation has %d webhooks (%v), want %d", len(hooks), err, webhook.MaxPerOrganisation)
	}
}

func aWebhookOfAnotherOrganisationIsNotFound(t *testing.T, h Harness) {
	s, _, _ := h.New(t)
	acme, globex := OrgContext(t, s, "Acme"), OrgContext(t, s, "Globex")
	w := mustCreateWebhook(t, acme, s, "https://example.com/hook")
	tests := []struct {
		name string
		call func(ctx context.Context, id int) error
	}{
		{"reading it", func(ctx context.Context, id int) error { _, err := s.Webhook(ctx, id); return err }},
		{"listing its deliveries", func(ctx context.Context, id int) error {
			_, err := s.WebhookDeliveries(ctx, id, 10)
			return err
		}},
		{"enabling it", func(ctx context.Context, id int) error { _, err := s.EnableWebhook(ctx, id); return err }},
		{"replaying it", func(ctx context.Context, id int) error { _, err := s.ReplayWebhook(ctx, id, 0); return err }},
		{"deleting it", func(ctx context.Context, id int) error { return s.DeleteWebhook(ctx, id) }},
	}
	for _, tt := range tests {
		t.Run(tt.name+" from another organisation", func(t *testing.T) {
			WantCode(t, tt.call(globex, w.ID), task.CodeNotFound)
		})
		t.Run(tt.name+" when there is no such webhook", func(t *testing.T) {
			WantCode(t, tt.call(acme, w.ID+1000), task.CodeNotFound)
		})
	}
	if hooks, _ := s.Webhooks(globex); len(hooks) != 0 {
		t.Errorf("another organisation lists %d webhooks, want none", len(hooks))
	}
	if _, err := s.Webhook(acme, w.ID); err != nil {
		t.Errorf("the webhook is gone after another organisation tried to delete it: %v", err)
	}
}

func recordingAttemptsMovesTheWebhookOn(t *testing.T, h Harness) {
	at := BaseTime.UTC().Truncate(time.Second)
	later := at.Add(5 * time.Second)
	failed := func(seq int64, n int, disable bool) webhook.Attempt {
		return webhook.Attempt{Seq: seq, Number: n, At: at, StatusCode: 500, Error: "the endpoint answered 500",
			NextAttempt: later, Disable: disable, Duration: 12 * time.Millisecond}
	}
	delivered := webhook.Attempt{Seq: 7, Number: 2, At: at, StatusCode: 204, Duration: 3 * time.Millisecond}
	tests := []struct {
		name     string
		attempts []webhook.Attempt
		stale    bool // recorded under an older generation
		check    func(t *testing.T, start, st webhook.State)
	}{
		{"a failed attempt counts, schedules the next and marks the webhook failing", []webhook.Attempt{failed(7, 1, false)},
			false, func(t *testing.T, start, st webhook.State) {
				if st.Attempts != 1 || !st.NextAttempt.Equal(later) || st.FailingSince == nil ||
					!st.FailingSince.Time().Equal(at) || !st.Enabled || st.LastDeliveredSeq != start.LastDeliveredSeq {
					t.Errorf("after a failure: %+v", st)
				}
			}},
		{"a delivered attempt moves the cursor past its change and clears the failure",
			[]webhook.Attempt{failed(7, 1, false), delivered}, false, func(t *testing.T, start, st webhook.State) {
				if st.LastDeliveredSeq != 7 || st.Attempts != 0 || !st.NextAttempt.IsZero() || st.FailingSince != nil {
					t.Errorf("after a delivery: %+v", st)
				}
			}},
		{"a failure keeps the time the webhook began failing", []webhook.Attempt{failed(7, 1, false),
			{Seq: 7, Number: 2, At: later, Error: "no answer", NextAttempt: later.Add(time.Minute)}},
			false, func(t *testing.T, start, st webhook.State) {
				if st.FailingSince == nil || !st.FailingSince.Time().Equal(at) || st.Attempts != 2 {
					t.Errorf("after two failures: %+v, want failing since %v", st, at)
				}
			}},
		{"a failure told to disable disables the webhook", []webhook.Attempt{failed(7, 9, true)},
			false, func(t *testing.T, start, st webhook.State) {
				if st.Enabled || st.FailingSince == nil {
					t.Errorf("after a failure told to disable: %+v", st)
				}
			}},
		{"an attempt of an older generation is recorded but moves nothing", []webhook.Attempt{delivered},
			true, func(t *testing.T, start, st webhook.State) {
				if st.LastDeliveredSeq != start.LastDeliveredSeq || st.Generation != start.Generation {
					t.Errorf("a stale delivery moved the webhook: %+v", st)
				}
			}},
	}
	s, _, _ := h.New(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			acme := OrgContext(t, s, tt.name) // an organisation of its own
			MustCreate(t, acme, s, Simple(t, "before the webhook"))
			w := mustCreateWebhook(t, acme, s, "https://example.com/hook")
			start := mustState(t, s, w.ID)
			gen := start.Generation
			if tt.stale {
				replayed, err := s.ReplayWebhook(acme, w.ID, 0)
				if err != nil {
					t.Fatal(err)
				}
				start = mustState(t, s, w.ID)
				if replayed.LastDeliveredSeq != 0 || start.Generation == gen {
					t.Fatalf("the replay did not move the cursor back: %+v", start)
				}
			}
			st := start
			for _, a := range tt.attempts {
				next, err := s.RecordAttempt(t.Context(), w.ID, gen, a)
				if err != nil {
					t.Fatal(err)
				}
				st = next
			}
			tt.check(t, start, st)
			got, err := s.WebhookDeliveries(acme, w.ID, 100)
			if err != nil {
				t.Fatal(err)
			}
			if want := len(tt.attempts); len(got) != want {
				t.Fatalf("%d attempts listed, want %d", len(got), len(tt.attempts))
			}
			last, d := tt.attempts[len(tt.attempts)-1], got[0]
			if d.Seq != last.Seq || d.Attempt != last.Number || d.At != task.NewDateTime(last.At) ||
				d.DurationMs != int(last.Duration.Milliseconds()) || (d.Error == nil) != last.Delivered() ||
				(d.StatusCode == nil) != (last.StatusCode == 0) {
				t.Errorf("the newest attempt listed is %+v, want %+v", d, last)
			}
		})
	}
}

func theNewestHundredAttemptsOfAWebhookAreKept(t *testing.T, h Harness) {
	s, _, name := h.New(t)
	acme := OrgContext(t, s, "Acme")
	w := mustCreateWebhook(t, acme, s, "https://example.com/hook")
	other := mustCreateWebhook(t, acme, s, "https://example.com/other")
	st := mustState(t, s, w.ID)
	mustRecord(t, s, mustState(t, s, other.ID), webhook.Attempt{Seq: 1, Number: 1, At: BaseTime, Error: "refused"})
	for i := 1; i <= 130; i++ {
		st = mustRecord(t, s, st, webhook.Attempt{Seq: 1, Number: i, At: BaseTime, Error: "refused", NextAttempt: BaseTime})
	}
	got, err := s.WebhookDeliveries(acme, w.ID, 1000)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != webhook.KeptDeliveries || got[0].Attempt != 130 || got[len(got)-1].Attempt != 31 {
		t.Errorf("kept %d attempts, %d to %d; want %d, newest first, 130 to 31",
			len(got), got[0].Attempt, got[len(got)-1].Attempt, webhook.KeptDeliveries)
	}
	if n, ok := storedRows(t, h, name, "webhook_deliveries"); ok && n != webhook.KeptDeliveries+1 {
		t.Errorf("the database holds %d attempts, want %d: another webhook's are its own", n, webhook.KeptDeliveries+1)
	}
	if got, _ := s.WebhookDeliveries(acme, w.ID, 3); len(got) != 3 || got[0].Attempt != 130 {
		t.Errorf("the first 3 are %+v, want the newest 3", got)
	}
}

// aRunOfAttemptsRecordedAtOnceIsAsEachInTurn records runs of attempts in
// one call on one webhook and one at a time on another: both must end
// alike, and list the same attempts.
func aRunOfAttemptsRecordedAtOnceIsAsEachInTurn(t *testing.T, h Harness) {
	at := BaseTime.UTC().Truncate(time.Second)
	ok := func(seq int64, n int, after time.Duration) webhook.Attempt {
		return webhook.Attempt{Seq: seq, Number: n, At: at.Add(after), StatusCode: 204, Duration: time.Millisecond}
	}
	failed := func(seq int64, n int, after time.Duration, disable bool) webhook.Attempt {
		return webhook.Attempt{Seq: seq, Number: n, At: at.Add(after), StatusCode: 503, Error: "the endpoint answered 503",
			NextAttempt: at.Add(after + time.Minute), Disable: disable, Duration: 2 * time.Millisecond}
	}
	tests := []struct {
		name string
		// before is recorded first, one at a time on both webhooks.
		before, run []webhook.Attempt
		check       func(t *testing.T, start, st webhook.State)
	}{
		{"deliveries move the cursor past the last", nil, []webhook.Attempt{ok(3, 1, 0), ok(4, 1, time.Second), ok(5, 1, 2*time.Second)},
			func(t *testing.T, start, st webhook.State) {
				if st.LastDeliveredSeq != 5 || st.Attempts != 0 || st.FailingSince != nil || !st.NextAttempt.IsZero() {
					t.Errorf("after three deliveries: %+v", st)
				}
			}},
		{"deliveries then a failure: the cursor past the last delivered, the failure scheduled", nil,
			[]webhook.Attempt{ok(3, 1, 0), ok(4, 1, time.Second), failed(5, 1, 2*time.Second, false)},
			func(t *testing.T, start, st webhook.State) {
				if st.LastDeliveredSeq != 4 || st.Attempts != 1 || st.FailingSince == nil ||
					!st.FailingSince.Time().Equal(at.Add(2*time.Second)) || !st.NextAttempt.Equal(at.Add(2*time.Second+time.Minute)) {
					t.Errorf("after two deliveries and a failure: %+v", st)
				}
			}},
		{"a webhook already failing keeps when it began", []webhook.Attempt{failed(3, 1, 0, false)},
			[]webhook.Attempt{failed(3, 2, time.Second, false), failed(3, 3, 5*time.Second, false)},
			func(t *testing.T, start, st webhook.State) {
				if st.LastDeliveredSeq != start.LastDeliveredSeq || st.Attempts != 3 || st.FailingSince == nil ||
					!st.FailingSince.Time().Equal(at) {
					t.Errorf("after three failures: %+v, want failing since %v", st, at)
				}
			}},
		{"a failing change delivered at last, then more: the failing is over", []webhook.Attempt{failed(3, 1, 0, false)},
			[]webhook.Attempt{failed(3, 2, time.Second, false), ok(3, 3, 2*time.Second), ok(4, 1, 3*time.Second)},
			func(t *testing.T, start, st webhook.State) {
				if st.LastDeliveredSeq != 4 || st.Attempts != 0 || st.FailingSince != nil || !st.Enabled {
					t.Errorf("after the failure passed: %+v", st)
				}
			}},
		{"a delivery, then failures again: failing since the first of them", []webhook.Attempt{failed(3, 1, 0, false)},
			[]webhook.Attempt{ok(3, 2, time.Second), failed(4, 1, 2*time.Second, false), failed(4, 2, 3*time.Second, false)},
			func(t *testing.T, start, st webhook.State) {
				if st.LastDeliveredSeq != 3 || st.Attempts != 2 || st.FailingSince == nil ||
					!st.FailingSince.Time().Equal(at.Add(2*time.Second)) {
					t.Errorf("after failing again: %+v", st)
				}
			}},
		{"a failure told to disable disables", nil, []webhook.Attempt{ok(3, 1, 0), failed(4, 9, time.Second, true)},
			func(t *testing.T, start, st webhook.State) {
				if st.Enabled || st.LastDeliveredSeq != 3 {
					t.Errorf("after a failure told to disable: %+v", st)
				}
			}},
	}
	s, _, _ := h.New(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			acme := OrgContext(t, s, tt.name)
			atOnce := mustState(t, s, mustCreateWebhook(t, acme, s, "https://example.com/at-once").ID)
			inTurn := mustState(t, s, mustCreateWebhook(t, acme, s, "https://example.com/in-turn").ID)
			for _, a := range tt.before {
				atOnce, inTurn = mustRecord(t, s, atOnce, a), mustRecord(t, s, inTurn, a)
			}
			start, inTurnID := atOnce, inTurn.ID
			got, err := s.RecordAttempt(t.Context(), atOnce.ID, atOnce.Generation, tt.run...)
			if err != nil {
				t.Fatal(err)
			}
			for _, a := range tt.run {
				inTurn = mustRecord(t, s, inTurn, a)
			}
			tt.check(t, start, got)
			if stored := mustState(t, s, atOnce.ID); !reflect.DeepEqual(stored, got) {
				t.Errorf("RecordAttempt returned %+v, but the webhook is %+v", got, stored)
			}
			got.Webhook.ID, got.URL, inTurn.Webhook.ID, inTurn.URL = 0, "", 0, ""
			got.Secret, inTurn.Secret = "", ""
			if !reflect.DeepEqual(got, inTurn) {
				t.Errorf("recorded at once the webhook is\n%+v\none at a time\n%+v", got, inTurn)
			}
			listed := func(id int) []webhook.Delivery {
				ds, err := s.WebhookDeliveries(acme, id, 100)
				if err != nil {
					t.Fatal(err)
				}
				for i := range ds {
					ds[i].ID = 0
				}
				return ds
			}
			if a, b := listed(atOnce.ID), listed(inTurnID); !reflect.DeepEqual(a, b) ||
				len(a) != len(tt.before)+len(tt.run) || a[0].Seq != tt.run[len(tt.run)-1].Seq ||
				a[0].Attempt != tt.run[len(tt.run)-1].Number {
				t.Errorf("listed, recorded at once: %+v\none at a time: %+v", a, b)
			}
		})
	}
	t.Run("under an older generation they are recorded but move nothing", func(t *testing.T) {
		acme := OrgContext(t, s, "stale")
		MustCreate(t, acme, s, Simple(t, "before the webhook"))
		w := mustCreateWebhook(t, acme, s, "https://example.com/hook")
		gen := mustState(t, s, w.ID).Generation
		if _, err := s.ReplayWebhook(acme, w.ID, 0); err != nil {
			t.Fatal(err)
		}
		start := mustState(t, s, w.ID)
		got, err := s.RecordAttempt(t.Context(), w.ID, gen, ok(start.LastDeliveredSeq+1, 1, 0), ok(start.LastDeliveredSeq+2, 1, 0))
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, start) {
			t.Errorf("a stale run moved the webhook: %+v, was %+v", got, start)
		}
		if ds, _ := s.WebhookDeliveries(acme, w.ID, 100); len(ds) != 2 {
			t.Errorf("%d attempts listed, want the 2 of the run", len(ds))
		}
	})
	t.Run("of a deleted webhook they are refused as missing", func(t *testing.T) {
		acme := OrgContext(t, s, "deleted")
		w := mustCreateWebhook(t, acme, s, "https://example.com/hook")
		if err := s.DeleteWebhook(acme, w.ID); err != nil {
			t.Fatal(err)
		}
		_, err := s.RecordAttempt(t.Context(), w.ID, 0, ok(1, 1, 0), ok(2, 1, 0))
		WantCode(t, err, task.CodeNotFound)
	})
}

// aRunOfAttemptsKeepsTheNewestHundred records a run longer than the
// attempts kept after some recorded before.
func aRunOfAttemptsKeepsTheNewestHundred(t *testing.T, h Harness) {
	s, _, name := h.New(t)
	acme := OrgContext(t, s, "Acme")
	w := mustCreateWebhook(t, acme, s, "https://example.com/hook")
	st := mustState(t, s, w.ID)
	for seq := int64(1); seq <= 10; seq++ {
		st = mustRecord(t, s, st, webhook.Attempt{Seq: seq, Number: 1, At: BaseTime, StatusCode: 200})
	}
	var run []webhook.Attempt
	for seq := int64(11); seq <= 140; seq++ {
		run = append(run, webhook.Attempt{Seq: seq, Number: 1, At: BaseTime, StatusCode: 200})
	}
	st = mustRecord(t, s, st, run...)
	if st.LastDeliveredSeq != 140 {
		t.Errorf("the cursor is at %d after the run, want 140", st.LastDeliveredSeq)
	}
	got, err := s.WebhookDeliveries(acme, w.ID, 1000)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != webhook.KeptDeliveries || got[0].Seq != 140 || got[len(got)-1].Seq != 41 {
		t.Fatalf("kept %d attempts, want %d, newest first, seqs 140 to 41", len(got), webhook.KeptDeliveries)
	}
	for i, d := range got {
		if d.Seq != int64(140-i) {
			t.Fatalf("attempt %d listed is of seq %d, want %d: newest first, in the order made", i, d.Seq, 140-i)
		}
	}
	if n, ok := storedRows(t, h, name, "webhook_deliveries"); ok && n != webhook.KeptDeliveries {
		t.Errorf("the database holds %d attempts, want %d", n, webhook.KeptDeliveries)
	}
}

func enablingAWebhook(t *testing.T, h Harness) {
	s, _, _ := h.New(t)
	acme := OrgContext(t, s, "Acme")
	w := mustCreateWebhook(t, acme, s, "https://example.com/hook")
	st := mustRecord(t, s, mustState(t, s, w.ID), webhook.Attempt{Seq: 9, Number: 40, At: BaseTime,
		Error: "the endpoint answered 503", NextAttempt: BaseTime.Add(time.Hour), Disable: true})

	t.Run("turns a disabled webhook on at its cursor, at once and counting afresh", func(t *testing.T) {
		got, err := s.EnableWebhook(acme, w.ID)
		if err != nil {
			t.Fatal(err)
		}
		after := mustState(t, s, w.ID)
		if !got.Enabled || got.FailingSince != nil || got.LastDeliveredSeq != st.LastDeliveredSeq ||
			after.Attempts != 0 || !after.NextAttempt.IsZero() || after.Generation != st.Generation+1 {
			t.Errorf("enabled: %+v, state %+v", got, after)
		}
	})
	t.Run("leaves an enabled webhook as it is", func(t *testing.T) {
		before := mustState(t, s, w.ID)
		if _, err := s.EnableWebhook(acme, w.ID); err != nil {
			t.Fatal(err)
		}
		if after := mustState(t, s, w.ID); !reflect.DeepEqual(after, before) {
			t.Errorf("enabling an enabled webhook changed it: %+v, was %+v", after, before)
		}
	})
}

func replayingAWebhookMovesItsCursorBack(t *testing.T, h Harness) {
	s, clk, _ := h.New(t)
	acme := OrgContext(t, s, "Acme")
	w := mustCreateWebhook(t, acme, s, "https://example.com/hook")
	var seqs []int64
	for i := range 6 {
		MustCreate(t, acme, s, Simple(t, fmt.Sprint("task ", i)))
		seqs = append(seqs, headOf(t, acme, s))
		if i == 1 {
			clk.Advance(time.Hour) // the first two are older than the rest
		}
	}
	st := mustState(t, s, w.ID)
	for _, seq := range seqs[:4] {
		st = mustRecord(t, s, st, webhook.Attempt{Seq: seq, Number: 1, At: clk.Now(), StatusCode: 200})
	}
	if _, err := s.DeleteOldChanges(t.Context(), clk.Now().Add(-time.Minute), 100); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		after int64
		want  int64
	}{
		{"after a seq before the cursor: back to it", seqs[2], seqs[2]},
		{"after the cursor itself: it stays", seqs[3], seqs[3]},
		{"after a seq not yet delivered: it stays, so nothing is skipped", seqs[5], seqs[3]},
		{"after a point retention removed: back to the oldest change kept", 0, seqs[1]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := mustState(t, s, w.ID)
			if before.LastDeliveredSeq != seqs[3] { // each case starts from the same cursor
				st := mustRecord(t, s, before, webhook.Attempt{Seq: seqs[3], Number: 1, At: clk.Now(), StatusCode: 200})
				before = st
			}
			got, err := s.ReplayWebhook(acme, w.ID, tt.after)
			if err != nil {
				t.Fatal(err)
			}
			after := mustState(t, s, w.ID)
			// A new generation even when the cursor stays: deliveries made
			// but not yet recorded must not move it on past the replay.
			if got.LastDeliveredSeq != tt.want || after.Generation == before.Generation {
				t.Errorf("cursor %d, generation %d -> %d; want cursor %d, a new generation",
					got.LastDeliveredSeq, before.Generation, after.Generation, tt.want)
			}
			if moved := tt.want != before.LastDeliveredSeq; !moved && (after.Attempts != before.Attempts ||
				!after.NextAttempt.Equal(before.NextAttempt)) {
				t.Errorf("a replay that left the cursor where it was changed its attempts: %+v, was %+v", after, before)
			}
		})
	}
}

func deletingAWebhookRemovesItsAttempts(t *testing.T, h Harness) {
	s, _, name := h.New(t)
	acme := OrgContext(t, s, "Acme")
	w := mustCreateWebhook(t, acme, s, "https://example.com/hook")
	st := mustState(t, s, w.ID)
	mustRecord(t, s, st, webhook.Attempt{Seq: 1, Number: 1, At: BaseTime, Error: "refused"})
	if err := s.DeleteWebhook(acme, w.ID); err != nil {
		t.Fatal(err)
	}
	if n, ok := storedRows(t, h, name, "webhook_deliveries"); ok && n != 0 {
		t.Errorf("%d attempts outlive their webhook", n)
	}
	_, err := s.RecordAttempt(t.Context(), w.ID, st.Generation, webhook.Attempt{Seq: 1, Number: 2, At: BaseTime})
	WantCode(t, err, task.CodeNotFound)
	WantCode(t, s.DeleteWebhook(acme, w.ID), task.CodeNotFound)
}

func aWebhooksProgressSurvivesARestart(t *testing.T, h Harness) {
	name := h.NewDatabase(t)
	s := h.Open(t, name, nil)
	acme := OrgContext(t, s, "Acme")
	w := mustCreateWebhook(t, acme, s, "https://example.com/hook")
	MustCreate(t, acme, s, Simple(t, "sent"))
	sent := headOf(t, acme, s)
	MustCreate(t, acme, s, Simple(t, "failing"))
	failing := headOf(t, acme, s)
	st := mustRecord(t, s, mustState(t, s, w.ID), webhook.Attempt{Seq: sent, Number: 1, At: BaseTime, StatusCode: 200})
	st = mustRecord(t, s, st, webhook.Attempt{Seq: failing, Number: 1, At: BaseTime, Error: "refused",
		NextAttempt: BaseTime.Add(time.Second)})
	MustClose(t, s)

	s = h.Open(t, name, nil)
	if got := mustState(t, s, w.ID); !reflect.DeepEqual(got, st) {
		t.Errorf("after a restart the webhook is %+v, want %+v", got, st)
	}
}

func skippingChangesRetentionRemoved(t *testing.T, h Harness) {
	s, clk, _ := h.New(t)
	acme := OrgContext(t, s, "Acme")
	MustCreate(t, acme, s, Simple(t, "before the webhook"))
	w := mustCreateWebhook(t, acme, s, "https://example.com/hook")
	MustCreate(t, acme, s, Simple(t, "old"))
	removed := headOf(t, acme, s)
	clk.Advance(time.Hour)
	MustCreate(t, acme, s, Simple(t, "kept"))
	if _, err := s.DeleteOldChanges(t.Context(), clk.Now().Add(-time.Minute), 100); err != nil {
		t.Fatal(err)
	}
	st := mustState(t, s, w.ID)
	_, err := s.Changes(acme, feedQuery(st.LastDeliveredSeq))
	WantCode(t, err, task.CodeExpired)

	if _, _, err := s.SkipRemovedChanges(t.Context(), w.ID, st.Generation+1); err != nil {
		t.Fatal(err)
	}
	if got := mustState(t, s, w.ID); got.LastDeliveredSeq != st.LastDeliveredSeq {
		t.Errorf("a skip under an older generation moved the cursor to %d", got.LastDeliveredSeq)
	}
	from, to, err := s.SkipRemovedChanges(t.Context(), w.ID, st.Generation)
	if err != nil || from != st.LastDeliveredSeq || to != removed {
		t.Fatalf("skipped from %d to %d (%v), want from %d to %d", from, to, err, st.LastDeliveredSeq, removed)
	}
	if page, err := s.Changes(acme, feedQuery(mustState(t, s, w.ID).LastDeliveredSeq)); err != nil || len(page.Changes) != 1 {
		t.Errorf("after the skip the webhook reads %+v, %v; want the one kept change", page, err)
	}
}
