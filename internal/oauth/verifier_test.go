package oauth

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"errors"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/vigil-idp/vigil/internal/authz"
)

// staticKeys is a KeySet over fixed keys, for crafting tokens the token
// endpoint would never issue.
type staticKeys struct {
	priv map[string]crypto.Signer // kid → key
	set  jose.JSONWebKeySet
	err  error
}

func (s *staticKeys) JWKS(context.Context) (jose.JSONWebKeySet, error) { return s.set, s.err }

func newStaticKeys(t testing.TB) *staticKeys {
	t.Helper()
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	rs, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	_, ed, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s := &staticKeys{priv: map[string]crypto.Signer{"es": ec, "rs": rs, "ed": ed}}
	for _, k := range []struct {
		kid string
		alg jose.SignatureAlgorithm
	}{{"es", jose.ES256}, {"rs", jose.RS256}, {"ed", jose.EdDSA}} {
		s.set.Keys = append(s.set.Keys, jose.JSONWebKey{Key: s.priv[k.kid].Public(), KeyID: k.kid, Algorithm: string(k.alg), Use: "sig"})
	}
	return s
}

// mint signs claims with the key kid under header alg and typ.
func (s *staticKeys) mint(t testing.TB, kid string, alg jose.SignatureAlgorithm, typ string, claims map[string]any) string {
	t.Helper()
	opts := &jose.SignerOptions{}
	if typ != "" {
		opts = opts.WithType(jose.ContentType(typ))
	}
	sig, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: jose.JSONWebKey{Key: s.priv[kid], KeyID: kid}}, opts)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := jwt.Signed(sig).Claims(claims).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

var testNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

const testIssuer = "https://idp.example"

func appClaims() map[string]any {
	return map[string]any{
		"iss": testIssuer, "sub": "sp-1", "oid": "sp-1", "aud": authz.GraphResource,
		"iat": testNow.Unix(), "nbf": testNow.Unix(), "exp": testNow.Add(time.Hour).Unix(),
		"jti": "j-1", "client_id": "app-1", "appid": "app-1", "azp": "app-1", "tid": "t-1",
		"roles": []string{"User.Read.All"}, "idtyp": "app", "ver": "2.0",
	}
}

func delegatedClaims() map[string]any {
	c := appClaims()
	c["sub"], c["oid"], c["idtyp"] = "user-1", "user-1", "user"
	c["scp"] = "User.Read  User.RevokeSessions.All"
	c["wids"] = []string{"62e90394-69f5-4237-9190-012177145e10"}
	c["sid"] = "sess-1"
	delete(c, "roles")
	return c
}

func with(c map[string]any, kv ...any) map[string]any {
	c = maps.Clone(c)
	for i := 0; i < len(kv); i += 2 {
		if kv[i+1] == nil {
			delete(c, kv[i].(string))
		} else {
			c[kv[i].(string)] = kv[i+1]
		}
	}
	return c
}

