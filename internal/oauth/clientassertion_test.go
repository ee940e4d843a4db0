package oauth

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/google/uuid"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/vigil-idp/vigil/internal/authz"
	"github.com/vigil-idp/vigil/internal/store"
	"github.com/vigil-idp/vigil/internal/store/sqlstore"
	"github.com/vigil-idp/vigil/internal/store/sqlstore/sqltest"
)

// keyApp registers an application that authenticates with keys (no
// secret) and holds User.Read.All on Graph.
func (d *idp) keyApp(t *testing.T, jwks []byte, jwksURI string) store.Application {
	t.Helper()
	ctx := context.Background()
	a := store.Application{ID: uuid.NewString(), AppID: uuid.NewString(), DisplayName: "key client", JWKS: jwks, JWKSURI: jwksURI,
		CreatedDateTime: time.Now().UTC()}
	if err := d.store.CreateApplication(ctx, a); err != nil {
		t.Fatal(err)
	}
	sp := d.servicePrincipal(t, a.AppID, a.DisplayName)
	p, _ := authz.Graph().PermissionByName("User.Read.All")
	if err := d.store.CreateAppRoleAssignment(ctx, store.AppRoleAssignment{ID: uuid.NewString(), PrincipalID: sp.ID,
		ResourceID: d.graphSP.ID, AppRoleID: p.AppRoleID, CreatedDateTime: time.Now().UTC()}); err != nil {
		t.Fatal(err)
	}
	return a
}

