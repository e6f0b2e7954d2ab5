// Package task is the domain of the tasks API: the Task type, its enums and
// date scalars, the rules that turn client input into a valid task or list
// query, and the error type every layer speaks. Both the GraphQL and REST
// interfaces call into this package, so each rule is written here once.
package task

import (
	"context"
	"fmt"
	"strconv"
)

// Task is a to-do linked to a deal or a contact.
type Task struct {
	ID             int
	Title          string
	Status         Status
	Priority       Priority
	StartDatetime  DateTime
	EndDatetime    *DateTime
	DueDate        Date
	Description    *string
	DealID         *int
	ContactID      *int
	AssignedUserID *int
	TagIDs         []int
	CreatedAt      DateTime
	UpdatedAt      DateTime
	// CompletedAt is when the status last became Completed; nil while the
	// status is anything else.
	CompletedAt *DateTime
	// Version is 1 when the task is created and grows by one with every
	// change that alters a value: the task's entity tag.
	Version int
}

// ActivityType is fixed: every record this API serves is a task.
func (Task) ActivityType() string { return "Task" }

// Status is where a task stands. The numbers are the REST wire values.
type Status int

const (
	StatusOpen Status = iota
	StatusInProgress
	StatusCompleted
	StatusCancelled
	StatusNoShow
)

// Valid reports whether s is one of the defined statuses.
func (s Status) Valid() bool { return s >= StatusOpen && s <= StatusNoShow }

// Priority is how urgent a task is. The numbers are the REST wire values.
type Priority int

const (
	PriorityNone Priority = iota
	PriorityLow
	PriorityMedium
	PriorityHigh
	PriorityUrgent
)

// Valid reports whether p is one of the defined priorities.
func (p Priority) Valid() bool { return p >= PriorityNone && p <= PriorityUrgent }

// The messages that refuse what Valid does not accept, for any field of
// these types.
var (
	msgStatusRange   = fmt.Sprintf("must be between %d and %d", StatusOpen, StatusNoShow)
	msgPriorityRange = fmt.Sprintf("must be between %d and %d", PriorityNone, PriorityUrgent)
)

// Defaults applied when a client leaves a field out (or sends null).
const (
	DefaultStatus   = StatusOpen
	DefaultPriority = PriorityMedium
)

// Service is what the interfaces need from storage. Implementations must run
// every input through NewTask, ListParams.Query and ConnectionParams.Query,
// so that no caller can bypass a rule. Every call acts for the
// organisation of the principal in its context (see package access).
type Service interface {
	// CreateTask validates in and stores the new task.
	CreateTask(ctx context.Context, in CreateInput) (Task, error)
	// Task returns the task with the given id, or an error with code NotFound.
	Task(ctx context.Context, id int) (Task, error)
	// ListTasks returns one page of the tasks matching p.
	ListTasks(ctx context.Context, p ListParams) (Page, error)
	// TaskConnection returns the tasks matching p after its cursor.
	TaskConnection(ctx context.Context, p ConnectionParams) (Connection, error)
	// UpdateTask changes the task with the given id by in (see
	// Task.Apply), if its version is one that expect accepts. A change that
	// alters nothing writes nothing and returns the task as it is.
	UpdateTask(ctx context.Context, id int, in UpdateInput, expect Expect) (Task, error)
	// DeleteTask removes the task with the given id, if its version is one
	// that expect accepts, and returns it as it was. Its id is never used
	// again.
	DeleteTask(ctx context.Context, id int, expect Expect) (Task, error)
}

// ParseID reads a task id as sent in a URL path or a GraphQL ID: a
// positive integer in plain digits, so that each task has one spelling.
func ParseID(field, s string) (int, error) {
	id, err := strconv.Atoi(s)
	if err != nil || id < 1 || s[0] == '+' || s[0] == '0' {
		return 0, Invalid(field, "must be a positive integer")
	}
	return id, nil
}
