package postgres_test

import (
	"context"
	"log/slog"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"tasksapi/access"
	"tasksapi/internal/pgtest"
	"tasksapi/postgres"
	"tasksapi/task"
)

// servers opens n stores on one new database: n servers sharing it.
func servers(t *testing.T, n int) (string, []*postgres.Store) {
	t.Helper()
	url := pgtest.URL(t)
	stores := make([]*postgres.Store, n)
	for i := range stores {
		s, err := postgres.Open(context.Background(), url)
		if err != nil {
			t.Fatalf("postgres.Open: %v", err)
		}
		t.Cleanup(func() { s.Close() })
		stores[i] = s
	}
	return url, stores
}

// count counts the rows of a table, read straight from the database.
func count(t *testing.T, url, table string) int {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var n int
	if err := conn.QueryRow(context.Background(), "SELECT count(*) FROM "+table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestServersMakingKeysOfOneNewOrganisationTogetherMakeItOnce(t *testing.T) {
	url, stores := servers(t, 2)
	const each = 8
	orgs := make([]int, 2*each)
	errs := make([]error, len(orgs))
	var wg sync.WaitGroup
	for i := range orgs {
		wg.Go(func() {
			s := stores[i%2]
			if i%4 < 2 {
				orgs[i], errs[i] = s.Organisation(t.Context(), "Acme")
				return
			}
			var creds access.Credentials
			creds, errs[i] = access.NewKey(t.Context(), s, "Acme", "key")
			orgs[i] = creds.OrganisationID
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
		if orgs[i] != orgs[0] {
			t.Errorf("call %d got organisation %d, call 0 got %d: want one organisation", i, orgs[i], orgs[0])
		}
	}
	if n := count(t, url, "organisations"); n != 1 {
		t.Errorf("%d organisations stored, want 1", n)
	}
}

func TestAKeyIsHonouredByEveryServerWithinASecond(t *testing.T) {
	_, stores := servers(t, 2)
	log := slog.New(slog.DiscardHandler)
	guards := make([]*access.Guard, len(stores))
	for i, s := range stores {
		// As the server wires them: a revocation through any server
		// makes every guard forget the key.
		guards[i] = access.NewGuard(s, 0, log)
		s.OnKeyRevoked(guards[i].Forget)
	}
	admit := func(g *access.Guard, creds access.Credentials) error {
		_, err := g.AdmitKey(context.Background(), creds.AccessKey, creds.SecretKey, http.Header{})
		return err
	}

	creds, err := access.NewKey(t.Context(), stores[0], "Acme", "made through one server")
	if err != nil {
		t.Fatal(err)
	}
	// Well within access.VerifiedKeyTTL, for which a guard trusts a key it
	// verified: a revocation must not wait for that to run out.
	const within = access.VerifiedKeyTTL / 2
	tests := []struct {
		name string
		do   func() error
		want task.Code // of every server
	}{
		{"a key made through one server is admitted by every server at once", func() error { return nil }, ""},
		{"a key revoked through one server is refused by every server at once", func() error {
			return stores[0].RevokeKey(t.Context(), creds.AccessKey)
		}, task.CodeUnauthenticated},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.do(); err != nil {
				t.Fatal(err)
			}
			deadline := time.Now().Add(within)
			for i, g := range guards {
				for {
					err := admit(g, creds)
					if task.ErrorCode(err) == tt.want || (err == nil && tt.want == "") {
						break
					}
					if time.Now().After(deadline) {
						t.Fatalf("server %d answers %v, want %q within %v", i, err, tt.want, within)
					}
					time.Sleep(5 * time.Millisecond)
				}
			}
		})
	}
}
