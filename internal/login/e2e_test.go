package login

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/vigil-idp/vigil/internal/authz"
	"github.com/vigil-idp/vigil/internal/store/sqlstore"
	"github.com/vigil-idp/vigil/internal/store/sqlstore/sqltest"
)

// callback is a native app's loopback redirect listener (RFC 8252 §7.3):
// a real HTTP server on 127.0.0.1 and a port the system picked.
type callback struct {
	srv  *httptest.Server
	mu   sync.Mutex
	hits []url.Values
}

func newCallback(t testing.TB) *callback {
	c := &callback{}
	c.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/callback" {
			http.NotFound(w, r)
			return
		}
		c.mu.Lock()
		c.hits = append(c.hits, r.URL.Query())
		c.mu.Unlock()
		_, _ = w.Write([]byte("You can close this window."))
	}))
	t.Cleanup(c.srv.Close)
	return c
}

func (c *callback) url() string { return c.srv.URL + "/callback" }

// follow sends the browser to the relying party's redirect (the browser
// stops there) and returns what the callback received.
func (c *callback) follow(t testing.TB, b *browser, p page) url.Values {
	t.Helper()
	if !strings.HasPrefix(p.location, c.srv.URL+"/callback") {
		t.Fatalf("redirect to %q, want the loopback callback (status %d):\n%s", p.location, p.status, p.body)
	}
	resp, err := http.Get(p.location)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.hits[len(c.hits)-1]
}

// relyingParty is an x/oauth2 + go-oidc client configured from discovery.
type relyingParty struct {
	provider *oidc.Provider
	config   *oauth2.Config
	verifier *oidc.IDTokenVerifier
}

func newRelyingParty(t testing.TB, d *idp, clientID, secret, redirect string, scopes ...string) *relyingParty {
	t.Helper()
	p, err := oidc.NewProvider(context.Background(), d.issuer)
	if err != nil {
		t.Fatal(err)
	}
	return &relyingParty{
		provider: p,
		config:   &oauth2.Config{ClientID: clientID, ClientSecret: secret, Endpoint: p.Endpoint(), RedirectURL: redirect, Scopes: scopes},
		verifier: p.VerifierContext(context.Background(), &oidc.Config{ClientID: clientID, Now: d.clock.Now,
			SupportedSigningAlgs: []string{oidc.RS256, oidc.ES256, oidc.EdDSA}}),
	}
}

// TestAuthorizationCodeEndToEnd drives a browser through the sign-in form
// for a native app (loopback redirect on any port, PKCE S256, nonce) with
// x/oauth2 and go-oidc, then uses every token: the ID token verified by
// go-oidc (at_hash included), the access token by Vigil's verifier,
// userinfo, and a refresh.
func TestAuthorizationCodeEndToEnd(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, st *sqlstore.Store) {
		d := newIDP(t, st)
		cli := d.cliApp(t)
		admin := d.newUser(t, "ada@vigil.test", "correct horse", "62e90394-69f5-4237-9190-012177145e10")
		cb := newCallback(t)
		rp := newRelyingParty(t, d, cli.AppID, "", cb.url(), "openid", "profile", "email", "offline_access", "User.Read")
		ctx := context.Background()

		verifier := oauth2.GenerateVerifier()
		state, nonce := "st-"+t.Name(), "n-0S6_WzA2Mj"
		b := d.browser(t)
		p := b.get(rp.config.AuthCodeURL(state, oauth2.S256ChallengeOption(verifier), oidc.Nonce(nonce), oauth2.SetAuthURLParam("login_hint", admin.UserPrincipalName)))
		if p.status != http.StatusOK || !strings.Contains(p.body, `value="ada@vigil.test"`) || !strings.Contains(p.body, "Vigil CLI") {
			t.Fatalf("sign-in page: %d\n%s", p.status, p.body)
		}
		got := cb.follow(t, b, b.signIn(p, admin.UserPrincipalName, "correct horse"))
		if got.Get("state") != state || got.Get("iss") != d.issuer || got.Get("code") == "" {
			t.Fatalf("callback got %v", got)
		}
		tok, err := rp.config.Exchange(ctx, got.Get("code"), oauth2.VerifierOption(verifier))
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := tok.Extra("id_token").(string)
		idt, err := rp.verifier.Verify(ctx, raw)
		if err != nil {
			t.Fatal(err)
		}
		if idt.Nonce != nonce || idt.Subject != admin.ID {
			t.Fatalf("ID token nonce %q sub %q", idt.Nonce, idt.Subject)
		}
		if err := idt.VerifyAccessToken(tok.AccessToken); err != nil {
			t.Fatalf("at_hash: %v", err)
		}
		var claims struct {
			SID, OID, TID, Name, Email, PreferredUsername string
			AMR                                           []string
			AuthTime                                      int64 `json:"auth_time"`
		}
		if err := idt.Claims(&claims); err != nil {
			t.Fatal(err)
		}
		if claims.SID == "" || claims.OID != admin.ID || claims.TID != testTenant || claims.Name != "Ada Lovelace" ||
			claims.Email != "ada@vigil.test" || !slices.Equal(claims.AMR, []string{"pwd"}) || claims.AuthTime == 0 {
			t.Fatalf("ID token claims %+v", claims)
		}

		pr, err := d.verifier.Verify(ctx, tok.AccessToken)
		if err != nil {
			t.Fatal(err)
		}
		if pr.Kind != authz.Delegated || pr.ObjectID != admin.ID || pr.SessionID != claims.SID || pr.ClientID != cli.AppID ||
			!slices.Contains(pr.Scopes, "User.Read") || !slices.Contains(pr.Scopes, "openid") || slices.Contains(pr.Scopes, "offline_access") ||
			!slices.Equal(pr.RoleTemplateIDs, []string{"62e90394-69f5-4237-9190-012177145e10"}) {
			t.Fatalf("access token principal %+v", pr)
		}
		if tok.RefreshToken == "" {
			t.Fatal("no refresh token for offline_access")
		}

		ui, err := rp.provider.UserInfo(ctx, oauth2.StaticTokenSource(tok))
		if err != nil {
			t.Fatal(err)
		}
		if ui.Subject != admin.ID || ui.Email != "ada@vigil.test" {
			t.Fatalf("userinfo %+v", ui)
		}

		d.clock.Advance(2 * time.Hour)
		expired := *tok
		expired.Expiry = time.Now().Add(-time.Minute)
		fresh, err := rp.config.TokenSource(ctx, &expired).Token()
		if err != nil {
			t.Fatal(err)
		}
		if fresh.AccessToken == tok.AccessToken || fresh.RefreshToken == tok.RefreshToken {
			t.Fatal("refresh did not rotate")
		}
		if _, err := d.verifier.Verify(ctx, fresh.AccessToken); err != nil {
			t.Fatal(err)
		}
	})
}
