package idempotency_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"tasksapi/access"
	"tasksapi/idempotency"
	"tasksapi/sqlite"
	"tasksapi/task"
)

// setup opens a store on a fresh file and returns it with a keeper and
// the contexts of two API keys of one organisation.
func setup(t *testing.T) (*sqlite.Store, *idempotency.Keeper, context.Context, context.Context) {
	t.Helper()
	s, err := sqlite.Open(filepath.Join(t.TempDir(), "tasks.db"), sqlite.SyncNormal)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	keyCtx := func(label string) context.Context {
		creds, err := access.NewKey(t.Context(), s, "Acme", label)
		if err != nil {
			t.Fatal(err)
		}
		return access.WithPrincipal(t.Context(), access.Principal{OrganisationID: creds.OrganisationID, KeyID: creds.KeyID})
	}
	k := idempotency.New(s, time.Hour, slog.New(slog.NewTextHandler(io.Discard, nil)))
	return s, k, keyCtx("one"), keyCtx("two")
}

func input(title string) task.CreateInput {
	start, _ := task.ParseDateTime("2026-03-01T09:00:00")
	return task.CreateInput{Title: title, StartDatetime: start, ContactID: new(1)}
}

func code(err error) task.Code {
	if err == nil {
		return ""
	}
	return task.ErrorCode(err)
}

func TestCheckKey(t *testing.T) {
	tests := []struct {
		name string
		key  string
		ok   bool
	}{
		{"one visible character is a key", "a", true},
		{"255 characters are a key", strings.Repeat("k", 255), true},
		{"every visible ASCII character is allowed", "!\"#$%&'()*+,-./09:;<=>?@AZ[\\]^_`az{|}~", true},
		{"a UUID is a key", "9f1c2d3e-4b5a-6789-abcd-ef0123456789", true},
		{"an empty key is refused", "", false},
		{"256 characters are refused", strings.Repeat("k", 256), false},
		{"300 characters are refused", strings.Repeat("k", 300), false},
		{"a space is refused", "two words", false},
		{"a tab is refused", "a\tb", false},
		{"a non-ASCII letter is refused", "clé", false},
		{"DEL is refused", "a\x7f", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := idempotency.CheckKey(tt.key)
			if tt.ok != (err == nil) {
				t.Fatalf("CheckKey(%q) = %v, want ok %v", tt.key, err, tt.ok)
			}
			if err != nil {
				var e *task.Error
				if !errors.As(err, &e) || e.Code != task.CodeInvalid || e.Fields[0].Field != idempotency.Header {
					t.Errorf("the refusal %v is not a validation error on %s", err, idempotency.Header)
				}
			}
		})
	}
}

