package oauth

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/google/uuid"
	"golang.org/x/oauth2"

	"github.com/vigil-idp/vigil/internal/authz"
	"github.com/vigil-idp/vigil/internal/session"
	"github.com/vigil-idp/vigil/internal/store"
	"github.com/vigil-idp/vigil/internal/store/sqlstore"
	"github.com/vigil-idp/vigil/internal/store/sqlstore/sqltest"
)

// globalAdmin is Entra's Global Administrator role template id.
const globalAdmin = "62e90394-69f5-4237-9190-012177145e10"

// sessionIDP is a running token service with the session-backed endpoints
// of this file's grant and of introspection, revocation and back-channel
// logout.
type sessionIDP struct {
	*idp
	sessions *session.Service
	access   *AccessTokens
}

func newSessionIDP(t testing.TB, st *sqlstore.Store) *sessionIDP {
	t.Helper()
	d := newIDP(t, st)
	svc := &session.Service{Store: st, Secrets: d.hasher, Now: d.clock.Now, PolicyCacheTTL: -1}
	access := &AccessTokens{Issuer: d.issuer, Signers: d.keys, Meta: st, Now: d.clock.Now}
	d.server.Grants[GrantClientCredentials] = &ClientCredentials{Directory: st, Tokens: access, Policies: svc}
	d.server.Grants[GrantRefreshToken] = &RefreshGrant{Sessions: svc, Tokens: &Delegated{
		Access:   access,
		IDTokens: &IDTokens{Issuer: d.issuer, Signers: d.keys, Keys: d.keys, Meta: st, Now: d.clock.Now},
		Sessions: svc,
		Roles:    st,
	}}
	mux := d.http.Config.Handler.(*http.ServeMux)
	all := &Verifier{Keys: d.keys, Issuer: d.issuer, Audiences: []string{authz.GraphResource, authz.VigilResource}, Now: d.clock.Now}
	(&Introspection{Provider: d.server, Verifier: all, States: svc}).Mount(mux)
	(&Revocation{Provider: d.server, Verifier: all, Sessions: svc}).Mount(mux)
	return &sessionIDP{idp: d, sessions: svc, access: access}
}

// eachIDP runs fn on SQLite and (when configured) PostgreSQL.
func eachIDP(t *testing.T, fn func(t *testing.T, d *sessionIDP)) {
	t.Helper()
	sqltest.Each(t, func(t *testing.T, st *sqlstore.Store) { fn(t, newSessionIDP(t, st)) })
}

// user creates an enabled Global Administrator.
func (d *sessionIDP) user(t testing.TB) store.User {
	t.Helper()
	ctx := context.Background()
	id := uuid.NewString()
	u := store.User{ID: id, UserPrincipalName: id[:8] + "@vigil.test", DisplayName: "User " + id[:8], AccountEnabled: true,
		CreatedDateTime: time.Now().UTC().Add(-time.Hour)}
	if err := d.store.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	if err := d.store.CreateRoleAssignment(ctx, store.RoleAssignment{ID: uuid.NewString(), PrincipalID: id, PrincipalKind: store.KindUser,
		RoleDefinitionID: globalAdmin, DirectoryScopeID: "/", CreatedDateTime: time.Now().UTC()}); err != nil {
		t.Fatal(err)
	}
	return u
}

// signIn starts a session for u used by client and issues a refresh token
// for the Graph scopes (canonical form), with the given capabilities.
func (d *sessionIDP) signIn(t testing.TB, u store.User, client string, caps []string, scopes ...string) (store.Session, string) {
	t.Helper()
	ctx := context.Background()
	s, err := d.sessions.Start(ctx, u.ID, []string{"pwd"}, session.ClientInfo{})
	if err != nil {
		t.Fatal(err)
	}
	if err := d.sessions.Touch(ctx, s.ID, client); err != nil {
		t.Fatal(err)
	}
	if len(scopes) == 0 {
		scopes = []string{"https://graph.microsoft.com/User.Read", "https://graph.microsoft.com/User.Read.All", "openid", "offline_access"}
	}
	v, _, err := d.sessions.IssueRefreshToken(ctx, session.NewRefresh{
		UserID: u.ID, SessionID: s.ID, ClientID: client, Scopes: scopes, Resource: authz.GraphResource,
		Capabilities: caps, AuthTime: s.AuthTime,
	})
	if err != nil {
		t.Fatal(err)
	}
	return s, v
}

