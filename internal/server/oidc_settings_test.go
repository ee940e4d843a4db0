package server

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/google/uuid"
	"golang.org/x/oauth2"

	"github.com/vigil-idp/vigil/internal/store/sqlstore/sqltest"
)

// TestOIDCSettingsThroughTheVigilAPI: a relying party registered through
// Graph gets its OpenID Connect client settings through the Vigil API, and
// the token service honours each one from the next request on: RP-initiated
// logout redirects to the registered post_logout_redirect_uri (refused
// before), the code exchange yields an ES256 ID token that go-oidc verifies
// (RS256 before, although the client was already in the lookup cache), and
// private_key_jwt with the registered key authenticates the client at
// /token.
func TestOIDCSettingsThroughTheVigilAPI(t *testing.T) {
	for name, dsn := range map[string]func(t *testing.T) string{
		"sqlite":   func(*testing.T) string { return "" },
		"postgres": func(t *testing.T) string { return sqltest.PostgresDSN(t) },
	} {
		t.Run(name, func(t *testing.T) { testOIDCSettings(t, dsn(t)) })
	}
}

func testOIDCSettings(t *testing.T, dsn string) {
	ctx := context.Background()
	cfg := testConfig(t, dsn)
	srv := start(t, cfg)
	issuer := cfg.IssuerURL()
	f, _ := readBootstrap(t, cfg.DataDir)
	graph := graphToken(t, issuer, f)
	vigil := vigilToken(t, srv.base, f) // the bootstrap client holds every Vigil permission
	provider, err := oidc.NewProvider(ctx, issuer)
	if err != nil {
		t.Fatal(err)
	}

	// The relying party, registered through Graph.
	const callback, signedOut = "https://rp.example/callback", "https://rp.example/signed-out"
	code, _, app := call(t, "POST", srv.base+"/v1.0/applications", graph, `{"displayName":"Relying party","web":{"redirectUris":["`+callback+`"]}}`)
	if code != http.StatusCreated {
		t.Fatalf("create application: %d %v", code, app)
	}
	appID := app["appId"].(string)
	code, _, pw := call(t, "POST", srv.base+"/v1.0/applications/"+app["id"].(string)+"/addPassword", graph, `{"passwordCredential":{"displayName":"rp"}}`)
	if code != http.StatusOK {
		t.Fatalf("addPassword: %d %v", code, pw)
	}
	if code, _, sp := call(t, "POST", srv.base+"/v1.0/servicePrincipals", graph, `{"appId":"`+appID+`"}`); code != http.StatusCreated {
		t.Fatalf("create service principal: %d %v", code, sp)
	}
	rp := oauth2.Config{ClientID: appID, ClientSecret: pw["secretText"].(string), Endpoint: provider.Endpoint(),
		RedirectURL: callback, Scopes: []string{oidc.ScopeOpenID}}
	b := newBrowser(t, issuer)

	// Before: RS256 ID tokens (and the client is now in the lookup cache);
	// the post-logout URI is not registered.
	tok := b.codeFlow(&rp, f.Admin.UserPrincipalName, f.Admin.Password)
	if alg := idTokenAlg(t, tok); alg != "RS256" {
		t.Fatalf("ID token before the PATCH: %s, want RS256", alg)
	}
	var meta struct {
		EndSession string `json:"end_session_endpoint"`
	}
	if err := provider.Claims(&meta); err != nil || meta.EndSession == "" {
		t.Fatalf("discovery names no end_session_endpoint: %v", err)
	}
	logout := meta.EndSession + "?"
	if p := b.get(logout + url.Values{"client_id": {appID}, "post_logout_redirect_uri": {signedOut}}.Encode()); p.status != http.StatusBadRequest || p.location != "" {
		t.Fatalf("logout to an unregistered URI: %d %q", p.status, p.location)
	}

	// The relying party's back-channel logout endpoint (OpenID Connect
	// Back-Channel Logout 1.0 §2.5), on loopback.
	logoutTokens := make(chan string, 4)
	bc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err == nil && r.Method == http.MethodPost {
			logoutTokens <- r.PostForm.Get("logout_token")
		}
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(bc.Close)

	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	jwk, _ := json.Marshal(jose.JSONWebKey{Key: &key.PublicKey, KeyID: "rp-key-1", Use: "sig"})
	code, _, settings := call(t, "PATCH", srv.base+"/vigil/v1/applications/"+appID+"/oidc", vigil,
		`{"post_logout_redirect_uris":["`+signedOut+`"],"id_token_signed_response_alg":"ES256","jwks":{"keys":[`+string(jwk)+`]},`+
			`"backchannel_logout_uri":"`+bc.URL+`/backchannel"}`)
	if code != http.StatusOK || settings["id_token_signed_response_alg"] != "ES256" {
		t.Fatalf("PATCH oidc settings: %d %v", code, settings)
	}

	// After: the code is redeemed with private_key_jwt (no secret), and
	// the ID token is ES256.
	rp.ClientSecret = ""
	rp.Endpoint.AuthStyle = oauth2.AuthStyleInParams
	tok = b.codeFlow(&rp, "", "", assertionOptions(t, key, "rp-key-1", appID, provider.Endpoint().TokenURL)...)
	raw, _ := tok.Extra("id_token").(string)
	idt, err := provider.Verifier(&oidc.Config{ClientID: appID, SupportedSigningAlgs: []string{"ES256"}}).Verify(ctx, raw)
	if err != nil {
		t.Fatalf("the ID token after the PATCH does not verify as ES256 with go-oidc: %v", err)
	}
	if idt.Subject == "" || idt.Nonce != "n-2" {
		t.Errorf("ID token subject %q nonce %q", idt.Subject, idt.Nonce)
	}
	// An assertion signed by a key the client did not register is refused.
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	form := url.Values{"grant_type": {"client_credentials"}, "scope": {"https://graph.microsoft.com/.default"}, "client_id": {appID}}
	for _, o := range assertionParams(t, other, "rp-key-1", appID, provider.Endpoint().TokenURL) {
		form.Set(o[0], o[1])
	}
	resp, err := http.PostForm(provider.Endpoint().TokenURL, form)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(string(body), "invalid_client") {
		t.Fatalf("assertion by an unregistered key: %d %s", resp.StatusCode, body)
	}

	// RP-initiated logout now lands on the registered URI.
	p := b.get(logout + url.Values{"id_token_hint": {raw}, "post_logout_redirect_uri": {signedOut}, "state": {"s1"}}.Encode())
	if p.location != signedOut+"?state=s1" {
		t.Fatalf("logout: %d %q\n%s", p.status, p.location, p.body)
	}

	// The session's end reaches the relying party's back-channel logout
	// endpoint: a logout token signed with the issuer's keys, for this
	// client and this session.
	var lt string
	select {
	case lt = <-logoutTokens:
	case <-time.After(10 * time.Second):
		t.Fatal("no back-channel logout request within 10 s")
	}
	payload, err := oidc.NewRemoteKeySet(ctx, issuer+"/jwks").VerifySignature(ctx, lt)
	if err != nil {
		t.Fatalf("logout token does not verify with the issuer's JWKS: %v", err)
	}
	var claims struct {
		Iss    string                     `json:"iss"`
		Aud    any                        `json:"aud"`
		SID    string                     `json:"sid"`
		Nonce  *string                    `json:"nonce"`
		Events map[string]json.RawMessage `json:"events"`
	}
	if err := json.Unmarshal(payload, &claims); err != nil {
		t.Fatal(err)
	}
	var idClaims struct {
		SID string `json:"sid"`
	}
	if err := idt.Claims(&idClaims); err != nil || idClaims.SID == "" {
		t.Fatalf("ID token sid: %q %v", idClaims.SID, err)
	}
	_, hasEvent := claims.Events["http://schemas.openid.net/event/backchannel-logout"]
	if claims.Iss != issuer || !strings.Contains(jsonString(claims.Aud), appID) || claims.SID != idClaims.SID || claims.Nonce != nil || !hasEvent {
		t.Fatalf("logout token claims %s", payload)
	}
}

