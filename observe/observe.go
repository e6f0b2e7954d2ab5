// Package observe makes a running server visible: one structured log line
// per request, an X-Request-ID on every response, and Prometheus metrics.
// Inner layers add what only they know (the caller's organisation, the
// GraphQL operation) to the request's Info.
package observe

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Info is what the layers of one request learn about it.
type Info struct {
	mu           sync.Mutex
	organisation int
	graphql      bool   // a GraphQL operation ran
	operation    string // its name, if it has one
	failed       bool   // its response had errors
}

type infoKey struct{}

func infoFrom(ctx context.Context) *Info {
	info, _ := ctx.Value(infoKey{}).(*Info)
	return info
}

// SetOrganisation records the organisation the request acts for.
func SetOrganisation(ctx context.Context, id int) {
	if info := infoFrom(ctx); info != nil {
		info.mu.Lock()
		info.organisation = id
		info.mu.Unlock()
	}
}

// SetOperation records that the request ran a GraphQL operation, and its
// name ("" for an anonymous one).
func SetOperation(ctx context.Context, name string) {
	if info := infoFrom(ctx); info != nil {
		info.mu.Lock()
		info.graphql, info.operation = true, name
		info.mu.Unlock()
	}
}

// SetOperationFailed records that the GraphQL operation's response held
// errors.
func SetOperationFailed(ctx context.Context) {
	if info := infoFrom(ctx); info != nil {
		info.mu.Lock()
		info.failed = true
		info.mu.Unlock()
	}
}

// Metrics are the server's Prometheus metrics.
type Metrics struct {
	registry   *prometheus.Registry
	requests   *prometheus.CounterVec
	duration   *prometheus.HistogramVec
	operations *prometheus.CounterVec

	mu             sync.Mutex
	operationNames map[string]bool // the operation names counted under their own label
}

// Every label value comes from a bounded set, so no client can grow the
// metrics without end: methods outside HTTP's own count as "OTHER", and
// operation names after the first maxOperations as "other".
const maxOperations = 200

var knownMethods = map[string]bool{
	http.MethodGet: true, http.MethodHead: true, http.MethodPost: true, http.MethodPut: true,
	http.MethodPatch: true, http.MethodDelete: true, http.MethodConnect: true,
	http.MethodOptions: true, http.MethodTrace: true,
}

func methodLabel(method string) string {
	if knownMethods[method] {
		return method
	}
	return "OTHER"
}

// operationLabel is name while fewer than maxOperations names have been
// seen (or it is one of them), else "other".
func (m *Metrics) operationLabel(name string) string {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.operationNames[name] || len(m.operationNames) < maxOperations {
		m.operationNames[name] = true
		return name
	}
	return "other"
}

// NewMetrics registers the request and GraphQL metrics, Go runtime and
// process figures, and the store's own (its connection pools').
func NewMetrics(store ...prometheus.Collector) *Metrics {
	m := &Metrics{
		registry: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tasks_http_requests_total", Help: "HTTP requests by route, method and status.",
		}, []string{"route", "method", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "tasks_http_request_duration_seconds", Help: "HTTP request latency by route and method.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}, []string{"route", "method"}),
		operations: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tasks_graphql_operations_total", Help: "GraphQL operations by name, and whether they had errors.",
		}, []string{"operation", "errors"}),
		operationNames: map[string]bool{},
	}
	m.registry.MustRegister(m.requests, m.duration, m.operations,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m.registry.MustRegister(store...)
	return m
}

// Handler serves the metrics in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{})
}

// Operation counts a GraphQL operation; unnamed ones count as "anonymous".
func (m *Metrics) Operation(name string, hadErrors bool) {
	if name == "" {
		name = "anonymous"
	}
	m.operations.WithLabelValues(m.operationLabel(name), strconv.FormatBool(hadErrors)).Inc()
}

// RequestIDHeader carries a request's id, taken from the client when it
// sends a usable one and made up otherwise, and echoed in the response.
const RequestIDHeader = "X-Request-ID"

