package guard

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/prometheus/client_golang/prometheus"
)

// Defaults of Config.
const (
	// DefaultSkew is the default Config.Skew.
	DefaultSkew = 30 * time.Second
	// MaxSkew is the largest Config.Skew New accepts.
	MaxSkew = 5 * time.Minute
	// DefaultMaxTokenLifetime is the default Config.MaxTokenLifetime:
	// the longest access token Vigil's policies allow (a CAE-capable
	// client's, up to 28 h, as Entra's). Set it to match your issuer.
	DefaultMaxTokenLifetime = 28 * time.Hour
	// DefaultJWKSRefreshInterval is the default Config.JWKSRefreshInterval.
	DefaultJWKSRefreshInterval = 10 * time.Second
	// DefaultVerifiedCacheSize is the default Config.VerifiedCacheSize.
	DefaultVerifiedCacheSize = 10000
)

// DefaultAlgorithms are the signing algorithms accepted when
// Config.Algorithms is empty.
var DefaultAlgorithms = []string{"ES256", "RS256", "EdDSA"}

// asymmetric are the algorithms Config.Algorithms may name: never "none",
// never HMAC (a resource server holds no shared secret with the issuer).
var asymmetric = []string{"ES256", "ES384", "ES512", "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "EdDSA"}

// Config configures a Guard. Issuer, Audiences and Stream are required;
// the zero value of every other field is a safe default.
type Config struct {
	// Issuer is the token issuer (the iss claim, exactly), e.g.
	// "https://idp.example.com". Its OpenID discovery document supplies
	// the JWKS URL, the authorization endpoint named in claims challenges
	// and the token endpoint of the stream's credentials.
	Issuer string
	// Audiences are the accepted aud values; a token must name one.
	Audiences []string
	// JWKSURL overrides the jwks_uri of discovery.
	JWKSURL string
	// AuthorizationURL overrides the authorization_endpoint of discovery
	// (the authorization_uri of claims challenges).
	AuthorizationURL string
	// HTTPClient makes every outgoing request (discovery, JWKS, the SSF
	// stream); nil means a client without a global timeout (each request
	// has its own deadline; long polls are held up to Stream.PollTimeout).
	HTTPClient *http.Client
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Algorithms is the allow-list of JWS algorithms (RFC 7518 names) of
	// access tokens and SETs; empty means DefaultAlgorithms. "none" and
	// HMAC (HS256…) are refused.
	Algorithms []string
	// Skew is the leeway for exp, nbf and iat; 0 means DefaultSkew, at
	// most MaxSkew.
	Skew time.Duration
	// MaxTokenLifetime is the longest lifetime of an access token of
	// Issuer. Revocation entries older than it (plus Skew) can no longer
	// affect an unexpired token and are dropped, and a token whose
	// exp - iat exceeds it is refused (KindMalformed): it could outlive
	// its revocation's entry. 0 means DefaultMaxTokenLifetime.
	MaxTokenLifetime time.Duration
	// JWKSRefreshInterval is the least time between two JWKS (or
	// discovery) fetches: a token with an unknown kid triggers at most one
	// refetch per interval. 0 means DefaultJWKSRefreshInterval.
	JWKSRefreshInterval time.Duration
	// VerifiedCacheSize bounds the cache of verified tokens (a token seen
	// again skips signature verification until it expires; revocation is
	// checked every time). 0 means DefaultVerifiedCacheSize; negative
	// disables the cache.
	VerifiedCacheSize int
	// Stream is the SSF stream that feeds the revocation table (Run).
	Stream *Stream
	// InsecureNoStream allows a nil Stream: the guard then verifies
	// tokens but never learns of a revocation, so a revoked token is
	// accepted until it expires. Acceptable only in tests, or behind
	// something else that enforces revocation.
	InsecureNoStream bool
	// FailClosedAfter: when the stream has been down (not connected, or
	// paused or disabled by the transmitter) longer than this, every
	// token is refused (KindStreamDown, HTTP 503) because revocations may
	// be missing. 0 means never, which is DANGEROUS: while the stream is
	// down, revoked tokens keep working until they expire. Choose it from
	// how long a missed revocation may go unnoticed versus how long the
	// API may be unavailable when the transmitter is.
	FailClosedAfter time.Duration
	// Registerer, when set, receives the guard's Prometheus metrics (wrap
	// it with prometheus.WrapRegistererWith to run several guards).
	Registerer prometheus.Registerer
	// Logger logs stream and key-set events; nil means slog.Default().
	Logger *slog.Logger
}

// withDefaults returns c with every zero field defaulted, or every
// problem at once.
func (c Config) withDefaults() (Config, error) {
	var errs []error
	if u, err := url.Parse(c.Issuer); c.Issuer == "" || err != nil || u.Scheme == "" || u.Host == "" {
		errs = append(errs, fmt.Errorf("Issuer %q must be an absolute URL", c.Issuer))
	}
	if len(c.Audiences) == 0 || slices.Contains(c.Audiences, "") {
		errs = append(errs, errors.New("Audiences must name at least one audience, none empty"))
	}
	if len(c.Algorithms) == 0 {
		c.Algorithms = DefaultAlgorithms
	}
	for _, a := range c.Algorithms {
		if !slices.Contains(asymmetric, a) {
			errs = append(errs, fmt.Errorf("algorithm %q is not allowed (asymmetric JWS algorithms only)", a))
		}
	}
	switch {
	case c.Skew == 0:
		c.Skew = DefaultSkew
	case c.Skew < 0 || c.Skew > MaxSkew:
		errs = append(errs, fmt.Errorf("Skew %s must be between 0 and %s", c.Skew, MaxSkew))
	}
	if c.MaxTokenLifetime == 0 {
		c.MaxTokenLifetime = DefaultMaxTokenLifetime
	} else if c.MaxTokenLifetime < 0 {
		errs = append(errs, errors.New("MaxTokenLifetime must be positive"))
	}
	if c.JWKSRefreshInterval == 0 {
		c.JWKSRefreshInterval = DefaultJWKSRefreshInterval
	} else if c.JWKSRefreshInterval < 0 {
		errs = append(errs, errors.New("JWKSRefreshInterval must be positive"))
	}
	if c.VerifiedCacheSize == 0 {
		c.VerifiedCacheSize = DefaultVerifiedCacheSize
	}
	if c.FailClosedAfter < 0 {
		errs = append(errs, errors.New("FailClosedAfter must not be negative"))
	}
	if c.Stream == nil && !c.InsecureNoStream {
		errs = append(errs, errors.New("Stream is required (InsecureNoStream disables revocation)"))
	}
	if c.Stream != nil {
		s, serr := c.Stream.withDefaults()
		errs = append(errs, serr...)
		c.Stream = &s
	}
	if c.HTTPClient == nil {
		c.HTTPClient = &http.Client{}
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if len(errs) > 0 {
		return c, fmt.Errorf("guard: invalid config: %w", errors.Join(errs...))
	}
	return c, nil
}

// Guard verifies access tokens and enforces revocation for a resource
// server. Build it with New, start its stream with Run, and put
// Middleware in front of the handlers. It is safe for concurrent use.
type Guard struct {
	cfg  Config
	now  func() time.Time
	log  *slog.Logger
	algs []jose.SignatureAlgorithm

	provider *refresher[providerMetadata]
	keys     *keySet
	table    *table
	verified *verifiedCache
	health   health
	m        *metrics

	// stream is the established stream (nil until Run establishes it).
	stream atomic.Pointer[streamInfo]
	// pendingPush is the Authorization header of the push stream being
	// created: its first SETs (a backfill) may arrive before the
	// transmitter's answer does.
	pendingPush atomic.Pointer[string]
	replays     *replayCache
	ready       chan struct{}
	once        sync.Once
}

// New checks cfg and returns a Guard. It does no I/O: discovery and the
// JWKS are fetched on first use, the stream by Run.
func New(cfg Config) (*Guard, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	g := &Guard{
		cfg: cfg, now: cfg.Now, log: cfg.Logger,
		table: newTable(), verified: newVerifiedCache(cfg.VerifiedCacheSize),
		ready: make(chan struct{}),
	}
	for _, a := range cfg.Algorithms {
		g.algs = append(g.algs, jose.SignatureAlgorithm(a))
	}
	g.provider = &refresher[providerMetadata]{
		now: g.now, interval: cfg.JWKSRefreshInterval, timeout: 10 * time.Second,
		fetch: func(ctx context.Context) (providerMetadata, error) {
			return discoverProvider(ctx, cfg.HTTPClient, cfg.Issuer)
		},
	}
	g.keys = newKeySet(cfg.HTTPClient, g.now, cfg.JWKSRefreshInterval, g.jwksURL)
	g.keys.r.onUpdate = g.verified.flush
	if cfg.Stream != nil {
		g.replays = newReplayCache(cfg.Stream.ReplayCacheSize)
		g.health.init(g.now())
	}
	g.m = newMetrics(g, cfg.Registerer)
	return g, nil
}

func (g *Guard) jwksURL(ctx context.Context) (string, error) {
	if g.cfg.JWKSURL != "" {
		return g.cfg.JWKSURL, nil
	}
	m, err := g.provider.get(ctx)
	return m.JWKSURI, err
}

// authorizationURL is the authorization_uri of claims challenges: the
// configured one, else discovery's ("" when discovery failed).
func (g *Guard) authorizationURL(ctx context.Context) string {
	if g.cfg.AuthorizationURL != "" {
		return g.cfg.AuthorizationURL
	}
	m, _ := g.provider.get(ctx)
	return m.AuthorizationEndpoint
}

// Ready is closed once Run has established the stream for the first
// time and, with poll delivery, applied its backfill (the revocations of
// the last MaxTokenLifetime): from then on, every revocation reaches the
// table.
func (g *Guard) Ready() <-chan struct{} { return g.ready }

// Verify checks token as an access token (RFC 9068: typ at+jwt, an
// allowed algorithm, the signature by a key of the issuer's JWKS, iss,
// aud, exp, nbf and iat within Skew) and then against the revocation
// table. It returns the caller's identity, or an *Error saying why the
// token is refused.
func (g *Guard) Verify(ctx context.Context, token string) (*Identity, error) {
	id, err := g.verify(ctx, token)
	if err != nil {
		g.m.refused(err.Kind)
		return nil, err
	}
	g.m.accepted.Inc()
	return id, nil
}

func (g *Guard) verify(ctx context.Context, token string) (*Identity, *Error) {
	now := g.now()
	id, ok := g.verified.get(token)
	if ok && now.Unix() > id.exp+int64(g.cfg.Skew/time.Second) {
		g.verified.remove(token)
		return nil, failf(KindExpired, "expired at "+id.ExpiresAt.UTC().Format(time.RFC3339))
	}
	if !ok {
		var err *Error
		if id, err = g.verifyToken(ctx, token, now); err != nil {
			return nil, err
		}
		g.verified.put(token, id, now.Unix())
	}
	if err := g.check(id, now); err != nil {
		return nil, err
	}
	return id, nil
}

// check is the hot path: fail-closed and the revocation table for an
// already-verified token. It allocates only when it refuses.
func (g *Guard) check(id *Identity, now time.Time) *Error {
	if g.cfg.FailClosedAfter > 0 && g.health.downFor(now) > g.cfg.FailClosedAfter {
		return &Error{Kind: KindStreamDown, CP1: id.cp1}
	}
	k, from := g.table.check(id.oid, id.sid, id.iat)
	if k == 0 {
		return nil
	}
	return &Error{Kind: k, ValidFrom: time.Unix(from, 0), CP1: id.cp1}
}

// health tracks whether the stream is up: connected, and enabled at the
// transmitter. downSince (Unix nanoseconds, 0 when up) is read lock-free
// by every check.
type health struct {
	mu           sync.Mutex
	disconnected bool
	notEnabled   bool
	downSince    atomic.Int64
}

// init marks the stream down from now: not yet established.
func (h *health) init(now time.Time) {
	h.disconnected = true
	h.downSince.Store(now.UnixNano())
}

func (h *health) set(now time.Time, f func(h *health)) {
	h.mu.Lock()
	defer h.mu.Unlock()
	f(h)
	down := h.disconnected || h.notEnabled
	switch {
	case !down:
		h.downSince.Store(0)
	case h.downSince.Load() == 0:
		h.downSince.Store(now.UnixNano())
	}
}

func (h *health) setConnected(now time.Time, ok bool) {
	h.set(now, func(h *health) { h.disconnected = !ok })
}

func (h *health) setEnabled(now time.Time, ok bool) {
	h.set(now, func(h *health) { h.notEnabled = !ok })
}

// downFor returns how long the stream has been down at now (0 when up).
func (h *health) downFor(now time.Time) time.Duration {
	ds := h.downSince.Load()
	if ds == 0 {
		return 0
	}
	return time.Duration(now.UnixNano() - ds)
}
