// Command fanout measures how the change feed fans out to many GraphQL
// subscribers: it opens -subscribers WebSockets (graphql-transport-ws) with
// one key, each subscribed to taskChanged from now, writes tasks over REST
// at a fixed rate, and times each change from its write to its arrival at
// every subscriber. bench/fanout.sh builds and starts a server and runs it.
//
//	go run ./bench/fanout -url http://127.0.0.1:8080 -access-key ak_... -secret-key sk_... \
//	    -subscribers 1000 -rate 200 -duration 20s -pid $(pidof server)
//
// The run, in order:
//
//  1. -tasks tasks are created for the changes of the mix to change; their
//     own changes come before any subscription.
//  2. The subscribers connect, -dial-concurrency at a time: each sends
//     connection_init with the key, waits for connection_ack, and subscribes
//     to taskChanged with no after (from now), selecting
//     seq type taskId task { id title version updatedAt }.
//  3. graphql-transport-ws does not acknowledge a subscribe, so a probe task
//     is created every 100 ms until every subscriber has received one: each
//     subscription is then known to be live. The measured writes all come
//     after that, so every subscriber must receive every one of them.
//  4. The writes: -rate a second for -duration, each at its own moment of a
//     fixed schedule, sent by -writers goroutines (one slow answer does not
//     hold back the schedule), -creates of them creates (POST /v1/tasks), the
//     rest changes (PATCH /v1/tasks/{id}, a new title) of the tasks of step 1.
//  5. It waits (at most -drain) until every subscriber has received as many
//     changes as writes were answered, then closes the sockets. A change
//     not received by then counts as missing: an overloaded server that
//     would deliver it later fails the run as one that never would.
//
// A change is matched to its write by task id and version: the REST answer
// carries both, and so does the change (taskId, task.version). Each
// subscriber must receive each change exactly once, in increasing seq; any
// change missing, repeated, out of order or not of a measured write, and
// any write that failed, makes it exit with status 1.
//
// Commit-to-delivery latency is given two ways, neither of which is the
// commit itself, which no client sees:
//
//   - from the write's answer: the commit comes just before the answer, so
//     this under-counts, by at most the write's answer time. A change can
//     reach a subscriber before the answer reaches the writer; such a
//     delivery counts as negative.
//   - from the write's request: the moment the request was sent, before the
//     commit, so this over-counts by the part of the answer time before the
//     commit.
//
// With -pid (the server's process id, on this machine) it also reports the
// server's resident memory (VmRSS once the subscribers are live, and its
// peak, VmHWM, at the end) and the CPU the server used during the writes;
// with -perf FILE as well, it records the server's CPU profile during the
// writes with Linux perf (perf record -g) into FILE. From the server's
// /metrics it reports its goroutines, its GC cycles during the writes and
// the changes it sent over WebSockets.
//
// Client and server usually share the machine's cores: the client's own
// work (reading and timing every delivery, mostly the kernel's socket
// reads) is then part of what delays the deliveries, and the figures are
// upper bounds of the server's. Other processes using the cores spoil
// them further: -wait-idle waits for the machine to be quiet before the
// run, and the CPU other processes took during the writes is reported.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/coder/websocket"
)

const subscription = `subscription { taskChanged { seq type taskId task { id title version updatedAt } } }`

type config struct {
	base, accessKey, secretKey string
	subscribers                int
	rate                       float64
	duration                   time.Duration
	creates                    float64
	tasks                      int
	writers                    int
	dialConcurrency            int
	connectTimeout             time.Duration
	drain                      time.Duration
	pid                        int
	perf                       string
	goalP99                    time.Duration
	goalRSS                    float64 // MiB
	waitIdle                   time.Duration
	idleBelow                  float64 // cores
}

