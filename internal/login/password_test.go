package login

import (
	"context"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vigil-idp/vigil/internal/authz"
	"github.com/vigil-idp/vigil/internal/oauth"
	"github.com/vigil-idp/vigil/internal/store"
	"github.com/vigil-idp/vigil/internal/store/sqlstore"
	"github.com/vigil-idp/vigil/internal/store/sqlstore/sqltest"
)

// TestPasswordGrant: x/oauth2's PasswordCredentialsToken works for the
// public CLI app (public client flows enabled) and its tokens carry a sid
// that revocation reaches; refused for an app without public client flows,
// for a wrong password, for a disabled user and without consent.
func TestPasswordGrant(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, st *sqlstore.Store) {
		d := newIDP(t, st)
		cli := d.cliApp(t)
		u := d.newUser(t, "ropc@vigil.test", "pw-ropc")
		ctx := context.Background()
		rp := newRelyingParty(t, d, cli.AppID, "", "", "openid", "offline_access", "User.Read")
		tok, err := rp.config.PasswordCredentialsToken(ctx, u.UserPrincipalName, "pw-ropc")
		if err != nil {
			t.Fatal(err)
		}
		pr, err := d.verifier.Verify(ctx, tok.AccessToken)
		if err != nil || pr.ObjectID != u.ID || pr.SessionID == "" || !slices.Contains(pr.Scopes, "User.Read") {
			t.Fatalf("password grant token %+v %v", pr, err)
		}
		sess, err := st.GetSession(ctx, pr.SessionID)
		if err != nil || !slices.Contains(sess.ClientIDs, cli.AppID) || !slices.Equal(sess.AMR, []string{"pwd"}) {
			t.Fatalf("session %+v %v", sess, err)
		}

		if _, err := rp.config.PasswordCredentialsToken(ctx, u.UserPrincipalName, "wrong"); retrieveError(t, err).ErrorCode != oauth.CodeInvalidGrant {
			t.Fatalf("wrong password: %v", err)
		}
		if _, err := rp.config.PasswordCredentialsToken(ctx, "nobody@vigil.test", "pw-ropc"); retrieveError(t, err).ErrorCode != oauth.CodeInvalidGrant {
			t.Fatalf("unknown user: %v", err)
		}

		conf := d.newApp(t, store.Application{WebRedirectURIs: []string{"https://rp.example/cb"}})
		sec := d.secretFor(t, conf)
		d.consent(t, conf.AppID, "", authz.GraphAppID, "openid", "User.Read")
		crp := newRelyingParty(t, d, conf.AppID, sec, "", "openid", "User.Read")
		if _, err := crp.config.PasswordCredentialsToken(ctx, u.UserPrincipalName, "pw-ropc"); retrieveError(t, err).ErrorCode != oauth.CodeUnauthorizedClient {
			t.Fatalf("confidential app without public client flows: %v", err)
		}

		noConsent := d.newApp(t, store.Application{IsFallbackPublicClient: true})
		nrp := newRelyingParty(t, d, noConsent.AppID, "", "", "openid", "User.Read")
		_, err = nrp.config.PasswordCredentialsToken(ctx, u.UserPrincipalName, "pw-ropc")
		if re := retrieveError(t, err); re.ErrorCode != oauth.CodeInvalidGrant || !strings.Contains(re.ErrorDescription, "consented") {
			t.Fatalf("no consent: %v", err)
		}

		if _, err := st.UpdateUser(ctx, u.ID, func(old store.User) (store.User, error) {
			old.AccountEnabled = false
			return old, nil
		}); err != nil {
			t.Fatal(err)
		}
		_, err = rp.config.PasswordCredentialsToken(ctx, u.UserPrincipalName, "pw-ropc")
		if re := retrieveError(t, err); re.ErrorCode != oauth.CodeInvalidGrant || !strings.Contains(re.ErrorDescription, "disabled") {
			t.Fatalf("disabled user: %v", err)
		}
	})
}

// TestLockout: repeated failures slow the answers down from the third on,
// then lock the account at the tenth, audited; while locked even the right
// password fails; an unknown user name gets exactly the same answers; the
// lock runs out. The form and the password grant share the counter.
func TestLockout(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, st *sqlstore.Store) {
		d := newIDP(t, st)
		cli := d.cliApp(t)
		u := d.newUser(t, "lock@vigil.test", "pw-lock")
		f := newFlow(t, d, cli, "openid")
		formAnswer := func(name, password string) string {
			p := f.b.signIn(f.start(), name, password)
			switch {
			case strings.Contains(p.body, "incorrect"):
				return "incorrect"
			case strings.Contains(p.body, "locked"):
				return "locked"
			case p.location != "":
				return "signed in"
			}
			t.Fatalf("unexpected answer %d:\n%s", p.status, p.body)
			return ""
		}
		grantAnswer := func(name, password string) string {
			status, body, _ := postToken(t, d, url.Values{"grant_type": {"password"}, "client_id": {cli.AppID},
				"username": {name}, "password": {password}, "scope": {"openid"}})
			switch desc, _ := body["error_description"].(string); {
			case status == 200:
				return "signed in"
			case strings.Contains(desc, "incorrect"):
				return "incorrect"
			case strings.Contains(desc, "locked"):
				return "locked"
			}
			t.Fatalf("unexpected grant answer %d %v", status, body)
			return ""
		}
		for _, name := range []string{u.UserPrincipalName, "ghost@vigil.test"} {
			var answers []string
			for i := range 10 {
				ask := formAnswer
				if i%2 == 1 {
					ask = grantAnswer
				}
				answers = append(answers, ask(name, "wrong-"+name))
			}
			answers = append(answers, formAnswer(name, "pw-lock"), grantAnswer(name, "pw-lock"))
			want := slices.Concat(slices.Repeat([]string{"incorrect"}, 10), []string{"locked", "locked"})
			if !slices.Equal(answers, want) {
				t.Fatalf("%s: answers %v", name, answers)
			}
		}
		// Slow-down: from the third failure, doubling, capped.
		sl := d.slept()
		want := []time.Duration{500 * time.Millisecond, time.Second, 2 * time.Second, 4 * time.Second, 4 * time.Second, 4 * time.Second, 4 * time.Second, 4 * time.Second}
		if len(sl) != 16 || !slices.Equal(sl[:8], want) || !slices.Equal(sl[8:], want) {
			t.Fatalf("slow-downs %v", sl)
		}
		page, err := st.ListAudit(context.Background(), store.Query{})
		if err != nil {
			t.Fatal(err)
		}
		locks := 0
		for _, r := range page.Items {
			if r.ActivityDisplayName == AuditActivityLockout && slices.Equal(r.TargetIDs, []string{u.ID}) {
				locks++
			}
		}
		if locks != 1 {
			t.Fatalf("%d lockout audit records, want 1", locks)
		}

		d.clock.Advance(DefaultLockFor + time.Second)
		if got := formAnswer(u.UserPrincipalName, "pw-lock"); got != "signed in" {
			t.Fatalf("after the lock ran out: %s", got)
		}
		th, err := st.GetSignInThrottle(context.Background(), u.ID)
		if err != nil || th.Failures != 0 {
			t.Fatalf("throttle not reset: %+v %v", th, err)
		}
	})
}
