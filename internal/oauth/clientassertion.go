package oauth

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/vigil-idp/vigil/internal/store"
)

// ClientAssertionTypeJWT is the client_assertion_type of private_key_jwt
// (RFC 7523 §2.2).
const ClientAssertionTypeJWT = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

// AssertionAlgorithms are the only JWS algorithms accepted in client
// assertions: asymmetric ones. none and the HMAC algorithms are refused, so
// a registered public key can never serve as an HMAC secret (RFC 8725
// §2.1, §3.1).
var AssertionAlgorithms = []jose.SignatureAlgorithm{jose.RS256, jose.ES256, jose.EdDSA}

// Defaults of ClientAssertions.
const (
	// DefaultMaxAssertionLifetime bounds exp − now of an assertion, and so
	// how long its jti must be remembered.
	DefaultMaxAssertionLifetime = time.Hour
	// DefaultMaxReplayEntries bounds the jti replay cache.
	DefaultMaxReplayEntries = 100_000
	// maxAssertionLen bounds client_assertion.
	maxAssertionLen = 16 << 10
)

// ClientKeySource returns the public keys registered for an application
// (its JWKS, or the set at its jwks_uri).
type ClientKeySource interface {
	ClientKeys(ctx context.Context, app store.Application) (jose.JSONWebKeySet, error)
}

// freshKeySource is a ClientKeySource that can refetch remote keys
// (*RegisteredKeys).
type freshKeySource interface {
	ClientKeysFresh(ctx context.Context, app store.Application) (jose.JSONWebKeySet, error)
}

// ClientAssertions verifies private_key_jwt client authentication
// (RFC 7523 §2.2, §3; OpenID Connect Core §9): iss = sub = client_id, aud
// the token endpoint or the issuer, exp in the future and at most
// MaxLifetime away, nbf/iat not in the future, a jti not seen before, and
// a signature by one of the application's registered keys with an
// algorithm of AssertionAlgorithms. Build it as a struct literal; Keys is
// required.
//
// Replay protection records each jti (with its client) until its assertion
// expires: in Replays, shared by every node of the store, when it is set;
// otherwise in this process's memory, where an assertion replayed to
// another node within its lifetime would not be detected.
type ClientAssertions struct {
	// Keys resolves the application's registered keys.
	Keys ClientKeySource
	// Replays records used assertion ids; store.Store implements it. nil
	// keeps them in memory (one node).
	Replays ReplayStore
	// MaxLifetime bounds exp − now; 0 means DefaultMaxAssertionLifetime.
	MaxLifetime time.Duration
	// MaxEntries bounds the replay cache; 0 means DefaultMaxReplayEntries.
	// When it is full of live entries, assertions are refused
	// (temporarily_unavailable) rather than letting a jti be forgotten.
	MaxEntries int

	mu   sync.Mutex
	seen map[string]time.Time // client_id + " " + jti → expiry
}

// ReplayStore records the client assertions already used (see
// store.ClientAssertionIDs).
type ReplayStore interface {
	UseClientAssertionID(ctx context.Context, key []byte, expiresAt, now time.Time) error
}

// assertionClaims are the claims RFC 7523 §3 requires.
type assertionClaims struct {
	jwt.Claims
}

// authenticateAssertion authenticates a client by private_key_jwt.
func (s *Provider) authenticateAssertion(r *http.Request, form url.Values) (Client, error) {
	if s.Assertions == nil {
		return Client{}, errorf(CodeInvalidClient, "private_key_jwt is not enabled on this server")
	}
	switch {
	case form.Get("client_assertion_type") != ClientAssertionTypeJWT:
		return Client{}, errorf(CodeInvalidClient, "client_assertion_type must be %s", ClientAssertionTypeJWT)
	case form.Get("client_assertion") == "":
		return Client{}, errorf(CodeInvalidClient, "client_assertion is required")
	case form.Has("client_secret") || len(r.Header.Values("Authorization")) > 0:
		return Client{}, errorf(CodeInvalidRequest, "use one client authentication method, not a client assertion and a secret")
	}
	c, err := s.Assertions.verify(r.Context(), s, form.Get("client_assertion"), form.Get("client_id"))
	if err != nil {
		return Client{}, err
	}
	return Client{Application: c.Application, AuthMethod: AuthPrivateKeyJWT, ServicePrincipalID: c.ServicePrincipalID}, nil
}

