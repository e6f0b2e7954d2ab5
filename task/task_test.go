package task_test

import (
	"encoding/json"
	"errors"
	"math"
	"reflect"
	"slices"
	"strings"
	"testing"

	"tasksapi/task"
)

func ptr[T any](v T) *T { return &v }

// wantInvalid checks that err is a *task.Error with code CodeInvalid whose
// offending fields are exactly want (in any order, each listed once per
// message).
func wantInvalid(t *testing.T, err error, want ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want a validation error on %v", want)
	}
	var e *task.Error
	if !errors.As(err, &e) {
		t.Fatalf("got error %v (%T), want a *task.Error", err, err)
	}
	if e.Code != task.CodeInvalid {
		t.Errorf("error code = %q, want %q", e.Code, task.CodeInvalid)
	}
	got := make([]string, 0, len(e.Fields))
	for _, f := range e.Fields {
		got = append(got, f.Field)
		if f.Message == "" {
			t.Errorf("field %q has an empty message", f.Field)
		}
	}
	slices.Sort(got)
	w := slices.Clone(want)
	slices.Sort(w)
	if !slices.Equal(got, w) {
		t.Errorf("offending fields = %v, want %v (error: %v)", got, w, err)
	}
}

func mustDateTime(t *testing.T, s string) task.DateTime {
	t.Helper()
	d, err := task.ParseDateTime(s)
	if err != nil {
		t.Fatalf("ParseDateTime(%q): %v", s, err)
	}
	return d
}

func mustDate(t *testing.T, s string) task.Date {
	t.Helper()
	d, err := task.ParseDate(s)
	if err != nil {
		t.Fatalf("ParseDate(%q): %v", s, err)
	}
	return d
}

func TestParseDateTime(t *testing.T) {
	tests := []struct {
		name  string
		in    string
		valid bool
	}{
		{"a plain local date-time is accepted", "2026-03-01T09:30:15", true},
		{"midnight is accepted", "2026-03-01T00:00:00", true},
		{"the last second of a day is accepted", "2026-12-31T23:59:59", true},
		{"February 29th of a leap year is accepted", "2024-02-29T12:00:00", true},
		{"a UTC zone suffix is rejected", "2026-03-01T09:30:15Z", false},
		{"a numeric zone offset is rejected", "2026-03-01T09:30:15+02:00", false},
		{"a negative zone offset is rejected", "2026-03-01T09:30:15-05:00", false},
		{"fractional seconds are rejected", "2026-03-01T09:30:15.5", false},
		{"milliseconds are rejected", "2026-03-01T09:30:15.000", false},
		{"a one-digit month is rejected", "2026-3-01T09:30:15", false},
		{"a one-digit day is rejected", "2026-03-1T09:30:15", false},
		{"a one-digit hour is rejected", "2026-03-01T9:30:15", false},
		{"a one-digit minute is rejected", "2026-03-01T09:3:15", false},
		{"a one-digit second is rejected", "2026-03-01T09:30:5", false},
		{"a space instead of T is rejected", "2026-03-01 09:30:15", false},
		{"a lower-case t is rejected", "2026-03-01t09:30:15", false},
		{"missing seconds are rejected", "2026-03-01T09:30", false},
		{"a date alone is rejected", "2026-03-01", false},
		{"February 30th is rejected", "2026-02-30T10:00:00", false},
		{"February 29th of a common year is rejected", "2025-02-29T10:00:00", false},
		{"April 31st is rejected", "2026-04-31T10:00:00", false},
		{"month 13 is rejected", "2026-13-01T10:00:00", false},
		{"month 00 is rejected", "2026-00-01T10:00:00", false},
		{"day 00 is rejected", "2026-03-00T10:00:00", false},
		{"hour 24 is rejected", "2026-03-01T24:00:00", false},
		{"minute 60 is rejected", "2026-03-01T10:60:00", false},
		{"second 60 is rejected", "2026-03-01T10:00:60", false},
		{"an empty string is rejected", "", false},
		{"leading whitespace is rejected", " 2026-03-01T09:30:15", false},
		{"a trailing newline is rejected", "2026-03-01T09:30:15\n", false},
		{"a five-digit year is rejected", "12026-03-01T09:30:15", false},
		{"slashes instead of dashes are rejected", "2026/03/01T09:30:15", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := task.ParseDateTime(tt.in)
			if !tt.valid {
				if err == nil {
					t.Errorf("ParseDateTime(%q) = %v, want an error", tt.in, d)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseDateTime(%q): unexpected error %v", tt.in, err)
			}
			if got := d.String(); got != tt.in {
				t.Errorf("ParseDateTime(%q).String() = %q, want the input back", tt.in, got)
			}
			if d.IsZero() {
				t.Errorf("ParseDateTime(%q).IsZero() = true, want false", tt.in)
			}
		})
	}
}

