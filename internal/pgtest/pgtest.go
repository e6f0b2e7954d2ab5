// Package pgtest gives tests a fresh PostgreSQL database of their own.
//
// It uses the server named by TASKS_TEST_POSTGRES (a postgres:// URL of a
// role that may create databases), else the local server at
// 127.0.0.1:5432 as the postgres role. When neither answers, a test that
// asks for a database is skipped with one line saying how to enable it;
// when TASKS_TEST_POSTGRES is set, it fails instead, so a run that was
// promised PostgreSQL (CI) never silently skips.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// EnvVar names the server the tests use.
const EnvVar = "TASKS_TEST_POSTGRES"

// localURL is tried when EnvVar is not set.
const localURL = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

var (
	probeOnce sync.Once
	probeErr  error
	adminURL  string
)

func admin() (string, error) {
	probeOnce.Do(func() {
		adminURL = os.Getenv(EnvVar)
		if adminURL == "" {
			adminURL = localURL
		}
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, adminURL)
		if err != nil {
			probeErr = err
			return
		}
		conn.Close(ctx)
	})
	return adminURL, probeErr
}

// Available reports whether a server answers, without failing or skipping.
func Available() bool {
	_, err := admin()
	return err == nil
}

// URL creates a new, empty database and returns its URL; it is dropped
// when the test ends. Every call gets a database of its own, so tests run
// in parallel and from concurrent `go test` processes.
func URL(t testing.TB) string {
	t.Helper()
	base, err := admin()
	if err != nil {
		if os.Getenv(EnvVar) != "" {
			t.Fatalf("PostgreSQL at %s=%s does not answer: %v", EnvVar, os.Getenv(EnvVar), err)
		}
		t.Skipf("no PostgreSQL at 127.0.0.1:5432; set %s=postgres://user@host:port/db to run the PostgreSQL tests", EnvVar)
	}
	b := make([]byte, 6)
	rand.Read(b)
	name := "tasks_test_" + hex.EncodeToString(b)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatalf("connect to %s: %v", base, err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("create database %s: %v", name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, base)
		if err != nil {
			t.Logf("drop database %s: %v", name, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Logf("drop database %s: %v", name, err)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("%s: %v", base, err)
	}
	u.Path = "/" + name
	return fmt.Sprint(u)
}