func main() {
	var cfg config
	flag.StringVar(&cfg.base, "url", "http://127.0.0.1:8080", "the server's base URL")
	flag.StringVar(&cfg.accessKey, "access-key", "", "API access key (x-ysuite-access-key)")
	flag.StringVar(&cfg.secretKey, "secret-key", "", "API secret key (x-ysuite-secret-key)")
	flag.IntVar(&cfg.subscribers, "subscribers", 1000, "WebSocket subscribers, all with the key")
	flag.Float64Var(&cfg.rate, "rate", 200, "writes a second")
	flag.DurationVar(&cfg.duration, "duration", 20*time.Second, "how long to write")
	flag.Float64Var(&cfg.creates, "creates", 0.5, "share of the writes that are creates (0 to 1); the rest change a task's title")
	flag.IntVar(&cfg.tasks, "tasks", 100, "tasks created beforehand for the changes to change")
	flag.IntVar(&cfg.writers, "writers", 256, "goroutines sending the writes: at most this many writes are in flight at once")
	flag.IntVar(&cfg.dialConcurrency, "dial-concurrency", 50, "subscribers connecting at once")
	flag.DurationVar(&cfg.connectTimeout, "connect-timeout", 2*time.Minute, "how long the subscribers may take to connect and go live")
	flag.DurationVar(&cfg.drain, "drain", time.Minute, "how long to wait for deliveries after the last write's answer")
	flag.IntVar(&cfg.pid, "pid", 0, "the server's process id, for its memory and CPU (0: not reported)")
	flag.StringVar(&cfg.perf, "perf", "", "record the server's CPU profile during the writes with perf into this file (needs -pid)")
	flag.DurationVar(&cfg.goalP99, "goal-p99", 100*time.Millisecond, "the goal for the p99 of commit-to-delivery")
	flag.Float64Var(&cfg.goalRSS, "goal-rss", 300, "the goal for the server's peak resident memory, MiB")
	flag.DurationVar(&cfg.waitIdle, "wait-idle", 0, "wait up to this long, before starting, for the machine's other processes to use under -idle-below cores")
	flag.Float64Var(&cfg.idleBelow, "idle-below", 0.2, "cores the machine may use for -wait-idle to find it idle")
	flag.Parse()
	if flag.NArg() > 0 {
		fail("unexpected arguments: %q", flag.Args())
	}
	if cfg.accessKey == "" || cfg.secretKey == "" {
		fail("-access-key and -secret-key are required")
	}
	if cfg.subscribers < 1 || cfg.rate <= 0 || cfg.duration <= 0 || cfg.creates < 0 || cfg.creates > 1 ||
		cfg.writers < 1 || cfg.dialConcurrency < 1 || (cfg.creates < 1 && cfg.tasks < 1) {
		fail("need -subscribers >= 1, -rate > 0, -duration > 0, 0 <= -creates <= 1, -writers >= 1, -dial-concurrency >= 1, and -tasks >= 1 unless every write is a create")
	}
	if cfg.perf != "" && cfg.pid == 0 {
		fail("-perf needs -pid")
	}
	cfg.base = strings.TrimRight(cfg.base, "/")
	if err := run(cfg); err != nil {
		fail("%v", err)
	}
}

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "fanout: "+format+"\n", args...)
	os.Exit(1)
}

func say(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "fanout: "+format+"\n", args...)
}

// ---- REST writes ----

type writer struct {
	cfg    config
	client *http.Client
}

// do sends one write and returns the task's id and version from its answer.
func (w *writer) do(method, path, body string) (id, version int, err error) {
	req, err := http.NewRequest(method, w.cfg.base+path, strings.NewReader(body))
	if err != nil {
		return 0, 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("x-ysuite-access-key", w.cfg.accessKey)
	req.Header.Set("x-ysuite-secret-key", w.cfg.secretKey)
	res, err := w.client.Do(req)
	if err != nil {
		return 0, 0, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		return 0, 0, err
	}
	if res.StatusCode/100 != 2 {
		return 0, 0, fmt.Errorf("%s %s: %s: %s", method, path, res.Status, bytes.TrimSpace(b))
	}
	var answer struct {
		Success bool `json:"success"`
		Data    struct {
			ID      int `json:"activity_id"`
			Version int `json:"version"`
		} `json:"data"`
	}
	if err := json.Unmarshal(b, &answer); err != nil || !answer.Success || answer.Data.ID == 0 || answer.Data.Version == 0 {
		return 0, 0, fmt.Errorf("%s %s: an answer without the task's id and version: %s", method, path, b)
	}
	return answer.Data.ID, answer.Data.Version, nil
}

func (w *writer) create(title string) (id, version int, err error) {
	return w.do(http.MethodPost, "/v1/tasks", `{"title":`+strconv.Quote(title)+
		`,"start_datetime":"2026-07-15T10:00:00","end_datetime":"2026-07-15T11:00:00","cstid":10,"priority":3,"tags":[4,7]}`)
}

func (w *writer) change(id int, title string) (int, int, error) {
	return w.do(http.MethodPatch, "/v1/tasks/"+strconv.Itoa(id), `{"title":`+strconv.Quote(title)+`}`)
}

// write is one measured write; times are nanoseconds since the run's base.
type write struct {
	sent, answered  int64
	taskID, version int32
	ok              bool
	err             error
}

// ---- subscribers ----

// delivery is one change as a subscriber received it.
type delivery struct {
	seq             int64
	at              int64 // nanoseconds since the run's base
	taskID, version int32
}

type subscriber struct {
	n    int
	conn *websocket.Conn
	got  []delivery // appended by its reader only; read once the reader ends

	count    atomic.Int64 // len(got), for the others to watch
	lastTask atomic.Int64 // the task id of the latest change received

	mu  sync.Mutex
	err error // the first failure
}

func (s *subscriber) failed(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err == nil {
		s.err = err
	}
}

func (s *subscriber) failure() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// connect opens the subscriber's socket, initialises it with the key,
// waits for connection_ack and subscribes.
func (s *subscriber) connect(ctx context.Context, cfg config, wsURL string) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, wsURL, &websocket.DialOptions{
		Subprotocols:    []string{"graphql-transport-ws"},
		CompressionMode: websocket.CompressionDisabled,
	})
	if err != nil {
		return err
	}
	if c.Subprotocol() != "graphql-transport-ws" {
		c.CloseNow()
		return fmt.Errorf("the server chose subprotocol %q", c.Subprotocol())
	}
	init, _ := json.Marshal(map[string]any{"type": "connection_init", "payload": map[string]string{
		"x-ysuite-access-key": cfg.accessKey, "x-ysuite-secret-key": cfg.secretKey}})
	if err := c.Write(ctx, websocket.MessageText, init); err != nil {
		c.CloseNow()
		return err
	}
	_, b, err := c.Read(ctx)
	if err != nil {
		c.CloseNow()
		return fmt.Errorf("waiting for connection_ack: %w", err)
	}
	if string(messageType(b)) != "connection_ack" {
		c.CloseNow()
		return fmt.Errorf("connection_init answered with %s", b)
	}
	sub, _ := json.Marshal(map[string]any{"id": "1", "type": "subscribe", "payload": map[string]any{"query": subscription}})
	if err := c.Write(ctx, websocket.MessageText, sub); err != nil {
		c.CloseNow()
		return err
	}
	s.conn = c
	return nil
}

