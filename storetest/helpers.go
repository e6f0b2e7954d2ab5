package storetest

// Helpers of the suite, exported for the tests a store has of its own.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"
	"testing"
	"time"

	"tasksapi/access"
	"tasksapi/feed"
	"tasksapi/task"
)

// Ptr points at a copy of v.
func Ptr[T any](v T) *T { return &v }

// Clock is a settable time source, safe for concurrent use.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// NewClock is a Clock at BaseTime.
func NewClock() *Clock { return &Clock{now: BaseTime} }

// Now is the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Set sets the clock to at.
func (c *Clock) Set(at time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = at
}

// Advance moves the clock on by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// BaseTime is 2026-03-01T11:00:00 UTC, given in another zone and with a
// fraction of a second, so that the store must convert and truncate it.
var BaseTime = time.Date(2026, 3, 1, 12, 0, 0, 600_000_000, time.FixedZone("CET", 3600))

// OrgContext creates the organisation name (if it is new) with a key in
// it, and returns a context carrying a principal of that key, as an
// authenticated request would.
func OrgContext(t *testing.T, s access.Store, name string) context.Context {
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

// DT parses a date-time, failing t if it is not one.
func DT(t *testing.T, s string) task.DateTime {
	t.Helper()
	d, err := task.ParseDateTime(s)
	if err != nil {
		t.Fatalf("ParseDateTime(%q): %v", s, err)
	}
	return d
}

// Date parses a date, failing t if it is not one.
func Date(t *testing.T, s string) task.Date {
	t.Helper()
	d, err := task.ParseDate(s)
	if err != nil {
		t.Fatalf("ParseDate(%q): %v", s, err)
	}
	return d
}

// MustCreate creates a task, failing t if it cannot.
func MustCreate(t *testing.T, ctx context.Context, s task.Service, in task.CreateInput) task.Task {
	t.Helper()
	got, err := s.CreateTask(ctx, in)
	if err != nil {
		t.Fatalf("CreateTask(%q): %v", in.Title, err)
	}
	return got
}

// MustList lists tasks, failing t if it cannot.
func MustList(t *testing.T, ctx context.Context, s task.Service, p task.ListParams) task.Page {
	t.Helper()
	page, err := s.ListTasks(ctx, p)
	if err != nil {
		t.Fatalf("ListTasks(%+v): %v", p, err)
	}
	return page
}

// MustClose closes s, failing t if it cannot.
func MustClose(t *testing.T, s io.Closer) {
	t.Helper()
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
}

// Simple is a valid input with the given title.
func Simple(t *testing.T, title string) task.CreateInput {
	t.Helper()
	return task.CreateInput{Title: title, StartDatetime: DT(t, "2026-03-01T09:00:00"), ContactID: Ptr(1)}
}

// WantCode fails t unless err is a *task.Error with the code want, and
// returns it.
func WantCode(t *testing.T, err error, want task.Code) *task.Error {
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

// DiffTask lists every field where got differs from want.
func DiffTask(got, want task.Task) []string {
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

// IDs are the ids of the tasks, in their order.
func IDs(items []task.Task) []int {
	out := make([]int, 0, len(items))
	for _, it := range items {
		out = append(out, it.ID)
	}
	return out
}

func mustUpdate(t *testing.T, ctx context.Context, s task.Service, id int, in task.UpdateInput) task.Task {
	t.Helper()
	got, err := s.UpdateTask(ctx, id, in, task.AnyVersion())
	if err != nil {
		t.Fatalf("UpdateTask(%d): %v", id, err)
	}
	return got
}

func mustGet(t *testing.T, ctx context.Context, s task.Service, id int) task.Task {
	t.Helper()
	got, err := s.Task(ctx, id)
	if err != nil {
		t.Fatalf("Task(%d): %v", id, err)
	}
	return got
}

// OrgID is the organisation of the principal ctx carries.
func OrgID(t *testing.T, ctx context.Context) int {
	t.Helper()
	return principal(t, ctx).OrganisationID
}

// keyID is the key of the principal ctx carries.
func keyID(t *testing.T, ctx context.Context) int {
	t.Helper()
	return principal(t, ctx).KeyID
}

func principal(t *testing.T, ctx context.Context) access.Principal {
	t.Helper()
	p, ok := access.FromContext(ctx)
	if !ok {
		t.Fatalf("the context carries no principal")
	}
	return p
}

func mustChanges(t *testing.T, ctx context.Context, s feed.Reader, after int64, limit int) feed.Page {
	t.Helper()
	page, err := s.Changes(ctx, feed.Query{After: after, Limit: limit})
	if err != nil {
		t.Fatalf("Changes(after %d, limit %d): %v", after, limit, err)
	}
	return page
}
