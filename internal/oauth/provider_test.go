package oauth

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"flag"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/google/uuid"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/vigil-idp/vigil/internal/authz"
	"github.com/vigil-idp/vigil/internal/secret"
	"github.com/vigil-idp/vigil/internal/store/sqlstore"
	"github.com/vigil-idp/vigil/internal/store/sqlstore/sqltest"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

// golden compares got with testdata/name, or rewrites it under -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs (go test -update rewrites it):\n%s", path, got)
	}
}

// wiredProvider returns a Provider with every required field set.
func wiredProvider(t *testing.T, issuer string) *Provider {
	t.Helper()
	return &Provider{Issuer: issuer, Clients: sqltest.SQLite(t), Secrets: secret.NewHasher(make([]byte, 32)),
		Keys: newStaticKeys(t), Grants: map[string]Grant{GrantClientCredentials: &ClientCredentials{}}}
}

func TestProviderCheck(t *testing.T) {
	tests := []struct {
		name string
		edit func(p *Provider)
		want string
	}{
		{"complete", func(*Provider) {}, ""},
		{"no issuer", func(p *Provider) { p.Issuer = "" }, "not an absolute URL"},
		{"relative issuer", func(p *Provider) { p.Issuer = "/idp" }, "not an absolute URL"},
		{"issuer with query", func(p *Provider) { p.Issuer = "https://vigil.example?x=1" }, "not an absolute URL"},
		{"no clients", func(p *Provider) { p.Clients = nil }, "needs Clients, Secrets and Keys"},
		{"no secrets", func(p *Provider) { p.Secrets = nil }, "needs Clients, Secrets and Keys"},
		{"no grants", func(p *Provider) { p.Grants = nil }, "no Grants"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := wiredProvider(t, "https://vigil.example")
			tt.edit(p)
			err := p.check()
			if (tt.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tt.want)) {
				t.Fatalf("check = %v, want %q", err, tt.want)
			}
			if err != nil {
				defer func() {
					if recover() == nil {
						t.Fatal("Mount did not panic")
					}
				}()
				p.Mount(http.NewServeMux())
			}
		})
	}
}

func TestDiscoveryGolden(t *testing.T) {
	s := wiredProvider(t, "https://vigil.example")
	mux := http.NewServeMux()
	s.Mount(mux)
	for _, path := range []string{PathOpenIDConfiguration, PathOAuthServerMetadata} {
		t.Run(path, func(t *testing.T) {
			rec := httptest.NewRecorder()
			mux.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
			if rec.Code != 200 || rec.Header().Get("Content-Type") != "application/json" ||
				rec.Header().Get("Cache-Control") != "public, max-age=3600" {
				t.Fatalf("%d %v", rec.Code, rec.Header())
			}
			golden(t, "discovery.golden", rec.Body.Bytes())
		})
	}
}

// TestDiscoveryIssuerPath: an issuer with a path serves discovery at
// <issuer>/.well-known/openid-configuration and at RFC 8414 §3's
// /.well-known/oauth-authorization-server/<path>.
func TestDiscoveryIssuerPath(t *testing.T) {
	s := wiredProvider(t, "https://vigil.example/tenant1")
	mux := http.NewServeMux()
	s.Mount(mux)
	for _, path := range []string{"/tenant1/.well-known/openid-configuration", "/.well-known/oauth-authorization-server/tenant1"} {
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		var m Metadata
		if err := json.Unmarshal(rec.Body.Bytes(), &m); err != nil || m.TokenEndpoint != "https://vigil.example/tenant1/token" {
			t.Fatalf("%s: %d %s", path, rec.Code, rec.Body)
		}
	}
}