// publicApp registers a public client (public client flows enabled).
func (d *sessionIDP) publicApp(t testing.TB) store.Application {
	t.Helper()
	a := store.Application{ID: uuid.NewString(), AppID: uuid.NewString(), DisplayName: "public", IsFallbackPublicClient: true,
		CreatedDateTime: time.Now().UTC()}
	if err := d.store.CreateApplication(context.Background(), a); err != nil {
		t.Fatal(err)
	}
	return a
}

// oauth2Config is golang.org/x/oauth2's view of a confidential client.
func (d *sessionIDP) oauth2Config(cli app) *oauth2.Config {
	return &oauth2.Config{ClientID: cli.application.AppID, ClientSecret: cli.secret,
		Endpoint: oauth2.Endpoint{TokenURL: d.issuer + PathToken, AuthStyle: oauth2.AuthStyleInHeader}}
}

// refresh redeems a refresh token through golang.org/x/oauth2.
func (d *sessionIDP) refresh(t testing.TB, conf *oauth2.Config, rt string) (*oauth2.Token, error) {
	t.Helper()
	ctx := context.WithValue(context.Background(), oauth2.HTTPClient, d.http.Client())
	return conf.TokenSource(ctx, &oauth2.Token{RefreshToken: rt}).Token()
}

// form POSTs a form to an endpoint below the issuer and returns the status
// and the raw body.
func (d *sessionIDP) form(t testing.TB, path string, auth string, vals url.Values) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, d.issuer+path, strings.NewReader(vals.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := d.http.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, body
}

// oauthError decodes an RFC 6749 §5.2 error body.
func oauthError(t testing.TB, body []byte) string {
	t.Helper()
	var e struct {
		Error string `json:"error"`
	}
	if err := json.Unmarshal(body, &e); err != nil {
		t.Fatalf("body %q is not an error object: %v", body, err)
	}
	return e.Error
}

// unverifiedClaims decodes a JWT's claims (the tests verify signatures
// separately) and its typ header.
func unverifiedClaims(t testing.TB, raw string) (map[string]any, string) {
	t.Helper()
	tok, err := jwt.ParseSigned(raw, []jose.SignatureAlgorithm{jose.ES256, jose.RS256})
	if err != nil {
		t.Fatal(err)
	}
	var c map[string]any
	if err := tok.UnsafeClaimsWithoutVerification(&c); err != nil {
		t.Fatal(err)
	}
	typ, _ := tok.Headers[0].ExtraHeaders[jose.HeaderType].(string)
	return c, typ
}

// formCase is a request to a form endpoint that must fail.
type formCase struct {
	name   string
	auth   string
	vals   url.Values
	status int
	code   string
}

// checkFormErrors posts each case to path and checks its RFC 6749 error,
// and that a 401 (and only a 401) carries the Basic challenge (RFC 6749
// §5.2, RFC 9110 §15.5.2).
func checkFormErrors(t *testing.T, d *sessionIDP, path string, cases []formCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			header := http.Header{}
			if tc.auth != "" {
				header.Set("Authorization", tc.auth)
			}
			resp, body := post(t, d.idp, d.issuer+path, header, tc.vals.Encode())
			if resp.StatusCode != tc.status || body["error"] != tc.code {
				t.Fatalf("got %d %v, want %d %s", resp.StatusCode, body, tc.status, tc.code)
			}
			want := ""
			if tc.status == http.StatusUnauthorized {
				want = d.basicChallenge()
			}
			if got := resp.Header.Get("WWW-Authenticate"); got != want {
				t.Errorf("WWW-Authenticate = %q, want %q", got, want)
			}
		})
	}
}

func retrieveCode(err error) string {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		return re.ErrorCode
	}
	return ""
}