func TestParseDate(t *testing.T) {
	tests := []struct {
		name  string
		in    string
		valid bool
	}{
		{"a plain date is accepted", "2026-03-01", true},
		{"the last day of a year is accepted", "2026-12-31", true},
		{"February 29th of a leap year is accepted", "2024-02-29", true},
		{"February 29th of a common year is rejected", "2025-02-29", false},
		{"February 30th is rejected", "2026-02-30", false},
		{"June 31st is rejected", "2026-06-31", false},
		{"month 13 is rejected", "2026-13-01", false},
		{"day 00 is rejected", "2026-03-00", false},
		{"a one-digit month is rejected", "2026-3-01", false},
		{"a one-digit day is rejected", "2026-03-1", false},
		{"a two-digit year is rejected", "26-03-01", false},
		{"a date with a time is rejected", "2026-03-01T00:00:00", false},
		{"a date with a zone is rejected", "2026-03-01Z", false},
		{"a date with an offset is rejected", "2026-03-01+02:00", false},
		{"a trailing space is rejected", "2026-03-01 ", false},
		{"slashes are rejected", "2026/03/01", false},
		{"an empty string is rejected", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := task.ParseDate(tt.in)
			if !tt.valid {
				if err == nil {
					t.Errorf("ParseDate(%q) = %v, want an error", tt.in, d)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseDate(%q): unexpected error %v", tt.in, err)
			}
			if got := d.String(); got != tt.in {
				t.Errorf("ParseDate(%q).String() = %q, want the input back", tt.in, got)
			}
		})
	}
}

func TestDateTimeOrderingAndDate(t *testing.T) {
	early := mustDateTime(t, "2026-03-01T23:59:59")
	late := mustDateTime(t, "2026-03-02T00:00:00")
	if !early.Before(late) {
		t.Errorf("%v.Before(%v) = false, want true", early, late)
	}
	if late.Before(early) || early.Before(early) {
		t.Errorf("Before is not a strict order on %v and %v", early, late)
	}
	if got := early.Date().String(); got != "2026-03-01" {
		t.Errorf("%v.Date() = %s, want 2026-03-01", early, got)
	}
	if !mustDate(t, "2026-03-02").After(mustDate(t, "2026-03-01")) {
		t.Errorf("2026-03-02 is not After 2026-03-01")
	}
	if mustDate(t, "2026-03-01").After(mustDate(t, "2026-03-01")) {
		t.Errorf("a date is After itself")
	}
	var zero task.DateTime
	if !zero.IsZero() {
		t.Errorf("the zero DateTime is not IsZero")
	}
}

func TestDateTimeJSON(t *testing.T) {
	got, err := json.Marshal(struct {
		At  task.DateTime `json:"at"`
		Day task.Date     `json:"day"`
	}{mustDateTime(t, "2026-03-01T09:30:15"), mustDate(t, "2026-03-01")})
	if want := `{"at":"2026-03-01T09:30:15","day":"2026-03-01"}`; err != nil || string(got) != want {
		t.Errorf("json.Marshal = %s, %v; want %s", got, err, want)
	}
}

func TestUnmarshalGQL(t *testing.T) {
	nonStrings := []struct {
		name string
		v    any
	}{
		{"an integer", 20260301},
		{"a float", 1.5},
		{"a boolean", true},
		{"nil", nil},
		{"a map", map[string]any{"date": "2026-03-01"}},
		{"a byte slice", []byte("2026-03-01")},
	}
	for _, tt := range nonStrings {
		t.Run("DateTime rejects "+tt.name, func(t *testing.T) {
			var d task.DateTime
			err := d.UnmarshalGQL(tt.v)
			if err == nil {
				t.Fatalf("UnmarshalGQL(%#v) = nil, want an error", tt.v)
			}
			if code := task.ErrorCode(err); code != task.CodeInvalid {
				t.Errorf("error code = %q, want %q", code, task.CodeInvalid)
			}
			if !d.IsZero() {
				t.Errorf("the DateTime was set to %v by a failed unmarshal", d)
			}
		})
		t.Run("Date rejects "+tt.name, func(t *testing.T) {
			var d task.Date
			err := d.UnmarshalGQL(tt.v)
			if err == nil {
				t.Fatalf("UnmarshalGQL(%#v) = nil, want an error", tt.v)
			}
			if code := task.ErrorCode(err); code != task.CodeInvalid {
				t.Errorf("error code = %q, want %q", code, task.CodeInvalid)
			}
		})
	}

	t.Run("DateTime rejects a string in the wrong form", func(t *testing.T) {
		var d task.DateTime
		err := d.UnmarshalGQL("2026-03-01T09:30:15Z")
		if code := task.ErrorCode(err); err == nil || code != task.CodeInvalid {
			t.Errorf("UnmarshalGQL of a zoned date-time = %v (code %q), want a %q error", err, code, task.CodeInvalid)
		}
	})
	t.Run("Date rejects a day that does not exist", func(t *testing.T) {
		var d task.Date
		err := d.UnmarshalGQL("2026-02-30")
		if code := task.ErrorCode(err); err == nil || code != task.CodeInvalid {
			t.Errorf("UnmarshalGQL(2026-02-30) = %v (code %q), want a %q error", err, code, task.CodeInvalid)
		}
	})
	t.Run("DateTime accepts a well-formed string", func(t *testing.T) {
		var d task.DateTime
		if err := d.UnmarshalGQL("2026-03-01T09:30:15"); err != nil {
			t.Fatalf("UnmarshalGQL: %v", err)
		}
		if d.String() != "2026-03-01T09:30:15" {
			t.Errorf("unmarshalled DateTime = %v, want 2026-03-01T09:30:15", d)
		}
		var sb strings.Builder
		d.MarshalGQL(&sb)
		if sb.String() != `"2026-03-01T09:30:15"` {
			t.Errorf("MarshalGQL wrote %s, want \"2026-03-01T09:30:15\"", sb.String())
		}
	})
	t.Run("Date accepts a well-formed string", func(t *testing.T) {
		var d task.Date
		if err := d.UnmarshalGQL("2024-02-29"); err != nil {
			t.Fatalf("UnmarshalGQL: %v", err)
		}
		if d.String() != "2024-02-29" {
			t.Errorf("unmarshalled Date = %v, want 2024-02-29", d)
		}
		var sb strings.Builder
		d.MarshalGQL(&sb)
		if sb.String() != `"2024-02-29"` {
			t.Errorf("MarshalGQL wrote %s, want \"2024-02-29\"", sb.String())
		}
	})
}

