package guard

import (
	"context"
	"crypto/rand"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/vigil-idp/vigil/ssf"
)

// revokedUsers is the table size of the measured claims: 100,000 users.
const revokedUsers = 100_000

func randomGUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// fillTable revokes n random users (and n/10 sessions) at validFrom.
func fillTable(tb *table, n int, validFrom int64) {
	for i := range n {
		tb.revokeUser(randomGUID(), validFrom)
		if i%10 == 0 {
			tb.revokeSession(randomGUID(), validFrom)
		}
	}
}

// BenchmarkCheck is the hot path on an already-verified token (the
// verified-token cache hit): fail-closed and the revocation table with
// 100,000 revoked users. Target: ≤ 1 µs and 0 allocations.
func BenchmarkCheck(b *testing.B) {
	clock := newFakeClock()
	g, err := New(Config{Issuer: "https://idp.example", Audiences: []string{testAudience}, Now: clock.Now,
		InsecureNoStream: true, FailClosedAfter: time.Minute, Logger: discard})
	if err != nil {
		b.Fatal(err)
	}
	now := clock.Now()
	fillTable(g.table, revokedUsers, now.Unix())
	revoked := randomGUID()
	g.table.revokeUser(revoked, now.Unix()-3600) // in the table, token newer: stands
	verified := func(oid string) *Identity {
		return newIdentity(&accessClaims{OID: oid, SID: randomGUID(),
			IssuedAt: jwt.NewNumericDate(now), Expiry: jwt.NewNumericDate(now.Add(time.Hour))}, nil)
	}
	ids := map[string]*Identity{"user-not-in-table": verified(randomGUID()), "user-in-table": verified(revoked)}
	for name, id := range ids {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := g.check(id, now); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(name+"/parallel", func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if err := g.check(id, now); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}

// BenchmarkVerifyCached is Verify of a token seen before: the verified
// cache lookup (hashing the token), the clock, the check and the metrics.
func BenchmarkVerifyCached(b *testing.B) {
	clock := newFakeClock()
	ti := newTestIssuer(&testing.T{}, clock.Now)
	defer ti.close()
	g := newVerifier(b, ti, clock, nil)
	fillTable(g.table, revokedUsers, clock.Now().Unix())
	tok := ti.mint(ti.claims(randomGUID(), randomGUID(), clock.Now()))
	ctx := context.Background()
	if _, err := g.Verify(ctx, tok); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := g.Verify(ctx, tok); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerifyUncached is a full verification (ES256 signature and
// claims) of a token never seen before.
func BenchmarkVerifyUncached(b *testing.B) {
	clock := newFakeClock()
	ti := newTestIssuer(&testing.T{}, clock.Now)
	defer ti.close()
	g := newVerifier(b, ti, clock, func(c *Config) { c.VerifiedCacheSize = -1 })
	tok := ti.mint(ti.claims(randomGUID(), randomGUID(), clock.Now()))
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := g.Verify(ctx, tok); err != nil {
			b.Fatal(err)
		}
	}
}

// tableBytesPerEntry measures the heap a table of n entries made by add
// holds, per entry. It is not inlined, so each table is dead once it
// returns.
//
//go:noinline
func tableBytesPerEntry(n int, add func(tb *table, i int)) float64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&before)
	tb := newTable()
	for i := range n {
		add(tb, i)
	}
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&after)
	runtime.KeepAlive(tb)
	return float64(int64(after.HeapAlloc)-int64(before.HeapAlloc)) / float64(n)
}

// TestTableMemory checks the table's memory per entry with 100,000
// revoked users: at most 100 bytes (GUID object ids, as Vigil's).
func TestTableMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("allocates 100,000 entries")
	}
	ids := make([]string, revokedUsers)
	for i := range ids {
		ids[i] = randomGUID()
	}
	users := tableBytesPerEntry(revokedUsers, func(tb *table, i int) { tb.revokeUser(ids[i], int64(i)) })
	sessions := tableBytesPerEntry(revokedUsers, func(tb *table, i int) { tb.revokeSession(ids[i], int64(i)) })
	runtime.KeepAlive(ids) // live through both measurements, or its freeing is counted
	opaque := tableBytesPerEntry(revokedUsers, func(tb *table, i int) { tb.revokeUser(fmt.Sprintf("user-%08d", i), int64(i)) })
	t.Logf("table memory with %d entries: %.1f B/user entry, %.1f B/session entry (GUID ids); %.1f B/entry for 13-byte non-GUID ids",
		revokedUsers, users, sessions, opaque)
	if users > 100 || sessions > 100 {
		t.Errorf("%.1f B/user entry, %.1f B/session entry; want ≤ 100", users, sessions)
	}
}

// BenchmarkReceiveSET is the guard's work for one delivered SET: verify
// it (RS256, the transmitter's JWKS cached) and apply it to the table.
func BenchmarkReceiveSET(b *testing.B) {
	clock := newFakeClock()
	ti := newTestIssuer(&testing.T{}, clock.Now)
	defer ti.close()
	g := newVerifier(b, ti, clock, nil)
	info := &streamInfo{id: "s", issuer: ti.url, aud: []string{testClientID}, keys: g.keys}
	ctx := context.Background()
	sets := map[string]string{}
	for i := range 64 {
		jti := fmt.Sprintf("jti-%d", i)
		sets[jti] = ti.set(jti, ti.userSubject(randomGUID()), ssf.EventSessionRevoked,
			ssf.SessionRevoked{CAEPCommon: ssf.CAEPCommon{EventTimestamp: clock.Now().Unix()}})
	}
	one := map[string]string{}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		jti := fmt.Sprintf("jti-%d", i%64)
		one[jti] = sets[jti]
		if acks, errs := g.receive(ctx, info, one); len(acks) != 1 || errs != nil {
			b.Fatalf("acks %v errs %v", acks, errs)
		}
		delete(one, jti)
		i++
	}
}
