package login

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/vigil-idp/vigil/internal/oauth"
	"github.com/vigil-idp/vigil/internal/store"
	"github.com/vigil-idp/vigil/internal/store/sqlstore"
	"github.com/vigil-idp/vigil/internal/store/sqlstore/sqltest"
)

// TestAuthorizeErrors: requests that cannot be trusted with a redirect get
// an error page and no Location; the others are redirected with error,
// state and iss.
func TestAuthorizeErrors(t *testing.T) {
	d := newIDP(t, sqltest.SQLite(t))
	cli := d.cliApp(t)
	web := d.newApp(t, store.Application{WebRedirectURIs: []string{"https://rp.example/cb"}})
	b := d.browser(t)
	const challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
	base := url.Values{"client_id": {cli.AppID}, "redirect_uri": {"http://127.0.0.1:4567/callback"}, "response_type": {"code"},
		"scope": {"openid"}, "state": {"xyz"}, "code_challenge": {challenge}, "code_challenge_method": {"S256"}}
	with := func(kv ...string) url.Values {
		v := url.Values{}
		for k, vals := range base {
			v[k] = append([]string(nil), vals...)
		}
		for i := 0; i+1 < len(kv); i += 2 {
			if kv[i+1] == "<del>" {
				v.Del(kv[i])
			} else {
				v.Set(kv[i], kv[i+1])
			}
		}
		return v
	}
	pageTests := []struct {
		name   string
		params url.Values
	}{
		{"unknown client", with("client_id", "00000000-0000-0000-0000-000000000000")},
		{"no client", with("client_id", "<del>")},
		{"no redirect_uri", with("redirect_uri", "<del>")},
		{"unregistered redirect_uri", with("redirect_uri", "https://evil.example/callback")},
		{"registered host, other path", with("redirect_uri", "http://127.0.0.1:4567/evil")},
		{"malformed redirect_uri", with("redirect_uri", "http://127.0.0.1:4567/callback#frag")},
		{"javascript redirect_uri", with("redirect_uri", "javascript:alert(1)")},
		{"redirect_uri of another app", with("redirect_uri", web.WebRedirectURIs[0])},
		{"repeated redirect_uri", func() url.Values { v := with(); v.Add("redirect_uri", "https://evil.example/"); return v }()},
	}
	for _, tt := range pageTests {
		t.Run(tt.name, func(t *testing.T) {
			p := b.get(d.issuer + "/authorize?" + tt.params.Encode())
			if p.status != http.StatusBadRequest || p.location != "" || !strings.Contains(p.body, "Sign-in request refused") {
				t.Fatalf("got %d location %q:\n%s", p.status, p.location, p.body)
			}
		})
	}
	// A confidential (web) client, redirected to its registered URI.
	confidential := func(kv ...string) url.Values {
		return with(append([]string{"client_id", web.AppID, "redirect_uri", web.WebRedirectURIs[0]}, kv...)...)
	}
	redirectTests := []struct {
		name   string
		params url.Values
		code   string
		desc   string // the exact error_description, when set
	}{
		{"no response_type", with("response_type", "<del>"), oauth.CodeInvalidRequest, ""},
		{"token response_type", with("response_type", "token"), oauth.CodeUnsupportedResponseType, ""},
		{"no scope", with("scope", "<del>"), oauth.CodeInvalidScope, ""},
		{"unknown scope", with("scope", "openid Mail.Send"), oauth.CodeInvalidScope, ""},
		{"two resources", with("scope", "User.Read api://vigil/Vigil.Sessions.ReadWrite.All"), oauth.CodeInvalidScope, ""},
		{"unknown resource", with("resource", "https://nope.example"), oauth.CodeInvalidTarget, ""},
		{"public client without PKCE", with("code_challenge", "<del>", "code_challenge_method", "<del>"), oauth.CodeInvalidRequest, ""},
		{"public client with plain", with("code_challenge_method", "plain"), oauth.CodeInvalidRequest, "unsupported code_challenge_method 'plain'"},
		{"public client, no method (plain)", with("code_challenge_method", "<del>"), oauth.CodeInvalidRequest, "unsupported code_challenge_method 'plain'"},
		{"confidential client with plain", confidential("code_challenge_method", "plain"), oauth.CodeInvalidRequest, "unsupported code_challenge_method 'plain'"},
		{"confidential client, no method (plain)", confidential("code_challenge_method", "<del>"), oauth.CodeInvalidRequest, "unsupported code_challenge_method 'plain'"},
		{"unknown method", with("code_challenge_method", "S512"), oauth.CodeInvalidRequest, "unsupported code_challenge_method 'S512'"},
		{"bad prompt", with("prompt", "none login"), oauth.CodeInvalidRequest, ""},
		{"bad max_age", with("max_age", "-1"), oauth.CodeInvalidRequest, ""},
		{"bad claims", with("claims", "{"), oauth.CodeInvalidRequest, ""},
		{"claim not an object", with("claims", `{"id_token":{"email":1}}`), oauth.CodeInvalidRequest, "claims member 'id_token': claim 'email' must be null or an object"},
		{"request object", with("request", "eyJ.eyJ.sig"), oauth.CodeRequestNotSupported, ""},
		{"request_uri", with("request_uri", "urn:x"), oauth.CodeRequestURINotSupported, ""},
		{"repeated scope", func() url.Values { v := with(); v.Add("scope", "profile"); return v }(), oauth.CodeInvalidRequest, ""},
		{"bad response_mode", with("response_mode", "web_message"), oauth.CodeInvalidRequest, ""},
	}
	for _, tt := range redirectTests {
		t.Run(tt.name, func(t *testing.T) {
			p := b.get(d.issuer + "/authorize?" + tt.params.Encode())
			if !strings.HasPrefix(p.location, tt.params.Get("redirect_uri")+"?") {
				t.Fatalf("want a redirect to the client, got %d %q", p.status, p.location)
			}
			got := p.redirectParams(t)
			if got.Get("error") != tt.code || got.Get("state") != "xyz" || got.Get("iss") != d.issuer || got.Get("error_description") == "" {
				t.Fatalf("redirected %v, want error %s", got, tt.code)
			}
			if tt.desc != "" && got.Get("error_description") != tt.desc {
				t.Errorf("error_description %q, want %q", got.Get("error_description"), tt.desc)
			}
		})
	}
	t.Run("POST authorization request", func(t *testing.T) {
		p := b.post(d.issuer+"/authorize", with())
		if p.status != http.StatusOK || !strings.Contains(p.body, `name="password"`) {
			t.Fatalf("POST /authorize: %d", p.status)
		}
	})
}

