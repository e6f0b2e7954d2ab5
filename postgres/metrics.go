package postgres

import (
	"github.com/prometheus/client_golang/prometheus"
)

// Collectors give the figures of the store's connection pool, for
// metrics: the same questions database/sql's pool figures answer for
// SQLite (is the pool exhausted, how long do requests wait for it).
func (s *Store) Collectors() []prometheus.Collector { return []prometheus.Collector{poolCollector{s}} }

var (
	poolMaxDesc      = prometheus.NewDesc("tasks_db_pool_max_connections", "Most connections the PostgreSQL pool opens.", nil, nil)
	poolOpenDesc     = prometheus.NewDesc("tasks_db_pool_open_connections", "Connections the PostgreSQL pool holds open.", nil, nil)
	poolInUseDesc    = prometheus.NewDesc("tasks_db_pool_in_use_connections", "Connections in use.", nil, nil)
	poolIdleDesc     = prometheus.NewDesc("tasks_db_pool_idle_connections", "Connections idle.", nil, nil)
	poolWaitsDesc    = prometheus.NewDesc("tasks_db_pool_wait_count_total", "Acquisitions that had to wait for a connection.", nil, nil)
	poolWaitTimeDesc = prometheus.NewDesc("tasks_db_pool_wait_duration_seconds_total", "Time spent waiting for a connection.", nil, nil)
)

type poolCollector struct{ s *Store }

func (c poolCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{poolMaxDesc, poolOpenDesc, poolInUseDesc, poolIdleDesc, poolWaitsDesc, poolWaitTimeDesc} {
		ch <- d
	}
}

func (c poolCollector) Collect(ch chan<- prometheus.Metric) {
	st := c.s.pool.Stat()
	ch <- prometheus.MustNewConstMetric(poolMaxDesc, prometheus.GaugeValue, float64(st.MaxConns()))
	ch <- prometheus.MustNewConstMetric(poolOpenDesc, prometheus.GaugeValue, float64(st.TotalConns()))
	ch <- prometheus.MustNewConstMetric(poolInUseDesc, prometheus.GaugeValue, float64(st.AcquiredConns()))
	ch <- prometheus.MustNewConstMetric(poolIdleDesc, prometheus.GaugeValue, float64(st.IdleConns()))
	ch <- prometheus.MustNewConstMetric(poolWaitsDesc, prometheus.CounterValue, float64(st.EmptyAcquireCount()))
	ch <- prometheus.MustNewConstMetric(poolWaitTimeDesc, prometheus.CounterValue, st.EmptyAcquireWaitTime().Seconds())
}
