// Command server runs the tasks API: GraphQL at /query (and /graphql), the
// GraphiQL playground at /, and the YSUITE-compatible REST endpoints under
// /v1/tasks, all over one SQLite file.
//
//	server [serve] [--addr :8080] [--db tasks.db] [--cors-origins a,b] [--rate-limit 50] ...
//	server keys create|list|revoke ...
//	server seed --org NAME --tasks N
//	server webhooks add|list|remove ...
//
// Each flag can also be set by environment variable; a flag wins.
package main

//go:generate go tool gqlgen generate

import (
	"context"
	_ "embed"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/rs/cors"

	"tasksapi/access"
	"tasksapi/feed"
	"tasksapi/graph"
	"tasksapi/idempotency"
	"tasksapi/internal/busy"
	"tasksapi/internal/onewrite"
	"tasksapi/internal/sweep"
	"tasksapi/observe"
	"tasksapi/playground"
	"tasksapi/postgres"
	"tasksapi/rest"
	"tasksapi/store"
	"tasksapi/task"
	"tasksapi/webhook"
)

//go:embed schema.graphqls
var schemaSDL []byte

// version is the server's version, set at build time with
// -ldflags "-X main.version=v1.2.3".
var version = "dev"

const usage = `server runs the tasks API and manages its database.

Commands:
  server [serve] [flags]     serve GraphQL, the playground and the /v1/tasks REST API (the default)
  server keys create|list|revoke ...
                             manage API keys and organisations
  server seed [flags]        fill an organisation with generated tasks
  server webhooks add|list|remove ...
                             manage the endpoints each organisation's changes are pushed to
  server backup --db PATH OUT
                             write a consistent copy of a live database to OUT
  server version             print the version

Run "server serve --help" (or any command with --help) for its flags.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		return // the flag package has printed the usage
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "server:", err)
		os.Exit(2)
	}
}

// run dispatches the subcommand; serve is the default.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cmd := "serve"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "serve":
		cfg, err := parseConfig(args, getenv, stderr)
		if err != nil {
			return err
		}
		tuneGC(getenv)
		logs := observe.NewLogWriter(stderr, logFlushInterval)
		defer logs.Close()
		return serve(ctx, cfg, newLogger(cfg, logs), stderr, nil)
	case "keys":
		return runKeys(ctx, args, getenv, stdout, stderr)
	case "seed":
		return runSeed(ctx, args, getenv, stdout, stderr)
	case "webhooks":
		return runWebhooks(ctx, args, getenv, stdout, stderr)
	case "backup":
		return runBackup(ctx, args, getenv, stdout, stderr)
	case "version":
		fmt.Fprintf(stdout, "server %s (%s)\n", version, runtime.Version())
		return nil
	case "help":
		fmt.Fprint(stdout, usage)
		return nil
	default:
		return fmt.Errorf("unknown command %q\n%s", cmd, usage)
	}
}

// sweepEvery is how often expired Idempotency-Key outcomes, and changes
// older than the feed keeps, are removed.
const sweepEvery = time.Minute

// The machine is busy, for webhook deliveries, while at least busyShare of
// its processors' time in the last busyEvery went to work (idle time and
// waits on the disk are not work). At 200 writes a second delivered to
// five webhooks the 2-core machine of bench/webhooks.sh is 5-35% busy; with
// 16 clients writing as fast as they can, 50-85%. Webhooks that fall behind
// the feed in such a burst then catch up at webhook.DefaultBusyRate instead
// of costing the writes about a fifth of their throughput (see
// docs/webhooks.md).
const (
	busyShare = 0.5
	busyEvery = 100 * time.Millisecond
)

// logFlushInterval bounds how late a log line reaches stderr: lines are
// written out together rather than one system call each.
const logFlushInterval = 100 * time.Millisecond

// Garbage collector defaults for serving, used unless GOGC or GOMEMLIMIT
// is set. The server's live heap is a few MiB while every request
// allocates, so the default GOGC=100 collects very often. With these the
// collector runs when the heap reaches eleven times the live heap or the
// 200 MiB soft limit, whichever comes first: about 10% more requests a
// second than at GOGC=400 (itself 10-30% above the default), side by
// side. Many subscribers raise the live heap (a thousand WebSockets hold
// about 60 MiB, with their goroutines' stacks, which every cycle scans):
// under 100 MiB the collector then ran several times a second while
// their changes went out, and took most of the CPU; under 200 MiB it
// runs about once a second, for a peak of about 210 MiB resident.
const (
	serveGCPercent   = 1000
	serveMemoryLimit = 200 << 20
)

func tuneGC(getenv func(string) string) {
	if getenv("GOGC") == "" {
		debug.SetGCPercent(serveGCPercent)
	}
	if getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(serveMemoryLimit)
	}
}

// serve runs the server until ctx is done, then lets in-flight requests
// finish and closes the database. If ready is not nil, it receives the
// address the server listens on.
func serve(ctx context.Context, cfg config, log *slog.Logger, stderr io.Writer, ready chan<- string) error {
	slog.SetDefault(log) // for the store's background work
	db, err := store.Open(ctx, cfg.DBPath, cfg.Sync)
	if err != nil {
		return err
	}
	defer db.Close()

	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return err
	}
	baseURL := "http://" + displayAddr(ln.Addr())
	if err := ensureFirstKey(ctx, db, stderr, baseURL); err != nil {
		ln.Close()
		return err
	}
	keeper := idempotency.New(db, cfg.IdempotencyTTL, log)
	hub := feed.NewHub(db)
	db.OnCommit(hub.Committed)
	// Webhooks stop before the store closes (deferred calls run last
	// first), giving attempts under way their grace. Their bodies carry
	// each change as the REST feed lists it, encoded once for every reader.
	// While the machine is busy, webhooks behind the feed catch up slowly.
	load := &busy.Meter{Threshold: busyShare}
	loadCtx, stopLoad := context.WithCancel(context.Background())
	defer stopLoad()
	go load.Run(loadCtx, busyEvery)
	webhooks := webhook.NewDispatcher(db, hub, webhook.Options{Encode: rest.ChangeJSON,
		AllowPrivate: cfg.WebhooksAllowPrivate, Busy: load.Busy, Log: log})
	webhooks.Start()
	defer webhooks.Close()
	streams := feed.NewStreams(cfg.MaxSubscriptions)
	metrics := observe.NewMetrics(db.Collectors()...)
	metrics.Streams(streams.Stats)
	sweepCtx, stopSweeping := context.WithCancel(context.Background())
	defer stopSweeping()
	go keeper.Sweep(sweepCtx, sweepEvery)
	if cfg.ChangesRetention > 0 {
		go sweep.Every(sweepCtx, sweepEvery, "old changes", log, func(ctx context.Context, limit int) (int, error) {
			return db.DeleteOldChanges(ctx, time.Now().Add(-cfg.ChangesRetention), limit)
		})
	}
	guard := newGuard(db, cfg.RateLimit, log)
	var stopping atomic.Bool
	// Subscriptions end when the server begins to stop: Shutdown waits
	// for event streams, which would otherwise hold it for its whole
	// grace period, and never touches WebSockets.
	streamsCtx, stopStreams := context.WithCancel(context.Background())
	defer stopStreams()
	app := app{
		// A repeat of an idempotent request is answered by its kept
		// outcome, never by the store.
		svc:         idempotency.Service{Service: db},
		keeper:      keeper,
		feed:        db,
		hub:         hub,
		streams:     streams,
		webhooks:    webhook.NewService(db, cfg.WebhooksAllowPrivate, webhooks),
		guard:       guard,
		limits:      graph.Limits{MaxComplexity: cfg.MaxComplexity, MaxDepth: cfg.MaxDepth},
		corsOrigins: cfg.CORSOrigins,
		stop:        streamsCtx,
		log:         log,
		metrics:     metrics,
		ready: func(ctx context.Context) error {
			if stopping.Load() {
				return errors.New("shutting down")
			}
			return db.Ready(ctx)
		},
	}
	srv := &http.Server{
		Handler:           app.handler(),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	attrs := []any{"playground", baseURL, "db", store.Redacted(cfg.DBPath), "rate_limit", cfg.RateLimit}
	if !store.IsPostgres(cfg.DBPath) {
		attrs = append(attrs, "sync", cfg.Sync) // PostgreSQL's is its own synchronous_commit
	}
	log.Info("serving", attrs...)
	if ready != nil {
		ready <- ln.Addr().String()
	}

	errc := make(chan error, 1)
	// A response just over net/http's 4 KiB buffer, as a default page of
	// tasks is, leaves in one write rather than two (see onewrite).
	go func() { errc <- onewrite.Serve(srv, ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down")
	stopping.Store(true)
	stopStreams()
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	return srv.Shutdown(shutdownCtx)
}

// newGuard admits requests with the keys in db. Over PostgreSQL, which
// several servers may share, it draws each key's tokens from the bucket
// they share, and forgets a key revoked through any of them at once.
func newGuard(db store.Store, rateLimit float64, log *slog.Logger) *access.Guard {
	pg, shared := db.(*postgres.Store)
	if !shared {
		return access.NewGuard(db, rateLimit, log)
	}
	guard := access.NewGuard(db, rateLimit, log, access.SharedTokens(pg))
	pg.OnKeyRevoked(guard.Forget)
	return guard
}

// app is what the routes need.
type app struct {
	svc    task.Service
	guard  *access.Guard
	keeper *idempotency.Keeper
	feed   feed.Reader // the change feed, paged
	hub    *feed.Hub   // the change feed, followed live
	// streams bounds and counts the feed's streams and subscriptions.
	streams *feed.Streams
	// webhooks manages each organisation's webhooks.
	webhooks    *webhook.Service
	limits      graph.Limits
	corsOrigins []string
	stop        context.Context // ends when the server begins to stop, and every stream and subscription with it
	log         *slog.Logger
	metrics     *observe.Metrics
	ready       func(context.Context) error // returns nil when the database can serve
}

// handler routes every endpoint of the API.
func (a app) handler() http.Handler {
	mux := http.NewServeMux()
	rest.New(rest.Options{Service: a.svc, Guard: a.guard, Keeper: a.keeper, Log: a.log,
		Feed: a.feed, Hub: a.hub, Streams: a.streams, Stop: a.stop}).Register(mux)
	gql := graph.NewHandler(graph.Options{Service: a.svc, Guard: a.guard, Keeper: a.keeper, Limits: a.limits, Log: a.log,
		Feed: a.feed, Hub: a.hub, Streams: a.streams, WebhookService: a.webhooks, Origins: a.corsOrigins, Stop: a.stop})
	mux.Handle("/query", gql)
	mux.Handle("/graphql", gql)
	// GET /{$} rather than "/", which would swallow every 404 and 405.
	pg := playground.Handler("/query")
	mux.Handle("GET /{$}", pg)
	mux.Handle("GET /playground/", pg)
	mux.HandleFunc("GET /schema.graphql", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Write(schemaSDL)
	})
	// Health checks and metrics need no key: they say nothing about tasks.
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		writeStatus(w, http.StatusOK, "ok")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		if err := a.ready(r.Context()); err != nil {
			a.log.WarnContext(r.Context(), "not ready", "err", err)
			writeStatus(w, http.StatusServiceUnavailable, "unavailable")
			return
		}
		writeStatus(w, http.StatusOK, "ok")
	})
	mux.Handle("GET /metrics", a.metrics.Handler())

	var h http.Handler = rest.JSONErrors(mux)
	h = limitBody(h)
	h = recoverPanics(h, a.log)
	h = cors.New(cors.Options{
		AllowedOrigins: a.corsOrigins,
		AllowedMethods: []string{http.MethodGet, http.MethodPost, http.MethodPatch, http.MethodDelete},
		AllowedHeaders: []string{"Content-Type", access.AccessKeyHeader, access.SecretKeyHeader, observe.RequestIDHeader,
			"If-Match", "If-None-Match", idempotency.Header, "Last-Event-ID"},
		ExposedHeaders: []string{"Retry-After", "X-RateLimit-Limit", "X-RateLimit-Remaining", observe.RequestIDHeader,
			"ETag", idempotency.ReplayedHeader},
	}).Handler(h)
	return observe.Requests(h, a.log, a.metrics)
}

func writeStatus(w http.ResponseWriter, code int, status string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	fmt.Fprintf(w, `{"status":%q}`+"\n", status)
}

// limitBody refuses a body declared larger than rest.MaxBodyBytes at once,
// on every route, and caps any other body at that size while it is read.
func limitBody(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > rest.MaxBodyBytes {
			w.Header().Set("Connection", "close")
			if isGraphQL(r) {
				graph.WriteBodyTooLarge(w, rest.MaxBodyBytes)
			} else {
				rest.WriteError(w, http.StatusRequestEntityTooLarge, rest.BodyTooLargeMessage)
			}
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, rest.MaxBodyBytes)
		next.ServeHTTP(w, r)
	})
}

func isGraphQL(r *http.Request) bool { return r.URL.Path == "/query" || r.URL.Path == "/graphql" }

// recoverPanics turns a panic outside the GraphQL executor (which has its
// own recovery) into a logged 500, and keeps the server serving.
func recoverPanics(next http.Handler, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				log.ErrorContext(r.Context(), "panic serving request", "method", r.Method, "path", r.URL.Path,
					"panic", p, "stack", string(debug.Stack()))
				rest.WriteError(w, http.StatusInternalServerError, rest.InternalMessage)
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// displayAddr turns ":8080" into "localhost:8080" for a clickable log line.
func displayAddr(a net.Addr) string {
	host, port, err := net.SplitHostPort(a.String())
	if err != nil || host == "::" || host == "0.0.0.0" || host == "" {
		return "localhost:" + port
	}
	return net.JoinHostPort(host, port)
}
