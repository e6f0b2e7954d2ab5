package feed_test

import (
	"testing"

	"tasksapi/feed"
	"tasksapi/task"
)

func TestParamsQuery(t *testing.T) {
	p := func(v int64) *int64 { return &v }
	n := func(v int) *int { return &v }
	tests := []struct {
		name   string
		params feed.Params
		want   feed.Query
		bad    []string
	}{
		{"nothing sent reads from the oldest change kept, 100 at a time", feed.Params{}, feed.Query{After: 0, Limit: 100}, nil},
		{"after and limit are taken as sent", feed.Params{After: p(57), Limit: n(10)}, feed.Query{After: 57, Limit: 10}, nil},
		{"a limit above 1000 is served as 1000", feed.Params{Limit: n(5000)}, feed.Query{Limit: 1000}, nil},
		{"a limit of 1 is the smallest", feed.Params{Limit: n(1)}, feed.Query{Limit: 1}, nil},
		{"the largest seq is accepted", feed.Params{After: p(feed.MaxSeq)}, feed.Query{After: feed.MaxSeq, Limit: 100}, nil},
		{"a limit of 0 is refused", feed.Params{Limit: n(0)}, feed.Query{}, []string{"limit"}},
		{"a negative after is refused", feed.Params{After: p(-1)}, feed.Query{}, []string{"after"}},
		{"an after past 2^53 - 1 is refused", feed.Params{After: p(feed.MaxSeq + 1)}, feed.Query{}, []string{"after"}},
		{"both broken are both reported", feed.Params{After: p(-1), Limit: n(-1)}, feed.Query{}, []string{"after", "limit"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q, err := tt.params.Query()
			if tt.bad == nil {
				if err != nil || q != tt.want {
					t.Fatalf("Query() = %+v, %v; want %+v", q, err, tt.want)
				}
				return
			}
			e, ok := err.(*task.Error)
			if !ok || e.Code != task.CodeInvalid || len(e.Fields) != len(tt.bad) {
				t.Fatalf("Query() error = %v, want a validation error on %v", err, tt.bad)
			}
			for i, f := range e.Fields {
				if f.Field != tt.bad[i] {
					t.Errorf("field %d = %q, want %q", i, f.Field, tt.bad[i])
				}
			}
		})
	}
}

func TestTypeNames(t *testing.T) {
	for typ, want := range map[feed.Type]string{feed.Created: "created", feed.Updated: "updated", feed.Deleted: "deleted"} {
		if got := typ.String(); got != want {
			t.Errorf("%d.String() = %q, want %q", typ, got, want)
		}
	}
}

func TestStreamsBoundEachKeysOpenStreamsAndCountThem(t *testing.T) {
	s := feed.NewStreams(2)
	a, err1 := s.Open(1, feed.KindSSE)
	b, err2 := s.Open(1, feed.KindGraphQLWS)
	if err1 != nil || err2 != nil {
		t.Fatalf("the first two streams of a key were refused: %v, %v", err1, err2)
	}
	if _, err := s.Open(1, feed.KindSSE); task.ErrorCode(err) != task.CodeTooManySubscriptions {
		t.Errorf("a third stream of the key = %v, want %s", err, task.CodeTooManySubscriptions)
	}
	other, err := s.Open(2, feed.KindSSE)
	if err != nil {
		t.Errorf("another key's stream was refused: %v", err)
	}
	a.Sent(3)
	b.Sent(1)
	a.End(feed.EndTooSlow)
	a.End(feed.EndClosed) // only the first end counts
	if _, err := s.Open(1, feed.KindSSE); err != nil {
		t.Errorf("a place freed by an end was refused: %v", err)
	}
	if _, err := s.Open(1, feed.KindSSE); task.ErrorCode(err) != task.CodeTooManySubscriptions {
		t.Errorf("a double end freed two places")
	}
	other.End(feed.EndClosed)
	open, sent, ended := s.Stats()
	if open[feed.KindSSE] != 1 || open[feed.KindGraphQLWS] != 1 {
		t.Errorf("open = %v, want 1 sse and 1 graphql-ws", open)
	}
	if sent[feed.KindSSE] != 3 || sent[feed.KindGraphQLWS] != 1 {
		t.Errorf("sent = %v", sent)
	}
	if ended[feed.EndTooSlow] != 1 || ended[feed.EndClosed] != 1 {
		t.Errorf("ended = %v, want one too slow and one closed", ended)
	}
}