func TestRefreshGrant(t *testing.T) {
	eachIDP(t, func(t *testing.T, d *sessionIDP) {
		cli := d.newApp(t, "refresh-client-secret-0123456789abcdefghij")
		conf := d.oauth2Config(cli)
		u := d.user(t)
		s, v0 := d.signIn(t, u, cli.application.AppID, []string{"cp1"})

		tok, err := d.refresh(t, conf, v0)
		if err != nil {
			t.Fatal(err)
		}
		if tok.RefreshToken == "" || tok.RefreshToken == v0 {
			t.Fatalf("refresh token not rotated: %q", tok.RefreshToken)
		}
		p, err := d.verifier.Verify(context.Background(), tok.AccessToken)
		if err != nil {
			t.Fatal(err)
		}
		if p.Kind != authz.Delegated || p.ObjectID != u.ID || p.SessionID != s.ID || p.ClientID != cli.application.AppID ||
			!slices.Equal(p.RoleTemplateIDs, []string{globalAdmin}) ||
			!slices.Contains(p.Scopes, "User.Read.All") || !slices.Contains(p.Scopes, "openid") {
			t.Fatalf("principal = %+v", p)
		}
		c, _ := unverifiedClaims(t, tok.AccessToken)
		if xms, _ := c["xms_cc"].([]any); len(xms) != 1 || xms[0] != "cp1" {
			t.Errorf("xms_cc = %v", c["xms_cc"])
		}
		if life := time.Duration(c["exp"].(float64)-c["iat"].(float64)) * time.Second; life != session.DefaultCAEAccessTokenLifetime {
			t.Errorf("cp1 access token lifetime = %v, want the CAE lifetime", life)
		}
		if id, _ := tok.Extra("id_token").(string); id == "" {
			t.Error("no ID token although openid is granted")
		}
		if got := tok.Extra("scope"); got != "https://graph.microsoft.com/User.Read https://graph.microsoft.com/User.Read.All openid offline_access" {
			t.Errorf("scope = %v", got)
		}

		// The policy sets the lifetimes.
		if _, err := d.sessions.PutPolicy(context.Background(), cli.application.AppID, session.Settings{
			AccessTokenLifetime: ptrTo(10 * time.Minute), CAEAccessTokenLifetime: ptrTo(20 * time.Hour)}); err != nil {
			t.Fatal(err)
		}
		tok2, err := d.refresh(t, conf, tok.RefreshToken)
		if err != nil {
			t.Fatal(err)
		}
		if c, _ := unverifiedClaims(t, tok2.AccessToken); time.Duration(c["exp"].(float64)-c["iat"].(float64))*time.Second != 20*time.Hour {
			t.Errorf("cp1 lifetime under the policy = %v", c["exp"].(float64)-c["iat"].(float64))
		}
		_, plain := d.signIn(t, u, cli.application.AppID, nil)
		tok3, err := d.refresh(t, conf, plain)
		if err != nil {
			t.Fatal(err)
		}
		c3, _ := unverifiedClaims(t, tok3.AccessToken)
		if time.Duration(c3["exp"].(float64)-c3["iat"].(float64))*time.Second != 10*time.Minute {
			t.Errorf("lifetime under the policy = %v", c3["exp"].(float64)-c3["iat"].(float64))
		}
		if _, ok := c3["xms_cc"]; ok {
			t.Error("xms_cc without cp1")
		}

		// Reuse of a rotated token: invalid_grant, and the family is dead.
		if _, err := d.refresh(t, conf, v0); retrieveCode(err) != CodeInvalidGrant {
			t.Fatalf("reuse = %v, want invalid_grant", err)
		}
		if _, err := d.refresh(t, conf, tok2.RefreshToken); retrieveCode(err) != CodeInvalidGrant {
			t.Fatalf("the family's live token after reuse = %v, want invalid_grant", err)
		}
		// Another family of the same user is untouched.
		if _, err := d.refresh(t, conf, tok3.RefreshToken); err != nil {
			t.Fatalf("an unrelated family after reuse: %v", err)
		}
	})
}

