package task_test

import (
	"slices"
	"strings"
	"testing"

	"tasksapi/task"
)

// stored is a task as the store would hand it to Apply: created, version
// 3, with every optional field set.
func stored(t *testing.T) task.Task {
	t.Helper()
	tk, err := task.NewTask(task.CreateInput{
		Title: "Call Sarah", StartDatetime: mustDateTime(t, "2026-07-15T10:00:00"),
		EndDatetime: ptr(mustDateTime(t, "2026-07-16T11:00:00")), Description: ptr("notes"),
		DealID: ptr(3), ContactID: ptr(10), AssignedUserID: ptr(7), TagIDs: []int{4, 7},
		Priority: ptr(task.PriorityHigh),
	})
	if err != nil {
		t.Fatalf("NewTask: %v", err)
	}
	tk.ID = 42
	tk.Created(mustDateTime(t, "2026-07-01T08:00:00"))
	tk.Version = 3
	return tk
}

func TestApply(t *testing.T) {
	at := mustDateTime(t, "2026-07-20T12:00:00")
	tests := []struct {
		name   string
		in     func(t *testing.T) task.UpdateInput
		check  func(t *testing.T, before, after task.Task)
		fields []string
	}{
		{
			name:   "a field left out keeps its value",
			in:     func(*testing.T) task.UpdateInput { return task.UpdateInput{Title: task.To("Call Sarah back")} },
			fields: []string{"title"},
			check: func(t *testing.T, before, after task.Task) {
				if after.Title != "Call Sarah back" || after.Priority != before.Priority || *after.DealID != 3 ||
					!slices.Equal(after.TagIDs, before.TagIDs) || *after.Description != "notes" {
					t.Errorf("after = %+v", after)
				}
			},
		},
		{
			name:   "the title is trimmed as in a create",
			in:     func(*testing.T) task.UpdateInput { return task.UpdateInput{Title: task.To("  Renamed  ")} },
			fields: []string{"title"},
			check: func(t *testing.T, _, after task.Task) {
				if after.Title != "Renamed" {
					t.Errorf("title = %q, want it trimmed", after.Title)
				}
			},
		},
		{
			name: "null clears each optional field, and tags to none",
			in: func(*testing.T) task.UpdateInput {
				return task.UpdateInput{EndDatetime: task.Clear[task.DateTime](), Description: task.Clear[string](),
					DealID: task.Clear[int](), AssignedUserID: task.Clear[int](), TagIDs: task.Clear[[]int]()}
			},
			fields: []string{"assignedUserId", "dealId", "description", "dueDate", "endDatetime", "tagIds"},
			check: func(t *testing.T, _, after task.Task) {
				if after.EndDatetime != nil || after.Description != nil || after.DealID != nil || after.AssignedUserID != nil {
					t.Errorf("optional fields not cleared: %+v", after)
				}
				if after.TagIDs == nil || len(after.TagIDs) != 0 {
					t.Errorf("tags = %#v, want an empty list", after.TagIDs)
				}
			},
		},
		{
			name:   "the due date follows the start when the end is cleared",
			in:     func(*testing.T) task.UpdateInput { return task.UpdateInput{EndDatetime: task.Clear[task.DateTime]()} },
			fields: []string{"dueDate", "endDatetime"},
			check: func(t *testing.T, _, after task.Task) {
				if after.DueDate.String() != "2026-07-15" {
					t.Errorf("due date = %s, want the start's date", after.DueDate)
				}
			},
		},
		{
			name: "the due date follows a new end",
			in: func(t *testing.T) task.UpdateInput {
				return task.UpdateInput{EndDatetime: task.To(mustDateTime(t, "2026-08-01T09:00:00"))}
			},
			fields: []string{"dueDate", "endDatetime"},
			check: func(t *testing.T, _, after task.Task) {
				if after.DueDate.String() != "2026-08-01" {
					t.Errorf("due date = %s, want the new end's date", after.DueDate)
				}
			},
		},
		{
			name:   "becoming Completed sets completedAt to the change's time",
			in:     func(*testing.T) task.UpdateInput { return task.UpdateInput{Status: task.To(task.StatusCompleted)} },
			fields: []string{"completedAt", "status"},
			check: func(t *testing.T, _, after task.Task) {
				if after.CompletedAt == nil || *after.CompletedAt != at {
					t.Errorf("completedAt = %v, want %s", after.CompletedAt, at)
				}
			},
		},
		{
			name:   "a change of a value changes version and updatedAt",
			in:     func(*testing.T) task.UpdateInput { return task.UpdateInput{Priority: task.To(task.PriorityLow)} },
			fields: []string{"priority"},
			check: func(t *testing.T, before, after task.Task) {
				if after.Version != before.Version+1 || after.UpdatedAt != at {
					t.Errorf("version %d, updatedAt %s; want %d and %s", after.Version, after.UpdatedAt, before.Version+1, at)
				}
				if after.ID != before.ID || after.CreatedAt != before.CreatedAt {
					t.Errorf("id or createdAt changed: %+v", after)
				}
			},
		},
		{
			name:   "an empty change alters nothing, version and updatedAt included",
			in:     func(*testing.T) task.UpdateInput { return task.UpdateInput{} },
			fields: nil,
			check: func(t *testing.T, before, after task.Task) {
				if after.Version != before.Version || after.UpdatedAt != before.UpdatedAt {
					t.Errorf("an empty change moved version %d -> %d, updatedAt %s -> %s",
						before.Version, after.Version, before.UpdatedAt, after.UpdatedAt)
				}
			},
		},
		{
			name: "sending the values the task has alters nothing",
			in: func(t *testing.T) task.UpdateInput {
				return task.UpdateInput{Title: task.To("Call Sarah"), Priority: task.To(task.PriorityHigh),
					TagIDs: task.To([]int{4, 7, 4}), DealID: task.To(3),
					EndDatetime: task.To(mustDateTime(t, "2026-07-16T11:00:00"))}
			},
			fields: nil,
			check: func(t *testing.T, before, after task.Task) {
				if after.Version != before.Version {
					t.Errorf("version moved to %d", after.Version)
				}
			},
		},
		{
			name:   "tags are de-duplicated as in a create",
			in:     func(*testing.T) task.UpdateInput { return task.UpdateInput{TagIDs: task.To([]int{9, 9, 8})} },
			fields: []string{"tagIds"},
			check: func(t *testing.T, _, after task.Task) {
				if !slices.Equal(after.TagIDs, []int{9, 8}) {
					t.Errorf("tags = %v, want [9 8]", after.TagIDs)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := stored(t)
			after, fields, err := before.Apply(tt.in(t), at)
			if err != nil {
				t.Fatalf("Apply: %v", err)
			}
			if !slices.Equal(fields, tt.fields) {
				t.Errorf("changed fields = %v, want %v", fields, tt.fields)
			}
			tt.check(t, before, after)
		})
	}
}

func TestApplyKeepsCompletedAtWhileCompletedAndClearsItAfter(t *testing.T) {
	at := mustDateTime(t, "2026-07-20T12:00:00")
	later := mustDateTime(t, "2026-07-21T12:00:00")
	done, _, err := stored(t).Apply(task.UpdateInput{Status: task.To(task.StatusCompleted)}, at)
	if err != nil {
		t.Fatal(err)
	}
	renamed, _, err := done.Apply(task.UpdateInput{Title: task.To("Renamed"), Status: task.To(task.StatusCompleted)}, later)
	if err != nil {
		t.Fatal(err)
	}
	if renamed.CompletedAt == nil || *renamed.CompletedAt != at {
		t.Errorf("a change of a completed task moved completedAt to %v, want %s", renamed.CompletedAt, at)
	}
	reopened, fields, err := renamed.Apply(task.UpdateInput{Status: task.To(task.StatusInProgress)}, later)
	if err != nil {
		t.Fatal(err)
	}
	if reopened.CompletedAt != nil {
		t.Errorf("leaving Completed kept completedAt %s", reopened.CompletedAt)
	}
	if !slices.Equal(fields, []string{"completedAt", "status"}) {
		t.Errorf("changed fields = %v", fields)
	}
}

func TestApplyRefusals(t *testing.T) {
	at := mustDateTime(t, "2026-07-20T12:00:00")
	tests := []struct {
		name   string
		in     func(t *testing.T) task.UpdateInput
		fields []string
	}{
		{"null for the title is refused", func(*testing.T) task.UpdateInput {
			return task.UpdateInput{Title: task.Clear[string]()}
		}, []string{"title"}},
		{"null for the start is refused", func(*testing.T) task.UpdateInput {
			return task.UpdateInput{StartDatetime: task.Clear[task.DateTime]()}
		}, []string{"startDatetime"}},
		{"null for the status is refused", func(*testing.T) task.UpdateInput {
			return task.UpdateInput{Status: task.Clear[task.Status]()}
		}, []string{"status"}},
		{"null for the priority is refused", func(*testing.T) task.UpdateInput {
			return task.UpdateInput{Priority: task.Clear[task.Priority]()}
		}, []string{"priority"}},
		{"a title of only spaces is refused as in a create", func(*testing.T) task.UpdateInput {
			return task.UpdateInput{Title: task.To("   ")}
		}, []string{"title"}},
		{"a 151-character title is refused", func(*testing.T) task.UpdateInput {
			return task.UpdateInput{Title: task.To(strings.Repeat("é", 151))}
		}, []string{"title"}},
		{"a status out of range is refused", func(*testing.T) task.UpdateInput {
			return task.UpdateInput{Status: task.To(task.Status(5))}
		}, []string{"status"}},
		{"an end before the stored start is refused on the end", func(t *testing.T) task.UpdateInput {
			return task.UpdateInput{EndDatetime: task.To(mustDateTime(t, "2026-07-14T10:00:00"))}
		}, []string{"endDatetime"}},
		{"a start after the stored end is refused on the start", func(t *testing.T) task.UpdateInput {
			return task.UpdateInput{StartDatetime: task.To(mustDateTime(t, "2026-07-17T10:00:00"))}
		}, []string{"startDatetime"}},
		{"clearing both the deal and the contact is refused on both", func(*testing.T) task.UpdateInput {
			return task.UpdateInput{DealID: task.Clear[int](), ContactID: task.Clear[int]()}
		}, []string{"contactId", "dealId"}},
		{"a zero deal is refused", func(*testing.T) task.UpdateInput {
			return task.UpdateInput{DealID: task.To(0)}
		}, []string{"dealId"}},
		{"51 distinct tags are refused", func(*testing.T) task.UpdateInput {
			tags := make([]int, 51)
			for i := range tags {
				tags[i] = i + 1
			}
			return task.UpdateInput{TagIDs: task.To(tags)}
		}, []string{"tagIds"}},
		{"every broken rule is reported at once", func(*testing.T) task.UpdateInput {
			return task.UpdateInput{Title: task.Clear[string](), AssignedUserID: task.To(-1)}
		}, []string{"assignedUserId", "title"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := stored(t).Apply(tt.in(t), at)
			wantInvalid(t, err, tt.fields...)
		})
	}
}

func TestApplyWithOnlyTheStartSentNamesTheEndInItsMessage(t *testing.T) {
	_, _, err := stored(t).Apply(task.UpdateInput{StartDatetime: task.To(mustDateTime(t, "2026-07-17T10:00:00"))},
		mustDateTime(t, "2026-07-20T12:00:00"))
	e := err.(*task.Error)
	if got := e.Fields[0].Text(func(s string) string { return s }); got != "startDatetime must not be after endDatetime" {
		t.Errorf("message = %q", got)
	}
}

func TestCreatedStampsANewTask(t *testing.T) {
	at := mustDateTime(t, "2026-07-01T08:00:00")
	tests := []struct {
		name      string
		status    task.Status
		completed bool
	}{
		{"an open task has no completion time", task.StatusOpen, false},
		{"a task created as Completed is completed when it is created", task.StatusCompleted, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tk, err := task.NewTask(task.CreateInput{Title: "x", StartDatetime: at, ContactID: ptr(1), Status: &tt.status})
			if err != nil {
				t.Fatal(err)
			}
			tk.Created(at)
			if tk.Version != 1 || tk.CreatedAt != at || tk.UpdatedAt != at {
				t.Errorf("stamped %+v, want version 1 and both times %s", tk, at)
			}
			if got := tk.CompletedAt != nil && *tk.CompletedAt == at; got != tt.completed {
				t.Errorf("completedAt = %v", tk.CompletedAt)
			}
		})
	}
}

