package rest

import (
	"encoding/json"
	"testing"
	"time"

	"tasksapi/task"
)

// wireTask is the documented wire shape of a task, for encoding/json: the
// reference that the hand-written encoder must match byte for byte.
type wireTask struct {
	ActivityID     int            `json:"activity_id"`
	Title          string         `json:"title"`
	ActivityType   string         `json:"activity_type"`
	Status         task.Status    `json:"status"`
	Priority       task.Priority  `json:"priority"`
	StartDatetime  task.DateTime  `json:"start_datetime"`
	EndDatetime    *task.DateTime `json:"end_datetime"`
	DueDate        task.Date      `json:"due_date"`
	Description    *string        `json:"description"`
	DealID         *int           `json:"deal_id"`
	Cstid          *int           `json:"cstid"`
	AssignedUserID *int           `json:"assigned_user_id"`
	Tags           []int          `json:"tags"`
	CreatedAt      task.DateTime  `json:"created_at"`
	UpdatedAt      task.DateTime  `json:"updated_at"`
	CompletedAt    *task.DateTime `json:"completed_at"`
	Version        int            `json:"version"`
}

func referenceTask(t task.Task) wireTask {
	tags := t.TagIDs
	if tags == nil {
		tags = []int{} // a task without tags has an empty list, never null
	}
	return wireTask{
		ActivityID: t.ID, Title: t.Title, ActivityType: t.ActivityType(),
		Status: t.Status, Priority: t.Priority,
		StartDatetime: t.StartDatetime, EndDatetime: t.EndDatetime, DueDate: t.DueDate,
		Description: t.Description, DealID: t.DealID, Cstid: t.ContactID,
		AssignedUserID: t.AssignedUserID, Tags: tags,
		CreatedAt: t.CreatedAt, UpdatedAt: t.UpdatedAt, CompletedAt: t.CompletedAt, Version: t.Version,
	}
}

// referenceJSON is v as encoding/json writes it in a response.
func referenceJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b) + "\n"
}

func ptr[T any](v T) *T { return &v }

// sampleTask is a task with every field set, its title s.
func sampleTask(s string) task.Task {
	start := task.NewDateTime(time.Date(2026, 7, 15, 10, 0, 0, 0, time.UTC))
	end := task.NewDateTime(time.Date(2026, 7, 15, 11, 30, 5, 0, time.UTC))
	return task.Task{
		ID: 9007199254740993, Title: s, Status: task.StatusNoShow, Priority: task.PriorityUrgent,
		StartDatetime: start, EndDatetime: &end, DueDate: start.Date(), Description: ptr("about " + s),
		DealID: ptr(-1), ContactID: ptr(0), AssignedUserID: ptr(42), TagIDs: []int{4, 7, 1 << 40},
		CreatedAt: start, UpdatedAt: end, CompletedAt: &end, Version: 1 << 40,
	}
}

func TestWireTask(t *testing.T) {
	bare := sampleTask("Call")
	bare.EndDatetime, bare.Description, bare.DealID, bare.ContactID, bare.AssignedUserID = nil, nil, nil, nil, nil
	bare.CompletedAt = nil
	noTags := sampleTask("Call")
	noTags.TagIDs = nil
	emptyTags := sampleTask("Call")
	emptyTags.TagIDs = []int{}

	tests := []struct {
		name string
		task task.Task
	}{
		{"a task with every field set is written as encoding/json writes it", sampleTask("Follow up with Sarah")},
		{"unset optional fields are written as null", bare},
		{"a task without tags has an empty list", noTags},
		{"an empty tag list is an empty list", emptyTags},
		{"quotes and backslashes are escaped", sampleTask(`say "hi" \ bye`)},
		{"control characters are escaped", sampleTask("a\x00b\x01c\bd\fe\nf\rg\th\x1fi\x7f")},
		{"<, > and & are escaped for HTML", sampleTask("<script>a && b</script>")},
		{"line and paragraph separators are escaped for JavaScript", sampleTask("a\u2028b\u2029c")},
		{"invalid UTF-8 becomes U+FFFD", sampleTask("a\xffb\xc3(c\xed\xa0\x80d")},
		{"other Unicode is written as it is", sampleTask("José García 🎉 ÿ")},
		{"an empty title is an empty string", sampleTask("")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := string(appendTask(nil, tt.task)) + "\n"
			if want := referenceJSON(t, referenceTask(tt.task)); got != want {
				t.Errorf("appendTask wrote\n%s want\n%s", got, want)
			}
		})
	}
}

func TestWireEnvelopes(t *testing.T) {
	one, two := sampleTask("one <1>"), sampleTask("two")
	type pageData struct {
		Data         []wireTask `json:"data"`
		CurrentPage  int        `json:"current_page"`
		TotalRecords int        `json:"total_records"`
		TotalPages   int        `json:"total_pages"`
	}
	type success struct {
		Success bool   `json:"success"`
		Message string `json:"message,omitempty"`
		Data    any    `json:"data"`
	}

	tests := []struct {
		name string
		got  []byte
		want any
	}{
		{"a page of tasks is written as encoding/json writes it",
			appendPageBody(nil, task.Page{Items: []task.Task{one, two}, TotalRecords: 23, PageSize: 2, PageIndex: 3}),
			success{Success: true, Data: pageData{Data: []wireTask{referenceTask(one), referenceTask(two)},
				CurrentPage: 4, TotalRecords: 23, TotalPages: 12}}},
		{"an empty page has an empty list",
			appendPageBody(nil, task.Page{Items: []task.Task{}, PageSize: 10}),
			success{Success: true, Data: pageData{Data: []wireTask{}, CurrentPage: 1}}},
		{"a task is written in the envelope",
			appendTaskBody(nil, "", one),
			success{Success: true, Data: referenceTask(one)}},
		{"a created task comes with its message",
			appendTaskBody(nil, `Task "activity" created.`, one),
			success{Success: true, Message: `Task "activity" created.`, Data: referenceTask(one)}},
		{"a delete names the task that is gone, with its message",
			appendDeletedBody(nil, "Task <activity> deleted.", 9007199254740993),
			success{Success: true, Message: "Task <activity> deleted.", Data: struct {
				ActivityID int `json:"activity_id"`
			}{9007199254740993}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if want := referenceJSON(t, tt.want); string(tt.got) != want {
				t.Errorf("wrote\n%s want\n%s", tt.got, want)
			}
		})
	}
}

func FuzzWireTask(f *testing.F) {
	f.Add("Follow up", "with Sarah", 1, 0, 2, int64(1784109600), true)
	f.Add("a\u2028<b>&\"\\\x00", "\xff\xfe", -5, 9, -1, int64(-62135596800), false)
	f.Fuzz(func(t *testing.T, title, description string, id, status, priority int, unix int64, optional bool) {
		at := task.NewDateTime(time.Unix(unix%(1<<35), 0)) // within years 0 to 9999
		tk := task.Task{
			ID: id, Title: title, Status: task.Status(status), Priority: task.Priority(priority),
			StartDatetime: at, DueDate: at.Date(), TagIDs: []int{id, status}, CreatedAt: at, UpdatedAt: at,
			Version: priority,
		}
		if optional {
			tk.EndDatetime, tk.Description, tk.DealID, tk.ContactID, tk.AssignedUserID = &at, &description, &id, &status, &priority
			tk.CompletedAt = &at
		}
		got := string(appendTask(nil, tk)) + "\n"
		if want := referenceJSON(t, referenceTask(tk)); got != want {
			t.Errorf("appendTask wrote\n%s want\n%s", got, want)
		}
	})
}
