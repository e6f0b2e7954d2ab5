package storetest

import (
	"fmt"
	"math"
	"slices"
	"sync"
	"testing"
	"time"

	"tasksapi/task"
)

var taskTests = []test{
	{"CreateThenGet", createThenGet},
	{"CreatedAtIsTheClockInUTCToTheSecond", createdAtIsTheClockInUTCToTheSecond},
	{"GetOfAMissingTaskIsNotFound", getOfAMissingTaskIsNotFound},
	{"InvalidInputStoresNothing", invalidInputStoresNothing},
	{"ARestartKeepsTheTasks", aRestartKeepsTheTasks},
	{"ConcurrentCreatesAllSucceed", concurrentCreatesAllSucceed},
	{"ConcurrentReadsAndWrites", concurrentReadsAndWrites},
	{"CreatesRacingCloseAreStoredOrRefusedNeverLost", createsRacingCloseAreStoredOrRefusedNeverLost},
}

func createThenGet(t *testing.T, h Harness) {
	s, _, _ := h.New(t)
	ctx := OrgContext(t, s, "Acme")

	full := task.CreateInput{
		Title:          "  Prepare the Été offer  ",
		StartDatetime:  DT(t, "2026-03-01T09:30:00"),
		EndDatetime:    Ptr(DT(t, "2026-03-03T17:45:30")),
		Description:    Ptr("Bring the contract.\nAnd the 日本 brochure."),
		DealID:         Ptr(11),
		ContactID:      Ptr(22),
		Priority:       Ptr(task.Priority(4)),
		Status:         Ptr(task.Status(1)),
		AssignedUserID: Ptr(33),
		TagIDs:         []int{9, 2, 7, 2, 9, 5},
	}
	minimal := task.CreateInput{
		Title:         "Minimal",
		StartDatetime: DT(t, "2026-04-10T08:00:00"),
		DealID:        Ptr(1),
	}

	tests := []struct {
		name string
		in   task.CreateInput
		want task.Task // without ID
	}{
		{
			name: "a task with every field comes back exactly as stored",
			in:   full,
			want: task.Task{
				Title:          "Prepare the Été offer",
				Status:         1,
				Priority:       4,
				StartDatetime:  DT(t, "2026-03-01T09:30:00"),
				EndDatetime:    Ptr(DT(t, "2026-03-03T17:45:30")),
				DueDate:        Date(t, "2026-03-03"),
				Description:    Ptr("Bring the contract.\nAnd the 日本 brochure."),
				DealID:         Ptr(11),
				ContactID:      Ptr(22),
				AssignedUserID: Ptr(33),
				TagIDs:         []int{9, 2, 7, 5},
				CreatedAt:      DT(t, "2026-03-01T11:00:00"),
				UpdatedAt:      DT(t, "2026-03-01T11:00:00"),
			},
		},
		{
			name: "a minimal task keeps its missing optionals nil and gets the defaults",
			in:   minimal,
			want: task.Task{
				Title:         "Minimal",
				Status:        0,
				Priority:      2,
				StartDatetime: DT(t, "2026-04-10T08:00:00"),
				DueDate:       Date(t, "2026-04-10"),
				DealID:        Ptr(1),
				TagIDs:        []int{},
				CreatedAt:     DT(t, "2026-03-01T11:00:00"),
				UpdatedAt:     DT(t, "2026-03-01T11:00:00"),
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			created := MustCreate(t, ctx, s, tt.in)
			if created.ID < 1 {
				t.Fatalf("created ID = %d, want a positive id", created.ID)
			}
			want := tt.want
			want.ID = created.ID
			for _, d := range DiffTask(created, want) {
				t.Errorf("CreateTask returned %s", d)
			}

			got, err := s.Task(ctx, created.ID)
			if err != nil {
				t.Fatalf("Task(%d): %v", created.ID, err)
			}
			for _, d := range DiffTask(got, want) {
				t.Errorf("Task(%d) returned %s", created.ID, d)
			}
			if got.TagIDs == nil {
				t.Errorf("Task(%d).TagIDs is nil, want non-nil", created.ID)
			}
			if got.ActivityType() != "Task" {
				t.Errorf("ActivityType() = %q, want Task", got.ActivityType())
			}

			page := MustList(t, ctx, s, task.ListParams{PageSize: Ptr(100)})
			i := slices.IndexFunc(page.Items, func(it task.Task) bool { return it.ID == created.ID })
			if i < 0 {
				t.Fatalf("task %d is not in the list", created.ID)
			}
			for _, d := range DiffTask(page.Items[i], want) {
				t.Errorf("ListTasks returned %s", d)
			}
		})
	}
}

