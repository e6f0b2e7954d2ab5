package task

import (
	"errors"
	"fmt"
	"io"
	"time"
)

const (
	dateTimeLayout = "2006-01-02T15:04:05"
	dateLayout     = "2006-01-02"
)

// The messages follow a field name: "start_datetime must be ...".
const (
	msgDateTimeForm = "must be a local date-time in the form YYYY-MM-DDTHH:MM:SS, with no zone"
	msgDateForm     = "must be a date in the form YYYY-MM-DD"
)

// DateTime is a local date and time with no zone, to the second, written
// "YYYY-MM-DDTHH:MM:SS". The zero DateTime means "not set".
type DateTime struct{ t time.Time }

// NewDateTime returns the wall-clock reading of t in UTC, to the second.
func NewDateTime(t time.Time) DateTime {
	return DateTime{t.UTC().Truncate(time.Second)}
}

// ParseDateTime reads exactly "YYYY-MM-DDTHH:MM:SS" and rejects dates that
// do not exist, such as February 30th.
func ParseDateTime(s string) (DateTime, error) {
	t, shaped, real := parseWire(s, true)
	if !shaped {
		return DateTime{}, errors.New(msgDateTimeForm)
	}
	if !real {
		return DateTime{}, fmt.Errorf("must be a real date and time: %q is not", s)
	}
	return DateTime{t}, nil
}

func (d DateTime) String() string {
	return string(appendWire(make([]byte, 0, len(dateTimeLayout)), d.t, true))
}

// Time is d as a time.Time in UTC.
func (d DateTime) Time() time.Time { return d.t }

// IsZero reports whether d is unset.
func (d DateTime) IsZero() bool { return d.t.IsZero() }

// Before reports whether d is earlier than other.
func (d DateTime) Before(other DateTime) bool { return d.t.Before(other.t) }

// Date is the calendar day of d.
func (d DateTime) Date() Date {
	y, m, day := d.t.Date()
	return Date{time.Date(y, m, day, 0, 0, 0, 0, time.UTC)}
}

// MarshalText writes the wire form; encoding/json quotes it. (A text
// marshaler, unlike MarshalJSON, spares the encoder re-checking the output.)
func (d DateTime) MarshalText() ([]byte, error) {
	return d.AppendText(make([]byte, 0, len(dateTimeLayout)))
}

// AppendText appends the wire form to b.
func (d DateTime) AppendText(b []byte) ([]byte, error) { return appendWire(b, d.t, true), nil }

// UnmarshalText reads the wire form, as ParseDateTime does.
func (d *DateTime) UnmarshalText(b []byte) error {
	parsed, err := ParseDateTime(string(b))
	if err == nil {
		*d = parsed
	}
	return err
}

// MarshalGQL and UnmarshalGQL make DateTime the GraphQL DateTime scalar.
func (d DateTime) MarshalGQL(w io.Writer) { writeQuoted(w, d.t, true) }

func (d *DateTime) UnmarshalGQL(v any) error {
	s, ok := v.(string)
	if !ok {
		return scalarError(msgDateTimeForm)
	}
	parsed, err := ParseDateTime(s)
	if err != nil {
		return scalarError(err.Error())
	}
	*d = parsed
	return nil
}

// Date is a calendar day, written "YYYY-MM-DD".
type Date struct{ t time.Time }

// ParseDate reads exactly "YYYY-MM-DD" and rejects days that do not exist.
func ParseDate(s string) (Date, error) {
	t, shaped, real := parseWire(s, false)
	if !shaped {
		return Date{}, errors.New(msgDateForm)
	}
	if !real {
		return Date{}, fmt.Errorf("must be a real date: %q is not", s)
	}
	return Date{t}, nil
}

func (d Date) String() string {
	return string(appendWire(make([]byte, 0, len(dateLayout)), d.t, false))
}

// After reports whether d is a later day than other.
func (d Date) After(other Date) bool { return d.t.After(other.t) }

// MarshalText writes the wire form; encoding/json quotes it.
func (d Date) MarshalText() ([]byte, error) {
	return d.AppendText(make([]byte, 0, len(dateLayout)))
}

