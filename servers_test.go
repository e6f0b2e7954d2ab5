package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"tasksapi/access"
	"tasksapi/internal/pgtest"
)

// The tests of several servers over one PostgreSQL database run real
// server binaries, as a deployment behind a load balancer would.

// pgKey creates a key of org in the database at url with the keys command.
func pgKey(t *testing.T, bin, url, org string) access.Credentials {
	t.Helper()
	out, err := exec.Command(bin, "keys", "create", "--org", org, "--db", url).Output()
	if err != nil {
		t.Fatalf("keys create: %v", err)
	}
	var creds access.Credentials
	if err := json.Unmarshal(out, &creds); err != nil {
		t.Fatal(err)
	}
	return creds
}

// status answers a GET of path with creds' key.
func status(t *testing.T, url string, creds access.Credentials) int {
	t.Helper()
	res, _ := do(t, http.MethodGet, url+"/v1/tasks?limit=1", "", "", auth(creds)...)
	return res.StatusCode
}

func TestServersStartingTogetherOnANewDatabaseMigrateItOnce(t *testing.T) {
	bin, url := serverBinary(t), pgtest.URL(t)
	var wg sync.WaitGroup
	urls := make([]string, 3)
	for i := range urls {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, urls[i] = startBinary(t, bin, url)
		}()
	}
	wg.Wait()
	for i, u := range urls {
		res, body := do(t, http.MethodGet, u+"/readyz", "", "")
		if res.StatusCode != http.StatusOK {
			t.Errorf("server %d: /readyz %d %s", i, res.StatusCode, body)
		}
	}
	conn, err := pgx.Connect(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var versions, keys int
	if err := conn.QueryRow(context.Background(), "SELECT count(*) FROM schema_version").Scan(&versions); err != nil || versions != 1 {
		t.Errorf("schema_version holds %d rows (%v), want 1", versions, err)
	}
	if err := conn.QueryRow(context.Background(), "SELECT count(*) FROM api_keys").Scan(&keys); err != nil || keys != 1 {
		t.Errorf("servers starting together on an empty database made %d first keys (%v), want 1", keys, err)
	}
}

