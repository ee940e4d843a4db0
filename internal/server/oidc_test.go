package server

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// TestDelegatedFlowThroughTheWiredServer drives the CLI client's password
// grant (public client flows), uses the delegated token on Graph, refreshes
// it, then disables the user with the bootstrap client: the refresh token
// and the access token (by introspection) stop working at once.
func TestDelegatedFlowThroughTheWiredServer(t *testing.T) {
	ctx := context.Background()
	w := startWired(t)
	cfg, srv, f, appToken, provider := w.cfg, w.srv, w.f, w.appToken, w.provider
	var meta struct {
		Authorization string   `json:"authorization_endpoint"`
		Device        string   `json:"device_authorization_endpoint"`
		Introspection string   `json:"introspection_endpoint"`
		Revocation    string   `json:"revocation_endpoint"`
		EndSession    string   `json:"end_session_endpoint"`
		UserInfo      string   `json:"userinfo_endpoint"`
		Grants        []string `json:"grant_types_supported"`
	}
	if err := provider.Claims(&meta); err != nil {
		t.Fatal(err)
	}
	for name, v := range map[string]string{"authorization": meta.Authorization, "device": meta.Device,
		"introspection": meta.Introspection, "revocation": meta.Revocation, "end_session": meta.EndSession, "userinfo": meta.UserInfo} {
		if !strings.HasPrefix(v, cfg.IssuerURL()) {
			t.Errorf("discovery lacks the %s endpoint (%q)", name, v)
		}
	}
	for _, g := range []string{"authorization_code", "refresh_token", "client_credentials", "urn:ietf:params:oauth:grant-type:device_code", "password"} {
		if !strings.Contains(strings.Join(meta.Grants, " "), g) {
			t.Errorf("discovery does not list grant %s", g)
		}
	}

	// A user to sign in as, created through Graph.
	body := `{"accountEnabled":true,"displayName":"Pat Example","mailNickname":"pat","userPrincipalName":"pat@vigil.local",
		"passwordProfile":{"password":"Pat-Secret-2026"}}`
	req, _ := http.NewRequest("POST", srv.base+"/v1.0/users", bytes.NewBufferString(body))
	req.Header.Set("Authorization", "Bearer "+appToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 201 {
		t.Fatalf("create user: %v %v", resp.StatusCode, err)
	}
	var pat struct{ ID string }
	json.NewDecoder(resp.Body).Decode(&pat)
	resp.Body.Close()

	cli := oauth2.Config{ClientID: f.CLIClientID, Endpoint: provider.Endpoint(),
		Scopes: []string{"openid", "offline_access", "https://graph.microsoft.com/User.Read"}}
	tok, err := cli.PasswordCredentialsToken(ctx, "pat@vigil.local", "Pat-Secret-2026")
	if err != nil {
		t.Fatalf("password grant with the CLI client: %v", err)
	}
	if tok.RefreshToken == "" {
		t.Fatal("no refresh token for offline_access")
	}
	if raw, _ := tok.Extra("id_token").(string); raw == "" {
		t.Error("no ID token for openid")
	} else if _, err := provider.Verifier(&oidc.Config{ClientID: f.CLIClientID}).Verify(ctx, raw); err != nil {
		t.Errorf("ID token does not verify with go-oidc: %v", err)
	}
	if code, body := get(t, srv.base+"/v1.0/me", tok.AccessToken); code != 200 || !strings.Contains(string(body), "pat@vigil.local") {
		t.Fatalf("GET /me with the delegated token = %d %s", code, body)
	}

	// Refresh rotates the refresh token.
	refreshed, err := cli.TokenSource(ctx, &oauth2.Token{RefreshToken: tok.RefreshToken}).Token()
	if err != nil || refreshed.RefreshToken == "" || refreshed.RefreshToken == tok.RefreshToken {
		t.Fatalf("refresh = %v, %v; want a new refresh token", refreshed, err)
	}

	// Disable the user: refresh and introspection fail at once.
	req, _ = http.NewRequest("PATCH", srv.base+"/v1.0/users/"+pat.ID, strings.NewReader(`{"accountEnabled":false}`))
	req.Header.Set("Authorization", "Bearer "+appToken)
	req.Header.Set("Content-Type", "application/json")
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 204 {
		t.Fatalf("disable user: %v %v", resp.StatusCode, err)
	}
	if _, err := cli.TokenSource(ctx, &oauth2.Token{RefreshToken: refreshed.RefreshToken}).Token(); err == nil ||
		!strings.Contains(err.Error(), "invalid_grant") {
		t.Fatalf("refresh after disable = %v, want invalid_grant", err)
	}
	form := url.Values{"token": {refreshed.AccessToken}}
	req, _ = http.NewRequest("POST", meta.Introspection, strings.NewReader(form.Encode()))
	req.SetBasicAuth(f.BootstrapClient.ClientID, f.BootstrapClient.ClientSecret)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var intro struct {
		Active bool `json:"active"`
	}
	json.NewDecoder(resp.Body).Decode(&intro)
	resp.Body.Close()
	if resp.StatusCode != 200 || intro.Active {
		t.Fatalf("introspection of a disabled user's access token = %d active=%v, want inactive", resp.StatusCode, intro.Active)
	}
}

// TestGraphRevokeSignInSessions: Graph's revoke action answers as Graph
// does, names the revocation resource, kills the user's refresh token at
// once and is audited.
func TestGraphRevokeSignInSessions(t *testing.T) {
	ctx := context.Background()
	w := startWired(t)
	cfg, srv, f, appToken, provider := w.cfg, w.srv, w.f, w.appToken, w.provider
	// The admin signs in with the CLI client (password grant).
	cli := oauth2.Config{ClientID: f.CLIClientID, Endpoint: provider.Endpoint(),
		Scopes: []string{"openid", "offline_access", "https://graph.microsoft.com/User.Read"}}
	tok, err := cli.PasswordCredentialsToken(ctx, f.Admin.UserPrincipalName, f.Admin.Password)
	if err != nil {
		t.Fatalf("password grant: %v", err)
	}

	code, hdr, body := call(t, "POST", srv.base+"/v1.0/users/"+f.Admin.UserPrincipalName+"/revokeSignInSessions", appToken, "")
	if code != 200 || body["value"] != true || body["@odata.context"] != cfg.IssuerURL()+"/v1.0/$metadata#Edm.Boolean" {
		t.Fatalf("revokeSignInSessions = %d %v", code, body)
	}
	if !strings.HasPrefix(hdr.Get("Location"), cfg.IssuerURL()+"/vigil/v1/revocations/") {
		t.Errorf("Location = %q", hdr.Get("Location"))
	}
	if _, err := cli.TokenSource(ctx, &oauth2.Token{RefreshToken: tok.RefreshToken}).Token(); err == nil ||
		!strings.Contains(err.Error(), "invalid_grant") {
		t.Fatalf("refresh after revokeSignInSessions = %v, want invalid_grant", err)
	}
	filter := url.QueryEscape("targetResources/any(t: t/id eq '" + f.Admin.ID + "')")
	code, _, audit := call(t, "GET", srv.base+"/v1.0/auditLogs/directoryAudits?$filter="+filter, appToken, "")
	found := false
	for _, v := range audit["value"].([]any) {
		if rec, _ := v.(map[string]any); rec["activityDisplayName"] == "Update StsRefreshTokenValidFrom Timestamp" {
			found = true
		}
	}
	if code != 200 || !found {
		t.Fatalf("audit for the revocation = %d %v", code, audit)
	}
}