func jsonString(v any) string { b, _ := json.Marshal(v); return string(b) }

// idTokenAlg is the alg of the token's ID token.
func idTokenAlg(t *testing.T, tok *oauth2.Token) string {
	t.Helper()
	raw, _ := tok.Extra("id_token").(string)
	jws, err := jose.ParseSigned(raw, []jose.SignatureAlgorithm{jose.RS256, jose.ES256, jose.EdDSA})
	if err != nil {
		t.Fatalf("ID token %q: %v", raw, err)
	}
	return jws.Signatures[0].Header.Algorithm
}

// assertionParams are the parameters of private_key_jwt (RFC 7523 §2.2)
// for clientID, signed by key under kid.
func assertionParams(t *testing.T, key *ecdsa.PrivateKey, kid, clientID, aud string) [][2]string {
	t.Helper()
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: key}, (&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", kid))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	a, err := jwt.Signed(signer).Claims(jwt.Claims{Issuer: clientID, Subject: clientID, Audience: jwt.Audience{aud},
		IssuedAt: jwt.NewNumericDate(now), Expiry: jwt.NewNumericDate(now.Add(5 * time.Minute)), ID: uuid.NewString()}).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return [][2]string{{"client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"}, {"client_assertion", a}}
}

func assertionOptions(t *testing.T, key *ecdsa.PrivateKey, kid, clientID, aud string) []oauth2.AuthCodeOption {
	var out []oauth2.AuthCodeOption
	for _, p := range assertionParams(t, key, kid, clientID, aud) {
		out = append(out, oauth2.SetAuthURLParam(p[0], p[1]))
	}
	return out
}

