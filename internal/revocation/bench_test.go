package revocation

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/vigil-idp/vigil/internal/clocktest"
	"github.com/vigil-idp/vigil/internal/store"
	"github.com/vigil-idp/vigil/internal/store/sqlstore"
	"github.com/vigil-idp/vigil/internal/store/sqlstore/sqltest"
)

// EnvBenchUsers sets the population of BenchmarkBulkRevocation (default
// 2,000, so a plain -bench run stays quick); issue 4 measures 100,000:
//
//	VIGIL_BENCH_REVOKE_USERS=100000 go test -run '^$' -bench BulkRevocation -benchtime 1x ./internal/revocation
const envBenchUsers = "VIGIL_BENCH_REVOKE_USERS"

func benchUsers(b *testing.B) int {
	n := 2000
	if v := os.Getenv(envBenchUsers); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n <= 0 {
			b.Fatalf("%s=%q: want a positive integer", envBenchUsers, v)
		}
	}
	return n
}

// eachBackend runs fn as sub-benchmarks on SQLite and, when configured,
// PostgreSQL, each on a store holding n seeded users (see seed).
func eachBackend(b *testing.B, n int, fn func(b *testing.B, st *sqlstore.Store)) {
	b.Run("sqlite", func(b *testing.B) {
		// Seed, then reopen: closing checkpoints the seed's write-ahead
		// log, which would otherwise be copied into the database by the
		// background checkpointer while the benchmark runs.
		dsn := "sqlite://" + filepath.Join(b.TempDir(), "bench.db")
		st, err := sqlstore.Open(context.Background(), dsn, quiet)
		if err != nil {
			b.Fatal(err)
		}
		seed(b, st, "bench", n)
		if err := st.Close(); err != nil {
			b.Fatal(err)
		}
		if st, err = sqlstore.Open(context.Background(), dsn, quiet); err != nil {
			b.Fatal(err)
		}
		defer st.Close()
		fn(b, st)
	})
	b.Run("postgres", func(b *testing.B) {
		st := sqltest.Postgres(b)
		seed(b, st, "bench", n)
		fn(b, st)
	})
}

// BenchmarkBulkRevocation revokes every user of a population selected by
// a filter (department eq 'bench', answered from an index in id order), in
// one job: per user T moves, the session and refresh token are
// revoked, and an audit record, an outbox event and a result are written.
// Issue 4's targets at 100,000 users: ≤ 5 s on SQLite, ≤ 10 s on
// PostgreSQL (the s/job metric).
func BenchmarkBulkRevocation(b *testing.B) {
	n := benchUsers(b)
	eachBackend(b, n, func(b *testing.B, st *sqlstore.Store) {
		ctx := context.Background()
		c := clocktest.At(t0)
		svc := &Service{Store: st, Now: c.Now, WorkerID: "bench"}
		b.ResetTimer()
		for range b.N {
			c.Advance(time.Second)
			job, _, err := svc.Submit(ctx, bulkApp, Request{Filter: "department eq 'bench'"}, "")
			if err != nil {
				b.Fatal(err)
			}
			if err := svc.Work(ctx); err != nil {
				b.Fatal(err)
			}
			if r, _, _ := svc.Get(ctx, job.ID); r.Revoked != n || r.Status != store.RevocationCompleted {
				b.Fatalf("job = %+v", r)
			}
		}
		b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "s/job")
		b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "users/s")
	})
}

// BenchmarkRevokeUser measures single-user revocations (Graph
// revokeSignInSessions at the service level) from 32 concurrent callers,
// reporting latency percentiles. Issue 4's target: p99 ≤ 20 ms on SQLite.
func BenchmarkRevokeUser(b *testing.B) {
	const users, concurrency = 2000, 32
	eachBackend(b, users, func(b *testing.B, st *sqlstore.Store) {
		ctx := context.Background()
		svc := &Service{Store: st}
		lat := make([]time.Duration, b.N)
		var next int64
		var mu sync.Mutex
		b.ResetTimer()
		var wg sync.WaitGroup
		for range concurrency {
			wg.Go(func() {
				rng := rand.New(rand.NewPCG(rand.Uint64(), 0))
				for {
					mu.Lock()
					i := next
					next++
					mu.Unlock()
					if i >= int64(b.N) {
						return
					}
					start := time.Now()
					if _, err := svc.RevokeUser(ctx, bulkApp, fmt.Sprintf("bench-%07d@contoso.com", rng.IntN(users)), Options{}); err != nil {
						b.Error(err)
						return
					}
					lat[i] = time.Since(start)
				}
			})
		}
		wg.Wait()
		b.StopTimer()
		slices.Sort(lat)
		pct := func(p float64) float64 {
			return float64(lat[min(len(lat)-1, int(p*float64(len(lat))))].Microseconds()) / 1000
		}
		b.ReportMetric(pct(0.50), "p50-ms")
		b.ReportMetric(pct(0.99), "p99-ms")
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "revocations/s")
	})
}
