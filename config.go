package main

import (
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"tasksapi/graph"
	"tasksapi/idempotency"
	"tasksapi/sqlite"
)

// config is the server's configuration: defaults, then environment, then flags.
type config struct {
	Addr          string
	DBPath        string
	CORSOrigins   []string
	RateLimit     float64 // requests a second per key; 0 is no limit
	MaxComplexity int
	MaxDepth      int
	Sync          sqlite.Sync
	LogFormat     string // text or json
	LogLevel      slog.Level
	// IdempotencyTTL is how long the outcome of a write sent with an
	// Idempotency-Key is kept for repeats.
	IdempotencyTTL time.Duration
	// ChangesRetention is how long the change feed keeps a change; 0
	// keeps every change.
	ChangesRetention time.Duration
	// MaxSubscriptions is how many streams and subscriptions one API key
	// may hold open at once.
	MaxSubscriptions int
	// WebhooksAllowPrivate lets webhooks target loopback, private and
	// other internal addresses.
	WebhooksAllowPrivate bool
}

// Defaults of the change feed: changes are kept 30 days, and a key holds
// at most 100 streams and subscriptions.
const (
	defaultChangesRetention = 30 * 24 * time.Hour
	defaultMaxSubscriptions = 100
)

// defaultRateLimit per key: generous for an integration or a busy
// frontend, low enough that one runaway client cannot crowd out others.
const defaultRateLimit = 50

// envFlags pairs each flag with the environment variables that set it,
// the first set one winning.
var envFlags = [][]string{
	{"addr", "ADDR"},
	{"db", "DATABASE_URL", "DB_PATH"},
	{"cors-origins", "CORS_ORIGINS"},
	{"rate-limit", "RATE_LIMIT"},
	{"max-complexity", "MAX_COMPLEXITY"},
	{"max-depth", "MAX_DEPTH"},
	{"sync", "SYNC"},
	{"log-format", "LOG_FORMAT"},
	{"log-level", "LOG_LEVEL"},
	{"idempotency-ttl", "IDEMPOTENCY_TTL"},
	{"changes-retention", "CHANGES_RETENTION"},
	{"max-subscriptions", "MAX_SUBSCRIPTIONS"},
	{"webhooks-allow-private", "WEBHOOKS_ALLOW_PRIVATE"},
}

func parseConfig(args []string, getenv func(string) string, stderr io.Writer) (config, error) {
	var cfg config
	var origins, sync string
	fs := flag.NewFlagSet("server serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&cfg.Addr, "addr", ":8080", "listen address (env ADDR; env PORT means :PORT)")
	dbFlag(fs, &cfg.DBPath)
	fs.StringVar(&origins, "cors-origins", "*", "allowed CORS origins, comma separated; * for any (env CORS_ORIGINS)")
	fs.Float64Var(&cfg.RateLimit, "rate-limit", defaultRateLimit, "requests a second per API key, in bursts of twice that; 0 for no limit (env RATE_LIMIT)")
	fs.IntVar(&cfg.MaxComplexity, "max-complexity", graph.DefaultLimits.MaxComplexity, "largest GraphQL query cost: fields, each task's counted per task of a page (env MAX_COMPLEXITY)")
	fs.IntVar(&cfg.MaxDepth, "max-depth", graph.DefaultLimits.MaxDepth, "deepest GraphQL selection nesting, introspection included (env MAX_DEPTH)")
	fs.StringVar(&cfg.LogFormat, "log-format", "text", "log lines as text or json (env LOG_FORMAT)")
	fs.TextVar(&cfg.LogLevel, "log-level", slog.LevelInfo, "least severe log level: debug, info, warn or error (env LOG_LEVEL)")
	fs.DurationVar(&cfg.IdempotencyTTL, "idempotency-ttl", idempotency.DefaultTTL, "how long a write's answer is kept for repeats of its Idempotency-Key (env IDEMPOTENCY_TTL)")
	fs.DurationVar(&cfg.ChangesRetention, "changes-retention", defaultChangesRetention, "how long the change feed keeps a change; 0 keeps them all (env CHANGES_RETENTION)")
	fs.IntVar(&cfg.MaxSubscriptions, "max-subscriptions", defaultMaxSubscriptions, "streams and subscriptions one API key may hold open at once (env MAX_SUBSCRIPTIONS)")
	webhooksAllowPrivateFlag(fs, &cfg.WebhooksAllowPrivate)
	fs.StringVar(&sync, "sync", string(sqlite.SyncFull), "SQLite only (PostgreSQL follows its synchronous_commit). full: a write is on disk before it is acknowledged; normal: faster, but a power loss can lose the last writes (env SYNC)")

	if port := getenv("PORT"); port != "" {
		fs.Set("addr", ":"+port)
	}
	if err := setFromEnv(fs, getenv); err != nil {
		return config{}, err
	}
	if err := fs.Parse(args); err != nil {
		return config{}, err
	}
	if fs.NArg() > 0 {
		return config{}, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if cfg.ChangesRetention < 0 || cfg.MaxSubscriptions < 1 {
		return config{}, fmt.Errorf("--changes-retention must be at least 0 and --max-subscriptions at least 1")
	}
	if cfg.IdempotencyTTL <= 0 {
		return config{}, fmt.Errorf("--idempotency-ttl must be positive, not %s", cfg.IdempotencyTTL)
	}
	if cfg.RateLimit < 0 || cfg.MaxComplexity < 1 || cfg.MaxDepth < 1 {
		return config{}, fmt.Errorf("--rate-limit must be at least 0, --max-complexity and --max-depth at least 1")
	}
	if cfg.Sync = sqlite.Sync(sync); cfg.Sync != sqlite.SyncFull && cfg.Sync != sqlite.SyncNormal {
		return config{}, fmt.Errorf("--sync must be full or normal, not %q", sync)
	}
	if cfg.LogFormat != "text" && cfg.LogFormat != "json" {
		return config{}, fmt.Errorf("--log-format must be text or json, not %q", cfg.LogFormat)
	}
	for _, o := range strings.Split(origins, ",") {
		if o = strings.TrimSpace(o); o != "" {
			cfg.CORSOrigins = append(cfg.CORSOrigins, o)
		}
	}
	return cfg, nil
}

// dbFlag defines --db, shared by every subcommand.
func dbFlag(fs *flag.FlagSet, dst *string) {
	fs.StringVar(dst, "db", "tasks.db", "the database: a SQLite file, created if missing, or a postgres:// URL (env DATABASE_URL, else DB_PATH)")
}

// webhooksAllowPrivateFlag defines --webhooks-allow-private, shared by
// serve and webhooks add.
func webhooksAllowPrivateFlag(fs *flag.FlagSet, dst *bool) {
	fs.BoolVar(dst, "webhooks-allow-private", false, "let webhooks target loopback, private and link-local addresses, for private networks and tests (env WEBHOOKS_ALLOW_PRIVATE=1)")
}

// setFromEnv gives each defined flag its environment variable's value, so
// that flags parsed afterwards win.
func setFromEnv(fs *flag.FlagSet, getenv func(string) string) error {
	for _, names := range envFlags {
		name := names[0]
		if fs.Lookup(name) == nil {
			continue
		}
		for _, env := range names[1:] {
			if v := getenv(env); v != "" {
				if err := fs.Set(name, v); err != nil {
					return fmt.Errorf("%s=%q: %v", env, v, err)
				}
				break
			}
		}
	}
	return nil
}

// newLogger writes cfg's log format at cfg's level to w.
func newLogger(cfg config, w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: cfg.LogLevel}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