// validInput is a minimal input that passes every rule.
func validInput(t *testing.T) task.CreateInput {
	t.Helper()
	return task.CreateInput{
		Title:         "Call the customer",
		StartDatetime: mustDateTime(t, "2026-03-01T09:00:00"),
		DealID:        ptr(7),
	}
}

func seq(from, n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = from + i
	}
	return out
}

func TestNewTask(t *testing.T) {
	tests := []struct {
		name       string
		edit       func(t *testing.T, in *task.CreateInput)
		wantFields []string                          // nil: the input is valid
		check      func(t *testing.T, got task.Task) // for valid inputs
	}{
		{
			name: "a minimal input is accepted",
			edit: func(t *testing.T, in *task.CreateInput) {},
			check: func(t *testing.T, got task.Task) {
				if got.Title != "Call the customer" {
					t.Errorf("Title = %q", got.Title)
				}
				if got.DealID == nil || *got.DealID != 7 {
					t.Errorf("DealID = %v, want 7", got.DealID)
				}
				if got.ContactID != nil || got.AssignedUserID != nil || got.Description != nil || got.EndDatetime != nil {
					t.Errorf("optional fields not sent came back set: %+v", got)
				}
				if got.ID != 0 || !got.CreatedAt.IsZero() || !got.UpdatedAt.IsZero() {
					t.Errorf("server-set fields are not left for the store: %+v", got)
				}
				if got.ActivityType() != "Task" {
					t.Errorf("ActivityType() = %q, want Task", got.ActivityType())
				}
			},
		},
		{
			name:       "an empty title is required",
			edit:       func(t *testing.T, in *task.CreateInput) { in.Title = "" },
			wantFields: []string{"title"},
		},
		{
			name:       "a title of only spaces is required",
			edit:       func(t *testing.T, in *task.CreateInput) { in.Title = "    " },
			wantFields: []string{"title"},
		},
		{
			name:       "a title of only tabs and newlines is required",
			edit:       func(t *testing.T, in *task.CreateInput) { in.Title = "\t\n \r\n" },
			wantFields: []string{"title"},
		},
		{
			name: "the title is trimmed",
			edit: func(t *testing.T, in *task.CreateInput) { in.Title = "  \tBuy milk \n" },
			check: func(t *testing.T, got task.Task) {
				if got.Title != "Buy milk" {
					t.Errorf("Title = %q, want %q", got.Title, "Buy milk")
				}
			},
		},
		{
			name: "a title of 150 two-byte characters is accepted",
			edit: func(t *testing.T, in *task.CreateInput) { in.Title = strings.Repeat("é", 150) },
			check: func(t *testing.T, got task.Task) {
				if got.Title != strings.Repeat("é", 150) {
					t.Errorf("Title changed: %q", got.Title)
				}
			},
		},
		{
			name: "a title of 150 three-byte characters is accepted",
			edit: func(t *testing.T, in *task.CreateInput) { in.Title = strings.Repeat("日", 150) },
		},
		{
			name: "a title of 150 characters with surrounding spaces is accepted after trimming",
			edit: func(t *testing.T, in *task.CreateInput) { in.Title = "  " + strings.Repeat("a", 150) + "  " },
			check: func(t *testing.T, got task.Task) {
				if got.Title != strings.Repeat("a", 150) {
					t.Errorf("Title = %q, want 150 a's", got.Title)
				}
			},
		},
		{
			name:       "a title of 151 characters is rejected",
			edit:       func(t *testing.T, in *task.CreateInput) { in.Title = strings.Repeat("a", 151) },
			wantFields: []string{"title"},
		},
		{
			name:       "a title of 151 multibyte characters is rejected",
			edit:       func(t *testing.T, in *task.CreateInput) { in.Title = strings.Repeat("日", 151) },
			wantFields: []string{"title"},
		},
		{
			name:       "a missing start is required",
			edit:       func(t *testing.T, in *task.CreateInput) { in.StartDatetime = task.DateTime{} },
			wantFields: []string{"startDatetime"},
		},
		{
			name: "an end one second before the start is rejected",
			edit: func(t *testing.T, in *task.CreateInput) {
				in.EndDatetime = ptr(mustDateTime(t, "2026-03-01T08:59:59"))
			},
			wantFields: []string{"endDatetime"},
		},
		{
			name: "an end equal to the start is accepted",
			edit: func(t *testing.T, in *task.CreateInput) {
				in.EndDatetime = ptr(mustDateTime(t, "2026-03-01T09:00:00"))
			},
			check: func(t *testing.T, got task.Task) {
				if got.EndDatetime == nil || got.EndDatetime.String() != "2026-03-01T09:00:00" {
					t.Errorf("EndDatetime = %v, want 2026-03-01T09:00:00", got.EndDatetime)
				}
			},
		},
		{
			name: "the due date is the start's date when there is no end",
			edit: func(t *testing.T, in *task.CreateInput) {
				in.StartDatetime = mustDateTime(t, "2026-03-01T23:59:59")
			},
			check: func(t *testing.T, got task.Task) {
				if got.DueDate.String() != "2026-03-01" {
					t.Errorf("DueDate = %v, want 2026-03-01", got.DueDate)
				}
				if got.StartDatetime.String() != "2026-03-01T23:59:59" {
					t.Errorf("StartDatetime = %v, want 2026-03-01T23:59:59", got.StartDatetime)
				}
			},
		},
		{
			name: "the due date is the end's date when the end is on a later day",
			edit: func(t *testing.T, in *task.CreateInput) {
				in.EndDatetime = ptr(mustDateTime(t, "2026-03-05T00:00:00"))
			},
			check: func(t *testing.T, got task.Task) {
				if got.DueDate.String() != "2026-03-05" {
					t.Errorf("DueDate = %v, want 2026-03-05", got.DueDate)
				}
			},
		},
		{
			name: "the due date is the end's date when the end is in a later year",
			edit: func(t *testing.T, in *task.CreateInput) {
				in.StartDatetime = mustDateTime(t, "2025-12-31T22:00:00")
				in.EndDatetime = ptr(mustDateTime(t, "2026-01-01T01:00:00"))
			},
			check: func(t *testing.T, got task.Task) {
				if got.DueDate.String() != "2026-01-01" {
					t.Errorf("DueDate = %v, want 2026-01-01", got.DueDate)
				}
			},
		},
		{
			name: "a description of 10,000 characters is accepted",
			edit: func(t *testing.T, in *task.CreateInput) { in.Description = ptr(strings.Repeat("x", 10_000)) },
			check: func(t *testing.T, got task.Task) {
				if got.Description == nil || len(*got.Description) != 10_000 {
					t.Errorf("Description was not kept whole")
				}
			},
		},
		{
			name: "a description of 10,000 multibyte characters is accepted",
			edit: func(t *testing.T, in *task.CreateInput) { in.Description = ptr(strings.Repeat("日", 10_000)) },
		},
		{
			name:       "a description of 10,001 characters is rejected",
			edit:       func(t *testing.T, in *task.CreateInput) { in.Description = ptr(strings.Repeat("x", 10_001)) },
			wantFields: []string{"description"},
		},
		{
			name:       "a description of 10,001 multibyte characters is rejected",
			edit:       func(t *testing.T, in *task.CreateInput) { in.Description = ptr(strings.Repeat("é", 10_001)) },
			wantFields: []string{"description"},
		},
		{
			name: "an empty description is kept as empty, not dropped",
			edit: func(t *testing.T, in *task.CreateInput) { in.Description = ptr("") },
			check: func(t *testing.T, got task.Task) {
				if got.Description == nil || *got.Description != "" {
					t.Errorf("Description = %v, want a pointer to the empty string", got.Description)
				}
			},
		},
		{
			name:       "neither dealId nor contactId is an error on both fields",
			edit:       func(t *testing.T, in *task.CreateInput) { in.DealID, in.ContactID = nil, nil },
			wantFields: []string{"dealId", "contactId"},
		},
		{
			name: "a contactId alone is enough",
			edit: func(t *testing.T, in *task.CreateInput) { in.DealID, in.ContactID = nil, ptr(3) },
			check: func(t *testing.T, got task.Task) {
				if got.DealID != nil || got.ContactID == nil || *got.ContactID != 3 {
					t.Errorf("DealID = %v, ContactID = %v; want nil and 3", got.DealID, got.ContactID)
				}
			},
		},
		{
			name: "a dealId alone is enough",
			edit: func(t *testing.T, in *task.CreateInput) { in.DealID, in.ContactID = ptr(4), nil },
		},
		{
			name: "both dealId and contactId are accepted",
			edit: func(t *testing.T, in *task.CreateInput) { in.DealID, in.ContactID = ptr(4), ptr(5) },
		},
		{
			name:       "a dealId of zero is rejected",
			edit:       func(t *testing.T, in *task.CreateInput) { in.DealID = ptr(0) },
			wantFields: []string{"dealId"},
		},
		{
			name:       "a negative dealId is rejected",
			edit:       func(t *testing.T, in *task.CreateInput) { in.DealID = ptr(-1) },
			wantFields: []string{"dealId"},
		},
		{
			name:       "a contactId of zero is rejected",
			edit:       func(t *testing.T, in *task.CreateInput) { in.ContactID = ptr(0) },
			wantFields: []string{"contactId"},
		},
		{
			name:       "a negative contactId is rejected even with a valid dealId",
			edit:       func(t *testing.T, in *task.CreateInput) { in.ContactID = ptr(-5) },
			wantFields: []string{"contactId"},
		},
		{
			name:       "an assignedUserId of zero is rejected",
			edit:       func(t *testing.T, in *task.CreateInput) { in.AssignedUserID = ptr(0) },
			wantFields: []string{"assignedUserId"},
		},
		{
			name:       "a negative assignedUserId is rejected",
			edit:       func(t *testing.T, in *task.CreateInput) { in.AssignedUserID = ptr(-42) },
			wantFields: []string{"assignedUserId"},
		},
		{
			name: "a positive assignedUserId is accepted",
			edit: func(t *testing.T, in *task.CreateInput) { in.AssignedUserID = ptr(1) },
			check: func(t *testing.T, got task.Task) {
				if got.AssignedUserID == nil || *got.AssignedUserID != 1 {
					t.Errorf("AssignedUserID = %v, want 1", got.AssignedUserID)
				}
			},
		},
		{
			name: "priority and status default to MEDIUM and OPEN",
			edit: func(t *testing.T, in *task.CreateInput) { in.Priority, in.Status = nil, nil },
			check: func(t *testing.T, got task.Task) {
				if got.Priority != 2 {
					t.Errorf("Priority = %d, want 2 (MEDIUM)", got.Priority)
				}
				if got.Status != 0 {
					t.Errorf("Status = %d, want 0 (OPEN)", got.Status)
				}
			},
		},
		{
			name: "priority NONE and status NO_SHOW are kept, not defaulted",
			edit: func(t *testing.T, in *task.CreateInput) {
				in.Priority, in.Status = ptr(task.Priority(0)), ptr(task.Status(4))
			},
			check: func(t *testing.T, got task.Task) {
				if got.Priority != 0 || got.Status != 4 {
					t.Errorf("Priority, Status = %d, %d; want 0, 4", got.Priority, got.Status)
				}
			},
		},
		{
			name:       "a priority of 5 is rejected",
			edit:       func(t *testing.T, in *task.CreateInput) { in.Priority = ptr(task.Priority(5)) },
			wantFields: []string{"priority"},
		},
		{
			name:       "a priority of -1 is rejected",
			edit:       func(t *testing.T, in *task.CreateInput) { in.Priority = ptr(task.Priority(-1)) },
			wantFields: []string{"priority"},
		},
		{
			name:       "a status of 5 is rejected",
			edit:       func(t *testing.T, in *task.CreateInput) { in.Status = ptr(task.Status(5)) },
			wantFields: []string{"status"},
		},
		{
			name:       "a status of -1 is rejected",
			edit:       func(t *testing.T, in *task.CreateInput) { in.Status = ptr(task.Status(-1)) },
			wantFields: []string{"status"},
		},
		{
			name: "nil tags give an empty, non-nil list",
			edit: func(t *testing.T, in *task.CreateInput) { in.TagIDs = nil },
			check: func(t *testing.T, got task.Task) {
				if got.TagIDs == nil || len(got.TagIDs) != 0 {
					t.Errorf("TagIDs = %#v, want []int{}", got.TagIDs)
				}
			},
		},
		{
			name: "duplicate tags are dropped keeping the first occurrence order",
			edit: func(t *testing.T, in *task.CreateInput) { in.TagIDs = []int{5, 3, 5, 1, 3, 9, 1} },
			check: func(t *testing.T, got task.Task) {
				if want := []int{5, 3, 1, 9}; !slices.Equal(got.TagIDs, want) {
					t.Errorf("TagIDs = %v, want %v", got.TagIDs, want)
				}
			},
		},
		{
			name: "50 distinct tags are accepted",
			edit: func(t *testing.T, in *task.CreateInput) { in.TagIDs = seq(1, 50) },
			check: func(t *testing.T, got task.Task) {
				if !slices.Equal(got.TagIDs, seq(1, 50)) {
					t.Errorf("TagIDs = %v, want 1..50", got.TagIDs)
				}
			},
		},
		{
			name: "50 distinct tags with duplicates beyond 50 are accepted after dropping duplicates",
			edit: func(t *testing.T, in *task.CreateInput) {
				in.TagIDs = append(seq(1, 50), seq(1, 50)...)
				in.TagIDs = append(in.TagIDs, 50, 1, 25)
			},
			check: func(t *testing.T, got task.Task) {
				if !slices.Equal(got.TagIDs, seq(1, 50)) {
					t.Errorf("TagIDs = %v, want 1..50", got.TagIDs)
				}
			},
		},
		{
			name:       "51 distinct tags are rejected",
			edit:       func(t *testing.T, in *task.CreateInput) { in.TagIDs = seq(1, 51) },
			wantFields: []string{"tagIds"},
		},
		{
			name:       "a tag of zero is rejected",
			edit:       func(t *testing.T, in *task.CreateInput) { in.TagIDs = []int{1, 0, 2} },
			wantFields: []string{"tagIds"},
		},
		{
			name:       "a negative tag is rejected",
			edit:       func(t *testing.T, in *task.CreateInput) { in.TagIDs = []int{-3} },
			wantFields: []string{"tagIds"},
		},
		{
			name: "every broken rule is reported at once",
			edit: func(t *testing.T, in *task.CreateInput) {
				*in = task.CreateInput{
					Title:          " ",
					Description:    ptr(strings.Repeat("d", 10_001)),
					Priority:       ptr(task.Priority(9)),
					Status:         ptr(task.Status(9)),
					AssignedUserID: ptr(0),
					TagIDs:         []int{-1},
				}
			},
			wantFields: []string{"title", "startDatetime", "description", "dealId", "contactId",
				"priority", "status", "assignedUserId", "tagIds"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := validInput(t)
			tt.edit(t, &in)
			got, err := task.NewTask(in)
			if tt.wantFields != nil {
				wantInvalid(t, err, tt.wantFields...)
				return
			}
			if err != nil {
				t.Fatalf("NewTask: unexpected error %v", err)
			}
			if got.TagIDs == nil {
				t.Errorf("TagIDs is nil, want a non-nil slice")
			}
			if tt.check != nil {
				tt.check(t, got)
			}
		})
	}
}