func TestRefreshGrantErrors(t *testing.T) {
	eachIDP(t, func(t *testing.T, d *sessionIDP) {
		ctx := context.Background()
		cli := d.newApp(t, "refresh-client-secret-0123456789abcdefghij")
		other := d.newApp(t, "other-client-secret-0123456789abcdefghijk")
		auth := basic(cli.application.AppID, cli.secret)
		for _, tc := range []struct {
			name   string
			form   func(t *testing.T, u store.User, rt string) (url.Values, string)
			status int
			code   string
			after  int // status of a plain refresh with the same token afterwards; 0 = not checked
		}{
			{name: "missing refresh_token", form: func(*testing.T, store.User, string) (url.Values, string) {
				return url.Values{"grant_type": {GrantRefreshToken}}, auth
			}, status: 400, code: CodeInvalidRequest},
			{name: "unknown token", form: func(*testing.T, store.User, string) (url.Values, string) {
				return url.Values{"grant_type": {GrantRefreshToken}, "refresh_token": {"bm90LWEtdG9rZW4"}}, auth
			}, status: 400, code: CodeInvalidGrant},
			{name: "widened scope", form: func(_ *testing.T, _ store.User, rt string) (url.Values, string) {
				return url.Values{"grant_type": {GrantRefreshToken}, "refresh_token": {rt}, "scope": {"User.ReadWrite.All"}}, auth
			}, status: 400, code: CodeInvalidScope, after: 200},
			{name: "another resource", form: func(_ *testing.T, _ store.User, rt string) (url.Values, string) {
				return url.Values{"grant_type": {GrantRefreshToken}, "refresh_token": {rt}, "scope": {"api://vigil/.default"}}, auth
			}, status: 400, code: CodeInvalidScope, after: 200},
			{name: "malformed scope", form: func(_ *testing.T, _ store.User, rt string) (url.Values, string) {
				return url.Values{"grant_type": {GrantRefreshToken}, "refresh_token": {rt}, "scope": {"User.Read\x01"}}, auth
			}, status: 400, code: CodeInvalidScope, after: 200},
			{name: "another client", form: func(_ *testing.T, _ store.User, rt string) (url.Values, string) {
				return url.Values{"grant_type": {GrantRefreshToken}, "refresh_token": {rt}}, basic(other.application.AppID, other.secret)
			}, status: 400, code: CodeInvalidGrant, after: 200},
			{name: "bad client secret", form: func(_ *testing.T, _ store.User, rt string) (url.Values, string) {
				return url.Values{"grant_type": {GrantRefreshToken}, "refresh_token": {rt}}, basic(cli.application.AppID, "wrong")
			}, status: 401, code: CodeInvalidClient, after: 200},
			{name: "confidential client without secret", form: func(_ *testing.T, _ store.User, rt string) (url.Values, string) {
				return url.Values{"grant_type": {GrantRefreshToken}, "refresh_token": {rt}, "client_id": {cli.application.AppID}}, ""
			}, status: 401, code: CodeInvalidClient, after: 200},
			{name: "user revoked", form: func(t *testing.T, u store.User, rt string) (url.Values, string) {
				d.clock.Advance(time.Second)
				if _, err := d.store.UpdateUser(ctx, u.ID, func(u store.User) (store.User, error) {
					u.SignInSessionsValidFrom = d.clock.Now().UTC()
					return u, nil
				}); err != nil {
					t.Fatal(err)
				}
				return url.Values{"grant_type": {GrantRefreshToken}, "refresh_token": {rt}}, auth
			}, status: 400, code: CodeInvalidGrant},
			{name: "user disabled", form: func(t *testing.T, u store.User, rt string) (url.Values, string) {
				if _, err := d.store.UpdateUser(ctx, u.ID, func(u store.User) (store.User, error) {
					u.AccountEnabled = false
					return u, nil
				}); err != nil {
					t.Fatal(err)
				}
				return url.Values{"grant_type": {GrantRefreshToken}, "refresh_token": {rt}}, auth
			}, status: 400, code: CodeInvalidGrant},
			{name: "expired by inactivity", form: func(*testing.T, store.User, string) (url.Values, string) {
				return nil, ""
			}, status: 400, code: CodeInvalidGrant},
		} {
			t.Run(tc.name, func(t *testing.T) {
				u := d.user(t)
				_, rt := d.signIn(t, u, cli.application.AppID, nil)
				vals, a := tc.form(t, u, rt)
				if vals == nil { // expiry: move the clock past the window
					d.clock.Advance(session.DefaultRefreshTokenInactivity)
					vals, a = url.Values{"grant_type": {GrantRefreshToken}, "refresh_token": {rt}}, auth
				}
				status, body := d.form(t, PathToken, a, vals)
				if status != tc.status || oauthError(t, body) != tc.code {
					t.Fatalf("got %d %s, want %d %s", status, body, tc.status, tc.code)
				}
				if tc.after != 0 {
					status, body := d.form(t, PathToken, auth, url.Values{"grant_type": {GrantRefreshToken}, "refresh_token": {rt}})
					if status != tc.after {
						t.Errorf("the token afterwards: %d %s", status, body)
					}
				}
			})
		}
	})
}

