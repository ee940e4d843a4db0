package keys

import (
	"context"
	"crypto"
	"encoding/base64"
	"encoding/json"
	"errors"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/vigil-idp/vigil/internal/clocktest"
	"github.com/vigil-idp/vigil/internal/secret"
	"github.com/vigil-idp/vigil/internal/store"
	"github.com/vigil-idp/vigil/internal/store/sqlstore"
	"github.com/vigil-idp/vigil/internal/store/sqlstore/sqltest"
)

const day = 24 * time.Hour

type clock = clocktest.Clock

func newClock() *clock { return clocktest.At(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)) }

func newBox(t testing.TB, fill byte) *secret.Box {
	t.Helper()
	b, err := secret.NewBox([]byte(strings.Repeat(string(rune(fill)), secret.KeySize)))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func newManager(t testing.TB, s Store, c *clock, algs ...jose.SignatureAlgorithm) *Manager {
	t.Helper()
	if len(algs) == 0 {
		algs = []jose.SignatureAlgorithm{jose.ES256}
	}
	return &Manager{Store: s, Box: newBox(t, 'k'), Now: c.Now, Algorithms: algs}
}

// started returns a Manager (ES256 only unless algs are named) on a new
// memStore, after Ensure.
func started(t *testing.T, algs ...jose.SignatureAlgorithm) (context.Context, *clock, *memStore, *Manager) {
	t.Helper()
	ctx := context.Background()
	c := newClock()
	s := newMemStore()
	m := newManager(t, s, c, algs...)
	if err := m.Ensure(ctx); err != nil {
		t.Fatal(err)
	}
	return ctx, c, s, m
}

func kids(t *testing.T, m *Manager) []string {
	t.Helper()
	set, err := m.JWKS(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, k := range set.Keys {
		out = append(out, k.KeyID)
	}
	return out
}

func signerKid(t *testing.T, m *Manager, alg jose.SignatureAlgorithm) string {
	t.Helper()
	s, err := m.Signer(context.Background(), alg)
	if err != nil {
		t.Fatal(err)
	}
	return s.KeyID()
}

func storedKids(t *testing.T, s Store) []string {
	t.Helper()
	rows, err := s.ListSigningKeys(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, r := range rows {
		out = append(out, r.ID)
	}
	return out
}

// sign signs a token with m's current key and returns it.
func sign(t *testing.T, m *Manager, c *clock) string {
	t.Helper()
	s, err := m.Signer(context.Background(), jose.ES256)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := s.Sign("at+jwt", jwt.Claims{Subject: "s", IssuedAt: jwt.NewNumericDate(c.Now())})
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// verifies reports whether tok verifies against m's JWK Set now.
func verifies(t *testing.T, m *Manager, tok string) bool {
	t.Helper()
	set, err := m.JWKS(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	parsed, err := jwt.ParseSigned(tok, []jose.SignatureAlgorithm{jose.ES256, jose.RS256, jose.EdDSA})
	if err != nil {
		t.Fatal(err)
	}
	var claims jwt.Claims
	return parsed.Claims(set, &claims) == nil
}

func equal(a, b []string) bool { return strings.Join(a, ",") == strings.Join(b, ",") }

// TestRotationTimeline walks one algorithm through two rotations with the
// defaults: R = 30 days, P = 24 h, L = 24 h.
func TestRotationTimeline(t *testing.T) { eachStore(t, testRotationTimeline) }

func testRotationTimeline(t *testing.T, s Store) {
	ctx := context.Background()
	c := newClock()
	m := newManager(t, s, c)
	t0 := c.Now()

	if err := m.Ensure(ctx); err != nil {
		t.Fatal(err)
	}
	k1 := signerKid(t, m, jose.ES256)
	if got := kids(t, m); !equal(got, []string{k1}) {
		t.Fatalf("after Ensure JWKS = %v, want [%s]", got, k1)
	}
	if err := m.Ensure(ctx); err != nil { // a second start changes nothing
		t.Fatal(err)
	}
	if got := storedKids(t, s); len(got) != 1 {
		t.Fatalf("second Ensure stored %v", got)
	}
	early := sign(t, m, c)

	c.Advance(29*day - time.Minute) // R−P not yet reached
	if err := m.Rotate(ctx); err != nil {
		t.Fatal(err)
	}
	if got := storedKids(t, s); len(got) != 1 {
		t.Fatalf("rotated too early: %v", got)
	}

	c.Advance(time.Minute) // R−P: the successor is published, not used
	if err := m.Rotate(ctx); err != nil {
		t.Fatal(err)
	}
	if err := m.Rotate(ctx); err != nil { // idempotent
		t.Fatal(err)
	}
	stored := storedKids(t, s)
	if len(stored) != 2 {
		t.Fatalf("after rotation stored %v, want 2 keys", stored)
	}
	k2 := stored[1]
	if got := kids(t, m); !equal(got, []string{k2, k1}) {
		t.Fatalf("JWKS = %v, want [%s %s] (next key published first)", got, k2, k1)
	}
	if got := signerKid(t, m, jose.ES256); got != k1 {
		t.Fatalf("signer before NotBefore = %s, want the old key %s", got, k1)
	}
	rows, _ := s.ListSigningKeys(ctx)
	if want := t0.Add(30 * day); !rows[1].NotBefore.Equal(want) {
		t.Errorf("successor NotBefore = %v, want %v", rows[1].NotBefore, want)
	}
	if !rows[1].ExpireAt.Equal(rows[1].RetireAt.Add(DefaultMaxTokenLifetime+Leeway)) || !rows[1].RetireAt.Equal(rows[1].NotBefore.Add(60*day)) {
		t.Errorf("successor RetireAt %v ExpireAt %v", rows[1].RetireAt, rows[1].ExpireAt)
	}

	c.Advance(day - time.Second)
	last := sign(t, m, c) // the old key's last token
	if got := signerKid(t, m, jose.ES256); got != k1 {
		t.Fatalf("signer 1 s before switch = %s, want %s", got, k1)
	}
	c.Advance(time.Second) // day 30: switch, without a reload or Rotate
	if got := signerKid(t, m, jose.ES256); got != k2 {
		t.Fatalf("signer at NotBefore = %s, want %s", got, k2)
	}

	// The old key stays published for L + Leeway after it last signed.
	c.Advance(DefaultMaxTokenLifetime + Leeway - time.Second)
	if err := m.Rotate(ctx); err != nil {
		t.Fatal(err)
	}
	if !verifies(t, m, last) || !verifies(t, m, early) {
		t.Fatal("token signed by the retiring key no longer verifies before it expired")
	}
	if got := storedKids(t, s); len(got) != 2 {
		t.Fatalf("pruned too early: %v", got)
	}
	c.Advance(time.Second)
	if got := kids(t, m); !equal(got, []string{k2}) {
		t.Fatalf("JWKS after the old key's tokens expired = %v, want [%s]", got, k2)
	}
	if verifies(t, m, last) {
		t.Fatal("token of a withdrawn key still verifies")
	}
	if err := m.Rotate(ctx); err != nil {
		t.Fatal(err)
	}
	if got := storedKids(t, s); !equal(got, []string{k2}) {
		t.Fatalf("after prune stored %v, want [%s]", got, k2)
	}

	// Second rotation, same rhythm.
	c.Advance(29*day - DefaultMaxTokenLifetime - Leeway)
	if err := m.Rotate(ctx); err != nil {
		t.Fatal(err)
	}
	if got := storedKids(t, s); len(got) != 2 || got[0] != k2 {
		t.Fatalf("second rotation stored %v", got)
	}
	c.Advance(day)
	if got := signerKid(t, m, jose.ES256); got == k2 {
		t.Fatal("second successor did not take over at day 60")
	}
}

// TestMissedRotation: when nothing rotated for longer than RetireAt, the key
// stops signing and the Signer creates a key that signs at once.
func TestMissedRotation(t *testing.T) {
	ctx, c, s, m := started(t)
	k1 := signerKid(t, m, jose.ES256)
	c.Advance(60*day - time.Second)
	if got := signerKid(t, m, jose.ES256); got != k1 {
		t.Fatalf("signer before RetireAt = %s, want %s", got, k1)
	}
	c.Advance(time.Second)
	k2 := signerKid(t, m, jose.ES256)
	if k2 == k1 {
		t.Fatal("retired key still signs")
	}
	rows, _ := s.ListSigningKeys(ctx)
	if len(rows) != 2 || !rows[1].NotBefore.Equal(c.Now()) {
		t.Fatalf("takeover key rows = %+v, want NotBefore = now", rows)
	}
	if got := kids(t, m); !equal(got, []string{k2, k1}) {
		t.Fatalf("JWKS = %v: the retired key must stay published for its tokens", got)
	}
}

// TestRotateNearRetirement: a rotation run late, less than P before the
// active key retires, schedules the successor at RetireAt so there is no gap.
func TestRotateNearRetirement(t *testing.T) {
	ctx, c, s, m := started(t)
	c.Advance(60*day - time.Hour)
	if err := m.Rotate(ctx); err != nil {
		t.Fatal(err)
	}
	rows, _ := s.ListSigningKeys(ctx)
	if len(rows) != 2 || !rows[1].NotBefore.Equal(rows[0].RetireAt) {
		t.Fatalf("late successor NotBefore = %v, want the old key's RetireAt %v", rows[1].NotBefore, rows[0].RetireAt)
	}
}

// TestMultiNode runs two Managers (two nodes) on one store.
func TestMultiNode(t *testing.T) {
	t.Run("memory", func(t *testing.T) {
		s := newMemStore()
		testMultiNode(t, s, s)
	})
	t.Run("sqlite", func(t *testing.T) {
		dsn := "sqlite://" + filepath.Join(t.TempDir(), "vigil.db")
		testMultiNode(t, openSQL(t, dsn), openSQL(t, dsn))
	})
	t.Run("postgres", func(t *testing.T) {
		dsn := sqltest.PostgresDSN(t)
		testMultiNode(t, openSQL(t, dsn), openSQL(t, dsn))
	})
}

// eachStore runs fn on the in-memory store, SQLite and (when configured)
// PostgreSQL.
func eachStore(t *testing.T, fn func(t *testing.T, s Store)) {
	t.Run("memory", func(t *testing.T) { fn(t, newMemStore()) })
	t.Run("sqlite", func(t *testing.T) { fn(t, sqltest.SQLite(t)) })
	t.Run("postgres", func(t *testing.T) { fn(t, sqltest.Postgres(t)) })
}

// openSQL opens one node's connection to a shared database.
func openSQL(t *testing.T, dsn string) *sqlstore.Store {
	t.Helper()
	s, err := sqlstore.Open(context.Background(), dsn, sqlstore.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// testMultiNode runs two nodes, each with its own Manager and store handle
// (sa, sb) on one database.
func testMultiNode(t *testing.T, sa, sb Store) {
	ctx := context.Background()
	c := newClock()
	s := sa
	a := newManager(t, sa, c, jose.ES256, jose.EdDSA)
	b := newManager(t, sb, c, jose.ES256, jose.EdDSA)

	// Both nodes start at once, many times over.
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for i := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- []*Manager{a, b}[i%2].Ensure(ctx)
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if got := storedKids(t, s); len(got) != 2 {
		t.Fatalf("concurrent Ensure stored %d keys, want one per algorithm: %v", len(got), got)
	}
	for _, alg := range []jose.SignatureAlgorithm{jose.ES256, jose.EdDSA} {
		if ka, kb := signerKid(t, a, alg), signerKid(t, b, alg); ka != kb {
			t.Fatalf("%s: nodes sign with %s and %s", alg, ka, kb)
		}
	}
	k1 := signerKid(t, a, jose.ES256)

	// Both rotate at once: one successor per algorithm.
	c.Advance(29 * day)
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := []*Manager{a, b}[i%2].Rotate(ctx); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if got := storedKids(t, s); len(got) != 4 {
		t.Fatalf("concurrent Rotate stored %d keys, want 4: %v", len(got), got)
	}
	tok := sign(t, a, c)
	if !verifies(t, b, tok) {
		t.Fatal("b cannot verify a's token")
	}

	// Only a rotates next time; b learns of the successor within CacheTTL.
	c.Advance(30 * day)
	kids(t, b) // b's cache is fresh when a rotates
	if err := a.Rotate(ctx); err != nil {
		t.Fatal(err)
	}
	aKids := kids(t, a)
	if equal(kids(t, b), aKids) {
		t.Fatal("b saw a's new key before its cache went stale (test is not exercising the cache)")
	}
	c.Advance(DefaultCacheTTL)
	if got := kids(t, b); !equal(got, aKids) {
		t.Fatalf("b's JWKS %v did not converge on a's %v", got, aKids)
	}
	c.Advance(day)
	if ka, kb := signerKid(t, a, jose.ES256), signerKid(t, b, jose.ES256); ka != kb || ka == k1 {
		t.Fatalf("after the switch the nodes sign with %s and %s", ka, kb)
	}
}

// TestClaimRace simulates a READ COMMITTED database: the other node's key
// commits after this node read the table, so this node loses the claim and
// must not add a second key.
func TestClaimRace(t *testing.T) {
	ctx := context.Background()
	c := newClock()
	s := newMemStore()
	a := newManager(t, s, c)
	b := newManager(t, s, c)
	if err := a.Ensure(ctx); err != nil {
		t.Fatal(err)
	}
	c.Advance(29 * day)
	rows, _ := s.ListSigningKeys(ctx)
	winner := &racingStore{memStore: s, hide: map[string]bool{}}
	b.Store = winner
	// a creates the successor; b's transaction then "does not see" it in
	// its first read.
	if err := a.Rotate(ctx); err != nil {
		t.Fatal(err)
	}
	for _, id := range storedKids(t, s) {
		if id != rows[0].ID {
			winner.hide[id] = true
		}
	}
	if err := b.Rotate(ctx); err != nil {
		t.Fatal(err)
	}
	if got := storedKids(t, s); len(got) != 2 {
		t.Fatalf("lost claim still created a key: %v", got)
	}
	if !winner.hidden {
		t.Fatal("the race was not simulated")
	}
}

// racingStore hides keys from the first read inside each transaction and
// from reads outside transactions.
type racingStore struct {
	*memStore
	hide   map[string]bool
	hidden bool
}

func (r *racingStore) ListSigningKeys(ctx context.Context) ([]store.SigningKey, error) {
	rows, err := r.memStore.ListSigningKeys(ctx)
	return r.filter(rows), err
}

func (r *racingStore) filter(rows []store.SigningKey) []store.SigningKey {
	var out []store.SigningKey
	for _, k := range rows {
		if r.hide[k.ID] {
			r.hidden = true
			continue
		}
		out = append(out, k)
	}
	return out
}

func (r *racingStore) InTx(ctx context.Context, fn func(store.Tx) error) error {
	return r.memStore.InTx(ctx, func(tx store.Tx) error {
		return fn(&firstReadHides{Tx: tx, r: r})
	})
}

type firstReadHides struct {
	store.Tx
	r     *racingStore
	reads int
}

func (f *firstReadHides) ListSigningKeys(ctx context.Context) ([]store.SigningKey, error) {
	rows, err := f.Tx.ListSigningKeys(ctx)
	f.reads++
	if f.reads == 1 {
		return f.r.filter(rows), err
	}
	return rows, err
}

// TestStaleClaim: keys deleted by hand leave claims behind; Ensure still
// creates new keys.
func TestStaleClaim(t *testing.T) {
	ctx, c, s, _ := started(t)
	for _, id := range storedKids(t, s) {
		if err := s.DeleteSigningKey(ctx, id); err != nil {
			t.Fatal(err)
		}
	}
	m2 := newManager(t, s, c)
	if err := m2.Ensure(ctx); err != nil {
		t.Fatal(err)
	}
	if got := storedKids(t, s); len(got) != 1 {
		t.Fatalf("after stale claim stored %v", got)
	}
}

func TestWrongEncryptionKey(t *testing.T) { eachStore(t, testWrongEncryptionKey) }

func testWrongEncryptionKey(t *testing.T, s Store) {
	ctx := context.Background()
	c := newClock()
	if err := newManager(t, s, c).Ensure(ctx); err != nil {
		t.Fatal(err)
	}
	other := &Manager{Store: s, Box: newBox(t, 'x'), Now: c.Now, Algorithms: []jose.SignatureAlgorithm{jose.ES256}}
	err := other.Ensure(ctx)
	if !errors.Is(err, ErrDecrypt) {
		t.Fatalf("Ensure with the wrong key: %v, want ErrDecrypt", err)
	}
	if !strings.Contains(err.Error(), "VIGIL_ENCRYPTION_KEY") {
		t.Errorf("error %q does not point at the encryption key", err)
	}
	if _, err := other.Signer(ctx, jose.ES256); !errors.Is(err, ErrDecrypt) {
		t.Fatalf("Signer with the wrong key: %v, want ErrDecrypt", err)
	}
	// The public half needs no key: verifiers keep working.
	if got := kids(t, other); len(got) != 1 {
		t.Fatalf("JWKS with the wrong key = %v", got)
	}
}

// TestSwappedCiphertext: a private key moved to another row (other kid)
// fails authentication (additional data = kid).
func TestSwappedCiphertext(t *testing.T) {
	ctx, c, s, _ := started(t, jose.ES256, jose.RS256)
	s.update(func(rows []store.SigningKey) {
		rows[0].PrivateKey, rows[1].PrivateKey = rows[1].PrivateKey, rows[0].PrivateKey
	})
	fresh := newManager(t, s, c, jose.ES256, jose.RS256)
	if _, err := fresh.Signer(ctx, jose.ES256); !errors.Is(err, ErrDecrypt) {
		t.Fatalf("Signer with a swapped ciphertext: %v, want ErrDecrypt", err)
	}
}

func TestTamperedPublicKey(t *testing.T) {
	ctx := context.Background()
	c := newClock()
	s := newMemStore()
	if err := newManager(t, s, c, jose.ES256, jose.RS256).Ensure(ctx); err != nil {
		t.Fatal(err)
	}
	s.update(func(rows []store.SigningKey) { rows[0].PublicJWK = rows[1].PublicJWK })
	if _, err := newManager(t, s, c).JWKS(ctx); err == nil {
		t.Fatal("JWKS accepted a row whose JWK has another kid")
	}
}

// TestSignAndVerify covers each algorithm: header, RFC 7638 kid, and the
// published JWK Set.
func TestSignAndVerify(t *testing.T) {
	ctx := context.Background()
	c := newClock()
	m := newManager(t, newMemStore(), c, SupportedAlgorithms...)
	if err := m.Ensure(ctx); err != nil {
		t.Fatal(err)
	}
	set, err := m.JWKS(ctx)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := json.Marshal(set)
	if err != nil {
		t.Fatal(err)
	}
	for _, private := range []string{`"d"`, `"p"`, `"q"`, `"dp"`} {
		if strings.Contains(string(raw), private) {
			t.Fatalf("JWKS leaks private member %s: %s", private, raw)
		}
	}
	for _, alg := range SupportedAlgorithms {
		t.Run(string(alg), func(t *testing.T) {
			s, err := m.Signer(ctx, alg)
			if err != nil {
				t.Fatal(err)
			}
			if s.Algorithm() != alg {
				t.Fatalf("Algorithm = %s", s.Algorithm())
			}
			tok, err := s.Sign("at+jwt", map[string]any{"sub": "x", "roles": []string{"a"}})
			if err != nil {
				t.Fatal(err)
			}
			parsed, err := jwt.ParseSigned(tok, []jose.SignatureAlgorithm{alg})
			if err != nil {
				t.Fatal(err)
			}
			h := parsed.Headers[0]
			if h.KeyID != s.KeyID() || h.Algorithm != string(alg) || h.ExtraHeaders["typ"] != "at+jwt" {
				t.Fatalf("header = %+v", h)
			}
			keys := set.Key(h.KeyID)
			if len(keys) != 1 || keys[0].Algorithm != string(alg) || keys[0].Use != "sig" {
				t.Fatalf("JWKS entries for kid %s: %+v", h.KeyID, keys)
			}
			tp, err := keys[0].Thumbprint(crypto.SHA256)
			if err != nil {
				t.Fatal(err)
			}
			if got := base64.RawURLEncoding.EncodeToString(tp); got != h.KeyID {
				t.Fatalf("kid %s is not the RFC 7638 thumbprint %s", h.KeyID, got)
			}
			var claims map[string]any
			if err := parsed.Claims(set, &claims); err != nil || claims["sub"] != "x" {
				t.Fatalf("verify: %v %v", claims, err)
			}
		})
	}
}

func TestConfigErrors(t *testing.T) {
	box := newBox(t, 'k')
	tests := []struct {
		name string
		m    *Manager
		want string
	}{
		{"no store", &Manager{Box: box}, "needs a Store"},
		{"no box", &Manager{Store: newMemStore()}, "needs a Store and a Box"},
		{"bad alg", &Manager{Store: newMemStore(), Box: box, Algorithms: []jose.SignatureAlgorithm{jose.HS256}}, "unsupported signing algorithm: HS256"},
		{"publish ahead too long", &Manager{Store: newMemStore(), Box: box, RotationPeriod: day, PublishAhead: day}, "PublishAhead"},
		{"cache longer than publish ahead", &Manager{Store: newMemStore(), Box: box, CacheTTL: 2 * day}, "CacheTTL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.m.Ensure(context.Background())
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Ensure = %v, want an error containing %q", err, tt.want)
			}
		})
	}
	m := &Manager{Store: newMemStore(), Box: box}
	if _, err := m.Signer(context.Background(), jose.EdDSA); !errors.Is(err, ErrAlgorithm) {
		t.Fatalf("Signer(EdDSA) on a default Manager = %v, want ErrAlgorithm", err)
	}
}

// TestStoreOutage: a failed reload serves the cached keys; with no cache
// the error surfaces.
func TestStoreOutage(t *testing.T) {
	ctx, c, s, m := started(t)
	k := signerKid(t, m, jose.ES256)
	down := errors.New("database down")
	s.listErr = down
	c.Advance(DefaultCacheTTL)
	if got := signerKid(t, m, jose.ES256); got != k {
		t.Fatalf("during an outage signer = %s, want cached %s", got, k)
	}
	if _, err := newManager(t, s, c).JWKS(ctx); !errors.Is(err, down) {
		t.Fatalf("cold JWKS during an outage = %v, want the store error", err)
	}
	s.listErr = nil
	c.Advance(minReloadInterval)
	if got := kids(t, m); !equal(got, []string{k}) {
		t.Fatalf("after recovery JWKS = %v", got)
	}
}

func BenchmarkSign(b *testing.B) {
	ctx := context.Background()
	c := newClock()
	m := newManager(b, newMemStore(), c, SupportedAlgorithms...)
	if err := m.Ensure(ctx); err != nil {
		b.Fatal(err)
	}
	claims := map[string]any{"sub": "x", "roles": []string{"User.Read.All"}}
	for _, alg := range SupportedAlgorithms {
		b.Run(string(alg), func(b *testing.B) {
			for b.Loop() {
				s, err := m.Signer(ctx, alg)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := s.Sign("at+jwt", claims); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func TestRun(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	c := newClock()
	s := newMemStore()
	m := newManager(t, s, c)
	if err := m.Ensure(ctx); err != nil {
		t.Fatal(err)
	}
	c.Advance(29 * day)
	done := make(chan struct{})
	go func() { m.Run(ctx, time.Millisecond); close(done) }()
	deadline := time.After(10 * time.Second)
	for len(storedKids(t, s)) != 2 {
		select {
		case <-deadline:
			t.Fatal("Run did not rotate")
		case <-time.After(time.Millisecond):
		}
	}
	cancel()
	<-done
}
