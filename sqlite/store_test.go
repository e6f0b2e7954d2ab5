package sqlite_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"tasksapi/access"
	"tasksapi/sqlite"
	"tasksapi/task"
)

func ptr[T any](v T) *T { return &v }

// clock is a settable time source, safe for concurrent use.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// baseTime is 2026-03-01T11:00:00 UTC, given in another zone and with a
// fraction of a second, so that the store must convert and truncate it.
var baseTime = time.Date(2026, 3, 1, 12, 0, 0, 600_000_000, time.FixedZone("CET", 3600))

func dbPath(t *testing.T) string {
	t.Helper()
	return filepath.Join(t.TempDir(), "tasks.db")
}

func open(t *testing.T, path string) *sqlite.Store {
	t.Helper()
	s, err := sqlite.Open(path)
	if err != nil {
		t.Fatalf("sqlite.Open(%s): %v", path, err)
	}
	return s
}

func closeStore(t *testing.T, s *sqlite.Store) {
	t.Helper()
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
}

// newStore opens a fresh store on a file with a fixed clock; it is closed
// when the test ends.
func newStore(t *testing.T) (*sqlite.Store, *clock, string) {
	t.Helper()
	path := dbPath(t)
	s := open(t, path)
	c := &clock{now: baseTime}
	s.Now = c.Now
	t.Cleanup(func() { s.Close() })
	return s, c, path
}

// orgContext creates the organisation name (if it is new) with a key in
// it, and returns a context carrying a principal of that key, as an
// authenticated request would.
func orgContext(t *testing.T, s *sqlite.Store, name string) context.Context {
	t.Helper()
	creds, err := access.NewKey(t.Context(), s, name, "test key")
	if err != nil {
		t.Fatalf("access.NewKey(%q): %v", name, err)
	}
	return access.WithPrincipal(t.Context(), access.Principal{
		OrganisationID: creds.OrganisationID,
		KeyID:          creds.KeyID,
		AccessKey:      creds.AccessKey,
	})
}

func dt(t *testing.T, s string) task.DateTime {
	t.Helper()
	d, err := task.ParseDateTime(s)
	if err != nil {
		t.Fatalf("ParseDateTime(%q): %v", s, err)
	}
	return d
}

func date(t *testing.T, s string) task.Date {
	t.Helper()
	d, err := task.ParseDate(s)
	if err != nil {
		t.Fatalf("ParseDate(%q): %v", s, err)
	}
	return d
}

func mustCreate(t *testing.T, ctx context.Context, s *sqlite.Store, in task.CreateInput) task.Task {
	t.Helper()
	got, err := s.CreateTask(ctx, in)
	if err != nil {
		t.Fatalf("CreateTask(%q): %v", in.Title, err)
	}
	return got
}

func mustList(t *testing.T, ctx context.Context, s *sqlite.Store, p task.ListParams) task.Page {
	t.Helper()
	page, err := s.ListTasks(ctx, p)
	if err != nil {
		t.Fatalf("ListTasks(%+v): %v", p, err)
	}
	return page
}

// simple is a valid input with the given title.
func simple(t *testing.T, title string) task.CreateInput {
	t.Helper()
	return task.CreateInput{Title: title, StartDatetime: dt(t, "2026-03-01T09:00:00"), ContactID: ptr(1)}
}

func wantCode(t *testing.T, err error, want task.Code) *task.Error {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want code %q", want)
	}
	var e *task.Error
	if !errors.As(err, &e) {
		t.Fatalf("got %v (%T), want a *task.Error with code %q", err, err, want)
	}
	if e.Code != want {
		t.Fatalf("error code = %q, want %q (error: %v)", e.Code, want, err)
	}
	return e
}

func fieldsOf(e *task.Error) []string {
	var out []string
	for _, f := range e.Fields {
		out = append(out, f.Field)
	}
	slices.Sort(out)
	return out
}

// rawCount counts rows of a table straight from the file, bypassing the
// store.
func rawCount(t *testing.T, path, table string) int {
	t.Helper()
	conn, err := sql.Open("sqlite3", path)
	if err != nil {
		t.Fatalf("sql.Open: %v", err)
	}
	defer conn.Close()
	var n int
	if err := conn.QueryRow("SELECT count(*) FROM " + table).Scan(&n); err != nil {
		t.Fatalf("count %s: %v", table, err)
	}
	return n
}

func userVersion(t *testing.T, path string) int {
	t.Helper()
	conn, err := sql.Open("sqlite3", path)
	if err != nil {
		t.Fatalf("sql.Open: %v", err)
	}
	defer conn.Close()
	var v int
	if err := conn.QueryRow("PRAGMA user_version").Scan(&v); err != nil {
		t.Fatalf("PRAGMA user_version: %v", err)
	}
	return v
}

func migrationCount(t *testing.T) int {
	t.Helper()
	entries, err := os.ReadDir("migrations")
	if err != nil {
		t.Fatalf("read migrations: %v", err)
	}
	n := 0
	for _, e := range entries {
		if !e.IsDir() && strings.HasSuffix(e.Name(), ".sql") {
			n++
		}
	}
	if n == 0 {
		t.Fatalf("no migration files found")
	}
	return n
}

func str[T fmt.Stringer](p *T) string {
	if p == nil {
		return "<nil>"
	}
	return (*p).String()
}

func intp(p *int) string {
	if p == nil {
		return "<nil>"
	}
	return fmt.Sprint(*p)
}