func createdAtIsTheClockInUTCToTheSecond(t *testing.T, h Harness) {
	s, c, _ := h.New(t)
	ctx := OrgContext(t, s, "Acme")
	c.Set(time.Date(2026, 12, 31, 23, 30, 59, 999_999_999, time.FixedZone("EST", -5*3600)))
	got := MustCreate(t, ctx, s, Simple(t, "Late"))
	const want = "2027-01-01T04:30:59"
	if got.CreatedAt.String() != want || got.UpdatedAt.String() != want {
		t.Errorf("CreatedAt, UpdatedAt = %v, %v; want both %s", got.CreatedAt, got.UpdatedAt, want)
	}
	stored, err := s.Task(ctx, got.ID)
	if err != nil {
		t.Fatalf("Task: %v", err)
	}
	if stored.CreatedAt.String() != want || stored.UpdatedAt.String() != want {
		t.Errorf("stored CreatedAt, UpdatedAt = %v, %v; want both %s", stored.CreatedAt, stored.UpdatedAt, want)
	}
}

func getOfAMissingTaskIsNotFound(t *testing.T, h Harness) {
	s, _, _ := h.New(t)
	ctx := OrgContext(t, s, "Acme")
	for _, id := range []int{1, 2, 999_999, math.MaxInt64} {
		_, err := s.Task(ctx, id)
		WantCode(t, err, task.CodeNotFound)
	}
	created := MustCreate(t, ctx, s, Simple(t, "Only one"))
	_, err := s.Task(ctx, created.ID+1)
	WantCode(t, err, task.CodeNotFound)
}

func invalidInputStoresNothing(t *testing.T, h Harness) {
	tests := []struct {
		name       string
		in         func(t *testing.T) task.CreateInput
		wantFields []string
	}{
		{
			name: "a blank title is rejected",
			in: func(t *testing.T) task.CreateInput {
				in := Simple(t, "   ")
				in.TagIDs = []int{1, 2}
				return in
			},
			wantFields: []string{"title"},
		},
		{
			name: "a task with neither deal nor contact is rejected on both fields",
			in: func(t *testing.T) task.CreateInput {
				return task.CreateInput{Title: "x", StartDatetime: DT(t, "2026-03-01T09:00:00"), TagIDs: []int{3}}
			},
			wantFields: []string{"contactId", "dealId"},
		},
		{
			name: "an end before the start is rejected",
			in: func(t *testing.T) task.CreateInput {
				in := Simple(t, "x")
				in.EndDatetime = Ptr(DT(t, "2026-02-28T09:00:00"))
				return in
			},
			wantFields: []string{"endDatetime"},
		},
		{
			name: "51 distinct tags are rejected",
			in: func(t *testing.T) task.CreateInput {
				in := Simple(t, "x")
				for i := 1; i <= 51; i++ {
					in.TagIDs = append(in.TagIDs, i)
				}
				return in
			},
			wantFields: []string{"tagIds"},
		},
		{
			name: "a status out of range is rejected",
			in: func(t *testing.T) task.CreateInput {
				in := Simple(t, "x")
				in.Status = Ptr(task.Status(7))
				return in
			},
			wantFields: []string{"status"},
		},
	}
	s, _, _ := h.New(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := OrgContext(t, s, tt.name) // an organisation of its own
			_, err := s.CreateTask(ctx, tt.in(t))
			e := WantCode(t, err, task.CodeInvalid)
			if got := fieldsOf(e); !slices.Equal(got, tt.wantFields) {
				t.Errorf("offending fields = %v, want %v", got, tt.wantFields)
			}
			if page := MustList(t, ctx, s, task.ListParams{}); page.TotalRecords != 0 || len(page.Items) != 0 {
				t.Errorf("after a rejected create the list has %d records, want 0", page.TotalRecords)
			}
			if page := mustChanges(t, ctx, s, 0, 10); len(page.Changes) != 0 {
				t.Errorf("after a rejected create the feed holds %+v, want nothing", page.Changes)
			}
		})
	}
}

func aRestartKeepsTheTasks(t *testing.T, h Harness) {
	name := h.NewDatabase(t)
	s := h.Open(t, name, nil)
	ctx := OrgContext(t, s, "Acme")
	var want []task.Task
	for i, title := range []string{"first", "second", "third"} {
		in := Simple(t, title)
		in.TagIDs = []int{i + 3, 1}
		in.Description = Ptr(fmt.Sprintf("task %d", i))
		want = append(want, MustCreate(t, ctx, s, in))
	}
	MustClose(t, s)

	s = h.Open(t, name, nil)
	for _, w := range want {
		got, err := s.Task(ctx, w.ID)
		if err != nil {
			t.Fatalf("after reopening, Task(%d): %v", w.ID, err)
		}
		for _, d := range DiffTask(got, w) {
			t.Errorf("after reopening, task %d has %s", w.ID, d)
		}
	}
	if page := MustList(t, ctx, s, task.ListParams{}); page.TotalRecords != len(want) {
		t.Errorf("after reopening, TotalRecords = %d, want %d", page.TotalRecords, len(want))
	}
	next := MustCreate(t, ctx, s, Simple(t, "fourth"))
	for _, w := range want {
		if next.ID == w.ID {
			t.Errorf("a task created after reopening reused id %d", w.ID)
		}
	}
}