func TestRefreshGrantNarrowsScope(t *testing.T) {
	eachIDP(t, func(t *testing.T, d *sessionIDP) {
		cli := d.newApp(t, "refresh-client-secret-0123456789abcdefghij")
		auth := basic(cli.application.AppID, cli.secret)
		u := d.user(t)
		_, rt := d.signIn(t, u, cli.application.AppID, nil)
		// golang.org/x/oauth2 sends no scope when refreshing, so narrow
		// with a plain request (RFC 6749 §6).
		refresh := func(rt, scope string) TokenResponse {
			t.Helper()
			status, body := d.form(t, PathToken, auth, url.Values{"grant_type": {GrantRefreshToken}, "refresh_token": {rt}, "scope": {scope}})
			var tr TokenResponse
			if status != 200 || json.Unmarshal(body, &tr) != nil {
				t.Fatalf("refresh with scope %q: %d %s", scope, status, body)
			}
			return tr
		}
		tr := refresh(rt, "User.Read")
		p, err := d.verifier.Verify(context.Background(), tr.AccessToken)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(p.Scopes, []string{"User.Read"}) || tr.Scope != "https://graph.microsoft.com/User.Read" || tr.IDToken != "" {
			t.Fatalf("narrowed: scp %v, scope %q, id_token %t", p.Scopes, tr.Scope, tr.IDToken != "")
		}
		// The new refresh token keeps the original grant (RFC 6749 §6).
		tr = refresh(tr.RefreshToken, "https://graph.microsoft.com/.default openid")
		if p, _ := d.verifier.Verify(context.Background(), tr.AccessToken); !slices.Contains(p.Scopes, "User.Read.All") || tr.IDToken == "" {
			t.Errorf(".default openid after narrowing: scp %v, id_token %t", p.Scopes, tr.IDToken != "")
		}
	})
}

// TestRefreshGrantClaimsChallenge: a claims parameter carrying an
// access_token nbf (an insufficient_claims challenge, raw JSON or base64)
// is refused with invalid_grant when the refresh token's authentication is
// older, without burning the token, and honoured otherwise with an access
// token issued at or after nbf.
func TestRefreshGrantClaimsChallenge(t *testing.T) {
	eachIDP(t, func(t *testing.T, d *sessionIDP) {
		cli := d.newApp(t, "refresh-client-secret-0123456789abcdefghij")
		auth := basic(cli.application.AppID, cli.secret)
		challenge := func(nbf int64) string {
			return fmt.Sprintf(`{"access_token":{"nbf":{"essential":true,"value":"%d"}}}`, nbf)
		}
		b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
		for _, tc := range []struct {
			name   string
			claims func(authTime int64) string
			code   string // "" = success
		}{
			{name: "nbf after auth_time", claims: func(at int64) string { return challenge(at + 1) }, code: CodeInvalidGrant},
			{name: "nbf after auth_time, base64", claims: func(at int64) string { return b64(challenge(at + 60)) }, code: CodeInvalidGrant},
			{name: "nbf after auth_time, with cp1", claims: func(at int64) string {
				return fmt.Sprintf(`{"access_token":{"xms_cc":{"values":["cp1"]},"nbf":{"essential":true,"value":"%d"}}}`, at+1)
			}, code: CodeInvalidGrant},
			{name: "nbf at auth_time", claims: func(at int64) string { return challenge(at) }},
			{name: "nbf before auth_time", claims: func(at int64) string { return challenge(at - 3600) }},
			{name: "nbf before auth_time, base64", claims: func(at int64) string { return b64(challenge(at - 1)) }},
			{name: "no nbf", claims: func(int64) string { return `{"access_token":{"xms_cc":{"values":["cp1"]}}}` }},
			{name: "malformed claims", claims: func(int64) string { return `{"access_token":` }, code: CodeInvalidRequest},
			{name: "malformed nbf", claims: func(int64) string { return b64(`{"access_token":{"nbf":{"value":"soon"}}}`) }, code: CodeInvalidRequest},
		} {
			t.Run(tc.name, func(t *testing.T) {
				u := d.user(t)
				sess, rt := d.signIn(t, u, cli.application.AppID, nil)
				at := sess.AuthTime.Unix()
				d.clock.Advance(2 * time.Second) // the refresh happens later than the sign-in
				vals := url.Values{"grant_type": {GrantRefreshToken}, "refresh_token": {rt}, "claims": {tc.claims(at)}}
				status, body := d.form(t, PathToken, auth, vals)
				if tc.code != "" {
					if status != http.StatusBadRequest || oauthError(t, body) != tc.code {
						t.Fatalf("got %d %s, want 400 %s", status, body, tc.code)
					}
					if tc.code == CodeInvalidGrant && !strings.Contains(string(body), "interaction_required") ||
						tc.code == CodeInvalidGrant && !strings.Contains(string(body), "re-authentication is required") {
						t.Errorf("error_description does not say interaction is required: %s", body)
					}
					// The token was not used: a plain refresh still works.
					if status, body := d.form(t, PathToken, auth, url.Values{"grant_type": {GrantRefreshToken}, "refresh_token": {rt}}); status != http.StatusOK {
						t.Errorf("the token afterwards: %d %s", status, body)
					}
					return
				}
				var tr TokenResponse
				if status != http.StatusOK || json.Unmarshal(body, &tr) != nil {
					t.Fatalf("got %d %s, want tokens", status, body)
				}
				c, _ := unverifiedClaims(t, tr.AccessToken)
				if iat, _ := c["iat"].(float64); int64(iat) < at {
					t.Errorf("iat %v before the authentication %d", c["iat"], at)
				}
				if cr, _ := ParseClaimsRequest(tc.claims(at)); !cr.NotBefore.IsZero() {
					if iat, _ := c["iat"].(float64); int64(iat) < cr.NotBefore.Unix() {
						t.Errorf("iat %v before nbf %d", c["iat"], cr.NotBefore.Unix())
					}
				}
			})
		}
	})
}