// browser is a user agent with a cookie jar that follows redirects on the
// issuer's origin and stops at any other (the relying party's).
type browser struct {
	t      *testing.T
	client *http.Client
	base   string
	flows  int
}

func newBrowser(t *testing.T, issuer string) *browser {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	iss, _ := url.Parse(issuer)
	return &browser{t: t, base: iss.Scheme + "://" + iss.Host, client: &http.Client{Jar: jar, Timeout: 30 * time.Second,
		CheckRedirect: func(req *http.Request, _ []*http.Request) error {
			if req.URL.Host != iss.Host {
				return http.ErrUseLastResponse
			}
			return nil
		}}}
}

// page is a response as the browser saw it.
type page struct {
	status         int
	location, body string
}

func (b *browser) do(method, u string, form url.Values) page {
	b.t.Helper()
	req, err := http.NewRequest(method, u, strings.NewReader(form.Encode()))
	if err != nil {
		b.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := b.client.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return page{status: resp.StatusCode, location: resp.Header.Get("Location"), body: string(body)}
}

func (b *browser) get(u string) page { return b.do(http.MethodGet, u, nil) }

var (
	formRE   = regexp.MustCompile(`<form method="post" action="([^"]*)">`)
	hiddenRE = regexp.MustCompile(`<input type="hidden" name="([^"]*)" value="([^"]*)">`)
)

// submit posts the page's form, hidden fields and extra.
func (b *browser) submit(p page, extra url.Values) page {
	b.t.Helper()
	m := formRE.FindStringSubmatch(p.body)
	if m == nil {
		b.t.Fatalf("no form on the page (%d):\n%s", p.status, p.body)
	}
	v := url.Values{}
	for _, h := range hiddenRE.FindAllStringSubmatch(p.body, -1) {
		v.Set(html.UnescapeString(h[1]), html.UnescapeString(h[2]))
	}
	for k, vals := range extra {
		v[k] = vals
	}
	return b.do(http.MethodPost, b.base+html.UnescapeString(m[1]), v)
}

// codeFlow runs authorization code + PKCE for rp: it signs in when the
// sign-in page shows (username, password), accepts the consent page for
// the organization when it shows, and redeems the code with opts. The
// nonce of the n-th flow is "n-<n>".
func (b *browser) codeFlow(rp *oauth2.Config, username, password string, opts ...oauth2.AuthCodeOption) *oauth2.Token {
	b.t.Helper()
	b.flows++
	verifier := oauth2.GenerateVerifier()
	state, nonce := "st-"+uuid.NewString(), "n-"+strconv.Itoa(b.flows)
	p := b.get(rp.AuthCodeURL(state, oidc.Nonce(nonce), oauth2.S256ChallengeOption(verifier)))
	if strings.Contains(p.body, `name="password"`) {
		p = b.submit(p, url.Values{"username": {username}, "password": {password}})
	}
	if strings.Contains(p.body, `name="for_org"`) {
		p = b.submit(p, url.Values{"action": {"accept"}, "for_org": {"1"}})
	}
	u, err := url.Parse(p.location)
	if err != nil || !strings.HasPrefix(p.location, rp.RedirectURL) || u.Query().Get("state") != state || u.Query().Get("code") == "" {
		b.t.Fatalf("authorization did not return a code: %d %q\n%s", p.status, p.location, p.body)
	}
	tok, err := rp.Exchange(context.Background(), u.Query().Get("code"), append(opts, oauth2.VerifierOption(verifier))...)
	if err != nil {
		b.t.Fatalf("code exchange: %v", err)
	}
	return tok
}
