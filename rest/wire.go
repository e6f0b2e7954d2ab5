package rest

import (
	"slices"
	"strconv"
	"sync"
	"unicode/utf8"

	"tasksapi/feed"
	"tasksapi/task"
)

// A task's JSON is written here by hand, byte for byte what encoding/json
// writes for the documented wire shape (held to it by TestWireTask and
// FuzzWireTask): reflection over every field of every task was a tenth
// of a list's CPU.

// appendTaskBody appends a success envelope holding t, with message if
// any: {"success":true,"message":...,"data":{task}}.
func appendTaskBody(b []byte, message string, t task.Task) []byte {
	b = append(b, `{"success":true`...)
	if message != "" {
		b = append(b, `,"message":`...)
		b = appendString(b, message)
	}
	b = append(b, `,"data":`...)
	b = appendTask(b, t)
	return append(b, "}\n"...)
}

// appendDeletedBody appends the success envelope of a delete, which
// names the task that is gone: {"success":true,"message":...,
// "data":{"activity_id":id}}.
func appendDeletedBody(b []byte, message string, id int) []byte {
	b = append(b, `{"success":true,"message":`...)
	b = appendString(b, message)
	b = append(b, `,"data":{"activity_id":`...)
	b = strconv.AppendInt(b, int64(id), 10)
	return append(b, "}}\n"...)
}

// appendPageBody appends the success envelope of a list:
// {"success":true,"data":{"data":[tasks],"current_page":...,
// "total_records":...,"total_pages":...}}.
func appendPageBody(b []byte, page task.Page) []byte {
	b = append(b, `{"success":true,"data":{"data":[`...)
	for i, t := range page.Items {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendTask(b, t)
	}
	b = append(b, `],"current_page":`...)
	b = strconv.AppendInt(b, int64(page.CurrentPage()), 10)
	b = append(b, `,"total_records":`...)
	b = strconv.AppendInt(b, int64(page.TotalRecords), 10)
	b = append(b, `,"total_pages":`...)
	b = strconv.AppendInt(b, int64(page.TotalPages()), 10)
	return append(b, "}}\n"...)
}

// appendTask appends t as the YSUITE API writes it: every field, nulls
// included.
func appendTask(b []byte, t task.Task) []byte {
	b = append(b, `{"activity_id":`...)
	b = strconv.AppendInt(b, int64(t.ID), 10)
	b = append(b, `,"title":`...)
	b = appendString(b, t.Title)
	b = append(b, `,"activity_type":`...)
	b = appendString(b, t.ActivityType())
	b = append(b, `,"status":`...)
	b = strconv.AppendInt(b, int64(t.Status), 10)
	b = append(b, `,"priority":`...)
	b = strconv.AppendInt(b, int64(t.Priority), 10)
	b = append(b, `,"start_datetime":`...)
	b = appendText(b, t.StartDatetime)
	b = append(b, `,"end_datetime":`...)
	if t.EndDatetime == nil {
		b = append(b, "null"...)
	} else {
		b = appendText(b, *t.EndDatetime)
	}
	b = append(b, `,"due_date":`...)
	b = appendText(b, t.DueDate)
	b = append(b, `,"description":`...)
	if t.Description == nil {
		b = append(b, "null"...)
	} else {
		b = appendString(b, *t.Description)
	}
	b = append(b, `,"deal_id":`...)
	b = appendOptionalInt(b, t.DealID)
	b = append(b, `,"cstid":`...)
	b = appendOptionalInt(b, t.ContactID)
	b = append(b, `,"assigned_user_id":`...)
	b = appendOptionalInt(b, t.AssignedUserID)
	b = append(b, `,"tags":[`...)
	for i, id := range t.TagIDs {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendInt(b, int64(id), 10)
	}
	b = append(b, `],"created_at":`...)
	b = appendText(b, t.CreatedAt)
	b = append(b, `,"updated_at":`...)
	b = appendText(b, t.UpdatedAt)
	b = append(b, `,"completed_at":`...)
	if t.CompletedAt == nil {
		b = append(b, "null"...)
	} else {
		b = appendText(b, *t.CompletedAt)
	}
	b = append(b, `,"version":`...)
	b = strconv.AppendInt(b, int64(t.Version), 10)
	return append(b, '}')
}

