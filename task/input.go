package task

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Limits of the writable fields.
const (
	MaxTitleLength       = 150    // characters, after trimming
	MaxDescriptionLength = 10_000 // characters
	MaxTags              = 50     // distinct tag ids
)

// CreateInput is what a client may send to create a task. Pointers are
// optional fields: nil means "not sent" (or null) and takes the default.
type CreateInput struct {
	Title          string
	StartDatetime  DateTime
	EndDatetime    *DateTime
	Description    *string
	DealID         *int
	ContactID      *int
	Priority       *Priority
	Status         *Status
	AssignedUserID *int
	TagIDs         []int
}

// NewTask checks in against every rule of a task and returns the task it
// describes, with defaults applied and the due date derived. The server-set
// fields (ID, CreatedAt, UpdatedAt) are left for the store.
func NewTask(in CreateInput) (Task, error) {
	var errs fieldErrors
	t := Task{
		Title:          strings.TrimSpace(in.Title),
		Status:         DefaultStatus,
		Priority:       DefaultPriority,
		StartDatetime:  in.StartDatetime,
		EndDatetime:    in.EndDatetime,
		Description:    in.Description,
		DealID:         in.DealID,
		ContactID:      in.ContactID,
		AssignedUserID: in.AssignedUserID,
		TagIDs:         []int{},
	}

	switch n := utf8.RuneCountInString(t.Title); {
	case n == 0:
		errs.add("title", "is required")
	case n > MaxTitleLength:
		errs.add("title", fmt.Sprintf("must be at most %d characters", MaxTitleLength))
	}

	if t.StartDatetime.IsZero() {
		errs.add("startDatetime", "is required")
	} else if t.EndDatetime != nil && t.EndDatetime.Before(t.StartDatetime) {
		errs.add("endDatetime", "must not be before {startDatetime}")
	}
	t.DueDate = t.StartDatetime.Date()
	if t.EndDatetime != nil {
		t.DueDate = t.EndDatetime.Date()
	}

	if t.Description != nil && utf8.RuneCountInString(*t.Description) > MaxDescriptionLength {
		errs.add("description", fmt.Sprintf("must be at most %d characters", MaxDescriptionLength))
	}

	if in.DealID == nil && in.ContactID == nil {
		errs.add("dealId", "or {contactId} is required")
		errs.add("contactId", "or {dealId} is required")
	}
	checkPositive(&errs, "dealId", in.DealID)
	checkPositive(&errs, "contactId", in.ContactID)
	checkPositive(&errs, "assignedUserId", in.AssignedUserID)

	if in.Priority != nil {
		if !in.Priority.Valid() {
			errs.add("priority", msgPriorityRange)
		}
		t.Priority = *in.Priority
	}
	if in.Status != nil {
		if !in.Status.Valid() {
			errs.add("status", msgStatusRange)
		}
		t.Status = *in.Status
	}

	t.TagIDs = distinct(in.TagIDs)
	for _, id := range t.TagIDs {
		if id < 1 {
			errs.add("tagIds", "must contain only positive integers")
			break
		}
	}
	if len(t.TagIDs) > MaxTags {
		errs.add("tagIds", fmt.Sprintf("must hold at most %d distinct tag ids", MaxTags))
	}

	if err := errs.err(); err != nil {
		return Task{}, err
	}
	return t, nil
}

func checkPositive(errs *fieldErrors, field string, v *int) {
	if v != nil && *v < 1 {
		errs.add(field, "must be a positive integer")
	}
}

// distinct keeps the first occurrence of each id, in order; never nil.
func distinct(ids []int) []int {
	out := make([]int, 0, len(ids))
	seen := make(map[int]bool, len(ids))
	for _, id := range ids {
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}