func TestVerify(t *testing.T) {
	keys := newStaticKeys(t)
	v := &Verifier{Keys: keys, Issuer: testIssuer, Audiences: []string{authz.GraphResource, authz.GraphAppID}, Now: func() time.Time { return testNow }}
	hs, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.HS256, Key: []byte("0123456789abcdef0123456789abcdef")},
		(&jose.SignerOptions{}).WithType("at+jwt").WithHeader("kid", "es"))
	if err != nil {
		t.Fatal(err)
	}
	hsTok, err := jwt.Signed(hs).Claims(appClaims()).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	good := keys.mint(t, "es", jose.ES256, "at+jwt", appClaims())
	parts := strings.Split(good, ".")
	b64 := base64.RawURLEncoding.EncodeToString
	tests := []struct {
		name    string
		tok     string
		wantErr string // description of the invalid_token error; "" for success
		check   func(t *testing.T, p *authz.Principal)
	}{
		{name: "app-only ES256", tok: good, check: func(t *testing.T, p *authz.Principal) {
			want := authz.Principal{Kind: authz.AppOnly, ClientID: "app-1", ObjectID: "sp-1", TenantID: "t-1",
				Roles: []string{"User.Read.All"}, TokenID: "j-1", IssuedAt: testNow}
			if !equalPrincipal(p, &want) {
				t.Fatalf("principal = %+v, want %+v", p, want)
			}
		}},
		{name: "delegated RS256", tok: keys.mint(t, "rs", jose.RS256, "at+jwt", delegatedClaims()), check: func(t *testing.T, p *authz.Principal) {
			want := authz.Principal{Kind: authz.Delegated, ClientID: "app-1", ObjectID: "user-1", TenantID: "t-1",
				Scopes: []string{"User.Read", "User.RevokeSessions.All"}, RoleTemplateIDs: []string{"62e90394-69f5-4237-9190-012177145e10"},
				SessionID: "sess-1", TokenID: "j-1", IssuedAt: testNow}
			if !equalPrincipal(p, &want) {
				t.Fatalf("principal = %+v, want %+v", p, want)
			}
		}},
		{name: "EdDSA", tok: keys.mint(t, "ed", jose.EdDSA, "at+jwt", appClaims())},
		{name: "typ application/at+jwt, case-insensitive", tok: keys.mint(t, "es", jose.ES256, "Application/AT+JWT", appClaims())},
		{name: "aud as array with one accepted value", tok: keys.mint(t, "es", jose.ES256, "at+jwt", with(appClaims(), "aud", []string{"other", authz.GraphAppID}))},
		{name: "expired within skew", tok: keys.mint(t, "es", jose.ES256, "at+jwt", with(appClaims(), "exp", testNow.Add(-59*time.Second).Unix()))},
		{name: "nbf within skew", tok: keys.mint(t, "es", jose.ES256, "at+jwt", with(appClaims(), "nbf", testNow.Add(59*time.Second).Unix()))},
		{name: "no nbf", tok: keys.mint(t, "es", jose.ES256, "at+jwt", with(appClaims(), "nbf", nil))},
		{name: "client id from azp", tok: keys.mint(t, "es", jose.ES256, "at+jwt", with(appClaims(), "client_id", nil, "appid", nil)),
			check: func(t *testing.T, p *authz.Principal) {
				if p.ClientID != "app-1" {
					t.Fatalf("ClientID = %q", p.ClientID)
				}
			}},

		{name: "no typ", tok: keys.mint(t, "es", jose.ES256, "", appClaims()), wantErr: "not an access token"},
		{name: "typ JWT (an ID token)", tok: keys.mint(t, "es", jose.ES256, "JWT", appClaims()), wantErr: "not an access token"},
		{name: "alg none", tok: b64([]byte(`{"alg":"none","typ":"at+jwt","kid":"es"}`)) + "." + parts[1] + ".", wantErr: "malformed"},
		{name: "HS256 with a kid (alg confusion)", tok: hsTok, wantErr: "malformed"},
		{name: "unknown kid", tok: mintKid(t, keys, "es", "nope"), wantErr: "signing key not found"},
		{name: "kid of a key with another alg", tok: mintKid(t, keys, "rs", "es"), wantErr: "signing key not found"},
		{name: "tampered payload", tok: parts[0] + "." + b64([]byte(`{"iss":"`+testIssuer+`","sub":"evil"}`)) + "." + parts[2], wantErr: "bad signature"},
		{name: "garbage", tok: "a.b.c", wantErr: "malformed"},
		{name: "wrong issuer", tok: keys.mint(t, "es", jose.ES256, "at+jwt", with(appClaims(), "iss", "https://evil.example")), wantErr: "wrong issuer"},
		{name: "wrong audience", tok: keys.mint(t, "es", jose.ES256, "at+jwt", with(appClaims(), "aud", authz.VigilResource)), wantErr: "wrong audience"},
		{name: "no audience", tok: keys.mint(t, "es", jose.ES256, "at+jwt", with(appClaims(), "aud", nil)), wantErr: "wrong audience"},
		{name: "expired beyond skew", tok: keys.mint(t, "es", jose.ES256, "at+jwt", with(appClaims(), "exp", testNow.Add(-60*time.Second).Unix())), wantErr: "token expired"},
		{name: "nbf beyond skew", tok: keys.mint(t, "es", jose.ES256, "at+jwt", with(appClaims(), "nbf", testNow.Add(61*time.Second).Unix())), wantErr: "not yet valid"},
		{name: "iat in the future", tok: keys.mint(t, "es", jose.ES256, "at+jwt", with(appClaims(), "iat", testNow.Add(61*time.Second).Unix())), wantErr: "issued in the future"},
		{name: "no exp", tok: keys.mint(t, "es", jose.ES256, "at+jwt", with(appClaims(), "exp", nil)), wantErr: "lacks exp or iat"},
		{name: "no iat", tok: keys.mint(t, "es", jose.ES256, "at+jwt", with(appClaims(), "iat", nil)), wantErr: "lacks exp or iat"},
		{name: "no sub", tok: keys.mint(t, "es", jose.ES256, "at+jwt", with(appClaims(), "sub", nil, "oid", nil)), wantErr: "lacks sub"},
		{name: "no client id", tok: keys.mint(t, "es", jose.ES256, "at+jwt", with(appClaims(), "client_id", nil, "azp", nil, "appid", nil)), wantErr: "lacks sub, client_id"},
		{name: "no jti", tok: keys.mint(t, "es", jose.ES256, "at+jwt", with(appClaims(), "jti", nil)), wantErr: "lacks sub, client_id or jti"},
		{name: "app token with scp", tok: keys.mint(t, "es", jose.ES256, "at+jwt", with(appClaims(), "scp", "User.Read")), wantErr: "app token with delegated scopes"},
		{name: "exp of the wrong type", tok: keys.mint(t, "es", jose.ES256, "at+jwt", with(appClaims(), "exp", "tomorrow")), wantErr: "bad signature"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := v.Verify(context.Background(), tt.tok)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("Verify: %v", err)
				}
				if tt.check != nil {
					tt.check(t, p)
				}
				return
			}
			var be *BearerError
			if !errors.As(err, &be) || !errors.Is(err, ErrInvalidToken) || !strings.Contains(be.Description, tt.wantErr) {
				t.Fatalf("Verify = %v, %v; want invalid_token %q", p, err, tt.wantErr)
			}
		})
	}
}

