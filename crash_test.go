package main

import (
	"bufio"
	"bytes"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	_ "github.com/mattn/go-sqlite3"

	"tasksapi/access"
	"tasksapi/internal/serverbin"
)

var servingAt = regexp.MustCompile(`playground=(http://\S+)`)

// serverBinary is the server binary, built once for the package's tests.
func serverBinary(t *testing.T) string { return serverbin.Path(t, ".") }

// startBinary runs the server binary, with any further flags, and
// returns its base URL.
func startBinary(t *testing.T, bin, dbPath string, flags ...string) (*exec.Cmd, string) {
	t.Helper()
	args := append([]string{"serve", "--addr", "127.0.0.1:0", "--db", dbPath, "--rate-limit", "0"}, flags...)
	cmd := exec.Command(bin, args...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	lines := bufio.NewScanner(stderr)
	for lines.Scan() {
		if m := servingAt.FindStringSubmatch(lines.Text()); m != nil {
			go io.Copy(io.Discard, stderr)
			return cmd, m[1]
		}
	}
	t.Fatal("the server exited before serving")
	return nil, ""
}

// TestAcknowledgedCreatesSurviveSIGKILL kills the real server binary in
// the middle of a stream of concurrent creates: every create it answered
// 200 must be there after a restart, in a database that checks clean.
func TestAcknowledgedCreatesSurviveSIGKILL(t *testing.T) {
	bin, dbPath := serverBinary(t), filepath.Join(t.TempDir(), "tasks.db")
	out, err := exec.Command(bin, "keys", "create", "--org", "Crash", "--db", dbPath).Output()
	if err != nil {
		t.Fatal(err)
	}
	var creds access.Credentials
	if err := json.Unmarshal(out, &creds); err != nil {
		t.Fatal(err)
	}

	cmd, url := startBinary(t, bin, dbPath)
	var (
		mu    sync.Mutex
		acked = map[float64]string{} // id -> title
		sent  atomic.Int64
		wg    sync.WaitGroup
	)
	client := &http.Client{Timeout: 5 * time.Second}
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; ; i++ {
				title := fmt.Sprintf("crash %d-%d", w, i)
				body := fmt.Sprintf(`{"title":%q,"start_datetime":"2026-07-15T10:00:00","deal_id":1}`, title)
				req, _ := http.NewRequest(http.MethodPost, url+"/v1/tasks", bytes.NewBufferString(body))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set(access.AccessKeyHeader, creds.AccessKey)
				req.Header.Set(access.SecretKeyHeader, creds.SecretKey)
				sent.Add(1)
				res, err := client.Do(req)
				if err != nil {
					return // the server is gone
				}
				var created struct {
					Data struct {
						ID    float64 `json:"activity_id"`
						Title string  `json:"title"`
					}
				}
				err = json.NewDecoder(res.Body).Decode(&created)
				res.Body.Close()
				if res.StatusCode != http.StatusOK || err != nil {
					continue // not acknowledged
				}
				mu.Lock()
				acked[created.Data.ID] = created.Data.Title
				mu.Unlock()
			}
		}(w)
	}
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		mu.Lock()
		n := len(acked)
		mu.Unlock()
		if n >= 200 {
			break
		}
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	wg.Wait()
	if len(acked) == 0 {
		t.Fatal("no create was acknowledged before the kill")
	}
	t.Logf("%d creates sent, %d acknowledged before SIGKILL", sent.Load(), len(acked))

	restarted, url := startBinary(t, bin, dbPath)
	for id, title := range acked {
		req, _ := http.NewRequest(http.MethodGet, fmt.Sprintf("%s/v1/tasks/%v", url, id), nil)
		req.Header.Set(access.AccessKeyHeader, creds.AccessKey)
		req.Header.Set(access.SecretKeyHeader, creds.SecretKey)
		res, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var got struct{ Data struct{ Title string } }
		json.NewDecoder(res.Body).Decode(&got)
		res.Body.Close()
		if res.StatusCode != http.StatusOK || got.Data.Title != title {
			t.Errorf("acknowledged task %v (%q) after restart: %d %q", id, title, res.StatusCode, got.Data.Title)
		}
	}
	restarted.Process.Signal(os.Interrupt)
	restarted.Wait()

	db, err := sql.Open("sqlite3", dbPath)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var check string
	if err := db.QueryRow("PRAGMA integrity_check").Scan(&check); err != nil || check != "ok" {
		t.Errorf("integrity_check = %q, %v; want ok", check, err)
	}
}