func strp(p *string) string {
	if p == nil {
		return "<nil>"
	}
	return fmt.Sprintf("%q", *p)
}

// diffTask lists every field where got differs from want.
func diffTask(got, want task.Task) []string {
	var d []string
	check := func(name, g, w string) {
		if g != w {
			d = append(d, fmt.Sprintf("%s = %s, want %s", name, g, w))
		}
	}
	check("ID", fmt.Sprint(got.ID), fmt.Sprint(want.ID))
	check("Title", fmt.Sprintf("%q", got.Title), fmt.Sprintf("%q", want.Title))
	check("Status", fmt.Sprint(got.Status), fmt.Sprint(want.Status))
	check("Priority", fmt.Sprint(got.Priority), fmt.Sprint(want.Priority))
	check("StartDatetime", got.StartDatetime.String(), want.StartDatetime.String())
	check("EndDatetime", str(got.EndDatetime), str(want.EndDatetime))
	check("DueDate", got.DueDate.String(), want.DueDate.String())
	check("Description", strp(got.Description), strp(want.Description))
	check("DealID", intp(got.DealID), intp(want.DealID))
	check("ContactID", intp(got.ContactID), intp(want.ContactID))
	check("AssignedUserID", intp(got.AssignedUserID), intp(want.AssignedUserID))
	check("TagIDs", fmt.Sprintf("%#v", got.TagIDs), fmt.Sprintf("%#v", want.TagIDs))
	check("CreatedAt", got.CreatedAt.String(), want.CreatedAt.String())
	check("UpdatedAt", got.UpdatedAt.String(), want.UpdatedAt.String())
	check("ActivityType", got.ActivityType(), want.ActivityType())
	return d
}

func ids(items []task.Task) []int {
	out := make([]int, 0, len(items))
	for _, it := range items {
		out = append(out, it.ID)
	}
	return out
}

func TestCreateThenGet(t *testing.T) {
	s, _, _ := newStore(t)
	ctx := orgContext(t, s, "Acme")

	full := task.CreateInput{
		Title:          "  Prepare the Été offer  ",
		StartDatetime:  dt(t, "2026-03-01T09:30:00"),
		EndDatetime:    ptr(dt(t, "2026-03-03T17:45:30")),
		Description:    ptr("Bring the contract.\nAnd the 日本 brochure."),
		DealID:         ptr(11),
		ContactID:      ptr(22),
		Priority:       ptr(task.Priority(4)),
		Status:         ptr(task.Status(1)),
		AssignedUserID: ptr(33),
		TagIDs:         []int{9, 2, 7, 2, 9, 5},
	}
	minimal := task.CreateInput{
		Title:         "Minimal",
		StartDatetime: dt(t, "2026-04-10T08:00:00"),
		DealID:        ptr(1),
	}

	tests := []struct {
		name string
		in   task.CreateInput
		want task.Task // without ID
	}{
		{
			name: "a task with every field comes back exactly as stored",
			in:   full,
			want: task.Task{
				Title:          "Prepare the Été offer",
				Status:         1,
				Priority:       4,
				StartDatetime:  dt(t, "2026-03-01T09:30:00"),
				EndDatetime:    ptr(dt(t, "2026-03-03T17:45:30")),
				DueDate:        date(t, "2026-03-03"),
				Description:    ptr("Bring the contract.\nAnd the 日本 brochure."),
				DealID:         ptr(11),
				ContactID:      ptr(22),
				AssignedUserID: ptr(33),
				TagIDs:         []int{9, 2, 7, 5},
				CreatedAt:      dt(t, "2026-03-01T11:00:00"),
				UpdatedAt:      dt(t, "2026-03-01T11:00:00"),
			},
		},
		{
			name: "a minimal task keeps its missing optionals nil and gets the defaults",
			in:   minimal,
			want: task.Task{
				Title:         "Minimal",
				Status:        0,
				Priority:      2,
				StartDatetime: dt(t, "2026-04-10T08:00:00"),
				DueDate:       date(t, "2026-04-10"),
				DealID:        ptr(1),
				TagIDs:        []int{},
				CreatedAt:     dt(t, "2026-03-01T11:00:00"),
				UpdatedAt:     dt(t, "2026-03-01T11:00:00"),
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			created := mustCreate(t, ctx, s, tt.in)
			if created.ID < 1 {
				t.Fatalf("created ID = %d, want a positive id", created.ID)
			}
			want := tt.want
			want.ID = created.ID
			for _, d := range diffTask(created, want) {
				t.Errorf("CreateTask returned %s", d)
			}

			got, err := s.Task(ctx, created.ID)
			if err != nil {
				t.Fatalf("Task(%d): %v", created.ID, err)
			}
			for _, d := range diffTask(got, want) {
				t.Errorf("Task(%d) returned %s", created.ID, d)
			}
			if got.TagIDs == nil {
				t.Errorf("Task(%d).TagIDs is nil, want non-nil", created.ID)
			}
			if got.ActivityType() != "Task" {
				t.Errorf("ActivityType() = %q, want Task", got.ActivityType())
			}

			page := mustList(t, ctx, s, task.ListParams{PageSize: ptr(100)})
			i := slices.IndexFunc(page.Items, func(it task.Task) bool { return it.ID == created.ID })
			if i < 0 {
				t.Fatalf("task %d is not in the list", created.ID)
			}
			for _, d := range diffTask(page.Items[i], want) {
				t.Errorf("ListTasks returned %s", d)
			}
		})
	}
}

