package oauth

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/vigil-idp/vigil/internal/store/sqlstore/sqltest"
)

func TestRevocation(t *testing.T) {
	eachIDP(t, func(t *testing.T, d *sessionIDP) {
		cli := d.newApp(t, "refresh-client-secret-0123456789abcdefghij")
		other := d.newApp(t, "other-client-secret-0123456789abcdefghijk")
		conf := d.oauth2Config(cli)
		auth := basic(cli.application.AppID, cli.secret)
		u := d.user(t)

		// Revoking the current token of a family revokes the family.
		_, rt := d.signIn(t, u, cli.application.AppID, nil)
		tok, err := d.refresh(t, conf, rt)
		if err != nil {
			t.Fatal(err)
		}
		if status, body := d.form(t, PathRevoke, basic(other.application.AppID, other.secret), url.Values{"token": {tok.RefreshToken}}); status != 400 || oauthError(t, body) != CodeUnauthorizedClient {
			t.Fatalf("another client's revocation: %d %s", status, body)
		}
		if _, err := d.refresh(t, conf, tok.RefreshToken); err != nil {
			t.Fatalf("the token after another client tried to revoke it: %v", err)
		}
		_, rt = d.signIn(t, u, cli.application.AppID, nil)
		tok, err = d.refresh(t, conf, rt)
		if err != nil {
			t.Fatal(err)
		}
		status, body := d.form(t, PathRevoke, auth, url.Values{"token": {rt}, "token_type_hint": {HintRefreshToken}})
		if status != http.StatusOK || len(body) != 0 {
			t.Fatalf("revoke: %d %q", status, body)
		}
		if _, err := d.refresh(t, conf, tok.RefreshToken); retrieveCode(err) != CodeInvalidGrant {
			t.Fatalf("the family's live token after revoking its parent: %v", err)
		}

		// A hint that is wrong, or unknown, does not matter (RFC 7009 §2.1).
		_, rt = d.signIn(t, u, cli.application.AppID, nil)
		if status, body := d.form(t, PathRevoke, auth, url.Values{"token": {rt}, "token_type_hint": {"bogus"}}); status != 200 {
			t.Fatalf("revoke with a bogus hint: %d %s", status, body)
		}
		if _, err := d.refresh(t, conf, rt); retrieveCode(err) != CodeInvalidGrant {
			t.Fatalf("token after revocation: %v", err)
		}

		// Unknown and already revoked tokens: 200.
		for _, tokVal := range []string{"unknown", rt, "a.b.c"} {
			if status, body := d.form(t, PathRevoke, auth, url.Values{"token": {tokVal}}); status != 200 {
				t.Errorf("revoke %q: %d %s", tokVal, status, body)
			}
		}

		// Access tokens: unsupported_token_type.
		if status, body := d.form(t, PathRevoke, auth, url.Values{"token": {tok.AccessToken}, "token_type_hint": {HintAccessToken}}); status != 400 || oauthError(t, body) != CodeUnsupportedTokenType {
			t.Errorf("revoke an access token: %d %s", status, body)
		}

		// A public client revokes its own token by client_id alone.
		pub := d.publicApp(t)
		_, prt := d.signIn(t, u, pub.AppID, nil)
		if status, body := d.form(t, PathRevoke, "", url.Values{"token": {prt}, "client_id": {pub.AppID}}); status != 200 {
			t.Fatalf("public client revoke: %d %s", status, body)
		}
		if status, _ := d.form(t, PathToken, "", url.Values{"grant_type": {GrantRefreshToken}, "refresh_token": {prt}, "client_id": {pub.AppID}}); status != 400 {
			t.Errorf("public token after revocation: %d", status)
		}
	})
}

func TestRevocationBadRequests(t *testing.T) {
	d := newSessionIDP(t, sqltest.SQLite(t))
	cli := d.newApp(t, "refresh-client-secret-0123456789abcdefghij")
	checkFormErrors(t, d, PathRevoke, []formCase{
		{"no client", "", url.Values{"token": {"x"}}, 401, CodeInvalidClient},
		{"wrong secret", basic(cli.application.AppID, "nope"), url.Values{"token": {"x"}}, 401, CodeInvalidClient},
		{"no token", basic(cli.application.AppID, cli.secret), url.Values{}, 400, CodeInvalidRequest},
	})
}
