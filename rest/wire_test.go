package rest

import (
	"bytes"
	"encoding/json"
	"maps"
	"slices"
	"sort"
	"testing"
	"time"

	"tasksapi/feed"
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

// wireChange is the documented wire shape of a change of the feed, for
// encoding/json.
type wireChange struct {
	Seq        int64         `json:"seq"`
	Type       string        `json:"type"`
	ActivityID int           `json:"activity_id"`
	At         task.DateTime `json:"at"`
	Fields     []string      `json:"fields"`
	Task       *wireTask     `json:"task"`
}

// restFieldNames are the REST names of the domain's field names, as the
// contract lists them: the reference the name table is held to.
var restFieldNames = map[string]string{
	"title": "title", "status": "status", "priority": "priority", "description": "description",
	"startDatetime": "start_datetime", "endDatetime": "end_datetime", "dueDate": "due_date",
	"dealId": "deal_id", "contactId": "cstid", "assignedUserId": "assigned_user_id", "tagIds": "tags",
	"completedAt": "completed_at",
}

// referenceChange is c in its documented shape, fields given in REST
// names and sorted in them.
func referenceChange(c feed.Change) wireChange {
	fields := []string{}
	for _, f := range c.Fields {
		fields = append(fields, restFieldNames[f])
	}
	sort.Strings(fields)
	w := wireChange{Seq: c.Seq, Type: c.Type.String(), ActivityID: c.TaskID, At: c.At, Fields: fields}
	if c.Task != nil {
		t := referenceTask(*c.Task)
		w.Task = &t
	}
	return w
}

func sampleChange(typ feed.Type, fields ...string) feed.Change {
	tk := sampleTask("Follow up <with> Sarah")
	c := feed.Change{Seq: feed.MaxSeq, Type: typ, TaskID: tk.ID, At: tk.UpdatedAt, Fields: fields, Task: &tk}
	if typ == feed.Deleted {
		c.Task = nil
	}
	return c
}

func TestWireChange(t *testing.T) {
	every := task.ChangedFields(sampleTask("a"), task.Task{})
	tests := []struct {
		name   string
		change feed.Change
		fields []string // in the REST form
	}{
		{"a create has no fields and the task as created", sampleChange(feed.Created), []string{}},
		{"a create whose fields are an empty list has no fields", sampleChange(feed.Created, []string{}...), []string{}},
		{"an update names its fields in REST names", sampleChange(feed.Updated, "contactId", "tagIds"), []string{"cstid", "tags"}},
		{"an update's fields are sorted in REST names, not the domain's",
			sampleChange(feed.Updated, "dealId", "description", "dueDate", "endDatetime"),
			[]string{"deal_id", "description", "due_date", "end_datetime"}},
		{"an update of every field names them all, derived ones included", sampleChange(feed.Updated, every...),
			[]string{"assigned_user_id", "completed_at", "cstid", "deal_id", "description", "due_date", "end_datetime",
				"priority", "start_datetime", "status", "tags", "title"}},
		{"a delete has no fields and a null task", sampleChange(feed.Deleted), []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ChangeJSON(&tt.change)
			if want := referenceJSON(t, referenceChange(tt.change)); string(got)+"\n" != want {
				t.Errorf("ChangeJSON wrote\n%s\nwant\n%s", got, want)
			}
			var decoded wireChange
			if err := json.Unmarshal(got, &decoded); err != nil || !slices.Equal(decoded.Fields, tt.fields) {
				t.Errorf("fields = %q (%v), want %q", decoded.Fields, err, tt.fields)
			}
			if bytes.ContainsAny(got, "\r\n") {
				t.Error("the change is not on one line")
			}
			if cap(got) != len(got) {
				t.Error("the encoded change has spare capacity: an append to the shared bytes would write into them")
			}
		})
	}
}

func TestEveryFieldAChangeCanNameIsAFieldOfTheRESTTask(t *testing.T) {
	every := task.ChangedFields(sampleTask("a"), task.Task{})
	if len(every) != len(restFieldNames) {
		t.Fatalf("a change can name %d fields %v; the reference knows %d", len(every), every, len(restFieldNames))
	}
	var tk map[string]any
	if err := json.Unmarshal(appendTask(nil, sampleTask("a")), &tk); err != nil {
		t.Fatal(err)
	}
	for _, f := range every {
		if name := wireName(f); name != restFieldNames[f] || tk[name] == nil {
			t.Errorf("%s is written %q, want %q, a field of the task", f, name, restFieldNames[f])
		}
	}
}

func TestWireChangesBody(t *testing.T) {
	created, updated, deleted := sampleChange(feed.Created), sampleChange(feed.Updated, "title"), sampleChange(feed.Deleted)
	type pageData struct {
		Changes []wireChange `json:"changes"`
		LastSeq int64        `json:"last_seq"`
		HeadSeq int64        `json:"head_seq"`
		HasMore bool         `json:"has_more"`
	}
	type success struct {
		Success bool     `json:"success"`
		Data    pageData `json:"data"`
	}
	tests := []struct {
		name string
		page feed.Page
		want success
	}{
		{"a page of changes is written as encoding/json writes it",
			feed.Page{Changes: []feed.Change{created, updated, deleted}, LastSeq: 58, HeadSeq: 80, HasMore: true},
			success{true, pageData{[]wireChange{referenceChange(created), referenceChange(updated), referenceChange(deleted)}, 58, 80, true}}},
		{"an empty page has an empty list", feed.Page{LastSeq: 7, HeadSeq: 7},
			success{true, pageData{[]wireChange{}, 7, 7, false}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got, want := string(appendChangesBody(nil, tt.page)), referenceJSON(t, tt.want); got != want {
				t.Errorf("wrote\n%s want\n%s", got, want)
			}
		})
	}
}

func FuzzWireChange(f *testing.F) {
	f.Add(int64(58), uint8(2), 7, int64(1784109600), uint16(0x0fff), "Follow up", true)
	f.Add(int64(-1), uint8(0), -5, int64(-62135596800), uint16(0), "a\u2028<b>&\"\\\x00\xff", false)
	domain := slices.Sorted(maps.Keys(restFieldNames))
	f.Fuzz(func(t *testing.T, seq int64, typ uint8, id int, unix int64, mask uint16, title string, withTask bool) {
		at := task.NewDateTime(time.Unix(unix%(1<<35), 0)) // within years 0 to 9999
		c := feed.Change{Seq: seq, Type: feed.Type(typ % 4), TaskID: id, At: at}
		for i, name := range domain {
			if mask&(1<<i) != 0 {
				c.Fields = append(c.Fields, name)
			}
		}
		if withTask {
			tk := task.Task{ID: id, Title: title, StartDatetime: at, DueDate: at.Date(), CreatedAt: at, UpdatedAt: at, Version: 1}
			c.Task = &tk
		}
		got := string(ChangeJSON(&c)) + "\n"
		if want := referenceJSON(t, referenceChange(c)); got != want {
			t.Errorf("ChangeJSON wrote\n%s want\n%s", got, want)
		}
	})
}