func TestNewTaskDoesNotAliasTheCallersTags(t *testing.T) {
	in := validInput(t)
	in.TagIDs = []int{1, 2, 3}
	got, err := task.NewTask(in)
	if err != nil {
		t.Fatalf("NewTask: %v", err)
	}
	in.TagIDs[0] = 99
	if got.TagIDs[0] != 1 {
		t.Errorf("changing the input's tags after NewTask changed the task's tags to %v", got.TagIDs)
	}
}

func TestFieldErrorText(t *testing.T) {
	rest := map[string]string{
		"dealId":        "deal_id",
		"contactId":     "cstid",
		"startDatetime": "start_datetime",
		"endDatetime":   "end_datetime",
	}
	restName := func(s string) string {
		if n, ok := rest[s]; ok {
			return n
		}
		return s
	}
	tests := []struct {
		name string
		fe   task.FieldError
		want string
	}{
		{
			name: "a placeholder is renamed and the field name comes first",
			fe:   task.FieldError{Field: "dealId", Message: "or {contactId} is required"},
			want: "deal_id or cstid is required",
		},
		{
			name: "a message without placeholders is prefixed by the renamed field",
			fe:   task.FieldError{Field: "startDatetime", Message: "is required"},
			want: "start_datetime is required",
		},
		{
			name: "several placeholders are all renamed",
			fe:   task.FieldError{Field: "endDatetime", Message: "must be between {startDatetime} and {dealId}"},
			want: "end_datetime must be between start_datetime and deal_id",
		},
		{
			name: "a field without a name gives the message alone",
			fe:   task.FieldError{Field: "", Message: "must be a date in the form YYYY-MM-DD"},
			want: "must be a date in the form YYYY-MM-DD",
		},
		{
			name: "a placeholder with no rename keeps its domain name without braces",
			fe:   task.FieldError{Field: "title", Message: "must differ from {description}"},
			want: "title must differ from description",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.fe.Text(restName); got != tt.want {
				t.Errorf("Text() = %q, want %q", got, tt.want)
			}
		})
	}

	t.Run("Error renders the first field with domain names", func(t *testing.T) {
		_, err := task.NewTask(task.CreateInput{Title: "x", StartDatetime: mustDateTime(t, "2026-03-01T09:00:00")})
		var e *task.Error
		if !errors.As(err, &e) {
			t.Fatalf("got %v, want a *task.Error", err)
		}
		if len(e.Fields) == 0 {
			t.Fatalf("error has no fields")
		}
		if want := e.Fields[0].Text(func(s string) string { return s }); err.Error() != want {
			t.Errorf("Error() = %q, want %q", err.Error(), want)
		}
		if strings.ContainsAny(err.Error(), "{}") {
			t.Errorf("Error() = %q still holds a placeholder", err.Error())
		}
	})
}

