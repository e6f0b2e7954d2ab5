package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"tasksapi/access"
)

func testConfig(path string) config {
	// The defaults as a user gets them, so that a new setting needs no
	// change here; then a free loopback port and no rate limit.
	cfg, err := parseConfig(nil, func(string) string { return "" }, io.Discard)
	if err != nil {
		panic(err)
	}
	cfg.Addr, cfg.DBPath, cfg.RateLimit = "127.0.0.1:0", path, 0
	return cfg
}

var (
	printedAccessKey = regexp.MustCompile(`x-ysuite-access-key: (ak_[\w-]+)`)
	printedSecretKey = regexp.MustCompile(`x-ysuite-secret-key: (sk_[\w-]+)`)
)

func TestTheFirstStartPrintsAWorkingKey(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tasks.db")
	var stderr bytes.Buffer
	url, stop := runServer(t, testConfig(path), &stderr)
	out := stderr.String()
	ak, sk := printedAccessKey.FindStringSubmatch(out), printedSecretKey.FindStringSubmatch(out)
	if ak == nil || sk == nil || !strings.Contains(out, "curl -H") || !strings.Contains(out, `"Default"`) {
		t.Fatalf("the first start printed no key and curl line:\n%s", out)
	}
	creds := access.Credentials{AccessKey: ak[1], SecretKey: sk[1]}
	if res, body := do(t, "GET", url+"/v1/tasks", "", "", auth(creds)...); res.StatusCode != http.StatusOK {
		t.Errorf("the printed key was refused: %d %s", res.StatusCode, body)
	}
	stop()

	stderr.Reset()
	runServer(t, testConfig(path), &stderr)
	if strings.Contains(stderr.String(), "sk_") {
		t.Errorf("a later start printed a secret again:\n%s", stderr.String())
	}
}

func keys(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var stdout bytes.Buffer
	err := run(context.Background(), append([]string{"keys"}, args...), func(string) string { return "" },
		&stdout, io.Discard)
	return stdout.String(), err
}

func TestKeysCommand(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tasks.db")
	url, _ := runServer(t, testConfig(path), io.Discard)

	out, err := keys(t, "create", "--org", "Globex", "--name", "billing sync", "--db", path)
	if err != nil {
		t.Fatal(err)
	}
	var creds struct {
		OrganisationID int    `json:"organisation_id"`
		KeyID          int    `json:"key_id"`
		AccessKey      string `json:"access_key"`
		SecretKey      string `json:"secret_key"`
	}
	dec := json.NewDecoder(strings.NewReader(out))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&creds); err != nil || strings.Count(out, "\n") != 1 ||
		creds.OrganisationID == 0 || creds.KeyID == 0 || creds.AccessKey == "" || creds.SecretKey == "" {
		t.Fatalf("keys create printed %q (%v), want one JSON line with the four fields", out, err)
	}
	key := access.Credentials{AccessKey: creds.AccessKey, SecretKey: creds.SecretKey}
	if res, _ := do(t, "GET", url+"/v1/tasks", "", "", auth(key)...); res.StatusCode != http.StatusOK {
		t.Fatalf("a created key is refused by the running server: %d", res.StatusCode)
	}

	t.Run("list shows every key but never a secret", func(t *testing.T) {
		out, err := keys(t, "list", "--db", path)
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{"Globex", "billing sync", creds.AccessKey, "Default", "LAST USED", "REVOKED"} {
			if !strings.Contains(out, want) {
				t.Errorf("list lacks %q:\n%s", want, out)
			}
		}
		if strings.Contains(out, "sk_") {
			t.Errorf("list shows a secret:\n%s", out)
		}
	})
	t.Run("a revoked key is refused by the running server within access.VerifiedKeyTTL", func(t *testing.T) {
		if _, err := keys(t, "revoke", creds.AccessKey, "--db", path); err != nil {
			t.Fatal(err)
		}
		time.Sleep(access.VerifiedKeyTTL)
		if res, _ := do(t, "GET", url+"/v1/tasks", "", "", auth(key)...); res.StatusCode != http.StatusUnauthorized {
			t.Errorf("after revoking: %d, want 401", res.StatusCode)
		}
		out, _ := keys(t, "list", "--db", path)
		line := ""
		for _, l := range strings.Split(out, "\n") {
			if strings.Contains(l, creds.AccessKey) {
				line = l
			}
		}
		if strings.HasSuffix(strings.TrimSpace(line), "-") {
			t.Errorf("list does not show the key as revoked: %q", line)
		}
	})
	t.Run("mistakes are refused", func(t *testing.T) {
		for _, args := range [][]string{
			{"create", "--db", path},
			{"revoke", "--db", path},
			{"revoke", "ak_unknown", "--db", path},
			{"rotate", "--db", path},
			{},
		} {
			if _, err := keys(t, args...); err == nil {
				t.Errorf("keys %v succeeded, want an error", args)
			}
		}
	})
}
