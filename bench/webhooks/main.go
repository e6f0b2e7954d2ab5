// Command webhooks measures webhook deliveries of a running tasks API
// server from the receiving end: how long a change takes from its write's
// answer to an endpoint, whether every change arrives once and in order,
// and what the deliveries cost the API's write throughput.
//
//	webhooks -server http://127.0.0.1:8080 -access-key ak_... -secret-key sk_... \
//	    -bin ./server -db tasks.db -org Bench [-failing 1] [-webhooks=false]
//
// It starts ENDPOINTS receivers on loopback (net/http on 127.0.0.1:0), the
// last FAILING of which answer 500 to every attempt, and registers one
// webhook for each with the server binary's "webhooks add" (the server must
// run with --webhooks-allow-private). Each receiver records when each
// request arrived, checks its Standard Webhooks signature, and answers
// right after (204, or 500).
//
// Then three phases:
//
//   - warm-up: one create, waited for until each receiver has it (the
//     failing ones their first attempt), so that the server has picked up
//     the new webhooks and connected to them;
//   - paced: RATE writes a second for DURATION, a third creates and two
//     thirds changes (PATCH, each to a title never sent before) of tasks
//     created before, each sent on schedule from a goroutine of its own
//     (at most IN-FLIGHT under way), so that a slow answer holds back no
//     later write; then up to DRAIN for the deliveries to finish. Each
//     delivery is matched to its write by the change's task and version
//     (and checked against its type and title): per receiver, deliveries,
//     duplicates, out of order, missing, and the latency from the write's
//     answer (its commit came just before) to the delivery's arrival (its
//     2xx is written right after); the latency from the write's request,
//     an upper bound, too; and the gap between deliveries sent back to
//     back, which bounds the changes a second one webhook can take;
//   - closed: WRITERS goroutines writing as fast as they can for CLOSED,
//     the same mix: the API's writes a second, and how many deliveries the
//     receivers took meanwhile.
//
// With -webhooks=false no receiver is started and nothing is registered:
// the baseline. Tables go to standard output, followed by one line
// "RESULT key=value ..." for bench/webhooks.sh; progress goes to standard
// error. With -server-pid, the server's CPU time is read from /proc for
// each phase; with -csv, every delivery to a healthy receiver is written
// to a file, with its write's times, to see when the latency grew.
package main

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"text/tabwriter"
	"time"
)

type options struct {
	server, accessKey, secretKey string
	bin, db, org                 string
	webhooks                     bool
	endpoints, failing           int
	rate                         float64
	duration, drain              time.Duration
	inFlight, writers            int
	closed                       time.Duration
	serverPID                    int
	label, csv                   string
}

func main() {
	log.SetFlags(0)
	log.SetPrefix("webhooks bench: ")
	var o options
	flag.StringVar(&o.server, "server", "", "base URL of the running server (required)")
	flag.StringVar(&o.accessKey, "access-key", "", "access key of the organisation written to (required)")
	flag.StringVar(&o.secretKey, "secret-key", "", "its secret key (required)")
	flag.StringVar(&o.bin, "bin", "", "the server binary, whose \"webhooks add\" registers the receivers (required with -webhooks)")
	flag.StringVar(&o.db, "db", "", "the server's database (required with -webhooks)")
	flag.StringVar(&o.org, "org", "Bench", "the key's organisation, whose changes the webhooks receive")
	flag.BoolVar(&o.webhooks, "webhooks", true, "start receivers and register a webhook for each; false: the baseline without webhooks")
	flag.IntVar(&o.endpoints, "endpoints", 5, "receivers, one webhook each")
	flag.IntVar(&o.failing, "failing", 0, "how many of the receivers answer 500 to every attempt")
	flag.Float64Var(&o.rate, "rate", 200, "writes a second in the paced phase")
	flag.DurationVar(&o.duration, "duration", 20*time.Second, "length of the paced phase")
	flag.IntVar(&o.inFlight, "in-flight", 256, "most paced writes under way at once")
	flag.DurationVar(&o.drain, "drain", 5*time.Second, "longest wait, after the paced phase, for its deliveries")
	flag.IntVar(&o.writers, "writers", 16, "concurrent writers of the closed phase")
	flag.DurationVar(&o.closed, "closed", 10*time.Second, "length of the closed phase; 0 skips it")
	flag.IntVar(&o.serverPID, "server-pid", 0, "the server's process id, to report its CPU time (Linux)")
	flag.StringVar(&o.label, "label", "", "name of this run in the RESULT line")
	flag.StringVar(&o.csv, "csv", "", "write every delivery to a healthy receiver to this file, as CSV")
	flag.Parse()
	switch {
	case o.server == "" || o.accessKey == "" || o.secretKey == "":
		log.Fatal("-server, -access-key and -secret-key are required")
	case o.webhooks && (o.bin == "" || o.db == ""):
		log.Fatal("-bin and -db are required with -webhooks")
	case o.endpoints < 1 || o.failing < 0 || o.failing > o.endpoints:
		log.Fatal("need -endpoints >= 1 and 0 <= -failing <= -endpoints")
	case o.rate <= 0 || o.duration <= 0 || o.inFlight < 1 || o.writers < 1 || o.closed < 0 || o.drain < 0:
		log.Fatal("need a positive -rate, -duration, -in-flight and -writers, and -closed, -drain >= 0")
	}
	if !o.webhooks {
		o.endpoints, o.failing = 0, 0
	}
	if o.label == "" {
		o.label = fmt.Sprintf("%d-webhooks-%d-failing", o.endpoints, o.failing)
	}
	if err := run(o); err != nil {
		log.Fatal(err)
	}
}