var stopping atomic.Bool // the sockets are being closed by the client

// read takes every message of the socket until it closes, recording each
// change with the moment it was read.
func (s *subscriber) read(base time.Time) {
	buf := make([]byte, 2048)
	checked := false
	for {
		_, r, err := s.conn.Reader(context.Background())
		if err != nil {
			if !stopping.Load() {
				s.failed(fmt.Errorf("the socket ended: %w", err))
			}
			return
		}
		n := 0
		for {
			if n == len(buf) {
				buf = append(buf, make([]byte, len(buf))...)
			}
			m, err := r.Read(buf[n:])
			n += m
			if err == io.EOF {
				break
			}
			if err != nil {
				if !stopping.Load() {
					s.failed(fmt.Errorf("reading a message: %w", err))
				}
				return
			}
		}
		at := time.Since(base).Nanoseconds()
		msg := buf[:n]
		switch string(messageType(msg)) {
		case "next":
			d, err := parseNext(msg)
			if err == nil && !checked {
				// The first change of each subscriber is read again
				// with encoding/json, to hold the quick parse to it.
				err = checkNext(msg, d)
				checked = true
			}
			if err != nil {
				s.failed(err)
				continue
			}
			d.at = at
			s.got = append(s.got, d)
			s.lastTask.Store(int64(d.taskID))
			s.count.Add(1)
		case "ping":
			if err := s.conn.Write(context.Background(), websocket.MessageText, []byte(`{"type":"pong"}`)); err != nil && !stopping.Load() {
				s.failed(fmt.Errorf("answering a ping: %w", err))
			}
		case "pong":
		default: // error, complete, or not of the protocol
			s.failed(fmt.Errorf("the server sent %s", msg))
		}
	}
}

// messageType is the type of a graphql-transport-ws message: the last
// "type" in it, since the server writes the message's own type after its
// payload (checkNext holds the first change of each subscriber to this).
func messageType(msg []byte) []byte {
	const key = `"type":"`
	i := bytes.LastIndex(msg, []byte(key))
	if i < 0 {
		return nil
	}
	rest := msg[i+len(key):]
	j := bytes.IndexByte(rest, '"')
	if j < 0 {
		return nil
	}
	return rest[:j]
}

// parseNext reads the seq, task id and version of a next message without
// decoding it whole: a thousand subscribers read a great many of them, on
// the server's cores.
func parseNext(msg []byte) (delivery, error) {
	if bytes.Contains(msg, []byte(`"errors"`)) {
		return delivery{}, fmt.Errorf("a next message with errors: %s", msg)
	}
	seq, ok1 := intAfter(msg, `"seq":`)
	id, ok2 := intAfter(msg, `"taskId":"`)
	version, ok3 := intAfter(msg, `"version":`)
	if !ok1 || !ok2 || !ok3 || id > math.MaxInt32 || version > math.MaxInt32 {
		return delivery{}, fmt.Errorf("a next message without seq, taskId and task.version: %s", msg)
	}
	return delivery{seq: seq, taskID: int32(id), version: int32(version)}, nil
}