// AppendText appends the wire form to b.
func (d Date) AppendText(b []byte) ([]byte, error) { return appendWire(b, d.t, false), nil }

// MarshalGQL and UnmarshalGQL make Date the GraphQL Date scalar.
// UnmarshalText reads the wire form, as ParseDate does.
func (d *Date) UnmarshalText(b []byte) error {
	parsed, err := ParseDate(string(b))
	if err == nil {
		*d = parsed
	}
	return err
}

func (d Date) MarshalGQL(w io.Writer) { writeQuoted(w, d.t, false) }

func (d *Date) UnmarshalGQL(v any) error {
	s, ok := v.(string)
	if !ok {
		return scalarError(msgDateForm)
	}
	parsed, err := ParseDate(s)
	if err != nil {
		return scalarError(err.Error())
	}
	*d = parsed
	return nil
}

// scalarError is a validation error whose field is not known where the
// value is parsed; the GraphQL layer fills it in from the error's path.
func scalarError(msg string) *Error {
	return Invalid("", msg)
}

// writeQuoted writes the wire form of t as a JSON string, in one write:
// the form has nothing to escape.
func writeQuoted(w io.Writer, t time.Time, withTime bool) {
	b := make([]byte, 0, len(dateTimeLayout)+2)
	b = append(appendWire(append(b, '"'), t, withTime), '"')
	_, _ = w.Write(b)
}

// The wire forms are fixed, so they are read and written digit by digit:
// time.Parse accepts more than they allow (fractional seconds, one-digit
// hours), and both it and time.Format interpret the layout on every call,
// which was a visible share of a list's CPU.

// parseWire reads s as "YYYY-MM-DD" or, with clock, "YYYY-MM-DDTHH:MM:SS",
// in UTC. shaped reports whether s has the form, real whether it names a
// day and time that exist.
func parseWire(s string, clock bool) (t time.Time, shaped, real bool) {
	want := len(dateLayout)
	if clock {
		want = len(dateTimeLayout)
	}
	if len(s) != want || s[4] != '-' || s[7] != '-' {
		return time.Time{}, false, false
	}
	y, mo, d := digits(s[0:4]), digits(s[5:7]), digits(s[8:10])
	h, mi, sec := 0, 0, 0
	if clock {
		if s[10] != 'T' || s[13] != ':' || s[16] != ':' {
			return time.Time{}, false, false
		}
		h, mi, sec = digits(s[11:13]), digits(s[14:16]), digits(s[17:19])
	}
	if min(y, mo, d, h, mi, sec) < 0 {
		return time.Time{}, false, false
	}
	t = time.Date(y, time.Month(mo), d, h, mi, sec, 0, time.UTC)
	// time.Date normalises February 30th to March 2nd: a day that moved
	// did not exist.
	real = mo >= 1 && mo <= 12 && d >= 1 && t.Day() == d && h < 24 && mi < 60 && sec < 60
	return t, true, real
}

// digits is the number s spells in decimal digits, or -1 if any byte of s
// is not a digit.
func digits(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return -1
		}
		n = n*10 + int(c-'0')
	}
	return n
}

// appendWire appends t as "YYYY-MM-DD" or, with clock,
// "YYYY-MM-DDTHH:MM:SS".
func appendWire(b []byte, t time.Time, clock bool) []byte {
	y, m, d := t.Date()
	if y < 0 || y > 9999 { // not a wire form; never made from one
		if clock {
			return t.AppendFormat(b, dateTimeLayout)
		}
		return t.AppendFormat(b, dateLayout)
	}
	b = append(b, byte('0'+y/1000), byte('0'+y/100%10), byte('0'+y/10%10), byte('0'+y%10), '-')
	b = append(b, byte('0'+m/10), byte('0'+m%10), '-', byte('0'+d/10), byte('0'+d%10))
	if !clock {
		return b
	}
	hh, mm, ss := t.Clock()
	return append(b, 'T', byte('0'+hh/10), byte('0'+hh%10), ':', byte('0'+mm/10), byte('0'+mm%10),
		':', byte('0'+ss/10), byte('0'+ss%10))
}
