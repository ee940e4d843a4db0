package login

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"golang.org/x/oauth2"

	"github.com/vigil-idp/vigil/internal/oauth"
	"github.com/vigil-idp/vigil/internal/session"
	"github.com/vigil-idp/vigil/internal/store"
	"github.com/vigil-idp/vigil/internal/store/sqlstore"
	"github.com/vigil-idp/vigil/internal/store/sqlstore/sqltest"
)

// flow is one relying party and one browser against one IdP.
type flow struct {
	t        *testing.T
	d        *idp
	b        *browser
	cb       *callback
	rp       *relyingParty
	verifier string
}

func newFlow(t *testing.T, d *idp, app store.Application, scopes ...string) *flow {
	cb := newCallback(t)
	return &flow{t: t, d: d, b: d.browser(t), cb: cb, rp: newRelyingParty(t, d, app.AppID, "", cb.url(), scopes...)}
}

// start opens the authorization URL with PKCE and extra parameters.
func (f *flow) start(extra ...string) page {
	f.t.Helper()
	f.verifier = oauth2.GenerateVerifier()
	opts := []oauth2.AuthCodeOption{oauth2.S256ChallengeOption(f.verifier)}
	for i := 0; i+1 < len(extra); i += 2 {
		opts = append(opts, oauth2.SetAuthURLParam(extra[i], extra[i+1]))
	}
	return f.b.get(f.rp.config.AuthCodeURL("state-1", opts...))
}

// exchange redeems the code of a callback.
func (f *flow) exchange(got url.Values) *oauth2.Token {
	f.t.Helper()
	if got.Get("code") == "" {
		f.t.Fatalf("no code: %v", got)
	}
	tok, err := f.rp.config.Exchange(context.Background(), got.Get("code"), oauth2.VerifierOption(f.verifier))
	if err != nil {
		f.t.Fatal(err)
	}
	return tok
}

// login runs a whole sign-in and returns the tokens.
func (f *flow) login(user, password string, extra ...string) *oauth2.Token {
	f.t.Helper()
	return f.exchange(f.cb.follow(f.t, f.b, f.b.signIn(f.start(extra...), user, password)))
}

// idClaims verifies an ID token with go-oidc and returns its claims.
func (f *flow) idClaims(tok *oauth2.Token) map[string]any {
	f.t.Helper()
	raw, _ := tok.Extra("id_token").(string)
	idt, err := f.rp.verifier.Verify(context.Background(), raw)
	if err != nil {
		f.t.Fatal(err)
	}
	var c map[string]any
	if err := idt.Claims(&c); err != nil {
		f.t.Fatal(err)
	}
	return c
}

// TestSSOAndPrompt: a live session answers silently; prompt=none without
// one is login_required; prompt=login and an exceeded max_age show the form
// again even with a session, and auth_time moves.
func TestSSOAndPrompt(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, st *sqlstore.Store) {
		d := newIDP(t, st)
		cli := d.cliApp(t)
		u := d.newUser(t, "grace@vigil.test", "pw-grace")
		f := newFlow(t, d, cli, "openid", "profile")
		first := f.idClaims(f.login(u.UserPrincipalName, "pw-grace"))

		// SSO: no form, same session.
		p := f.start("prompt", "none")
		second := f.idClaims(f.exchange(f.cb.follow(t, f.b, p)))
		if second["sid"] != first["sid"] || second["auth_time"] != first["auth_time"] {
			t.Fatalf("SSO changed the session: %v vs %v", first, second)
		}

		// Another browser, no cookie: prompt=none fails with login_required.
		other := &flow{t: t, d: d, b: d.browser(t), cb: f.cb, rp: f.rp}
		got := other.cb.follow(t, other.b, other.start("prompt", "none"))
		if got.Get("error") != oauth.CodeLoginRequired || got.Get("state") != "state-1" || got.Get("iss") != d.issuer {
			t.Fatalf("prompt=none without a session: %v", got)
		}

		// prompt=login shows the form despite the session.
		d.clock.Advance(time.Minute)
		p = f.start("prompt", "login")
		if !strings.Contains(p.body, `name="password"`) {
			t.Fatalf("prompt=login did not ask for the password: %d", p.status)
		}
		third := f.idClaims(f.exchange(f.cb.follow(t, f.b, f.b.signIn(p, u.UserPrincipalName, "pw-grace"))))
		if third["sid"] != first["sid"] || third["auth_time"].(float64) <= first["auth_time"].(float64) {
			t.Fatalf("prompt=login: sid %v auth_time %v (first %v %v)", third["sid"], third["auth_time"], first["sid"], first["auth_time"])
		}

		// max_age: within it SSO, beyond it the form (or login_required).
		d.clock.Advance(2 * time.Hour)
		if p := f.start("max_age", "86400"); p.status != http.StatusFound {
			t.Fatalf("max_age not exceeded yet: %d", p.status)
		}
		if p := f.start("max_age", "3600"); !strings.Contains(p.body, `name="password"`) {
			t.Fatalf("max_age exceeded but no form: %d", p.status)
		}
		got = f.cb.follow(t, f.b, f.start("max_age", "3600", "prompt", "none"))
		if got.Get("error") != oauth.CodeLoginRequired {
			t.Fatalf("max_age with prompt=none: %v", got)
		}
	})
}