func TestCreatedAtIsTheClockInUTCToTheSecond(t *testing.T) {
	s, c, _ := newStore(t)
	ctx := orgContext(t, s, "Acme")
	c.now = time.Date(2026, 12, 31, 23, 30, 59, 999_999_999, time.FixedZone("EST", -5*3600))
	got := mustCreate(t, ctx, s, simple(t, "Late"))
	const want = "2027-01-01T04:30:59"
	if got.CreatedAt.String() != want || got.UpdatedAt.String() != want {
		t.Errorf("CreatedAt, UpdatedAt = %v, %v; want both %s", got.CreatedAt, got.UpdatedAt, want)
	}
	stored, err := s.Task(ctx, got.ID)
	if err != nil {
		t.Fatalf("Task: %v", err)
	}
	if stored.CreatedAt.String() != want || stored.UpdatedAt.String() != want {
		t.Errorf("stored CreatedAt, UpdatedAt = %v, %v; want both %s", stored.CreatedAt, stored.UpdatedAt, want)
	}
}

func TestGetOfAMissingTaskIsNotFound(t *testing.T) {
	s, _, _ := newStore(t)
	ctx := orgContext(t, s, "Acme")
	for _, id := range []int{1, 2, 999_999, math.MaxInt64} {
		_, err := s.Task(ctx, id)
		wantCode(t, err, task.CodeNotFound)
	}
	created := mustCreate(t, ctx, s, simple(t, "Only one"))
	_, err := s.Task(ctx, created.ID+1)
	wantCode(t, err, task.CodeNotFound)
}

func TestInvalidInputStoresNothing(t *testing.T) {
	tests := []struct {
		name       string
		in         func(t *testing.T) task.CreateInput
		wantFields []string
	}{
		{
			name: "a blank title is rejected",
			in: func(t *testing.T) task.CreateInput {
				in := simple(t, "   ")
				in.TagIDs = []int{1, 2}
				return in
			},
			wantFields: []string{"title"},
		},
		{
			name: "a task with neither deal nor contact is rejected on both fields",
			in: func(t *testing.T) task.CreateInput {
				return task.CreateInput{Title: "x", StartDatetime: dt(t, "2026-03-01T09:00:00"), TagIDs: []int{3}}
			},
			wantFields: []string{"contactId", "dealId"},
		},
		{
			name: "an end before the start is rejected",
			in: func(t *testing.T) task.CreateInput {
				in := simple(t, "x")
				in.EndDatetime = ptr(dt(t, "2026-02-28T09:00:00"))
				return in
			},
			wantFields: []string{"endDatetime"},
		},
		{
			name: "51 distinct tags are rejected",
			in: func(t *testing.T) task.CreateInput {
				in := simple(t, "x")
				for i := 1; i <= 51; i++ {
					in.TagIDs = append(in.TagIDs, i)
				}
				return in
			},
			wantFields: []string{"tagIds"},
		},
		{
			name: "a status out of range is rejected",
			in: func(t *testing.T) task.CreateInput {
				in := simple(t, "x")
				in.Status = ptr(task.Status(7))
				return in
			},
			wantFields: []string{"status"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _, path := newStore(t)
			ctx := orgContext(t, s, "Acme")
			_, err := s.CreateTask(ctx, tt.in(t))
			e := wantCode(t, err, task.CodeInvalid)
			if got := fieldsOf(e); !slices.Equal(got, tt.wantFields) {
				t.Errorf("offending fields = %v, want %v", got, tt.wantFields)
			}
			if page := mustList(t, ctx, s, task.ListParams{}); page.TotalRecords != 0 || len(page.Items) != 0 {
				t.Errorf("after a rejected create the list has %d records, want 0", page.TotalRecords)
			}
			if n := rawCount(t, path, "tasks"); n != 0 {
				t.Errorf("tasks table has %d rows, want 0", n)
			}
		})
	}
}

func TestInvalidListParamsAreRejected(t *testing.T) {
	s, _, _ := newStore(t)
	ctx := orgContext(t, s, "Acme")
	mustCreate(t, ctx, s, simple(t, "one"))
	tests := []struct {
		name  string
		p     task.ListParams
		field string
	}{
		{"a page size of 0 is rejected", task.ListParams{PageSize: ptr(0)}, "pageSize"},
		{"a page index of -1 is rejected", task.ListParams{PageIndex: ptr(-1)}, "pageIndex"},
		{"a status filter of 5 is rejected", task.ListParams{Filter: task.Filter{Status: ptr(task.Status(5))}}, "status"},
		{"an assigned user of 0 is rejected", task.ListParams{Filter: task.Filter{AssignedUserID: ptr(0)}}, "assignedUserId"},
		{"a due date range ending before it starts is rejected", task.ListParams{Filter: task.Filter{
			DueDateFrom: ptr(date(t, "2026-03-02")), DueDateTo: ptr(date(t, "2026-03-01"))}}, "dueDateTo"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s.ListTasks(ctx, tt.p)
			e := wantCode(t, err, task.CodeInvalid)
			if got := fieldsOf(e); !slices.Equal(got, []string{tt.field}) {
				t.Errorf("offending fields = %v, want [%s]", got, tt.field)
			}
		})
	}
}

