package sqlite_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"tasksapi/access"
	"tasksapi/sqlite"
	"tasksapi/task"
)

func orgID(t *testing.T, ctx context.Context) int {
	t.Helper()
	p, ok := access.FromContext(ctx)
	if !ok {
		t.Fatalf("the context carries no principal")
	}
	return p.OrganisationID
}

// rawDB opens the file straight, bypassing the store.
func rawDB(t *testing.T, path string) *sql.DB {
	t.Helper()
	conn, err := sql.Open("sqlite3", path)
	if err != nil {
		t.Fatalf("sql.Open: %v", err)
	}
	return conn
}

// taskOrganisations lists the distinct organisation ids of the stored
// tasks, read straight from the file.
func taskOrganisations(t *testing.T, path string) []int {
	t.Helper()
	conn := rawDB(t, path)
	defer conn.Close()
	rows, err := conn.Query("SELECT DISTINCT organisation_id FROM tasks ORDER BY organisation_id")
	if err != nil {
		t.Fatalf("read tasks.organisation_id: %v", err)
	}
	defer rows.Close()
	var out []int
	for rows.Next() {
		var id int
		if err := rows.Scan(&id); err != nil {
			t.Fatalf("scan organisation_id: %v", err)
		}
		out = append(out, id)
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("read tasks.organisation_id: %v", err)
	}
	return out
}

func TestAnOrganisationSeesOnlyItsOwnTasks(t *testing.T) {
	s, _, _ := newStore(t)
	acme := orgContext(t, s, "Acme")
	globex := orgContext(t, s, "Globex")
	if orgID(t, acme) == orgID(t, globex) {
		t.Fatalf("Acme and Globex share organisation id %d", orgID(t, acme))
	}

	// Globex's tasks are created before and after Acme's, so the ids
	// interleave, and look like Acme's, so every filter could match both.
	globexIDs := map[string]int{}
	createGlobex := func(key, title string, status task.Status, priority task.Priority, user int, start string) {
		in := task.CreateInput{Title: title, StartDatetime: dt(t, start), DealID: ptr(1),
			Status: ptr(status), Priority: ptr(priority), AssignedUserID: ptr(user)}
		globexIDs[key] = mustCreate(t, globex, s, in).ID
	}
	createGlobex("g-ete", "Été planning at Globex", 0, 2, 1, "2026-03-01T09:00:00")
	acmeIDs := filterFixture(t, acme, s)
	createGlobex("g-snake", "snake_case at Globex", 4, 0, 2, "2026-03-05T08:00:00")

	isAcme := map[int]bool{}
	for _, id := range acmeIDs {
		isAcme[id] = true
	}

	t.Run("getting another organisation's task is not found, like a missing id", func(t *testing.T) {
		_, missingErr := s.Task(globex, 999_999)
		missing := wantCode(t, missingErr, task.CodeNotFound)
		for key, id := range acmeIDs {
			_, err := s.Task(globex, id)
			e := wantCode(t, err, task.CodeNotFound)
			if e.Message != missing.Message {
				t.Errorf("Globex getting Acme's %s task: message %q, want %q as for a missing id", key, e.Message, missing.Message)
			}
		}
		for key, id := range globexIDs {
			_, err := s.Task(acme, id)
			wantCode(t, err, task.CodeNotFound)
			if got, err := s.Task(globex, id); err != nil || got.ID != id {
				t.Errorf("Globex getting its own %s task %d = %d, %v; want it", key, id, got.ID, err)
			}
		}
	})

	tests := []struct {
		name string
		f    task.Filter
		want []string // Globex's keys, in id order
	}{
		{"no filter lists only the organisation's tasks", task.Filter{}, []string{"g-ete", "g-snake"}},
		{"a search matching both organisations' titles lists only the organisation's", task.Filter{Search: ptr("été")}, []string{"g-ete"}},
		{"a search for another organisation's title alone lists nothing", task.Filter{Search: ptr("percent")}, nil},
		{"a status filter lists only the organisation's", task.Filter{Status: ptr(task.Status(0))}, []string{"g-ete"}},
		{"a priority filter lists only the organisation's", task.Filter{Priority: ptr(task.Priority(0))}, []string{"g-snake"}},
		{"an assigned user filter lists only the organisation's", task.Filter{AssignedUserID: ptr(1)}, []string{"g-ete"}},
		{"a due date range lists only the organisation's", task.Filter{
			DueDateFrom: ptr(date(t, "2026-03-01")), DueDateTo: ptr(date(t, "2026-03-05"))}, []string{"g-ete", "g-snake"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			page := mustList(t, globex, s, task.ListParams{Filter: tt.f, PageSize: ptr(100), SortBy: ptr(task.SortByID)})
			want := []int{}
			for _, k := range tt.want {
				want = append(want, globexIDs[k])
			}
			if got := ids(page.Items); !slices.Equal(got, want) {
				t.Errorf("Globex's ids = %v, want %v (%v)", got, want, tt.want)
			}
			if page.TotalRecords != len(want) {
				t.Errorf("Globex's TotalRecords = %d, want %d", page.TotalRecords, len(want))
			}

			acmePage := mustList(t, acme, s, task.ListParams{Filter: tt.f, PageSize: ptr(100)})
			for _, it := range acmePage.Items {
				if !isAcme[it.ID] {
					t.Errorf("Acme's list holds task %d, which is not Acme's", it.ID)
				}
			}
			if acmePage.TotalRecords != len(acmePage.Items) {
				t.Errorf("Acme's TotalRecords = %d, but it lists %d tasks", acmePage.TotalRecords, len(acmePage.Items))
			}
		})
	}

	t.Run("paging counts only the organisation's tasks", func(t *testing.T) {
		page := mustList(t, globex, s, task.ListParams{PageSize: ptr(1), PageIndex: ptr(1)})
		if page.TotalRecords != 2 || page.TotalPages() != 2 {
			t.Errorf("TotalRecords, TotalPages = %d, %d; want 2, 2", page.TotalRecords, page.TotalPages())
		}
		if got, want := ids(page.Items), []int{globexIDs["g-ete"]}; !slices.Equal(got, want) {
			t.Errorf("second page of one, newest first = %v, want %v", got, want)
		}
		if page := mustList(t, globex, s, task.ListParams{PageSize: ptr(1), PageIndex: ptr(2)}); len(page.Items) != 0 {
			t.Errorf("third page of one = %v, want nothing: Acme's tasks must not fill it", ids(page.Items))
		}
	})

	t.Run("an organisation without tasks lists nothing", func(t *testing.T) {
		page := mustList(t, orgContext(t, s, "Initech"), s, task.ListParams{})
		if page.TotalRecords != 0 || len(page.Items) != 0 {
			t.Errorf("Initech lists %v with %d records, want nothing", ids(page.Items), page.TotalRecords)
		}
	})
}

