package login

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/vigil-idp/vigil/internal/oauth"
	"github.com/vigil-idp/vigil/internal/store/sqlstore"
	"github.com/vigil-idp/vigil/internal/store/sqlstore/sqltest"
)

// nbfChallenge is the claims request of an Entra CAE insufficient_claims
// challenge asking for tokens not before nbf.
func nbfChallenge(nbf int64) string {
	return fmt.Sprintf(`{"access_token":{"nbf":{"essential":true,"value":"%d"}}}`, nbf)
}

// refreshWithClaims redeems a refresh token of the public client with a
// claims parameter (x/oauth2's TokenSource sends no extra parameters) and
// returns the status and the decoded body.
func (f *flow) refreshWithClaims(rt, claims string) (int, map[string]any) {
	f.t.Helper()
	form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}, "client_id": {f.rp.config.ClientID}, "claims": {claims}}
	resp, err := f.d.http.Client().PostForm(f.rp.config.Endpoint.TokenURL, form)
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var body map[string]any
	if err := json.Unmarshal(raw, &body); err != nil {
		f.t.Fatalf("token endpoint answered %d %q", resp.StatusCode, raw)
	}
	return resp.StatusCode, body
}

// TestClaimsChallengeEndToEnd: a claims request carrying an access_token
// nbf after the SSO session's authentication shows the sign-in form again
// (login_required with prompt=none), raw or base64 as the challenge carries
// it, and the tokens then issued have iat and auth_time at or after nbf; at
// the token endpoint a refresh token authenticated before nbf is refused
// with invalid_grant (interaction required) and left usable, and one
// authenticated after it is redeemed.
func TestClaimsChallengeEndToEnd(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, st *sqlstore.Store) {
		d := newIDP(t, st)
		cli := d.cliApp(t)
		u := d.newUser(t, "nina@vigil.test", "pw-nina")
		f := newFlow(t, d, cli, "openid", "offline_access", "User.Read")
		first := f.login(u.UserPrincipalName, "pw-nina")
		authTime := int64(f.idClaims(first)["auth_time"].(float64))

		// An nbf not after the authentication: SSO as usual.
		for _, claims := range []string{nbfChallenge(authTime), base64.StdEncoding.EncodeToString([]byte(nbfChallenge(authTime - 60)))} {
			if p := f.start("claims", claims); p.status != http.StatusFound {
				t.Fatalf("claims %s: nbf not after auth_time but no SSO: %d", claims, p.status)
			}
		}

		// The challenge: nbf = now+1, after the session's authentication.
		nbf := d.clock.Now().Unix() + 1
		challenge := nbfChallenge(nbf)
		got := f.cb.follow(t, f.b, f.start("claims", challenge, "prompt", "none"))
		if got.Get("error") != oauth.CodeLoginRequired || got.Get("state") != "state-1" {
			t.Fatalf("claims nbf with prompt=none: %v", got)
		}
		if p := f.start("claims", base64.StdEncoding.EncodeToString([]byte(challenge))); !strings.Contains(p.body, `name="password"`) {
			t.Fatalf("base64 claims nbf after auth_time did not ask for the password: %d", p.status)
		}
		p := f.start("claims", challenge)
		if !strings.Contains(p.body, `name="password"`) {
			t.Fatalf("claims nbf after auth_time did not ask for the password: %d", p.status)
		}
		d.clock.Advance(2 * time.Second)
		second := f.exchange(f.cb.follow(t, f.b, f.b.signIn(p, u.UserPrincipalName, "pw-nina")))
		if iat := int64(accessClaim(t, second.AccessToken, "iat").(float64)); iat < nbf {
			t.Errorf("access token iat %d before nbf %d", iat, nbf)
		}
		if at := int64(f.idClaims(second)["auth_time"].(float64)); at < nbf {
			t.Errorf("auth_time %d before nbf %d", at, nbf)
		}
		// The session is now fresh enough: the same challenge is answered
		// silently.
		if p := f.start("claims", challenge, "prompt", "none"); p.status != http.StatusFound || p.redirectParams(t).Get("code") == "" {
			t.Fatalf("claims nbf after re-authentication, prompt=none: %d %v", p.status, p.location)
		}

		// Token endpoint: the first refresh token was authenticated before
		// nbf.
		status, body := f.refreshWithClaims(first.RefreshToken, base64.StdEncoding.EncodeToString([]byte(nbfChallenge(authTime+1))))
		desc, _ := body["error_description"].(string)
		if status != http.StatusBadRequest || body["error"] != oauth.CodeInvalidGrant || !strings.Contains(desc, "interaction_required") || !strings.Contains(desc, "re-authentication") {
			t.Fatalf("refresh with nbf after auth_time: %d %v", status, body)
		}
		status, body = f.refreshWithClaims(first.RefreshToken, nbfChallenge(authTime+1))
		if status != http.StatusBadRequest || body["error"] != oauth.CodeInvalidGrant {
			t.Fatalf("refresh with raw claims nbf after auth_time: %d %v", status, body)
		}
		// An nbf in the past: redeemed (the refused attempts did not use
		// the token).
		status, body = f.refreshWithClaims(first.RefreshToken, nbfChallenge(authTime-10))
		if status != http.StatusOK || body["access_token"] == nil || body["refresh_token"] == nil {
			t.Fatalf("refresh with nbf before auth_time: %d %v", status, body)
		}
		if _, err := d.verifier.Verify(context.Background(), body["access_token"].(string)); err != nil {
			t.Fatal(err)
		}
		// The refresh token of the re-authentication satisfies the
		// challenge; the new access token's iat is at or after nbf.
		status, body = f.refreshWithClaims(second.RefreshToken, base64.StdEncoding.EncodeToString([]byte(challenge)))
		if status != http.StatusOK {
			t.Fatalf("refresh after re-authentication: %d %v", status, body)
		}
		if iat := int64(accessClaim(t, body["access_token"].(string), "iat").(float64)); iat < nbf {
			t.Errorf("refreshed access token iat %d before nbf %d", iat, nbf)
		}
	})
}
