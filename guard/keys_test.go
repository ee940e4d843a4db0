package guard

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
)

func TestJWKSRefetchIsRateLimited(t *testing.T) {
	clock := newFakeClock()
	ti := newTestIssuer(t, clock.Now)
	g := newVerifier(t, ti, clock, func(c *Config) { c.JWKSRefreshInterval = 10 * time.Second })
	ctx := context.Background()
	claims := ti.claims("u-1", "", clock.Now())
	if _, err := g.Verify(ctx, ti.mint(claims)); err != nil {
		t.Fatal(err)
	}
	if n := ti.jwksFetches.Load(); n != 1 {
		t.Fatalf("%d JWKS fetches for the first token, want 1", n)
	}
	forged, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	unknown := func(kid string) string {
		return sign(t, jose.JSONWebKey{Key: forged, KeyID: kid}, jose.ES256, "at+jwt", claims)
	}
	// Within the interval of the first fetch: no refetch at all.
	for i := range 5 {
		if _, err := g.Verify(ctx, unknown("forged-"+string(rune('a'+i)))); kindOf(err) != KindUnknownKey {
			t.Fatalf("unknown kid: %v", err)
		}
	}
	if n := ti.jwksFetches.Load(); n != 1 {
		t.Fatalf("%d JWKS fetches after unknown kids within the interval, want 1", n)
	}
	// After the interval: one refetch, then none again.
	clock.Advance(11 * time.Second)
	for i := range 5 {
		if _, err := g.Verify(ctx, unknown("forged-x"+string(rune('a'+i)))); kindOf(err) != KindUnknownKey {
			t.Fatalf("unknown kid: %v", err)
		}
	}
	if n := ti.jwksFetches.Load(); n != 2 {
		t.Fatalf("%d JWKS fetches, want 2 (one refetch per interval)", n)
	}

	// Concurrent unknown kids share one fetch in flight.
	clock.Advance(11 * time.Second)
	gate := make(chan struct{})
	ti.locked(func(ti *testIssuer) { ti.jwksGate = gate })
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() {
			if _, err := g.Verify(ctx, unknown("forged-concurrent")); kindOf(err) != KindUnknownKey {
				t.Errorf("unknown kid: %v", err)
			}
		})
	}
	waitFor(t, 5*time.Second, "the refetch to reach the JWKS endpoint", func() bool { return ti.jwksFetches.Load() == 3 })
	close(gate)
	wg.Wait()
	if n := ti.jwksFetches.Load(); n != 3 {
		t.Fatalf("%d JWKS fetches after 50 concurrent unknown kids, want 3 (one shared refetch)", n)
	}
}

func TestJWKSRotation(t *testing.T) {
	clock := newFakeClock()
	ti := newTestIssuer(t, clock.Now)
	g := newVerifier(t, ti, clock, nil)
	ctx := context.Background()
	claims := ti.claims("u-1", "", clock.Now())
	old := ti.mint(claims)
	if _, err := g.Verify(ctx, old); err != nil {
		t.Fatal(err)
	}
	// The issuer rotates: a new key, the old one withdrawn.
	k2, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ti.locked(func(ti *testIssuer) {
		ti.atKey = jose.JSONWebKey{Key: k2, KeyID: "at-2", Algorithm: "ES256", Use: "sig"}
	})
	clock.Advance(DefaultJWKSRefreshInterval + time.Second)
	if _, err := g.Verify(ctx, ti.mint(claims)); err != nil {
		t.Fatalf("token of the new key after rotation: %v", err)
	}
	// The refetch flushed the verified cache: the withdrawn key no longer
	// vouches for the old token.
	if _, err := g.Verify(ctx, old); kindOf(err) != KindUnknownKey {
		t.Fatalf("token of the withdrawn key: %v, want unknown key", err)
	}
}

func TestJWKSUnavailable(t *testing.T) {
	clock := newFakeClock()
	ti := newTestIssuer(t, clock.Now)
	g := newVerifier(t, ti, clock, func(c *Config) { c.JWKSURL = ti.url + "/missing" })
	if _, err := g.Verify(context.Background(), ti.mint(ti.claims("u-1", "", clock.Now()))); kindOf(err) != KindUnavailable {
		t.Fatalf("Verify with an unreachable JWKS: %v, want unavailable", err)
	}
}