// TestRevokedUserCannotUseSessionCookie: after the user's
// signInSessionsValidFromDateTime moves, the SSO cookie no longer works:
// prompt=none is login_required and the refresh token is refused.
func TestRevokedUserCannotUseSessionCookie(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, st *sqlstore.Store) {
		d := newIDP(t, st)
		cli := d.cliApp(t)
		u := d.newUser(t, "linus@vigil.test", "pw-linus")
		f := newFlow(t, d, cli, "openid", "offline_access", "User.Read")
		tok := f.login(u.UserPrincipalName, "pw-linus")

		d.clock.Advance(time.Second)
		if _, err := st.UpdateUser(context.Background(), u.ID, func(old store.User) (store.User, error) {
			old.SignInSessionsValidFrom = d.clock.Now().UTC()
			return old, nil
		}); err != nil {
			t.Fatal(err)
		}
		d.clock.Advance(time.Second)
		got := f.cb.follow(t, f.b, f.start("prompt", "none"))
		if got.Get("error") != oauth.CodeLoginRequired {
			t.Fatalf("revoked session still silent: %v", got)
		}
		if p := f.start(); !strings.Contains(p.body, `name="password"`) {
			t.Fatalf("revoked session did not lead to the sign-in form: %d", p.status)
		}
		expired := *tok
		expired.Expiry = time.Now().Add(-time.Minute)
		_, err := f.rp.config.TokenSource(context.Background(), &expired).Token()
		if re := retrieveError(t, err); re.ErrorCode != oauth.CodeInvalidGrant {
			t.Fatalf("refresh after revocation: %v", err)
		}
		// Signing in again works and gives a new session.
		if tok2 := f.login(u.UserPrincipalName, "pw-linus"); f.idClaims(tok2)["sid"] == f.idClaims(tok)["sid"] {
			t.Fatal("the revoked session was reused")
		}
	})
}

// retrieveError unwraps an x/oauth2 token endpoint error.
func retrieveError(t testing.TB, err error) *oauth2.RetrieveError {
	t.Helper()
	re, ok := err.(*oauth2.RetrieveError)
	if !ok {
		t.Fatalf("want an *oauth2.RetrieveError, got %T %v", err, err)
	}
	return re
}