func TestBegin(t *testing.T) {
	fp := idempotency.Fingerprint("POST", "/v1/tasks", []byte(`{"title":"x"}`))
	tests := []struct {
		name string
		run  func(t *testing.T, s *sqlite.Store, k *idempotency.Keeper, one, two context.Context)
	}{
		{"a new key runs its request", func(t *testing.T, s *sqlite.Store, k *idempotency.Keeper, one, _ context.Context) {
			ctx, release, err := k.Begin(one, "k", fp)
			if err != nil {
				t.Fatal(err)
			}
			defer release()
			if c, _ := idempotency.FromContext(ctx); c.Replayed() {
				t.Errorf("a new key is a repeat")
			}
		}},
		{"a key whose first request is still running is in use", func(t *testing.T, s *sqlite.Store, k *idempotency.Keeper, one, _ context.Context) {
			_, release, err := k.Begin(one, "k", fp)
			if err != nil {
				t.Fatal(err)
			}
			defer release()
			if _, _, err := k.Begin(one, "k", fp); code(err) != task.CodeKeyInUse {
				t.Errorf("the second Begin = %v, want %s", err, task.CodeKeyInUse)
			}
		}},
		{"a released key that kept nothing runs again", func(t *testing.T, s *sqlite.Store, k *idempotency.Keeper, one, _ context.Context) {
			_, release, _ := k.Begin(one, "k", fp)
			release()
			ctx, release, err := k.Begin(one, "k", fp)
			if err != nil {
				t.Fatal(err)
			}
			defer release()
			if c, _ := idempotency.FromContext(ctx); c.Replayed() {
				t.Errorf("a key that kept nothing is a repeat")
			}
		}},
		{"a repeat is answered by the kept outcome and writes nothing", func(t *testing.T, s *sqlite.Store, k *idempotency.Keeper, one, _ context.Context) {
			svc := idempotency.Service{Service: s}
			ctx, release, _ := k.Begin(one, "k", fp)
			first, err := svc.CreateTask(ctx, input("once"))
			release()
			if err != nil {
				t.Fatal(err)
			}
			ctx, release, err = k.Begin(one, "k", fp)
			if err != nil {
				t.Fatal(err)
			}
			defer release()
			if c, _ := idempotency.FromContext(ctx); !c.Replayed() {
				t.Fatalf("the repeat is not marked as one")
			}
			again, err := svc.CreateTask(ctx, input("once"))
			if err != nil || again.ID != first.ID {
				t.Errorf("the repeat answered %+v, %v; want task %d", again, err, first.ID)
			}
			page, _ := s.ListTasks(one, task.ListParams{})
			if page.TotalRecords != 1 {
				t.Errorf("%d tasks stored, want 1", page.TotalRecords)
			}
		}},
		{"a key kept for another request is refused", func(t *testing.T, s *sqlite.Store, k *idempotency.Keeper, one, _ context.Context) {
			ctx, release, _ := k.Begin(one, "k", fp)
			if _, err := (idempotency.Service{Service: s}).CreateTask(ctx, input("once")); err != nil {
				t.Fatal(err)
			}
			release()
			other := idempotency.Fingerprint("POST", "/v1/tasks", []byte(`{"title":"y"}`))
			if _, _, err := k.Begin(one, "k", other); code(err) != task.CodeKeyReused {
				t.Errorf("Begin with another fingerprint = %v, want %s", err, task.CodeKeyReused)
			}
		}},
		{"another API key's use of the same key is its own", func(t *testing.T, s *sqlite.Store, k *idempotency.Keeper, one, two context.Context) {
			ctx, release, _ := k.Begin(one, "k", fp)
			if _, err := (idempotency.Service{Service: s}).CreateTask(ctx, input("once")); err != nil {
				t.Fatal(err)
			}
			// Still running for the first key, and kept: neither concerns the second.
			ctx, release2, err := k.Begin(two, "k", fp)
			if err != nil {
				t.Fatalf("the second API key's Begin = %v", err)
			}
			defer release2()
			release()
			if c, _ := idempotency.FromContext(ctx); c.Replayed() {
				t.Errorf("the second API key got the first one's outcome")
			}
		}},
		{"a refusal by a rule is kept and replayed", func(t *testing.T, s *sqlite.Store, k *idempotency.Keeper, one, _ context.Context) {
			ctx, release, _ := k.Begin(one, "k", fp)
			_, err := (idempotency.Service{Service: s}).UpdateTask(ctx, 99, task.UpdateInput{}, task.AnyVersion())
			idempotency.Refused(ctx, err)
			release()
			ctx, release, _ = k.Begin(one, "k", fp)
			defer release()
			_, again := (idempotency.Service{Service: s}).UpdateTask(ctx, 99, task.UpdateInput{}, task.AnyVersion())
			if c, _ := idempotency.FromContext(ctx); !c.Replayed() || code(again) != task.CodeNotFound {
				t.Errorf("the repeat of a refusal answered %v (replayed %v)", again, c.Replayed())
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, k, one, two := setup(t)
			tt.run(t, s, k, one, two)
		})
	}
}

func TestRefusedKeepsOnlyAnswersAboutTheRequest(t *testing.T) {
	tests := []struct {
		name string
		err  error
		kept bool
	}{
		{"a broken rule is kept", task.Invalid("title", "is required"), true},
		{"a malformed body is kept", &task.Error{Code: task.CodeMalformed, Message: "not JSON"}, true},
		{"a missing task is kept", task.NotFound(), true},
		{"a version conflict is kept", task.VersionConflict(3), true},
		{"a rate limit is not kept", &task.Error{Code: task.CodeRateLimited}, false},
		{"bad credentials are not kept", &task.Error{Code: task.CodeUnauthenticated}, false},
		{"a fault is not kept", errors.New("disk on fire"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, k, one, _ := setup(t)
			p, _ := access.FromContext(one)
			ctx, release, _ := k.Begin(one, "k", []byte("fp"))
			idempotency.Refused(ctx, tt.err)
			release()
			_, found, err := s.IdempotencyRecord(one, p.KeyID, "k", time.Now())
			if err != nil {
				t.Fatal(err)
			}
			if found != tt.kept {
				t.Errorf("kept = %v, want %v", found, tt.kept)
			}
		})
	}
}

func TestSweepRemovesExpiredOutcomes(t *testing.T) {
	s, k, one, _ := setup(t)
	p, _ := access.FromContext(one)
	now := time.Now()
	k.Now = func() time.Time { return now }
	for _, key := range []string{"a", "b", "c"} {
		ctx, release, _ := k.Begin(one, key, []byte("fp"))
		idempotency.Refused(ctx, task.NotFound())
		release()
	}
	k.Now = func() time.Time { return now.Add(2 * time.Hour) }
	ctx, stop := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { k.Sweep(ctx, 10*time.Millisecond); close(done) }()
	deadline := time.Now().Add(5 * time.Second)
	for {
		// Read as of before the expiry, a record is found until it is removed.
		_, found, _ := s.IdempotencyRecord(one, p.KeyID, "c", now)
		if !found {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the sweep left expired outcomes for 5 s")
		}
		time.Sleep(10 * time.Millisecond)
	}
	stop()
	<-done
}
