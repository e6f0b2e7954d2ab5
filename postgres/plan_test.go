package postgres

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"tasksapi/access"
	"tasksapi/internal/pgtest"
	"tasksapi/task"
)

// These tests read PostgreSQL's plans of the statements the list reads
// really run, on an analysed organisation of 20,000 tasks beside another,
// and check that none reads the tasks table whole and that none sorts the
// organisation's tasks where an index gives the order.

// recorder remembers every statement run through a pool, with its
// arguments.
type recorder struct {
	mu    sync.Mutex
	calls []recorded
}

type recorded struct {
	sql  string
	args []any
}

func (r *recorder) TraceQueryStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceQueryStartData) context.Context {
	r.mu.Lock()
	r.calls = append(r.calls, recorded{d.SQL, d.Args})
	r.mu.Unlock()
	return ctx
}

func (r *recorder) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

func (r *recorder) take() []recorded {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.calls
	r.calls = nil
	return out
}

// planNode is a node of EXPLAIN (FORMAT JSON).
type planNode struct {
	Type     string     `json:"Node Type"`
	Relation string     `json:"Relation Name"`
	Index    string     `json:"Index Name"`
	Rows     float64    `json:"Plan Rows"`
	Plans    []planNode `json:"Plans"`
}

func TestPlansOfListsReadAnIndexAndSortNoMoreThanTheirMatches(t *testing.T) {
	url := pgtest.URL(t)
	s, err := Open(t.Context(), url)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer s.Close()
	_, err = s.pool.Exec(t.Context(), `
		INSERT INTO organisations (name, created_at) VALUES ('Planned', now()), ('Other', now());
		INSERT INTO tasks (organisation_id, title, title_fold, status, priority, start_datetime, end_datetime,
			due_date, assigned_user_id, created_at, updated_at)
		SELECT org, title, lower(title), i % 5, i / 7 % 5, st, CASE WHEN i % 3 > 0 THEN st + interval '2 hours' END,
			st::date, CASE WHEN i % 10 > 0 THEN 1 + i % 40 END, st, st
		FROM (SELECT CASE WHEN i % 5 = 4 THEN 2 ELSE 1 END AS org, i,
			(ARRAY['Call', 'Email', 'Visit', 'Invoice'])[1 + i % 4] || ' ' ||
			(ARRAY['Sarah Connor', 'Acme Corp', 'Initech', 'Globex', 'Chen Wei'])[1 + i / 4 % 5] ||
			(ARRAY['', ' (Q3 renewal)', ' next steps'])[1 + i / 20 % 3] AS title,
			timestamp '2024-01-01' + i * interval '40 minutes' AS st
			FROM generate_series(1, 25000) AS i) AS g;
		INSERT INTO task_counts SELECT organisation_id, status, priority, count(*) FROM tasks GROUP BY 1, 2, 3;
		INSERT INTO task_counts_by_user SELECT organisation_id, assigned_user_id, status, priority, count(*)
			FROM tasks WHERE assigned_user_id IS NOT NULL GROUP BY 1, 2, 3, 4`)
	if err != nil {
		t.Fatalf("fill: %v", err)
	}
	if _, err := s.pool.Exec(t.Context(), "VACUUM ANALYZE tasks"); err != nil { // statistics and a visibility map
		t.Fatalf("VACUUM: %v", err)
	}
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		t.Fatal(err)
	}
	rec := &recorder{}
	cfg.ConnConfig.Tracer = rec
	traced, err := pgxpool.NewWithConfig(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer traced.Close()
	ts := &Store{pool: traced, cursor: s.cursor}
	ctx := access.WithPrincipal(t.Context(), access.Principal{OrganisationID: 1})
	from, to := day(t, "2024-03-01"), day(t, "2024-03-31")

	cases := []struct {
		name   string
		params task.ListParams
		// sorts: the page is made by sorting the filter's matches. A
		// search's total reads every match, through the trigram index or,
		// for a term too short for trigrams, every title of the
		// organisation (through its title index, or the table while that
		// is as small as here), and its page is the planner's choice
		// until a total is known (see search.go).
		sorts bool
	}{
		{"the default list", task.ListParams{}, false},
		{"a status", task.ListParams{Filter: task.Filter{Status: ptr(task.StatusOpen)}}, false},
		{"an assignee", task.ListParams{Filter: task.Filter{AssignedUserID: ptr(7)}}, false},
		{"status and priority by due date", task.ListParams{Filter: task.Filter{Status: ptr(task.StatusOpen),
			Priority: ptr(task.PriorityHigh)}, SortBy: ptr(task.SortByDueDate)}, false},
		{"status and priority by due date descending", task.ListParams{Filter: task.Filter{Status: ptr(task.StatusOpen),
			Priority: ptr(task.PriorityHigh)}, SortBy: ptr(task.SortByDueDate), SortOrder: ptr(task.Desc)}, false},
		{"a due-date range by due date", task.ListParams{Filter: task.Filter{DueDateFrom: from, DueDateTo: to},
			SortBy: ptr(task.SortByDueDate)}, false},
		{"a due-date range newest first", task.ListParams{Filter: task.Filter{DueDateFrom: from, DueDateTo: to}}, true},
		{"a common search", task.ListParams{Filter: task.Filter{Search: ptr("sarah")}}, true},
		{"a search of two characters", task.ListParams{Filter: task.Filter{Search: ptr("ca")}}, true},
		{"a search found nowhere", task.ListParams{Filter: task.Filter{Search: ptr("xyzzy")}}, true},
		{"a deep page", task.ListParams{PageIndex: ptr(1500)}, false},
		{"a deep page of a status by title", task.ListParams{PageIndex: ptr(150), PageSize: ptr(20),
			Filter: task.Filter{Status: ptr(task.StatusCompleted)}, SortBy: ptr(task.SortByTitle)}, false},
	}
	for _, f := range allSorts {
		for _, o := range []task.SortOrder{task.Asc, task.Desc} {
			cases = append(cases, struct {
				name   string
				params task.ListParams
				sorts  bool
			}{"sorted by " + sortName(f, o), task.ListParams{SortBy: ptr(f), SortOrder: ptr(o)}, false})
		}
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for range 2 { // the second time with the totals and landmarks the first kept
				rec.take()
				if _, err := ts.ListTasks(ctx, tc.params); err != nil {
					t.Fatalf("ListTasks: %v", err)
				}
				p := tc.params
				p.PageIndex = nil
				c := task.ConnectionParams{Filter: p.Filter, SortBy: p.SortBy, SortOrder: p.SortOrder}
				if _, err := ts.TaskConnection(ctx, c); err != nil {
					t.Fatalf("TaskConnection: %v", err)
				}
				for _, call := range rec.take() {
					checkPlan(t, s, call, tc.sorts)
				}
			}
		})
	}
}

