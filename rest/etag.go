package rest

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"tasksapi/task"
)

// A task's entity tag is its version, quoted: "3". Only strong tags are
// written; a weak one sent back (W/"3", as a cache may send it) matches
// under If-None-Match's weak comparison and never under If-Match's strong
// one (RFC 9110, section 8.8.3.2).

// The conditional request headers, as their errors name them.
const (
	ifMatch     = "If-Match"
	ifNoneMatch = "If-None-Match"
)

// entityTag is the ETag of a task's version.
func entityTag(version int) string { return `"` + strconv.Itoa(version) + `"` }

// tagList is an If-Match or If-None-Match header as sent.
type tagList struct {
	sent bool // the header is present, perhaps as an empty list
	star bool // "*": whatever the current version is
	tags []sentTag
}

// sentTag is one entity tag of a list, its quotes removed.
type sentTag struct {
	weak   bool
	opaque string
}

// version is the task version the tag names, if it is one of the tags
// this server writes: a decimal integer without sign or leading zeros,
// as the tags compare character by character.
func (t sentTag) version() (int, bool) {
	n, err := strconv.Atoi(t.opaque)
	return n, err == nil && n > 0 && strconv.Itoa(n) == t.opaque
}

// readTagList reads the header name (every line of it, as one list):
// either "*" or a comma-separated list of entity tags, "opaque" or
// W/"opaque", where empty elements are allowed (RFC 9110, sections 5.6.1
// and 13.1). Anything else is a validation error on the header: guessing
// at what a broken condition meant could change the wrong version.
func readTagList(h http.Header, name string) (tagList, error) {
	lines := h.Values(name)
	if len(lines) == 0 {
		return tagList{}, nil
	}
	l := tagList{sent: true}
	s := strings.Join(lines, ",")
	if strings.Trim(s, " \t") == "*" {
		l.star = true
		return l, nil
	}
	malformed := task.Invalid(name, `must be "*" or a comma-separated list of entity tags, such as "3" or W/"3"`)
	for i := 0; ; {
		for i < len(s) && (s[i] == ' ' || s[i] == '\t' || s[i] == ',') {
			i++ // whitespace, and the commas of empty elements
		}
		if i == len(s) {
			return l, nil
		}
		var t sentTag
		if strings.HasPrefix(s[i:], "W/") {
			t.weak = true
			i += 2
		}
		if i == len(s) || s[i] != '"' {
			return tagList{}, malformed
		}
		end := i + 1
		for end < len(s) && isETagChar(s[end]) {
			end++
		}
		if end == len(s) || s[end] != '"' {
			return tagList{}, malformed
		}
		t.opaque = s[i+1 : end]
		l.tags = append(l.tags, t)
		i = end + 1
		for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
			i++
		}
		if i < len(s) && s[i] != ',' {
			return tagList{}, malformed
		}
	}
}

// isETagChar reports whether c may appear between an entity tag's quotes:
// etagc = %x21 / %x23-7E / obs-text.
func isETagChar(c byte) bool {
	return c == 0x21 || c >= 0x23 && c != 0x7f
}

// expect is the condition an If-Match list puts on a change or a delete:
// none without the header; any version for "*" (a missing task is still
// missing); else one of the versions its strong tags name, which may be
// none at all.
func (l tagList) expect() task.Expect {
	if !l.sent || l.star {
		return task.AnyVersion()
	}
	var versions []int
	for _, t := range l.tags {
		if v, ok := t.version(); ok && !t.weak {
			versions = append(versions, v)
		}
	}
	return task.OneOf(versions...)
}

// explainConflict adds to a 412 whose If-Match list named the current
// version only by a weak tag why that tag did not match: "its current
// version is 3" alone would puzzle a client that sent W/"3", as a cache
// may have handed it. Any other error is returned as it is.
func (l tagList) explainConflict(err error) error {
	var te *task.Error
	if !errors.As(err, &te) || te.Code != task.CodeVersionConflict {
		return err
	}
	for _, t := range l.tags {
		if v, ok := t.version(); ok && t.weak && v == te.CurrentVersion {
			explained := *te
			explained.Message += fmt.Sprintf(`; If-Match compares tags strongly, so W/"%d" never matches: send "%d"`, v, v)
			return &explained
		}
	}
	return err
}

// matchesWeakly reports whether an If-None-Match list names the version,
// comparing weakly: W/"3" and "3" both name version 3.
func (l tagList) matchesWeakly(version int) bool {
	if l.star {
		return true
	}
	for _, t := range l.tags {
		if v, ok := t.version(); ok && v == version {
			return true
		}
	}
	return false
}
