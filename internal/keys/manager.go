package keys

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/vigil-idp/vigil/internal/secret"
	"github.com/vigil-idp/vigil/internal/store"
)

// Store is what the Manager needs from storage: store.Store satisfies it.
// Key rows are immutable once written; a new key is created inside InTx
// together with a claim in Meta, so that concurrent rotations on several
// nodes create exactly one successor.
type Store interface {
	// ListSigningKeys returns every stored key, oldest first.
	ListSigningKeys(ctx context.Context) ([]store.SigningKey, error)
	// DeleteSigningKey removes a key, or returns store.ErrNotFound.
	DeleteSigningKey(ctx context.Context, id string) error
	// InTx runs fn in one transaction (see store.Store.InTx).
	InTx(ctx context.Context, fn func(tx store.Tx) error) error
}

// Defaults for the Manager's durations.
const (
	DefaultRotationPeriod   = 30 * 24 * time.Hour
	DefaultPublishAhead     = 24 * time.Hour
	DefaultMaxTokenLifetime = 24 * time.Hour
	DefaultCacheTTL         = time.Minute
	// Leeway is added to every publication deadline to absorb clock skew
	// between nodes and verifiers.
	Leeway = 5 * time.Minute
	// minReloadInterval rate-limits reloads after a failed one.
	minReloadInterval = 5 * time.Second
)

// Manager keeps the signing keys. Build it as a struct literal; Store and Box
// are required, every other field has a default. Call Ensure once at start
// and Rotate (or Run) periodically. A Manager is safe for concurrent use and
// must not be copied after first use.
//
// Key lifecycle, per algorithm, with R = RotationPeriod, P = PublishAhead
// and L = MaxTokenLifetime:
//   - a key is published in the JWK Set as soon as it is created;
//   - it signs from NotBefore (creation + P; at once for the first key, or
//     when no key is usable) until its successor's NotBefore, and never
//     after RetireAt = NotBefore + 2R (a missed rotation is not fatal);
//   - Rotate creates the successor once the active key is R−P old, so the
//     successor is published P before it signs;
//   - a key stays published until L + Leeway after it last signed, then
//     Rotate deletes it (the newest key of each algorithm is never deleted).
type Manager struct {
	// Store holds the keys; required.
	Store Store
	// Box seals private keys at rest; required.
	Box *secret.Box
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Logger receives rotation events; nil discards them.
	Logger *slog.Logger
	// Algorithms lists the algorithms to keep keys for; nil means ES256
	// (access tokens) and RS256 (ID tokens, SETs; SSF interop). Add EdDSA
	// to have Ed25519 keys too.
	Algorithms []jose.SignatureAlgorithm
	// RotationPeriod is how long a key signs before its successor takes
	// over; 0 means DefaultRotationPeriod.
	RotationPeriod time.Duration
	// PublishAhead is how long a successor is published before it signs;
	// 0 means DefaultPublishAhead. It must exceed how long verifiers cache
	// the JWK Set.
	PublishAhead time.Duration
	// MaxTokenLifetime is the longest lifetime of anything signed (access
	// and ID tokens, SETs); a key stays published this long after it last
	// signed. 0 means DefaultMaxTokenLifetime.
	MaxTokenLifetime time.Duration
	// CacheTTL is how long the in-memory copy of the key table is trusted
	// before it is reloaded, so that nodes sharing a database see each
	// other's keys; 0 means DefaultCacheTTL. It must be far below
	// PublishAhead.
	CacheTTL time.Duration

	mu         sync.Mutex
	snap       *snapshot     // nil until the first load
	inflight   chan struct{} // non-nil while a reload runs; closed when done
	lastFailed time.Time     // when the last reload failed
	lastErr    error         // why it failed
}

// entry is one stored key as the Manager sees it. Entries are immutable and
// shared between snapshots, except for the lazily decrypted signer.
type entry struct {
	row store.SigningKey
	alg jose.SignatureAlgorithm
	pub jose.JSONWebKey

	once   sync.Once
	signer *Signer
	err    error
}

// snapshot is one load of the key table.
type snapshot struct {
	loadedAt time.Time
	entries  []*entry // by NotBefore, then CreatedAt, then kid
	// publishUntil[kid] is when the key may leave the JWK Set.
	publishUntil map[string]time.Time
}

func (m *Manager) now() time.Time {
	if m.Now != nil {
		return m.Now()
	}
	return time.Now()
}

