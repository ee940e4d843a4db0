package oauth

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/vigil-idp/vigil/internal/authz"
	"github.com/vigil-idp/vigil/internal/session"
	"github.com/vigil-idp/vigil/internal/store"
)

// TestClientCredentialsPolicyLifetime checks that app-only tokens live as
// long as the client's effective session policy says (global, overlaid by
// the application's), as delegated tokens do.
func TestClientCredentialsPolicyLifetime(t *testing.T) {
	eachIDP(t, func(t *testing.T, d *sessionIDP) {
		cli := d.newApp(t, "cc-policy-secret-0123456789abcdefghijklmn", "User.Read.All")
		other := d.newApp(t, "cc-other-secret-0123456789abcdefghijklmno", "User.Read.All")
		tests := []struct {
			name   string
			global *time.Duration // nil: no global policy
			app    *time.Duration // nil: no policy for cli
			client app
			want   time.Duration
		}{
			{name: "defaults", client: cli, want: session.DefaultAccessTokenLifetime},
			{name: "global policy", global: ptrTo(10 * time.Minute), client: cli, want: 10 * time.Minute},
			{name: "application policy overlays the global one", global: ptrTo(10 * time.Minute), app: ptrTo(7 * time.Minute), client: cli, want: 7 * time.Minute},
			{name: "another application keeps the global one", global: ptrTo(10 * time.Minute), app: ptrTo(7 * time.Minute), client: other, want: 10 * time.Minute},
			{name: "application policy alone", app: ptrTo(2 * time.Hour), client: cli, want: 2 * time.Hour},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				d.setPolicy(t, session.PolicyGlobal, tt.global)
				d.setPolicy(t, cli.application.AppID, tt.app)
				resp := d.appToken(t, tt.client)
				want := int64(tt.want / time.Second)
				if resp.ExpiresIn != want || resp.ExtExpiresIn != want {
					t.Errorf("expires_in = %d, ext_expires_in = %d, want %d", resp.ExpiresIn, resp.ExtExpiresIn, want)
				}
				c, _ := unverifiedClaims(t, resp.AccessToken)
				if got := int64(c["exp"].(float64) - c["iat"].(float64)); got != want {
					t.Errorf("exp - iat = %d, want %d", got, want)
				}
			})
		}
	})
}

// setPolicy stores the access-token lifetime life as the policy of scope,
// or deletes scope's policy when life is nil.
func (d *sessionIDP) setPolicy(t testing.TB, scope string, life *time.Duration) {
	t.Helper()
	ctx := context.Background()
	if life == nil {
		if err := d.sessions.DeletePolicy(ctx, scope); err != nil && !errors.Is(err, store.ErrNotFound) {
			t.Fatal(err)
		}
		return
	}
	if _, err := d.sessions.PutPolicy(ctx, scope, session.Settings{AccessTokenLifetime: life}); err != nil {
		t.Fatal(err)
	}
}

// appToken gets a Graph token for a with the client_credentials grant.
func (d *sessionIDP) appToken(t testing.TB, a app) TokenResponse {
	t.Helper()
	status, body := d.form(t, PathToken, basic(a.application.AppID, a.secret),
		url.Values{"grant_type": {GrantClientCredentials}, "scope": {authz.GraphResource + DefaultScopeSuffix}})
	var resp TokenResponse
	if status != http.StatusOK || json.Unmarshal(body, &resp) != nil {
		t.Fatalf("client_credentials: %d %s", status, body)
	}
	return resp
}