// verify checks an assertion and returns the client it authenticates.
func (a *ClientAssertions) verify(ctx context.Context, p *Provider, raw, formClientID string) (store.Client, error) {
	fail := func(desc string, cause error) error {
		return errorf(CodeInvalidClient, "client assertion refused: %s", desc).WithCause(cause)
	}
	if len(raw) > maxAssertionLen {
		return store.Client{}, fail("too long", nil)
	}
	tok, err := jwt.ParseSigned(raw, AssertionAlgorithms)
	if err != nil {
		return store.Client{}, fail("malformed, or not signed with RS256, ES256 or EdDSA", err)
	}
	var unverified assertionClaims
	if err := tok.UnsafeClaimsWithoutVerification(&unverified); err != nil {
		return store.Client{}, fail("unreadable claims", err)
	}
	id := unverified.Issuer
	switch {
	case id == "" || id != unverified.Subject:
		return store.Client{}, fail("iss and sub must both be the client_id", nil)
	case formClientID != "" && formClientID != id:
		return store.Client{}, fail("client_id does not match the assertion", nil)
	}
	client, err := p.Clients.GetClientByAppID(ctx, id)
	app := client.Application
	if errors.Is(err, store.ErrNotFound) {
		return store.Client{}, fail("unknown client", nil)
	}
	if err != nil {
		return store.Client{}, errorf(CodeServerError, "client lookup failed").WithCause(err)
	}
	set, err := a.Keys.ClientKeys(ctx, app)
	if err != nil {
		return store.Client{}, fail("the client's keys are unavailable", err)
	}
	h := tok.Headers[0]
	var c assertionClaims
	verified := verifyWithSet(tok, h, set, &c)
	if fk, ok := a.Keys.(freshKeySource); !verified && ok {
		// The client may have rotated its keys since they were cached.
		if set, err = fk.ClientKeysFresh(ctx, app); err == nil {
			verified = verifyWithSet(tok, h, set, &c)
		}
	}
	if !verified {
		return store.Client{}, fail("no registered key of the client verifies the signature", nil)
	}
	now := p.now()
	if err := a.checkClaims(c, p, now); err != nil {
		return store.Client{}, err
	}
	if err := a.remember(ctx, id, c.ID, c.Expiry.Time().Add(ClockSkew), now); err != nil {
		return store.Client{}, err
	}
	return client, nil
}

// verifyWithSet verifies tok with the keys of set that fit its header: the
// kid when one is given, the algorithm when the key names one, use "sig"
// or none. It decodes the claims into c on success.
func verifyWithSet(tok *jwt.JSONWebToken, h jose.Header, set jose.JSONWebKeySet, c any) bool {
	for _, k := range set.Keys {
		if h.KeyID != "" && k.KeyID != h.KeyID {
			continue
		}
		if (k.Algorithm != "" && k.Algorithm != h.Algorithm) || (k.Use != "" && k.Use != "sig") || !k.IsPublic() {
			continue
		}
		if tok.Claims(k.Key, c) == nil {
			return true
		}
	}
	return false
}

// checkClaims checks aud, exp, nbf, iat and jti (RFC 7523 §3).
func (a *ClientAssertions) checkClaims(c assertionClaims, p *Provider, now time.Time) error {
	fail := func(desc string) error { return errorf(CodeInvalidClient, "client assertion refused: %s", desc) }
	maxLife := a.MaxLifetime
	if maxLife <= 0 {
		maxLife = DefaultMaxAssertionLifetime
	}
	switch {
	case !c.Audience.Contains(p.endpoint(PathToken)) && !c.Audience.Contains(p.Issuer):
		return fail("aud must be the token endpoint or the issuer")
	case c.Expiry == nil:
		return fail("exp is required")
	case !now.Before(c.Expiry.Time().Add(ClockSkew)):
		return fail("expired")
	case c.Expiry.Time().After(now.Add(maxLife + ClockSkew)):
		return fail(fmt.Sprintf("exp is more than %s away", maxLife))
	case c.NotBefore != nil && now.Add(ClockSkew).Before(c.NotBefore.Time()):
		return fail("not yet valid")
	case c.IssuedAt != nil && now.Add(ClockSkew).Before(c.IssuedAt.Time()):
		return fail("issued in the future")
	case c.ID == "" || len(c.ID) > 256:
		return fail("jti is required")
	}
	return nil
}