// TestResponseModesAndCapabilities: form_post and fragment deliver the
// code; the claims parameter with cp1 puts xms_cc in access tokens, with
// the CAE lifetime, also after a refresh.
func TestResponseModesAndCapabilities(t *testing.T) {
	d := newIDP(t, sqltest.SQLite(t))
	cli := d.cliApp(t)
	u := d.newUser(t, "kay@vigil.test", "pw-kay")
	f := newFlow(t, d, cli, "openid", "offline_access", "User.Read")
	f.login(u.UserPrincipalName, "pw-kay")

	p := f.start("response_mode", "form_post", "prompt", "none")
	if p.status != http.StatusOK || !strings.Contains(p.header.Get("Content-Security-Policy"), "script-src 'sha256-") {
		t.Fatalf("form_post: %d %v", p.status, p.header)
	}
	action, fields := p.form(t, "")
	if action != f.cb.url() || fields.Get("code") == "" || fields.Get("state") != "state-1" || fields.Get("iss") != d.issuer {
		t.Fatalf("form_post form: %q %v", action, fields)
	}
	f.exchange(fields)

	p = f.start("response_mode", "fragment", "prompt", "none")
	if u, _ := url.Parse(p.location); u == nil || u.RawQuery != "" || u.Fragment == "" {
		t.Fatalf("fragment mode location %q", p.location)
	}
	f.exchange(p.redirectParams(t))

	claims := `{"access_token":{"xms_cc":{"values":["cp1"]}}}`
	tok := f.exchange(f.cb.follow(t, f.b, f.start("claims", claims, "prompt", "none")))
	if _, err := d.verifier.Verify(context.Background(), tok.AccessToken); err != nil {
		t.Fatal(err)
	}
	if xms := accessClaim(t, tok.AccessToken, "xms_cc"); !slices.Equal(asSlice(xms), []any{"cp1"}) {
		t.Fatalf("xms_cc = %v", xms)
	}
	if life := time.Until(tok.Expiry); life < 23*time.Hour {
		t.Fatalf("CAE token lifetime %v, want the 24 h CAE policy", life)
	}
	expired := *tok
	expired.Expiry = time.Now().Add(-time.Minute)
	refreshed, err := f.rp.config.TokenSource(context.Background(), &expired).Token()
	if err != nil {
		t.Fatal(err)
	}
	if xms := accessClaim(t, refreshed.AccessToken, "xms_cc"); !slices.Equal(asSlice(xms), []any{"cp1"}) {
		t.Fatalf("xms_cc after refresh = %v", xms)
	}
	plain := f.exchange(f.cb.follow(t, f.b, f.start("prompt", "none")))
	if xms := accessClaim(t, plain.AccessToken, "xms_cc"); xms != nil {
		t.Fatalf("xms_cc without cp1 = %v", xms)
	}
}

// accessClaim reads one claim of a JWT without verifying it (the tests
// verify separately).
func accessClaim(t testing.TB, raw, name string) any {
	t.Helper()
	tok, err := jwt.ParseSigned(raw, []jose.SignatureAlgorithm{jose.ES256, jose.RS256, jose.EdDSA})
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := tok.UnsafeClaimsWithoutVerification(&m); err != nil {
		t.Fatal(err)
	}
	return m[name]
}

// TestIDTokenAlgorithms: a client's id_token_signed_response_alg decides
// the ID token's algorithm; go-oidc verifies each against the JWK Set.
func TestIDTokenAlgorithms(t *testing.T) {
	d := newIDP(t, sqltest.SQLite(t))
	u := d.newUser(t, "ed@vigil.test", "pw-ed")
	for _, alg := range []string{"", "RS256", "ES256", "EdDSA"} {
		t.Run("alg="+alg, func(t *testing.T) {
			app := d.newApp(t, store.Application{PublicClientRedirectURIs: []string{"http://127.0.0.1/callback"}, IDTokenSignedResponseAlg: alg})
			d.consent(t, app.AppID, "", "00000003-0000-0000-c000-000000000000", "openid", "profile")
			f := newFlow(t, d, app, "openid", "profile")
			tok := f.login(u.UserPrincipalName, "pw-ed")
			raw, _ := tok.Extra("id_token").(string)
			parsed, err := jwt.ParseSigned(raw, oauth.IDTokenAlgorithms)
			if err != nil {
				t.Fatal(err)
			}
			want := alg
			if want == "" {
				want = "RS256"
			}
			if parsed.Headers[0].Algorithm != want {
				t.Fatalf("alg %s, want %s", parsed.Headers[0].Algorithm, want)
			}
			f.idClaims(tok) // go-oidc verification
		})
	}
}

