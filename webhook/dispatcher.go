package webhook

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"

	"tasksapi/access"
	"tasksapi/feed"
	"tasksapi/task"
)

// DefaultSchedule is the wait before each retry of a failing change: after
// the first failed attempt 1 s, after the second 5 s, and so on; the last
// repeats, so a change is tried hourly from the seventh failure on.
var DefaultSchedule = []time.Duration{time.Second, 5 * time.Second, 30 * time.Second, 2 * time.Minute,
	10 * time.Minute, 30 * time.Minute, time.Hour}

// Defaults of the options.
const (
	DefaultTimeout       = 10 * time.Second
	DefaultFailingWindow = 24 * time.Hour
	DefaultReloadEvery   = time.Second
	DefaultShutdownGrace = 10 * time.Second
	DefaultLeaseTTL      = 6 * time.Second
	DefaultRecordEvery   = 100 * time.Millisecond
	DefaultMaxRate       = 500
	DefaultBusyRate      = 50
	DefaultBusyLagLimit  = time.Minute
)

// batch is how many changes a worker takes from the feed at a time.
const batch = 100

// keptAnswer is how much of an answer is read, so that its connection can
// be used again; the rest is not wanted.
const keptAnswer = 64 << 10

// Options configure a Dispatcher. Encode is required; the rest default to
// the contract's values.
type Options struct {
	// Encode writes a change as GET /v1/tasks/changes has it: the body's
	// data. It must always encode a change the same way (see
	// feed.Change.Wire: each change is encoded once).
	Encode func(*feed.Change) []byte
	// AllowPrivate lets deliveries connect to private, loopback and other
	// internal addresses (see guard.go).
	AllowPrivate bool
	// Schedule is the wait after each failed attempt of a change; the
	// last repeats. Default: DefaultSchedule.
	Schedule []time.Duration
	// FailingWindow is how long a webhook may fail before it is
	// disabled. Default: DefaultFailingWindow.
	FailingWindow time.Duration
	// Timeout bounds an attempt, from connecting to the answer's status.
	// Default: DefaultTimeout.
	Timeout time.Duration
	// ReloadEvery is how often the webhooks are read again, to find those
	// made or changed elsewhere (the command line). Default:
	// DefaultReloadEvery.
	ReloadEvery time.Duration
	// ShutdownGrace is how long Close waits for attempts under way before
	// it cuts them off. Default: DefaultShutdownGrace.
	ShutdownGrace time.Duration
	// LeaseTTL is how long this server's hold on a webhook lasts unless
	// renewed (see Store.ClaimWebhooks): when a server dies, others take
	// its webhooks over within it. Default: DefaultLeaseTTL.
	LeaseTTL time.Duration
	// RecordEvery is how often, at most, the deliveries a webhook makes
	// back to back are recorded, together: a delivery is not held until
	// the one before it is recorded (see recorder). Should the server
	// die, the deliveries it made in the last RecordEvery or so are sent
	// again. Default: DefaultRecordEvery.
	RecordEvery time.Duration
	// MaxRate is the most changes a second one webhook is sent, in bursts
	// of a tenth of that: a webhook behind the feed catches up at that
	// pace rather than as fast as its endpoint answers, so that the
	// deliveries cost a server under a heavy write load a bounded share
	// of its processors. Default: DefaultMaxRate.
	MaxRate float64
	// Busy reports whether the machine's processors are saturated. While
	// they are, a webhook a batch (100 changes) or more behind the feed,
	// but by less than BusyLagLimit, is sent at most BusyRate changes a
	// second instead of MaxRate: deliveries give way to the API, which
	// cannot wait, and catch up once a burst of writes has passed.
	// Default: never busy.
	Busy func() bool
	// BusyRate is the most changes a second a webhook behind the feed is
	// sent while the machine is busy. Default: DefaultBusyRate.
	BusyRate float64
	// BusyLagLimit is how far behind, from its change's commit, a webhook
	// may fall before it catches up at MaxRate however busy the machine
	// is: a load that does not pass must not starve it. Default:
	// DefaultBusyLagLimit.
	BusyLagLimit time.Duration
	// Now is the clock of attempts, schedules and the failing window.
	// Default: time.Now.
	Now func() time.Time
	// Log receives what goes wrong outside an attempt. Default:
	// slog.Default().
	Log *slog.Logger
}