func TestErrorConstructors(t *testing.T) {
	nf := task.NotFound()
	if nf.Code != task.CodeNotFound || nf.Error() != "Task not found" {
		t.Errorf("NotFound() = {%q, %q}, want {%q, \"Task not found\"}", nf.Code, nf.Error(), task.CodeNotFound)
	}
	if code := task.ErrorCode(nf); code != task.CodeNotFound {
		t.Errorf("ErrorCode(NotFound()) = %q", code)
	}
	if code := task.ErrorCode(errors.New("disk on fire")); code != task.CodeInternal {
		t.Errorf("ErrorCode of an untyped error = %q, want %q", code, task.CodeInternal)
	}
	wrapped := errors.Join(errors.New("context"), task.Invalid("title", "is required"))
	wantInvalid(t, wrapped, "title")
}

func TestListParamsQuery(t *testing.T) {
	type check func(t *testing.T, q task.ListQuery)
	pageSize := func(want int) check {
		return func(t *testing.T, q task.ListQuery) {
			t.Helper()
			if q.PageSize != want {
				t.Errorf("PageSize = %d, want %d", q.PageSize, want)
			}
		}
	}
	sort := func(by task.SortField, order task.SortOrder) check {
		return func(t *testing.T, q task.ListQuery) {
			t.Helper()
			if q.SortBy != by || q.SortOrder != order {
				t.Errorf("sort = (%d, %d), want (%d, %d)", q.SortBy, q.SortOrder, by, order)
			}
		}
	}
	tests := []struct {
		name       string
		p          task.ListParams
		wantFields []string
		check      check
	}{
		{
			name: "no parameters give ten tasks of the first page, newest first",
			p:    task.ListParams{},
			check: func(t *testing.T, q task.ListQuery) {
				if q.PageSize != 10 || q.PageIndex != 0 || q.SortBy != task.SortByID || q.SortOrder != task.Desc {
					t.Errorf("defaults = %+v, want size 10, index 0, by id desc", q)
				}
				if q.Filter != (task.Filter{}) {
					t.Errorf("Filter = %+v, want empty", q.Filter)
				}
				if q.Offset() != 0 {
					t.Errorf("Offset() = %d, want 0", q.Offset())
				}
			},
		},
		{name: "a page size of 0 is rejected", p: task.ListParams{PageSize: ptr(0)}, wantFields: []string{"pageSize"}},
		{name: "a page size of -1 is rejected", p: task.ListParams{PageSize: ptr(-1)}, wantFields: []string{"pageSize"}},
		{name: "a page size of 1 is served", p: task.ListParams{PageSize: ptr(1)}, check: pageSize(1)},
		{name: "a page size of 100 is served", p: task.ListParams{PageSize: ptr(100)}, check: pageSize(100)},
		{name: "a page size of 101 is served as 100", p: task.ListParams{PageSize: ptr(101)}, check: pageSize(100)},
		{name: "a page size of 1000 is served as 100", p: task.ListParams{PageSize: ptr(1000)}, check: pageSize(100)},
		{name: "a page size of MaxInt is served as 100", p: task.ListParams{PageSize: ptr(math.MaxInt)}, check: pageSize(100)},
		{name: "a page index of -1 is rejected", p: task.ListParams{PageIndex: ptr(-1)}, wantFields: []string{"pageIndex"}},
		{
			name: "a page index is kept and the offset follows",
			p:    task.ListParams{PageIndex: ptr(3), PageSize: ptr(20)},
			check: func(t *testing.T, q task.ListQuery) {
				if q.PageIndex != 3 || q.Offset() != 60 {
					t.Errorf("PageIndex, Offset() = %d, %d; want 3, 60", q.PageIndex, q.Offset())
				}
			},
		},
		{
			name: "a huge page index saturates the offset instead of overflowing",
			p:    task.ListParams{PageIndex: ptr(math.MaxInt / 2), PageSize: ptr(100)},
			check: func(t *testing.T, q task.ListQuery) {
				if q.Offset() < 0 {
					t.Errorf("Offset() = %d overflowed", q.Offset())
				}
			},
		},
		{
			name:  "sortBy without sortOrder sorts ascending",
			p:     task.ListParams{SortBy: ptr(task.SortByTitle)},
			check: sort(task.SortByTitle, task.Asc),
		},
		{
			name:  "sortBy id without sortOrder sorts ascending",
			p:     task.ListParams{SortBy: ptr(task.SortByID)},
			check: sort(task.SortByID, task.Asc),
		},
		{
			name:  "sortOrder alone applies to the id sort",
			p:     task.ListParams{SortOrder: ptr(task.Asc)},
			check: sort(task.SortByID, task.Asc),
		},
		{
			name:  "sortBy and sortOrder together are both kept",
			p:     task.ListParams{SortBy: ptr(task.SortByDueDate), SortOrder: ptr(task.Desc)},
			check: sort(task.SortByDueDate, task.Desc),
		},
		{name: "an unknown sort field is rejected", p: task.ListParams{SortBy: ptr(task.SortField(99))}, wantFields: []string{"sortBy"}},
		{name: "an unknown sort order is rejected", p: task.ListParams{SortOrder: ptr(task.SortOrder(7))}, wantFields: []string{"sortOrder"}},
		{name: "a status filter of 5 is rejected", p: task.ListParams{Filter: task.Filter{Status: ptr(task.Status(5))}}, wantFields: []string{"status"}},
		{name: "a status filter of -1 is rejected", p: task.ListParams{Filter: task.Filter{Status: ptr(task.Status(-1))}}, wantFields: []string{"status"}},
		{name: "a priority filter of 5 is rejected", p: task.ListParams{Filter: task.Filter{Priority: ptr(task.Priority(5))}}, wantFields: []string{"priority"}},
		{name: "a priority filter of -1 is rejected", p: task.ListParams{Filter: task.Filter{Priority: ptr(task.Priority(-1))}}, wantFields: []string{"priority"}},
		{
			name: "status and priority filters in range are kept",
			p:    task.ListParams{Filter: task.Filter{Status: ptr(task.Status(4)), Priority: ptr(task.Priority(0))}},
			check: func(t *testing.T, q task.ListQuery) {
				if q.Filter.Status == nil || *q.Filter.Status != 4 || q.Filter.Priority == nil || *q.Filter.Priority != 0 {
					t.Errorf("Filter = %+v, want status 4 and priority 0", q.Filter)
				}
			},
		},
		{name: "an assignedUserId filter of 0 is rejected", p: task.ListParams{Filter: task.Filter{AssignedUserID: ptr(0)}}, wantFields: []string{"assignedUserId"}},
		{name: "a negative assignedUserId filter is rejected", p: task.ListParams{Filter: task.Filter{AssignedUserID: ptr(-2)}}, wantFields: []string{"assignedUserId"}},
		{
			name:       "dueDateFrom after dueDateTo is rejected",
			p:          task.ListParams{Filter: task.Filter{DueDateFrom: ptr(mustDate(t, "2026-03-02")), DueDateTo: ptr(mustDate(t, "2026-03-01"))}},
			wantFields: []string{"dueDateTo"},
		},
		{
			name: "dueDateFrom equal to dueDateTo is accepted",
			p:    task.ListParams{Filter: task.Filter{DueDateFrom: ptr(mustDate(t, "2026-03-01")), DueDateTo: ptr(mustDate(t, "2026-03-01"))}},
		},
		{
			name: "dueDateFrom alone is accepted",
			p:    task.ListParams{Filter: task.Filter{DueDateFrom: ptr(mustDate(t, "2026-03-01"))}},
		},
		{
			name: "an empty search becomes no filter",
			p:    task.ListParams{Filter: task.Filter{Search: ptr("")}},
			check: func(t *testing.T, q task.ListQuery) {
				if q.Filter.Search != nil {
					t.Errorf("Filter.Search = %q, want nil", *q.Filter.Search)
				}
			},
		},
		{
			name: "a search is kept as sent",
			p:    task.ListParams{Filter: task.Filter{Search: ptr("50%_Off")}},
			check: func(t *testing.T, q task.ListQuery) {
				if q.Filter.Search == nil || *q.Filter.Search != "50%_Off" {
					t.Errorf("Filter.Search = %v, want 50%%_Off", q.Filter.Search)
				}
			},
		},
		{
			name: "every bad parameter is reported at once",
			p: task.ListParams{
				PageSize:  ptr(0),
				PageIndex: ptr(-1),
				Filter: task.Filter{
					Status:         ptr(task.Status(8)),
					Priority:       ptr(task.Priority(8)),
					AssignedUserID: ptr(0),
					DueDateFrom:    ptr(mustDate(t, "2026-03-02")),
					DueDateTo:      ptr(mustDate(t, "2026-03-01")),
				},
			},
			wantFields: []string{"pageSize", "pageIndex", "status", "priority", "assignedUserId", "dueDateTo"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q, err := tt.p.Query()
			if tt.wantFields != nil {
				wantInvalid(t, err, tt.wantFields...)
				return
			}
			if err != nil {
				t.Fatalf("Query: unexpected error %v", err)
			}
			if tt.check != nil {
				tt.check(t, q)
			}
		})
	}
}