// TestTheBinaryLogsEachRequestAndItsShutdown runs the real binary, whose
// log lines are written out together: a request's line reaches stderr
// while it serves, and the lines of its shutdown before it exits.
func TestTheBinaryLogsEachRequestAndItsShutdown(t *testing.T) {
	cmd := exec.Command(serverBinary(t), "serve", "--addr", "127.0.0.1:0", "--db", filepath.Join(t.TempDir(), "tasks.db"))
	var stderr bytes.Buffer
	var mu sync.Mutex
	cmd.Stderr = writerFunc(func(p []byte) (int, error) {
		mu.Lock()
		defer mu.Unlock()
		return stderr.Write(p)
	})
	logs := func() string {
		mu.Lock()
		defer mu.Unlock()
		return stderr.String()
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	waitFor := func(what string, re *regexp.Regexp) []string {
		t.Helper()
		for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
			if m := re.FindStringSubmatch(logs()); m != nil {
				return m
			}
		}
		t.Fatalf("no %s on stderr within 30 s:\n%s", what, logs())
		return nil
	}
	url := waitFor("serving line", servingAt)[1]
	res, err := http.Get(url + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	waitFor("line for the request", regexp.MustCompile(`msg=request .*route="GET /healthz" status=200`))

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("the server did not stop cleanly: %v\n%s", err, logs())
	}
	if !strings.Contains(logs(), "msg=\"shutting down\"") {
		t.Errorf("the shutdown was not logged before the process exited:\n%s", logs())
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

// TestIdempotentWritesHappenExactlyOnceAcrossSIGKILL kills the real
// server binary while clients create and change tasks, each request with
// an Idempotency-Key, and restarts it. Each client retries every request
// it has no answer for, with the same key, until it has one, as the
// contract tells clients to. Afterwards every intended write exists
// exactly once: each create made one task, and each change one version
// and one change in the feed, however many times it was sent.
func TestIdempotentWritesHappenExactlyOnceAcrossSIGKILL(t *testing.T) {
	bin, dbPath := serverBinary(t), filepath.Join(t.TempDir(), "tasks.db")
	out, err := exec.Command(bin, "keys", "create", "--org", "Crash", "--db", dbPath).Output()
	if err != nil {
		t.Fatal(err)
	}
	var creds access.Credentials
	if err := json.Unmarshal(out, &creds); err != nil {
		t.Fatal(err)
	}
	cmd, url := startBinary(t, bin, dbPath)
	var base atomic.Value // the server's URL: a restart listens on another port
	base.Store(url)
	client := &http.Client{Timeout: 5 * time.Second}
	// send sends one request until the server answers it, and returns the
	// status and whether the answer was a replay.
	send := func(method, path, key, body string, header ...string) (int, bool) {
		for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); {
			req, _ := http.NewRequest(method, base.Load().(string)+path, strings.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set(access.AccessKeyHeader, creds.AccessKey)
			req.Header.Set(access.SecretKeyHeader, creds.SecretKey)
			req.Header.Set("Idempotency-Key", key)
			for i := 0; i+1 < len(header); i += 2 {
				req.Header.Set(header[i], header[i+1])
			}
			res, err := client.Do(req)
			if err != nil {
				time.Sleep(20 * time.Millisecond) // the server is down: retry
				continue
			}
			io.Copy(io.Discard, res.Body)
			res.Body.Close()
			if res.StatusCode == http.StatusConflict {
				time.Sleep(20 * time.Millisecond) // its first send is still being answered
				continue
			}
			return res.StatusCode, res.Header.Get("Idempotent-Replayed") == "true"
		}
		t.Errorf("%s %s (key %s) got no answer in 60 s", method, path, key)
		return 0, false
	}

	const clients = 8
	own := make([]int, clients) // the task each client changes
	for c := range own {
		status, _ := send(http.MethodPost, "/v1/tasks", fmt.Sprintf("own-%d", c),
			fmt.Sprintf(`{"title":"own %d","start_datetime":"2026-07-15T10:00:00","deal_id":1}`, c))
		if status != http.StatusOK {
			t.Fatalf("creating client %d's task: %d", c, status)
		}
		own[c] = c + 1
	}
	var (
		stop    atomic.Bool
		acked   atomic.Int64
		replays atomic.Int64
		creates = make([]int, clients) // intended creates, per client
		changes = make([]int, clients) // intended changes
		wg      sync.WaitGroup
	)
	for c := range clients {
		wg.Go(func() {
			version := 1 // of the client's own task: each change is conditional on it
			for i := 0; !stop.Load(); i++ {
				key := fmt.Sprintf("client-%d-write-%d", c, i)
				title := fmt.Sprintf("client %d write %d", c, i)
				var status int
				var replayed bool
				if i%2 == 0 {
					creates[c]++
					status, replayed = send(http.MethodPost, "/v1/tasks", key,
						fmt.Sprintf(`{"title":%q,"start_datetime":"2026-07-15T10:00:00","deal_id":1}`, title))
				} else {
					// Conditional on the version the client knows: were a
					// change that committed before a kill run again, it
					// would meet its own version and fail with 412.
					changes[c]++
					status, replayed = send(http.MethodPatch, fmt.Sprintf("/v1/tasks/%d", own[c]), key,
						fmt.Sprintf(`{"title":%q}`, title), "If-Match", fmt.Sprintf(`"%d"`, version))
					version++
				}
				if status != http.StatusOK {
					t.Errorf("%s: status %d", key, status)
					return
				}
				acked.Add(1)
				if replayed {
					replays.Add(1)
				}
			}
		})
	}
	waitAcked := func(n int64) {
		for deadline := time.Now().Add(30 * time.Second); acked.Load() < n && time.Now().Before(deadline); {
			time.Sleep(5 * time.Millisecond)
		}
	}
	// Three kills, each in the middle of the load, each followed by a
	// restart that the clients find by themselves.
	for range 3 {
		waitAcked(acked.Load() + 200)
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		cmd.Wait()
		var url string
		cmd, url = startBinary(t, bin, dbPath)
		base.Store(url)
	}
	waitAcked(acked.Load() + 200)
	stop.Store(true)
	wg.Wait()
	cmd.Process.Signal(os.Interrupt)
	cmd.Wait()
	t.Logf("%d writes acknowledged across 3 kills; %d retries answered as replays of writes committed before a kill",
		acked.Load(), replays.Load())

	db, err := sql.Open("sqlite3", dbPath)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for c := range clients {
		var made, distinct int
		err := db.QueryRow(`SELECT count(*), count(DISTINCT title) FROM tasks WHERE title LIKE ? AND id > ?`,
			fmt.Sprintf("client %d write %%", c), clients).Scan(&made, &distinct)
		if err != nil {
			t.Fatal(err)
		}
		if made != creates[c] || distinct != creates[c] {
			t.Errorf("client %d intended %d creates; %d tasks exist, %d distinct", c, creates[c], made, distinct)
		}
		// Every acknowledged write is in the change feed, once.
		var recorded int
		if err := db.QueryRow(`SELECT count(*) FROM task_changes JOIN tasks ON tasks.id = task_changes.task_id
			WHERE task_changes.type = 1 AND tasks.title LIKE ? AND tasks.id > ?`,
			fmt.Sprintf("client %d write %%", c), clients).Scan(&recorded); err != nil {
			t.Fatal(err)
		}
		if recorded != creates[c] {
			t.Errorf("client %d's %d creates left %d created changes in the feed", c, creates[c], recorded)
		}
		var version, updated int
		if err := db.QueryRow(`SELECT version, (SELECT count(*) FROM task_changes WHERE task_id = tasks.id AND type = 2)
			FROM tasks WHERE id = ?`, own[c]).Scan(&version, &updated); err != nil {
			t.Fatal(err)
		}
		if version != 1+changes[c] || updated != changes[c] {
			t.Errorf("client %d intended %d changes; its task is at version %d with %d changes in the feed",
				c, changes[c], version, updated)
		}
	}
	var check string
	if err := db.QueryRow("PRAGMA integrity_check").Scan(&check); err != nil || check != "ok" {
		t.Errorf("integrity_check = %q, %v; want ok", check, err)
	}
}
