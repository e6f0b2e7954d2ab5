package postgres

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5/pgtype"

	"tasksapi/access"
	"tasksapi/task"
)

// taskColumns is the select list a taskScanner reads, in its order.
const taskColumns = `id, title, status, priority, start_datetime, end_datetime, due_date,
	description, deal_id, contact_id, assigned_user_id, created_at, updated_at, tag_ids,
	completed_at, version`

// organisation is the organisation whose tasks a request may see. A store
// call without one is a bug, and fails closed.
func organisation(ctx context.Context) (int, error) {
	p, ok := access.FromContext(ctx)
	if !ok {
		return 0, errors.New("no organisation in the request context")
	}
	return p.OrganisationID, nil
}

// rowScanner is a pgx row or rows.
type rowScanner interface{ Scan(dest ...any) error }

// taskScanner reads rows of taskColumns (then any extra columns) into
// destinations it keeps from row to row: a page's rows share them rather
// than each allocating its own.
type taskScanner struct {
	id, version               int64
	status, priority          int16
	title                     string
	start, created, update    pgtype.Timestamp
	due                       pgtype.Date
	end, completed            pgtype.Timestamp
	description               pgtype.Text
	deal, contact, assignedTo pgtype.Int8
	tags                      []int
	dest                      []any
}

// newTaskScanner reads taskColumns, then the columns after them into
// extra's pointers (nil skips a column).
func newTaskScanner(extra ...any) *taskScanner {
	s := &taskScanner{}
	s.dest = append([]any{&s.id, &s.title, &s.status, &s.priority, &s.start, &s.end, &s.due,
		&s.description, &s.deal, &s.contact, &s.assignedTo, &s.created, &s.update, &s.tags,
		&s.completed, &s.version}, extra...)
	return s
}

// optional holds a task's optional fields, so that one allocation serves
// every pointer of a row.
type optional struct {
	end         task.DateTime
	completed   task.DateTime
	description string
	ids         [3]int // deal, contact, assigned user
}

// scan reads one row into a task.
func (s *taskScanner) scan(row rowScanner) (task.Task, error) {
	if err := row.Scan(s.dest...); err != nil {
		return task.Task{}, err
	}
	t := task.Task{ID: int(s.id), Title: s.title, Status: task.Status(s.status), Priority: task.Priority(s.priority),
		StartDatetime: task.NewDateTime(s.start.Time), DueDate: task.NewDateTime(s.due.Time).Date(),
		CreatedAt: task.NewDateTime(s.created.Time), UpdatedAt: task.NewDateTime(s.update.Time),
		TagIDs: append(make([]int, 0, len(s.tags)), s.tags...), Version: int(s.version)}
	o := new(optional)
	if s.end.Valid {
		o.end = task.NewDateTime(s.end.Time)
		t.EndDatetime = &o.end
	}
	if s.completed.Valid {
		o.completed = task.NewDateTime(s.completed.Time)
		t.CompletedAt = &o.completed
	}
	if s.description.Valid {
		o.description = s.description.String
		t.Description = &o.description
	}
	ids := [...]struct {
		n   pgtype.Int8
		dst **int
	}{{s.deal, &t.DealID}, {s.contact, &t.ContactID}, {s.assignedTo, &t.AssignedUserID}}
	for i, id := range ids {
		if id.n.Valid {
			o.ids[i] = int(id.n.Int64)
			*id.dst = &o.ids[i]
		}
	}
	return t, nil
}
