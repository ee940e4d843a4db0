package guard

import (
	"strings"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the guard's Prometheus metrics. Counters of the hot path
// are resolved once, so counting allocates nothing.
type metrics struct {
	accepted  prometheus.Counter
	byKind    [len(kindLabel)]prometheus.Counter
	events    *prometheus.CounterVec
	lag       prometheus.Histogram
	lastEvent prometheus.Gauge
}

func newMetrics(g *Guard, reg prometheus.Registerer) *metrics {
	requests := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "vigil_guard_requests_total",
		Help: "Access tokens checked, by outcome (accepted, or why they were refused).",
	}, []string{"outcome"})
	m := &metrics{
		accepted: requests.WithLabelValues("accepted"),
		events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vigil_guard_events_total",
			Help: "Security Event Tokens received from the SSF stream, by event type and result (applied, ignored, rejected).",
		}, []string{"event", "result"}),
		lag: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "vigil_guard_stream_lag_seconds",
			Help:    "Time from a SET's iat to its application to the revocation table (iat has one-second resolution).",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2, 5, 10, 30, 60, 300},
		}),
		lastEvent: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "vigil_guard_stream_last_event_timestamp_seconds",
			Help: "When the last SET was applied to the revocation table (Unix time).",
		}),
	}
	for k := range m.byKind {
		if kindLabel[k] != "" {
			m.byKind[k] = requests.WithLabelValues(kindLabel[k])
		}
	}
	if reg == nil {
		return m
	}
	size := func(kind string, f func() float64) prometheus.Collector {
		return prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name:        "vigil_guard_revocation_table_entries",
			Help:        "Entries of the revocation table: users (validFrom or disabled) and revoked sessions.",
			ConstLabels: prometheus.Labels{"kind": kind},
		}, f)
	}
	reg.MustRegister(requests, m.events, m.lag, m.lastEvent,
		size("user", func() float64 { u, _ := g.table.size(); return float64(u) }),
		size("session", func() float64 { _, s := g.table.size(); return float64(s) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "vigil_guard_stream_up",
			Help: "1 when the SSF stream is connected and enabled, else 0.",
		}, func() float64 {
			if g.health.downSince.Load() == 0 {
				return 1
			}
			return 0
		}),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "vigil_guard_stream_down_seconds",
			Help: "How long the SSF stream has been down (0 when up).",
		}, func() float64 { return g.health.downFor(g.now()).Seconds() }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "vigil_guard_verified_cache_entries",
			Help: "Verified tokens cached (their revocation is still checked on every request).",
		}, func() float64 { return float64(g.verified.len()) }),
	)
	return m
}

func (m *metrics) refused(k Kind) {
	if int(k) < len(m.byKind) && m.byKind[k] != nil {
		m.byKind[k].Inc()
	}
}

// eventLabel shortens an event type URI to its last segment.
func eventLabel(typ string) string {
	if i := strings.LastIndexByte(typ, '/'); i >= 0 && i < len(typ)-1 {
		return typ[i+1:]
	}
	return "unknown"
}