func TestARestartKeepsTheTasks(t *testing.T) {
	path := dbPath(t)
	s := open(t, path)
	ctx := orgContext(t, s, "Acme")
	var want []task.Task
	for i, title := range []string{"first", "second", "third"} {
		in := simple(t, title)
		in.TagIDs = []int{i + 3, 1}
		in.Description = ptr(fmt.Sprintf("task %d", i))
		want = append(want, mustCreate(t, ctx, s, in))
	}
	closeStore(t, s)

	s = open(t, path)
	defer s.Close()
	for _, w := range want {
		got, err := s.Task(ctx, w.ID)
		if err != nil {
			t.Fatalf("after reopening, Task(%d): %v", w.ID, err)
		}
		for _, d := range diffTask(got, w) {
			t.Errorf("after reopening, task %d has %s", w.ID, d)
		}
	}
	if page := mustList(t, ctx, s, task.ListParams{}); page.TotalRecords != len(want) {
		t.Errorf("after reopening, TotalRecords = %d, want %d", page.TotalRecords, len(want))
	}
	next := mustCreate(t, ctx, s, simple(t, "fourth"))
	for _, w := range want {
		if next.ID == w.ID {
			t.Errorf("a task created after reopening reused id %d", w.ID)
		}
	}
}

func TestReopeningAMigratedFileWorks(t *testing.T) {
	path := dbPath(t)
	want := migrationCount(t)
	for i := range 3 {
		s := open(t, path)
		ctx := orgContext(t, s, "Acme")
		mustCreate(t, ctx, s, simple(t, fmt.Sprintf("opened %d", i)))
		closeStore(t, s)
		if got := userVersion(t, path); got != want {
			t.Errorf("after open %d, user_version = %d, want %d (the number of migration files)", i+1, got, want)
		}
	}
	if n := rawCount(t, path, "tasks"); n != 3 {
		t.Errorf("tasks after three opens = %d, want 3", n)
	}
}

func TestOpenRefusesANewerSchema(t *testing.T) {
	path := dbPath(t)
	closeStore(t, open(t, path))

	conn, err := sql.Open("sqlite3", path)
	if err != nil {
		t.Fatalf("sql.Open: %v", err)
	}
	newer := migrationCount(t) + 1
	if _, err := conn.Exec(fmt.Sprintf("PRAGMA user_version = %d", newer)); err != nil {
		t.Fatalf("set user_version: %v", err)
	}
	conn.Close()

	s, err := sqlite.Open(path)
	if err == nil {
		s.Close()
		t.Fatalf("sqlite.Open of a database at schema version %d succeeded, want an error", newer)
	}
	if got := userVersion(t, path); got != newer {
		t.Errorf("the refused database's user_version changed to %d, want %d", got, newer)
	}
}

func TestConcurrentCreatesAllSucceed(t *testing.T) {
	s, _, path := newStore(t)
	ctx := orgContext(t, s, "Acme")
	const n = 60
	var wg sync.WaitGroup
	results := make([]task.Task, n)
	errs := make([]error, n)
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			in := simple(t, fmt.Sprintf("concurrent %d", i))
			in.TagIDs = []int{i + 1, 1000 + i}
			results[i], errs[i] = s.CreateTask(ctx, in)
		}()
	}
	close(start)
	wg.Wait()

	seen := map[int]bool{}
	for i, err := range errs {
		if err != nil {
			if strings.Contains(err.Error(), "locked") || strings.Contains(err.Error(), "busy") {
				t.Errorf("create %d failed with a locking error: %v", i, err)
			} else {
				t.Errorf("create %d failed: %v", i, err)
			}
			continue
		}
		if seen[results[i].ID] {
			t.Errorf("id %d was given to two tasks", results[i].ID)
		}
		seen[results[i].ID] = true
	}
	if len(seen) != n {
		t.Errorf("%d distinct ids, want %d", len(seen), n)
	}
	if got := rawCount(t, path, "tasks"); got != n {
		t.Errorf("tasks table has %d rows, want %d", got, n)
	}
	for i, r := range results {
		if errs[i] != nil {
			continue
		}
		got, err := s.Task(ctx, r.ID)
		if err != nil {
			t.Errorf("Task(%d): %v", r.ID, err)
			continue
		}
		if got.Title != fmt.Sprintf("concurrent %d", i) || !slices.Equal(got.TagIDs, []int{i + 1, 1000 + i}) {
			t.Errorf("task %d = %q %v, want %q [%d %d]", r.ID, got.Title, got.TagIDs, fmt.Sprintf("concurrent %d", i), i+1, 1000+i)
		}
	}
}

