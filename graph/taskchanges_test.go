package graph_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"tasksapi/access"
	"tasksapi/feed"
	"tasksapi/graph"
	"tasksapi/sqlite"
	"tasksapi/task"
)

// ---- change feed fixtures ----

// feedServer is the real GraphQL handler with the change feed, served over
// a real HTTP server: its store tells a hub of each commit, as the
// server's does.
type feedServer struct {
	url     string // http://...
	store   *sqlite.Store
	streams *feed.Streams
	stop    context.CancelFunc // stops the server's streams, as serve does on shutdown
	acme    tenant
}

// newFeedServer serves an organisation acme from a fresh store; change
// adjusts the handler's options (a lower bound, shorter timeouts).
func newFeedServer(t *testing.T, change ...func(*graph.Options)) *feedServer {
	t.Helper()
	store, err := sqlite.Open(filepath.Join(t.TempDir(), "tasks.db"), sqlite.SyncNormal)
	if err != nil {
		t.Fatalf("sqlite.Open: %v", err)
	}
	t.Cleanup(func() { store.Close() })
	hub := feed.NewHub(store)
	store.OnCommit(hub.Committed)
	log := discardLogger()
	stopCtx, stop := context.WithCancel(context.Background())
	o := graph.Options{Service: store, Guard: access.NewGuard(store, 0, log), Keeper: newKeeper(store, log),
		Limits: graph.DefaultLimits, Log: log, Feed: store, Hub: hub, Streams: feed.NewStreams(100), Stop: stopCtx}
	for _, c := range change {
		c(&o)
	}
	url := startServer(t, graph.NewHandler(o))
	t.Cleanup(stop) // before the server closes: its streams end first
	return &feedServer{url: url, store: store, streams: o.Streams, stop: stop, acme: newTenant(t, store, "acme")}
}

// start is a task's start date-time, for tests that write tasks directly.
var start, _ = task.ParseDateTime("2026-03-01T09:00:00")

// create stores a task of tn directly, as another client's write would be.
func create(t testing.TB, tn tenant, title string) task.Task {
	t.Helper()
	tk, err := tn.store.CreateTask(tn.ctx(), task.CreateInput{Title: title, StartDatetime: start, ContactID: ptr(1)})
	if err != nil {
		t.Errorf("CreateTask: %v", err)
	}
	return tk
}

// storedSeqs are the seqs of every change of tn's feed that is kept.
func storedSeqs(t testing.TB, tn tenant) []int64 {
	t.Helper()
	var seqs []int64
	for after := int64(0); ; {
		page, err := tn.store.Changes(tn.ctx(), feed.Query{After: after, Limit: feed.MaxLimit})
		if err != nil {
			t.Fatalf("Changes: %v", err)
		}
		for _, c := range page.Changes {
			seqs = append(seqs, c.Seq)
		}
		if after = page.LastSeq; !page.HasMore {
			return seqs
		}
	}
}

type changeJSON struct {
	Seq           int64     `json:"seq"`
	Type          string    `json:"type"`
	TaskID        string    `json:"taskId"`
	At            string    `json:"at"`
	ChangedFields []string  `json:"changedFields"`
	Task          *taskJSON `json:"task"`
}

type changePageJSON struct {
	Changes []changeJSON `json:"changes"`
	LastSeq int64        `json:"lastSeq"`
	HeadSeq int64        `json:"headSeq"`
	HasMore bool         `json:"hasMore"`
}

const allChangeFields = `seq type taskId at changedFields task { ` + allTaskFields + ` }`

func changeSeqs(cs []changeJSON) []int64 {
	seqs := make([]int64, len(cs))
	for i, c := range cs {
		seqs[i] = c.Seq
	}
	return seqs
}

// ---- taskChanges ----

