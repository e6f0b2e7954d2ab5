package webhook_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"tasksapi/feed"
	"tasksapi/task"
	"tasksapi/webhook"
)

func TestASecretIsWhsecAndBase64OfThirtyTwoRandomBytes(t *testing.T) {
	a, b := webhook.NewSecret(), webhook.NewSecret()
	if a == b {
		t.Fatalf("two secrets are the same: %s", a)
	}
	for _, s := range []string{a, b} {
		key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(s, "whsec_"))
		if !strings.HasPrefix(s, "whsec_") || err != nil || len(key) != 32 {
			t.Errorf("secret %q: want whsec_ and base64 of 32 bytes (%v, %d bytes)", s, err, len(key))
		}
	}
}

func TestSignAgreesWithTheStandardWebhooksLibrary(t *testing.T) {
	secret := webhook.NewSecret()
	lib, err := standardwebhooks.NewWebhook(secret)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		id   string
		at   time.Time
		body string
	}{
		{"a change's body", webhook.MessageID(3, 57), time.Unix(1_790_000_000, 0), `{"type":"task.created","data":{}}`},
		{"an empty body", webhook.MessageID(1, 1), time.Unix(0, 0), ``},
		{"a body with dots and non-ASCII text", "msg_x", time.Unix(1_700_000_000, 999), `{"title":"été. déjà."}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := webhook.Sign(secret, tt.id, tt.at, []byte(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			want, _ := lib.Sign(tt.id, tt.at, []byte(tt.body))
			if got != want {
				t.Errorf("Sign = %s, the library signs %s", got, want)
			}
		})
	}
}

func TestTheWebhookIDNamesOneChangeToOneWebhook(t *testing.T) {
	ids := map[string]bool{}
	for _, hook := range []int{1, 2, 12} {
		for _, seq := range []int64{1, 2, 21, 112} {
			id := webhook.MessageID(hook, seq)
			if ids[id] {
				t.Errorf("MessageID(%d, %d) = %s, given before", hook, seq, id)
			}
			ids[id] = true
			if id != webhook.MessageID(hook, seq) {
				t.Errorf("MessageID(%d, %d) is not stable", hook, seq)
			}
		}
	}
}

func TestThePayloadCarriesTheTypeTheCommitTimeAndTheEncodedChange(t *testing.T) {
	at, _ := task.ParseDateTime("2026-07-15T10:00:05")
	tests := []struct {
		name     string
		typ      feed.Type
		wantType string
	}{
		{"a create", feed.Created, "task.created"},
		{"a change", feed.Updated, "task.updated"},
		{"a delete", feed.Deleted, "task.deleted"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := feed.NewChange()
			c.Seq, c.Type, c.TaskID, c.At = 57, tt.typ, 7, at
			encode := func(c *feed.Change) []byte { return append(testEncode(c), '\n') }
			var got struct {
				Type      string          `json:"type"`
				Timestamp string          `json:"timestamp"`
				Data      json.RawMessage `json:"data"`
			}
			body := webhook.Payload(&c, encode)
			dec := json.NewDecoder(bytes.NewReader(body))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&got); err != nil {
				t.Fatalf("the body is not the payload object: %v\n%s", err, body)
			}
			if got.Type != tt.wantType || got.Timestamp != "2026-07-15T10:00:05Z" || !bytes.Equal(got.Data, testEncode(&c)) {
				t.Errorf("payload %s; want type %s, timestamp 2026-07-15T10:00:05Z, data %s", body, tt.wantType, testEncode(&c))
			}
		})
	}
}

func TestDeliveriesVerifyWithTheStandardWebhooksLibrary(t *testing.T) {
	f := newFixture(t, testOptions())
	rc := newReceiver(t, nil)
	created := f.addWebhook(t, rc.URL+"/hooks?source=tasks")
	start := f.webhook(t, created.Webhook.ID).LastDeliveredSeq
	made := f.createTask(t)
	if _, err := f.store.UpdateTask(f.ctx, made.ID, task.UpdateInput{Title: task.To("renamed")}, task.AnyVersion()); err != nil {
		t.Fatal(err)
	}
	if _, err := f.store.DeleteTask(f.ctx, made.ID, task.AnyVersion()); err != nil {
		t.Fatal(err)
	}
	all, err := f.store.Changes(f.ctx, feed.Query{After: start, Limit: 10})
	if err != nil || len(all.Changes) != 3 {
		t.Fatalf("the feed has %+v (%v), want 3 changes", all, err)
	}
	eventually(t, "three deliveries", func() bool { return len(rc.requests()) >= 3 })

	lib, err := standardwebhooks.NewWebhook(created.Secret)
	if err != nil {
		t.Fatal(err)
	}
	other, _ := standardwebhooks.NewWebhook(webhook.NewSecret())
	for i, r := range rc.requests() {
		c := all.Changes[i]
		if err := lib.Verify(r.Body, r.Header); err != nil {
			t.Errorf("delivery %d does not verify: %v", i+1, err)
		}
		if err := other.Verify(r.Body, r.Header); err == nil {
			t.Errorf("delivery %d verifies under another secret", i+1)
		}
		if err := lib.Verify(append(r.Body[:len(r.Body):len(r.Body)], ' '), r.Header); err == nil {
			t.Errorf("delivery %d verifies with its body changed", i+1)
		}
		if ct := r.Header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("Content-Type %q, want application/json", ct)
		}
		if r.ID != webhook.MessageID(created.Webhook.ID, c.Seq) {
			t.Errorf("webhook-id %q, want %q", r.ID, webhook.MessageID(created.Webhook.ID, c.Seq))
		}
		ts, err := strconv.ParseInt(r.Header.Get(webhook.HeaderTimestamp), 10, 64)
		if err != nil || time.Since(time.Unix(ts, 0)).Abs() > time.Minute {
			t.Errorf("webhook-timestamp %q is not the Unix seconds of the attempt", r.Header.Get(webhook.HeaderTimestamp))
		}
		if want := webhook.Payload(&c, testEncode); !bytes.Equal(r.Body, want) {
			t.Errorf("delivery %d body %s, want %s", i+1, r.Body, want)
		}
	}
}
