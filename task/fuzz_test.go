package task_test

import (
	"testing"

	"tasksapi/task"
)

// The scalar parsers accept exactly one spelling of each value: whatever
// they accept prints back as the same text.
func FuzzParseDateTime(f *testing.F) {
	for _, s := range []string{"2026-07-15T10:00:00", "2026-02-30T10:00:00", "2026-07-15T10:00:00Z",
		"2026-07-15 10:00:00", "2026-07-15T10:00:00.5", "0000-01-01T00:00:00", "9999-12-31T23:59:59",
		"2026-07-15T24:00:00", "２０２６-07-15T10:00:00", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := task.ParseDateTime(s)
		if err != nil {
			if err.Error() == "" {
				t.Fatalf("ParseDateTime(%q): an error without a message", s)
			}
			return
		}
		if d.String() != s {
			t.Fatalf("ParseDateTime(%q) prints as %q", s, d.String())
		}
		var u task.DateTime
		if err := u.UnmarshalGQL(s); err != nil || u != d {
			t.Fatalf("UnmarshalGQL(%q) = %v, %v; want %v", s, u, err, d)
		}
	})
}

func FuzzParseDate(f *testing.F) {
	for _, s := range []string{"2026-07-15", "2024-02-29", "2025-02-29", "2026-7-15", "2026-07-15T00:00:00", "+2026-07-15", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := task.ParseDate(s)
		if err != nil {
			if err.Error() == "" {
				t.Fatalf("ParseDate(%q): an error without a message", s)
			}
			return
		}
		if d.String() != s {
			t.Fatalf("ParseDate(%q) prints as %q", s, d.String())
		}
	})
}
