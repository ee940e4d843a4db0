package proxy

import (
	"context"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/vigil-idp/vigil/internal/revocation"
	"github.com/vigil-idp/vigil/internal/store/sqlstore"
	"github.com/vigil-idp/vigil/internal/store/sqlstore/sqltest"
)

// TestPropagation measures revocation propagation on loopback, one node:
// for each of N users, from the moment the revocation is durable (the
// commit after which revokeSignInSessions answers 2xx) to the moment a
// running guard refuses the user's token issued before it, with long poll
// and with push, through Vigil's transmitter (on SQLite, and PostgreSQL
// when VIGIL_TEST_POSTGRES_DSN is set). The guard is checked every 50 µs.
// It runs only when VIGIL_PROPAGATION_N is set:
//
//	VIGIL_PROPAGATION_N=1000 go test ./internal/proxy -run TestPropagation -v
//
// It fails when a p99 exceeds VIGIL_PROPAGATION_P99 (default 10ms).
func TestPropagation(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("VIGIL_PROPAGATION_N"))
	if n <= 0 {
		t.Skip("set VIGIL_PROPAGATION_N (e.g. 1000) to measure revocation propagation")
	}
	limit := 10 * time.Millisecond
	if s := os.Getenv("VIGIL_PROPAGATION_P99"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil {
			t.Fatalf("VIGIL_PROPAGATION_P99: %v", err)
		}
		limit = d
	}
	sqltest.Each(t, func(t *testing.T, st *sqlstore.Store) {
		tr := newTransmitter(t, st)
		for _, mode := range []string{"poll", "push"} {
			t.Run(mode, func(t *testing.T) {
				g, arrived := tr.startGuardTimed(t, mode == "push")
				ctx := context.Background()
				users, tokens := make([]string, n), make([]string, n)
				for i := range users {
					users[i], _, tokens[i] = tr.user()
				}
				lat, tx := make([]time.Duration, 0, n), make([]time.Duration, 0, n)
				for i, u := range users {
					if _, err := g.Verify(ctx, tokens[i]); err != nil {
						t.Fatalf("user %d before revocation: %v", i, err)
					}
					tr.apply(revocation.CauseAdminRevoke, u)
					durable := time.Now()
					waitFor(t, 5*time.Second, "the revocation", func() bool {
						_, err := g.Verify(ctx, tokens[i])
						return err != nil
					})
					lat = append(lat, time.Since(durable))
					tx = append(tx, max(0, time.Unix(0, arrived.Load()).Sub(durable)))
				}
				pct := func(ds []time.Duration, p float64) time.Duration {
					return ds[min(len(ds)-1, int(p*float64(len(ds))))].Round(time.Microsecond)
				}
				slices.Sort(lat)
				slices.Sort(tx)
				t.Logf("%s, %d revocations, durable → refused: p50 %s, p90 %s, p99 %s, max %s", mode, n,
					pct(lat, .50), pct(lat, .90), pct(lat, .99), pct(lat, 1))
				t.Logf("%s, of which durable → SET at the guard: p50 %s, p90 %s, p99 %s, max %s", mode,
					pct(tx, .50), pct(tx, .90), pct(tx, .99), pct(tx, 1))
				if p99 := pct(lat, .99); p99 > limit {
					t.Errorf("%s: p99 %s exceeds %s", mode, p99, limit)
				}
			})
		}
	})
}
