package login

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/vigil-idp/vigil/internal/authz"
	"github.com/vigil-idp/vigil/internal/session"
	"github.com/vigil-idp/vigil/internal/store"
	"github.com/vigil-idp/vigil/internal/store/sqlstore/sqltest"
)

// TestUserInfo: GET and POST with a Graph token whose scp has openid give
// sub and the scope's claims; every unfit token gets a Bearer challenge:
// none, an ID token, another audience, no openid, a revoked or disabled
// user.
func TestUserInfo(t *testing.T) {
	d := newIDP(t, sqltest.SQLite(t))
	cli := d.cliApp(t)
	u := d.newUser(t, "ui@vigil.test", "pw-ui")
	ctx := context.Background()
	call := func(method, token string) (int, string, map[string]any) { return d.userinfo(t, method, token) }
	rp := newRelyingParty(t, d, cli.AppID, "", "", "openid", "email", "User.Read")
	tok, err := rp.config.PasswordCredentialsToken(ctx, u.UserPrincipalName, "pw-ui")
	if err != nil {
		t.Fatal(err)
	}
	for _, method := range []string{http.MethodGet, http.MethodPost} {
		status, _, m := call(method, tok.AccessToken)
		if status != 200 || m["sub"] != u.ID || m["email"] != "ui@vigil.test" || m["name"] != nil {
			t.Fatalf("%s userinfo: %d %v", method, status, m)
		}
	}
	noOpenID, err := (&oauth2.Config{ClientID: cli.AppID, Endpoint: rp.config.Endpoint, Scopes: []string{"User.Read"}}).
		PasswordCredentialsToken(ctx, u.UserPrincipalName, "pw-ui")
	if err != nil {
		t.Fatal(err)
	}
	vigilCfg := &oauth2.Config{ClientID: cli.AppID, Endpoint: rp.config.Endpoint, Scopes: []string{"openid", "api://vigil/Vigil.Sessions.ReadWrite.All"}}
	if _, err := vigilCfg.PasswordCredentialsToken(ctx, u.UserPrincipalName, "pw-ui"); err == nil {
		t.Fatal("a Vigil API token without consent was issued")
	}
	d.consent(t, cli.AppID, "", "f76d52a6-01b7-45a2-99b9-3958b941f7a4", "Vigil.Sessions.ReadWrite.All")
	vigilTok, err := vigilCfg.PasswordCredentialsToken(ctx, u.UserPrincipalName, "pw-ui")
	if err != nil {
		t.Fatal(err)
	}
	refusals := []struct {
		name, token string
		status      int
		errCode     string
	}{
		{"no token", "", 401, ""},
		{"garbage", "abc.def.ghi", 401, "invalid_token"},
		{"ID token", tok.Extra("id_token").(string), 401, "invalid_token"},
		{"no openid in scp", noOpenID.AccessToken, 403, "insufficient_scope"},
		{"Vigil API audience", vigilTok.AccessToken, 403, "insufficient_scope"},
	}
	for _, tt := range refusals {
		t.Run(tt.name, func(t *testing.T) {
			status, challenge, _ := call(http.MethodGet, tt.token)
			if status != tt.status || !strings.HasPrefix(challenge, "Bearer") || (tt.errCode != "" && !strings.Contains(challenge, `error="`+tt.errCode+`"`)) {
				t.Fatalf("%d %q", status, challenge)
			}
		})
	}
	d.clock.Advance(time.Second)
	if _, err := d.store.UpdateUser(ctx, u.ID, func(old store.User) (store.User, error) {
		old.SignInSessionsValidFrom = d.clock.Now().UTC().Add(time.Second)
		return old, nil
	}); err != nil {
		t.Fatal(err)
	}
	d.clock.Advance(2 * time.Second)
	if status, challenge, _ := call(http.MethodGet, tok.AccessToken); status != 401 || !strings.Contains(challenge, "invalid_token") {
		t.Fatalf("revoked user: %d %q", status, challenge)
	}
}

// userinfo calls the userinfo endpoint with token (none when empty) and
// returns the status, the WWW-Authenticate challenge and the JSON body.
func (d *idp) userinfo(t testing.TB, method, token string) (int, string, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(method, d.issuer+"/userinfo", nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var m map[string]any
	_ = json.Unmarshal(body, &m)
	return resp.StatusCode, resp.Header.Get("WWW-Authenticate"), m
}

// TestUserInfoRevocation: userinfo honours a token exactly as long as
// introspection does: an ended session (sid), a revocation in the same
// second as (but after) the token's iat, a disabled or deleted user all
// give 401 invalid_token with a Bearer challenge; a revocation before the
// token's iat does not.
func TestUserInfoRevocation(t *testing.T) {
	d := newIDP(t, sqltest.SQLite(t))
	cli := d.cliApp(t)
	ctx := context.Background()
	setUser := func(t *testing.T, id string, change func(*store.User)) {
		t.Helper()
		if _, err := d.store.UpdateUser(ctx, id, func(u store.User) (store.User, error) {
			change(&u)
			return u, nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name   string
		revoke func(t *testing.T, p *authz.Principal)
		status int
	}{
		{"nothing revoked", func(*testing.T, *authz.Principal) {}, http.StatusOK},
		{"revoked before iat", func(t *testing.T, p *authz.Principal) {
			setUser(t, p.ObjectID, func(u *store.User) { u.SignInSessionsValidFrom = p.IssuedAt.Add(-time.Millisecond) })
		}, http.StatusOK},
		{"session ended", func(t *testing.T, p *authz.Principal) {
			if err := d.sessions.End(ctx, p.SessionID, "logout", session.Initiator{}); err != nil {
				t.Fatal(err)
			}
		}, http.StatusUnauthorized},
		{"revoked in the same second, after iat", func(t *testing.T, p *authz.Principal) {
			setUser(t, p.ObjectID, func(u *store.User) { u.SignInSessionsValidFrom = p.IssuedAt.Add(999 * time.Millisecond) })
		}, http.StatusUnauthorized},
		{"user disabled", func(t *testing.T, p *authz.Principal) {
			setUser(t, p.ObjectID, func(u *store.User) { u.AccountEnabled = false })
		}, http.StatusUnauthorized},
		{"user deleted", func(t *testing.T, p *authz.Principal) {
			if err := d.store.DeleteUser(ctx, p.ObjectID); err != nil {
				t.Fatal(err)
			}
		}, http.StatusUnauthorized},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := d.newUser(t, fmt.Sprintf("rev%d@vigil.test", i), "pw-rev")
			rp := newRelyingParty(t, d, cli.AppID, "", "", "openid", "User.Read")
			tok, err := rp.config.PasswordCredentialsToken(ctx, u.UserPrincipalName, "pw-rev")
			if err != nil {
				t.Fatal(err)
			}
			p, err := d.verifier.Verify(ctx, tok.AccessToken)
			if err != nil || p.SessionID == "" {
				t.Fatalf("principal %+v, %v", p, err)
			}
			tt.revoke(t, p)
			status, challenge, _ := d.userinfo(t, http.MethodGet, tok.AccessToken)
			if status != tt.status {
				t.Fatalf("status %d, want %d (%q)", status, tt.status, challenge)
			}
			if status == http.StatusUnauthorized && !strings.HasPrefix(challenge, `Bearer error="invalid_token"`) {
				t.Errorf("challenge %q", challenge)
			}
		})
	}
}