// mintKid signs appClaims with key signKid but names kid in the header.
func mintKid(t *testing.T, keys *staticKeys, signKid, kid string) string {
	t.Helper()
	alg := map[string]jose.SignatureAlgorithm{"es": jose.ES256, "rs": jose.RS256, "ed": jose.EdDSA}[signKid]
	sig, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: jose.JSONWebKey{Key: keys.priv[signKid], KeyID: kid}},
		(&jose.SignerOptions{}).WithType("at+jwt"))
	if err != nil {
		t.Fatal(err)
	}
	tok, err := jwt.Signed(sig).Claims(appClaims()).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func equalPrincipal(a, b *authz.Principal) bool {
	return a.Kind == b.Kind && a.ClientID == b.ClientID && a.ObjectID == b.ObjectID && a.TenantID == b.TenantID &&
		slices.Equal(a.Roles, b.Roles) && slices.Equal(a.Scopes, b.Scopes) && slices.Equal(a.RoleTemplateIDs, b.RoleTemplateIDs) &&
		a.SessionID == b.SessionID && a.TokenID == b.TokenID && a.IssuedAt.Equal(b.IssuedAt)
}

func TestVerifierKeyStoreFailure(t *testing.T) {
	keys := newStaticKeys(t)
	tok := keys.mint(t, "es", jose.ES256, "at+jwt", appClaims())
	keys.err = errors.New("database down")
	v := &Verifier{Keys: keys, Issuer: testIssuer, Audiences: []string{authz.GraphResource}, Now: func() time.Time { return testNow }}
	_, err := v.Verify(context.Background(), tok)
	var be *BearerError
	if err == nil || errors.As(err, &be) {
		t.Fatalf("Verify with a failing key store = %v; want a non-bearer error", err)
	}
	if status, h := Challenge(err, "vigil"); status != http.StatusInternalServerError || h != "" {
		t.Fatalf("Challenge = %d %q", status, h)
	}
}