// Dispatcher delivers the changes of every organisation to its enabled
// webhooks: one worker goroutine per webhook, so a slow or failing
// endpoint holds back only its own deliveries. Workers wait on the feed's
// hub for new commits, and read the store when they fall behind it.
//
// Several servers may share a store: each webhook is then delivered by
// the one that holds its lease. The dispatcher claims leases (and renews
// its own) at every reload, runs workers only for the webhooks it holds,
// and stops a worker whose webhook it no longer holds after the attempt
// under way. Should its claims fail until its leases may have run out,
// when another server may take them, it cuts off its attempts under way
// and stops every worker, so two servers never send to one webhook at
// once.
type Dispatcher struct {
	store  Store
	hub    *feed.Hub
	opts   Options
	client *http.Client
	// owner names this dispatcher in the leases it holds.
	owner string

	// stop ends waits and the workers' loops; cut ends attempts under
	// way, ShutdownGrace later.
	stop, cut         context.Context
	stopNow, cutNow   context.CancelFunc
	reload            chan struct{}
	running           sync.WaitGroup // the supervisor and the workers
	startOnce, closed sync.Once

	mu      sync.Mutex
	workers map[int]*worker // by webhook id
	// held is done once the leases may have run out: leaseEnd passed
	// without a claim renewing them. Workers started under it stop, and
	// their attempts under way are cut off. lapse, after leaseEnd, ends it.
	held     context.Context
	endHeld  context.CancelFunc
	leaseEnd time.Time
	lapse    *time.Timer
}