func concurrentCreatesAllSucceed(t *testing.T, h Harness) {
	s, _, _ := h.New(t)
	ctx := OrgContext(t, s, "Acme")
	const n = 60
	var wg sync.WaitGroup
	results := make([]task.Task, n)
	errs := make([]error, n)
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			in := Simple(t, fmt.Sprintf("concurrent %d", i))
			in.TagIDs = []int{i + 1, 1000 + i}
			results[i], errs[i] = s.CreateTask(ctx, in)
		}()
	}
	close(start)
	wg.Wait()

	seen := map[int]bool{}
	for i, err := range errs {
		if err != nil {
			t.Errorf("create %d failed: %v (concurrent writers must wait for each other, not fail)", i, err)
			continue
		}
		if seen[results[i].ID] {
			t.Errorf("id %d was given to two tasks", results[i].ID)
		}
		seen[results[i].ID] = true
	}
	if len(seen) != n {
		t.Errorf("%d distinct ids, want %d", len(seen), n)
	}
	if got := MustList(t, ctx, s, task.ListParams{}).TotalRecords; got != n {
		t.Errorf("the store holds %d tasks, want %d", got, n)
	}
	for i, r := range results {
		if errs[i] != nil {
			continue
		}
		got, err := s.Task(ctx, r.ID)
		if err != nil {
			t.Errorf("Task(%d): %v", r.ID, err)
			continue
		}
		if got.Title != fmt.Sprintf("concurrent %d", i) || !slices.Equal(got.TagIDs, []int{i + 1, 1000 + i}) {
			t.Errorf("task %d = %q %v, want %q [%d %d]", r.ID, got.Title, got.TagIDs, fmt.Sprintf("concurrent %d", i), i+1, 1000+i)
		}
	}
}

func concurrentReadsAndWrites(t *testing.T, h Harness) {
	s, _, _ := h.New(t)
	ctx := OrgContext(t, s, "Acme")
	MustCreate(t, ctx, s, Simple(t, "seed"))
	var wg sync.WaitGroup
	errs := make(chan error, 80)
	for i := range 20 {
		wg.Add(2)
		go func() {
			defer wg.Done()
			if _, err := s.CreateTask(ctx, Simple(t, fmt.Sprintf("w%d", i))); err != nil {
				errs <- fmt.Errorf("create: %w", err)
			}
		}()
		go func() {
			defer wg.Done()
			if _, err := s.ListTasks(ctx, task.ListParams{}); err != nil {
				errs <- fmt.Errorf("list: %w", err)
			}
			if _, err := s.Task(ctx, 1); err != nil {
				errs <- fmt.Errorf("get: %w", err)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("concurrent reads and writes: %v", err)
	}
}

func createsRacingCloseAreStoredOrRefusedNeverLost(t *testing.T, h Harness) {
	name := h.NewDatabase(t)
	s := h.Open(t, name, nil)
	ctx := OrgContext(t, s, "Acme")
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		stored  []int
		refused int
		first   = make(chan struct{}) // closed once a create is stored
	)
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				got, err := s.CreateTask(ctx, Simple(t, fmt.Sprintf("racing %d-%d", w, i)))
				mu.Lock()
				if err != nil {
					refused++
					mu.Unlock()
					return
				}
				stored = append(stored, got.ID)
				if len(stored) == 1 {
					close(first)
				}
				mu.Unlock()
			}
		}()
	}
	<-first
	time.Sleep(20 * time.Millisecond) // creates under way on every creator
	MustClose(t, s)                   // a write queued for a closed store must be refused, not panic
	wg.Wait()
	if refused != 8 {
		t.Errorf("%d creators were refused after Close, want all 8", refused)
	}
	s = h.Open(t, name, nil)
	for _, id := range stored {
		if _, err := s.Task(ctx, id); err != nil {
			t.Errorf("acknowledged task %d after reopening: %v", id, err)
		}
	}
	if len(stored) == 0 {
		t.Errorf("no create succeeded before Close; the test proves nothing")
	}
}