// ---- writes ----

type phase int

const (
	warmup phase = iota
	paced
	closedLoop
)

// change names a change of the feed: a task and the version it made.
type change struct{ task, version int }

// write is one create or PATCH and its answer.
type write struct {
	phase          phase
	create         bool
	title          string
	change         change
	sent, answered time.Time
	late           time.Duration // paced: how long after its schedule it was sent
}

// client sends the writes and keeps a record of each.
type client struct {
	base, accessKey, secretKey string
	http                       *http.Client
	n                          atomic.Int64 // writes begun: numbers the titles

	mu      sync.Mutex
	created []int // task ids, for changes to pick from
	writes  []*write
	byKey   map[change]*write
	errors  map[phase]int
	lastErr string
}

func newClient(o options) *client {
	return &client{
		base: strings.TrimRight(o.server, "/"), accessKey: o.accessKey, secretKey: o.secretKey,
		http: &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
			Proxy:               nil,
			MaxIdleConns:        256,
			MaxIdleConnsPerHost: 256,
			IdleConnTimeout:     90 * time.Second,
		}},
		byKey:  map[change]*write{},
		errors: map[phase]int{},
	}
}

// write sends one write: a create every third, or when there is no task
// yet, else a change of the title of a task created before.
func (c *client) write(ctx context.Context, ph phase, rng *rand.Rand, late time.Duration) {
	n := c.n.Add(1)
	c.mu.Lock()
	target := 0
	if len(c.created) > 0 && n%3 != 1 {
		target = c.created[rng.IntN(len(c.created))]
	}
	c.mu.Unlock()
	w := &write{phase: ph, create: target == 0, late: late}
	var req *http.Request
	var err error
	if w.create {
		w.title = fmt.Sprintf("Webhook bench create %d", n)
		body := `{"title":"` + w.title + `","start_datetime":"2026-07-15T10:00:00","end_datetime":"2026-07-15T11:00:00",` +
			`"cstid":` + strconv.FormatInt(1+n%1000, 10) + `,"priority":3,"tags":[4,7]}`
		req, err = http.NewRequestWithContext(ctx, http.MethodPost, c.base+"/v1/tasks", strings.NewReader(body))
	} else {
		w.title = fmt.Sprintf("Webhook bench change %d", n)
		req, err = http.NewRequestWithContext(ctx, http.MethodPatch, c.base+"/v1/tasks/"+strconv.Itoa(target),
			strings.NewReader(`{"title":"`+w.title+`"}`))
	}
	if err != nil {
		c.fail(ph, err.Error())
		return
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("x-ysuite-access-key", c.accessKey)
	req.Header.Set("x-ysuite-secret-key", c.secretKey)
	w.sent = time.Now()
	res, err := c.http.Do(req)
	if err != nil {
		if ctx.Err() == nil {
			c.fail(ph, err.Error())
		}
		return
	}
	body, err := io.ReadAll(res.Body)
	res.Body.Close()
	w.answered = time.Now()
	if err != nil || res.StatusCode != http.StatusOK {
		c.fail(ph, fmt.Sprintf("%s %s: %d %.200s", req.Method, req.URL.Path, res.StatusCode, body))
		return
	}
	// The answer is {"success":true,"message":...,"data":{"activity_id":N,...,"version":V}}:
	// the first activity_id is the task's, the last version its version.
	id, ok1 := intAfter(body, `"activity_id":`, false)
	version, ok2 := intAfter(body, `"version":`, true)
	if !ok1 || !ok2 {
		c.fail(ph, fmt.Sprintf("no activity_id and version in the answer: %.200s", body))
		return
	}
	w.change = change{id, version}
	c.mu.Lock()
	if w.create {
		c.created = append(c.created, id)
	}
	c.writes = append(c.writes, w)
	c.byKey[w.change] = w
	c.mu.Unlock()
}

func (c *client) fail(ph phase, msg string) {
	c.mu.Lock()
	c.errors[ph]++
	c.lastErr = msg
	c.mu.Unlock()
}

// intAfter reads the whole number after the first (or last) key in b.
func intAfter(b []byte, key string, last bool) (int, bool) {
	i := bytes.Index(b, []byte(key))
	if last {
		i = bytes.LastIndex(b, []byte(key))
	}
	if i < 0 {
		return 0, false
	}
	b = b[i+len(key):]
	j := 0
	for j < len(b) && b[j] >= '0' && b[j] <= '9' {
		j++
	}
	n, err := strconv.Atoi(string(b[:j]))
	return n, err == nil
}

// writesOf returns the recorded writes of the phases, in the order their
// answers came.
func (c *client) writesOf(phases ...phase) []*write {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []*write
	for _, w := range c.writes {
		if slices.Contains(phases, w.phase) {
			out = append(out, w)
		}
	}
	return out
}

func (c *client) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.writes)
}

