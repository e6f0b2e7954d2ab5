package task

import (
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"time"
)

const (
	dateTimeLayout = "2006-01-02T15:04:05"
	dateLayout     = "2006-01-02"
)

// Go's time.Parse accepts more than the wire forms allow (fractional
// seconds, one-digit hours), so the shape is checked first.
var (
	dateTimeShape = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$`)
	dateShape     = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$`)
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
	if !dateTimeShape.MatchString(s) {
		return DateTime{}, errors.New(msgDateTimeForm)
	}
	t, err := time.Parse(dateTimeLayout, s)
	if err != nil {
		return DateTime{}, fmt.Errorf("must be a real date and time: %q is not", s)
	}
	return DateTime{t}, nil
}

func (d DateTime) String() string { return d.t.Format(dateTimeLayout) }

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
func (d DateTime) MarshalText() ([]byte, error) { return d.t.AppendFormat(nil, dateTimeLayout), nil }

// MarshalGQL and UnmarshalGQL make DateTime the GraphQL DateTime scalar.
func (d DateTime) MarshalGQL(w io.Writer) { _, _ = w.Write(quote(d.String())) }

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
	if !dateShape.MatchString(s) {
		return Date{}, errors.New(msgDateForm)
	}
	t, err := time.Parse(dateLayout, s)
	if err != nil {
		return Date{}, fmt.Errorf("must be a real date: %q is not", s)
	}
	return Date{t}, nil
}

func (d Date) String() string { return d.t.Format(dateLayout) }

// After reports whether d is a later day than other.
func (d Date) After(other Date) bool { return d.t.After(other.t) }

// MarshalText writes the wire form; encoding/json quotes it.
func (d Date) MarshalText() ([]byte, error) { return d.t.AppendFormat(nil, dateLayout), nil }

// MarshalGQL and UnmarshalGQL make Date the GraphQL Date scalar.
func (d Date) MarshalGQL(w io.Writer) { _, _ = w.Write(quote(d.String())) }

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

func quote(s string) []byte { return strconv.AppendQuote(nil, s) }