// appendChangesBody appends the success envelope of a read of the change
// feed: {"success":true,"data":{"changes":[changes],"last_seq":...,
// "head_seq":...,"has_more":...}}.
func appendChangesBody(b []byte, page feed.Page) []byte {
	b = append(b, `{"success":true,"data":{"changes":[`...)
	for i := range page.Changes {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendChange(b, &page.Changes[i])
	}
	b = append(b, `],"last_seq":`...)
	b = strconv.AppendInt(b, page.LastSeq, 10)
	b = append(b, `,"head_seq":`...)
	b = strconv.AppendInt(b, page.HeadSeq, 10)
	b = append(b, `,"has_more":`...)
	b = strconv.AppendBool(b, page.HasMore)
	return append(b, "}}\n"...)
}

// ChangeJSON is a change of the feed as GET /v1/tasks/changes lists it,
// one JSON object on one line: {"seq":...,"type":...,"activity_id":...,
// "at":...,"fields":[...],"task":{task} or null}. The stream sends it as
// an event's data, and webhooks as their body's data, each through
// c.Wire(ChangeJSON), so that a change is encoded once however many
// receive it. The result is shared: it must not be changed (an append
// to it copies, as it has no spare capacity).
func ChangeJSON(c *feed.Change) []byte {
	b := appendChange(nil, c)
	return b[:len(b):len(b)]
}

// appendChange appends c as ChangeJSON writes it: fields in REST names,
// sorted in them, [] for a create or a delete; task null for a delete.
func appendChange(b []byte, c *feed.Change) []byte {
	b = append(b, `{"seq":`...)
	b = strconv.AppendInt(b, c.Seq, 10)
	b = append(b, `,"type":`...)
	b = appendString(b, c.Type.String())
	b = append(b, `,"activity_id":`...)
	b = strconv.AppendInt(b, int64(c.TaskID), 10)
	b = append(b, `,"at":`...)
	b = appendText(b, c.At)
	b = append(b, `,"fields":[`...)
	var names [16]string // more than a task has fields
	for i, f := range wireFieldNames(names[:0], c.Fields) {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, f)
	}
	b = append(b, `],"task":`...)
	if c.Task == nil {
		b = append(b, "null"...)
	} else {
		b = appendTask(b, *c.Task)
	}
	return append(b, '}')
}

// wireFieldNames appends the REST names of the domain's fields to names,
// sorted: the domain sorts them in its own names, whose order differs.
func wireFieldNames(names, fields []string) []string {
	for _, f := range fields {
		names = append(names, wireName(f))
	}
	slices.Sort(names)
	return names
}

func appendOptionalInt(b []byte, n *int) []byte {
	if n == nil {
		return append(b, "null"...)
	}
	return strconv.AppendInt(b, int64(*n), 10)
}

// appendText appends a date or date-time as a JSON string; their wire
// forms need no escaping.
func appendText[T interface{ AppendText([]byte) ([]byte, error) }](b []byte, v T) []byte {
	b = append(b, '"')
	b, _ = v.AppendText(b) // never fails
	return append(b, '"')
}

const hexDigits = "0123456789abcdef"

// appendString appends s as a JSON string escaped as encoding/json
// escapes it: quotes, backslashes and control characters; <, > and & (so
// that a title is safe inside HTML); U+2028 and U+2029 (line separators
// to JavaScript); and invalid UTF-8 as U+FFFD.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, `\b`...)
			case '\f':
				b = append(b, `\f`...)
			case '\n':
				b = append(b, `\n`...)
			case '\r':
				b = append(b, `\r`...)
			case '\t':
				b = append(b, `\t`...)
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// bodies holds response buffers for reuse.
var bodies = sync.Pool{New: func() any { return new([]byte) }}

// putBody keeps b for the next response unless an unusually large body
// grew it.
func putBody(b *[]byte) {
	if cap(*b) <= 256<<10 {
		bodies.Put(b)
	}
}