func TestAStoreCallWithoutAPrincipalFailsAndStoresNothing(t *testing.T) {
	s, _, path := newStore(t)
	acme := orgContext(t, s, "Acme")
	in := simple(t, "Acme's")
	in.TagIDs = []int{4, 2}
	existing := mustCreate(t, acme, s, in)

	noPrincipal := t.Context()
	unknownOrg := access.WithPrincipal(t.Context(), access.Principal{OrganisationID: orgID(t, acme) + 1000, KeyID: 1})
	withTags := simple(t, "sneaked in")
	withTags.TagIDs = []int{7, 8}

	tests := []struct {
		name string
		call func() error
	}{
		{"creating a task without a principal fails", func() error {
			_, err := s.CreateTask(noPrincipal, withTags)
			return err
		}},
		{"creating an invalid task without a principal fails as internal, not as invalid", func() error {
			_, err := s.CreateTask(noPrincipal, task.CreateInput{})
			return err
		}},
		{"getting an existing task without a principal fails", func() error {
			_, err := s.Task(noPrincipal, existing.ID)
			return err
		}},
		{"getting a missing task without a principal fails as internal, not as not found", func() error {
			_, err := s.Task(noPrincipal, existing.ID+1)
			return err
		}},
		{"listing without a principal fails", func() error {
			_, err := s.ListTasks(noPrincipal, task.ListParams{})
			return err
		}},
		{"listing with bad parameters without a principal fails as internal", func() error {
			_, err := s.ListTasks(noPrincipal, task.ListParams{PageSize: ptr(0)})
			return err
		}},
		{"creating a task for an organisation that does not exist fails", func() error {
			_, err := s.CreateTask(unknownOrg, withTags)
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			if err == nil {
				t.Fatalf("got no error, want one")
			}
			var e *task.Error
			if errors.As(err, &e) || task.ErrorCode(err) != task.CodeInternal {
				t.Errorf("error %v (code %q) is a *task.Error; want an internal error, which is never shown to a client",
					err, task.ErrorCode(err))
			}
		})
	}

	if n := rawCount(t, path, "tasks"); n != 1 {
		t.Errorf("tasks table has %d rows, want only the 1 created with a principal", n)
	}
}