func TestTaskChangesPagesThroughTheOrganisationsFeed(t *testing.T) {
	s := newFeedServer(t)
	other := newTenant(t, s.store, "globex")
	a := create(t, s.acme, "first")
	create(t, other, "another organisation's")
	b := create(t, s.acme, "second")
	if _, err := s.store.UpdateTask(s.acme.ctx(), a.ID, task.UpdateInput{Title: task.To("first, renamed"),
		Priority: task.To(task.PriorityUrgent)}, task.AnyVersion()); err != nil {
		t.Fatalf("UpdateTask: %v", err)
	}
	if _, err := s.store.DeleteTask(s.acme.ctx(), b.ID, task.AnyVersion()); err != nil {
		t.Fatalf("DeleteTask: %v", err)
	}
	create(t, other, "another organisation's, again")
	seqs := storedSeqs(t, s.acme) // created a, created b, updated a, deleted b
	if len(seqs) != 4 {
		t.Fatalf("acme's feed holds %d changes, want 4", len(seqs))
	}
	head := seqs[3]

	tests := []struct {
		name  string
		args  string
		want  []int64
		last  int64
		more  bool
		check func(t *testing.T, p changePageJSON)
	}{
		{"without arguments it holds every change kept, oldest first", ``, seqs, head, false, nil},
		{"after a seq it holds only the changes after it", `(after: ` + fmt.Sprint(seqs[1]) + `)`, seqs[2:], head, false, nil},
		{"first bounds the page and hasMore says more follow", `(first: 2)`, seqs[:2], seqs[1], true, nil},
		{"the next page starts after the last one's lastSeq", `(after: ` + fmt.Sprint(seqs[1]) + `, first: 2)`, seqs[2:], head, false, nil},
		{"after the head the page is empty and lastSeq is after", `(after: ` + fmt.Sprint(head) + `)`, nil, head, false, nil},
		{"null arguments take their defaults", `(after: null, first: null)`, seqs, head, false, nil},
		{"a create has the task as created and no changed fields", `(first: 1)`, seqs[:1], seqs[0], true,
			func(t *testing.T, p changePageJSON) {
				c := p.Changes[0]
				if c.Type != "CREATED" || c.TaskID != fmt.Sprint(a.ID) || c.Task == nil || c.Task.Title != "first" ||
					c.Task.Version != 1 || len(c.ChangedFields) != 0 || c.At == "" {
					t.Errorf("the create is %+v", c)
				}
			}},
		{"an update lists the changed fields by their GraphQL names, sorted", `(after: ` + fmt.Sprint(seqs[1]) + `, first: 1)`, seqs[2:3], seqs[2], true,
			func(t *testing.T, p changePageJSON) {
				c := p.Changes[0]
				if c.Type != "UPDATED" || !slices.Equal(c.ChangedFields, []string{"priority", "title"}) ||
					c.Task == nil || c.Task.Title != "first, renamed" || c.Task.Version != 2 {
					t.Errorf("the update is %+v", c)
				}
			}},
		{"a delete has a null task", `(after: ` + fmt.Sprint(seqs[2]) + `)`, seqs[3:], head, false,
			func(t *testing.T, p changePageJSON) {
				c := p.Changes[0]
				if c.Type != "DELETED" || c.Task != nil || c.TaskID != fmt.Sprint(b.ID) || len(c.ChangedFields) != 0 {
					t.Errorf("the delete is %+v", c)
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out struct {
				TaskChanges changePageJSON `json:"taskChanges"`
			}
			mustSucceed(t, postQuery(t, s.url, &s.acme.key,
				`{ taskChanges`+tt.args+` { changes { `+allChangeFields+` } lastSeq headSeq hasMore } }`), &out)
			p := out.TaskChanges
			if got := changeSeqs(p.Changes); !slices.Equal(got, tt.want) {
				t.Errorf("changes = %v, want %v", got, tt.want)
			}
			if p.LastSeq != tt.last || p.HeadSeq != head || p.HasMore != tt.more {
				t.Errorf("lastSeq %d, headSeq %d, hasMore %v; want %d, %d, %v", p.LastSeq, p.HeadSeq, p.HasMore, tt.last, head, tt.more)
			}
			if tt.check != nil {
				tt.check(t, p)
			}
		})
	}

	t.Run("another organisation sees only its own changes", func(t *testing.T) {
		var out struct {
			TaskChanges changePageJSON `json:"taskChanges"`
		}
		mustSucceed(t, postQuery(t, s.url, &other.key, `{ taskChanges { changes { seq task { title } } headSeq } }`), &out)
		want := storedSeqs(t, other)
		if got := changeSeqs(out.TaskChanges.Changes); len(want) != 2 || !slices.Equal(got, want) ||
			out.TaskChanges.HeadSeq != want[1] {
			t.Errorf("globex's page holds %v with headSeq %d, want %v", got, out.TaskChanges.HeadSeq, want)
		}
		for _, c := range out.TaskChanges.Changes {
			if c.Task == nil || !strings.HasPrefix(c.Task.Title, "another organisation") {
				t.Errorf("globex was shown %+v", c)
			}
		}
	})
}

func TestTaskChangesPagesCountAgainstTheComplexityLimit(t *testing.T) {
	s := newFeedServer(t)
	const most = `changes { seq type taskId at changedFields task { id title status priority startDatetime dueDate version } }
		lastSeq headSeq hasMore`
	tests := []struct {
		name   string
		query  string
		served bool
	}{
		{"a default page with every field fits", `{ taskChanges { changes { ` + allChangeFields + ` } lastSeq headSeq hasMore } }`, true},
		{"a page of 1000 with most fields fits", `{ taskChanges(first: 1000) { ` + most + ` } }`, true},
		{"a first over 1000 counts as 1000", `{ taskChanges(first: 100000) { ` + most + ` } }`, true},
		{"two pages of 1000 under two aliases are over the limit",
			`{ a: taskChanges(first: 1000) { ` + most + ` } b: taskChanges(first: 1000) { ` + most + ` } }`, false},
		{"a page of 1000 with every field is over the limit", `{ taskChanges(first: 1000) { changes { ` + allChangeFields + ` } } }`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := postQuery(t, s.url, &s.acme.key, tt.query)
			if tt.served {
				mustSucceed(t, r, nil)
				return
			}
			mustRefuse(t, r, "COMPLEXITY_LIMIT_EXCEEDED")
		})
	}
}