func TestPage(t *testing.T) {
	tests := []struct {
		name                string
		records, size, idx  int
		wantPages, wantPage int
	}{
		{"no records make no pages", 0, 10, 0, 0, 1},
		{"one record makes one page", 1, 10, 0, 1, 1},
		{"ten records of ten make one page", 10, 10, 0, 1, 1},
		{"eleven records of ten make two pages", 11, 10, 1, 2, 2},
		{"twelve records of ten make two pages", 12, 10, 0, 2, 1},
		{"a hundred records of a hundred make one page", 100, 100, 0, 1, 1},
		{"101 records of a hundred make two pages", 101, 100, 0, 2, 1},
		{"seven records of one make seven pages", 7, 1, 6, 7, 7},
		{"a page past the end still reports its number", 5, 10, 4, 1, 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := task.Page{TotalRecords: tt.records, PageSize: tt.size, PageIndex: tt.idx}
			if got := p.TotalPages(); got != tt.wantPages {
				t.Errorf("TotalPages() = %d, want %d", got, tt.wantPages)
			}
			if got := p.CurrentPage(); got != tt.wantPage {
				t.Errorf("CurrentPage() = %d, want %d", got, tt.wantPage)
			}
		})
	}
}

func TestParseID(t *testing.T) {
	tests := []struct {
		name  string
		in    string
		want  int
		valid bool
	}{
		{"1 is accepted", "1", 1, true},
		{"a large id is accepted", "9007199254740993", 9007199254740993, true},
		{"0 is rejected", "0", 0, false},
		{"-1 is rejected", "-1", 0, false},
		{"letters are rejected", "abc", 0, false},
		{"an empty id is rejected", "", 0, false},
		{"a decimal is rejected", "1.5", 0, false},
		{"a number with spaces is rejected", " 1 ", 0, false},
		{"a number too large for an int is rejected", "99999999999999999999999", 0, false},
		{"a plus sign is rejected", "+1", 0, false},
		{"a leading zero is rejected", "01", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := task.ParseID("id", tt.in)
			if !tt.valid {
				wantInvalid(t, err, "id")
				return
			}
			if err != nil {
				t.Fatalf("ParseID(%q): %v", tt.in, err)
			}
			if got != tt.want {
				t.Errorf("ParseID(%q) = %d, want %d", tt.in, got, tt.want)
			}
		})
	}
	t.Run("the error names the field it was given", func(t *testing.T) {
		_, err := task.ParseID("activity_id", "x")
		wantInvalid(t, err, "activity_id")
	})
}

