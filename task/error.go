package task

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Code classifies an Error so that each interface can map it to its own wire
// form (an HTTP status, a GraphQL extensions.code) in one place.
type Code string

const (
	CodeInvalid              Code = "invalid"                // the client's input breaks a rule
	CodeNotFound             Code = "not_found"              // the thing asked for does not exist
	CodeUnauthenticated      Code = "unauthenticated"        // missing, unknown or revoked credentials
	CodeRateLimited          Code = "rate_limited"           // too many requests; retry after RetryAfter
	CodeVersionConflict      Code = "version_conflict"       // a conditional change met another version; see CurrentVersion
	CodeMalformed            Code = "malformed"              // the request is not in a form the API reads (a body that is not a JSON object)
	CodeKeyInUse             Code = "key_in_use"             // an Idempotency-Key whose first request is still being answered
	CodeKeyReused            Code = "key_reused"             // an Idempotency-Key kept for a different request
	CodeExpired              Code = "expired"                // a point of the change feed older than what is kept
	CodeTooManySubscriptions Code = "too_many_subscriptions" // a key holding as many streams and subscriptions as it may
	CodeUnavailable          Code = "unavailable"            // the database cannot be reached now: retry shortly
	CodeInternal             Code = "internal"               // anything else: logged, never shown
)

// Error is the one error type of the API. Messages are safe to show to a
// client; anything that is not an *Error is treated as internal.
type Error struct {
	Code       Code
	Message    string        // for errors without field detail
	Fields     []FieldError  // for CodeInvalid: each offending field, in order
	RetryAfter time.Duration // for CodeRateLimited
	// CurrentVersion is the task's version, for CodeVersionConflict.
	CurrentVersion int
	// Cause is the fault behind CodeUnavailable: logged, never shown.
	Cause error
}

// Unavailable returns the error of a request that the store could not
// serve because its database could not be reached: the client may retry
// it, and the cause goes to the log.
func Unavailable(cause error) *Error {
	return &Error{Code: CodeUnavailable, Message: "The database is unavailable; retry shortly.",
		RetryAfter: time.Second, Cause: cause}
}

func (e *Error) Unwrap() error { return e.Cause }

// FieldError is one broken rule of one input field. Field is the domain
// field name (as in GraphQL: "contactId", "dueDateFrom"). Message follows
// the field name and may name other fields as {fieldName}, so that each
// interface can print them under its own names.
type FieldError struct {
	Field   string
	Message string
}

// Invalid returns a validation error on a single field.
func Invalid(field, message string) *Error {
	return &Error{Code: CodeInvalid, Fields: []FieldError{{Field: field, Message: message}}}
}

// NotFound returns the error for a missing task.
func NotFound() *Error {
	return &Error{Code: CodeNotFound, Message: "Task not found"}
}

// VersionConflict returns the error for a conditional change of a task
// whose version is now current.
func VersionConflict(current int) *Error {
	return &Error{Code: CodeVersionConflict, CurrentVersion: current,
		Message: fmt.Sprintf("The task has changed: its current version is %d", current)}
}

func (e *Error) Error() string {
	if len(e.Fields) > 0 {
		return e.Fields[0].Text(func(s string) string { return s })
	}
	return e.Message
}

// Text renders the message with the field names an interface uses, for
// example "cstid or deal_id is required" for REST.
func (f FieldError) Text(name func(domainField string) string) string {
	msg := f.Message
	for {
		open := strings.IndexByte(msg, '{')
		end := strings.IndexByte(msg, '}')
		if open < 0 || end < open {
			break
		}
		msg = msg[:open] + name(msg[open+1:end]) + msg[end+1:]
	}
	if f.Field == "" {
		return msg
	}
	return name(f.Field) + " " + msg
}

// Messages renders e's field errors with the field names an interface
// uses: the first message, for a one-line summary, and every message under
// its field's name. A field error that names no field (a scalar's, whose
// field is known only where it was found) is filed under unnamed.
func (e *Error) Messages(name func(domainField string) string, unnamed string) (first string, byField map[string][]string) {
	byField = map[string][]string{}
	for i, f := range e.Fields {
		if f.Field == "" {
			f.Field = unnamed
		}
		msg := f.Text(name)
		if i == 0 {
			first = msg
		}
		byField[name(f.Field)] = append(byField[name(f.Field)], msg)
	}
	return first, byField
}

// Mentions reports whether the error is on field or names it.
func (f FieldError) Mentions(field string) bool {
	return f.Field == field || strings.Contains(f.Message, "{"+field+"}")
}

// ErrorCode returns the code of err, CodeInternal for anything untyped.
func ErrorCode(err error) Code {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return CodeInternal
}

// fieldErrors collects validation failures in the order they are found.
type fieldErrors []FieldError

func (fe *fieldErrors) add(field, message string) {
	*fe = append(*fe, FieldError{Field: field, Message: message})
}

func (fe fieldErrors) err() error {
	if len(fe) == 0 {
		return nil
	}
	return &Error{Code: CodeInvalid, Fields: fe}
}