// ---- receivers ----

// arrival is one request a receiver took.
type arrival struct {
	at         time.Time
	id         string // webhook-id
	typ        string // the body's type
	seq        int64
	change     change
	title      string
	signed     bool // the signature checked out
	badRequest string
}

// receiver is one endpoint: it records each request, then answers.
type receiver struct {
	index   int
	failing bool
	url     string
	srv     *http.Server
	webhook atomic.Int64           // the webhook's id, once registered
	secret  atomic.Pointer[[]byte] // its signing key, once registered

	mu       sync.Mutex
	arrivals []arrival
	seqs     map[int64]int // deliveries by seq
}

func startReceiver(index int, failing bool) (*receiver, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	r := &receiver{index: index, failing: failing, url: "http://" + ln.Addr().String() + "/hooks",
		seqs: map[int64]int{}}
	r.srv = &http.Server{Handler: r, ReadHeaderTimeout: 10 * time.Second}
	go r.srv.Serve(ln)
	return r, nil
}

// body is what a receiver reads of a delivery.
type body struct {
	Type string `json:"type"`
	Data struct {
		Seq        int64  `json:"seq"`
		Type       string `json:"type"`
		ActivityID int    `json:"activity_id"`
		Task       *struct {
			Title   string `json:"title"`
			Version int    `json:"version"`
		} `json:"task"`
	} `json:"data"`
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	a := arrival{at: time.Now(), id: req.Header.Get("webhook-id")}
	raw, err := io.ReadAll(req.Body)
	var b body
	switch {
	case err != nil:
		a.badRequest = "reading the body: " + err.Error()
	case req.Method != http.MethodPost:
		a.badRequest = "method " + req.Method
	case req.Header.Get("Content-Type") != "application/json":
		a.badRequest = "Content-Type " + req.Header.Get("Content-Type")
	default:
		if err := json.Unmarshal(raw, &b); err != nil {
			a.badRequest = "the body is not JSON: " + err.Error()
		}
	}
	if key := r.secret.Load(); key != nil {
		a.signed = verify(*key, req.Header, raw, a.at)
	}
	a.typ, a.seq = b.Type, b.Data.Seq
	a.change.task = b.Data.ActivityID
	if b.Data.Task != nil {
		a.change.version, a.title = b.Data.Task.Version, b.Data.Task.Title
	}
	if a.badRequest == "" && b.Type != "task."+b.Data.Type {
		a.badRequest = fmt.Sprintf("type %q around data.type %q", b.Type, b.Data.Type)
	}
	if want := "msg_" + strconv.FormatInt(r.webhook.Load(), 10) + "_" + strconv.FormatInt(a.seq, 10); a.badRequest == "" && a.id != want {
		a.badRequest = fmt.Sprintf("webhook-id %q, not %q", a.id, want)
	}
	r.mu.Lock()
	r.arrivals = append(r.arrivals, a)
	if !r.failing {
		r.seqs[a.seq]++
	}
	r.mu.Unlock()
	if r.failing {
		w.WriteHeader(http.StatusInternalServerError)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// verify checks a Standard Webhooks signature: v1, and base64 of
// HMAC-SHA256 of "<id>.<timestamp>.<body>", the timestamp within 5
// minutes.
func verify(key []byte, h http.Header, raw []byte, now time.Time) bool {
	id, ts := h.Get("webhook-id"), h.Get("webhook-timestamp")
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || id == "" || math.Abs(now.Sub(time.Unix(sec, 0)).Seconds()) > 300 {
		return false
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(id + "." + ts + "."))
	mac.Write(raw)
	want := base64.StdEncoding.EncodeToString(mac.Sum(nil))
	for _, sig := range strings.Fields(h.Get("webhook-signature")) {
		if v, s, ok := strings.Cut(sig, ","); ok && v == "v1" && hmac.Equal([]byte(s), []byte(want)) {
			return true
		}
	}
	return false
}

// distinct is how many changes the receiver has taken.
func (r *receiver) distinct() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.failing {
		return len(r.arrivals)
	}
	return len(r.seqs)
}

func (r *receiver) snapshot() []arrival {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.arrivals)
}