// postToken sends a raw token request and decodes the answer.
func postToken(t testing.TB, d *idp, form url.Values, basic ...string) (int, map[string]any, http.Header) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, d.issuer+"/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if len(basic) == 2 {
		req.SetBasicAuth(url.QueryEscape(basic[0]), url.QueryEscape(basic[1]))
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatalf("token endpoint answered %d %q", resp.StatusCode, body)
	}
	return resp.StatusCode, m, resp.Header
}

// wantInvalidGrant posts a token request that must fail with
// invalid_grant and returns the description.
func wantInvalidGrant(t testing.TB, d *idp, form url.Values) string {
	t.Helper()
	status, body, _ := postToken(t, d, form)
	if status != 400 || body["error"] != oauth.CodeInvalidGrant {
		t.Fatalf("got %d %v, want invalid_grant", status, body)
	}
	desc, _ := body["error_description"].(string)
	return desc
}

// TestTokenEndpointErrors covers each RFC 6749 §5.2 error of the
// interactive grants, including a replayed code, which also revokes the
// refresh tokens the code bought.
func TestTokenEndpointErrors(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, st *sqlstore.Store) {
		d := newIDP(t, st)
		cli := d.cliApp(t)
		u := d.newUser(t, "err@vigil.test", "pw-err")
		cb := newCallback(t)
		web, webSecret := thirdPartyApp(t, d, cb)
		d.consent(t, web.AppID, "", "00000003-0000-0000-c000-000000000000", "openid", "offline_access", "User.Read")

		mixed := d.newApp(t, store.Application{SPARedirectURIs: []string{"https://spa.example/"}, WebRedirectURIs: []string{"https://spa.example/web"}})
		d.secretFor(t, mixed)

		f := newFlow(t, d, cli, "openid", "offline_access", "User.Read")
		got := f.cb.follow(t, f.b, f.b.signIn(f.start(), u.UserPrincipalName, "pw-err"))
		code := got.Get("code")
		exchange := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {f.cb.url()},
			"client_id": {cli.AppID}, "code_verifier": {f.verifier}}
		with := func(kv ...string) url.Values {
			v := url.Values{}
			for k, vals := range exchange {
				v[k] = vals
			}
			for i := 0; i+1 < len(kv); i += 2 {
				if kv[i+1] == "" {
					v.Del(kv[i])
				} else {
					v.Set(kv[i], kv[i+1])
				}
			}
			return v
		}
		tests := []struct {
			name   string
			form   url.Values
			status int
			code   string
		}{
			{"unsupported grant", with("grant_type", "implicit"), 400, oauth.CodeUnsupportedGrantType},
			{"no grant", with("grant_type", ""), 400, oauth.CodeInvalidRequest},
			{"no code", with("code", ""), 400, oauth.CodeInvalidRequest},
			{"no redirect_uri", with("redirect_uri", ""), 400, oauth.CodeInvalidRequest},
			{"unknown client", with("client_id", "00000000-0000-0000-0000-000000000000"), 401, oauth.CodeInvalidClient},
			{"confidential client without secret", with("client_id", web.AppID), 401, oauth.CodeInvalidClient},
			{"unknown code", with("code", "bogus"), 400, oauth.CodeInvalidGrant},
			{"SPA URIs but a secret registered", with("client_id", mixed.AppID), 401, oauth.CodeInvalidClient},
			{"client_credentials for a public client", url.Values{"grant_type": {"client_credentials"}, "client_id": {cli.AppID},
				"scope": {"https://graph.microsoft.com/.default"}}, 401, oauth.CodeInvalidClient},
			{"password for a confidential app", url.Values{"grant_type": {"password"}, "client_id": {web.AppID}, "client_secret": {webSecret},
				"username": {u.UserPrincipalName}, "password": {"pw-err"}, "scope": {"openid"}}, 400, oauth.CodeUnauthorizedClient},
			{"device code for a confidential app", url.Values{"grant_type": {oauth.GrantDeviceCode}, "client_id": {web.AppID},
				"client_secret": {webSecret}, "device_code": {"x"}}, 400, oauth.CodeUnauthorizedClient},
			{"password with a bad scope", url.Values{"grant_type": {"password"}, "client_id": {cli.AppID},
				"username": {u.UserPrincipalName}, "password": {"pw-err"}, "scope": {"Mail.Send"}}, 400, oauth.CodeInvalidScope},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				status, body, _ := postToken(t, d, tt.form)
				if status != tt.status || body["error"] != tt.code {
					t.Fatalf("got %d %v, want %d %s", status, body, tt.status, tt.code)
				}
			})
		}
		// The code is still good after the failed attempts above, except
		// those that consumed it: a wrong verifier burns it.
		wantInvalidGrant(t, d, with("code_verifier", strings.Repeat("w", 43)))

		// A fresh code: redeem, then replay.
		got = f.cb.follow(t, f.b, f.start("prompt", "none"))
		tok, err := f.rp.config.Exchange(context.Background(), got.Get("code"), oauth2.VerifierOption(f.verifier))
		if err != nil {
			t.Fatal(err)
		}
		if desc := wantInvalidGrant(t, d, with("code", got.Get("code"))); !strings.Contains(desc, "already used") {
			t.Fatalf("replayed code: %q", desc)
		}
		// The refresh token the code bought is revoked.
		wantInvalidGrant(t, d, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok.RefreshToken}, "client_id": {cli.AppID}})

		// Expired code; another client's code; a redirect_uri that differs.
		for _, tc := range []struct {
			name    string
			advance time.Duration
			form    func(code string) url.Values
		}{
			{"expired", 11 * time.Minute, func(c string) url.Values { return with("code", c) }},
			{"other client", 0, func(c string) url.Values {
				v := with("code", c, "client_id", web.AppID, "client_secret", webSecret)
				return v
			}},
			{"other redirect_uri", 0, func(c string) url.Values { return with("code", c, "redirect_uri", "http://127.0.0.1:1/callback") }},
		} {
			t.Run(tc.name, func(t *testing.T) {
				got := f.cb.follow(t, f.b, f.start("prompt", "none"))
				d.clock.Advance(tc.advance)
				wantInvalidGrant(t, d, tc.form(got.Get("code")))
			})
		}
	})
}

