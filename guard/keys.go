package guard

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// keySet is a remote JWK Set (RFC 7517 §5) behind a refresher: a kid it
// does not know triggers a refetch, deduped and at most one per interval.
// The issuer's keys (access tokens) and the transmitter's (SETs) are each
// one keySet; when both publish the same jwks_uri they share it.
type keySet struct {
	r   *refresher[[]jose.JSONWebKey]
	src string // the fixed JWKS URL; "" when it comes from discovery
}

func newKeySet(c *http.Client, now func() time.Time, interval time.Duration, url func(context.Context) (string, error)) *keySet {
	return &keySet{r: &refresher[[]jose.JSONWebKey]{
		now: now, interval: interval, timeout: 10 * time.Second,
		fetch: func(ctx context.Context) ([]jose.JSONWebKey, error) {
			u, err := url(ctx)
			if err != nil {
				return nil, err
			}
			var set jose.JSONWebKeySet
			if err := doJSON(ctx, c, http.MethodGet, u, "", nil, &set); err != nil {
				return nil, fmt.Errorf("guard: jwks: %w", err)
			}
			return publicKeys(set.Keys), nil
		},
	}}
}

// publicKeys keeps the asymmetric signing keys, as public keys: a JWKS
// never supplies an HMAC secret, whatever it holds.
func publicKeys(in []jose.JSONWebKey) []jose.JSONWebKey {
	var out []jose.JSONWebKey
	for _, k := range in {
		if k.Use != "" && k.Use != "sig" {
			continue
		}
		p := k.Public()
		if p.Key == nil || !p.IsPublic() {
			continue
		}
		out = append(out, p)
	}
	return out
}

// candidates returns the keys that may have signed a JWS with kid and
// alg: the key with that kid, or every key when kid is empty; a key that
// names another alg is excluded.
func candidates(keys []jose.JSONWebKey, kid, alg string) []*jose.JSONWebKey {
	var out []*jose.JSONWebKey
	for i := range keys {
		k := &keys[i]
		if (kid == "" || k.KeyID == kid) && (k.Algorithm == "" || k.Algorithm == alg) {
			out = append(out, k)
		}
	}
	return out
}

// verify checks jws's signature with a key of the set and returns the
// payload and the key set's generation (bumped on every refetch). An
// unknown kid refetches the set once; a refetch within the interval of
// the last is refused (KindUnknownKey), so a flood of forged kids costs
// one fetch per interval.
func (k *keySet) verify(ctx context.Context, jws *jose.JSONWebSignature) ([]byte, uint64, *Error) {
	h := jws.Signatures[0].Protected
	keys, have, gen := k.r.current()
	if !have {
		var err error
		if keys, err = k.r.refresh(ctx); err != nil && !errors.Is(err, errThrottled) {
			return nil, 0, fail(KindUnavailable, err)
		}
		_, _, gen = k.r.current()
	}
	cands := candidates(keys, h.KeyID, h.Algorithm)
	if len(cands) == 0 {
		var err error
		keys, err = k.r.refresh(ctx)
		switch {
		case errors.Is(err, errThrottled):
			return nil, 0, fail(KindUnknownKey, fmt.Errorf("kid %q not in the JWKS (refetch rate-limited)", h.KeyID))
		case err != nil:
			return nil, 0, fail(KindUnavailable, err)
		}
		_, _, gen = k.r.current()
		if cands = candidates(keys, h.KeyID, h.Algorithm); len(cands) == 0 {
			return nil, 0, fail(KindUnknownKey, fmt.Errorf("kid %q not in the JWKS", h.KeyID))
		}
	}
	var last error
	for _, key := range cands {
		payload, err := jws.Verify(key)
		if err == nil {
			return payload, gen, nil
		}
		last = err
	}
	return nil, 0, fail(KindSignature, last)
}
