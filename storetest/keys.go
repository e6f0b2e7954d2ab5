package storetest

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"strings"
	"testing"
	"time"

	"tasksapi/access"
	"tasksapi/task"
)

var keyTests = []test{
	{"KeysListsEveryKeyWithoutItsSecret", keysListsEveryKeyWithoutItsSecret},
	{"TouchKeyRecordsTheLastUse", touchKeyRecordsTheLastUse},
	{"RevokeKey", revokeKey},
	{"KeyByAccessKey", keyByAccessKey},
	{"HasKeys", hasKeys},
	{"SecretsAreNeverStored", secretsAreNeverStored},
}

func keysListsEveryKeyWithoutItsSecret(t *testing.T, h Harness) {
	s, c, _ := h.New(t)
	ctx := t.Context()
	if keys, err := s.Keys(ctx); err != nil || len(keys) != 0 {
		t.Fatalf("Keys on a new database = %v, %v; want none", keys, err)
	}

	first, err := access.NewKey(ctx, s, "Acme", "laptop")
	if err != nil {
		t.Fatalf("NewKey: %v", err)
	}
	c.Advance(90 * time.Minute)
	second, err := access.NewKey(ctx, s, "Globex", "")
	if err != nil {
		t.Fatalf("NewKey: %v", err)
	}

	keys, err := s.Keys(ctx)
	if err != nil {
		t.Fatalf("Keys: %v", err)
	}
	want := []access.Key{
		{ID: first.KeyID, Organisation: "Acme", Label: "laptop", AccessKey: first.AccessKey,
			CreatedAt: time.Date(2026, 3, 1, 11, 0, 0, 0, time.UTC)},
		{ID: second.KeyID, Organisation: "Globex", Label: "", AccessKey: second.AccessKey,
			CreatedAt: time.Date(2026, 3, 1, 12, 30, 0, 0, time.UTC)},
	}
	if len(keys) != len(want) {
		t.Fatalf("Keys lists %d keys, want %d: %+v", len(keys), len(want), keys)
	}
	for i, w := range want {
		k := keys[i]
		if k.ID != w.ID || k.Organisation != w.Organisation || k.Label != w.Label || k.AccessKey != w.AccessKey {
			t.Errorf("key %d = id %d, org %q, label %q, access key %q; want %d, %q, %q, %q",
				i, k.ID, k.Organisation, k.Label, k.AccessKey, w.ID, w.Organisation, w.Label, w.AccessKey)
		}
		if !k.CreatedAt.Equal(w.CreatedAt) {
			t.Errorf("key %d CreatedAt = %v, want the clock in UTC to the second, %v", i, k.CreatedAt, w.CreatedAt)
		}
		if k.LastUsedAt != nil || k.RevokedAt != nil {
			t.Errorf("key %d LastUsedAt, RevokedAt = %v, %v; want both nil", i, k.LastUsedAt, k.RevokedAt)
		}
	}
}

func touchKeyRecordsTheLastUse(t *testing.T, h Harness) {
	s, _, _ := h.New(t)
	ctx := t.Context()
	used, err := access.NewKey(ctx, s, "Acme", "used")
	if err != nil {
		t.Fatalf("NewKey: %v", err)
	}
	if _, err := access.NewKey(ctx, s, "Acme", "idle"); err != nil {
		t.Fatalf("NewKey: %v", err)
	}

	at := time.Date(2026, 5, 2, 1, 30, 15, 900_000_000, time.FixedZone("EST", -5*3600))
	if err := s.TouchKey(ctx, used.KeyID, at); err != nil {
		t.Fatalf("TouchKey: %v", err)
	}
	keys, err := s.Keys(ctx)
	if err != nil {
		t.Fatalf("Keys: %v", err)
	}
	want := time.Date(2026, 5, 2, 6, 30, 15, 0, time.UTC)
	for _, k := range keys {
		switch {
		case k.ID == used.KeyID && (k.LastUsedAt == nil || !k.LastUsedAt.Equal(want)):
			t.Errorf("the touched key's LastUsedAt = %v, want %v (UTC, to the second)", k.LastUsedAt, want)
		case k.ID != used.KeyID && k.LastUsedAt != nil:
			t.Errorf("the untouched key %q has LastUsedAt %v, want nil", k.Label, k.LastUsedAt)
		}
		if k.RevokedAt != nil {
			t.Errorf("key %q RevokedAt = %v after a touch, want nil", k.Label, k.RevokedAt)
		}
	}
}