func TestCreateKeyCreatesEachOrganisationOnce(t *testing.T) {
	s, _, path := newStore(t)
	ctx := t.Context()
	create := func(org, accessKey string) access.Credentials {
		t.Helper()
		creds, err := s.CreateKey(ctx, org, "label", accessKey, []byte("hash of "+accessKey))
		if err != nil {
			t.Fatalf("CreateKey(%q, %q): %v", org, accessKey, err)
		}
		if creds.OrganisationID < 1 || creds.KeyID < 1 || creds.AccessKey != accessKey {
			t.Errorf("CreateKey(%q, %q) = %+v, want positive ids and the access key", org, accessKey, creds)
		}
		if creds.SecretKey != "" {
			t.Errorf("CreateKey returned secret %q; the store never has one", creds.SecretKey)
		}
		return creds
	}
	first := create("Acme", "ak_1")
	second := create("Acme", "ak_2")
	other := create("Globex", "ak_3")

	if first.OrganisationID != second.OrganisationID {
		t.Errorf("two keys for Acme have organisations %d and %d, want the same", first.OrganisationID, second.OrganisationID)
	}
	if first.KeyID == second.KeyID {
		t.Errorf("two keys share the key id %d", first.KeyID)
	}
	if other.OrganisationID == first.OrganisationID {
		t.Errorf("Globex got Acme's organisation id %d, want a new one", other.OrganisationID)
	}
	if n := rawCount(t, path, "organisations"); n != 2 {
		t.Errorf("organisations table has %d rows, want 2", n)
	}

	_, err := s.CreateKey(ctx, "Initech", "label", "ak_1", []byte("another hash"))
	if err == nil {
		t.Errorf("CreateKey with an access key already in use succeeded, want an error")
	}
}

func TestKeysListsEveryKeyWithoutItsSecret(t *testing.T) {
	s, c, _ := newStore(t)
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

func TestTouchKeyRecordsTheLastUse(t *testing.T) {
	s, _, _ := newStore(t)
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

func TestRevokeKey(t *testing.T) {
	s, c, _ := newStore(t)
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
			wantCode(t, s.RevokeKey(ctx, ak), task.CodeNotFound)
		}
		if got := revokedAt()[kept.AccessKey]; got != nil {
			t.Errorf("the other key's RevokedAt = %v, want nil", got)
		}
	})
}

func TestKeyByAccessKey(t *testing.T) {
	s, _, _ := newStore(t)
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
		wantCode(t, err, task.CodeNotFound)
	}
}