func TestConcurrentReadsAndWrites(t *testing.T) {
	s, _, _ := newStore(t)
	ctx := orgContext(t, s, "Acme")
	mustCreate(t, ctx, s, simple(t, "seed"))
	var wg sync.WaitGroup
	errs := make(chan error, 80)
	for i := range 20 {
		wg.Add(2)
		go func() {
			defer wg.Done()
			if _, err := s.CreateTask(ctx, simple(t, fmt.Sprintf("w%d", i))); err != nil {
				errs <- fmt.Errorf("create: %w", err)
			}
		}()
		go func() {
			defer wg.Done()
			if _, err := s.ListTasks(ctx, task.ListParams{}); err != nil {
				errs <- fmt.Errorf("list: %w", err)
			}
			if _, err := s.Task(ctx, 1); err != nil {
				errs <- fmt.Errorf("get: %w", err)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("concurrent reads and writes: %v", err)
	}
}

// filterFixture creates the tasks the filter tests search, returning their
// ids by a short key.
func filterFixture(t *testing.T, ctx context.Context, s *sqlite.Store) map[string]int {
	t.Helper()
	type spec struct {
		key, title string
		status     task.Status
		priority   task.Priority
		user       *int
		start, end string
	}
	specs := []spec{
		{"ete", "Été planning", 0, 2, ptr(1), "2026-03-01T09:00:00", ""},                            // due 03-01
		{"summer", "summer ÉTÉ review", 1, 3, ptr(2), "2026-03-02T10:00:00", "2026-03-04T10:00:00"}, // due 03-04
		{"percent", "100% done", 2, 4, ptr(1), "2026-03-03T08:00:00", ""},                           // due 03-03
		{"snake", "snake_case rename", 0, 0, nil, "2026-03-05T08:00:00", ""},                        // due 03-05
		{"plain", "plain title", 3, 1, ptr(2), "2026-02-28T23:00:00", "2026-03-01T01:00:00"},        // due 03-01
		{"word", "Percent sign missing", 4, 2, nil, "2026-03-10T08:00:00", ""},                      // due 03-10
		{"spaced", "snake case without underscore", 0, 2, ptr(3), "2026-03-06T08:00:00", ""},        // due 03-06
	}
	out := map[string]int{}
	for _, sp := range specs {
		in := task.CreateInput{
			Title:          sp.title,
			StartDatetime:  dt(t, sp.start),
			DealID:         ptr(1),
			Status:         ptr(sp.status),
			Priority:       ptr(sp.priority),
			AssignedUserID: sp.user,
		}
		if sp.end != "" {
			in.EndDatetime = ptr(dt(t, sp.end))
		}
		out[sp.key] = mustCreate(t, ctx, s, in).ID
	}
	return out
}

func TestListFilters(t *testing.T) {
	s, _, _ := newStore(t)
	ctx := orgContext(t, s, "Acme")
	id := filterFixture(t, ctx, s)
	all := []string{"ete", "summer", "percent", "snake", "plain", "word", "spaced"}

	tests := []struct {
		name string
		f    task.Filter
		want []string // keys, in id order
	}{
		{"no filter lists every task", task.Filter{}, all},
		{"an empty search lists every task", task.Filter{Search: ptr("")}, all},
		{"search is a case-insensitive substring", task.Filter{Search: ptr("SNAKE")}, []string{"snake", "spaced"}},
		{"a lower-case search finds an upper-case accented title", task.Filter{Search: ptr("été")}, []string{"ete", "summer"}},
		{"an upper-case accented search finds a lower-case title", task.Filter{Search: ptr("ÉTÉ")}, []string{"ete", "summer"}},
		{"search matches inside words", task.Filter{Search: ptr("lannin")}, []string{"ete"}},
		{"a percent sign is taken literally", task.Filter{Search: ptr("%")}, []string{"percent"}},
		{"a percent sign in the middle is taken literally", task.Filter{Search: ptr("0% d")}, []string{"percent"}},
		{"an underscore is taken literally", task.Filter{Search: ptr("_")}, []string{"snake"}},
		{"an underscore does not match a space", task.Filter{Search: ptr("e_c")}, []string{"snake"}},
		{"a search that matches nothing lists nothing", task.Filter{Search: ptr("zzz")}, nil},
		{"a search with a quote is taken literally", task.Filter{Search: ptr("'")}, nil},
		{"status filters", task.Filter{Status: ptr(task.Status(0))}, []string{"ete", "snake", "spaced"}},
		{"status NO_SHOW filters", task.Filter{Status: ptr(task.Status(4))}, []string{"word"}},
		{"priority filters", task.Filter{Priority: ptr(task.Priority(2))}, []string{"ete", "word", "spaced"}},
		{"priority NONE filters", task.Filter{Priority: ptr(task.Priority(0))}, []string{"snake"}},
		{"assigned user filters", task.Filter{AssignedUserID: ptr(1)}, []string{"ete", "percent"}},
		{"another assigned user filters", task.Filter{AssignedUserID: ptr(2)}, []string{"summer", "plain"}},
		{"an unknown assigned user lists nothing", task.Filter{AssignedUserID: ptr(99)}, nil},
		{"dueDateFrom is inclusive", task.Filter{DueDateFrom: ptr(date(t, "2026-03-03"))},
			[]string{"summer", "percent", "snake", "word", "spaced"}},
		{"dueDateTo is inclusive", task.Filter{DueDateTo: ptr(date(t, "2026-03-03"))},
			[]string{"ete", "percent", "plain"}},
		{"an equal dueDateFrom and dueDateTo give that day, by due date not start", task.Filter{
			DueDateFrom: ptr(date(t, "2026-03-01")), DueDateTo: ptr(date(t, "2026-03-01"))}, []string{"ete", "plain"}},
		{"a due date range matches the end's date, not the start's", task.Filter{
			DueDateFrom: ptr(date(t, "2026-03-04")), DueDateTo: ptr(date(t, "2026-03-05"))}, []string{"summer", "snake"}},
		{"a due date range on a start date that is not the due date matches nothing", task.Filter{
			DueDateFrom: ptr(date(t, "2026-03-02")), DueDateTo: ptr(date(t, "2026-03-02"))}, nil},
		{"status and priority combine", task.Filter{Status: ptr(task.Status(0)), Priority: ptr(task.Priority(2))},
			[]string{"ete", "spaced"}},
		{"search, status and assigned user combine", task.Filter{Search: ptr("snake"), Status: ptr(task.Status(0)),
			AssignedUserID: ptr(3)}, []string{"spaced"}},
		{"search and due date combine", task.Filter{Search: ptr("été"), DueDateFrom: ptr(date(t, "2026-03-02"))},
			[]string{"summer"}},
		{"status, priority and due date combine", task.Filter{Status: ptr(task.Status(0)), Priority: ptr(task.Priority(0)),
			DueDateTo: ptr(date(t, "2026-03-05"))}, []string{"snake"}},
		{"combined filters can exclude everything", task.Filter{Status: ptr(task.Status(4)), AssignedUserID: ptr(1)}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			page := mustList(t, ctx, s, task.ListParams{Filter: tt.f, PageSize: ptr(100), SortBy: ptr(task.SortByID)})
			want := []int{}
			for _, k := range tt.want {
				want = append(want, id[k])
			}
			if got := ids(page.Items); !slices.Equal(got, want) {
				t.Errorf("ids = %v, want %v (%v)", got, want, tt.want)
			}
			if page.TotalRecords != len(want) {
				t.Errorf("TotalRecords = %d, want %d", page.TotalRecords, len(want))
			}
			if page.Items == nil {
				t.Errorf("Items is nil, want a non-nil slice")
			}
		})
	}
}

func TestListCountsAllMatchesNotJustThePage(t *testing.T) {
	s, _, _ := newStore(t)
	ctx := orgContext(t, s, "Acme")
	id := filterFixture(t, ctx, s)
	page := mustList(t, ctx, s, task.ListParams{Filter: task.Filter{Status: ptr(task.Status(0))}, PageSize: ptr(2),
		SortBy: ptr(task.SortByID)})
	if page.TotalRecords != 3 || page.TotalPages() != 2 || page.CurrentPage() != 1 {
		t.Errorf("TotalRecords, TotalPages, CurrentPage = %d, %d, %d; want 3, 2, 1",
			page.TotalRecords, page.TotalPages(), page.CurrentPage())
	}
	if got, want := ids(page.Items), []int{id["ete"], id["snake"]}; !slices.Equal(got, want) {
		t.Errorf("first page ids = %v, want %v", got, want)
	}
	page = mustList(t, ctx, s, task.ListParams{Filter: task.Filter{Status: ptr(task.Status(0))}, PageSize: ptr(2),
		PageIndex: ptr(1), SortBy: ptr(task.SortByID)})
	if got, want := ids(page.Items), []int{id["spaced"]}; !slices.Equal(got, want) {
		t.Errorf("second page ids = %v, want %v", got, want)
	}
	if page.CurrentPage() != 2 || page.TotalRecords != 3 {
		t.Errorf("second page CurrentPage, TotalRecords = %d, %d; want 2, 3", page.CurrentPage(), page.TotalRecords)
	}
}

// sortSpec is a task of the sort fixture, with the values the expected
// orders are computed from.
type sortSpec struct {
	title      string
	status     task.Status
	priority   task.Priority
	start, end string
	due        string
	advance    time.Duration // clock advance before creating
	id         int
	created    string
}

func TestListSortsByEveryField(t *testing.T) {
	s, c, _ := newStore(t)
	ctx := orgContext(t, s, "Acme")
	specs := []*sortSpec{
		{title: "delta", status: 2, priority: 1, start: "2026-03-05T10:00:00", due: "2026-03-05"},
		{title: "alpha", status: 0, priority: 3, start: "2026-03-01T10:00:00", end: "2026-03-07T10:00:00", due: "2026-03-07", advance: time.Minute},
		{title: "charlie", status: 2, priority: 3, start: "2026-03-05T10:00:00", end: "2026-03-05T12:00:00", due: "2026-03-05"},
		{title: "bravo", status: 4, priority: 0, start: "2026-03-02T08:00:00", due: "2026-03-02", advance: time.Hour},
		{title: "alpha", status: 1, priority: 1, start: "2026-03-03T09:00:00", end: "2026-03-05T12:00:00", due: "2026-03-05"},
		{title: "echo", status: 0, priority: 4, start: "2026-02-27T10:00:00", end: "2026-03-03T10:00:00", due: "2026-03-03", advance: time.Second},
		{title: "bravo", status: 2, priority: 2, start: "2026-03-05T10:00:00", due: "2026-03-05", advance: 24 * time.Hour},
		{title: "foxtrot", status: 3, priority: 4, start: "2026-01-15T06:00:00", end: "2026-01-15T06:00:00", due: "2026-01-15", advance: -48 * time.Hour},
	}
	for _, sp := range specs {
		c.Advance(sp.advance)
		in := task.CreateInput{
			Title:         sp.title,
			StartDatetime: dt(t, sp.start),
			ContactID:     ptr(5),
			Status:        ptr(sp.status),
			Priority:      ptr(sp.priority),
		}
		if sp.end != "" {
			in.EndDatetime = ptr(dt(t, sp.end))
		}
		created := mustCreate(t, ctx, s, in)
		sp.id = created.ID
		sp.created = c.Now().UTC().Format("2006-01-02T15:04:05")
		if created.DueDate.String() != sp.due {
			t.Fatalf("fixture %q: due date %v, want %s", sp.title, created.DueDate, sp.due)
		}
	}

	// Each key is a string that sorts as the field should; "" is null.
	fields := []struct {
		name  string
		field task.SortField
		key   func(*sortSpec) string
	}{
		{"id", task.SortByID, func(sp *sortSpec) string { return fmt.Sprintf("%08d", sp.id) }},
		{"title", task.SortByTitle, func(sp *sortSpec) string { return sp.title }},
		{"status", task.SortByStatus, func(sp *sortSpec) string { return fmt.Sprint(sp.status) }},
		{"priority", task.SortByPriority, func(sp *sortSpec) string { return fmt.Sprint(sp.priority) }},
		{"start datetime", task.SortByStartDatetime, func(sp *sortSpec) string { return sp.start }},
		{"end datetime", task.SortByEndDatetime, func(sp *sortSpec) string { return sp.end }},
		{"due date", task.SortByDueDate, func(sp *sortSpec) string { return sp.due }},
		{"created at", task.SortByCreatedAt, func(sp *sortSpec) string { return sp.created }},
		{"updated at", task.SortByUpdatedAt, func(sp *sortSpec) string { return sp.created }},
	}
	for _, f := range fields {
		for _, order := range []task.SortOrder{task.Asc, task.Desc} {
			dir := "ascending"
			if order == task.Desc {
				dir = "descending"
			}
			t.Run("sort by "+f.name+" "+dir+" breaks ties by id in the same direction", func(t *testing.T) {
				want := slices.Clone(specs)
				slices.SortFunc(want, func(a, b *sortSpec) int {
					ka, kb := f.key(a), f.key(b)
					if ka == "" && kb != "" { // nulls last, in both directions
						return 1
					}
					if kb == "" && ka != "" {
						return -1
					}
					cmp := strings.Compare(ka, kb)
					if cmp == 0 {
						cmp = a.id - b.id
					}
					if order == task.Desc {
						cmp = -cmp
					}
					return cmp
				})
				wantIDs := make([]int, 0, len(want))
				for _, sp := range want {
					wantIDs = append(wantIDs, sp.id)
				}
				page := mustList(t, ctx, s, task.ListParams{SortBy: ptr(f.field), SortOrder: ptr(order), PageSize: ptr(100)})
				if got := ids(page.Items); !slices.Equal(got, wantIDs) {
					t.Errorf("ids = %v, want %v", got, wantIDs)
				}
			})
		}
	}

	t.Run("tasks without an end come last in both directions", func(t *testing.T) {
		for _, order := range []task.SortOrder{task.Asc, task.Desc} {
			page := mustList(t, ctx, s, task.ListParams{SortBy: ptr(task.SortByEndDatetime), SortOrder: ptr(order), PageSize: ptr(100)})
			seenNull := false
			for _, it := range page.Items {
				if it.EndDatetime == nil {
					seenNull = true
				} else if seenNull {
					t.Errorf("order %d: task %d with an end comes after a task without one", order, it.ID)
				}
			}
			if n := len(page.Items); n == 0 || page.Items[n-1].EndDatetime != nil {
				t.Errorf("order %d: the last task has an end, want tasks without an end last", order)
			}
		}
	})

	t.Run("no sort parameters list the newest task first", func(t *testing.T) {
		page := mustList(t, ctx, s, task.ListParams{PageSize: ptr(100)})
		got := ids(page.Items)
		if !slices.IsSortedFunc(got, func(a, b int) int { return b - a }) || len(got) != len(specs) {
			t.Errorf("ids = %v, want all %d ids in descending order", got, len(specs))
		}
	})
}

func TestTitleSortIgnoresCase(t *testing.T) {
	s, _, _ := newStore(t)
	ctx := orgContext(t, s, "Acme")
	for _, title := range []string{"banana", "Cherry", "apple", "Apricot", "éclair"} {
		mustCreate(t, ctx, s, simple(t, title))
	}
	page := mustList(t, ctx, s, task.ListParams{SortBy: ptr(task.SortByTitle)})
	var got []string
	for _, it := range page.Items {
		got = append(got, it.Title)
	}
	wantTitles := []string{"apple", "Apricot", "banana", "Cherry", "éclair"}
	if !slices.Equal(got, wantTitles) {
		t.Errorf("titles sorted ascending = %v, want %v", got, wantTitles)
	}
}

func TestPagingThroughTiesVisitsEveryTaskOnce(t *testing.T) {
	s, _, _ := newStore(t)
	ctx := orgContext(t, s, "Acme")
	const n = 23
	var all []int
	for range n {
		in := simple(t, "same title")
		in.Status = ptr(task.Status(1))
		in.Priority = ptr(task.Priority(3))
		all = append(all, mustCreate(t, ctx, s, in).ID)
	}
	fields := []struct {
		name  string
		field task.SortField
	}{
		{"status", task.SortByStatus},
		{"title", task.SortByTitle},
		{"priority", task.SortByPriority},
		{"due date", task.SortByDueDate},
		{"created at", task.SortByCreatedAt},
		{"end datetime (all null)", task.SortByEndDatetime},
	}
	orders := map[task.SortOrder]string{task.Asc: "ascending", task.Desc: "descending"}
	for _, f := range fields {
		field := f.field
		for _, order := range []task.SortOrder{task.Asc, task.Desc} {
			for _, size := range []int{1, 4, 5, 10, 22, 23} {
				name := fmt.Sprintf("paging %d at a time through tasks tied on %s %s visits each once", size, f.name, orders[order])
				t.Run(name, func(t *testing.T) {
					var got []int
					pages := 0
					for idx := 0; ; idx++ {
						page := mustList(t, ctx, s, task.ListParams{SortBy: ptr(field), SortOrder: ptr(order),
							PageSize: ptr(size), PageIndex: ptr(idx)})
						if page.TotalRecords != n {
							t.Fatalf("page %d: TotalRecords = %d, want %d", idx, page.TotalRecords, n)
						}
						if len(page.Items) == 0 {
							break
						}
						pages++
						got = append(got, ids(page.Items)...)
						if idx > n {
							t.Fatalf("more pages than tasks")
						}
					}
					want := slices.Clone(all)
					if order == task.Desc {
						slices.Reverse(want)
					}
					if !slices.Equal(got, want) {
						t.Errorf("ids visited = %v, want each of %v once, in id order", got, want)
					}
					if wantPages := (n + size - 1) / size; pages != wantPages {
						t.Errorf("visited %d pages, want %d", pages, wantPages)
					}
				})
			}
		}
	}
}

func TestPageSizeIsCappedAt100(t *testing.T) {
	s, _, _ := newStore(t)
	ctx := orgContext(t, s, "Acme")
	const n = 105
	for i := range n {
		mustCreate(t, ctx, s, simple(t, fmt.Sprintf("task %03d", i)))
	}
	page := mustList(t, ctx, s, task.ListParams{PageSize: ptr(150)})
	if page.PageSize != 100 {
		t.Errorf("PageSize = %d, want 100", page.PageSize)
	}
	if len(page.Items) != 100 {
		t.Errorf("len(Items) = %d, want 100", len(page.Items))
	}
	if page.TotalRecords != n || page.TotalPages() != 2 {
		t.Errorf("TotalRecords, TotalPages = %d, %d; want %d, 2", page.TotalRecords, page.TotalPages(), n)
	}
	second := mustList(t, ctx, s, task.ListParams{PageSize: ptr(150), PageIndex: ptr(1)})
	if len(second.Items) != n-100 {
		t.Errorf("second capped page has %d items, want %d", len(second.Items), n-100)
	}

	def := mustList(t, ctx, s, task.ListParams{})
	if def.PageSize != 10 || len(def.Items) != 10 || def.PageIndex != 0 {
		t.Errorf("default page: PageSize %d, %d items, PageIndex %d; want 10, 10, 0", def.PageSize, len(def.Items), def.PageIndex)
	}
}

func TestPagesPastTheEnd(t *testing.T) {
	s, _, _ := newStore(t)
	ctx := orgContext(t, s, "Acme")
	for i := range 12 {
		mustCreate(t, ctx, s, simple(t, fmt.Sprintf("task %d", i)))
	}
	tests := []struct {
		name      string
		size, idx int
	}{
		{"the page just past the end is empty", 10, 2},
		{"a page far past the end is empty", 10, 1000},
		{"a huge page index is empty, not an error", 10, math.MaxInt / 2},
		{"a huge page index with the largest page is empty", 100, math.MaxInt / 2},
		{"the largest page index is empty", 100, math.MaxInt},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			page, err := s.ListTasks(ctx, task.ListParams{PageSize: ptr(tt.size), PageIndex: ptr(tt.idx)})
			if err != nil {
				t.Fatalf("ListTasks: %v", err)
			}
			if page.Items == nil || len(page.Items) != 0 {
				t.Errorf("Items = %#v, want an empty non-nil slice", page.Items)
			}
			if page.TotalRecords != 12 {
				t.Errorf("TotalRecords = %d, want 12", page.TotalRecords)
			}
			if want := (12 + tt.size - 1) / tt.size; page.TotalPages() != want {
				t.Errorf("TotalPages() = %d, want %d", page.TotalPages(), want)
			}
			if page.PageIndex != tt.idx {
				t.Errorf("PageIndex = %d, want %d", page.PageIndex, tt.idx)
			}
		})
	}

	t.Run("the last partial page holds the remainder", func(t *testing.T) {
		page := mustList(t, ctx, s, task.ListParams{PageSize: ptr(10), PageIndex: ptr(1)})
		if len(page.Items) != 2 || page.CurrentPage() != 2 {
			t.Errorf("len(Items), CurrentPage = %d, %d; want 2, 2", len(page.Items), page.CurrentPage())
		}
	})
}

