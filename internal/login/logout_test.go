package login

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/vigil-idp/vigil/internal/oauth"
	"github.com/vigil-idp/vigil/internal/store"
	"github.com/vigil-idp/vigil/internal/store/sqlstore"
	"github.com/vigil-idp/vigil/internal/store/sqlstore/sqltest"
)

// TestRPInitiatedLogout: with a valid id_token_hint of the cookie's user
// the session ends at once and the browser goes to the registered
// post_logout_redirect_uri with state; the session's refresh tokens die;
// an unregistered URI is an error page; without a hint, or with another
// user's, the user confirms first.
func TestRPInitiatedLogout(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, st *sqlstore.Store) {
		d := newIDP(t, st)
		u := d.newUser(t, "bye@vigil.test", "pw-bye")
		other := d.newUser(t, "other@vigil.test", "pw-other")
		cb := newCallback(t)
		const after = "https://rp.example/signed-out"
		app := d.newApp(t, store.Application{PublicClientRedirectURIs: []string{"http://127.0.0.1/callback"}, PostLogoutRedirectURIs: []string{after}})
		d.consent(t, app.AppID, "", "00000003-0000-0000-c000-000000000000", "openid", "offline_access")
		f := &flow{t: t, d: d, b: d.browser(t), cb: cb, rp: newRelyingParty(t, d, app.AppID, "", cb.url(), "openid", "offline_access")}
		tok := f.login(u.UserPrincipalName, "pw-bye")
		hint := tok.Extra("id_token").(string)
		sid := f.idClaims(tok)["sid"].(string)
		logout := d.issuer + "/logout?"

		// Unregistered post_logout_redirect_uri: error page, nothing ends.
		p := f.b.get(logout + url.Values{"id_token_hint": {hint}, "post_logout_redirect_uri": {after + "/x"}}.Encode())
		if p.status != http.StatusBadRequest || p.location != "" {
			t.Fatalf("unregistered URI: %d %q", p.status, p.location)
		}
		// client_id contradicting the hint.
		if p := f.b.get(logout + url.Values{"id_token_hint": {hint}, "client_id": {"someone-else"}}.Encode()); p.status != http.StatusBadRequest {
			t.Fatalf("client_id mismatch: %d", p.status)
		}
		// A hint of another user: confirmation, not an immediate logout.
		g := &flow{t: t, d: d, b: d.browser(t), cb: cb, rp: f.rp}
		otherHint := g.login(other.UserPrincipalName, "pw-other").Extra("id_token").(string)
		p = f.b.get(logout + url.Values{"id_token_hint": {otherHint}, "post_logout_redirect_uri": {after}}.Encode())
		if p.status != http.StatusOK || !strings.Contains(p.body, "Sign out?") {
			t.Fatalf("another user's hint: %d\n%s", p.status, p.body)
		}
		if s, _ := st.GetSession(context.Background(), sid); s.RevokedAt != nil {
			t.Fatal("the session ended without confirmation")
		}

		// The right hint: immediate, redirected with state.
		d.clock.Advance(time.Minute)
		p = f.b.get(logout + url.Values{"id_token_hint": {hint}, "post_logout_redirect_uri": {after}, "state": {"s1"}}.Encode())
		if p.location != after+"?state=s1" {
			t.Fatalf("logout redirect %d %q", p.status, p.location)
		}
		if s, err := st.GetSession(context.Background(), sid); err != nil || s.RevokedAt == nil || s.RevokedReason != ReasonLogout {
			t.Fatalf("session after logout %+v %v", s, err)
		}
		got := f.cb.follow(t, f.b, f.start("prompt", "none"))
		if got.Get("error") != oauth.CodeLoginRequired {
			t.Fatalf("after logout: %v", got)
		}
		wantInvalidGrant(t, d, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok.RefreshToken}, "client_id": {app.AppID}})
		// Logging out again, with no session: straight to the redirect.
		if p := f.b.get(logout + url.Values{"client_id": {app.AppID}, "post_logout_redirect_uri": {after}}.Encode()); p.location != after {
			t.Fatalf("logout without a session: %d %q", p.status, p.location)
		}
	})
}

// TestLogoutConfirmation: without id_token_hint the user confirms on a
// CSRF-protected page; "stay signed in" keeps the session; a forged
// confirmation is refused.
func TestLogoutConfirmation(t *testing.T) {
	d := newIDP(t, sqltest.SQLite(t))
	cli := d.cliApp(t)
	u := d.newUser(t, "conf@vigil.test", "pw-conf")
	f := newFlow(t, d, cli, "openid")
	sid := f.idClaims(f.login(u.UserPrincipalName, "pw-conf"))["sid"].(string)
	live := func() bool {
		s, err := d.store.GetSession(context.Background(), sid)
		return err == nil && s.RevokedAt == nil
	}

	p := f.b.get(d.issuer + "/logout")
	if p.status != http.StatusOK || !strings.Contains(p.body, u.UserPrincipalName) {
		t.Fatalf("confirmation page: %d\n%s", p.status, p.body)
	}
	if r := f.b.submit(p, url.Values{"action": {"cancel"}}); !strings.Contains(r.body, "still signed in") || !live() {
		t.Fatalf("cancel: %d live=%v", r.status, live())
	}
	action, fields := p.form(t, d.issuer)
	fields.Set("action", "confirm")
	fields.Set("csrf_token", "forged")
	if r := f.b.post(action, fields); r.status != http.StatusForbidden || !live() {
		t.Fatalf("forged confirmation: %d live=%v", r.status, live())
	}
	// An RP's cross-site POST carries no cookie (SameSite=Lax) and lands
	// on the confirmation too; here the browser's own POST does.
	if r := f.b.post(d.issuer+"/logout", url.Values{}); !strings.Contains(r.body, "Sign out?") {
		t.Fatalf("POST without hint: %d", r.status)
	}
	r := f.b.submit(p, url.Values{"action": {"confirm"}})
	if r.status != http.StatusOK || !strings.Contains(r.body, "You have signed out") || live() {
		t.Fatalf("confirm: %d live=%v\n%s", r.status, live(), r.body)
	}
	if got := f.cb.follow(t, f.b, f.start("prompt", "none")); got.Get("error") != oauth.CodeLoginRequired {
		t.Fatalf("after confirmed logout: %v", got)
	}
}