// register adds the receiver's webhook through the server binary.
func (r *receiver) register(ctx context.Context, o options) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, o.bin, "webhooks", "add", "--org", o.org, "--url", r.url, "--db", o.db,
		"--webhooks-allow-private", "--description", fmt.Sprintf("delivery benchmark receiver %d", r.index))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return fmt.Errorf("webhooks add for %s: %v: %s", r.url, err, bytes.TrimSpace(stderr.Bytes()))
	}
	var added struct {
		ID     int64  `json:"id"`
		URL    string `json:"url"`
		Secret string `json:"secret"`
	}
	if err := json.Unmarshal(out, &added); err != nil || added.ID == 0 || !strings.HasPrefix(added.Secret, "whsec_") {
		return fmt.Errorf("webhooks add printed %q", out)
	}
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(added.Secret, "whsec_"))
	if err != nil {
		return fmt.Errorf("the secret %q is not whsec_ and base64", added.Secret)
	}
	r.webhook.Store(added.ID)
	r.secret.Store(&key)
	return nil
}

// ---- the run ----

func run(o options) error {
	ctx := context.Background()
	c := newClient(o)
	var receivers []*receiver
	for i := 1; i <= o.endpoints; i++ {
		r, err := startReceiver(i, i > o.endpoints-o.failing)
		if err != nil {
			return err
		}
		defer r.srv.Close()
		receivers = append(receivers, r)
	}
	for _, r := range receivers {
		if err := r.register(ctx, o); err != nil {
			return err
		}
	}
	healthy := slices.DeleteFunc(slices.Clone(receivers), func(r *receiver) bool { return r.failing })

	// Warm-up: one create, until every receiver has it.
	if len(receivers) > 0 {
		log.Printf("%d webhooks registered (%d failing): waiting for a first change to reach each", len(receivers), o.failing)
		rng := rand.New(rand.NewPCG(1, 1))
		c.write(ctx, warmup, rng, 0)
		if c.count() != 1 {
			return fmt.Errorf("the warm-up write failed: %s", c.lastErr)
		}
		deadline := time.Now().Add(15 * time.Second)
		for !all(receivers, func(r *receiver) bool { return r.distinct() >= 1 }) {
			if time.Now().After(deadline) {
				return errors.New("a receiver had no request 15 s after the first write: is the server running with --webhooks-allow-private?")
			}
			time.Sleep(10 * time.Millisecond)
		}
	}

	// Paced.
	total := int(math.Round(o.rate * o.duration.Seconds()))
	log.Printf("paced: %d writes at %g/s", total, o.rate)
	cpu0, own0 := serverCPU(o.serverPID), ownCPU()
	began := time.Now().Add(10 * time.Millisecond)
	var wg sync.WaitGroup
	slots := make(chan struct{}, o.inFlight)
	for i := range total {
		due := began.Add(time.Duration(float64(i) / o.rate * float64(time.Second)))
		time.Sleep(time.Until(due))
		slots <- struct{}{} // late when every slot is taken
		wg.Go(func() {
			defer func() { <-slots }()
			rng := rand.New(rand.NewPCG(2, uint64(i)))
			c.write(ctx, paced, rng, max(0, time.Since(due)))
		})
	}
	wg.Wait()
	pacedWall := time.Since(began)
	cpu1, own1 := serverCPU(o.serverPID), ownCPU()
	drainBegan := time.Now()
	want := c.count()
	for len(healthy) > 0 && time.Since(drainBegan) < o.drain &&
		!all(healthy, func(r *receiver) bool { return r.distinct() >= want }) {
		time.Sleep(10 * time.Millisecond)
	}
	drained := time.Since(drainBegan)
	drainEnd := time.Now()

	// Closed.
	var closedWall time.Duration
	var cpu2, cpu3, own2, own3 time.Duration
	closedFrom := make([]int, len(receivers))
	if o.closed > 0 {
		log.Printf("closed: %d writers for %s", o.writers, o.closed)
		for i, r := range receivers {
			closedFrom[i] = r.distinct()
		}
		cpu2, own2 = serverCPU(o.serverPID), ownCPU()
		began := time.Now()
		deadline := began.Add(o.closed)
		for wr := range o.writers {
			wg.Go(func() {
				rng := rand.New(rand.NewPCG(3, uint64(wr)))
				// A write under way is let finish: cut off, it could
				// still commit, unrecorded.
				for time.Now().Before(deadline) {
					c.write(ctx, closedLoop, rng, 0)
				}
			})
		}
		wg.Wait()
		closedWall = time.Since(began)
		cpu3, own3 = serverCPU(o.serverPID), ownCPU()
		for i, r := range receivers {
			closedFrom[i] = r.distinct() - closedFrom[i]
		}
	}
	arrivals := make([][]arrival, len(receivers))
	for i, r := range receivers {
		arrivals[i] = r.snapshot()
	}

	if o.csv != "" {
		if err := writeCSV(o.csv, c, receivers, arrivals, began); err != nil {
			return err
		}
	}
	return report(o, c, receivers, arrivals, closedFrom, reportTimes{
		pacedWall: pacedWall, drained: drained, drainEnd: drainEnd, closedWall: closedWall,
		pacedCPU: cpu1 - cpu0, closedCPU: cpu3 - cpu2, pacedOwn: own1 - own0, closedOwn: own3 - own2,
	})
}