func TestAnEmptyStoreListsNothing(t *testing.T) {
	s, _, _ := newStore(t)
	ctx := orgContext(t, s, "Acme")
	page := mustList(t, ctx, s, task.ListParams{})
	if page.Items == nil || len(page.Items) != 0 || page.TotalRecords != 0 || page.TotalPages() != 0 || page.CurrentPage() != 1 {
		t.Errorf("empty list = %+v (pages %d, current %d); want no items, 0 records, 0 pages, page 1",
			page, page.TotalPages(), page.CurrentPage())
	}
}

func TestCreatesRacingCloseAreStoredOrRefusedNeverLost(t *testing.T) {
	path := dbPath(t)
	s := open(t, path)
	ctx := orgContext(t, s, "Acme")
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		stored  []int
		refused int
	)
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				got, err := s.CreateTask(ctx, simple(t, fmt.Sprintf("racing %d-%d", w, i)))
				mu.Lock()
				if err != nil {
					refused++
					mu.Unlock()
					return
				}
				stored = append(stored, got.ID)
				mu.Unlock()
			}
		}()
	}
	time.Sleep(50 * time.Millisecond)
	closeStore(t, s) // a send on the writer's closed queue would panic here
	wg.Wait()
	if refused != 8 {
		t.Errorf("%d creators were refused after Close, want all 8", refused)
	}
	s = open(t, path)
	defer s.Close()
	for _, id := range stored {
		if _, err := s.Task(ctx, id); err != nil {
			t.Errorf("acknowledged task %d after reopening: %v", id, err)
		}
	}
	if len(stored) == 0 {
		t.Errorf("no create succeeded before Close; the test proves nothing")
	}
}
