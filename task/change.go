package task

import (
	"slices"
)

// Patch is one field of a change, in three states: left out (Set false)
// keeps the field's value; null (Set, Value nil) clears it; a value (Set,
// Value not nil) replaces it, checked by the rules of a create.
type Patch[T any] struct {
	Set   bool
	Value *T
}

// Left out, null and a value, for building changes.
func Keep[T any]() Patch[T]    { return Patch[T]{} }
func Clear[T any]() Patch[T]   { return Patch[T]{Set: true} }
func To[T any](v T) Patch[T]   { return Patch[T]{Set: true, Value: &v} }
func (p Patch[T]) null() bool  { return p.Set && p.Value == nil }
func (p Patch[T]) given() bool { return p.Set && p.Value != nil }

// UpdateInput is what a client may send to change a task: the writable
// fields of a create, each a Patch.
type UpdateInput struct {
	Title          Patch[string]
	StartDatetime  Patch[DateTime]
	EndDatetime    Patch[DateTime]
	Description    Patch[string]
	DealID         Patch[int]
	ContactID      Patch[int]
	Priority       Patch[Priority]
	Status         Patch[Status]
	AssignedUserID Patch[int]
	TagIDs         Patch[[]int]
}

// Expect is the condition of a conditional change on the task's current
// version. The zero value accepts any version: the change is
// unconditional.
type Expect struct {
	conditional bool
	versions    []int
}

// AnyVersion accepts every version of an existing task.
func AnyVersion() Expect { return Expect{} }

// OneOf accepts only the given versions; with none, no version at all
// (a condition that cannot hold, such as REST's weak entity tags).
func OneOf(versions ...int) Expect { return Expect{conditional: true, versions: versions} }

// Check returns nil when e accepts the version, else the conflict error.
func (e Expect) Check(version int) error {
	if e.conditional && !slices.Contains(e.versions, version) {
		return VersionConflict(version)
	}
	return nil
}

// Created stamps a new task, made by NewTask, as stored at the given
// time: created and updated then, version 1, and completed then if it
// starts out Completed.
func (t *Task) Created(at DateTime) {
	t.CreatedAt, t.UpdatedAt, t.Version = at, at, 1
	t.CompletedAt = nil
	if t.Status == StatusCompleted {
		t.CompletedAt = &at
	}
}

// Apply returns t changed by in at the given time, and the domain names
// of the fields whose values changed, derived ones (dueDate, completedAt)
// included, sorted. Every rule of a create holds for the task as it would
// be after the change, so a rule on two fields sees the stored value of
// the one not sent; null is refused for the fields a task must have. When
// nothing changes, t comes back as it is, with no fields: its version and
// updatedAt stay.
func (t Task) Apply(in UpdateInput, at DateTime) (Task, []string, error) {
	var errs fieldErrors
	refuseNull := func(field string, null bool) {
		if null {
			errs.add(field, "must not be null")
		}
	}
	refuseNull("title", in.Title.null())
	refuseNull("startDatetime", in.StartDatetime.null())
	refuseNull("status", in.Status.null())
	refuseNull("priority", in.Priority.null())

	// The task as it would be, as a create would describe it, so that
	// NewTask checks it by the very rules of a create.
	merged := CreateInput{
		Title:          pick(in.Title, t.Title),
		StartDatetime:  pick(in.StartDatetime, t.StartDatetime),
		EndDatetime:    pickOptional(in.EndDatetime, t.EndDatetime),
		Description:    pickOptional(in.Description, t.Description),
		DealID:         pickOptional(in.DealID, t.DealID),
		ContactID:      pickOptional(in.ContactID, t.ContactID),
		Priority:       ptrTo(pick(in.Priority, t.Priority)),
		Status:         ptrTo(pick(in.Status, t.Status)),
		AssignedUserID: pickOptional(in.AssignedUserID, t.AssignedUserID),
		TagIDs:         t.TagIDs,
	}
	if in.TagIDs.Set { // null clears the tags
		merged.TagIDs = []int{}
		if in.TagIDs.Value != nil {
			merged.TagIDs = *in.TagIDs.Value
		}
	}
	next, err := NewTask(merged)
	if err != nil {
		errs = append(errs, blameSent(err.(*Error).Fields, in)...)
	}
	if err := errs.err(); err != nil {
		return Task{}, nil, err
	}

	next.ID, next.CreatedAt, next.UpdatedAt, next.Version = t.ID, t.CreatedAt, t.UpdatedAt, t.Version
	next.CompletedAt = t.CompletedAt
	switch {
	case next.Status != StatusCompleted:
		next.CompletedAt = nil
	case t.Status != StatusCompleted:
		next.CompletedAt = &at
	}
	fields := ChangedFields(t, next)
	if len(fields) == 0 {
		return t, nil, nil
	}
	next.UpdatedAt = at
	next.Version = t.Version + 1
	return next, fields, nil
}

// blameSent files each broken rule under a field the change sent. The
// one rule a change can break with a field it did not send is the end
// before the start: sent only a new start, it is the start that is wrong.
func blameSent(errs []FieldError, in UpdateInput) []FieldError {
	out := make([]FieldError, 0, len(errs))
	for _, fe := range errs {
		if fe.Field == "endDatetime" && !in.EndDatetime.Set && in.StartDatetime.Set {
			fe = FieldError{Field: "startDatetime", Message: "must not be after {endDatetime}"}
		}
		out = append(out, fe)
	}
	return out
}

// pick is the value a required field will have: the patch's, else the
// stored one (a null was refused above; the stored value stands in).
func pick[T any](p Patch[T], stored T) T {
	if p.given() {
		return *p.Value
	}
	return stored
}

// pickOptional is the value an optional field will have: nil when the
// patch clears it.
func pickOptional[T any](p Patch[T], stored *T) *T {
	if p.Set {
		return p.Value
	}
	return stored
}

func ptrTo[T any](v T) *T { return &v }

// ChangedFields lists, sorted, the domain names of the fields whose values
// differ between two states of a task. The server's bookkeeping (id,
// version, createdAt, updatedAt) is not a change of its own.
func ChangedFields(before, after Task) []string {
	var fields []string
	add := func(name string, differs bool) {
		if differs {
			fields = append(fields, name)
		}
	}
	add("assignedUserId", !equalPtr(before.AssignedUserID, after.AssignedUserID))
	add("completedAt", !equalPtr(before.CompletedAt, after.CompletedAt))
	add("contactId", !equalPtr(before.ContactID, after.ContactID))
	add("dealId", !equalPtr(before.DealID, after.DealID))
	add("description", !equalPtr(before.Description, after.Description))
	add("dueDate", before.DueDate != after.DueDate)
	add("endDatetime", !equalPtr(before.EndDatetime, after.EndDatetime))
	add("priority", before.Priority != after.Priority)
	add("startDatetime", before.StartDatetime != after.StartDatetime)
	add("status", before.Status != after.Status)
	add("tagIds", !slices.Equal(before.TagIDs, after.TagIDs))
	add("title", before.Title != after.Title)
	return fields
}

// equalPtr compares optional values. DateTime and Date hold UTC readings
// without a monotonic part, so == compares their instants.
func equalPtr[T comparable](a, b *T) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}
