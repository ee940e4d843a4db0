package proxy

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/vigil-idp/vigil/internal/config"
	"github.com/vigil-idp/vigil/internal/revocation"
	"github.com/vigil-idp/vigil/internal/store/sqlstore"
	"github.com/vigil-idp/vigil/internal/store/sqlstore/sqltest"
)

// propagationParams returns VIGIL_PROPAGATION_N and the p99 limit
// (VIGIL_PROPAGATION_P99, default 10ms), skipping t when N is not set.
func propagationParams(t *testing.T) (int, time.Duration) {
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
	return n, limit
}

// percentile returns the p-th percentile of sorted ds.
func percentile(ds []time.Duration, p float64) time.Duration {
	return ds[min(len(ds)-1, int(p*float64(len(ds))))].Round(time.Microsecond)
}

// report logs the distribution of ds (sorted in place) and fails t when
// its p99 exceeds limit (limit 0: no check).
func report(t *testing.T, what string, ds []time.Duration, limit time.Duration) {
	t.Helper()
	slices.Sort(ds)
	t.Logf("%s, %d revocations: p50 %s, p90 %s, p99 %s, max %s", what, len(ds),
		percentile(ds, .50), percentile(ds, .90), percentile(ds, .99), percentile(ds, 1))
	if p99 := percentile(ds, .99); limit > 0 && p99 > limit {
		t.Errorf("%s: p99 %s exceeds %s", what, p99, limit)
	}
}

// TestPropagation measures revocation propagation on loopback, one node,
// through Vigil's transmitter alone: for each of N users, from the moment
// the revocation is durable (the commit after which revokeSignInSessions
// answers) to the moment a running guard refuses the user's token issued
// before it, with long poll and with push, on SQLite (and PostgreSQL when
// VIGIL_TEST_POSTGRES_DSN is set). It also reports the transmitter's share:
// until the SET reaches the guard. Tokens are minted directly, so it is
// quick. It runs only when VIGIL_PROPAGATION_N is set:
//
//	VIGIL_PROPAGATION_N=1000 go test ./internal/proxy -run 'TestPropagation$' -v
//
// It fails when a p99 exceeds VIGIL_PROPAGATION_P99 (default 10ms).
func TestPropagation(t *testing.T) {
	n, limit := propagationParams(t)
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
				report(t, mode+", durable → refused", lat, limit)
				report(t, mode+", of which durable → SET at the guard", tx, 0)
			})
		}
	})
}

// TestPropagationAPI measures revocation propagation as users see it, on
// a real node (internal/server.Run, SQLite, loopback): N users are created
// through Graph; then, once with a long-polling vigil proxy and once with a
// push-receiving one (one stream at a time), every user signs in
// (password grant) and, one user at a time, Graph's revokeSignInSessions
// is called and the time from its 200 to the moment the proxy's guard
// refuses the user's token is recorded. Each user costs three argon2id
// computations (create, two sign-ins): about 8 minutes for 1,000 on two
// cores. It runs only when VIGIL_PROPAGATION_N is set:
//
//	VIGIL_PROPAGATION_N=1000 go test ./internal/proxy -run TestPropagationAPI -v -timeout 30m
//
// It fails when a p99 exceeds VIGIL_PROPAGATION_P99 (default 10ms).
func TestPropagationAPI(t *testing.T) {
	n, limit := propagationParams(t)
	v := startVigil(t, func(c *config.Config) { c.InsecureAllowLoopbackPush = true })
	users := v.createUsers(n, "prop")
	var last time.Time
	for _, mode := range []string{"long poll", "push"} {
		t.Run(mode, func(t *testing.T) {
			_, g := runProxy(t, v, "http://127.0.0.1:9", func(o *Options) {
				if mode == "push" {
					o.PushPath = "/.vigil/ssf/push"
				}
			})
			// Tokens must be issued after the last revocation's second.
			waitFor(t, 2*time.Second, "the next second", func() bool { return time.Now().Unix() > last.Unix() })
			tokens := v.signInAll(t, users)
			ctx := context.Background()
			lat := make([]time.Duration, 0, n)
			for i, u := range users {
				if _, err := g.Verify(ctx, tokens[i]); err != nil {
					t.Fatalf("user %d before revocation: %v", i, err)
				}
				if _, err := v.revoke(u.ID); err != nil {
					t.Fatal(err)
				}
				answered := time.Now()
				waitFor(t, 5*time.Second, "the guard to refuse the token", func() bool {
					_, err := g.Verify(ctx, tokens[i])
					return err != nil
				})
				lat = append(lat, time.Since(answered))
				last = answered
			}
			report(t, mode+", revokeSignInSessions 200 → refused", lat, limit)
		})
	}
}

// signInAll gets a delegated token for every user (password grant), two
// at a time.
func (v *vigil) signInAll(t *testing.T, users []testUser) []string {
	t.Helper()
	tokens := make([]string, len(users))
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	sem := make(chan struct{}, 2)
	for i, u := range users {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			tok, err := v.userToken(u)
			mu.Lock()
			defer mu.Unlock()
			if err != nil && firstErr == nil {
				firstErr = fmt.Errorf("sign in %s: %w", u.UPN, err)
			}
			tokens[i] = tok
		})
	}
	wg.Wait()
	if firstErr != nil {
		t.Fatal(firstErr)
	}
	return tokens
}