func TestErrorMessages(t *testing.T) {
	upper := strings.ToUpper
	tests := []struct {
		name      string
		err       *task.Error
		wantFirst string
		want      map[string][]string
	}{
		{"the first message leads, each message under its field's name",
			&task.Error{Code: task.CodeInvalid, Fields: []task.FieldError{
				{Field: "title", Message: "is required"}, {Field: "dealId", Message: "or {contactId} is required"}}},
			"TITLE is required",
			map[string][]string{"TITLE": {"TITLE is required"}, "DEALID": {"DEALID or CONTACTID is required"}}},
		{"messages of one field keep their order",
			&task.Error{Code: task.CodeInvalid, Fields: []task.FieldError{
				{Field: "title", Message: "is required"}, {Field: "title", Message: "is too long"}}},
			"TITLE is required",
			map[string][]string{"TITLE": {"TITLE is required", "TITLE is too long"}}},
		{"an error that names no field is filed under the unnamed field",
			task.Invalid("", "must be a date"),
			"DUEDATE must be a date",
			map[string][]string{"DUEDATE": {"DUEDATE must be a date"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			first, byField := tt.err.Messages(upper, "dueDate")
			if first != tt.wantFirst {
				t.Errorf("first %q, want %q", first, tt.wantFirst)
			}
			if !reflect.DeepEqual(byField, tt.want) {
				t.Errorf("by field %v, want %v", byField, tt.want)
			}
		})
	}
}
