package server

import (
	"bytes"
	"context"
	"net/http"
	"testing"

	"golang.org/x/oauth2"
)

// TestOwnAPIsRefuseRevokedTokens: in the wired server, a user's delegated
// tokens work at Graph, the Vigil API and userinfo until an admin revokes
// the user's sessions, and are refused at once afterwards (401), as
// introspection reports them inactive; a new sign-in works at once; the
// admin's app-only token is unaffected.
func TestOwnAPIsRefuseRevokedTokens(t *testing.T) {
	ctx := context.Background()
	w := startWired(t)
	srv, f, appToken, provider := w.srv, w.f, w.appToken, w.provider
	signIn := func(scopes ...string) string {
		t.Helper()
		cli := oauth2.Config{ClientID: f.CLIClientID, Endpoint: provider.Endpoint(), Scopes: scopes}
		tok, err := cli.PasswordCredentialsToken(ctx, f.Admin.UserPrincipalName, f.Admin.Password)
		if err != nil {
			t.Fatalf("password grant for %v: %v", scopes, err)
		}
		return tok.AccessToken
	}
	graph := signIn("openid", "https://graph.microsoft.com/User.Read")
	vigil := signIn("api://vigil/.default")
	calls := []struct{ name, url, token string }{
		{"Graph /me", srv.base + "/v1.0/me", graph},
		{"userinfo", srv.base + "/userinfo", graph},
		{"Vigil API /me/sessions", srv.base + "/vigil/v1/me/sessions", vigil},
	}
	for _, c := range calls {
		if code, body := get(t, c.url, c.token); code != http.StatusOK {
			t.Fatalf("%s before the revocation: %d %s", c.name, code, body)
		}
	}

	req, _ := http.NewRequest("POST", srv.base+"/v1.0/users/"+f.Admin.UserPrincipalName+"/revokeSignInSessions", bytes.NewReader(nil))
	req.Header.Set("Authorization", "Bearer "+appToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("revokeSignInSessions: %v %v", resp, err)
	}
	resp.Body.Close()
	for _, c := range calls {
		if code, body := get(t, c.url, c.token); code != http.StatusUnauthorized {
			t.Errorf("%s after the revocation: %d %s, want 401", c.name, code, body)
		}
	}
	// Signing in again works at once, even within the second of the
	// revocation (the new token's iat is not before it).
	if code, body := get(t, srv.base+"/v1.0/me", signIn("openid", "https://graph.microsoft.com/User.Read")); code != http.StatusOK {
		t.Errorf("a token issued after the revocation: %d %s", code, body)
	}
	if code, body := get(t, srv.base+"/v1.0/users?$top=1", appToken); code != http.StatusOK {
		t.Errorf("the admin's app-only token after the revocation: %d %s", code, body)
	}
}