func TestExpect(t *testing.T) {
	tests := []struct {
		name     string
		expect   task.Expect
		version  int
		conflict bool
	}{
		{"no condition accepts any version", task.AnyVersion(), 7, false},
		{"the version expected is accepted", task.OneOf(7), 7, false},
		{"one of several versions expected is accepted", task.OneOf(3, 7), 7, false},
		{"another version is a conflict", task.OneOf(6), 7, true},
		{"a condition naming no version is a conflict", task.OneOf(), 7, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.expect.Check(tt.version)
			if !tt.conflict {
				if err != nil {
					t.Fatalf("Check(%d) = %v, want nil", tt.version, err)
				}
				return
			}
			e, ok := err.(*task.Error)
			if !ok || e.Code != task.CodeVersionConflict || e.CurrentVersion != tt.version {
				t.Fatalf("Check(%d) = %#v, want a version conflict naming version %d", tt.version, err, tt.version)
			}
		})
	}
}

func TestChangedFieldsNamesEveryFieldThatDiffers(t *testing.T) {
	before := stored(t)
	after := before
	after.Title = "other"
	after.Status = task.StatusCancelled
	after.Priority = task.PriorityNone
	after.StartDatetime = mustDateTime(t, "2026-07-15T10:00:01")
	after.EndDatetime = nil
	after.DueDate = mustDate(t, "2026-07-15")
	after.Description = ptr("other")
	after.DealID = ptr(4)
	after.ContactID = nil
	after.AssignedUserID = ptr(8)
	after.TagIDs = []int{7, 4}
	after.CompletedAt = ptr(mustDateTime(t, "2026-07-20T12:00:00"))
	after.Version, after.UpdatedAt = 9, mustDateTime(t, "2026-07-20T12:00:00")
	want := []string{"assignedUserId", "completedAt", "contactId", "dealId", "description", "dueDate",
		"endDatetime", "priority", "startDatetime", "status", "tagIds", "title"}
	if got := task.ChangedFields(before, after); !slices.Equal(got, want) {
		t.Errorf("ChangedFields = %v,\nwant %v (sorted, without version or updatedAt)", got, want)
	}
	if got := task.ChangedFields(before, before); len(got) != 0 {
		t.Errorf("ChangedFields of a task and itself = %v", got)
	}
}