func publicJWKS(t *testing.T, keys ...jose.JSONWebKey) []byte {
	t.Helper()
	set := jose.JSONWebKeySet{}
	for _, k := range keys {
		set.Keys = append(set.Keys, k.Public())
	}
	b, err := json.Marshal(set)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// assertion signs client assertion claims with key.
func assertion(t *testing.T, key jose.JSONWebKey, claims map[string]any) string {
	t.Helper()
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.SignatureAlgorithm(key.Algorithm), Key: key},
		(&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		t.Fatal(err)
	}
	tok, err := jwt.Signed(s).Claims(claims).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// unsignedJWT builds a token with any header and an arbitrary signature.
func unsignedJWT(header, claims map[string]any, sig []byte) string {
	h, _ := json.Marshal(header)
	c, _ := json.Marshal(claims)
	enc := base64.RawURLEncoding
	return enc.EncodeToString(h) + "." + enc.EncodeToString(c) + "." + enc.EncodeToString(sig)
}

func TestPrivateKeyJWT(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, st *sqlstore.Store) {
		d := newIDP(t, st)
		keys := &RegisteredKeys{InsecureAllowHTTP: true, Now: d.clock.Now, MinRefresh: time.Second}
		d.server.Assertions = &ClientAssertions{Keys: keys, Replays: st}
		rsaPriv, _ := rsa.GenerateKey(rand.Reader, 2048)
		_, edPriv, _ := ed25519.GenerateKey(rand.Reader)
		ecPriv, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		rsaKey := jose.JSONWebKey{Key: rsaPriv, KeyID: "rsa-1", Algorithm: "RS256", Use: "sig"}
		edKey := jose.JSONWebKey{Key: edPriv, KeyID: "ed-1", Algorithm: "EdDSA"}
		ecKey := jose.JSONWebKey{Key: ecPriv, KeyID: "ec-1", Algorithm: "ES256"}
		static := d.keyApp(t, publicJWKS(t, rsaKey, edKey), "")

		var served atomic.Value
		served.Store(publicJWKS(t, ecKey))
		var fetches atomic.Int32
		jwksSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			fetches.Add(1)
			w.Header().Set("Content-Type", "application/jwk-set+json")
			_, _ = w.Write(served.Load().([]byte))
		}))
		t.Cleanup(jwksSrv.Close)
		remote := d.keyApp(t, nil, jwksSrv.URL)

		tokenURL := d.issuer + PathToken
		claims := func(app store.Application, kv ...any) map[string]any {
			now := d.clock.Now()
			c := map[string]any{"iss": app.AppID, "sub": app.AppID, "aud": tokenURL, "exp": now.Add(5 * time.Minute).Unix(),
				"iat": now.Unix(), "jti": uuid.NewString()}
			for i := 0; i+1 < len(kv); i += 2 {
				if kv[i+1] == nil {
					delete(c, kv[i].(string))
				} else {
					c[kv[i].(string)] = kv[i+1]
				}
			}
			return c
		}
		form := func(tok string, extra ...string) string {
			v := url.Values{"grant_type": {"client_credentials"}, "scope": {"https://graph.microsoft.com/.default"},
				"client_assertion_type": {ClientAssertionTypeJWT}, "client_assertion": {tok}}
			for i := 0; i+1 < len(extra); i += 2 {
				v.Set(extra[i], extra[i+1])
			}
			return v.Encode()
		}
		ok := func(t *testing.T, body string) {
			t.Helper()
			resp, m := post(t, d, tokenURL, nil, body)
			if resp.StatusCode != 200 || m["access_token"] == nil {
				t.Fatalf("%d %v", resp.StatusCode, m)
			}
		}
		refused := func(t *testing.T, body string, status int, code string) {
			t.Helper()
			resp, m := post(t, d, tokenURL, nil, body)
			if resp.StatusCode != status || m["error"] != code {
				t.Fatalf("got %d %v, want %d %s", resp.StatusCode, m, status, code)
			}
		}

		t.Run("x/oauth2 clientcredentials with RS256", func(t *testing.T) {
			cc := clientcredentials.Config{ClientID: static.AppID, TokenURL: tokenURL, Scopes: []string{"https://graph.microsoft.com/.default"},
				EndpointParams: url.Values{"client_assertion_type": {ClientAssertionTypeJWT}, "client_assertion": {assertion(t, rsaKey, claims(static))}}}
			tok, err := cc.Token(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			p, err := d.verifier.Verify(context.Background(), tok.AccessToken)
			if err != nil || p.ClientID != static.AppID || !p.HasRole("User.Read.All") {
				t.Fatalf("%+v %v", p, err)
			}
		})
		t.Run("EdDSA", func(t *testing.T) { ok(t, form(assertion(t, edKey, claims(static)))) })
		t.Run("ES256 from jwks_uri", func(t *testing.T) { ok(t, form(assertion(t, ecKey, claims(remote)))) })
		t.Run("aud is the issuer", func(t *testing.T) { ok(t, form(assertion(t, rsaKey, claims(static, "aud", d.issuer)))) })
		t.Run("no kid", func(t *testing.T) {
			k := rsaKey
			k.KeyID = ""
			ok(t, form(assertion(t, k, claims(static))))
		})
		t.Run("replayed jti", func(t *testing.T) {
			tok := assertion(t, rsaKey, claims(static))
			ok(t, form(tok))
			refused(t, form(tok), 401, CodeInvalidClient)
			// Another node on the same store refuses it too: the
			// record is in the store, not in this node's memory.
			node2 := &ClientAssertions{Keys: keys, Replays: st}
			if _, err := node2.verify(context.Background(), d.server, tok, ""); err == nil || asError(err).Code != CodeInvalidClient {
				t.Fatalf("another node accepted the replay: %v", err)
			}
			fresh := assertion(t, rsaKey, claims(static))
			if _, err := node2.verify(context.Background(), d.server, fresh, ""); err != nil {
				t.Fatalf("another node refused a fresh assertion: %v", err)
			}
		})
		t.Run("wrong key", func(t *testing.T) {
			other, _ := rsa.GenerateKey(rand.Reader, 2048)
			refused(t, form(assertion(t, jose.JSONWebKey{Key: other, KeyID: "rsa-1", Algorithm: "RS256"}, claims(static))), 401, CodeInvalidClient)
		})
		t.Run("another client's key", func(t *testing.T) {
			refused(t, form(assertion(t, ecKey, claims(static))), 401, CodeInvalidClient)
		})
		t.Run("alg none", func(t *testing.T) {
			tok := unsignedJWT(map[string]any{"alg": "none", "typ": "JWT"}, claims(static), nil)
			refused(t, form(tok), 401, CodeInvalidClient)
		})
		t.Run("HS256 with the public key as secret", func(t *testing.T) {
			der, _ := x509.MarshalPKIXPublicKey(&rsaPriv.PublicKey)
			pemKey := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
			jwkJSON, _ := json.Marshal(rsaKey.Public())
			for name, secret := range map[string][]byte{"PEM": pemKey, "DER": der, "JWK": jwkJSON} {
				s, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.HS256, Key: secret}, (&jose.SignerOptions{}).WithHeader("kid", "rsa-1"))
				if err != nil {
					t.Fatal(err)
				}
				tok, _ := jwt.Signed(s).Claims(claims(static)).Serialize()
				t.Run(name, func(t *testing.T) { refused(t, form(tok), 401, CodeInvalidClient) })
			}
		})
		for _, tc := range []struct {
			name string
			kv   []any
		}{
			{"wrong aud", []any{"aud", "https://elsewhere.example/token"}},
			{"expired", []any{"exp", time.Now().Add(-10 * time.Minute).Unix()}},
			{"no exp", []any{"exp", nil}},
			{"exp too far", []any{"exp", time.Now().Add(3 * time.Hour).Unix()}},
			{"not yet valid", []any{"nbf", time.Now().Add(time.Hour).Unix()}},
			{"no jti", []any{"jti", nil}},
			{"iss is not sub", []any{"sub", "someone"}},
			{"unknown client", []any{"iss", "nobody", "sub", "nobody"}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				refused(t, form(assertion(t, rsaKey, claims(static, tc.kv...))), 401, CodeInvalidClient)
			})
		}
		t.Run("client_id mismatch", func(t *testing.T) {
			refused(t, form(assertion(t, rsaKey, claims(static)), "client_id", remote.AppID), 401, CodeInvalidClient)
		})
		t.Run("wrong assertion type", func(t *testing.T) {
			refused(t, form(assertion(t, rsaKey, claims(static)), "client_assertion_type", "urn:x"), 401, CodeInvalidClient)
		})
		t.Run("assertion and secret", func(t *testing.T) {
			refused(t, form(assertion(t, rsaKey, claims(static)), "client_secret", "x"), 400, CodeInvalidRequest)
		})
		t.Run("rotated key at jwks_uri is fetched again", func(t *testing.T) {
			newEC, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
			k2 := jose.JSONWebKey{Key: newEC, KeyID: "ec-2", Algorithm: "ES256"}
			served.Store(publicJWKS(t, ecKey, k2))
			before := fetches.Load()
			d.clock.Advance(2 * time.Second) // beyond MinRefresh, within the cache TTL
			ok(t, form(assertion(t, k2, claims(remote))))
			if fetches.Load() != before+1 {
				t.Fatalf("fetches %d → %d, want one refetch", before, fetches.Load())
			}
			// A flood of unknown kids within MinRefresh fetches nothing.
			stranger, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
			for range 5 {
				refused(t, form(assertion(t, jose.JSONWebKey{Key: stranger, KeyID: "ec-9", Algorithm: "ES256"}, claims(remote))), 401, CodeInvalidClient)
			}
			if fetches.Load() != before+1 {
				t.Fatalf("unknown kids caused %d fetches", fetches.Load()-before-1)
			}
		})
	})
}

