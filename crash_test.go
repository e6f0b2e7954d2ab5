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
)

var servingAt = regexp.MustCompile(`playground=(http://\S+)`)

var binary struct {
	once sync.Once
	path string
	err  error
	out  []byte
}

// serverBinary builds the server once per test process, as this test
// binary was built, and returns its path.
func serverBinary(t *testing.T) string {
	t.Helper()
	binary.once.Do(func() {
		dir, err := os.MkdirTemp("", "tasks-server-")
		if err != nil {
			binary.err = err
			return
		}
		binary.path = filepath.Join(dir, "server")
		build := append(append([]string{"build"}, buildFlags...), "-o", binary.path, ".")
		binary.out, binary.err = exec.Command("go", build...).CombinedOutput()
	})
	if binary.err != nil {
		t.Fatalf("go build: %v\n%s", binary.err, binary.out)
	}
	return binary.path
}

// removeServerBinary removes what serverBinary built; TestMain calls it.
func removeServerBinary() {
	if binary.path != "" {
		os.RemoveAll(filepath.Dir(binary.path))
	}
}

// startBinary runs the server binary and returns its base URL.
func startBinary(t *testing.T, bin, dbPath string) (*exec.Cmd, string) {
	t.Helper()
	cmd := exec.Command(bin, "serve", "--addr", "127.0.0.1:0", "--db", dbPath, "--rate-limit", "0")
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
