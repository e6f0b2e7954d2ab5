// Command server runs the tasks API: GraphQL at /query (and /graphql), the
// GraphiQL playground at /, and the YSUITE-compatible REST endpoints under
// /v1/tasks, all over one SQLite file.
//
//	server [serve] [--addr :8080] [--db tasks.db] [--cors-origins a,b]
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
	"strings"
	"syscall"
	"time"

	"github.com/99designs/gqlgen/graphql/playground"
	"github.com/rs/cors"

	"tasksapi/db"
	"tasksapi/graph"
	"tasksapi/rest"
	"tasksapi/task"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stderr, log); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "server:", err)
		}
		os.Exit(2)
	}
}

// config is the server's configuration: defaults, then environment, then flags.
type config struct {
	Addr        string
	DBPath      string
	CORSOrigins []string
}

// run dispatches the subcommand. "serve" is the only one, and the default.
func run(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer, log *slog.Logger) error {
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		if args[0] != "serve" {
			return fmt.Errorf("unknown command %q (the only command is serve)", args[0])
		}
		args = args[1:]
	}
	cfg, err := parseConfig(args, getenv, stderr)
	if err != nil {
		return err
	}
	return serve(ctx, cfg, log, nil)
}

func parseConfig(args []string, getenv func(string) string, stderr io.Writer) (config, error) {
	addr := ":8080"
	if port := getenv("PORT"); port != "" {
		addr = ":" + port
	}
	fs := flag.NewFlagSet("server serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cfg config
	var origins string
	fs.StringVar(&cfg.Addr, "addr", envOr(getenv, "ADDR", addr), "listen address (env ADDR; env PORT means :PORT)")
	fs.StringVar(&cfg.DBPath, "db", envOr(getenv, "DB_PATH", "tasks.db"), "SQLite database file, created if missing (env DB_PATH)")
	fs.StringVar(&origins, "cors-origins", envOr(getenv, "CORS_ORIGINS", "*"), "allowed CORS origins, comma separated; * for any (env CORS_ORIGINS)")
	if err := fs.Parse(args); err != nil {
		return config{}, err
	}
	if fs.NArg() > 0 {
		return config{}, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	for _, o := range strings.Split(origins, ",") {
		if o = strings.TrimSpace(o); o != "" {
			cfg.CORSOrigins = append(cfg.CORSOrigins, o)
		}
	}
	return cfg, nil
}

func envOr(getenv func(string) string, key, fallback string) string {
	if v := getenv(key); v != "" {
		return v
	}
	return fallback
}

// serve runs the server until ctx is done, then lets in-flight requests
// finish and closes the database. If ready is not nil, it receives the
// address the server listens on.
func serve(ctx context.Context, cfg config, log *slog.Logger, ready chan<- string) error {
	store, err := db.Open(cfg.DBPath)
	if err != nil {
		return err
	}
	defer store.Close()

	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler:           newHandler(store, cfg.CORSOrigins, log),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	log.Info("serving", "playground", "http://"+displayAddr(ln.Addr()), "db", cfg.DBPath)
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
func newHandler(svc task.Service, corsOrigins []string, log *slog.Logger) http.Handler {
	mux := http.NewServeMux()
	rest.New(svc, log).Register(mux)
	gql := http.MaxBytesHandler(graph.NewHandler(svc, log), rest.MaxBodyBytes)
	mux.Handle("/query", gql)
	mux.Handle("/graphql", gql)
	// GET /{$} rather than "/", which would swallow every 404 and 405.
	mux.Handle("GET /{$}", playground.Handler("Tasks API", "/query"))

	return cors.New(cors.Options{
		AllowedOrigins: corsOrigins,
		AllowedMethods: []string{http.MethodGet, http.MethodPost},
		AllowedHeaders: []string{"Content-Type", "x-ysuite-access-key", "x-ysuite-secret-key"},
	}).Handler(rest.JSONErrors(mux))
}

// displayAddr turns ":8080" into "localhost:8080" for a clickable log line.
func displayAddr(a net.Addr) string {
	host, port, err := net.SplitHostPort(a.String())
	if err != nil || host == "::" || host == "0.0.0.0" || host == "" {
		return "localhost:" + port
	}
	return net.JoinHostPort(host, port)
}
