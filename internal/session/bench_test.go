package session

import (
	"testing"

	"github.com/vigil-idp/vigil/internal/store/sqlstore"
	"github.com/vigil-idp/vigil/internal/store/sqlstore/sqltest"
)

// BenchmarkRefreshRotation measures RotateRefreshToken (one transaction:
// read token, read user, compare-and-set, insert child) from parallel
// clients, each rotating its own chain, on SQLite and PostgreSQL.
func BenchmarkRefreshRotation(b *testing.B) {
	for _, backend := range []struct {
		name string
		open func(testing.TB, ...sqlstore.Option) *sqlstore.Store
	}{{"sqlite", sqltest.SQLite}, {"postgres", sqltest.Postgres}} {
		b.Run(backend.name, func(b *testing.B) {
			f := newFixture(b, backend.open(b))
			f.svc.PolicyCacheTTL = 0 // the production default
			u := f.user(b)
			s := f.login(b, u, clientA)
			b.SetParallelism(4) // 4 × GOMAXPROCS concurrent clients
			chains := make(chan string, 256)
			for range cap(chains) {
				v, _ := f.issue(b, u, s, clientA)
				chains <- v
			}
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				v := <-chains
				for pb.Next() {
					r, err := f.svc.Rotate(ctx, v, clientA, nil)
					if err != nil {
						b.Error(err)
						return
					}
					v = r.Value
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "rotations/s")
		})
	}
}