func TestAuthenticate(t *testing.T) {
	keys := newStaticKeys(t)
	v := &Verifier{Keys: keys, Issuer: testIssuer, Audiences: []string{authz.GraphResource}, Now: func() time.Time { return testNow }}
	good := keys.mint(t, "es", jose.ES256, "at+jwt", appClaims())
	tests := []struct {
		name      string
		headers   []string
		query     string
		wantCode  string // "" success, "none" for ErrNoToken
		challenge string
	}{
		{name: "bearer", headers: []string{"Bearer " + good}},
		{name: "scheme is case-insensitive, extra spaces", headers: []string{"bEaReR   " + good}},
		{name: "no header", wantCode: "none", challenge: `Bearer realm="vigil"`},
		{name: "basic", headers: []string{"Basic dXNlcjpwYXNz"}, wantCode: "none", challenge: `Bearer realm="vigil"`},
		{name: "scheme only", headers: []string{"Bearer"}, wantCode: CodeInvalidRequest,
			challenge: `Bearer realm="vigil", error="invalid_request", error_description="empty bearer token"`},
		{name: "two headers", headers: []string{"Bearer " + good, "Bearer " + good}, wantCode: CodeInvalidRequest},
		{name: "token in query", headers: []string{"Bearer " + good}, query: "access_token=" + good, wantCode: CodeInvalidRequest},
		{name: "bad characters", headers: []string{"Bearer a,b"}, wantCode: CodeInvalidToken,
			challenge: `Bearer realm="vigil", error="invalid_token", error_description="malformed token"`},
		{name: "expired", headers: []string{"Bearer " + keys.mint(t, "es", jose.ES256, "at+jwt", with(appClaims(), "exp", testNow.Add(-time.Hour).Unix()))},
			wantCode: CodeInvalidToken, challenge: `Bearer realm="vigil", error="invalid_token", error_description="token expired"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, "/v1.0/users?"+tt.query, nil)
			for _, h := range tt.headers {
				r.Header.Add("Authorization", h)
			}
			p, err := v.Authenticate(r)
			switch tt.wantCode {
			case "":
				if err != nil || p.ObjectID != "sp-1" {
					t.Fatalf("Authenticate = %+v, %v", p, err)
				}
				return
			case "none":
				if !errors.Is(err, ErrNoToken) {
					t.Fatalf("Authenticate = %v, want ErrNoToken", err)
				}
			default:
				var be *BearerError
				if !errors.As(err, &be) || be.Code != tt.wantCode {
					t.Fatalf("Authenticate = %v, want %s", err, tt.wantCode)
				}
			}
			if tt.challenge != "" {
				if _, h := Challenge(err, "vigil"); h != tt.challenge {
					t.Fatalf("challenge = %s\nwant        %s", h, tt.challenge)
				}
			}
		})
	}
}

func TestChallenge(t *testing.T) {
	tests := []struct {
		name       string
		err        error
		realm      string
		wantStatus int
		want       string
	}{
		{"no token, no realm", ErrNoToken, "", 401, "Bearer"},
		{"no token wrapped", errors.Join(errors.New("x"), ErrNoToken), "r", 401, `Bearer realm="r"`},
		{"invalid request", &BearerError{Code: CodeInvalidRequest, Description: "d"}, "", 400, `Bearer error="invalid_request", error_description="d"`},
		{"insufficient scope", &BearerError{Code: CodeInsufficientScope, Description: "needs User.Read.All", Scope: "User.Read.All"}, "g", 403,
			`Bearer realm="g", error="insufficient_scope", error_description="needs User.Read.All", scope="User.Read.All"`},
		{"quotes are neutralised", invalidToken(`say "hi"\`, nil), `a"b`, 401, `Bearer realm="a?b", error="invalid_token", error_description="say ?hi??"`},
		{"other error", errors.New("boom"), "r", 500, ""},
		{"claims challenge", &BearerError{Code: CodeInsufficientClaims, Description: "d", AuthorizationURI: "https://idp/authorize", Claims: "eyJ9"}, "r", 401,
			`Bearer realm="", authorization_uri="https://idp/authorize", error="insufficient_claims", claims="eyJ9"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, h := Challenge(tt.err, tt.realm)
			if status != tt.wantStatus || h != tt.want {
				t.Fatalf("Challenge = %d %s, want %d %s", status, h, tt.wantStatus, tt.want)
			}
		})
	}
}

func FuzzParseBearer(f *testing.F) {
	for _, s := range []string{"Bearer abc", "bearer  a.b.c", "Basic x", "Bearer", "Bearer ==", "Bearer a=b", " Bearer\tx", "Bearer a/b+c~=="} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, h string) {
		tok, err := parseBearer(h)
		if err != nil {
			var be *BearerError
			if tok != "" || !(errors.Is(err, ErrNoToken) || errors.As(err, &be)) {
				t.Fatalf("parseBearer(%q) = %q, %v", h, tok, err)
			}
			return
		}
		if !isB64Token(tok) || !strings.HasSuffix(strings.TrimRight(h, " \t"), tok) ||
			!strings.EqualFold(strings.Fields(h)[0], "Bearer") {
			t.Fatalf("parseBearer(%q) accepted %q", h, tok)
		}
	})
}

func BenchmarkVerify(b *testing.B) {
	keys := newStaticKeys(b)
	newVerifier := func() *Verifier {
		return &Verifier{Keys: keys, Issuer: testIssuer, Audiences: []string{authz.GraphResource}, Now: func() time.Time { return testNow }}
	}
	for _, k := range []struct {
		kid string
		alg jose.SignatureAlgorithm
	}{{"es", jose.ES256}, {"rs", jose.RS256}, {"ed", jose.EdDSA}} {
		tok := keys.mint(b, k.kid, k.alg, "at+jwt", appClaims())
		b.Run(string(k.alg), func(b *testing.B) { // first sight of a token: signature check
			for b.Loop() {
				if _, err := newVerifier().Verify(context.Background(), tok); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	tok := keys.mint(b, "es", jose.ES256, "at+jwt", appClaims())
	v := newVerifier()
	b.Run("cached", func(b *testing.B) { // the same token again
		for b.Loop() {
			if _, err := v.Verify(context.Background(), tok); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// TestVerifyCache: a token seen before is answered from the cache with a
// principal the caller may change freely, and the cache honours expiry.
func TestVerifyCache(t *testing.T) {
	keys := newStaticKeys(t)
	now := testNow
	v := &Verifier{Keys: keys, Issuer: testIssuer, Audiences: []string{authz.GraphResource}, Now: func() time.Time { return now }}
	tok := keys.mint(t, "es", jose.ES256, "at+jwt", appClaims())
	first, err := v.Verify(context.Background(), tok)
	if err != nil {
		t.Fatal(err)
	}
	first.Roles = nil                       // a caller's change must not reach the cache
	keys.err = errors.New("key store down") // a cached token needs no keys
	second, err := v.Verify(context.Background(), tok)
	if err != nil || len(second.Roles) != 1 || second.ObjectID != "sp-1" {
		t.Fatalf("cached Verify = %+v, %v", second, err)
	}
	now = testNow.Add(time.Hour + ClockSkew) // past exp and the skew
	if _, err := v.Verify(context.Background(), tok); err == nil {
		t.Fatal("an expired token was answered from the cache")
	}
}