func intAfter(msg []byte, key string) (int64, bool) {
	i := bytes.Index(msg, []byte(key))
	if i < 0 {
		return 0, false
	}
	rest := msg[i+len(key):]
	j := 0
	for j < len(rest) && rest[j] >= '0' && rest[j] <= '9' {
		j++
	}
	v, err := strconv.ParseInt(string(rest[:j]), 10, 64)
	return v, err == nil
}

// checkNext decodes a next message whole and checks it against its quick
// parse.
func checkNext(msg []byte, d delivery) error {
	var m struct {
		ID      string `json:"id"`
		Type    string `json:"type"`
		Payload struct {
			Data struct {
				TaskChanged struct {
					Seq    int64  `json:"seq"`
					Type   string `json:"type"`
					TaskID string `json:"taskId"`
					Task   *struct {
						ID        string `json:"id"`
						Title     string `json:"title"`
						Version   int    `json:"version"`
						UpdatedAt string `json:"updatedAt"`
					} `json:"task"`
				} `json:"taskChanged"`
			} `json:"data"`
		} `json:"payload"`
	}
	if err := json.Unmarshal(msg, &m); err != nil {
		return fmt.Errorf("a message that is not JSON: %v: %s", err, msg)
	}
	c := m.Payload.Data.TaskChanged
	if m.ID != "1" || m.Type != "next" || c.Task == nil || c.Seq != d.seq || c.TaskID != strconv.Itoa(int(d.taskID)) ||
		c.Task.ID != c.TaskID || c.Task.Version != int(d.version) || c.Task.Title == "" || c.Task.UpdatedAt == "" {
		return fmt.Errorf("a next message read as seq %d, task %d, version %d is not that: %s", d.seq, d.taskID, d.version, msg)
	}
	return nil
}

// ---- the server's process ----

func procStatusKB(pid int, field string) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, field+":"); ok {
			return strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
		}
	}
	return 0, fmt.Errorf("no %s in /proc/%d/status", field, pid)
}

// procCPU is the CPU time a process has used, user and system.
func procCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The fields after the command's name, which is in parentheses and
	// may hold spaces: utime and stime are the 14th and 15th of the line.
	i := bytes.LastIndexByte(b, ')')
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat is short", pid)
	}
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, err
	}
	const ticks = 100 // USER_HZ, as Linux reports to every process
	return time.Duration(ut+st) * time.Second / ticks, nil
}

// machineCPU is the CPU time all the machine's cores have been busy, and
// have been either busy or idle, from /proc/stat.
func machineCPU() (busy, total time.Duration, err error) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0, err
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 9 || f[0] != "cpu" {
		return 0, 0, errors.New("no cpu line in /proc/stat")
	}
	var v [8]int64 // user nice system idle iowait irq softirq steal
	for i := range v {
		if v[i], err = strconv.ParseInt(f[i+1], 10, 64); err != nil {
			return 0, 0, err
		}
	}
	const ticks = 100
	b0 := v[0] + v[1] + v[2] + v[5] + v[6] + v[7]
	return time.Duration(b0) * time.Second / ticks, time.Duration(b0+v[3]+v[4]) * time.Second / ticks, nil
}

// waitIdle waits, up to limit, until the machine's processes other than
// the server have used fewer than below cores over two seconds running,
// and returns the cores they used over the last second.
func waitIdle(pid int, limit time.Duration, below float64) float64 {
	deadline := time.Now().Add(limit)
	quiet := 0
	for {
		b0, _, err0 := machineCPU()
		s0, _ := procCPU(pid)
		time.Sleep(time.Second)
		b1, _, err1 := machineCPU()
		s1, _ := procCPU(pid)
		if err0 != nil || err1 != nil {
			return math.NaN()
		}
		others := (b1 - b0 - (s1 - s0)).Seconds()
		if others < below {
			quiet++
		} else {
			quiet = 0
		}
		if quiet >= 2 || time.Now().After(deadline) {
			return others
		}
	}
}

func selfCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func mib(kb int64) float64 { return float64(kb) / 1024 }

// Figures read from the server's /metrics.
const (
	metricGoroutines = "go_goroutines"
	metricGCCycles   = "go_gc_duration_seconds_count"
	metricSent       = `tasks_feed_changes_sent_total{kind="graphql-ws"}`
)

