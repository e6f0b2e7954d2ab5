package task_test

import (
	"fmt"
	"regexp"
	"testing"
	"time"

	"tasksapi/task"
)

// timeParseAccepts is the definition the parsers implement by hand: the
// exact shape, then whatever time.Parse takes in that layout.
func timeParseAccepts(s, layout string) bool {
	shape := map[string]*regexp.Regexp{
		time.DateTime: regexp.MustCompile(`^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$`),
		time.DateOnly: regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$`),
	}[layout]
	if layout == time.DateTime { // the wire form has a T where time.DateTime has a space
		if len(s) != len(layout) || s[10] != 'T' {
			return false
		}
		s = s[:10] + " " + s[11:]
	}
	if !shape.MatchString(s) {
		return false
	}
	_, err := time.Parse(layout, s)
	return err == nil
}

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
		if want := timeParseAccepts(s, time.DateTime); (err == nil) != want {
			t.Fatalf("ParseDateTime(%q) error = %v; time.Parse accepts it: %v", s, err, want)
		}
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
		if want := timeParseAccepts(s, time.DateOnly); (err == nil) != want {
			t.Fatalf("ParseDate(%q) error = %v; time.Parse accepts it: %v", s, err, want)
		}
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

func TestTheParsersAgreeWithTimeParseOnEveryDayOfALeapCycle(t *testing.T) {
	// Every month-day pair, real or not, of four years, and clock readings
	// at and past each bound.
	clocks := []string{"00:00:00", "23:59:59", "24:00:00", "12:60:00", "12:00:60", "99:99:99"}
	for y := 2023; y <= 2026; y++ {
		for m := 0; m <= 13; m++ {
			for d := 0; d <= 32; d++ {
				day := fmt.Sprintf("%04d-%02d-%02d", y, m, d)
				if _, err := task.ParseDate(day); (err == nil) != timeParseAccepts(day, time.DateOnly) {
					t.Errorf("ParseDate(%q) error = %v, unlike time.Parse", day, err)
				}
				for _, c := range clocks {
					s := day + "T" + c
					got, err := task.ParseDateTime(s)
					if (err == nil) != timeParseAccepts(s, time.DateTime) {
						t.Errorf("ParseDateTime(%q) error = %v, unlike time.Parse", s, err)
					}
					if err == nil && got.String() != s {
						t.Errorf("ParseDateTime(%q) prints as %q", s, got)
					}
				}
			}
		}
	}
}
