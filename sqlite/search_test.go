package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"tasksapi/access"
	"tasksapi/task"
)

// searchTitles are titles with the characters a search must take
// literally or fold: wildcards of LIKE, quotes of FTS5 and SQL, runs of
// spaces, and letters outside ASCII in both cases.
var searchTitles = []string{
	"Call Sarah about 100% of the order",
	"Send the 50% discount",
	"Rename under_score file",
	"Rename underscore file",
	`Say "hello" to Bob`,
	`Quote "" twice`,
	"Call Liam O'Brien",
	"two  spaces here",
	"one space here",
	"Café au lait",
	"CAFÉ NOIR",
	"Straße 5",
	"STRASSE 7",
	"Öl wechseln",
	"öl kaufen",
	"Müller GmbH",
	"MÜLLER AG",
	"Zoë – urgent",
	"Ask re: onboarding (Q3 renewal) about invoice #4412",
	"日本語のタスク",
	"a",
	"ab",
	"ABC",
	"nul\x00byte", // a NUL is a character like any other
}

// searchTerms are 1, 2, 3 and more characters, with every kind of
// character in searchTitles, in lower and upper case.
var searchTerms = []string{
	"a", "A", "é", "É", "ß", "ö", "Ö", "%", "_", `"`, "'", " ", "–", "日",
	"ab", "AB", "öl", "ÖL", "  ", "0%", "r_", `""`, "o'", "ße", "日本",
	"abc", "caf", "CAF", "50%", "r_s", `"he`, "o'b", "  s", "öl ", "ÖL ", "aße", "日本語", "(q3", "#44", "re:",
	"café", "CAFÉ", "Café Au", "straße", "STRASSE", "müller", "MÜLLER GMBH", "l wech", "100% of",
	"under_score", `say "hello"`, `"" twice`, "liam o'brien", "two  spaces", "zoë – urgent",
	"ask re: onboarding (q3 renewal) about invoice #4412", "日本語のタスク",
	"\x00", "l\x00b", "nul\x00byte",
	"zzz", "%%", "__", "call sarah about 100% of the order and more",
}

func searchCtx(ctx context.Context, org int) context.Context {
	return access.WithPrincipal(ctx, access.Principal{OrganisationID: org})
}

// newSearchStore is a store whose organisation "Searched" has the
// searchTitles and 300 generated tasks; another organisation has the same
// titles, which must never be found.
func newSearchStore(t *testing.T) (*Store, int) {
	t.Helper()
	s, err := Open(filepath.Join(t.TempDir(), "search.db"), SyncNormal)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	var org int
	for _, name := range []string{"Elsewhere", "Searched"} {
		id, err := s.Organisation(t.Context(), name)
		if err != nil {
			t.Fatalf("Organisation(%s): %v", name, err)
		}
		createTitles(t, s, id, searchTitles)
		org = id
	}
	importSeed(t, s, org, 3, 300)
	return s, org
}

func createTitles(t *testing.T, s *Store, org int, titles []string) []int {
	t.Helper()
	ctx := searchCtx(t.Context(), org)
	start, err := task.ParseDateTime("2026-03-01T09:00:00")
	if err != nil {
		t.Fatalf("ParseDateTime: %v", err)
	}
	var ids []int
	for _, title := range titles {
		got, err := s.CreateTask(ctx, task.CreateInput{Title: title, StartDatetime: start, ContactID: planPtr(1)})
		if err != nil {
			t.Fatalf("CreateTask(%q): %v", title, err)
		}
		ids = append(ids, got.ID)
	}
	return ids
}

// pageIDs runs pageQuery, page after page, and returns the ids it lists.
func pageIDs(t *testing.T, s *Store, org int, f task.Filter, indexSearch bool) []int {
	t.Helper()
	var out []int
	for index := 0; ; index++ {
		q, err := task.ListParams{Filter: f, PageSize: planPtr(task.MaxPageSize), PageIndex: &index}.Query()
		if err != nil {
			t.Fatalf("Query(): %v", err)
		}
		query, args := pageQuery(org, q, indexSearch, sqlPart{}, start{skip: q.Offset()})
		rows, err := s.read.Query(query, args...)
		if err != nil {
			t.Fatalf("page query (indexSearch %v): %v\nSQL: %s", indexSearch, err, query)
		}
		n := 0
		for rows.Next() {
			tk, err := scanTask(rows)
			if err != nil {
				t.Fatalf("scan: %v", err)
			}
			out = append(out, tk.ID)
			n++
		}
		if err := rows.Err(); err != nil {
			t.Fatalf("page query: %v", err)
		}
		rows.Close()
		if n < task.MaxPageSize {
			return out
		}
	}
}

