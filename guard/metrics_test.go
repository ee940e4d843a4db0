package guard

import (
	"context"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/vigil-idp/vigil/ssf"
)

// gather returns every sample of reg as "name{k=v,…}" → value.
func gather(t *testing.T, reg *prometheus.Registry) map[string]float64 {
	t.Helper()
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, f := range fams {
		for _, m := range f.GetMetric() {
			var labels []string
			for _, l := range m.GetLabel() {
				labels = append(labels, l.GetName()+"="+l.GetValue())
			}
			sort.Strings(labels)
			key := f.GetName() + "{" + strings.Join(labels, ",") + "}"
			switch {
			case m.GetCounter() != nil:
				out[key] = m.GetCounter().GetValue()
			case m.GetGauge() != nil:
				out[key] = m.GetGauge().GetValue()
			case m.GetHistogram() != nil:
				out[key] = float64(m.GetHistogram().GetSampleCount())
			}
		}
	}
	return out
}

func TestMetrics(t *testing.T) {
	clock := newFakeClock()
	ti := newTestIssuer(t, clock.Now)
	reg := prometheus.NewRegistry()
	g := startGuard(t, ti, clock, func(c *Config) { c.Registerer = reg })
	ctx := context.Background()
	tok := ti.mint(ti.claims(userA, sessA, clock.Now().Add(-time.Minute)))
	if _, err := g.Verify(ctx, tok); err != nil {
		t.Fatal(err)
	}
	if _, err := g.Verify(ctx, "garbage"); err == nil {
		t.Fatal("garbage accepted")
	}
	ti.emit("m1", ti.set("m1", ti.userSubject(userA), ssf.EventSessionRevoked,
		ssf.SessionRevoked{CAEPCommon: ssf.CAEPCommon{EventTimestamp: clock.Now().Unix()}}))
	waitFor(t, 5*time.Second, "the ack", func() bool { return ti.acked("m1") })
	if _, err := g.Verify(ctx, tok); kindOf(err) != KindRevoked {
		t.Fatalf("after the revocation: %v", err)
	}
	got := gather(t, reg)
	for key, want := range map[string]float64{
		"vigil_guard_requests_total{outcome=accepted}":                   1,
		"vigil_guard_requests_total{outcome=malformed}":                  1,
		"vigil_guard_requests_total{outcome=revoked}":                    1,
		"vigil_guard_revocation_table_entries{kind=user}":                1,
		"vigil_guard_revocation_table_entries{kind=session}":             0,
		"vigil_guard_events_total{event=session-revoked,result=applied}": 1,
		"vigil_guard_stream_up{}":                                        1,
		"vigil_guard_stream_down_seconds{}":                              0,
		"vigil_guard_stream_lag_seconds{}":                               1, // samples
		"vigil_guard_stream_last_event_timestamp_seconds{}":              float64(clock.Now().Unix()),
		"vigil_guard_verified_cache_entries{}":                           1,
	} {
		if v, ok := got[key]; !ok || v != want {
			t.Errorf("%s = %v (present %v), want %v", key, v, ok, want)
		}
	}
}