func TestEndToEnd(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, st *sqlstore.Store) {
		ctx := context.Background()
		d := newIDP(t, st)
		// A secret with every character form-urlencoding changes.
		cli := d.newApp(t, "s3cr+t:/%25 x&y=z", "User.RevokeSessions.All", "User.Read.All", "ssf.read")

		// Discovery through go-oidc.
		provider, err := oidc.NewProvider(ctx, d.issuer)
		if err != nil {
			t.Fatal(err)
		}
		var meta Metadata
		if err := provider.Claims(&meta); err != nil {
			t.Fatal(err)
		}
		if provider.Endpoint().TokenURL != d.issuer+"/token" || meta.JWKSURI != d.issuer+"/jwks" {
			t.Fatalf("discovered %+v / %+v", provider.Endpoint(), meta)
		}
		remoteKeys := oidc.NewRemoteKeySet(ctx, meta.JWKSURI)

		tests := []struct {
			name      string
			style     oauth2.AuthStyle
			scope     string
			wantAud   string
			wantRoles []string
		}{
			{"basic graph", oauth2.AuthStyleInHeader, "https://graph.microsoft.com/.default", authz.GraphResource, []string{"User.Read.All", "User.RevokeSessions.All"}},
			{"post graph appId", oauth2.AuthStyleInParams, authz.GraphAppID + "/.default", authz.GraphResource, []string{"User.Read.All", "User.RevokeSessions.All"}},
			{"basic vigil", oauth2.AuthStyleInHeader, "api://vigil/.default", authz.VigilResource, []string{"ssf.read"}},
			{"autodetect", oauth2.AuthStyleAutoDetect, "https://graph.microsoft.com/.default", authz.GraphResource, []string{"User.Read.All", "User.RevokeSessions.All"}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				cfg := clientcredentials.Config{
					ClientID: cli.application.AppID, ClientSecret: cli.secret, TokenURL: provider.Endpoint().TokenURL,
					Scopes: []string{tt.scope}, AuthStyle: tt.style,
				}
				tok, err := cfg.Token(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if tok.TokenType != "Bearer" || tok.Expiry.IsZero() || tok.Extra("ext_expires_in") == nil {
					t.Fatalf("token response %+v", tok)
				}
				payload, err := remoteKeys.VerifySignature(ctx, tok.AccessToken)
				if err != nil {
					t.Fatalf("go-oidc could not verify the token against the JWKS endpoint: %v", err)
				}
				parsed, err := jwt.ParseSigned(tok.AccessToken, []jose.SignatureAlgorithm{jose.ES256})
				if err != nil {
					t.Fatal(err)
				}
				if h := parsed.Headers[0]; h.ExtraHeaders["typ"] != "at+jwt" || h.Algorithm != "ES256" || h.KeyID == "" {
					t.Fatalf("header %+v", h)
				}
				var c map[string]any
				if err := json.Unmarshal(payload, &c); err != nil {
					t.Fatal(err)
				}
				checkAppClaims(t, c, d, cli, tt.wantAud, tt.wantRoles)

				v := &Verifier{Keys: d.keys, Issuer: d.issuer, Audiences: []string{tt.wantAud}}
				p, err := v.Verify(ctx, tok.AccessToken)
				if err != nil {
					t.Fatal(err)
				}
				if p.Kind != authz.AppOnly || p.ObjectID != cli.sp.ID || p.ClientID != cli.application.AppID ||
					p.TenantID != testTenant || !slices.Equal(p.Roles, tt.wantRoles) || !p.HasRole(tt.wantRoles[0]) {
					t.Fatalf("principal %+v", p)
				}
			})
		}
	})
}

func checkAppClaims(t *testing.T, c map[string]any, d *idp, cli app, aud string, roles []string) {
	t.Helper()
	want := map[string]any{
		"iss": d.issuer, "sub": cli.sp.ID, "oid": cli.sp.ID, "aud": aud, "client_id": cli.application.AppID,
		"appid": cli.application.AppID, "azp": cli.application.AppID, "tid": testTenant, "idtyp": "app", "ver": "2.0",
	}
	for k, v := range want {
		if c[k] != v {
			t.Errorf("claim %s = %v, want %v", k, c[k], v)
		}
	}
	var got []string
	for _, r := range c["roles"].([]any) {
		got = append(got, r.(string))
	}
	if !slices.Equal(got, roles) {
		t.Errorf("roles = %v, want %v", got, roles)
	}
	iat, exp, nbf := c["iat"].(float64), c["exp"].(float64), c["nbf"].(float64)
	if exp-iat != 3600 || nbf != iat || time.Since(time.Unix(int64(iat), 0)) > time.Minute {
		t.Errorf("iat %v nbf %v exp %v", iat, nbf, exp)
	}
	if _, err := uuid.Parse(c["jti"].(string)); err != nil {
		t.Errorf("jti %v: %v", c["jti"], err)
	}
	for _, absent := range []string{"scp", "sid", "wids"} {
		if _, ok := c[absent]; ok {
			t.Errorf("app-only token carries %s", absent)
		}
	}
}

