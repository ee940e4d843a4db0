package login

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/vigil-idp/vigil/internal/authz"
	"github.com/vigil-idp/vigil/internal/oauth"
	"github.com/vigil-idp/vigil/internal/store"
	"github.com/vigil-idp/vigil/internal/store/sqlstore"
	"github.com/vigil-idp/vigil/internal/store/sqlstore/sqltest"
)

const globalAdmin = "62e90394-69f5-4237-9190-012177145e10"

// thirdPartyApp is a web app with no consent on record (a confidential
// client with a secret and a loopback callback for the test's RP).
func thirdPartyApp(t *testing.T, d *idp, cb *callback) (store.Application, string) {
	a := d.newApp(t, store.Application{DisplayName: "Contoso Reports", WebRedirectURIs: []string{cb.url()}})
	return a, d.secretFor(t, a)
}

// TestConsent: an app without consent shows the consent page; accepting
// records the user's consent (no page the next time), declining is
// access_denied, prompt=none is consent_required, and prompt=consent shows
// the page again.
func TestConsent(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, st *sqlstore.Store) {
		d := newIDP(t, st)
		u := d.newUser(t, "joan@vigil.test", "pw-joan")
		cb := newCallback(t)
		app, sec := thirdPartyApp(t, d, cb)
		f := &flow{t: t, d: d, b: d.browser(t), cb: cb,
			rp: newRelyingParty(t, d, app.AppID, sec, cb.url(), "openid", "profile", "User.Read")}

		got := f.cb.follow(t, f.b, f.start("prompt", "none"))
		if got.Get("error") != oauth.CodeLoginRequired {
			t.Fatalf("no session: %v", got)
		}
		p := f.b.signIn(f.start(), u.UserPrincipalName, "pw-joan")
		if p.status != http.StatusOK || !strings.Contains(p.body, "Contoso Reports") || !strings.Contains(p.body, "Sign in and read user profile") {
			t.Fatalf("consent page: %d\n%s", p.status, p.body)
		}
		if strings.Contains(p.body, "for_org") {
			t.Fatal("a user without an admin role is offered consent for the organization")
		}
		// Declining.
		got = f.cb.follow(t, f.b, f.b.submit(p, url.Values{"action": {"deny"}}))
		if got.Get("error") != oauth.CodeAccessDenied || got.Get("state") != "state-1" {
			t.Fatalf("declined consent: %v", got)
		}
		// prompt=none with a session but no consent.
		got = f.cb.follow(t, f.b, f.start("prompt", "none"))
		if got.Get("error") != oauth.CodeConsentRequired {
			t.Fatalf("prompt=none without consent: %v", got)
		}
		// Accepting.
		p = f.start()
		tok := f.exchange(f.cb.follow(t, f.b, f.b.submit(p, url.Values{"action": {"accept"}})))
		if f.idClaims(tok)["name"] != "Ada Lovelace" {
			t.Fatal("profile claims missing after consent")
		}
		grants, err := st.ListConsents(context.Background(), app.AppID, u.ID)
		if err != nil || len(grants) != 1 || grants[0].UserID != u.ID ||
			!slices.Equal(sortedCopy(grants[0].Scopes), []string{"User.Read", "openid", "profile"}) {
			t.Fatalf("recorded consent %+v %v", grants, err)
		}
		// No page the next time; prompt=consent shows it again.
		f.exchange(f.cb.follow(t, f.b, f.start("prompt", "none")))
		p = f.start("prompt", "consent")
		if !strings.Contains(p.body, `value="accept"`) {
			t.Fatalf("prompt=consent: %d", p.status)
		}
		f.exchange(f.cb.follow(t, f.b, f.b.submit(p, url.Values{"action": {"accept"}})))
	})
}

func sortedCopy(s []string) []string {
	out := slices.Clone(s)
	slices.Sort(out)
	return out
}

