package graph

import (
	"encoding/json"
	"io"
	"math"
	"strconv"

	"github.com/99designs/gqlgen/graphql"

	"tasksapi/feed"
	"tasksapi/task"
)

// MarshalSeq and UnmarshalSeq make a feed seq (an int64) the GraphQL Seq
// scalar: a JSON number from 0 to 2^53 - 1, which every client's numbers
// carry exactly.
func MarshalSeq(seq int64) graphql.Marshaler {
	return graphql.WriterFunc(func(w io.Writer) {
		_, _ = w.Write(strconv.AppendInt(nil, seq, 10))
	})
}

// msgSeq is what is wrong with a value that is not a seq; its field is
// filled in from where it was found.
const msgSeq = "must be a seq: an integer from 0 to 2^53 - 1"

// UnmarshalSeq reads a seq from a query's literal (an int64) or a
// variable (a JSON number). A string, a fraction, a negative number or one
// past 2^53 - 1 is refused: it would be rounded or misread by some
// client, so it cannot have come from this server.
func UnmarshalSeq(v any) (int64, error) {
	var n int64
	switch v := v.(type) {
	case int64:
		n = v
	case int:
		n = int64(v)
	case json.Number:
		parsed, err := strconv.ParseInt(string(v), 10, 64)
		if err != nil {
			return 0, task.Invalid("", msgSeq)
		}
		n = parsed
	case float64: // a JSON number decoded without UseNumber
		if v != math.Trunc(v) || v < 0 || v > feed.MaxSeq {
			return 0, task.Invalid("", msgSeq)
		}
		n = int64(v)
	default:
		return 0, task.Invalid("", msgSeq)
	}
	if n < 0 || n > feed.MaxSeq {
		return 0, task.Invalid("", msgSeq)
	}
	return n, nil
}