// TestPagesAreSafe: every page sets the security headers, the CSP allows
// exactly the inline style sheet, and the markup has lang and labels.
func TestPagesAreSafe(t *testing.T) {
	d := newIDP(t, sqltest.SQLite(t))
	cli := d.cliApp(t)
	f := newFlow(t, d, cli, "openid")
	p := f.start()
	for k, want := range map[string]string{"X-Frame-Options": "DENY", "Cache-Control": "no-store", "Referrer-Policy": "no-referrer",
		"X-Content-Type-Options": "nosniff"} {
		if got := p.header.Get(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	if csp := p.header.Get("Content-Security-Policy"); csp != contentSecurityPolicy || !strings.Contains(csp, "default-src 'none'") {
		t.Errorf("CSP %q", csp)
	}
	start := strings.Index(p.body, "<style>") + len("<style>")
	end := strings.Index(p.body, "</style>")
	if start < len("<style>") || end < start || p.body[start:end] != styleSheet {
		t.Error("the inline style sheet is not the one the CSP hash allows")
	}
	for _, want := range []string{`<html lang="en">`, `<label for="username">`, `<label for="password">`, `autocomplete="current-password"`, `autofocus`} {
		if !strings.Contains(p.body, want) {
			t.Errorf("sign-in page lacks %s", want)
		}
	}
	setCookies := p.header.Values("Set-Cookie")
	if len(setCookies) != 1 || !strings.Contains(setCookies[0], "HttpOnly") || !strings.Contains(setCookies[0], "SameSite=Strict") {
		t.Errorf("CSRF cookie %v", setCookies)
	}
}

// asSlice returns v as []any, or nil.
func asSlice(v any) []any {
	s, _ := v.([]any)
	return s
}

// TestSignInFrequency: an application's sign-in frequency forces the form
// even with a live SSO cookie (and prompt=none is login_required); other
// applications keep the SSO; signing in again satisfies it.
func TestSignInFrequency(t *testing.T) {
	d := newIDP(t, sqltest.SQLite(t))
	cli := d.cliApp(t)
	strict := d.newApp(t, store.Application{DisplayName: "Strict", PublicClientRedirectURIs: []string{"http://127.0.0.1/callback"}})
	d.consent(t, strict.AppID, "", "00000003-0000-0000-c000-000000000000", "openid")
	hour := time.Hour
	if _, err := d.sessions.PutPolicy(context.Background(), strict.AppID, session.Settings{SignInFrequency: &session.Frequency{Every: hour}}); err != nil {
		t.Fatal(err)
	}
	u := d.newUser(t, "sif@vigil.test", "pw-sif")
	f := newFlow(t, d, cli, "openid")
	f.login(u.UserPrincipalName, "pw-sif")
	s := &flow{t: t, d: d, b: f.b, cb: f.cb, rp: newRelyingParty(t, d, strict.AppID, "", f.cb.url(), "openid")}
	s.exchange(s.cb.follow(t, s.b, s.start("prompt", "none"))) // signed in just now

	d.clock.Advance(2 * time.Hour)
	if got := s.cb.follow(t, s.b, s.start("prompt", "none")); got.Get("error") != oauth.CodeLoginRequired {
		t.Fatalf("sign-in frequency with prompt=none: %v", got)
	}
	p := s.start()
	if !strings.Contains(p.body, `name="password"`) {
		t.Fatalf("sign-in frequency did not show the form: %d", p.status)
	}
	f.exchange(f.cb.follow(t, f.b, f.start("prompt", "none"))) // the CLI keeps its SSO
	s.exchange(s.cb.follow(t, s.b, s.b.signIn(p, u.UserPrincipalName, "pw-sif")))
	s.exchange(s.cb.follow(t, s.b, s.start("prompt", "none")))
}