// TestAdminConsent: a permission that needs an administrator cannot be
// consented by a user (the page says so and accepting is refused); an
// administrator consents for the organization, after which other users
// get it silently.
func TestAdminConsent(t *testing.T) {
	d := newIDP(t, sqltest.SQLite(t))
	user := d.newUser(t, "user@vigil.test", "pw-user")
	admin := d.newUser(t, "admin@vigil.test", "pw-admin", globalAdmin)
	cb := newCallback(t)
	app, sec := thirdPartyApp(t, d, cb)
	scopes := []string{"openid", "User.Read.All"}

	f := &flow{t: t, d: d, b: d.browser(t), cb: cb, rp: newRelyingParty(t, d, app.AppID, sec, cb.url(), scopes...)}
	p := f.b.signIn(f.start(), user.UserPrincipalName, "pw-user")
	if !strings.Contains(p.body, "need an administrator") || strings.Contains(p.body, `value="accept"`) {
		t.Fatalf("consent page for an admin-only permission:\n%s", p.body)
	}
	p = f.b.submit(p, url.Values{"action": {"accept"}}) // forged: the page offered no Accept
	if p.status != http.StatusOK || !strings.Contains(p.body, "Only an administrator") {
		t.Fatalf("forged accept: %d\n%s", p.status, p.body)
	}
	if got := f.cb.follow(t, f.b, f.b.submit(p, url.Values{"action": {"deny"}})); got.Get("error") != oauth.CodeAccessDenied {
		t.Fatalf("return to the app: %v", got)
	}

	a := &flow{t: t, d: d, b: d.browser(t), cb: cb, rp: f.rp}
	p = a.b.signIn(a.start(), admin.UserPrincipalName, "pw-admin")
	if !strings.Contains(p.body, `name="for_org"`) {
		t.Fatalf("the administrator is not offered consent for the organization:\n%s", p.body)
	}
	if p2 := a.b.submit(p, url.Values{"action": {"accept"}}); !strings.Contains(p2.body, "on behalf of your organization") {
		t.Fatalf("admin-only permission accepted without for_org: %d", p2.status)
	}
	tok := a.exchange(a.cb.follow(t, a.b, a.b.submit(p, url.Values{"action": {"accept"}, "for_org": {"1"}})))
	pr, err := d.verifier.Verify(context.Background(), tok.AccessToken)
	if err != nil || !slices.Contains(pr.Scopes, "User.Read.All") {
		t.Fatalf("admin token scopes %v %v", pr, err)
	}
	grants, err := d.store.ListConsents(context.Background(), app.AppID, "")
	if err != nil || len(grants) != 1 || grants[0].UserID != "" || !slices.Equal(sortedCopy(grants[0].Scopes), []string{"User.Read.All", "openid"}) {
		t.Fatalf("tenant-wide grants %+v %v", grants, err)
	}
	// The ordinary user now gets the permission without a page.
	tok = f.exchange(f.cb.follow(t, f.b, f.start("prompt", "none")))
	if pr, err := d.verifier.Verify(context.Background(), tok.AccessToken); err != nil || !slices.Contains(pr.Scopes, "User.Read.All") {
		t.Fatalf("user token after admin consent: %v %v", pr, err)
	}
}

// TestDefaultScope: "<resource>/.default" gives what is consented (the CLI
// app's tenant-wide consent to every Graph permission) and never asks.
func TestDefaultScope(t *testing.T) {
	d := newIDP(t, sqltest.SQLite(t))
	cli := d.cliApp(t)
	u := d.newUser(t, "dflt@vigil.test", "pw-dflt")
	f := newFlow(t, d, cli, "https://graph.microsoft.com/.default", "offline_access")
	tok := f.login(u.UserPrincipalName, "pw-dflt")
	pr, err := d.verifier.Verify(context.Background(), tok.AccessToken)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"User.Read", "User.ReadWrite.All", "Directory.ReadWrite.All"} {
		if !slices.Contains(pr.Scopes, want) {
			t.Errorf(".default token lacks %s: %v", want, pr.Scopes)
		}
	}
	if slices.Contains(pr.Scopes, "offline_access") || slices.Contains(pr.Scopes, "openid") || tok.RefreshToken == "" {
		t.Errorf("scp %v refresh %q", pr.Scopes, tok.RefreshToken)
	}
	if scope, _ := tok.Extra("scope").(string); !strings.Contains(scope, authz.GraphResource+"/User.Read ") || !strings.HasSuffix(scope, "offline_access") {
		t.Errorf("response scope %q", scope)
	}
}