func TestHasKeys(t *testing.T) {
	s, _, _ := newStore(t)
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

// TestSecretsAreNeverStored reads every column of every table and looks
// for each secret, whole and without its prefix.
func TestSecretsAreNeverStored(t *testing.T) {
	s, _, path := newStore(t)
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

	conn := rawDB(t, path)
	defer conn.Close()
	tables, err := conn.Query("SELECT name FROM sqlite_master WHERE type = 'table'")
	if err != nil {
		t.Fatalf("list tables: %v", err)
	}
	var names []string
	for tables.Next() {
		var name string
		if err := tables.Scan(&name); err != nil {
			t.Fatalf("scan table name: %v", err)
		}
		names = append(names, name)
	}
	tables.Close()
	if !slices.Contains(names, "api_keys") {
		t.Fatalf("tables = %v, want api_keys among them", names)
	}

	cells := 0
	for _, table := range names {
		rows, err := conn.Query(`SELECT * FROM "` + table + `"`)
		if err != nil {
			t.Fatalf("read %s: %v", table, err)
		}
		cols, _ := rows.Columns()
		for rows.Next() {
			vals := make([]any, len(cols))
			dest := make([]any, len(cols))
			for i := range vals {
				dest[i] = &vals[i]
			}
			if err := rows.Scan(dest...); err != nil {
				t.Fatalf("scan %s: %v", table, err)
			}
			for i, v := range vals {
				var text string
				switch v := v.(type) {
				case []byte:
					text = string(v)
				default:
					text = fmt.Sprint(v)
				}
				for _, secret := range secrets {
					if strings.Contains(text, secret) || strings.Contains(text, strings.TrimPrefix(secret, "sk_")) {
						t.Errorf("%s.%s holds a secret: %q", table, cols[i], text)
					}
				}
				if table == "api_keys" {
					cells++
				}
			}
		}
		if err := rows.Err(); err != nil {
			t.Fatalf("read %s: %v", table, err)
		}
		rows.Close()
	}
	if cells == 0 {
		t.Errorf("read no cells of api_keys, want the 3 keys' columns")
	}
}

// copyRelease1 copies the database file of the previous release into a
// temporary directory: the committed file is never opened in place.
func copyRelease1(t *testing.T) string {
	t.Helper()
	src, err := os.Open(filepath.Join("testdata", "release1.db"))
	if err != nil {
		t.Fatalf("open fixture: %v", err)
	}
	defer src.Close()
	path := dbPath(t)
	dst, err := os.Create(path)
	if err != nil {
		t.Fatalf("create copy: %v", err)
	}
	if _, err := io.Copy(dst, src); err != nil {
		dst.Close()
		t.Fatalf("copy fixture: %v", err)
	}
	if err := dst.Close(); err != nil {
		t.Fatalf("close copy: %v", err)
	}
	return path
}

// release1Tasks are the tasks the previous release wrote to
// testdata/release1.db.
func release1Tasks(t *testing.T) []task.Task {
	t.Helper()
	created := dt(t, "2026-11-28T12:25:10")
	return []task.Task{
		{ID: 1, Title: "Follow up with Sarah", Status: 0, Priority: 3,
			StartDatetime: dt(t, "2026-07-15T10:00:00"), EndDatetime: ptr(dt(t, "2026-07-15T11:00:00")),
			DueDate: date(t, "2026-07-15"), Description: ptr("Discuss renewal"), ContactID: ptr(10),
			TagIDs: []int{3, 1}, CreatedAt: created, UpdatedAt: created},
		{ID: 2, Title: "Send contract", Status: 1, Priority: 2,
			StartDatetime: dt(t, "2026-07-16T09:00:00"), DueDate: date(t, "2026-07-16"),
			DealID: ptr(7), AssignedUserID: ptr(4), TagIDs: []int{}, CreatedAt: created, UpdatedAt: created},
		{ID: 3, Title: "Quarterly review", Status: 0, Priority: 2,
			StartDatetime: dt(t, "2026-08-01T09:00:00"), DueDate: date(t, "2026-08-01"),
			DealID: ptr(8), ContactID: ptr(11), TagIDs: []int{5}, CreatedAt: created, UpdatedAt: created},
	}
}

func TestUpgradingARelease1DatabaseKeepsItsTasksInTheDefaultOrganisation(t *testing.T) {
	path := copyRelease1(t)
	if v := userVersion(t, path); v != 1 {
		t.Fatalf("the fixture's user_version = %d, want 1 (release 1)", v)
	}
	s := open(t, path)
	c := &clock{now: baseTime}
	s.Now = c.Now
	want := release1Tasks(t)

	if got, want := userVersion(t, path), migrationCount(t); got != want {
		t.Errorf("after upgrading, user_version = %d, want %d (the number of migration files)", got, want)
	}

	taskOrgs := taskOrganisations(t, path)
	def := orgContext(t, s, "Default")
	if !slices.Equal(taskOrgs, []int{orgID(t, def)}) {
		t.Errorf("the old tasks belong to organisations %v; a new key for Default got organisation %d, want the same",
			taskOrgs, orgID(t, def))
	}
	if n := rawCount(t, path, "organisations"); n != 1 {
		t.Errorf("after creating a key for Default there are %d organisations, want 1", n)
	}

	checkOldTasks := func(t *testing.T, s *sqlite.Store) {
		t.Helper()
		for _, w := range want {
			got, err := s.Task(def, w.ID)
			if err != nil {
				t.Errorf("Task(%d) through Default: %v", w.ID, err)
				continue
			}
			for _, d := range diffTask(got, w) {
				t.Errorf("old task %d has %s", w.ID, d)
			}
		}
		page := mustList(t, def, s, task.ListParams{SortBy: ptr(task.SortByID), PageSize: ptr(100)})
		listed := map[int]task.Task{}
		for _, it := range page.Items {
			listed[it.ID] = it
		}
		for _, w := range want {
			got, ok := listed[w.ID]
			if !ok {
				t.Errorf("old task %d is not in Default's list %v", w.ID, ids(page.Items))
				continue
			}
			for _, d := range diffTask(got, w) {
				t.Errorf("old task %d, as listed, has %s", w.ID, d)
			}
		}
	}

	t.Run("the old tasks keep every field and belong to Default", func(t *testing.T) {
		checkOldTasks(t, s)
		if page := mustList(t, def, s, task.ListParams{}); page.TotalRecords != 3 {
			t.Errorf("Default's TotalRecords = %d, want 3", page.TotalRecords)
		}
	})

	t.Run("another organisation sees none of the old tasks", func(t *testing.T) {
		acme := orgContext(t, s, "Acme")
		for _, w := range want {
			_, err := s.Task(acme, w.ID)
			wantCode(t, err, task.CodeNotFound)
		}
		if page := mustList(t, acme, s, task.ListParams{}); page.TotalRecords != 0 || len(page.Items) != 0 {
			t.Errorf("Acme lists %v (%d records), want nothing", ids(page.Items), page.TotalRecords)
		}
	})

	var added task.Task
	t.Run("a new task gets an id after the old ones", func(t *testing.T) {
		in := simple(t, "After the upgrade")
		in.TagIDs = []int{2}
		added = mustCreate(t, def, s, in)
		if added.ID <= 3 {
			t.Errorf("new task id = %d, want more than 3", added.ID)
		}
		checkOldTasks(t, s)
	})

	closeStore(t, s)
	checkIntegrity(t, path)

	t.Run("reopening the upgraded file applies no migration again", func(t *testing.T) {
		orgsBefore := rawCount(t, path, "organisations")
		for i := range 2 {
			s := open(t, path)
			if got, want := userVersion(t, path), migrationCount(t); got != want {
				t.Errorf("reopen %d: user_version = %d, want %d", i+1, got, want)
			}
			checkOldTasks(t, s)
			if got, err := s.Task(def, added.ID); err != nil || got.Title != "After the upgrade" {
				t.Errorf("reopen %d: Task(%d) = %q, %v; want the task added after the upgrade", i+1, added.ID, got.Title, err)
			}
			if page := mustList(t, def, s, task.ListParams{}); page.TotalRecords != 4 {
				t.Errorf("reopen %d: Default's TotalRecords = %d, want 4", i+1, page.TotalRecords)
			}
			closeStore(t, s)
			if n := rawCount(t, path, "organisations"); n != orgsBefore {
				t.Errorf("reopen %d: %d organisations, want %d as before", i+1, n, orgsBefore)
			}
			checkIntegrity(t, path)
		}
	})
}

// checkIntegrity runs SQLite's own checks on the file.
func checkIntegrity(t *testing.T, path string) {
	t.Helper()
	conn, err := sql.Open("sqlite3", path)
	if err != nil {
		t.Fatalf("sql.Open: %v", err)
	}
	defer conn.Close()
	var result string
	if err := conn.QueryRow("PRAGMA integrity_check").Scan(&result); err != nil {
		t.Fatalf("PRAGMA integrity_check: %v", err)
	}
	if result != "ok" {
		t.Errorf("PRAGMA integrity_check = %q, want ok", result)
	}
	rows, err := conn.Query("PRAGMA foreign_key_check")
	if err != nil {
		t.Fatalf("PRAGMA foreign_key_check: %v", err)
	}
	defer rows.Close()
	for rows.Next() {
		var table, parent string
		var rowid sql.NullInt64
		var fk int
		if err := rows.Scan(&table, &rowid, &parent, &fk); err != nil {
			t.Fatalf("scan foreign_key_check: %v", err)
		}
		t.Errorf("foreign_key_check: row %v of %s breaks its key to %s", rowid, table, parent)
	}
}

func TestANewDatabaseHasNoOrganisation(t *testing.T) {
	_, _, path := newStore(t)
	if n := rawCount(t, path, "organisations"); n != 0 {
		t.Errorf("a new database has %d organisations, want 0: Default is only for tasks of an older release", n)
	}
}