// writeCSV writes one line per delivery to a healthy receiver: the
// receiver, the change's seq, the write's phase and kind, and when (in ms
// from the paced phase's start) the write was sent, answered and the
// delivery arrived.
func writeCSV(path string, c *client, receivers []*receiver, arrivals [][]arrival, start time.Time) error {
	var b bytes.Buffer
	b.WriteString("receiver,seq,phase,kind,sent_ms,answered_ms,arrived_ms\n")
	c.mu.Lock()
	byKey := c.byKey
	c.mu.Unlock()
	at := func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return strconv.FormatFloat(t.Sub(start).Seconds()*1000, 'f', 2, 64)
	}
	for i, r := range receivers {
		if r.failing {
			continue
		}
		for _, a := range arrivals[i] {
			w := byKey[a.change]
			if w == nil {
				w = &write{}
			}
			fmt.Fprintf(&b, "%d,%d,%s,%s,%s,%s,%s\n", r.index, a.seq, [...]string{"warm-up", "paced", "closed"}[w.phase],
				map[bool]string{true: "create", false: "change"}[w.create], at(w.sent), at(w.answered), at(a.at))
		}
	}
	return os.WriteFile(path, b.Bytes(), 0o644)
}

func all[T any](s []T, f func(T) bool) bool {
	for _, v := range s {
		if !f(v) {
			return false
		}
	}
	return true
}