// post sends a raw token request.
func post(t *testing.T, d *idp, target string, header http.Header, body string) (*http.Response, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, target, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for k, vs := range header {
		req.Header.Del(k)
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	resp, err := d.http.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("body %q is not JSON: %v", raw, err)
	}
	return resp, m
}

// basicChallenge is the WWW-Authenticate of every invalid_client 401.
func (d *idp) basicChallenge() string { return `Basic realm="` + d.issuer + `", charset="UTF-8"` }

func basic(id, secret string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(id)+":"+url.QueryEscape(secret)))
}

func TestTokenEndpoint(t *testing.T) {
	st := sqltest.SQLite(t)
	d := newIDP(t, st)
	cli := d.newApp(t, "right-secret", "User.Read.All")
	bare := d.newApp(t, "bare-secret") // no permissions
	noSP := d.newApp(t, "nosp-secret")
	if err := st.DeleteServicePrincipal(context.Background(), noSP.sp.ID); err != nil {
		t.Fatal(err)
	}
	plus := d.newApp(t, "p+q:r")
	rotated := d.newApp(t, "old-secret")
	d.addSecret(t, rotated.application, "new-secret", time.Now().Add(-time.Minute), time.Now().Add(time.Hour))
	expired := d.newApp(t, "unused-secret")
	d.addSecret(t, expired.application, "expired-secret", time.Now().Add(-2*time.Hour), time.Now().Add(-time.Hour))
	d.addSecret(t, expired.application, "future-secret", time.Now().Add(time.Hour), time.Now().Add(2*time.Hour))

	id := cli.application.AppID
	graph := "scope=" + url.QueryEscape("https://graph.microsoft.com/.default")
	cc := "grant_type=client_credentials&" + graph
	post_ := func(appID, secret string) string {
		return cc + "&client_id=" + url.QueryEscape(appID) + "&client_secret=" + url.QueryEscape(secret)
	}
	challenge := d.basicChallenge()
	h := func(kv ...string) http.Header {
		out := http.Header{}
		for i := 0; i < len(kv); i += 2 {
			out.Add(kv[i], kv[i+1])
		}
		return out
	}
	tests := []struct {
		name   string
		path   string // default /token
		header http.Header
		body   string
		status int
		code   string // "" for success
		roles  []string
	}{
		{name: "post", body: post_(id, "right-secret"), status: 200, roles: []string{"User.Read.All"}},
		{name: "basic", header: h("Authorization", basic(id, "right-secret")), body: cc, status: 200, roles: []string{"User.Read.All"}},
		{name: "basic with matching client_id", header: h("Authorization", basic(id, "right-secret")), body: cc + "&client_id=" + id, status: 200, roles: []string{"User.Read.All"}},
		{name: "basic scheme lower-case", header: h("Authorization", "basic "+strings.TrimPrefix(basic(id, "right-secret"), "Basic ")), body: cc, status: 200, roles: []string{"User.Read.All"}},
		{name: "content type with charset", header: h("Content-Type", "application/x-www-form-urlencoded; charset=UTF-8"), body: post_(id, "right-secret"), status: 200, roles: []string{"User.Read.All"}},
		{name: "no permissions: no roles claim", body: post_(bare.application.AppID, "bare-secret"), status: 200},
		{name: "rotated: old secret", body: post_(rotated.application.AppID, "old-secret"), status: 200},
		{name: "rotated: new secret", body: post_(rotated.application.AppID, "new-secret"), status: 200},
		{name: "scope with extra spaces", body: "grant_type=client_credentials&scope=++https://graph.microsoft.com/.default+&client_id=" + id + "&client_secret=right-secret", status: 200, roles: []string{"User.Read.All"}},
		{name: "trailing slash resource (Entra quirk)", body: "grant_type=client_credentials&scope=https://graph.microsoft.com//.default&client_id=" + id + "&client_secret=right-secret", status: 200, roles: []string{"User.Read.All"}},

		{name: "wrong content type", header: h("Content-Type", "application/json"), body: `{"grant_type":"client_credentials"}`, status: 400, code: CodeInvalidRequest},
		{name: "no content type", header: h("Content-Type", ""), body: post_(id, "right-secret"), status: 400, code: CodeInvalidRequest},
		{name: "body too large", body: cc + "&pad=" + strings.Repeat("a", DefaultMaxBodyBytes), status: 413, code: CodeInvalidRequest},
		{name: "malformed form", body: "grant_type=%zz", status: 400, code: CodeInvalidRequest},
		{name: "missing grant_type", body: graph + "&client_id=" + id + "&client_secret=right-secret", status: 400, code: CodeInvalidRequest},
		{name: "empty grant_type", body: "grant_type=&" + graph, status: 400, code: CodeInvalidRequest},
		{name: "unsupported grant", body: "grant_type=password&username=a&password=b", status: 400, code: CodeUnsupportedGrantType},
		{name: "unsupported grant before client auth", body: "grant_type=authorization_code&code=x", status: 400, code: CodeUnsupportedGrantType},
		{name: "repeated parameter", body: post_(id, "right-secret") + "&" + graph, status: 400, code: CodeInvalidRequest},
		{name: "secret in the URL", path: "/token?client_secret=right-secret", body: cc + "&client_id=" + id, status: 400, code: CodeInvalidRequest},
		{name: "no client authentication", body: cc, status: 401, code: CodeInvalidClient},
		{name: "client_id without secret", body: cc + "&client_id=" + id, status: 401, code: CodeInvalidClient},
		{name: "wrong secret, post", body: post_(id, "wrong"), status: 401, code: CodeInvalidClient},
		{name: "unknown client, post", body: post_(uuid.NewString(), "right-secret"), status: 401, code: CodeInvalidClient},
		{name: "wrong secret, basic", header: h("Authorization", basic(id, "wrong")), body: cc, status: 401, code: CodeInvalidClient},
		{name: "unknown client, basic", header: h("Authorization", basic(uuid.NewString(), "x")), body: cc, status: 401, code: CodeInvalidClient},
		{name: "basic not base64", header: h("Authorization", "Basic !!!"), body: cc, status: 401, code: CodeInvalidClient},
		{name: "basic without colon", header: h("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(id))), body: cc, status: 401, code: CodeInvalidClient},
		{name: "basic with bad escaping", header: h("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(id+":%zz"))), body: cc, status: 401, code: CodeInvalidClient},
		{name: "basic, form-encoded + and :", header: h("Authorization", basic(plus.application.AppID, "p+q:r")), body: cc, status: 200},
		{name: "basic, raw + means space", header: h("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(plus.application.AppID+":p+q:r"))), body: cc, status: 401, code: CodeInvalidClient},
		{name: "basic, unknown client, empty password", header: h("Authorization", basic(uuid.NewString(), "")), body: cc, status: 401, code: CodeInvalidClient},
		{name: "basic, confidential client, empty password", header: h("Authorization", basic(id, "")), body: cc, status: 401, code: CodeInvalidClient},
		{name: "bearer instead of client authentication", header: h("Authorization", "Bearer abc"), body: cc, status: 401, code: CodeInvalidClient},
		{name: "empty client_secret", body: cc + "&client_id=" + id + "&client_secret=", status: 401, code: CodeInvalidClient},
		{name: "basic and client_secret", header: h("Authorization", basic(id, "right-secret")), body: cc + "&client_secret=right-secret", status: 400, code: CodeInvalidRequest},
		{name: "basic and other client_id", header: h("Authorization", basic(id, "right-secret")), body: cc + "&client_id=" + uuid.NewString(), status: 400, code: CodeInvalidRequest},
		{name: "two Authorization headers", header: h("Authorization", basic(id, "right-secret"), "Authorization", basic(id, "right-secret")), body: cc, status: 400, code: CodeInvalidRequest},
		{name: "expired secret", body: post_(expired.application.AppID, "expired-secret"), status: 401, code: CodeInvalidClient},
		{name: "secret not yet valid", body: post_(expired.application.AppID, "future-secret"), status: 401, code: CodeInvalidClient},
		{name: "missing scope", body: "grant_type=client_credentials&client_id=" + id + "&client_secret=right-secret", status: 400, code: CodeInvalidScope},
		{name: "delegated scope", body: "grant_type=client_credentials&scope=User.Read.All&client_id=" + id + "&client_secret=right-secret", status: 400, code: CodeInvalidScope},
		{name: "resource scope", body: "grant_type=client_credentials&scope=https://graph.microsoft.com/User.Read.All&client_id=" + id + "&client_secret=right-secret", status: 400, code: CodeInvalidScope},
		{name: "two resources", body: "grant_type=client_credentials&scope=https://graph.microsoft.com/.default+api://vigil/.default&client_id=" + id + "&client_secret=right-secret", status: 400, code: CodeInvalidScope},
		{name: "unknown resource", body: "grant_type=client_credentials&scope=api://nope/.default&client_id=" + id + "&client_secret=right-secret", status: 400, code: CodeInvalidScope},
		{name: "invalid scope character", body: "grant_type=client_credentials&scope=%22x%22/.default&client_id=" + id + "&client_secret=right-secret", status: 400, code: CodeInvalidScope},
		{name: "no service principal", body: post_(noSP.application.AppID, "nosp-secret"), status: 400, code: CodeUnauthorizedClient},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := cmpStr(tt.path, "/token")
			resp, body := post(t, d, d.issuer+path, tt.header, tt.body)
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d: %v", resp.StatusCode, tt.status, body)
			}
			if resp.Header.Get("Cache-Control") != "no-store" || resp.Header.Get("Pragma") != "no-cache" {
				t.Errorf("caching headers %v", resp.Header)
			}
			// Every 401 carries a challenge (RFC 6749 §5.2, RFC 9110
			// §15.5.2), however the client tried to authenticate.
			want := ""
			if tt.status == http.StatusUnauthorized {
				want = challenge
			}
			if got := resp.Header.Get("WWW-Authenticate"); got != want {
				t.Errorf("WWW-Authenticate = %q, want %q", got, want)
			}
			if tt.code != "" {
				if body["error"] != tt.code || body["error_description"] == "" || len(body) != 2 {
					t.Fatalf("body %v, want error %s with a description", body, tt.code)
				}
				return
			}
			if body["token_type"] != "Bearer" || body["expires_in"] != 3600.0 || body["ext_expires_in"] != 3600.0 || body["access_token"] == "" {
				t.Fatalf("body %v", body)
			}
			p, err := (&Verifier{Keys: d.keys, Issuer: d.issuer, Audiences: []string{authz.GraphResource}}).Verify(context.Background(), body["access_token"].(string))
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(p.Roles, tt.roles) {
				t.Fatalf("roles %v, want %v", p.Roles, tt.roles)
			}
		})
	}
}

// TestErrorDescriptionQuoting: values echoed in error_description are
// quoted with single quotes, which RFC 6749 §5.2 allows, so clients read
// them as sent (a double quote would become '?').
func TestErrorDescriptionQuoting(t *testing.T) {
	d := newIDP(t, sqltest.SQLite(t))
	cli := d.newApp(t, "right-secret", "User.Read.All")
	auth := http.Header{"Authorization": {basic(cli.application.AppID, "right-secret")}}
	for _, tt := range []struct {
		name, body, want string
	}{
		{"unsupported grant_type", "grant_type=foo", "grant_type 'foo' is not supported"},
		{"repeated parameter", "grant_type=client_credentials&scope=a&scope=b", "parameter 'scope' is repeated"},
		{"scope not .default", "grant_type=client_credentials&scope=User.Read", "scope 'User.Read' is not <resource>/.default"},
		{"unknown resource", "grant_type=client_credentials&scope=api://nope/.default", "unknown resource 'api://nope'"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := post(t, d, d.issuer+PathToken, auth, tt.body)
			if resp.StatusCode != http.StatusBadRequest || body["error_description"] != tt.want {
				t.Fatalf("%d %v, want error_description %q", resp.StatusCode, body, tt.want)
			}
		})
	}
}

func cmpStr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func TestTokenEndpointMethods(t *testing.T) {
	d := newIDP(t, sqltest.SQLite(t))
	for _, m := range []string{http.MethodGet, http.MethodPut, http.MethodDelete} {
		req, _ := http.NewRequest(m, d.issuer+"/token", nil)
		resp, err := d.http.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var body map[string]string
		_ = json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		if resp.StatusCode != 405 || resp.Header.Get("Allow") != "POST" || body["error"] != CodeInvalidRequest {
			t.Errorf("%s /token: %d %v %v", m, resp.StatusCode, resp.Header, body)
		}
	}
}

func TestJWKSEndpoint(t *testing.T) {
	d := newIDP(t, sqltest.SQLite(t))
	resp, err := d.http.Client().Get(d.issuer + "/jwks")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || resp.Header.Get("Cache-Control") != "public, max-age=3600" ||
		resp.Header.Get("Content-Type") != "application/jwk-set+json" {
		t.Fatalf("%d %v", resp.StatusCode, resp.Header)
	}
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(raw, &set); err != nil {
		t.Fatal(err)
	}
	var algs []string
	for _, k := range set.Keys {
		if !k.IsPublic() || k.Use != "sig" {
			t.Errorf("key %s: public %v use %q", k.KeyID, k.IsPublic(), k.Use)
		}
		algs = append(algs, k.Algorithm)
	}
	slices.Sort(algs)
	if !slices.Equal(algs, []string{"ES256", "RS256"}) {
		t.Fatalf("algorithms %v", algs)
	}
	if bytes.Contains(raw, []byte(`"d"`)) {
		t.Fatal("private key material in the JWK Set")
	}
}

// TestTokenExpiry: the Verifier accepts an issued token until exp + skew.
func TestTokenExpiry(t *testing.T) {
	d := newIDP(t, sqltest.SQLite(t))
	cli := d.newApp(t, "secret-1", "User.Read.All")
	cfg := clientcredentials.Config{ClientID: cli.application.AppID, ClientSecret: cli.secret, TokenURL: d.issuer + "/token",
		Scopes: []string{authz.GraphResource + "/.default"}}
	tok, err := cfg.Token(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequest(http.MethodGet, "/v1.0/users", nil)
	r.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	if _, err := d.verifier.Authenticate(r); err != nil {
		t.Fatal(err)
	}
	d.clock.Advance(time.Hour + ClockSkew - 2*time.Second)
	if _, err := d.verifier.Authenticate(r); err != nil {
		t.Fatalf("rejected within the skew: %v", err)
	}
	d.clock.Advance(2 * time.Second)
	if _, err := d.verifier.Authenticate(r); !isInvalidToken(err) {
		t.Fatalf("expired token: %v", err)
	}
}

func isInvalidToken(err error) bool {
	_, h := Challenge(err, "")
	return strings.Contains(h, `error="invalid_token"`)
}

// TestNoTenant: a store that was never bootstrapped gives server_error, and
// the reason stays in the logs.
func TestNoTenant(t *testing.T) {
	st := sqltest.SQLite(t)
	d := newIDP(t, st)
	fresh := sqltest.SQLite(t)
	cli := d.newApp(t, "secret-1", "User.Read.All")
	d.server.Grants[GrantClientCredentials].(*ClientCredentials).Tokens.Meta = fresh
	resp, body := post(t, d, d.issuer+"/token", nil, "grant_type=client_credentials&scope=api://vigil/.default&client_id="+
		cli.application.AppID+"&client_secret=secret-1")
	if resp.StatusCode != 500 || body["error"] != CodeServerError || strings.Contains(body["error_description"].(string), "tenant") {
		t.Fatalf("%d %v", resp.StatusCode, body)
	}
}

func FuzzParseBasic(f *testing.F) {
	for _, s := range []string{basic("id", "secret"), basic("a:b", "c+d %"), "Basic ", "Basic Og==", "Basic " + base64.StdEncoding.EncodeToString([]byte("a%zz:b")), "basic  YTpi"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, h string) {
		id, secret, err := parseBasic(h)
		if err != nil {
			if id != "" || secret != "" {
				t.Fatalf("error with values %q %q", id, secret)
			}
			return
		}
		if id == "" || secret == "" {
			t.Fatalf("parseBasic(%q) accepted empty credentials", h)
		}
		// Re-encoding the parsed values and parsing again is stable.
		id2, secret2, err := parseBasic(basic(id, secret))
		if err != nil || id2 != id || secret2 != secret {
			t.Fatalf("round trip of %q %q: %q %q %v", id, secret, id2, secret2, err)
		}
	})
}

func FuzzParseScope(f *testing.F) {
	for _, s := range []string{"https://graph.microsoft.com/.default", "a  b", "", " ", "\"", "a\tb", "openid profile offline_access"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		toks, err := parseScope(s)
		if err != nil {
			return
		}
		if strings.Join(toks, " ") != strings.Join(strings.Fields(s), " ") {
			t.Fatalf("parseScope(%q) = %q", s, toks)
		}
		for _, tok := range toks {
			if tok == "" || strings.ContainsAny(tok, "\"\\ ") {
				t.Fatalf("parseScope(%q) kept token %q", s, tok)
			}
		}
		if res, err := defaultScopeResource(toks); err == nil && len(toks) != 1 {
			t.Fatalf("defaultScopeResource(%q) = %s", toks, res.AppID)
		}
	})
}

// FuzzTokenEndpoint sends arbitrary bodies and headers: every answer is a
// JSON token response or an RFC 6749 error, never a 5xx, and never cached.
func FuzzTokenEndpoint(f *testing.F) {
	d := newIDP(f, sqltest.SQLite(f))
	cli := d.newApp(f, "fuzz-secret", "User.Read.All")
	f.Add("grant_type=client_credentials&scope=api://vigil/.default&client_id="+cli.application.AppID+"&client_secret=fuzz-secret", "", "application/x-www-form-urlencoded")
	f.Add("grant_type=client_credentials&scope=https://graph.microsoft.com/.default", basic(cli.application.AppID, "fuzz-secret"), "application/x-www-form-urlencoded")
	f.Add("grant_type=password", "Bearer x", "text/plain")
	f.Add("a=%", "Basic Og==", "application/x-www-form-urlencoded; charset=\"")
	f.Fuzz(func(t *testing.T, body, auth, contentType string) {
		req := httptest.NewRequest(http.MethodPost, "/token", strings.NewReader(body))
		req.Header.Set("Content-Type", contentType)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		rec := httptest.NewRecorder()
		d.server.token(rec, req)
		var m map[string]any
		if rec.Code >= 500 || rec.Header().Get("Cache-Control") != "no-store" || json.Unmarshal(rec.Body.Bytes(), &m) != nil {
			t.Fatalf("%d %v %s", rec.Code, rec.Header(), rec.Body)
		}
		if _, ok := m["error"]; ok == (rec.Code == 200) {
			t.Fatalf("status %d with body %v", rec.Code, m)
		}
	})
}

func BenchmarkClientCredentials(b *testing.B) {
	d := newIDP(b, sqltest.SQLite(b))
	cli := d.newApp(b, "bench-secret", "User.Read.All", "User.RevokeSessions.All")
	body := "grant_type=client_credentials&scope=https%3A%2F%2Fgraph.microsoft.com%2F.default"
	auth := basic(cli.application.AppID, "bench-secret")
	for b.Loop() {
		req := httptest.NewRequest(http.MethodPost, "/token", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Authorization", auth)
		rec := httptest.NewRecorder()
		d.server.token(rec, req)
		if rec.Code != 200 {
			b.Fatalf("%d %s", rec.Code, rec.Body)
		}
	}
}