// NewDispatcher returns a dispatcher of the webhooks in store, woken by
// hub. Start it, and Close it before the store closes.
func NewDispatcher(store Store, hub *feed.Hub, opts Options) *Dispatcher {
	if opts.Encode == nil {
		panic("webhook: NewDispatcher needs Options.Encode, the REST form of a change")
	}
	if len(opts.Schedule) == 0 {
		opts.Schedule = DefaultSchedule
	}
	if opts.FailingWindow <= 0 {
		opts.FailingWindow = DefaultFailingWindow
	}
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.ReloadEvery <= 0 {
		opts.ReloadEvery = DefaultReloadEvery
	}
	if opts.ShutdownGrace <= 0 {
		opts.ShutdownGrace = DefaultShutdownGrace
	}
	if opts.LeaseTTL <= 0 {
		opts.LeaseTTL = DefaultLeaseTTL
	}
	if opts.RecordEvery <= 0 {
		opts.RecordEvery = DefaultRecordEvery
	}
	if opts.MaxRate <= 0 {
		opts.MaxRate = DefaultMaxRate
	}
	if opts.BusyRate <= 0 {
		opts.BusyRate = DefaultBusyRate
	}
	if opts.BusyLagLimit <= 0 {
		opts.BusyLagLimit = DefaultBusyLagLimit
	}
	if opts.Busy == nil {
		opts.Busy = func() bool { return false }
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Log == nil {
		opts.Log = slog.Default()
	}
	d := &Dispatcher{store: store, hub: hub, opts: opts, client: newClient(opts), owner: newOwner(),
		reload: make(chan struct{}, 1), workers: map[int]*worker{}}
	d.stop, d.stopNow = context.WithCancel(context.Background())
	d.cut, d.cutNow = context.WithCancel(context.Background())
	return d
}

// newOwner names a dispatcher in its leases: its host and process, for
// people reading them, and random bits, as each start is a new holder.
func newOwner() string {
	host, _ := os.Hostname()
	return fmt.Sprintf("%s/%d/%s", host, os.Getpid(), rand.Text()[:8])
}

// newClient is the HTTP client of deliveries: it connects only where the
// guard allows (checked at connect time, after the name is resolved), uses
// no proxy from the environment (the guard would check the proxy, not the
// endpoint), and follows no redirect: a 3xx is the attempt's answer.
func newClient(opts Options) *http.Client {
	dialer := &net.Dialer{Timeout: opts.Timeout, KeepAlive: 30 * time.Second}
	if !opts.AllowPrivate {
		dialer.Control = guardDial
	}
	return &http.Client{
		Transport: &http.Transport{
			Proxy:               nil,
			DialContext:         dialer.DialContext,
			ForceAttemptHTTP2:   true,
			TLSHandshakeTimeout: opts.Timeout,
			MaxIdleConnsPerHost: 2,
			IdleConnTimeout:     90 * time.Second,
		},
		Timeout:       opts.Timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// Start starts delivering. Starting twice is harmless.
func (d *Dispatcher) Start() {
	d.startOnce.Do(func() {
		d.running.Add(1)
		go d.supervise()
	})
}

// Reload has the webhooks read again at once, rather than within
// ReloadEvery: Service calls it after each change it makes.
func (d *Dispatcher) Reload() {
	select {
	case d.reload <- struct{}{}:
	default: // one is already due
	}
}

// Close stops delivering: no attempt starts any more, those under way get
// ShutdownGrace to finish (and be recorded), then are cut off. Progress is
// in the store, so the next start resumes where this one stopped, and the
// leases are released, so that other servers take the webhooks over at
// once.
func (d *Dispatcher) Close() {
	d.closed.Do(func() {
		d.stopNow()
		done := make(chan struct{})
		go func() { d.running.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(d.opts.ShutdownGrace):
			d.cutNow()
			<-done
		}
		d.cutNow()
		d.client.CloseIdleConnections()
		d.mu.Lock()
		if d.lapse != nil {
			d.lapse.Stop()
			d.endHeld()
		}
		d.mu.Unlock()
		ctx, cancel := context.WithTimeout(context.Background(), d.opts.Timeout)
		defer cancel()
		if err := d.store.ReleaseWebhooks(ctx, d.owner); err != nil {
			d.opts.Log.Warn("releasing the webhooks failed: other servers take them over when the leases run out", "err", err)
		}
	})
}

// supervise keeps one worker running for each enabled webhook this
// server holds. It claims at least four times a lease's half life, so
// that a claim that fails is tried again before the leases may run out.
func (d *Dispatcher) supervise() {
	defer d.running.Done()
	tick := time.NewTicker(min(d.opts.ReloadEvery, d.opts.LeaseTTL/8))
	defer tick.Stop()
	for {
		d.reconcile()
		select {
		case <-d.stop.Done():
			return
		case <-tick.C:
		case <-d.reload:
		}
	}
}

// reconcile claims the webhooks this server may deliver, starts a worker
// for each enabled one it holds without one, tells each worker whose
// webhook changed to read it again, and stops those whose webhook it no
// longer holds (deleted, disabled, or taken by another server).
func (d *Dispatcher) reconcile() {
	began := time.Now()
	ids, err := d.store.ClaimWebhooks(d.stop, d.owner, d.opts.LeaseTTL)
	if err != nil {
		if d.stop.Err() == nil {
			d.opts.Log.Error("claiming webhooks failed", "err", err)
		}
		return // the workers go on while the leases last: see lapse
	}
	states, err := d.store.WebhookStates(d.stop)
	if err != nil {
		if d.stop.Err() == nil {
			d.opts.Log.Error("reading webhooks failed", "err", err)
		}
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.stop.Err() != nil || !d.renewed(began) {
		return
	}
	held := make(map[int]bool, len(ids))
	for _, id := range ids {
		held[id] = true
	}
	for _, st := range states {
		w := d.workers[st.ID]
		switch {
		case w == nil && st.Enabled && held[st.ID]:
			w = &worker{d: d, id: st.ID, kick: make(chan struct{}, 1), held: d.held}
			w.pace = rate.NewLimiter(rate.Limit(d.opts.MaxRate), burst(d.opts.MaxRate))
			w.rec = newRecorder(d.store, st.ID, d.opts.RecordEvery, d.opts.Log.With("webhook", st.ID), w.poke)
			w.ctx, w.stop = context.WithCancel(d.stop)
			w.generation.Store(st.Generation)
			d.workers[st.ID] = w
			d.running.Add(1)
			go w.run()
		case w != nil && w.generation.Load() != st.Generation:
			w.poke()
		}
	}
	for id, w := range d.workers {
		if !held[id] {
			w.stop() // after the attempt under way, if any
		}
	}
}

// renewed notes that a claim begun at began succeeded: the leases it
// returned last until at least half a TTL after began (by this server's
// clock, measured from before the claim was sent, so never later than
// the database's). It reports false when that time has already passed.
// d.mu is held.
func (d *Dispatcher) renewed(began time.Time) bool {
	end := began.Add(d.opts.LeaseTTL / 2)
	left := time.Until(end)
	if left <= 0 {
		return false
	}
	d.leaseEnd = end
	if d.held == nil || d.held.Err() != nil {
		d.held, d.endHeld = context.WithCancel(context.Background())
	}
	if d.lapse == nil {
		d.lapse = time.AfterFunc(left, d.lapsed)
	} else {
		d.lapse.Reset(left)
	}
	return true
}

// lapsed ends d.held, unless a claim renewed the leases meanwhile.
func (d *Dispatcher) lapsed() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if time.Now().Before(d.leaseEnd) {
		return
	}
	if d.stop.Err() == nil {
		d.opts.Log.Error("the webhooks' leases may have run out: delivery stops until a claim succeeds")
	}
	d.endHeld()
}

// exited forgets w, and has the webhooks read again at once, in case its
// webhook was enabled again while it was ending.
func (d *Dispatcher) exited(w *worker) {
	d.mu.Lock()
	if d.workers[w.id] == w {
		delete(d.workers, w.id)
	}
	d.mu.Unlock()
	d.Reload()
}

// worker delivers one webhook's changes, one at a time, in feed order.
type worker struct {
	d  *Dispatcher
	id int
	// ctx ends the worker (after the attempt under way): stop is called
	// when the dispatcher stops or no longer holds the webhook.
	ctx  context.Context
	stop context.CancelFunc
	// held is the dispatcher's hold on its leases when the worker began:
	// once it ends, the attempt under way is cut off and the worker ends.
	held context.Context
	// generation is that of the state the worker delivers by.
	generation atomic.Int64
	// kick asks the worker to read its webhook again.
	kick chan struct{}
	// rec records its attempts.
	rec *recorder
	// pace holds its deliveries to MaxRate, or to BusyRate while slowed
	// (see reserve).
	pace   *rate.Limiter
	slowed bool
}

// burst is the most deliveries a limit of r a second lets through at once:
// a tenth of a second's worth.
func burst(r float64) int { return max(1, int(r/10)) }

// reserve takes the place of the next delivery, of a change committed at
// at, under the worker's pace: BusyRate while the machine is busy and the
// worker a batch or more behind the feed (behind) but not by BusyLagLimit,
// MaxRate otherwise. A webhook that keeps up is never slowed, and a load
// that does not pass cannot starve one: past BusyLagLimit it catches up
// at MaxRate again.
func (w *worker) reserve(behind bool, at time.Time) *rate.Reservation {
	o := &w.d.opts
	slow := behind && o.Busy() && o.Now().Sub(at) < o.BusyLagLimit
	if slow != w.slowed {
		w.slowed = slow
		r := o.MaxRate
		if slow {
			r = o.BusyRate
		}
		w.pace.SetLimit(rate.Limit(r))
		w.pace.SetBurst(burst(r))
	}
	return w.pace.Reserve()
}

func (w *worker) poke() {
	select {
	case w.kick <- struct{}{}:
	default:
	}
}

// run delivers until the webhook is disabled or deleted, or the worker
// stops.
func (w *worker) run() {
	d := w.d
	defer d.running.Done()
	defer d.exited(w)
	defer w.rec.close()
	defer context.AfterFunc(w.held, w.stop)()
	defer w.stop()
	log := d.opts.Log.With("webhook", w.id)
	for w.ctx.Err() == nil {
		st, err := d.store.WebhookState(w.ctx, w.id)
		if task.ErrorCode(err) == task.CodeNotFound {
			return
		}
		if err != nil {
			if w.ctx.Err() == nil {
				log.Error("reading a webhook failed", "err", err)
			}
			w.sleep(time.Second)
			continue
		}
		w.generation.Store(st.Generation)
		if !st.Enabled {
			return
		}
		err = w.deliver(st)
		switch {
		case err == nil || w.ctx.Err() != nil:
			// The webhook changed, or delivery stops: read it again.
		case task.ErrorCode(err) == task.CodeExpired:
			// Retention removed changes before they were delivered (the
			// webhook was disabled longer than changes are kept): they
			// cannot be sent, and the ones after them still can.
			from, to, err := d.store.SkipRemovedChanges(w.ctx, w.id, st.Generation)
			if err != nil {
				log.Error("skipping removed changes failed", "err", err)
				w.sleep(time.Second)
			} else if to > from {
				log.Warn("changes were removed before they were delivered", "after", from, "through", to)
			}
		default:
			log.Error("delivering failed", "err", err)
			w.sleep(time.Second)
		}
	}
}

// deliver sends the changes after st's cursor, each until delivered, and
// goes on with each new commit. It returns nil when the webhook must be
// read again (it changed, was disabled or deleted, or delivery stops).
// A delivered change is handed to the recorder and the next is sent at
// once; a failed attempt is recorded, with the deliveries before it,
// before the next attempt is scheduled. Whatever it returns, every
// attempt it made has been recorded.
func (w *worker) deliver(st State) error {
	d := w.d
	w.rec.begin(st.Generation)
	defer w.rec.flush()
	ctx := access.WithPrincipal(w.ctx, access.Principal{OrganisationID: st.OrganisationID})
	f, err := d.hub.Follow(ctx, st.LastDeliveredSeq)
	if err != nil {
		return err
	}
	defer f.Close()
	for {
		changes, kicked, err := w.next(ctx, f)
		if kicked || w.ctx.Err() != nil {
			return nil
		}
		if err != nil {
			return err
		}
		behind := len(changes) == batch
		for _, c := range changes {
			body := Payload(c, d.opts.Encode)
			for {
				if wait := st.NextAttempt.Sub(d.opts.Now()); wait > 0 && !w.sleep(wait) {
					return nil
				}
				if r := w.reserve(behind, c.At.Time()); r.Delay() > 0 && !w.sleep(r.Delay()) {
					r.Cancel()
					return nil
				}
				a := d.attempt(w.held, st, c.Seq, body)
				if a.Delivered() {
					w.rec.add(a)
					st.Attempts, st.NextAttempt, st.FailingSince = 0, time.Time{}, nil
					if w.rec.stale() || w.kicked() || w.ctx.Err() != nil {
						return nil
					}
					break
				}
				next, err := w.rec.flush(a)
				if task.ErrorCode(err) == task.CodeNotFound {
					return nil
				}
				if err != nil {
					return err
				}
				if next.Generation != st.Generation || !next.Enabled || w.ctx.Err() != nil {
					return nil
				}
				st = next
			}
		}
	}
}

// kicked reports whether the worker has been asked to read its webhook
// again, without waiting.
func (w *worker) kicked() bool {
	select {
	case <-w.kick:
		return true
	default:
		return false
	}
}

// next waits for the changes after those f has taken, or for a kick.
func (w *worker) next(ctx context.Context, f *feed.Follower) (changes []*feed.Change, kicked bool, err error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	wasKicked := make(chan bool, 1)
	go func() {
		select {
		case <-w.kick:
			cancel()
			wasKicked <- true
		case <-ctx.Done():
			wasKicked <- false
		}
	}()
	changes, err = f.Next(ctx, batch)
	cancel()
	if <-wasKicked {
		return nil, true, nil // what came is read again after the cursor
	}
	return changes, false, err
}

// sleep waits for d, and reports false if a kick or the worker's stop
// came first.
func (w *worker) sleep(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-w.kick:
		return false
	case <-w.ctx.Done():
		return false
	}
}

// attempt posts body, the change seq, to st's endpoint while held lasts,
// and returns the outcome with, for a failure, when to try again and
// whether the webhook has now failed for FailingWindow.
func (d *Dispatcher) attempt(held context.Context, st State, seq int64, body []byte) Attempt {
	a := Attempt{Seq: seq, Number: st.Attempts + 1, At: d.opts.Now(), Holder: d.owner}
	began := time.Now()
	a.StatusCode, a.Error = d.post(held, st, MessageID(st.ID, seq), a.At, body)
	a.Duration = time.Since(began)
	if a.Delivered() {
		return a
	}
	since := a.At
	if st.FailingSince != nil {
		since = st.FailingSince.Time()
	}
	a.Disable = a.At.Sub(since) >= d.opts.FailingWindow
	a.NextAttempt = a.At.Add(d.opts.Schedule[min(a.Number, len(d.opts.Schedule))-1])
	return a
}

// post sends one signed request, cut off if held ends first, and returns
// the answer's status (0 when none came) and why it is a failure ("" for
// a 2xx).
func (d *Dispatcher) post(held context.Context, st State, id string, at time.Time, body []byte) (int, string) {
	ctx, cancel := context.WithTimeout(d.cut, d.opts.Timeout)
	defer cancel()
	defer context.AfterFunc(held, cancel)()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, st.URL, bytes.NewReader(body))
	if err != nil {
		return 0, "the URL cannot be requested: " + err.Error()
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "tasksapi-webhooks/1")
	if err := setSignature(req.Header, st.Secret, id, at, body); err != nil {
		return 0, err.Error()
	}
	res, err := d.client.Do(req)
	if err != nil {
		if held.Err() != nil && d.cut.Err() == nil {
			return 0, "this server's lease on the webhook may have run out during the attempt"
		}
		return 0, d.describe(err)
	}
	io.Copy(io.Discard, io.LimitReader(res.Body, keptAnswer))
	res.Body.Close()
	switch code := res.StatusCode; {
	case code >= 200 && code < 300:
		return code, ""
	case code >= 300 && code < 400:
		return code, fmt.Sprintf("the endpoint answered %d: redirects are not followed", code)
	default:
		return code, fmt.Sprintf("the endpoint answered %d", code)
	}
}

// describe says why a request got no answer, without the request's method
// and URL that net/http puts around it.
func (d *Dispatcher) describe(err error) string {
	var refused *refusedError
	var netErr net.Error
	switch {
	case errors.As(err, &refused):
		return refused.Error()
	case d.cut.Err() != nil:
		return "the server shut down during the attempt"
	case errors.As(err, &netErr) && netErr.Timeout():
		return fmt.Sprintf("no answer within %s", d.opts.Timeout)
	}
	var urlErr *url.Error
	if errors.As(err, &urlErr) {
		return urlErr.Err.Error()
	}
	return err.Error()
}