// Requests wraps next: each request gets an id, a log line when it ends,
// and its place in the metrics. Nothing a client sends other than the
// request id reaches the log: no header, query string or body.
func Requests(next http.Handler, log *slog.Logger, m *Metrics) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := r.Header.Get(RequestIDHeader)
		if !usableID(id) {
			id = newID()
		}
		w.Header().Set(RequestIDHeader, id)
		info := &Info{}
		r = r.WithContext(context.WithValue(r.Context(), infoKey{}, info))
		rec := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(rec, r)

		route := r.Pattern // set by the ServeMux on this request
		if route == "" {
			route = "unmatched"
		}
		elapsed := time.Since(start)
		method := methodLabel(r.Method)
		m.requests.WithLabelValues(route, method, strconv.Itoa(rec.status)).Inc()
		m.duration.WithLabelValues(route, method).Observe(elapsed.Seconds())
		attrs := []slog.Attr{slog.String("request_id", id), slog.String("method", r.Method),
			slog.String("route", route), slog.Int("status", rec.status),
			slog.Float64("duration_ms", float64(elapsed.Microseconds())/1000)}
		info.mu.Lock()
		if info.organisation != 0 {
			attrs = append(attrs, slog.Int("organisation", info.organisation))
		}
		if info.operation != "" {
			attrs = append(attrs, slog.String("operation", info.operation))
		}
		if info.graphql {
			m.Operation(info.operation, info.failed)
		}
		info.mu.Unlock()
		log.LogAttrs(r.Context(), slog.LevelInfo, "request", attrs...)
	})
}

// usableID accepts ids a log can hold safely: short, printable ASCII.
func usableID(id string) bool {
	if id == "" || len(id) > 128 {
		return false
	}
	for _, c := range []byte(id) {
		if c < 0x21 || c > 0x7e {
			return false
		}
	}
	return true
}

func newID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b) // never fails
	return hex.EncodeToString(b)
}

// statusWriter remembers the status a handler wrote.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(status int) {
	w.status = status
	w.ResponseWriter.WriteHeader(status)
}

// Unwrap lets http.ResponseController reach the real writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// StreamStats is a snapshot of the change feed's streams and
// subscriptions: open ones by kind, changes sent by kind, and ended ones
// by reason.
type StreamStats func() (open map[string]int, sent map[string]uint64, ended map[string]uint64)

// Streams adds the change feed's figures to the metrics, read from stats
// at each scrape.
func (m *Metrics) Streams(stats StreamStats) {
	m.registry.MustRegister(streamCollector{stats})
}

var (
	streamsOpenDesc = prometheus.NewDesc("tasks_feed_streams_open",
		"Open change-feed streams and subscriptions, by kind (sse, graphql-ws, graphql-sse).", []string{"kind"}, nil)
	changesSentDesc = prometheus.NewDesc("tasks_feed_changes_sent_total",
		"Changes sent to streams and subscriptions, by kind.", []string{"kind"}, nil)
	streamsEndedDesc = prometheus.NewDesc("tasks_feed_streams_ended_total",
		"Streams and subscriptions ended, by reason (closed, too_slow, expired, shutdown, failed).", []string{"reason"}, nil)
)

type streamCollector struct{ stats StreamStats }

func (c streamCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- streamsOpenDesc
	ch <- changesSentDesc
	ch <- streamsEndedDesc
}

func (c streamCollector) Collect(ch chan<- prometheus.Metric) {
	open, sent, ended := c.stats()
	for kind, n := range open {
		ch <- prometheus.MustNewConstMetric(streamsOpenDesc, prometheus.GaugeValue, float64(n), kind)
	}
	for kind, n := range sent {
		ch <- prometheus.MustNewConstMetric(changesSentDesc, prometheus.CounterValue, float64(n), kind)
	}
	for reason, n := range ended {
		ch <- prometheus.MustNewConstMetric(streamsEndedDesc, prometheus.CounterValue, float64(n), reason)
	}
}
