package sqlstore_test

// Benchmarks.
//
// The list benchmarks run over a users table of $VIGIL_BENCH_USERS rows
// (default 10,000, so that `go test -bench .` stays quick); the figures
// that matter come from a million:
//
//	VIGIL_BENCH_USERS=1000000 VIGIL_TEST_POSTGRES_DSN=postgres://postgres@127.0.0.1:5432/test?sslmode=disable \
//	  go test -run '^$' -bench 'ListUsers|CreateUser' -benchtime 2000x ./internal/store/sqlstore/
//
// Building the fixture is the slow part, so it is kept: the SQLite file
// under $TMPDIR/vigil-bench/, the PostgreSQL rows in the schema
// vigil_bench_<schema hash>_<rows> (drop it by hand when done). Both are
// keyed by a hash of the migrations, so a schema change rebuilds them.

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/vigil-idp/vigil/internal/odata"
	"github.com/vigil-idp/vigil/internal/store"
	"github.com/vigil-idp/vigil/internal/store/sqlstore"
	"github.com/vigil-idp/vigil/internal/store/sqlstore/sqltest"
)

const fixtureDoneKey = "bench-fixture-users"

func benchUsers(b *testing.B) int {
	n := 10_000
	if v := os.Getenv("VIGIL_BENCH_USERS"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 1000 {
			b.Fatalf("VIGIL_BENCH_USERS=%q: want an integer ≥ 1000", v)
		}
	}
	return n
}

// benchUser is row i of the fixture: 1,000 departments of n/1000 users,
// random (but reproducible) GUIDs, unique UPNs.
func benchUser(rng *rand.Rand, i int) store.User {
	var id uuid.UUID
	for j := range id {
		id[j] = byte(rng.Uint32())
	}
	id[6], id[8] = id[6]&0x0f|0x40, id[8]&0x3f|0x80
	dept := fmt.Sprintf("Dept %03d", i%1000)
	job := fmt.Sprintf("Job %02d", i%50)
	upn := fmt.Sprintf("user%07d@example.com", i)
	return store.User{
		ID: id.String(), UserPrincipalName: upn, DisplayName: fmt.Sprintf("User %07d", i),
		Mail: &upn, MailNickname: ptr(fmt.Sprintf("user%07d", i)), Department: &dept, JobTitle: &job,
		BusinessPhones: []string{"+1 555 0100"}, AccountEnabled: i%10 != 0,
		CreatedDateTime: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Second),
	}
}

func ptr[T any](v T) *T { return &v }

// fill loads n users into s unless an earlier run finished doing so.
func fill(b *testing.B, s *sqlstore.Store, n int) {
	if v, err := s.GetMeta(ctx, fixtureDoneKey); err == nil && string(v) == strconv.Itoa(n) {
		return
	}
	start := time.Now()
	rng := rand.New(rand.NewPCG(1, 2))
	const batch = 50_000
	for i := 0; i < n; i += batch {
		us := make([]store.User, 0, batch)
		for j := i; j < min(i+batch, n); j++ {
			us = append(us, benchUser(rng, j))
		}
		if err := s.InsertUsers(ctx, us); err != nil {
			b.Fatal(err)
		}
	}
	if err := s.Analyze(ctx); err != nil {
		b.Fatal(err)
	}
	if err := s.PutMeta(ctx, fixtureDoneKey, []byte(strconv.Itoa(n))); err != nil {
		b.Fatal(err)
	}
	b.Logf("loaded %d users into %s in %v", n, s.Dialect(), time.Since(start).Round(time.Millisecond))
}

func sqliteFixture(b *testing.B, n int) *sqlstore.Store {
	dir := filepath.Join(os.TempDir(), "vigil-bench")
	path := filepath.Join(dir, fmt.Sprintf("users-%s-%d.db", sqlstore.SchemaHash(), n))
	s, err := sqlstore.Open(ctx, "sqlite://"+path, quiet)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	fill(b, s, n)
	return s
}