func revokeKey(t *testing.T, h Harness) {
	s, c, _ := h.New(t)
	ctx := t.Context()
	revoked, err := access.NewKey(ctx, s, "Acme", "revoked")
	if err != nil {
		t.Fatalf("NewKey: %v", err)
	}
	kept, err := access.NewKey(ctx, s, "Acme", "kept")
	if err != nil {
		t.Fatalf("NewKey: %v", err)
	}
	revokedAt := func() map[string]*time.Time {
		t.Helper()
		keys, err := s.Keys(ctx)
		if err != nil {
			t.Fatalf("Keys: %v", err)
		}
		out := map[string]*time.Time{}
		for _, k := range keys {
			out[k.AccessKey] = k.RevokedAt
		}
		return out
	}

	c.Advance(time.Hour)
	if err := s.RevokeKey(ctx, revoked.AccessKey); err != nil {
		t.Fatalf("RevokeKey: %v", err)
	}
	want := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

	t.Run("revoking sets RevokedAt to the clock and leaves other keys alone", func(t *testing.T) {
		at := revokedAt()
		if got := at[revoked.AccessKey]; got == nil || !got.Equal(want) {
			t.Errorf("RevokedAt = %v, want %v", got, want)
		}
		if got := at[kept.AccessKey]; got != nil {
			t.Errorf("the other key's RevokedAt = %v, want nil", got)
		}
	})

	t.Run("revoking a revoked key succeeds and keeps the first time", func(t *testing.T) {
		c.Advance(time.Hour)
		if err := s.RevokeKey(ctx, revoked.AccessKey); err != nil {
			t.Fatalf("second RevokeKey: %v", err)
		}
		if got := revokedAt()[revoked.AccessKey]; got == nil || !got.Equal(want) {
			t.Errorf("after revoking twice RevokedAt = %v, want the first revocation's %v", got, want)
		}
	})

	t.Run("revoking an unknown access key is not found", func(t *testing.T) {
		for _, ak := range []string{"ak_unknown", "", strings.ToUpper(kept.AccessKey)} {
			WantCode(t, s.RevokeKey(ctx, ak), task.CodeNotFound)
		}
		if got := revokedAt()[kept.AccessKey]; got != nil {
			t.Errorf("the other key's RevokedAt = %v, want nil", got)
		}
	})
}

func keyByAccessKey(t *testing.T, h Harness) {
	s, _, _ := h.New(t)
	ctx := t.Context()
	creds, err := access.NewKey(ctx, s, "Acme", "k")
	if err != nil {
		t.Fatalf("NewKey: %v", err)
	}

	got, err := s.KeyByAccessKey(ctx, creds.AccessKey)
	if err != nil {
		t.Fatalf("KeyByAccessKey: %v", err)
	}
	wantHash := sha256.Sum256([]byte(creds.SecretKey))
	if got.ID != creds.KeyID || got.OrganisationID != creds.OrganisationID || got.Revoked ||
		!bytes.Equal(got.SecretHash, wantHash[:]) {
		t.Errorf("KeyByAccessKey = %+v, want id %d, organisation %d, not revoked, the secret's SHA-256",
			got, creds.KeyID, creds.OrganisationID)
	}

	if err := s.RevokeKey(ctx, creds.AccessKey); err != nil {
		t.Fatalf("RevokeKey: %v", err)
	}
	got, err = s.KeyByAccessKey(ctx, creds.AccessKey)
	if err != nil {
		t.Fatalf("KeyByAccessKey after revoking: %v", err)
	}
	if !got.Revoked || got.ID != creds.KeyID {
		t.Errorf("after revoking, KeyByAccessKey = %+v, want key %d revoked", got, creds.KeyID)
	}

	for _, ak := range []string{"ak_unknown", "", strings.ToUpper(creds.AccessKey), creds.SecretKey} {
		_, err := s.KeyByAccessKey(ctx, ak)
		WantCode(t, err, task.CodeNotFound)
	}
}

func hasKeys(t *testing.T, h Harness) {
	s, _, _ := h.New(t)
	ctx := t.Context()
	hasKeys := func() bool {
		t.Helper()
		has, err := s.HasKeys(ctx)
		if err != nil {
			t.Fatalf("HasKeys: %v", err)
		}
		return has
	}
	if hasKeys() {
		t.Errorf("HasKeys on a new database = true, want false")
	}
	creds, err := access.NewKey(ctx, s, "Acme", "")
	if err != nil {
		t.Fatalf("NewKey: %v", err)
	}
	if !hasKeys() {
		t.Errorf("HasKeys after creating a key = false, want true")
	}
	if err := s.RevokeKey(ctx, creds.AccessKey); err != nil {
		t.Fatalf("RevokeKey: %v", err)
	}
	if !hasKeys() {
		t.Errorf("HasKeys after revoking every key = false, want true")
	}
}

// secretsAreNeverStored reads every column of every table and looks
// for each secret, whole and without its prefix.
func secretsAreNeverStored(t *testing.T, h Harness) {
	if h.Dump == nil {
		t.Skip("the harness cannot read the stored data")
	}
	s, _, name := h.New(t)
	ctx := t.Context()
	var secrets []string
	for i, org := range []string{"Acme", "Acme", "Globex"} {
		creds, err := access.NewKey(ctx, s, org, fmt.Sprintf("key %d", i))
		if err != nil {
			t.Fatalf("NewKey: %v", err)
		}
		secrets = append(secrets, creds.SecretKey)
		if err := s.TouchKey(ctx, creds.KeyID, time.Now()); err != nil {
			t.Fatalf("TouchKey: %v", err)
		}
		if i == 0 {
			if err := s.RevokeKey(ctx, creds.AccessKey); err != nil {
				t.Fatalf("RevokeKey: %v", err)
			}
		}
	}

	cells := 0
	for name, table := range h.Dump(t, name) {
		for _, row := range table.Rows {
			for col, text := range row {
				for _, secret := range secrets {
					if strings.Contains(text, secret) || strings.Contains(text, strings.TrimPrefix(secret, "sk_")) {
						t.Errorf("%s.%s holds a secret: %q", name, table.Columns[col], text)
					}
				}
				if name == "api_keys" {
					cells++
				}
			}
		}
	}
	if cells == 0 {
		t.Errorf("read no cells of api_keys, want the 3 keys' columns")
	}
}