// titleMatches is the contract's search, written out in Go: the ids of
// org's tasks whose title holds term, ignoring case; newest first, as a
// list without a sort is.
func titleMatches(t *testing.T, s *Store, org int, term string) []int {
	t.Helper()
	rows, err := s.read.Query("SELECT id, title FROM tasks WHERE organisation_id = ? ORDER BY id DESC", org)
	if err != nil {
		t.Fatalf("read titles: %v", err)
	}
	defer rows.Close()
	var out []int
	for rows.Next() {
		var id int
		var title string
		if err := rows.Scan(&id, &title); err != nil {
			t.Fatalf("scan: %v", err)
		}
		if strings.Contains(strings.ToLower(title), strings.ToLower(term)) {
			out = append(out, id)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("read titles: %v", err)
	}
	return out
}

func TestSearchThroughTheIndexFindsWhatTheScanFinds(t *testing.T) {
	s, org := newSearchStore(t)
	for _, term := range searchTerms {
		want := titleMatches(t, s, org, term)
		f := task.Filter{Search: &term}
		name := fmt.Sprintf("the index and the scan agree on %q", term)
		if !s.fts {
			name = fmt.Sprintf("without FTS5 only the scan serves %q", term)
		}
		t.Run(name, func(t *testing.T) {
			// The store as a client reaches it, whichever path it picks.
			page, err := s.ListTasks(searchCtx(t.Context(), org), task.ListParams{Filter: f, PageSize: planPtr(task.MaxPageSize)})
			if err != nil {
				t.Errorf("ListTasks: %v (a client's search must never be an internal error)", err)
			} else {
				if page.TotalRecords != len(want) {
					t.Errorf("ListTasks total = %d, want %d", page.TotalRecords, len(want))
				}
				if got, w := taskIDs(page.Items), want[:min(len(want), task.MaxPageSize)]; !slices.Equal(got, w) {
					t.Errorf("ListTasks lists %v, want %v", got, w)
				}
			}
			scan := pageIDs(t, s, org, f, false)
			if !slices.Equal(scan, want) {
				t.Errorf("the scan finds %d tasks %v,\nwant the %d whose titles hold %q: %v", len(scan), scan, len(want), term, want)
			}
			if s.fts {
				index := pageIDs(t, s, org, f, true)
				if !slices.Equal(index, scan) {
					t.Errorf("the index finds %d tasks %v,\nthe scan %d: %v", len(index), index, len(scan), scan)
				}
			} else {
				useIndex, err := searchChoiceOf(t, s, org, f)
				if err != nil {
					t.Fatalf("pageCount: %v", err)
				}
				if useIndex {
					t.Errorf("pageCount chose the index in a build without FTS5")
				}
			}
		})
	}
}

func taskIDs(items []task.Task) []int {
	out := make([]int, 0, len(items))
	for _, it := range items {
		out = append(out, it.ID)
	}
	return out
}

// searchChoiceOf is whether a first page of f goes through the trigram
// index.
func searchChoiceOf(t *testing.T, s *Store, org int, f task.Filter) (bool, error) {
	t.Helper()
	tx, err := s.read.BeginTx(t.Context(), nil)
	if err != nil {
		t.Fatalf("begin: %v", err)
	}
	defer tx.Rollback()
	_, indexSearch, err := s.pageCount(t.Context(), tx, org, f, true, task.DefaultPageSize)
	return indexSearch, err
}

func TestSearchesInTheFixtureFindSomething(t *testing.T) {
	// Guards the test above: most terms must find tasks, or agreement
	// proves nothing.
	s, org := newSearchStore(t)
	empty := 0
	for _, term := range searchTerms {
		if len(titleMatches(t, s, org, term)) == 0 {
			empty++
		}
	}
	if empty != 4 { // "zzz", "%%", "__" and the term longer than any title
		t.Errorf("%d of %d search terms match nothing in the fixture, want 4", empty, len(searchTerms))
	}
}

func rawOpen(t *testing.T, path string) *sql.DB {
	t.Helper()
	conn, err := sql.Open("sqlite3", path+"?_busy_timeout=5000")
	if err != nil {
		t.Fatalf("sql.Open: %v", err)
	}
	return conn
}

func searchIndexStale(t *testing.T, path string) int {
	t.Helper()
	conn := rawOpen(t, path)
	defer conn.Close()
	var stale int
	if err := conn.QueryRow("SELECT stale FROM search_index").Scan(&stale); err != nil {
		t.Fatalf("read search_index: %v", err)
	}
	return stale
}

func TestReopeningRebuildsAStaleSearchIndex(t *testing.T) {
	path := filepath.Join(t.TempDir(), "stale.db")
	s, err := Open(path)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	org, err := s.Organisation(t.Context(), "Stale")
	if err != nil {
		t.Fatalf("Organisation: %v", err)
	}
	before := createTitles(t, s, org, []string{"Renewal before the gap", "Call Globex"})
	fts := s.fts
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	// A build without FTS5 drops the triggers, marks the index stale and
	// writes tasks the index never sees.
	conn := rawOpen(t, path)
	stmts := []string{dropSearchTriggers, "UPDATE search_index SET stale = 1"}
	for i, title := range []string{"Renewal during the gap (raw)", "Renewal again in the gap (raw)"} {
		stmts = append(stmts, fmt.Sprintf(`INSERT INTO tasks (organisation_id, title, title_fold, status, priority,
			start_datetime, due_date, contact_id, created_at, updated_at)
			VALUES (%d, '%s', '%s', 0, 2, '2026-03-0%dT09:00:00', '2026-03-0%d', 1, '2026-03-01T00:00:00', '2026-03-01T00:00:00')`,
			org, title, strings.ToLower(title), i+1, i+1))
	}
	for _, stmt := range stmts {
		if _, err := conn.Exec(stmt); err != nil {
			conn.Close()
			t.Fatalf("%s: %v", stmt, err)
		}
	}
	var gap []int
	rows, err := conn.Query("SELECT id FROM tasks WHERE title LIKE '%(raw)' ORDER BY id")
	if err != nil {
		t.Fatalf("read the gap's tasks: %v", err)
	}
	for rows.Next() {
		var id int
		rows.Scan(&id)
		gap = append(gap, id)
	}
	rows.Close()
	conn.Close()
	if len(gap) != 2 {
		t.Fatalf("wrote %d tasks in the gap, want 2", len(gap))
	}

	s, err = Open(path)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	term := "renewal"
	f := task.Filter{Search: &term}
	want := []int{gap[1], gap[0], before[0]}

	if !fts {
		t.Run("without FTS5 opening works, the index stays stale and the scan finds every task", func(t *testing.T) {
			if got := searchIndexStale(t, path); got != 1 {
				t.Errorf("search_index.stale = %d, want 1", got)
			}
			if got := pageIDs(t, s, org, f, false); !slices.Equal(got, want) {
				t.Errorf("the scan finds %v, want %v", got, want)
			}
		})
		return
	}
	t.Run("the index is rebuilt and finds the tasks written while it was stale", func(t *testing.T) {
		if got := searchIndexStale(t, path); got != 0 {
			t.Errorf("search_index.stale = %d after reopening, want 0", got)
		}
		if got := pageIDs(t, s, org, f, true); !slices.Equal(got, want) {
			t.Errorf("the index finds %v, want %v", got, want)
		}
		if _, err := s.write.Exec("INSERT INTO tasks_fts (tasks_fts) VALUES ('integrity-check')"); err != nil {
			t.Errorf("the rebuilt index does not match the tasks: %v", err)
		}
	})
	t.Run("the triggers are back, so a new task is indexed", func(t *testing.T) {
		after := createTitles(t, s, org, []string{"Renewal after the gap"})
		if got, want := pageIDs(t, s, org, f, true), append([]int{after[0]}, want...); !slices.Equal(got, want) {
			t.Errorf("the index finds %v, want %v", got, want)
		}
	})
}

func TestImportLeavesTheSearchIndexInStep(t *testing.T) {
	s, org := newSearchStore(t)
	stale := searchIndexStaleOf(t, s)
	if !s.fts {
		if stale != 1 {
			t.Errorf("without FTS5, search_index.stale = %d, want 1 (never built)", stale)
		}
		return
	}
	if stale != 0 {
		t.Errorf("search_index.stale = %d after an import, want 0", stale)
	}
	if _, err := s.write.Exec("INSERT INTO tasks_fts (tasks_fts) VALUES ('integrity-check')"); err != nil {
		t.Errorf("the index does not match the tasks after an import: %v", err)
	}
	// Tasks created after the import are indexed by the triggers again.
	createTitles(t, s, org, []string{"Indexed after the import"})
	term := "after the import"
	if got := pageIDs(t, s, org, task.Filter{Search: &term}, true); len(got) != 1 {
		t.Errorf("the index finds %v for a task created after an import, want one task", got)
	}
}

func searchIndexStaleOf(t *testing.T, s *Store) int {
	t.Helper()
	var stale int
	if err := s.read.QueryRow("SELECT stale FROM search_index").Scan(&stale); err != nil {
		t.Fatalf("read search_index: %v", err)
	}
	return stale
}

func TestATotalCountedWhileTheIndexWasStaleIsNotServedAfterTheRebuild(t *testing.T) {
	// ImportTasks marks the index stale and drops its triggers, loads its
	// batches, then rebuilds the index (prepareSearch). A list with a
	// search in that window (another request, or another server on the
	// same file) counts through the index, which lacks the new tasks,
	// and the total is cached under the organisation's write_version,
	// which the rebuild does not change. Here the window is opened and
	// closed by hand, as ImportTasks does. Without FTS5 there is no index
	// and no window: the totals are simply exact.
	s, org := newSearchStore(t)
	ctx := searchCtx(t.Context(), org)
	term := "renewal"
	f := task.Filter{Search: &term}
	if s.fts {
		if _, err := s.write.Exec("UPDATE search_index SET stale = 1;" + dropSearchTriggers); err != nil {
			t.Fatalf("open the import's window: %v", err)
		}
	}
	createTitles(t, s, org, []string{"Renewal while importing", "Another renewal while importing"})
	if _, err := s.ListTasks(ctx, task.ListParams{Filter: f}); err != nil {
		t.Fatalf("ListTasks in the window: %v", err)
	}
	if s.fts {
		if _, err := prepareSearch(t.Context(), s.write); err != nil {
			t.Fatalf("close the import's window: %v", err)
		}
	}
	want := titleMatches(t, s, org, term)
	page, err := s.ListTasks(ctx, task.ListParams{Filter: f, PageSize: planPtr(task.MaxPageSize)})
	if err != nil {
		t.Fatalf("ListTasks: %v", err)
	}
	if page.TotalRecords != len(want) {
		t.Errorf("after the rebuild TotalRecords = %d, want %d (a total counted before the rebuild is served from the cache)",
			page.TotalRecords, len(want))
	}
	if got := taskIDs(page.Items); !slices.Equal(got, want) {
		t.Errorf("after the rebuild the list is %v, want %v", got, want)
	}
}

func searchTriggerCount(t *testing.T, path string) int {
	t.Helper()
	conn := rawOpen(t, path)
	defer conn.Close()
	var n int
	if err := conn.QueryRow(`SELECT count(*) FROM sqlite_schema WHERE type = 'trigger' AND name LIKE 'tasks_fts_%'`).Scan(&n); err != nil {
		t.Fatalf("count triggers: %v", err)
	}
	return n
}

func TestOpeningSetsUpTheSearchTriggersForThisBuild(t *testing.T) {
	path := filepath.Join(t.TempDir(), "triggers.db")
	s, err := Open(path)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	fts := s.fts
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if fts {
		t.Run("with FTS5 opening leaves two triggers and a fresh index", func(t *testing.T) {
			if n := searchTriggerCount(t, path); n != 2 {
				t.Errorf("%d tasks_fts_* triggers, want 2 (delete and update)", n)
			}
			if got := searchIndexStale(t, path); got != 0 {
				t.Errorf("search_index.stale = %d, want 0", got)
			}
		})
		return
	}
	t.Run("without FTS5 opening drops the triggers an FTS5 build left and marks the index stale", func(t *testing.T) {
		// What an FTS5 build leaves behind, with a plain table standing
		// in for the FTS5 one this build cannot create.
		conn := rawOpen(t, path)
		for _, stmt := range []string{"CREATE TABLE tasks_fts (tasks_fts, title_fold)", searchTriggers,
			"UPDATE search_index SET stale = 0"} {
			if _, err := conn.Exec(stmt); err != nil {
				conn.Close()
				t.Fatalf("%s: %v", stmt, err)
			}
		}
		conn.Close()
		s, err := Open(path)
		if err != nil {
			t.Fatalf("reopen: %v", err)
		}
		defer s.Close()
		if n := searchTriggerCount(t, path); n != 0 {
			t.Errorf("%d tasks_fts_* triggers after opening, want 0", n)
		}
		if got := searchIndexStale(t, path); got != 1 {
			t.Errorf("search_index.stale = %d after opening, want 1", got)
		}
		org, err := s.Organisation(t.Context(), "Acme")
		if err != nil {
			t.Fatalf("Organisation: %v", err)
		}
		createTitles(t, s, org, []string{"Written without the index"})
		var indexed int
		if err := s.read.QueryRow("SELECT count(*) FROM tasks_fts").Scan(&indexed); err != nil {
			t.Fatalf("count tasks_fts: %v", err)
		}
		if indexed != 0 {
			t.Errorf("a trigger still wrote %d rows to tasks_fts", indexed)
		}
	})
}

// insertRaw writes a task with SQL alone, past the store's writer, so that
// nothing moves it into the search index behind the test's back.
func insertRaw(t *testing.T, s *Store, org int, title string) int {
	t.Helper()
	res, err := s.write.Exec(`INSERT INTO tasks (organisation_id, title, title_fold, status, priority,
		start_datetime, due_date, contact_id, created_at, updated_at)
		VALUES (?, ?, ?, 0, 2, '2026-03-01T09:00:00', '2026-03-01', 1, '2026-03-01T00:00:00', '2026-03-01T00:00:00')`,
		org, title, task.Fold(title))
	if err != nil {
		t.Fatalf("insert %q: %v", title, err)
	}
	id, err := res.LastInsertId()
	if err != nil {
		t.Fatal(err)
	}
	return int(id)
}

func deltaThrough(t *testing.T, s *Store) int {
	t.Helper()
	var n int
	if err := s.read.QueryRow("SELECT delta_through FROM search_index").Scan(&n); err != nil {
		t.Fatalf("read search_index: %v", err)
	}
	return n
}

// checkSearches compares, for each term, what the index path finds with
// what the titles hold, and checks both FTS5 tables against the tasks.
func checkSearches(t *testing.T, s *Store, org int, terms ...string) {
	t.Helper()
	for _, term := range terms {
		want := titleMatches(t, s, org, term)
		if got := pageIDs(t, s, org, task.Filter{Search: &term}, true); !slices.Equal(got, want) {
			t.Errorf("searching %q through the index finds %v, want %v", term, got, want)
		}
	}
	// Once the writer has brought the delta up to date, the delta matches
	// the tasks, and searches through the index still find what they
	// should. The main index keeps the old entries of changed and deleted
	// tasks until it is rebuilt; rebuilt, it matches the tasks too.
	s.indexTail()
	if _, err := s.write.Exec("INSERT INTO tasks_fts_delta (tasks_fts_delta) VALUES ('integrity-check')"); err != nil {
		t.Errorf("tasks_fts_delta does not match the tasks: %v", err)
	}
	for _, term := range terms {
		want := titleMatches(t, s, org, term)
		if got := pageIDs(t, s, org, task.Filter{Search: &term}, true); !slices.Equal(got, want) {
			t.Errorf("after indexing, searching %q through the index finds %v, want %v", term, got, want)
		}
	}
}

// checkRebuiltIndex rebuilds the search index and checks that both parts
// match the tasks and that searches find what they should.
func checkRebuiltIndex(t *testing.T, s *Store, org int, terms ...string) {
	t.Helper()
	if _, err := s.write.Exec(rebuildSearch); err != nil {
		t.Fatalf("rebuild: %v", err)
	}
	for _, table := range []string{"tasks_fts", "tasks_fts_delta"} {
		if _, err := s.write.Exec("INSERT INTO " + table + " (" + table + ") VALUES ('integrity-check')"); err != nil {
			t.Errorf("after a rebuild, %s does not match the tasks: %v", table, err)
		}
	}
	checkSearches(t, s, org, terms...)
}