func postgresFixture(b *testing.B, n int) *sqlstore.Store {
	base := os.Getenv(sqltest.EnvPostgresDSN)
	if base == "" {
		b.Skipf("%s not set", sqltest.EnvPostgresDSN)
	}
	schema := fmt.Sprintf("vigil_bench_%s_%d", sqlstore.SchemaHash(), n)
	admin, err := sql.Open("pgx", base)
	if err != nil {
		b.Fatal(err)
	}
	defer admin.Close()
	if _, err := admin.ExecContext(ctx, "CREATE SCHEMA IF NOT EXISTS "+schema); err != nil {
		b.Fatal(err)
	}
	u, err := url.Parse(base)
	if err != nil {
		b.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	s, err := sqlstore.Open(ctx, u.String(), quiet)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	fill(b, s, n)
	return s
}

// measure runs q b.N times and reports the median and 99th percentile.
func measure(b *testing.B, s *sqlstore.Store, q store.Query, wantItems int) {
	durs := make([]time.Duration, 0, b.N)
	for b.Loop() {
		start := time.Now()
		p, err := s.ListUsers(ctx, q)
		durs = append(durs, time.Since(start))
		if err != nil {
			b.Fatal(err)
		}
		if len(p.Items) != wantItems {
			b.Fatalf("%d items, want %d", len(p.Items), wantItems)
		}
	}
	slices.Sort(durs)
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	b.ReportMetric(ms(durs[len(durs)/2]), "p50-ms")
	b.ReportMetric(ms(durs[len(durs)*99/100]), "p99-ms")
}

func mustFilter(b *testing.B, s string) odata.Expr {
	e, err := odata.ParseFilter(s)
	if err != nil {
		b.Fatal(err)
	}
	return e
}

// BenchmarkListUsersFilterEq lists the first page (Top 100) of users
// matching an indexed equality, and a page deep into a sorted listing.
func BenchmarkListUsersFilterEq(b *testing.B) {
	n := benchUsers(b)
	for _, fx := range []struct {
		name string
		open func(*testing.B, int) *sqlstore.Store
	}{{"sqlite", sqliteFixture}, {"postgres", postgresFixture}} {
		b.Run(fx.name, func(b *testing.B) {
			s := fx.open(b, n)
			b.Run("department", func(b *testing.B) {
				measure(b, s, store.Query{Top: 100, Filter: mustFilter(b, "department eq 'dept 042'")}, min(100, n/1000))
			})
			b.Run("userPrincipalName", func(b *testing.B) {
				upn := fmt.Sprintf("USER%07d@example.com", n/2)
				measure(b, s, store.Query{Top: 100, Filter: mustFilter(b, "userPrincipalName eq '"+upn+"'")}, 1)
			})
			b.Run("page100ByDisplayName", func(b *testing.B) {
				q := store.Query{Top: 100, OrderBy: []odata.OrderBy{{Prop: "displayName"}}}
				for range 99 {
					p, err := s.ListUsers(ctx, q)
					if err != nil {
						b.Fatal(err)
					}
					q.Cursor = p.Next
				}
				measure(b, s, q, 100)
			})
		})
	}
}

// BenchmarkCreateUser creates users from 16 goroutines, each create its
// own durable transaction.
func BenchmarkCreateUser(b *testing.B) {
	for _, fx := range []struct {
		name string
		open func(testing.TB, ...sqlstore.Option) *sqlstore.Store
	}{{"sqlite", sqltest.SQLite}, {"postgres", sqltest.Postgres}} {
		b.Run(fx.name, func(b *testing.B) {
			s := fx.open(b, sqlstore.WithMaxOpenConns(16))
			var next atomic.Int64
			b.SetParallelism((16 + runtime.GOMAXPROCS(0) - 1) / runtime.GOMAXPROCS(0))
			b.ResetTimer()
			start := time.Now()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					i := next.Add(1)
					id := fmt.Sprintf("%08x-0000-4000-8000-%012x", rand.Uint32(), i)
					u := store.User{ID: id, UserPrincipalName: "u" + strconv.FormatInt(i, 10) + "@example.com", DisplayName: "u"}
					if err := s.CreateUser(context.Background(), u); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "users/s")
		})
	}
}
