package task

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
)

// ConnectionParams is a cursor-paged list request; nil means "not sent".
// A connection is read forward from a cursor, by the position of the last
// task seen rather than by a row count, so every page costs what the first
// does. Its size rules are those of a list's page (DefaultPageSize,
// MaxPageSize).
type ConnectionParams struct {
	Filter    Filter
	First     *int    // tasks a page, 1 to 100 (more is served as 100), default 10
	After     *string // the cursor of the last task of the previous page
	SortBy    *SortField
	SortOrder *SortOrder
	SkipTotal bool // leave TotalCount at 0
}

// ConnectionQuery is a checked cursor-paged list request.
type ConnectionQuery struct {
	Filter    Filter
	First     int
	After     *Position // nil for the first page
	SortBy    SortField
	SortOrder SortOrder
	SkipTotal bool
}

// Position is where a task stands in a sorted list: its sort key (the
// stored value of the sort column, nil for a missing end date-time) and
// its id, the tie-breaker.
type Position struct {
	SortBy    SortField `json:"s"`
	SortOrder SortOrder `json:"o"`
	Key       any       `json:"k"` // string, float64 (from JSON) or nil
	ID        int       `json:"i"`
}

// Query checks p, with the same defaults and rules as ListParams.Query,
// and opens the cursor with codec. A cursor issued for another sort is
// refused: its position means nothing in this order.
func (p ConnectionParams) Query(codec CursorCodec) (ConnectionQuery, error) {
	list := ListParams{Filter: p.Filter, PageSize: p.First, SortBy: p.SortBy, SortOrder: p.SortOrder, SkipTotal: p.SkipTotal}
	lq, err := list.Query()
	var te *Error
	if errors.As(err, &te) {
		for i := range te.Fields { // the page size is called first here
			if te.Fields[i].Field == "pageSize" {
				te.Fields[i].Field = "first"
			}
		}
	}
	if err != nil {
		return ConnectionQuery{}, err
	}
	q := ConnectionQuery{Filter: lq.Filter, First: lq.PageSize, SortBy: lq.SortBy, SortOrder: lq.SortOrder, SkipTotal: lq.SkipTotal}
	if p.After != nil {
		pos, err := codec.Decode(*p.After)
		if err != nil {
			return ConnectionQuery{}, err
		}
		if pos.SortBy != q.SortBy || pos.SortOrder != q.SortOrder {
			return ConnectionQuery{}, Invalid("after", "is a cursor of another sort order")
		}
		q.After = &pos
	}
	return q, nil
}

// Connection is one cursor page.
type Connection struct {
	Edges       []Edge
	HasNextPage bool
	After       bool // the page was asked for after a cursor
	TotalCount  int  // every match, over all pages
}

// Edge is a task of a connection and the cursor that reads on after it.
type Edge struct {
	Node   Task
	Cursor string
}

// PageInfo describes a connection page, as Relay clients expect.
type PageInfo struct {
	HasNextPage     bool
	HasPreviousPage bool
	StartCursor     *string
	EndCursor       *string
}

// PageInfo summarises the page.
func (c Connection) PageInfo() PageInfo {
	info := PageInfo{HasNextPage: c.HasNextPage, HasPreviousPage: c.After}
	if len(c.Edges) > 0 {
		info.StartCursor, info.EndCursor = &c.Edges[0].Cursor, &c.Edges[len(c.Edges)-1].Cursor
	}
	return info
}

// CursorCodec writes positions as opaque cursors signed with a secret, so
// that a client can hand one back but not make or alter one.
type CursorCodec struct{ secret []byte }

// NewCursorCodec returns a codec signing with secret.
func NewCursorCodec(secret []byte) CursorCodec { return CursorCodec{secret: secret} }

var errBadCursor = Invalid("after", "is not a cursor this server issued")

// Encode returns the cursor of pos.
func (c CursorCodec) Encode(pos Position) string {
	body, _ := json.Marshal(pos) // a struct of plain values always marshals
	return base64.RawURLEncoding.EncodeToString(body) + "." + base64.RawURLEncoding.EncodeToString(c.sign(body))
}

// Decode checks a cursor's signature and returns its position.
func (c CursorCodec) Decode(cursor string) (Position, error) {
	encBody, encSig, ok := bytes.Cut([]byte(cursor), []byte("."))
	if !ok {
		return Position{}, errBadCursor
	}
	body, err1 := base64.RawURLEncoding.DecodeString(string(encBody))
	sig, err2 := base64.RawURLEncoding.DecodeString(string(encSig))
	if err1 != nil || err2 != nil || !hmac.Equal(sig, c.sign(body)) {
		return Position{}, errBadCursor
	}
	var pos Position
	if err := json.Unmarshal(body, &pos); err != nil {
		return Position{}, fmt.Errorf("a signed cursor does not decode: %w", err)
	}
	return pos, nil
}

func (c CursorCodec) sign(body []byte) []byte {
	mac := hmac.New(sha256.New, c.secret)
	mac.Write(body)
	return mac.Sum(nil)[:16]
}
