package proxy

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// tokenIssuer is a minimal issuer for proxy tests that need tokens but no
// revocation stream: discovery and a JWKS with one ES256 key.
type tokenIssuer struct {
	url    string
	signer jose.Signer
}

func newTokenIssuer(t testing.TB) *tokenIssuer {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	jwk := jose.JSONWebKey{Key: key, KeyID: "k1", Algorithm: "ES256", Use: "sig"}
	ti := &tokenIssuer{}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, _ *http.Request) {
		_ = json.NewEncoder(w).Encode(map[string]string{"issuer": ti.url, "jwks_uri": ti.url + "/jwks",
			"authorization_endpoint": ti.url + "/authorize", "token_endpoint": ti.url + "/token"})
	})
	mux.HandleFunc("GET /jwks", func(w http.ResponseWriter, _ *http.Request) {
		_ = json.NewEncoder(w).Encode(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{jwk.Public()}})
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	ti.url = srv.URL
	ti.signer, err = jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: jwk},
		(&jose.SignerOptions{}).WithType("at+jwt"))
	if err != nil {
		t.Fatal(err)
	}
	return ti
}

// token signs an access token of user oid for aud with extra claims.
func (ti *tokenIssuer) token(t testing.TB, oid, aud string, extra map[string]any) string {
	t.Helper()
	now := time.Now()
	std := jwt.Claims{Issuer: ti.url, Subject: oid, Audience: jwt.Audience{aud},
		IssuedAt: jwt.NewNumericDate(now), NotBefore: jwt.NewNumericDate(now), Expiry: jwt.NewNumericDate(now.Add(time.Hour))}
	c := map[string]any{"oid": oid, "tid": "t1", "client_id": "app-1"}
	for k, v := range extra {
		c[k] = v
	}
	s, err := jwt.Signed(ti.signer).Claims(std).Claims(c).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return s
}