// serverMetrics reads the figures above from the server's /metrics; a
// figure it cannot read is left out.
func serverMetrics(client *http.Client, base string) map[string]float64 {
	m := map[string]float64{}
	res, err := client.Get(base + "/metrics")
	if err != nil {
		return m
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil || res.StatusCode != http.StatusOK {
		return m
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		name, value, ok := strings.Cut(line, " ")
		if !ok || (name != metricGoroutines && name != metricGCCycles && name != metricSent) {
			continue
		}
		if v, err := strconv.ParseFloat(strings.TrimSpace(value), 64); err == nil {
			m[name] = v
		}
	}
	return m
}

// metricLine describes a figure of /metrics, or its change between two
// readings, or says that it could not be read.
func metricLine(before, after map[string]float64, name string) string {
	b, ok1 := before[name]
	a, ok2 := after[name]
	switch {
	case before == nil && ok2:
		return strconv.FormatFloat(a, 'f', -1, 64)
	case ok1 && ok2:
		return strconv.FormatFloat(a-b, 'f', -1, 64)
	default:
		return "?"
	}
}

// ---- the run ----

func run(cfg config) error {
	base := time.Now()
	ctx := context.Background()
	u, err := url.Parse(cfg.base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") {
		return fmt.Errorf("-url must be an http or https URL, not %q", cfg.base)
	}
	wsURL := *u
	wsURL.Scheme = map[string]string{"http": "ws", "https": "wss"}[u.Scheme]
	wsURL.Path += "/query"

	w := &writer{cfg: cfg, client: &http.Client{
		Timeout: 30 * time.Second,
		Transport: &http.Transport{
			MaxIdleConns:        cfg.writers,
			MaxIdleConnsPerHost: cfg.writers,
			IdleConnTimeout:     time.Minute,
		},
	}}

	if cfg.waitIdle > 0 {
		say("waiting up to %v for the machine to be idle (other processes under %g cores)", cfg.waitIdle, cfg.idleBelow)
		began := time.Now()
		others := waitIdle(cfg.pid, cfg.waitIdle, cfg.idleBelow)
		if others >= cfg.idleBelow {
			say("the machine is not idle after %v: other processes use %.2f cores; measuring anyway", cfg.waitIdle, others)
		} else {
			say("idle after %.0f s", time.Since(began).Seconds())
		}
	}

	// 1. The tasks the changes change.
	pool := make([]int, 0, cfg.tasks)
	if cfg.creates < 1 {
		for i := range cfg.tasks {
			id, _, err := w.create(fmt.Sprintf("fanout task %d", i))
			if err != nil {
				return fmt.Errorf("creating the tasks to change: %w", err)
			}
			pool = append(pool, id)
		}
	}

	// 2. The subscribers.
	planned := int(math.Round(cfg.rate * cfg.duration.Seconds()))
	if planned < 1 {
		planned = 1
	}
	say("connecting %d subscribers to %s", cfg.subscribers, wsURL.String())
	subs := make([]*subscriber, cfg.subscribers)
	connectStart := time.Now()
	var connectErr atomic.Pointer[error]
	var wg sync.WaitGroup
	next := atomic.Int64{}
	for range min(cfg.dialConcurrency, cfg.subscribers) {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= cfg.subscribers || connectErr.Load() != nil {
					return
				}
				s := &subscriber{n: i, got: make([]delivery, 0, planned+64)}
				if err := s.connect(ctx, cfg, wsURL.String()); err != nil {
					err = fmt.Errorf("subscriber %d: %w", i, err)
					connectErr.CompareAndSwap(nil, &err)
					return
				}
				subs[i] = s
			}
		})
	}
	wg.Wait()
	var readers sync.WaitGroup
	closeAll := func() {
		stopping.Store(true)
		for _, s := range subs {
			if s != nil && s.conn != nil {
				s.conn.CloseNow()
			}
		}
		readers.Wait()
	}
	defer closeAll()
	if p := connectErr.Load(); p != nil {
		return *p
	}
	connected := time.Since(connectStart)
	for _, s := range subs {
		readers.Go(func() { s.read(base) })
	}

	// 3. Probes until every subscriber is live.
	deadline := time.Now().Add(cfg.connectTimeout)
	probes, lastProbe := 0, 0
	for {
		live := 0
		for _, s := range subs {
			if s.count.Load() > 0 {
				live++
			}
			if err := s.failure(); err != nil {
				return fmt.Errorf("subscriber %d before the writes: %w", s.n, err)
			}
		}
		if live == len(subs) {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("only %d of %d subscribers received a change within -connect-timeout %v", live, len(subs), cfg.connectTimeout)
		}
		id, _, err := w.create(fmt.Sprintf("fanout probe %d", probes))
		if err != nil {
			return fmt.Errorf("creating a probe task: %w", err)
		}
		probes++
		lastProbe = id
		time.Sleep(100 * time.Millisecond)
	}
	for {
		all := true
		for _, s := range subs {
			if s.lastTask.Load() != int64(lastProbe) {
				all = false
				break
			}
		}
		if all {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the last probe task did not reach every subscriber within -connect-timeout %v", cfg.connectTimeout)
		}
		time.Sleep(10 * time.Millisecond)
	}
	baseline := make([]int, len(subs))
	for i, s := range subs {
		baseline[i] = int(s.count.Load())
	}
	live := time.Since(connectStart)
	say("%d subscribers live (probe writes: %d); writing", len(subs), probes)

	metricsLive := serverMetrics(w.client, cfg.base)
	var idleRSS int64
	if cfg.pid != 0 {
		if idleRSS, err = procStatusKB(cfg.pid, "VmRSS"); err != nil {
			return err
		}
	}

	// 4. The writes.
	var perf *exec.Cmd
	if cfg.perf != "" {
		perf = exec.Command("perf", "record", "-F", "499", "-g", "-p", strconv.Itoa(cfg.pid), "-o", cfg.perf,
			"--", "sleep", strconv.FormatFloat(cfg.duration.Seconds(), 'f', 3, 64))
		perf.Stdout, perf.Stderr = io.Discard, os.Stderr
		if err := perf.Start(); err != nil {
			return fmt.Errorf("starting perf: %w", err)
		}
	}
	var serverCPU0 time.Duration
	if cfg.pid != 0 {
		serverCPU0, _ = procCPU(cfg.pid)
	}
	selfCPU0 := selfCPU()
	machine0, _, _ := machineCPU()
	writes := make([]write, planned)
	jobs := make(chan int, planned)
	var writing sync.WaitGroup
	changes := 0
	isCreate := func(i int) bool { // creates spread evenly through the writes
		return math.Floor(float64(i+1)*cfg.creates) > math.Floor(float64(i)*cfg.creates)
	}
	target := make([]int, planned)
	for i := range writes {
		if !isCreate(i) {
			target[i] = pool[changes%len(pool)]
			changes++
		}
	}
	for range cfg.writers {
		writing.Go(func() {
			for i := range jobs {
				wr := &writes[i]
				title := fmt.Sprintf("fanout write %d", i)
				wr.sent = time.Since(base).Nanoseconds()
				var id, version int
				var err error
				if target[i] == 0 {
					id, version, err = w.create(title)
				} else {
					id, version, err = w.change(target[i], title)
				}
				wr.answered = time.Since(base).Nanoseconds()
				if err != nil {
					wr.err = err
					continue
				}
				wr.taskID, wr.version, wr.ok = int32(id), int32(version), true
			}
		})
	}
	writeStart := time.Now()
	interval := float64(time.Second) / cfg.rate
	for i := range planned {
		due := writeStart.Add(time.Duration(float64(i) * interval))
		if d := time.Until(due); d > 0 {
			time.Sleep(d)
		}
		jobs <- i
	}
	close(jobs)
	writing.Wait()
	writeEnd := time.Now()
	var serverCPU time.Duration
	if cfg.pid != 0 {
		if c, err := procCPU(cfg.pid); err == nil {
			serverCPU = c - serverCPU0
		}
	}
	clientCPU := selfCPU() - selfCPU0
	metricsWritten := serverMetrics(w.client, cfg.base)
	machine1, _, _ := machineCPU()
	machineBusy := machine1 - machine0
	ok := 0
	var firstErr error
	for _, wr := range writes {
		if wr.ok {
			ok++
		} else if firstErr == nil {
			firstErr = wr.err
		}
	}

	// 5. The deliveries still on their way.
	drainDeadline := time.Now().Add(cfg.drain)
	for {
		done := true
		for i, s := range subs {
			// A subscriber that failed gets nothing more: the
			// reckoning says why.
			if int(s.count.Load())-baseline[i] < ok && s.failure() == nil {
				done = false
				break
			}
		}
		if done || time.Now().After(drainDeadline) {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond) // a change sent twice would come by now
	metricsDrained := serverMetrics(w.client, cfg.base)
	drained := time.Since(writeEnd)
	var peakRSS int64
	if cfg.pid != 0 {
		if peakRSS, err = procStatusKB(cfg.pid, "VmHWM"); err != nil {
			return err
		}
	}
	closeAll()
	if perf != nil {
		if err := perf.Wait(); err != nil {
			say("perf record: %v", err)
		}
	}

	// ---- the reckoning ----
	index := make(map[uint64]int, ok)
	for i, wr := range writes {
		if wr.ok {
			index[uint64(uint32(wr.taskID))<<32|uint64(uint32(wr.version))] = i
		}
	}
	seqOf := make([]int64, planned)
	lastAt := make([]int64, planned) // the latest arrival of each change
	fromAnswer := make([]int64, 0, ok*len(subs))
	fromSent := make([]int64, 0, ok*len(subs))
	seen := make([]bool, planned)
	var delivered, missing, missingFailed, duplicates, outOfOrder, unexpected, seqMismatch, early int
	var failedSubs []string
	var lastSend int64
	for _, wr := range writes {
		lastSend = max(lastSend, wr.sent)
	}
	writeStartNs := writeStart.Sub(base).Nanoseconds()
	bySecond := make([][]int64, max(0, lastSend-writeStartNs)/int64(time.Second)+1)
	for si, s := range subs {
		if err := s.failure(); err != nil {
			failedSubs = append(failedSubs, fmt.Sprintf("subscriber %d: %v", si, err))
		}
		clear(seen)
		prev := int64(0)
		for k, d := range s.got {
			if k > 0 && d.seq <= prev {
				outOfOrder++
			}
			prev = max(prev, d.seq)
			if k < baseline[si] {
				continue // a probe
			}
			i, found := index[uint64(uint32(d.taskID))<<32|uint64(uint32(d.version))]
			if !found {
				unexpected++
				continue
			}
			if seen[i] {
				duplicates++
				continue
			}
			seen[i] = true
			delivered++
			if seqOf[i] == 0 {
				seqOf[i] = d.seq
			} else if seqOf[i] != d.seq {
				seqMismatch++
			}
			wr := &writes[i]
			la := d.at - wr.answered
			if la < 0 {
				early++
			}
			fromAnswer = append(fromAnswer, la)
			fromSent = append(fromSent, d.at-wr.sent)
			lastAt[i] = max(lastAt[i], d.at)
			if sec := (wr.sent - writeStartNs) / int64(time.Second); sec >= 0 && sec < int64(len(bySecond)) {
				bySecond[sec] = append(bySecond[sec], la)
			}
		}
		for i := range writes {
			if writes[i].ok && !seen[i] {
				if s.failure() != nil {
					missingFailed++
				} else {
					missing++
				}
			}
		}
	}
	var answerTimes, toLast []int64
	var firstSent, lastSent int64 = math.MaxInt64, 0
	var lag int64
	for i, wr := range writes {
		firstSent, lastSent = min(firstSent, wr.sent), max(lastSent, wr.sent)
		lag = max(lag, wr.sent-(writeStart.Sub(base).Nanoseconds()+int64(float64(i)*interval)))
		if !wr.ok {
			continue
		}
		answerTimes = append(answerTimes, wr.answered-wr.sent)
		if lastAt[i] != 0 {
			toLast = append(toLast, lastAt[i]-wr.answered)
		}
	}
	sendSpan := time.Duration(lastSent - firstSent)
	achieved := 0.0
	if sendSpan > 0 {
		achieved = float64(len(writes)-1) / sendSpan.Seconds()
	}

	// ---- the figures ----
	creates := planned - changes
	fmt.Printf("fanout: %d WebSocket subscribers (graphql-transport-ws) of one organisation, one key; %g writes/s planned for %v (%d creates, %d changes of %d tasks), %d writer goroutines\n",
		len(subs), cfg.rate, cfg.duration, creates, changes, len(pool), cfg.writers)
	fmt.Printf("machine: %d cores, shared by the client (GOMAXPROCS %d) and the server\n", runtime.NumCPU(), runtime.GOMAXPROCS(0))
	fmt.Printf("subscribers: %d connected in %.2f s, all live in %.2f s (probe writes: %d)\n", len(subs), connected.Seconds(), live.Seconds(), probes)
	fmt.Printf("writes: %d sent, %d answered 2xx, %d failed; sent over %.2f s: %.1f writes/s; at most %.1f ms behind schedule\n",
		len(writes), ok, len(writes)-ok, sendSpan.Seconds(), achieved, ms(lag))
	fmt.Printf("REST write answer time: p50 %.2f ms, p99 %.2f ms, max %.2f ms\n", pct(answerTimes, 0.50), pct(answerTimes, 0.99), pct(answerTimes, 1))
	fmt.Printf("delivery from the write's answer (under-counts by at most the answer time): p50 %.2f ms, p99 %.2f ms, max %.2f ms\n",
		pct(fromAnswer, 0.50), pct(fromAnswer, 0.99), pct(fromAnswer, 1))
	fmt.Printf("delivery from the write's request (over-counts): p50 %.2f ms, p99 %.2f ms, max %.2f ms\n",
		pct(fromSent, 0.50), pct(fromSent, 0.99), pct(fromSent, 1))
	fmt.Printf("delivery to the last subscriber of each change, from the answer: p50 %.2f ms, p99 %.2f ms, max %.2f ms\n",
		pct(toLast, 0.50), pct(toLast, 0.99), pct(toLast, 1))
	fmt.Printf("deliveries before the write's answer reached the writer: %d (%.1f%%)\n", early, 100*float64(early)/math.Max(1, float64(delivered)))
	var seconds []string
	for _, l := range bySecond {
		if len(l) > 0 {
			seconds = append(seconds, fmt.Sprintf("%.0f", pct(l, 0.99)))
		}
	}
	fmt.Printf("delivery p99 from the answer, by second of the writes' requests (ms): %s\n", strings.Join(seconds, " "))
	fmt.Printf("changes delivered: %d of %d (%d subscribers x %d writes), in %.2f s after the last write's answer\n",
		delivered, ok*len(subs), len(subs), ok, drained.Seconds())
	fmt.Printf("missing (not delivered within -drain %v of the last answer): %d\n", cfg.drain, missing)
	fmt.Printf("subscribers failed (their socket ended, or the server sent an error): %d, missing %d changes between them\n", len(failedSubs), missingFailed)
	fmt.Printf("duplicates: %d\n", duplicates)
	fmt.Printf("out of seq order: %d\n", outOfOrder)
	fmt.Printf("not of an answered write (a write that failed may have committed): %d\n", unexpected)
	fmt.Printf("seq differing between subscribers: %d\n", seqMismatch)
	span := writeEnd.Sub(writeStart).Seconds()
	fmt.Printf("client CPU during the writes: %.2f cores\n", clientCPU.Seconds()/span)
	if cfg.pid != 0 {
		fmt.Printf("server CPU during the writes: %.2f cores\n", serverCPU.Seconds()/span)
		others := (machineBusy - serverCPU - clientCPU).Seconds() / span
		fmt.Printf("machine CPU during the writes: %.2f of %d cores busy, %.2f of them other processes\n", machineBusy.Seconds()/span, runtime.NumCPU(), max(0, others))
		if others >= 0.25 {
			fmt.Printf("WARNING: other processes used %.2f cores during the writes: the latencies are not of this server alone\n", others)
		}
		fmt.Printf("server RSS: %.1f MiB with the subscribers live, before the writes; peak (VmHWM) %.1f MiB\n", mib(idleRSS), mib(peakRSS))
	}
	fmt.Printf("server: %s goroutines with the subscribers live; %s GC cycles during the writes; %s changes sent over WebSockets from the writes' start to the end of the drain\n",
		metricLine(nil, metricsLive, metricGoroutines), metricLine(metricsLive, metricsWritten, metricGCCycles),
		metricLine(metricsLive, metricsDrained, metricSent))
	p99 := pct(fromAnswer, 0.99)
	p99Sent := pct(fromSent, 0.99)
	goal := ms(cfg.goalP99.Nanoseconds())
	fmt.Printf("goal, commit-to-delivery p99 under %.0f ms: %.2f ms from the answer = %.2f of the limit; %.2f ms from the request = %.2f of the limit: %s\n",
		goal, p99, p99/goal, p99Sent, p99Sent/goal, verdict(p99Sent < goal, p99 < goal))
	if cfg.pid != 0 {
		fmt.Printf("goal, server RSS under %.0f MiB: peak %.1f MiB = %.2f of the limit: %s\n",
			cfg.goalRSS, mib(peakRSS), mib(peakRSS)/cfg.goalRSS, verdict(mib(peakRSS) < cfg.goalRSS, mib(peakRSS) < cfg.goalRSS))
	}
	fmt.Printf("goal, %g writes/s: %.1f sent = %.2f of it; every subscriber every change: %s\n",
		cfg.rate, achieved, achieved/cfg.rate, verdict(missing+missingFailed+duplicates+outOfOrder+unexpected+seqMismatch == 0 && len(failedSubs) == 0 && ok > 0, false))

	var problems []string
	if ok < len(writes) {
		problems = append(problems, fmt.Sprintf("%d writes failed, the first: %v", len(writes)-ok, firstErr))
	}
	if n := missing + missingFailed + duplicates + outOfOrder + unexpected + seqMismatch; n > 0 {
		problems = append(problems, fmt.Sprintf("%d deliveries missing, repeated, out of order, unexpected or with differing seqs", n))
	}
	if len(failedSubs) > 0 {
		problems = append(problems, fmt.Sprintf("%d subscribers failed, the first: %s", len(failedSubs), failedSubs[0]))
	}
	if len(problems) > 0 {
		return errors.New("FAILED: " + strings.Join(problems, "; "))
	}
	return nil
}

func verdict(met, metByLowerBound bool) string {
	switch {
	case met:
		return "met"
	case metByLowerBound:
		return "met from the answer only"
	default:
		return "NOT met"
	}
}

func ms(ns int64) float64 { return float64(ns) / 1e6 }

// pct returns the q quantile (nearest rank) of values in milliseconds; it
// sorts values.
func pct(values []int64, q float64) float64 {
	if len(values) == 0 {
		return math.NaN()
	}
	if !slices.IsSorted(values) {
		slices.Sort(values)
	}
	k := int(math.Ceil(q*float64(len(values)))) - 1
	return ms(values[max(0, min(k, len(values)-1))])
}
