package server

import (
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/vigil-idp/vigil/internal/routelabel"
)

// httpMetrics are the server-wide request metrics.
type httpMetrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	inFlight prometheus.Gauge
}

func newHTTPMetrics(reg prometheus.Registerer) *httpMetrics {
	m := &httpMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vigil_http_requests_total",
			Help: "HTTP requests answered, by route pattern, method and status code.",
		}, []string{"route", "method", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "vigil_http_request_duration_seconds",
			Help:    "Time to answer HTTP requests, by route pattern and method.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"route", "method"}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "vigil_http_requests_in_flight",
			Help: "HTTP requests being served.",
		}),
	}
	reg.MustRegister(m.requests, m.duration, m.inFlight)
	return m
}

// statusRecorder captures the status code written by a handler.
type statusRecorder struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (r *statusRecorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	n, err := r.ResponseWriter.Write(b)
	r.bytes += int64(n)
	return n, err
}

// Unwrap lets http.ResponseController reach the underlying writer (flush,
// deadlines for long polls).
func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// instrument wraps the mux: it recovers panics, records metrics by route
// pattern (never by raw path, so ids cannot explode label cardinality) and
// logs one line per request with the Graph request id when one was set.
// It never logs query strings or bodies, which may hold secrets.
func instrument(next *http.ServeMux, m *httpMetrics, log *slog.Logger, now func() time.Time) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := now()
		r, inner := routelabel.Track(r)
		rec := &statusRecorder{ResponseWriter: w}
		m.inFlight.Inc()
		defer func() {
			m.inFlight.Dec()
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				log.Error("panic serving request", "method", r.Method, "path", r.URL.Path, "panic", p)
				if rec.status == 0 {
					http.Error(rec, `{"error":{"code":"generalException","message":"An internal server error occurred."}}`, http.StatusInternalServerError)
				}
			}
			label := r.Pattern
			if p := inner(); p != "" {
				label = p // the Graph API's own route under its prefix
			}
			if label == "" {
				label = "unmatched"
			}
			status := rec.status
			if status == 0 {
				status = http.StatusOK
			}
			elapsed := now().Sub(start)
			m.requests.WithLabelValues(label, r.Method, strconv.Itoa(status)).Inc()
			m.duration.WithLabelValues(label, r.Method).Observe(elapsed.Seconds())
			if r.URL.Path == "/healthz" || r.URL.Path == "/metrics" {
				return
			}
			attrs := []any{"method", r.Method, "path", r.URL.Path, "route", label, "status", status,
				"bytes", rec.bytes, "duration_ms", float64(elapsed.Microseconds()) / 1000}
			if id := rec.Header().Get("request-id"); id != "" {
				attrs = append(attrs, "request_id", id)
			}
			if id := r.Header.Get("client-request-id"); id != "" {
				attrs = append(attrs, "client_request_id", id)
			}
			log.Info("request", attrs...)
		}()
		next.ServeHTTP(rec, r)
	})
}