func TestAKeyRevokedIsRefusedByEveryServerWithinASecond(t *testing.T) {
	bin, url := serverBinary(t), pgtest.URL(t)
	_, a := startBinary(t, bin, url)
	_, b := startBinary(t, bin, url)
	creds := pgKey(t, bin, url, "Acme")
	for _, u := range []string{a, b} {
		if got := status(t, u, creds); got != http.StatusOK {
			t.Fatalf("before the revocation: %d", got)
		}
	}
	if out, err := exec.Command(bin, "keys", "revoke", creds.AccessKey, "--db", url).CombinedOutput(); err != nil {
		t.Fatalf("keys revoke: %v %s", err, out)
	}
	revoked := time.Now()
	for i, u := range []string{a, b} {
		for status(t, u, creds) != http.StatusUnauthorized {
			if time.Since(revoked) > time.Second {
				t.Fatalf("server %d still admits the key a second after its revocation", i)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	t.Logf("both servers refused the key %s after its revocation", time.Since(revoked).Round(time.Millisecond))
}

// eventStream reads the data lines of a server-sent event stream.
func eventStream(t *testing.T, req *http.Request) <-chan string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	res, err := http.DefaultClient.Do(req.WithContext(ctx))
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != http.StatusOK {
		t.Fatalf("stream: %d", res.StatusCode)
	}
	data := make(chan string, 100)
	go func() {
		defer res.Body.Close()
		lines := bufio.NewScanner(res.Body)
		for lines.Scan() {
			if d, ok := strings.CutPrefix(lines.Text(), "data: "); ok {
				data <- d
			}
		}
	}()
	return data
}

func TestAChangeThroughOneServerReachesTheStreamsOfAnotherWithinASecond(t *testing.T) {
	bin, url := serverBinary(t), pgtest.URL(t)
	_, a := startBinary(t, bin, url)
	_, b := startBinary(t, bin, url)
	creds := pgKey(t, bin, url, "Acme")

	sse, _ := http.NewRequest(http.MethodGet, b+"/v1/tasks/changes/stream", nil)
	gql, _ := http.NewRequest(http.MethodPost, b+"/query",
		strings.NewReader(`{"query":"subscription { taskChanged { seq type task { title } } }"}`))
	gql.Header.Set("Content-Type", "application/json")
	gql.Header.Set("Accept", "text/event-stream")
	for _, r := range []*http.Request{sse, gql} {
		r.Header.Set(access.AccessKeyHeader, creds.AccessKey)
		r.Header.Set(access.SecretKeyHeader, creds.SecretKey)
	}
	streams := map[string]<-chan string{"REST stream": eventStream(t, sse), "GraphQL subscription": eventStream(t, gql)}
	time.Sleep(200 * time.Millisecond) // both subscribed, from now

	for i := range 3 {
		title := fmt.Sprint("through a ", i)
		createTask(t, a, creds, title)
		written := time.Now()
		for name, events := range streams {
			select {
			case got := <-events:
				if !strings.Contains(got, title) {
					t.Errorf("%s on the other server got %s, want the task %q", name, got, title)
				}
				t.Logf("%s: %s after the create", name, time.Since(written).Round(time.Millisecond))
			case <-time.After(time.Second):
				t.Fatalf("%s on the other server had nothing a second after the create", name)
			}
		}
	}
}

func TestAKeysRateLimitCountsItsRequestsOnEveryServer(t *testing.T) {
	bin, url := serverBinary(t), pgtest.URL(t)
	const limit, seconds = 40, 3
	_, a := startBinary(t, bin, url, "--rate-limit", fmt.Sprint(limit))
	_, b := startBinary(t, bin, url, "--rate-limit", fmt.Sprint(limit))
	creds := pgKey(t, bin, url, "Acme")
	var admitted atomic.Int64
	var wg sync.WaitGroup
	deadline := time.Now().Add(seconds * time.Second)
	for _, u := range []string{a, b, a, b, a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(deadline) {
				switch got := status(t, u, creds); got {
				case http.StatusOK:
					admitted.Add(1)
				case http.StatusTooManyRequests:
				default:
					t.Errorf("status %d", got)
					return
				}
			}
		}()
	}
	wg.Wait()
	// A fresh bucket holds a burst of twice the limit, then refills at the
	// limit: what one server would admit in the window.
	want := float64(limit*seconds + 2*limit)
	got := float64(admitted.Load())
	if got < 0.8*want || got > 1.2*want {
		t.Errorf("two servers admitted %v requests of one key in %d s, want %v within 20%%", got, seconds, want)
	}
	t.Logf("admitted %v of a budget of %v (%.2f)", got, want, got/want)
}

func TestAWebhookIsDeliveredByOneServerAtATimeAndTakenOverWhenItDies(t *testing.T) {
	bin, url := serverBinary(t), pgtest.URL(t)
	creds := pgKey(t, bin, url, "Acme")
	rc := newHookReceiver(t, 2*time.Millisecond)
	out, err := exec.Command(bin, "webhooks", "add", "--org", "Acme", "--url", rc.URL, "--webhooks-allow-private",
		"--db", url).Output()
	if err != nil {
		t.Fatal(err)
	}
	added := decodeAdded(t, string(out))
	t.Setenv("WEBHOOKS_ALLOW_PRIVATE", "1")
	a, aURL := startBinary(t, bin, url)
	_, bURL := startBinary(t, bin, url)

	for i := range 40 {
		createTask(t, []string{aURL, bURL}[i%2], creds, fmt.Sprint("before ", i))
	}
	waitFor(t, "the first 40 changes delivered", func() bool { return len(rc.requests()) >= 40 })
	if err := a.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	a.Wait()
	for i := range 20 {
		createTask(t, bURL, creds, fmt.Sprint("after ", i))
	}
	waitFor(t, "every change delivered by the surviving server", func() bool {
		seen := map[int64]bool{}
		for _, r := range rc.requests() {
			seen[r.data.Seq] = true
		}
		return len(seen) == 60
	})
	// In order: each change is first sent after the one before it. At
	// least once: the server that took over sends again what the dead
	// one sent but had not recorded, under the same webhook-id.
	firsts := firstSendings(t, rc.requests(), added.ID)
	if !slices.IsSorted(firsts) {
		t.Errorf("the changes were first sent out of order: %v", firsts)
	}
	if rc.maxInFlight() > 1 {
		t.Errorf("the receiver had %d requests of one webhook at once, want 1", rc.maxInFlight())
	}
}

// TestAPostgreSQLRestartFailsRequestsCleanlyAndLosesNoAcknowledgedWrite
// restarts the database under a stream of creates: while it is down,
// requests are answered 503 with the error envelope and /readyz says so;
// once it is back, the server serves again by itself within seconds, and
// every create it acknowledged is there.
func TestAPostgreSQLRestartFailsRequestsCleanlyAndLosesNoAcknowledgedWrite(t *testing.T) {
	cluster := pgtest.NewCluster(t)
	bin := serverBinary(t)
	creds := pgKey(t, bin, cluster.URL(), "Acme")
	// A rate limit, so that the shared token bucket meets the outage too.
	_, url := startBinary(t, bin, cluster.URL(), "--rate-limit", "10000")

	var (
		mu       sync.Mutex
		acked    []string
		statuses = map[int]int{}
		stop     atomic.Bool
		wg       sync.WaitGroup
	)
	client := &http.Client{Timeout: 10 * time.Second}
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; !stop.Load(); i++ {
				title := fmt.Sprintf("restart %d-%d", w, i)
				req, _ := http.NewRequest(http.MethodPost, url+"/v1/tasks",
					strings.NewReader(fmt.Sprintf(`{"title":%q,"start_datetime":"2026-07-15T10:00:00","deal_id":1}`, title)))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set(access.AccessKeyHeader, creds.AccessKey)
				req.Header.Set(access.SecretKeyHeader, creds.SecretKey)
				res, err := client.Do(req)
				if err != nil {
					t.Errorf("the server did not answer: %v", err)
					return
				}
				var env struct {
					Success *bool  `json:"success"`
					Message string `json:"message"`
				}
				err = json.NewDecoder(res.Body).Decode(&env)
				res.Body.Close()
				mu.Lock()
				statuses[res.StatusCode]++
				switch {
				case res.StatusCode == http.StatusOK:
					acked = append(acked, title)
				case res.StatusCode != http.StatusServiceUnavailable:
					t.Errorf("a create while the database restarted: %d, want 200 or 503", res.StatusCode)
				case err != nil || env.Success == nil || *env.Success || env.Message == "":
					t.Errorf("a 503 without the error envelope: %+v (%v)", env, err)
				case res.Header.Get("Retry-After") == "":
					t.Error("a 503 without Retry-After")
				}
				mu.Unlock()
				time.Sleep(2 * time.Millisecond)
			}
		}()
	}
	time.Sleep(500 * time.Millisecond)
	cluster.Stop()
	time.Sleep(300 * time.Millisecond)
	if res, _ := do(t, http.MethodGet, url+"/readyz", "", ""); res.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("/readyz with the database down: %d, want 503", res.StatusCode)
	}
	time.Sleep(700 * time.Millisecond)
	for _, path := range []string{"/v1/tasks?limit=1", "/v1/tasks/1", "/v1/tasks/changes"} {
		res, body := do(t, http.MethodGet, url+path, "", "", auth(creds)...)
		if res.StatusCode != http.StatusServiceUnavailable || !strings.Contains(string(body), `"success":false`) {
			t.Errorf("GET %s with the database down: %d %s, want 503 with the error envelope", path, res.StatusCode, body)
		}
	}
	res, body := do(t, http.MethodPost, url+"/query", "application/json", `{"query":"{ tasks { totalRecords } }"}`, auth(creds)...)
	if !strings.Contains(string(body), "SERVICE_UNAVAILABLE") {
		t.Errorf("a GraphQL query with the database down: %d %s, want the error SERVICE_UNAVAILABLE", res.StatusCode, body)
	}
	cluster.Start()
	restarted := time.Now()
	waitFor(t, "the server serving again", func() bool {
		res, _ := do(t, http.MethodGet, url+"/readyz", "", "")
		return res.StatusCode == http.StatusOK && status(t, url, creds) == http.StatusOK
	})
	recovered := time.Since(restarted)
	time.Sleep(300 * time.Millisecond)
	stop.Store(true)
	wg.Wait()
	if recovered > 5*time.Second {
		t.Errorf("the server took %s to serve again after the database came back, want under 5 s", recovered)
	}
	if statuses[http.StatusServiceUnavailable] == 0 {
		t.Error("no create was refused while the database was down: the test did not test")
	}
	t.Logf("statuses %v; serving again %s after the database came back", statuses, recovered.Round(time.Millisecond))

	conn, err := pgx.Connect(context.Background(), cluster.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	for _, title := range acked {
		var n int
		if err := conn.QueryRow(context.Background(), "SELECT count(*) FROM tasks WHERE title = $1", title).Scan(&n); err != nil || n != 1 {
			t.Errorf("acknowledged create %q is stored %d times (%v), want once", title, n, err)
		}
	}
}