// TestReplayCacheBound: a full replay cache refuses new assertions rather
// than forget a live jti, and expired entries make room.
func TestReplayCacheBound(t *testing.T) {
	a := &ClientAssertions{MaxEntries: 2}
	now := time.Now()
	if a.remember(context.Background(), "c", "1", now.Add(time.Minute), now) != nil || a.remember(context.Background(), "c", "2", now.Add(time.Hour), now) != nil {
		t.Fatal("first two refused")
	}
	if err := a.remember(context.Background(), "c", "3", now.Add(time.Minute), now); err == nil || asError(err).Code != CodeTemporarilyUnavailable {
		t.Fatalf("full cache: %v", err)
	}
	later := now.Add(2 * time.Minute)
	if err := a.remember(context.Background(), "c", "3", later.Add(time.Minute), later); err != nil {
		t.Fatalf("after expiry: %v", err)
	}
	if err := a.remember(context.Background(), "c", "2", later.Add(time.Minute), later); err == nil {
		t.Fatal("live jti forgotten")
	}
	var wg sync.WaitGroup
	var accepted atomic.Int32
	b := &ClientAssertions{}
	for range 20 {
		wg.Go(func() {
			if b.remember(context.Background(), "c", "same", now.Add(time.Minute), now) == nil {
				accepted.Add(1)
			}
		})
	}
	wg.Wait()
	if accepted.Load() != 1 {
		t.Fatalf("a jti was accepted %d times concurrently", accepted.Load())
	}
}