func (m *Manager) logger() *slog.Logger {
	if m.Logger != nil {
		return m.Logger
	}
	return slog.New(slog.DiscardHandler)
}

func (m *Manager) algorithms() []jose.SignatureAlgorithm {
	if len(m.Algorithms) > 0 {
		return m.Algorithms
	}
	return []jose.SignatureAlgorithm{jose.ES256, jose.RS256}
}

func orDefault(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

func (m *Manager) rotationPeriod() time.Duration {
	return orDefault(m.RotationPeriod, DefaultRotationPeriod)
}
func (m *Manager) publishAhead() time.Duration { return orDefault(m.PublishAhead, DefaultPublishAhead) }
func (m *Manager) maxTokenLifetime() time.Duration {
	return orDefault(m.MaxTokenLifetime, DefaultMaxTokenLifetime)
}
func (m *Manager) cacheTTL() time.Duration { return orDefault(m.CacheTTL, DefaultCacheTTL) }

// configured reports whether the Manager keeps keys for alg.
func (m *Manager) configured(alg jose.SignatureAlgorithm) bool {
	return slices.Contains(m.algorithms(), alg)
}

// Ensure creates whatever keys are missing (on first start: one ES256 and
// one RS256 key, which sign at once) and checks that every key that signs now
// or will sign next can be decrypted, so a wrong encryption key fails the
// start with an error wrapping ErrDecrypt.
func (m *Manager) Ensure(ctx context.Context) error {
	if err := m.Rotate(ctx); err != nil {
		return err
	}
	snap, err := m.current(ctx)
	if err != nil {
		return err
	}
	now := m.now()
	for _, e := range snap.entries {
		if now.Before(e.row.RetireAt) && m.configured(e.alg) {
			if _, err := e.open(m.Box); err != nil {
				return err
			}
		}
	}
	return nil
}

// Signer returns the key that signs for alg now. When there is none (Ensure
// was not called, or rotation stalled past RetireAt), it reloads and, if
// still none, rotates to create one.
func (m *Manager) Signer(ctx context.Context, alg jose.SignatureAlgorithm) (*Signer, error) {
	if !m.configured(alg) {
		return nil, fmt.Errorf("%w: %s", ErrAlgorithm, alg)
	}
	for attempt := 0; ; attempt++ {
		snap, err := m.current(ctx)
		if err != nil {
			return nil, err
		}
		if e := snap.active(alg, m.now()); e != nil {
			return e.open(m.Box)
		}
		switch attempt {
		case 0: // another node may have just created one
			if _, err := m.reload(ctx, true); err != nil {
				return nil, err
			}
		case 1:
			if err := m.Rotate(ctx); err != nil {
				return nil, err
			}
		default:
			return nil, fmt.Errorf("%w for %s", ErrNoKey, alg)
		}
	}
}

// JWKS returns the public keys verifiers need (RFC 7517 §5): every key that
// signs now, will sign next, or signed something that may not have expired
// yet, newest first. It never contains private material.
func (m *Manager) JWKS(ctx context.Context) (jose.JSONWebKeySet, error) {
	snap, err := m.current(ctx)
	if err != nil {
		return jose.JSONWebKeySet{}, err
	}
	now := m.now()
	set := jose.JSONWebKeySet{Keys: []jose.JSONWebKey{}}
	for i := len(snap.entries) - 1; i >= 0; i-- {
		e := snap.entries[i]
		if now.Before(snap.publishUntil[e.row.ID]) {
			set.Keys = append(set.Keys, e.pub)
		}
	}
	return set, nil
}

// open decrypts the entry's private key once.
func (e *entry) open(box *secret.Box) (*Signer, error) {
	e.once.Do(func() {
		priv, err := openPrivate(box, e.row.ID, e.row.PrivateKey, e.pub)
		if err != nil {
			e.err = err
			return
		}
		e.signer = &Signer{kid: e.row.ID, alg: e.alg, priv: priv}
	})
	return e.signer, e.err
}

// active returns the key that signs for alg at now: the newest whose
// NotBefore has come and whose RetireAt has not.
func (s *snapshot) active(alg jose.SignatureAlgorithm, now time.Time) *entry {
	for i := len(s.entries) - 1; i >= 0; i-- {
		e := s.entries[i]
		if e.alg == alg && !now.Before(e.row.NotBefore) && now.Before(e.row.RetireAt) {
			return e
		}
	}
	return nil
}

// current returns the cached snapshot, reloading it when older than CacheTTL.
func (m *Manager) current(ctx context.Context) (*snapshot, error) {
	m.mu.Lock()
	snap := m.snap
	m.mu.Unlock()
	if snap != nil {
		if age := m.now().Sub(snap.loadedAt); age >= 0 && age < m.cacheTTL() {
			return snap, nil
		}
	}
	return m.reload(ctx, false)
}

// reload reads the key table. Concurrent callers share one read. When a read
// fails and an older snapshot exists, the older one is served (and a new read
// is tried at most every minReloadInterval) unless force is set.
func (m *Manager) reload(ctx context.Context, force bool) (*snapshot, error) {
	m.mu.Lock()
	if !force && m.snap != nil && m.now().Sub(m.lastFailed) < minReloadInterval {
		snap := m.snap
		m.mu.Unlock()
		return snap, nil
	}
	if ch := m.inflight; ch != nil {
		m.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		m.mu.Lock()
		defer m.mu.Unlock()
		if m.snap == nil {
			return nil, m.lastErr
		}
		return m.snap, nil
	}
	ch := make(chan struct{})
	m.inflight = ch
	old := m.snap
	m.mu.Unlock()

	snap, err := m.load(ctx, old)

	m.mu.Lock()
	defer m.mu.Unlock()
	m.inflight = nil
	close(ch)
	if err != nil {
		m.lastFailed, m.lastErr = m.now(), err
		if old != nil && !force {
			m.logger().Warn("keys: reload failed; serving cached keys", "err", err)
			return old, nil
		}
		return nil, err
	}
	m.snap = snap
	return snap, nil
}

// load reads every key, reusing the parsed entries of old.
func (m *Manager) load(ctx context.Context, old *snapshot) (*snapshot, error) {
	rows, err := m.Store.ListSigningKeys(ctx)
	if err != nil {
		return nil, fmt.Errorf("keys: list signing keys: %w", err)
	}
	prev := map[string]*entry{}
	if old != nil {
		for _, e := range old.entries {
			prev[e.row.ID] = e
		}
	}
	snap := &snapshot{loadedAt: m.now(), publishUntil: map[string]time.Time{}}
	for _, row := range rows {
		if e, ok := prev[row.ID]; ok {
			snap.entries = append(snap.entries, e)
			continue
		}
		e, err := parseEntry(row)
		if err != nil {
			return nil, err
		}
		snap.entries = append(snap.entries, e)
	}
	sortEntries(snap.entries)
	for _, e := range snap.entries {
		snap.publishUntil[e.row.ID] = lastSigned(snap.entries, e).Add(m.maxTokenLifetime() + Leeway)
	}
	return snap, nil
}

func parseEntry(row store.SigningKey) (*entry, error) {
	var pub jose.JSONWebKey
	if err := json.Unmarshal(row.PublicJWK, &pub); err != nil {
		return nil, fmt.Errorf("keys: parse public JWK %s: %w", row.ID, err)
	}
	if !pub.IsPublic() || !pub.Valid() {
		return nil, fmt.Errorf("keys: stored JWK %s is not a valid public key", row.ID)
	}
	if pub.KeyID != row.ID || pub.Algorithm != row.Algorithm {
		return nil, fmt.Errorf("keys: stored JWK %s does not match its row (kid %q, alg %q)", row.ID, pub.KeyID, pub.Algorithm)
	}
	return &entry{row: row, alg: jose.SignatureAlgorithm(row.Algorithm), pub: pub}, nil
}

func sortEntries(es []*entry) {
	slices.SortFunc(es, func(a, b *entry) int {
		return cmp.Or(a.row.NotBefore.Compare(b.row.NotBefore),
			a.row.CreatedAt.Compare(b.row.CreatedAt), cmp.Compare(a.row.ID, b.row.ID))
	})
}

// lastSigned returns the last moment e may sign: its RetireAt, or its
// successor's NotBefore when that is earlier. entries must be sorted.
func lastSigned(entries []*entry, e *entry) time.Time {
	last := e.row.RetireAt
	i := slices.Index(entries, e)
	for _, next := range entries[i+1:] {
		if next.alg == e.alg && next.row.NotBefore.After(e.row.NotBefore) {
			if next.row.NotBefore.Before(last) {
				last = next.row.NotBefore
			}
			break
		}
	}
	return last
}
