package login

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

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
	call := func(method, token string) (int, string, map[string]any) {
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