// remember records jti for clientID until exp; a jti seen before is a
// replay.
func (a *ClientAssertions) remember(ctx context.Context, clientID, jti string, exp, now time.Time) error {
	if a.Replays != nil {
		key := sha256.Sum256([]byte(clientID + "\x00" + jti))
		switch err := a.Replays.UseClientAssertionID(ctx, key[:], exp, now); {
		case errors.Is(err, store.ErrConflict):
			return errorf(CodeInvalidClient, "client assertion refused: jti already used (replay)")
		case err != nil:
			return errorf(CodeServerError, "cannot record the client assertion").WithCause(err)
		}
		return nil
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.seen == nil {
		a.seen = map[string]time.Time{}
	}
	key := clientID + " " + jti
	if until, ok := a.seen[key]; ok && now.Before(until) {
		return errorf(CodeInvalidClient, "client assertion refused: jti already used (replay)")
	}
	limit := a.MaxEntries
	if limit <= 0 {
		limit = DefaultMaxReplayEntries
	}
	if len(a.seen) >= limit {
		for k, until := range a.seen {
			if !now.Before(until) {
				delete(a.seen, k)
			}
		}
		if len(a.seen) >= limit {
			return errorf(CodeTemporarilyUnavailable, "too many client assertions in flight; retry shortly")
		}
	}
	a.seen[key] = exp
	return nil
}

// Defaults of RegisteredKeys.
const (
	DefaultClientJWKSCacheTTL = 5 * time.Minute
	// DefaultClientJWKSMinRefresh rate-limits refetches forced by a key the
	// cached set lacks.
	DefaultClientJWKSMinRefresh = 30 * time.Second
	maxClientJWKSBytes          = 64 << 10
	clientJWKSFetchTimeout      = 10 * time.Second
)

// ErrNoClientKeys is returned for an application that registered neither
// a JWK Set nor a jwks_uri.
var ErrNoClientKeys = errors.New("oauth: the application registered no keys")

// RegisteredKeys is the ClientKeySource of store.Application: the JWK Set
// stored with the registration (JWKS), or the one published at its
// JWKSURI, fetched over https and cached. Fetches of one URI are deduped
// (one in flight, the others wait) and refetches outside the cache TTL
// are rate-limited to one per MinRefresh, so a flood of assertions with
// unknown kids cannot turn into a flood of fetches. The zero value is
// ready to use; it is safe for concurrent use and must not be copied after
// first use.
type RegisteredKeys struct {
	// HTTPClient fetches jwks_uri; nil means a client with a 10 s timeout.
	HTTPClient *http.Client
	// CacheTTL is how long a fetched set is used; 0 means
	// DefaultClientJWKSCacheTTL.
	CacheTTL time.Duration
	// MinRefresh is the least time between two fetches of one URI; 0 means
	// DefaultClientJWKSMinRefresh.
	MinRefresh time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// InsecureAllowHTTP lets jwks_uri be plain http. Only for tests on
	// loopback: keys fetched without TLS can be replaced in transit.
	InsecureAllowHTTP bool

	mu    sync.Mutex
	cache map[string]*remoteKeys
}

// remoteKeys is one jwks_uri's cached set.
type remoteKeys struct {
	set       jose.JSONWebKeySet
	err       error
	fetchedAt time.Time
	inflight  chan struct{} // non-nil while a fetch runs; closed when done
}

func (k *RegisteredKeys) now() time.Time {
	if k.Now != nil {
		return k.Now()
	}
	return time.Now()
}

// ClientKeys implements ClientKeySource.
func (k *RegisteredKeys) ClientKeys(ctx context.Context, app store.Application) (jose.JSONWebKeySet, error) {
	return k.keys(ctx, app, false)
}

// ClientKeysFresh is ClientKeys after a refetch of jwks_uri, unless the
// last fetch is younger than MinRefresh.
func (k *RegisteredKeys) ClientKeysFresh(ctx context.Context, app store.Application) (jose.JSONWebKeySet, error) {
	return k.keys(ctx, app, true)
}

func (k *RegisteredKeys) keys(ctx context.Context, app store.Application, fresh bool) (jose.JSONWebKeySet, error) {
	if len(app.JWKS) > 0 {
		return parseClientJWKS(app.JWKS)
	}
	if app.JWKSURI == "" {
		return jose.JSONWebKeySet{}, ErrNoClientKeys
	}
	u, err := url.Parse(app.JWKSURI)
	if err != nil || u.Host == "" || (u.Scheme != "https" && !(k.InsecureAllowHTTP && u.Scheme == "http")) {
		return jose.JSONWebKeySet{}, fmt.Errorf("oauth: jwks_uri %q is not an https URL", app.JWKSURI)
	}
	return k.remote(ctx, app.JWKSURI, fresh)
}

// remote returns the cached set of uri, fetching it when it is missing,
// stale, or fresh is asked and the last fetch is old enough.
func (k *RegisteredKeys) remote(ctx context.Context, uri string, fresh bool) (jose.JSONWebKeySet, error) {
	ttl, minRefresh := k.CacheTTL, k.MinRefresh
	if ttl <= 0 {
		ttl = DefaultClientJWKSCacheTTL
	}
	if minRefresh <= 0 {
		minRefresh = DefaultClientJWKSMinRefresh
	}
	for {
		k.mu.Lock()
		if k.cache == nil {
			k.cache = map[string]*remoteKeys{}
		}
		e := k.cache[uri]
		if e == nil {
			e = &remoteKeys{}
			k.cache[uri] = e
		}
		if wait := e.inflight; wait != nil {
			k.mu.Unlock()
			select {
			case <-wait:
				continue
			case <-ctx.Done():
				return jose.JSONWebKeySet{}, ctx.Err()
			}
		}
		age := k.now().Sub(e.fetchedAt)
		// A set is used for the TTL, a failure only for MinRefresh.
		usable := !e.fetchedAt.IsZero() && ((e.err == nil && age < ttl) || age < minRefresh)
		if usable && !(fresh && age >= minRefresh) {
			set, err := e.set, e.err
			k.mu.Unlock()
			return set, err
		}
		done := make(chan struct{})
		e.inflight = done
		k.mu.Unlock()

		set, err := k.fetch(ctx, uri)

		k.mu.Lock()
		e.set, e.err, e.fetchedAt, e.inflight = set, err, k.now(), nil
		k.mu.Unlock()
		close(done)
		return set, err
	}
}

// fetch GETs a JWK Set.
func (k *RegisteredKeys) fetch(ctx context.Context, uri string) (jose.JSONWebKeySet, error) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), clientJWKSFetchTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, uri, nil)
	if err != nil {
		return jose.JSONWebKeySet{}, fmt.Errorf("oauth: jwks_uri: %w", err)
	}
	req.Header.Set("Accept", "application/jwk-set+json, application/json")
	hc := k.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: clientJWKSFetchTimeout}
	}
	resp, err := hc.Do(req)
	if err != nil {
		return jose.JSONWebKeySet{}, fmt.Errorf("oauth: fetch jwks_uri: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return jose.JSONWebKeySet{}, fmt.Errorf("oauth: fetch jwks_uri: status %d", resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxClientJWKSBytes+1))
	if err != nil {
		return jose.JSONWebKeySet{}, fmt.Errorf("oauth: read jwks_uri: %w", err)
	}
	if len(body) > maxClientJWKSBytes {
		return jose.JSONWebKeySet{}, errors.New("oauth: jwks_uri answer is too large")
	}
	return parseClientJWKS(body)
}

// parseClientJWKS parses a JWK Set and keeps only public keys: a private
// key registered by mistake is never used.
func parseClientJWKS(b []byte) (jose.JSONWebKeySet, error) {
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(b, &set); err != nil {
		return jose.JSONWebKeySet{}, fmt.Errorf("oauth: client JWK Set: %w", err)
	}
	out := jose.JSONWebKeySet{}
	for _, key := range set.Keys {
		if key.IsPublic() {
			out.Keys = append(out.Keys, key)
		}
	}
	return out, nil
}
