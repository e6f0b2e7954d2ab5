// Command server runs the tasks API: GraphQL at /query (and /graphql), the
// GraphiQL playground at /, and the YSUITE-compatible REST endpoints under
// /v1/tasks, all over one SQLite file.
//
//	server [serve] [--addr :8080] [--db tasks.db] [--cors-origins a,b] [--rate-limit 50] ...
//	server keys create|list|revoke ...
//	server seed --org NAME --tasks N
//
// Each flag can also be set by environment variable; a flag wins.
package main

//go:generate go tool gqlgen generate

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"github.com/99designs/gqlgen/graphql/playground"
	"github.com/rs/cors"

	"tasksapi/access"
	"tasksapi/db"
	"tasksapi/graph"
	"tasksapi/rest"
	"tasksapi/task"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr, log); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "server:", err)
		}
		os.Exit(2)
	}
}

// run dispatches the subcommand; serve is the default.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer, log *slog.Logger) error {
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
		return serve(ctx, cfg, log, stderr, nil)
	case "keys":
		return runKeys(ctx, args, getenv, stdout, stderr)
	case "seed":
		return runSeed(ctx, args, getenv, stdout, stderr)
	default:
		return fmt.Errorf("unknown command %q (commands: serve, keys, seed)", cmd)
	}
}

// serve runs the server until ctx is done, then lets in-flight requests
// finish and closes the database. If ready is not nil, it receives the
// address the server listens on.
func serve(ctx context.Context, cfg config, log *slog.Logger, stderr io.Writer, ready chan<- string) error {
	store, err := db.Open(cfg.DBPath, cfg.Sync)
	if err != nil {
		return err
	}
	defer store.Close()

	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return err
	}
	baseURL := "http://" + displayAddr(ln.Addr())
	if err := ensureFirstKey(ctx, store, stderr, baseURL); err != nil {
		ln.Close()
		return err
	}
	guard := access.NewGuard(store, cfg.RateLimit, log)
	limits := graph.Limits{MaxComplexity: cfg.MaxComplexity, MaxDepth: cfg.MaxDepth}
	srv := &http.Server{
		Handler:           newHandler(store, guard, limits, cfg.CORSOrigins, log),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	log.Info("serving", "playground", baseURL, "db", cfg.DBPath, "sync", cfg.Sync, "rate_limit", cfg.RateLimit)
	if ready != nil {
		ready <- ln.Addr().String()
	}

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	return srv.Shutdown(shutdownCtx)
}

// newHandler routes every endpoint of the API.
func newHandler(svc task.Service, guard *access.Guard, limits graph.Limits, corsOrigins []string, log *slog.Logger) http.Handler {
	mux := http.NewServeMux()
	rest.New(svc, guard, log).Register(mux)
	gql := graph.NewHandler(svc, guard, limits, log)
	mux.Handle("/query", gql)
	mux.Handle("/graphql", gql)
	// GET /{$} rather than "/", which would swallow every 404 and 405.
	mux.Handle("GET /{$}", playground.Handler("Tasks API", "/query",
		playground.WithGraphiqlUiHeaders(map[string]string{
			access.AccessKeyHeader: "", access.SecretKeyHeader: "",
		})))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"status":"ok"}`)
	})

	var h http.Handler = rest.JSONErrors(mux)
	h = limitBody(h)
	h = recoverPanics(h, log)
	return cors.New(cors.Options{
		AllowedOrigins: corsOrigins,
		AllowedMethods: []string{http.MethodGet, http.MethodPost},
		AllowedHeaders: []string{"Content-Type", access.AccessKeyHeader, access.SecretKeyHeader},
		ExposedHeaders: []string{"Retry-After", "X-RateLimit-Limit", "X-RateLimit-Remaining"},
	}).Handler(h)
}

// limitBody refuses a body declared larger than rest.MaxBodyBytes at once,
// on every route, and caps any other body at that size while it is read.
func limitBody(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > rest.MaxBodyBytes {
			w.Header().Set("Connection", "close")
			if isGraphQL(r) {
				graph.WriteError(w, http.StatusRequestEntityTooLarge, "PAYLOAD_TOO_LARGE", rest.BodyTooLargeMessage)
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