// TestCSRF: a form post without the CSRF cookie, or with a token of
// another form or another cookie, is refused and signs nobody in.
func TestCSRF(t *testing.T) {
	d := newIDP(t, sqltest.SQLite(t))
	cli := d.cliApp(t)
	u := d.newUser(t, "csrf@vigil.test", "pw-csrf")
	f := newFlow(t, d, cli, "openid")
	p := f.start()
	action, fields := p.form(t, d.issuer)
	fields.Set("username", u.UserPrincipalName)
	fields.Set("password", "pw-csrf")

	attacker := d.browser(t) // has no CSRF cookie
	if r := attacker.post(action, fields); r.status != http.StatusForbidden || r.location != "" {
		t.Fatalf("post without the cookie: %d %q", r.status, r.location)
	}
	other := d.browser(t)
	other.get(f.rp.config.AuthCodeURL("s", oauth2.S256ChallengeOption(oauth2.GenerateVerifier()))) // its own cookie
	if r := other.post(action, fields); r.status != http.StatusForbidden {
		t.Fatalf("token of another cookie: %d", r.status)
	}
	bad := url.Values{}
	for k, v := range fields {
		bad[k] = v
	}
	bad.Set("csrf_token", "x"+fields.Get("csrf_token"))
	if r := f.b.post(action, bad); r.status != http.StatusForbidden {
		t.Fatalf("tampered token: %d", r.status)
	}
	// The consent form's token is refused by the sign-in form.
	if r := f.b.post(d.issuer+"/consent", fields); r.status != http.StatusForbidden {
		t.Fatalf("sign-in token at /consent: %d", r.status)
	}
	// The genuine post still works.
	f.exchange(f.cb.follow(t, f.b, f.b.post(action, fields)))
}