// serverCPU is the server's user and system time so far, from
// /proc/PID/stat (0 without a pid).
func serverCPU(pid int) time.Duration {
	if pid <= 0 {
		return 0
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	_, rest, _ := bytes.Cut(b, []byte(") ")) // after the command's name
	f := strings.Fields(string(rest))
	if len(f) < 13 {
		return 0
	}
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(utime+stime) * time.Second / 100 // USER_HZ is 100 on Linux
}

// ownCPU is this process's user and system time so far.
func ownCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// ---- the report ----

type reportTimes struct {
	pacedWall, drained, closedWall time.Duration
	drainEnd                       time.Time     // the end of the paced phase's drain
	pacedCPU, closedCPU            time.Duration // the server's
	pacedOwn, closedOwn            time.Duration // this process's
}

// tally is what one healthy receiver got of the paced phase.
type tally struct {
	delivered, duplicates, outOfOrder, missing, late, unmatched, wrong, unsigned, bad int
	latencies, fromRequest                                                            []time.Duration
	// cycles are the gaps between two paced deliveries when the second's
	// write had been answered before the first arrived: what one delivery
	// takes while the webhook has a backlog.
	cycles        []time.Duration
	firstProblems []string
}

func (t *tally) problem(format string, args ...any) {
	if len(t.firstProblems) < 5 {
		t.firstProblems = append(t.firstProblems, fmt.Sprintf(format, args...))
	}
}

// judge checks every arrival of a healthy receiver (each once, in seq
// order, signed, matching a write of the run) and matches them with the
// writes of the warm-up and paced phases: missing are those not arrived by
// the end of the drain, late those of them that arrived afterwards.
func judge(c *client, arrivals []arrival, expected []*write, drainEnd time.Time) *tally {
	t := &tally{}
	c.mu.Lock()
	byKey := c.byKey
	c.mu.Unlock()
	seen := map[int64]bool{}
	got := map[change]time.Time{}
	var maxSeq int64
	var prev time.Time
	for i, a := range arrivals {
		if i > 0 {
			prev = arrivals[i-1].at
		}
		if a.badRequest != "" {
			t.bad++
			t.problem("seq %d: %s", a.seq, a.badRequest)
		}
		if !a.signed {
			t.unsigned++
			t.problem("seq %d (%s): the signature does not verify", a.seq, a.id)
		}
		if seen[a.seq] {
			t.duplicates++
			t.problem("seq %d (task %d version %d) arrived again at %s", a.seq, a.change.task, a.change.version,
				a.at.Format("15:04:05.000"))
			continue
		}
		seen[a.seq] = true
		if a.seq < maxSeq {
			t.outOfOrder++
			t.problem("seq %d arrived after seq %d", a.seq, maxSeq)
		}
		maxSeq = max(maxSeq, a.seq)
		w := byKey[a.change]
		if w == nil {
			t.unmatched++
			t.problem("seq %d: task %d version %d was written by no write of this run", a.seq, a.change.task, a.change.version)
			continue
		}
		if wantType := map[bool]string{true: "task.created", false: "task.updated"}[w.create]; a.typ != wantType || a.title != w.title {
			t.wrong++
			t.problem("seq %d: %s %q, but the write was a %s of %q", a.seq, a.typ, a.title, wantType, w.title)
		}
		got[a.change] = a.at
		if w.phase == paced {
			if !a.at.After(drainEnd) {
				t.delivered++
			}
			t.latencies = append(t.latencies, a.at.Sub(w.answered))
			t.fromRequest = append(t.fromRequest, a.at.Sub(w.sent))
			if !prev.IsZero() && w.answered.Before(prev) {
				t.cycles = append(t.cycles, a.at.Sub(prev))
			}
		}
	}
	for _, w := range expected {
		at, ok := got[w.change]
		if !ok || at.After(drainEnd) {
			t.missing++
			if ok {
				t.late++
			}
			t.problem("task %d version %d (%s answered %s): not arrived by the end of the drain; later: %v",
				w.change.task, w.change.version, map[bool]string{true: "create", false: "change"}[w.create],
				w.answered.Format("15:04:05.000"), ok)
		}
	}
	return t
}

func percentile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(q*float64(len(sorted)))) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

func ms(d time.Duration) string { return strconv.FormatFloat(d.Seconds()*1000, 'f', 1, 64) }

func restLatencies(ws []*write) []time.Duration {
	out := make([]time.Duration, len(ws))
	for i, w := range ws {
		out[i] = w.answered.Sub(w.sent)
	}
	slices.Sort(out)
	return out
}

