package login

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/vigil-idp/vigil/internal/oauth"
	"github.com/vigil-idp/vigil/internal/store"
	"github.com/vigil-idp/vigil/internal/store/sqlstore"
	"github.com/vigil-idp/vigil/internal/store/sqlstore/sqltest"
)

// deviceAuth starts a device authorization with x/oauth2.
func deviceAuth(t testing.TB, rp *relyingParty) *oauth2.DeviceAuthResponse {
	t.Helper()
	da, err := rp.config.DeviceAuth(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return da
}

var userCodeShape = regexp.MustCompile(`^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$`)

// approveInBrowser goes through the verification page: the complete URI,
// the code, sign-in, then approve (or deny).
func approveInBrowser(t testing.TB, b *browser, da *oauth2.DeviceAuthResponse, user, password, action string) page {
	t.Helper()
	p := b.get(da.VerificationURIComplete)
	if p.status != http.StatusOK || !strings.Contains(p.body, `value="`+da.UserCode+`"`) {
		t.Fatalf("verification page not pre-filled: %d\n%s", p.status, p.body)
	}
	p = b.submit(p, url.Values{"user_code": {strings.ToLower(da.UserCode)}, "action": {"code"}})
	if strings.Contains(p.body, `name="password"`) {
		p = b.signIn(p, user, password)
	}
	if !strings.Contains(p.body, da.UserCode) || !strings.Contains(p.body, `value="deny"`) {
		t.Fatalf("confirmation page: %d\n%s", p.status, p.body)
	}
	return b.submit(p, url.Values{"action": {action}})
}

// TestDeviceCodeEndToEnd: x/oauth2's DeviceAuth and DeviceAccessToken
// (which polls for real) against a browser that approves on /device.
func TestDeviceCodeEndToEnd(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, st *sqlstore.Store) {
		d := newIDP(t, st)
		cli := d.cliApp(t)
		u := d.newUser(t, "dev@vigil.test", "pw-dev")
		rp := newRelyingParty(t, d, cli.AppID, "", "", "openid", "offline_access", "User.Read")
		da := deviceAuth(t, rp)
		if !userCodeShape.MatchString(da.UserCode) || da.VerificationURI != d.issuer+"/device" ||
			da.VerificationURIComplete != da.VerificationURI+"?user_code="+da.UserCode || da.Interval != 1 {
			t.Fatalf("device authorization %+v", da)
		}
		p := approveInBrowser(t, d.browser(t), da, u.UserPrincipalName, "pw-dev", "approve")
		if !strings.Contains(p.body, "You have signed in to Vigil CLI") {
			t.Fatalf("after approval: %d\n%s", p.status, p.body)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		tok, err := rp.config.DeviceAccessToken(ctx, da)
		if err != nil {
			t.Fatal(err)
		}
		pr, err := d.verifier.Verify(ctx, tok.AccessToken)
		if err != nil || pr.ObjectID != u.ID || !slices.Contains(pr.Scopes, "User.Read") || pr.SessionID == "" {
			t.Fatalf("device token %+v %v", pr, err)
		}
		if tok.RefreshToken == "" || tok.Extra("id_token") == nil {
			t.Fatal("device grant without refresh or ID token")
		}
		if _, err := rp.verifier.Verify(ctx, tok.Extra("id_token").(string)); err != nil {
			t.Fatal(err)
		}
		// The device code is single use.
		wantInvalidGrant(t, d, url.Values{"grant_type": {oauth.GrantDeviceCode}, "client_id": {cli.AppID}, "device_code": {da.DeviceCode}})
	})
}

// TestDeviceCodeErrors: authorization_pending, slow_down (with the
// interval growing by 5 s), access_denied, expired_token, and a bad code
// on the page; all on the injected clock.
func TestDeviceCodeErrors(t *testing.T) {
	d := newIDP(t, sqltest.SQLite(t))
	cli := d.cliApp(t)
	u := d.newUser(t, "dev2@vigil.test", "pw-dev2")
	rp := newRelyingParty(t, d, cli.AppID, "", "", "openid", "User.Read")
	poll := func(da *oauth2.DeviceAuthResponse) (int, map[string]any) {
		status, body, _ := postToken(t, d, url.Values{"grant_type": {oauth.GrantDeviceCode}, "client_id": {cli.AppID}, "device_code": {da.DeviceCode}})
		return status, body
	}
	expect := func(da *oauth2.DeviceAuthResponse, code string) map[string]any {
		t.Helper()
		status, body := poll(da)
		if status != 400 || body["error"] != code {
			t.Fatalf("poll: %d %v, want %s", status, body, code)
		}
		return body
	}

	da := deviceAuth(t, rp)
	expect(da, oauth.CodeAuthorizationPending)
	body := expect(da, oauth.CodeSlowDown) // no time passed
	if !strings.Contains(body["error_description"].(string), "6 seconds") {
		t.Fatalf("slow_down description %v", body)
	}
	d.clock.Advance(2 * time.Second) // less than the new 6 s interval
	expect(da, oauth.CodeSlowDown)
	d.clock.Advance(12 * time.Second)
	expect(da, oauth.CodeAuthorizationPending)

	p := approveInBrowser(t, d.browser(t), da, u.UserPrincipalName, "pw-dev2", "deny")
	if !strings.Contains(p.body, "declined") {
		t.Fatalf("deny page: %s", p.body)
	}
	d.clock.Advance(20 * time.Second)
	expect(da, oauth.CodeAccessDenied)

	expiring := deviceAuth(t, rp)
	d.clock.Advance(16 * time.Minute)
	expect(expiring, oauth.CodeExpiredToken)
	b := d.browser(t)
	p = b.get(d.issuer + "/device")
	p = b.submit(p, url.Values{"user_code": {expiring.UserCode}, "action": {"code"}})
	if !strings.Contains(p.body, "not valid or has expired") {
		t.Fatalf("expired code on the page: %s", p.body)
	}
	p = b.submit(p, url.Values{"user_code": {"BCDF-GHJK"}, "action": {"code"}})
	if !strings.Contains(p.body, "not valid or has expired") {
		t.Fatalf("unknown code on the page: %s", p.body)
	}

	// Another client cannot redeem the code.
	other := d.newApp(t, cliLike())
	mine := deviceAuth(t, rp)
	wantInvalidGrant(t, d, url.Values{"grant_type": {oauth.GrantDeviceCode}, "client_id": {other.AppID}, "device_code": {mine.DeviceCode}})
}

// TestDeviceCodeBruteForce: /device takes a bounded number of codes per
// address per minute (RFC 8628 §5.1).
func TestDeviceCodeBruteForce(t *testing.T) {
	d := newIDP(t, sqltest.SQLite(t))
	d.cliApp(t)
	b := d.browser(t)
	p := b.get(d.issuer + "/device")
	for i := range 12 {
		r := b.submit(p, url.Values{"user_code": {"BCDF-GHJK"}, "action": {"code"}})
		if want := i >= 10; (r.status == http.StatusTooManyRequests) != want {
			t.Fatalf("attempt %d: status %d", i+1, r.status)
		}
	}
	d.clock.Advance(time.Minute)
	if r := b.submit(p, url.Values{"user_code": {"BCDF-GHJK"}, "action": {"code"}}); r.status != http.StatusOK {
		t.Fatalf("after a minute: %d", r.status)
	}
}

// cliLike is another public client with public client flows enabled.
func cliLike() store.Application {
	return store.Application{IsFallbackPublicClient: true}
}
