package graph_test

import (
	"fmt"
	"slices"
	"testing"

	"github.com/99designs/gqlgen/client"

	"tasksapi/task"
)

type connectionJSON struct {
	Edges []struct {
		Cursor string `json:"cursor"`
		Node   struct {
			ID string `json:"id"`
		} `json:"node"`
	} `json:"edges"`
	PageInfo struct {
		HasNextPage     bool    `json:"hasNextPage"`
		HasPreviousPage bool    `json:"hasPreviousPage"`
		StartCursor     *string `json:"startCursor"`
		EndCursor       *string `json:"endCursor"`
	} `json:"pageInfo"`
	TotalCount int `json:"totalCount"`
}

func connection(t *testing.T, c *client.Client, args string, vars ...client.Option) connectionJSON {
	t.Helper()
	var out struct {
		TasksConnection connectionJSON `json:"tasksConnection"`
	}
	mustQuery(t, c, `query($after: String) { tasksConnection(`+args+`, after: $after) {
		edges { cursor node { id } } pageInfo { hasNextPage hasPreviousPage startCursor endCursor } totalCount } }`,
		&out, vars...)
	return out.TasksConnection
}

func TestTasksConnectionPagesThroughTheSameTasksAsTheList(t *testing.T) {
	tn, _, c := newServer(t)
	var ins []task.CreateInput
	for i := range 11 {
		in := task.CreateInput{Title: fmt.Sprintf("task %d", i%4), StartDatetime: mustDateTime(t, fmt.Sprintf("2026-07-%02dT10:00:00", 10+i%3)),
			DealID: ptr(1), Status: ptr(task.Status(i % 2))}
		if i%3 == 0 {
			in.EndDatetime = ptr(mustDateTime(t, "2026-08-01T00:00:00"))
		}
		ins = append(ins, in)
	}
	seed(t, tn, ins...)
	for _, sort := range []string{"ACTIVITY_ID", "TITLE", "STATUS", "END_DATETIME", "DUE_DATE"} {
		for _, order := range []string{"ASC", "DESC"} {
			t.Run(sort+" "+order, func(t *testing.T) {
				args := "sortBy: " + sort + ", sortOrder: " + order
				want := ids(listTasks(t, c, args+", pageSize: 100"))
				var got []string
				var after any
				for page := 0; ; page++ {
					conn := connection(t, c, "first: 3, "+args, client.Var("after", after))
					if conn.PageInfo.HasPreviousPage != (page > 0) || conn.TotalCount != len(want) {
						t.Errorf("page %d: hasPreviousPage %v, totalCount %d", page, conn.PageInfo.HasPreviousPage, conn.TotalCount)
					}
					for _, e := range conn.Edges {
						got = append(got, e.Node.ID)
					}
					if !conn.PageInfo.HasNextPage || page > 10 {
						break
					}
					after = *conn.PageInfo.EndCursor
				}
				if !slices.Equal(got, want) {
					t.Errorf("connection pages gave %v, the list %v", got, want)
				}
			})
		}
	}
}

func TestTasksConnectionRefusesBadArguments(t *testing.T) {
	tn, _, c := newServer(t)
	seed(t, tn, task.CreateInput{Title: "a", StartDatetime: mustDateTime(t, "2026-07-10T10:00:00"), DealID: ptr(1)},
		task.CreateInput{Title: "b", StartDatetime: mustDateTime(t, "2026-07-10T10:00:00"), DealID: ptr(1)})
	cursor := *connection(t, c, "first: 1, sortBy: TITLE").PageInfo.EndCursor
	flipped := []byte(cursor)
	flipped[3] ^= 1
	tests := []struct {
		name, args string
		after      any
		field      string
	}{
		{"a page size of zero is refused", "first: 0", nil, "first"},
		{"a cursor with a changed character is refused", "first: 1, sortBy: TITLE", string(flipped), "after"},
		{"a cut cursor is refused", "first: 1, sortBy: TITLE", cursor[:len(cursor)-3], "after"},
		{"a made-up cursor is refused", "first: 1, sortBy: TITLE", "eyJpIjoxfQ.AAAA", "after"},
		{"a cursor of another sort is refused", "first: 1, sortBy: STATUS", cursor, "after"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := mustFail(t, c, `query($after: String) { tasksConnection(`+tt.args+`, after: $after) { totalCount } }`,
				client.Var("after", tt.after))
			checkBadUserInput(t, e, tt.field)
		})
	}
}

func TestAOneTaskConnectionPageStartsAndEndsAtItsTask(t *testing.T) {
	tn, _, c := newServer(t)
	seed(t, tn, task.CreateInput{Title: "a", StartDatetime: mustDateTime(t, "2026-07-10T10:00:00"), DealID: ptr(1)})
	conn := connection(t, c, "first: 500")
	if len(conn.Edges) != 1 || conn.TotalCount != 1 || conn.PageInfo.HasNextPage || conn.PageInfo.StartCursor == nil ||
		*conn.PageInfo.StartCursor != conn.Edges[0].Cursor || *conn.PageInfo.EndCursor != conn.Edges[0].Cursor {
		t.Errorf("a one-task page: %+v", conn)
	}
}