// checkPlan explains call and fails on a whole read of tasks, or a sort
// of more than a page's rows unless the case sorts its matches.
func checkPlan(t *testing.T, s *Store, call recorded, sorts bool) {
	t.Helper()
	var out []byte
	if err := s.pool.QueryRow(t.Context(), "EXPLAIN (FORMAT JSON) "+call.sql, call.args...).Scan(&out); err != nil {
		t.Fatalf("EXPLAIN: %v\nSQL: %s", err, call.sql)
	}
	var plans []struct{ Plan planNode }
	if err := json.Unmarshal(out, &plans); err != nil {
		t.Fatal(err)
	}
	var walk func(n planNode)
	walk = func(n planNode) {
		switch {
		case n.Relation == "tasks" && !sorts && (n.Type == "Seq Scan" || n.Type == "Bitmap Heap Scan"):
			t.Errorf("the plan reads tasks by %s\nSQL: %s\nplan: %s", n.Type, call.sql, out)
		case n.Type == "Sort" && !sorts && len(n.Plans) > 0 && n.Plans[0].Rows > 2*task.MaxPageSize:
			t.Errorf("the plan sorts about %.0f rows where an index gives the order\nSQL: %s\nplan: %s",
				n.Plans[0].Rows, call.sql, out)
		case n.Type == "Index Scan" || n.Type == "Index Only Scan":
			if n.Relation == "tasks" && !strings.HasPrefix(n.Index, "tasks_org_") && n.Index != "tasks_pkey" {
				t.Errorf("the plan reads tasks through %s\nSQL: %s", n.Index, call.sql)
			}
		}
		for _, c := range n.Plans {
			walk(c)
		}
	}
	walk(plans[0].Plan)
}