func report(o options, c *client, receivers []*receiver, arrivals [][]arrival, closedTook []int, rt reportTimes) error {
	out := os.Stdout
	result := []string{"label=" + o.label, fmt.Sprintf("webhooks=%d", len(receivers)), fmt.Sprintf("failing=%d", o.failing)}
	add := func(k string, v any) { result = append(result, fmt.Sprintf("%s=%v", k, v)) }

	// Paced: the API side.
	pacedWrites := c.writesOf(paced)
	creates, behind := 0, 0
	var maxLate time.Duration
	for _, w := range pacedWrites {
		if w.create {
			creates++
		}
		if w.late > 10*time.Millisecond {
			behind++
		}
		maxLate = max(maxLate, w.late)
	}
	rest := restLatencies(pacedWrites)
	c.mu.Lock()
	pacedErrors, closedErrors, lastErr := c.errors[paced]+c.errors[warmup], c.errors[closedLoop], c.lastErr
	c.mu.Unlock()
	rate := float64(len(pacedWrites)) / rt.pacedWall.Seconds()
	fmt.Fprintf(out, "\n== %s: %d webhooks, %d failing ==\n", o.label, len(receivers), o.failing)
	fmt.Fprintf(out, "paced: %d writes (%d creates, %d changes) in %.1f s = %.1f/s; REST p50 %s ms, p99 %s ms; "+
		"%d sent over 10 ms late (latest %s ms); %d errors\n",
		len(pacedWrites), creates, len(pacedWrites)-creates, rt.pacedWall.Seconds(), rate,
		ms(percentile(rest, 0.5)), ms(percentile(rest, 0.99)), behind, ms(maxLate), pacedErrors)
	if rt.pacedCPU > 0 {
		fmt.Fprintf(out, "paced: server CPU %.0f%% of one core, %.0f µs a write; this program %.0f%%\n",
			100*rt.pacedCPU.Seconds()/rt.pacedWall.Seconds(), float64(rt.pacedCPU.Microseconds())/float64(max(1, len(pacedWrites))),
			100*rt.pacedOwn.Seconds()/rt.pacedWall.Seconds())
	}
	add("paced_writes", len(pacedWrites))
	add("paced_rate", fmt.Sprintf("%.1f", rate))
	add("paced_errors", pacedErrors)
	add("rest_p99_ms", ms(percentile(rest, 0.99)))
	add("paced_server_cpu_pct", fmt.Sprintf("%.0f", 100*rt.pacedCPU.Seconds()/rt.pacedWall.Seconds()))

	// Paced: the receivers.
	expected := c.writesOf(warmup, paced)
	var pooled, pooledUpper, cycles []time.Duration
	var worstP99, worstMax time.Duration
	var missing, late, duplicates, outOfOrder, unmatched, wrong, unsigned, bad, minDelivered = 0, 0, 0, 0, 0, 0, 0, 0, -1
	var problems []string
	failingAttempts, failingIDs := 0, 0
	if len(receivers) > 0 {
		fmt.Fprintf(out, "deliveries of the paced writes (latency: from the write's answer to the receiver's arrival; drained in %.1f s):\n", rt.drained.Seconds())
		tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "receiver\twebhook\tdelivered\tduplicates\tout of order\tmissing\tof them later\tunmatched\tbad\tunsigned\tp50 ms\tp99 ms\tmax ms\t")
		for i, r := range receivers {
			if r.failing {
				continue
			}
			t := judge(c, arrivals[i], expected, rt.drainEnd)
			slices.Sort(t.latencies)
			pooled = append(pooled, t.latencies...)
			pooledUpper = append(pooledUpper, t.fromRequest...)
			cycles = append(cycles, t.cycles...)
			p99, mx := percentile(t.latencies, 0.99), percentile(t.latencies, 1)
			worstP99, worstMax = max(worstP99, p99), max(worstMax, mx)
			missing += t.missing
			late += t.late
			duplicates += t.duplicates
			outOfOrder += t.outOfOrder
			unmatched += t.unmatched
			wrong += t.wrong
			unsigned += t.unsigned
			bad += t.bad
			if minDelivered < 0 || t.delivered < minDelivered {
				minDelivered = t.delivered
			}
			for _, p := range t.firstProblems {
				problems = append(problems, fmt.Sprintf("receiver %d (webhook %d): %s", r.index, r.webhook.Load(), p))
			}
			fmt.Fprintf(tw, "%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%s\t%s\t%s\t\n", r.index, r.webhook.Load(), t.delivered, t.duplicates,
				t.outOfOrder, t.missing, t.late, t.unmatched, t.bad+t.wrong, t.unsigned, ms(percentile(t.latencies, 0.5)), ms(p99), ms(mx))
		}
		tw.Flush()
		slices.Sort(pooled)
		slices.Sort(pooledUpper)
		if len(pooled) > 0 {
			early := 0
			for _, l := range pooled {
				if l < 0 {
					early++
				}
			}
			fmt.Fprintf(out, "healthy receivers together: p50 %s ms, p90 %s ms, p99 %s ms, max %s ms (%d of %d arrived before their write's answer)\n",
				ms(percentile(pooled, 0.5)), ms(percentile(pooled, 0.9)), ms(percentile(pooled, 0.99)), ms(percentile(pooled, 1)),
				early, len(pooled))
			fmt.Fprintf(out, "the same from the write's request (an upper bound): p50 %s ms, p99 %s ms, max %s ms\n",
				ms(percentile(pooledUpper, 0.5)), ms(percentile(pooledUpper, 0.99)), ms(percentile(pooledUpper, 1)))
			slices.Sort(cycles)
			if len(cycles) > 0 {
				fmt.Fprintf(out, "deliveries sent back to back (the next change already written): %d, each %s ms apart at the median, %s at p90: at most %.0f changes/s a webhook\n",
					len(cycles), ms(percentile(cycles, 0.5)), ms(percentile(cycles, 0.9)), 1/percentile(cycles, 0.5).Seconds())
			}
		}
		for i, r := range receivers {
			if !r.failing {
				continue
			}
			// Every attempt must be of the first change: those after it
			// wait behind it.
			as := arrivals[i]
			ids := map[string]bool{}
			var gaps []string
			for j, a := range as {
				ids[a.id] = true
				if !a.signed || a.badRequest != "" {
					bad++
					problems = append(problems, fmt.Sprintf("failing receiver %d: attempt %d: signed %v, %s", r.index, j+1, a.signed, a.badRequest))
				}
				if j > 0 {
					gaps = append(gaps, fmt.Sprintf("%.1f s", a.at.Sub(as[j-1].at).Seconds()))
				}
			}
			failingAttempts += len(as)
			failingIDs += len(ids)
			first := ""
			if len(as) > 0 {
				first = as[0].id
			}
			fmt.Fprintf(out, "failing receiver %d (webhook %d, answers 500): %d attempts through both phases, of %d change(s) (first %s); between attempts: %s\n",
				r.index, r.webhook.Load(), len(as), len(ids), first, strings.Join(gaps, ", "))
			if len(ids) > 1 {
				problems = append(problems, fmt.Sprintf("failing receiver %d: attempts of %d changes, not 1: a change went past a failing one", r.index, len(ids)))
			}
		}
	}
	// Without a healthy receiver there is no latency: "-".
	msOf := func(d time.Duration, of []time.Duration) string {
		if len(of) == 0 {
			return "-"
		}
		return ms(d)
	}
	add("lat_p50_ms", msOf(percentile(pooled, 0.5), pooled))
	add("lat_p99_ms", msOf(percentile(pooled, 0.99), pooled))
	add("lat_p99_worst_ms", msOf(worstP99, pooled))
	add("lat_p99_from_request_ms", msOf(percentile(pooledUpper, 0.99), pooled))
	add("lat_max_ms", msOf(worstMax, pooled))
	add("cycle_p50_ms", msOf(percentile(cycles, 0.5), cycles))
	add("delivered_min", max(minDelivered, 0))
	add("missing", missing)
	add("missing_at_end", missing-late)
	add("duplicates", duplicates)
	add("out_of_order", outOfOrder)
	add("unmatched", unmatched)
	add("bad", bad+wrong+unsigned)
	add("failing_attempts", failingAttempts)
	add("failing_changes", failingIDs)

	// Closed.
	if o.closed > 0 {
		closedWrites := c.writesOf(closedLoop)
		rest := restLatencies(closedWrites)
		wps := float64(len(closedWrites)) / rt.closedWall.Seconds()
		fmt.Fprintf(out, "closed: %d writers, %d writes in %.1f s = %.0f/s; REST p50 %s ms, p99 %s ms; %d errors\n",
			o.writers, len(closedWrites), rt.closedWall.Seconds(), wps, ms(percentile(rest, 0.5)), ms(percentile(rest, 0.99)), closedErrors)
		if rt.closedCPU > 0 {
			fmt.Fprintf(out, "closed: server CPU %.0f%% of one core, %.0f µs a write; this program (writers and receivers) %.0f%%\n",
				100*rt.closedCPU.Seconds()/rt.closedWall.Seconds(), float64(rt.closedCPU.Microseconds())/float64(max(1, len(closedWrites))),
				100*rt.closedOwn.Seconds()/rt.closedWall.Seconds())
		}
		var took []string
		minTook := -1
		for i, r := range receivers {
			if r.failing {
				continue
			}
			n := closedTook[i]
			took = append(took, fmt.Sprintf("%d: %d (%.0f/s)", r.index, n, float64(n)/rt.closedWall.Seconds()))
			if minTook < 0 || n < minTook {
				minTook = n
			}
		}
		if len(took) > 0 {
			fmt.Fprintf(out, "closed: deliveries taken meanwhile by each healthy receiver (of %d writes): %s\n", len(closedWrites), strings.Join(took, ", "))
		}
		add("closed_writes", len(closedWrites))
		add("closed_wps", fmt.Sprintf("%.0f", wps))
		add("closed_rest_p99_ms", ms(percentile(rest, 0.99)))
		add("closed_errors", closedErrors)
		add("closed_server_us_per_write", fmt.Sprintf("%.0f", float64(rt.closedCPU.Microseconds())/float64(max(1, len(closedWrites)))))
		add("closed_deliveries_min", max(minTook, 0))
	}
	if pacedErrors+closedErrors > 0 {
		problems = append(problems, "last write error: "+lastErr)
	}
	if len(problems) > 0 {
		fmt.Fprintln(out, "problems:")
		for _, p := range problems {
			fmt.Fprintln(out, "  "+p)
		}
	}
	fmt.Fprintln(out, "RESULT "+strings.Join(result, " "))
	return nil
}