func TestASeqIsAJSONNumber(t *testing.T) {
	s := newFeedServer(t)
	create(t, s.acme, "x")
	r := postQuery(t, s.url, &s.acme.key, `{ taskChanges { changes { seq } lastSeq headSeq } }`)
	mustSucceed(t, r, nil)
	seq := storedSeqs(t, s.acme)[0]
	want := fmt.Sprintf(`{"taskChanges":{"changes":[{"seq":%d}],"lastSeq":%d,"headSeq":%d}}`, seq, seq, seq)
	if string(r.data) != want {
		t.Errorf("data = %s, want %s", r.data, want)
	}
}

func TestBadTaskChangesArgumentsAreBadUserInputOnTheirField(t *testing.T) {
	s := newFeedServer(t)
	tests := []struct {
		name      string
		args      string
		variables map[string]any
		field     string
	}{
		{"a negative after", `(after: -1)`, nil, "after"},
		{"an after past 2^53 - 1", `(after: 9007199254740992)`, nil, "after"},
		{"an after that is not an integer", `(after: 1.5)`, nil, "after"},
		{"an after written as a string", `(after: "5")`, nil, "after"},
		{"a negative after in a variable", `($after: Seq)`, map[string]any{"after": -1}, "after"},
		{"an after in a variable past 2^53 - 1", `($after: Seq)`, map[string]any{"after": json.Number("9007199254740992")}, "after"},
		{"an after in a variable that is not an integer", `($after: Seq)`, map[string]any{"after": 2.5}, "after"},
		{"an after in a variable written as a string", `($after: Seq)`, map[string]any{"after": "5"}, "after"},
		{"a first of 0", `(first: 0)`, nil, "first"},
		{"a negative first", `(first: -3)`, nil, "first"},
	}
	for _, tt := range tests {
		t.Run(tt.name+" is BAD_USER_INPUT on "+tt.field, func(t *testing.T) {
			query := `{ taskChanges` + tt.args + ` { lastSeq } }`
			if tt.variables != nil {
				query = `query Q` + tt.args + ` { taskChanges(after: $after) { lastSeq } }`
			}
			body, err := json.Marshal(map[string]any{"query": query, "variables": tt.variables})
			if err != nil {
				t.Fatal(err)
			}
			r := send(t, newPost(t, s.url, &s.acme.key, strings.NewReader(string(body))))
			e := mustRefuse(t, r, "BAD_USER_INPUT")
			checkBadUserInput(t, e, tt.field)
		})
	}
}

func TestTaskChangesFromBeforeWhatIsKeptIsChangesExpired(t *testing.T) {
	s := newFeedServer(t)
	for i := range 3 {
		create(t, s.acme, fmt.Sprint("task ", i))
	}
	seqs := storedSeqs(t, s.acme)
	// Retention removes the first two changes.
	s.store.Now = func() time.Time { return time.Now().Add(time.Hour) }
	if n, err := s.store.DeleteOldChanges(context.Background(), time.Now().Add(time.Minute), 2); err != nil || n != 2 {
		t.Fatalf("DeleteOldChanges = %d, %v; want 2 removed", n, err)
	}

	e := mustRefuse(t, postQuery(t, s.url, &s.acme.key, fmt.Sprintf(`{ taskChanges(after: %d) { lastSeq } }`, seqs[0])), "CHANGES_EXPIRED")
	if !strings.Contains(e.Message, "headSeq") {
		t.Errorf("message %q does not say to follow the feed from headSeq", e.Message)
	}

	var out struct {
		TaskChanges changePageJSON `json:"taskChanges"`
	}
	mustSucceed(t, postQuery(t, s.url, &s.acme.key, fmt.Sprintf(`{ taskChanges(after: %d) { changes { seq } } }`, seqs[1])), &out)
	if got := changeSeqs(out.TaskChanges.Changes); !slices.Equal(got, seqs[2:]) {
		t.Errorf("after the last seq removed: %v, want %v", got, seqs[2:])
	}
	mustSucceed(t, postQuery(t, s.url, &s.acme.key, `{ taskChanges { changes { seq } } }`), &out)
	if got := changeSeqs(out.TaskChanges.Changes); !slices.Equal(got, seqs[2:]) {
		t.Errorf("from the oldest kept: %v, want %v", got, seqs[2:])
	}
}

func TestTaskChangesNeedsAKey(t *testing.T) {
	s := newFeedServer(t)
	r := postQuery(t, s.url, nil, `{ taskChanges { lastSeq } }`)
	if r.status != http.StatusUnauthorized {
		t.Errorf("status = %d, want 401", r.status)
	}
	mustRefuse(t, r, "UNAUTHENTICATED")
}