// feedSeqs pages the whole feed of creds' organisation from a server.
func feedSeqs(t *testing.T, url string, creds access.Credentials, after int64) (seqs []int64, head int64) {
	t.Helper()
	for {
		res, body := do(t, http.MethodGet, fmt.Sprintf("%s/v1/tasks/changes?after=%d&limit=1000", url, after), "", "", auth(creds)...)
		var page struct {
			Data struct {
				Changes []struct {
					Seq int64 `json:"seq"`
				} `json:"changes"`
				LastSeq int64 `json:"last_seq"`
				HeadSeq int64 `json:"head_seq"`
				HasMore bool  `json:"has_more"`
			} `json:"data"`
		}
		if err := json.Unmarshal(body, &page); err != nil || res.StatusCode != http.StatusOK {
			t.Errorf("feed page: %d %s", res.StatusCode, body)
			return seqs, head
		}
		for _, c := range page.Data.Changes {
			seqs = append(seqs, c.Seq)
		}
		after, head = page.Data.LastSeq, page.Data.HeadSeq
		if !page.Data.HasMore {
			return seqs, head
		}
	}
}

// TestTheFeedHasNoGapsWithWritersOnTwoServers writes through two servers
// at once, creating, changing and deleting, while readers page the feed
// and streams follow it on both: every reader and every stream must see
// exactly the feed as it finally stands, each change once, in order.
func TestTheFeedHasNoGapsWithWritersOnTwoServers(t *testing.T) {
	bin, url := serverBinary(t), pgtest.URL(t)
	_, a := startBinary(t, bin, url)
	_, b := startBinary(t, bin, url)
	servers := []string{a, b}
	creds := pgKey(t, bin, url, "Acme")

	streams := make([]<-chan string, 0, 2)
	for _, u := range servers {
		req, _ := http.NewRequest(http.MethodGet, u+"/v1/tasks/changes/stream", nil)
		req.Header.Set(access.AccessKeyHeader, creds.AccessKey)
		req.Header.Set(access.SecretKeyHeader, creds.SecretKey)
		req.Header.Set("Last-Event-ID", "0")
		streams = append(streams, eventStream(t, req))
	}

	var (
		writing  atomic.Bool
		wg       sync.WaitGroup
		pagersWg sync.WaitGroup
		paged    = make([][]int64, len(servers))
	)
	writing.Store(true)
	for i, u := range servers {
		pagersWg.Add(1)
		go func() { // a reader that keeps asking for what is new
			defer pagersWg.Done()
			var after int64
			for writing.Load() {
				seqs, _ := feedSeqs(t, u, creds, after)
				paged[i] = append(paged[i], seqs...)
				if len(seqs) > 0 {
					after = seqs[len(seqs)-1]
				}
			}
			seqs, _ := feedSeqs(t, u, creds, after)
			paged[i] = append(paged[i], seqs...)
		}()
	}
	deadline := time.Now().Add(3 * time.Second)
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			u := servers[w%2]
			for i := 0; time.Now().Before(deadline); i++ {
				created := createTask(t, u, creds, fmt.Sprintf("writer %d task %d", w, i))
				id := int(created["activity_id"].(float64))
				switch i % 3 {
				case 1:
					do(t, http.MethodPatch, fmt.Sprintf("%s/v1/tasks/%d", servers[(w+1)%2], id), "application/json",
						`{"status":2}`, auth(creds)...)
				case 2:
					do(t, http.MethodDelete, fmt.Sprintf("%s/v1/tasks/%d", u, id), "", "", auth(creds)...)
				}
			}
		}()
	}
	wg.Wait()
	writing.Store(false)
	pagersWg.Wait()

	want, head := feedSeqs(t, a, creds, 0)
	if len(want) < 100 || want[len(want)-1] != head {
		t.Fatalf("the feed holds %d changes, head %d: the writers wrote too little to test", len(want), head)
	}
	for i, got := range paged {
		if !slices.Equal(got, want) {
			t.Errorf("a reader paging server %d saw %d changes, want the feed's %d in order (first difference at %d)",
				i, len(got), len(want), firstDifference(got, want))
		}
	}
	for i, events := range streams {
		var got []int64
		for len(got) < len(want) {
			select {
			case data := <-events:
				var c struct {
					Seq int64 `json:"seq"`
				}
				if err := json.Unmarshal([]byte(data), &c); err != nil {
					t.Fatalf("stream on server %d: %q: %v", i, data, err)
				}
				got = append(got, c.Seq)
			case <-time.After(5 * time.Second):
				t.Fatalf("the stream on server %d stopped after %d of %d changes", i, len(got), len(want))
			}
		}
		if !slices.Equal(got, want) {
			t.Errorf("the stream on server %d sent %d changes, want the feed's %d in order (first difference at %d)",
				i, len(got), len(want), firstDifference(got, want))
		}
	}
	t.Logf("%d changes written through two servers; two readers and two streams saw each once, in order", len(want))
}

func firstDifference(a, b []int64) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}
