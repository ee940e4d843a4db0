package oauth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/vigil-idp/vigil/internal/store"
)

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
