package snapshot

import (
	"reflect"
	"testing"

	"tasksapi/task"
)

func snapshotTasks(t testing.TB) []task.Task {
	dt := func(s string) task.DateTime {
		d, err := task.ParseDateTime(s)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	full, err := task.NewTask(task.CreateInput{Title: "Ça va, \"Sarah\"?\n", StartDatetime: dt("2026-07-15T10:00:00"),
		EndDatetime: new(dt("2026-07-16T11:00:00")), Description: new(""), DealID: new(3), ContactID: new(7),
		AssignedUserID: new(1 << 40), TagIDs: []int{4, 7, 1_000_000}, Status: new(task.StatusCompleted)})
	if err != nil {
		t.Fatal(err)
	}
	full.ID = 42
	full.Created(dt("2026-07-01T08:00:00"))
	full.Version = 9
	bare, err := task.NewTask(task.CreateInput{Title: "x", StartDatetime: dt("1970-01-01T00:00:00"), ContactID: new(1)})
	if err != nil {
		t.Fatal(err)
	}
	bare.Created(dt("2026-07-01T08:00:00"))
	return []task.Task{full, bare}
}

func TestASnapshotReadsBackAsTheTaskItWasWrittenFrom(t *testing.T) {
	for _, want := range snapshotTasks(t) {
		got, err := Parse(Append(nil, want))
		if err != nil {
			t.Fatalf("Parse: %v", err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("read back %+v,\nwant %+v", got, want)
		}
	}
}

func TestATruncatedOrLengthenedSnapshotIsRefused(t *testing.T) {
	b := Append(nil, snapshotTasks(t)[0])
	for n := range len(b) {
		if _, err := Parse(b[:n]); err == nil {
			t.Errorf("the first %d of %d bytes read as a task", n, len(b))
		}
	}
	if _, err := Parse(append(b, 0)); err == nil {
		t.Errorf("a snapshot with a byte more read as a task")
	}
	if _, err := Parse(append([]byte{Format + 1}, b[1:]...)); err == nil {
		t.Errorf("a snapshot of another format read as a task")
	}
}

// FuzzSnapshot feeds any bytes to Parse: it must never panic,
// and what it accepts must write back as the same bytes.
func FuzzSnapshot(f *testing.F) {
	for _, tk := range snapshotTasks(f) {
		f.Add(Append(nil, tk))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		tk, err := Parse(b)
		if err != nil {
			return
		}
		if again := Append(nil, tk); string(again) != string(b) {
			t.Errorf("accepted %x, which writes back as %x", b, again)
		}
	})
}