func TestRefreshGrantPublicClient(t *testing.T) {
	eachIDP(t, func(t *testing.T, d *sessionIDP) {
		pub := d.publicApp(t)
		u := d.user(t)
		_, rt := d.signIn(t, u, pub.AppID, nil)
		conf := &oauth2.Config{ClientID: pub.AppID, Endpoint: oauth2.Endpoint{TokenURL: d.issuer + PathToken, AuthStyle: oauth2.AuthStyleInParams}}
		tok, err := d.refresh(t, conf, rt)
		if err != nil {
			t.Fatal(err)
		}
		if tok.RefreshToken == "" || tok.RefreshToken == rt {
			t.Fatal("no rotation for a public client")
		}
	})
}

// BenchmarkRefreshRotation drives the refresh grant through the real token
// endpoint (HTTP, client authentication, rotation in one transaction,
// access token signing) from parallel clients, each with its own family.
func BenchmarkRefreshRotation(b *testing.B) {
	for _, backend := range []struct {
		name string
		open func(testing.TB, ...sqlstore.Option) *sqlstore.Store
	}{{"sqlite", sqltest.SQLite}, {"postgres", sqltest.Postgres}} {
		b.Run(backend.name, func(b *testing.B) {
			d := newSessionIDP(b, backend.open(b))
			d.sessions.PolicyCacheTTL = 0
			cli := d.publicApp(b)
			u := d.user(b)
			families := make(chan string, 256)
			for range cap(families) {
				_, rt := d.signIn(b, u, cli.AppID, nil, "https://graph.microsoft.com/User.Read", "offline_access")
				families <- rt
			}
			client := d.http.Client()
			client.Transport.(*http.Transport).MaxIdleConnsPerHost = 256
			b.SetParallelism(8)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				rt := <-families
				for pb.Next() {
					resp, err := client.PostForm(d.issuer+PathToken, url.Values{
						"grant_type": {GrantRefreshToken}, "refresh_token": {rt}, "client_id": {cli.AppID}})
					if err != nil {
						b.Error(err)
						return
					}
					var tr TokenResponse
					err = json.NewDecoder(resp.Body).Decode(&tr)
					resp.Body.Close()
					if err != nil || tr.RefreshToken == "" {
						b.Errorf("refresh failed: %d %v", resp.StatusCode, err)
						return
					}
					rt = tr.RefreshToken
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "refreshes/s")
		})
	}
}

func ptrTo[T any](v T) *T { return &v }
