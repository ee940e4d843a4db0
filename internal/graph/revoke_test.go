package graph

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/google/uuid"

	"github.com/vigil-idp/vigil/internal/revocation"
	"github.com/vigil-idp/vigil/internal/session"
	"github.com/vigil-idp/vigil/internal/store"
)

// signedIn gives the user a live SSO session holding n refresh tokens,
// written to the store as the token service writes them, and returns the
// tokens' hashes.
func (e *env) signedIn(userID string, n int) [][]byte {
	e.t.Helper()
	now := e.now()
	sid := uuid.NewString()
	if err := e.st.CreateSession(e.ctx, store.Session{
		ID: sid, UserID: userID, CreatedAt: now, AuthTime: now, LastActiveAt: now, AMR: []string{"pwd"},
	}); err != nil {
		e.t.Fatal(err)
	}
	hashes := make([][]byte, n)
	for i := range hashes {
		hashes[i] = make([]byte, 32)
		_, _ = rand.Read(hashes[i])
		id := uuid.NewString()
		if err := e.st.CreateRefreshToken(e.ctx, store.RefreshToken{
			ID: id, Hash: hashes[i], FamilyID: id, SessionID: sid, UserID: userID, ClientID: "cli",
			Scopes: []string{"openid", "offline_access"}, AuthTime: now, CreatedAt: now, ExpiresAt: now.Add(24 * time.Hour),
		}); err != nil {
			e.t.Fatal(err)
		}
	}
	return hashes
}

// refreshTokensRevoked reports how many of the tokens are revoked.
func (e *env) refreshTokensRevoked(hashes [][]byte) int {
	e.t.Helper()
	n := 0
	for _, h := range hashes {
		rt, err := e.st.GetRefreshTokenByHash(e.ctx, h)
		if err != nil {
			e.t.Fatal(err)
		}
		if rt.RevokedAt != nil {
			n++
		}
	}
	return n
}

// revocationID checks a Location header names a revocation resource and
// returns its id.
func (e *env) revocationID(t *testing.T, r *response) string {
	t.Helper()
	loc := r.header.Get("Location")
	id, ok := strings.CutPrefix(loc, e.issuer+"/vigil/v1/revocations/")
	if !ok || id == "" || strings.Contains(id, "/") {
		t.Fatalf("Location %q does not name a revocation", loc)
	}
	return id
}

// TestRevokeSignInSessions: the answer is Graph's (200, Edm.Boolean true)
// with the revocation in Location; the user's refresh tokens are revoked
// and signInSessionsValidFromDateTime moves to now, as the API reads it
// back; the revocation resource is stored, complete.
func TestRevokeSignInSessions(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		u := e.user("ada@vigil.local")
		other := e.user("bob@vigil.local")
		hashes, others := e.signedIn(u, 3), e.signedIn(other, 2)
		e.advance(10 * time.Minute)
		paths := []string{"/users/ada@vigil.local/revokeSignInSessions", "/users/" + u + "/microsoft.graph.revokeSignInSessions",
			"/users/" + strings.ToUpper(u) + "/revokeSignInSessions"} // ids compare without regard to case
		for i, path := range paths {
			e.advance(time.Minute)
			r := e.do("POST", path, nil)
			r.want(t, http.StatusOK)
			want := `{"@odata.context":"` + e.base + `/$metadata#Edm.Boolean","value":true}`
			if string(r.body) != want {
				t.Fatalf("body %s, want %s", r.body, want)
			}
			if ct := r.header.Get("Content-Type"); ct != jsonContentType {
				t.Fatalf("Content-Type %q", ct)
			}
			id := e.revocationID(t, r)
			rev, err := e.st.GetRevocation(e.ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if rev.Status != store.RevocationCompleted || rev.Revoked != 1 || !rev.ValidFrom.Equal(e.now()) {
				t.Fatalf("revocation %+v", rev)
			}
			got := e.do("GET", "/users/"+u+"?$select=signInSessionsValidFromDateTime", nil).want(t, http.StatusOK)
			if got["signInSessionsValidFromDateTime"] != e.now().Format(time.RFC3339) {
				t.Fatalf("after revocation %d: signInSessionsValidFromDateTime %v, want %s", i, got["signInSessionsValidFromDateTime"], e.now().Format(time.RFC3339))
			}
		}
		if n := e.refreshTokensRevoked(hashes); n != len(hashes) {
			t.Fatalf("%d of %d refresh tokens revoked", n, len(hashes))
		}
		if n := e.refreshTokensRevoked(others); n != 0 {
			t.Fatalf("%d refresh tokens of another user revoked", n)
		}
		sessions, err := e.st.ListSessionsOfUser(e.ctx, u, false)
		if err != nil || len(sessions) != 0 {
			t.Fatalf("live sessions after revocation: %v, %v", sessions, err)
		}
	})
}

// TestRevokeBody: no body, and {}, are accepted; anything else is refused
// before anything is revoked.
func TestRevokeBody(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		u := e.user("ada@vigil.local")
		path := "/users/" + u + "/revokeSignInSessions"
		e.do("POST", path, `{}`).want(t, http.StatusOK)
		e.do("POST", path, ``).want(t, http.StatusOK)
		for _, tt := range []struct {
			name, body string
			headers    []string
			status     int
		}{
			{"parameter", `{"reason":"x"}`, nil, http.StatusBadRequest},
			{"array", `[]`, nil, http.StatusBadRequest},
			{"malformed", `{`, nil, http.StatusBadRequest},
			{"null", `null`, nil, http.StatusBadRequest},
			{"text", `{}`, []string{"Content-Type: text/plain"}, http.StatusUnsupportedMediaType},
		} {
			t.Run(tt.name, func(t *testing.T) {
				e.advance(time.Minute)
				e.do("POST", path, tt.body, tt.headers...).want(t, tt.status)
				got := e.do("GET", "/users/"+u+"?$select=signInSessionsValidFromDateTime", nil).want(t, http.StatusOK)
				if got["signInSessionsValidFromDateTime"] == e.now().Format(time.RFC3339) {
					t.Fatal("refused request revoked")
				}
			})
		}
		e.do("POST", path+"?$select=id", nil).want(t, http.StatusBadRequest)
	})
}

// TestRevokeAuthorization: the application permissions of the route, the
// "Who can reset passwords" matrix for delegated callers (through
// revocation.Service and authz.CanActOnUser), self-revocation through /me,
// and 404 for an unknown user.
func TestRevokeAuthorization(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		member := e.user("member@vigil.local")
		ga := e.userWithRoles("ga@vigil.local", roleGlobalAdmin)
		ga2 := e.userWithRoles("ga2@vigil.local", roleGlobalAdmin)
		helpdesk := e.userWithRoles("helpdesk@vigil.local", roleHelpdesk)
		ua := e.userWithRoles("ua@vigil.local", roleUserAdmin)
		reader := e.userWithRoles("reader@vigil.local", roleGlobalReader)
		revoke := func(who string) string { return "/users/" + who + "/revokeSignInSessions" }
		// Delegated tokens are signed in when their case runs: an earlier
		// case may have revoked the user's sessions.
		signIn, fixed := e.signInLater, fixedToken
		tests := []struct {
			name  string
			token func() string
			path  string
			want  int
		}{
			{"app User.RevokeSessions.All", fixed(e.appToken(pUserRevokeSessionsAll)), revoke(ga), http.StatusOK},
			{"app User.ReadWrite.All", fixed(e.appToken(pUserReadWriteAll)), revoke(member), http.StatusOK},
			{"app Directory.ReadWrite.All", fixed(e.appToken(pDirectoryReadWriteAll)), revoke(member), http.StatusOK},
			{"app User.Read.All", fixed(e.appToken(pUserReadAll)), revoke(member), http.StatusForbidden},
			{"app Directory.Read.All", fixed(e.appToken(pDirectoryReadAll)), revoke(member), http.StatusForbidden},
			{"app on /me", fixed(e.appToken(pUserRevokeSessionsAll)), "/me/revokeSignInSessions", http.StatusBadRequest},
			{"Helpdesk Administrator revokes a member", signIn(helpdesk, pUserRevokeSessionsAll), revoke(member), http.StatusOK},
			{"Helpdesk Administrator revokes a Global Administrator", signIn(helpdesk, pUserRevokeSessionsAll), revoke(ga), http.StatusForbidden},
			{"Helpdesk Administrator revokes a User Administrator", signIn(helpdesk, pDirectoryReadWriteAll), revoke(ua), http.StatusForbidden},
			{"User Administrator revokes a Helpdesk Administrator", signIn(ua, pUserReadWriteAll), revoke(helpdesk), http.StatusOK},
			{"Global Administrator revokes a Global Administrator", signIn(ga, pUserRevokeSessionsAll), revoke(ga2), http.StatusOK},
			{"Global Reader revokes a member", signIn(reader, pUserRevokeSessionsAll), revoke(member), http.StatusForbidden},
			{"User Administrator with User.Read only", signIn(ua, pUserRead), revoke(member), http.StatusForbidden},
			{"member without role revokes another", signIn(member, pUserRevokeSessionsAll), revoke(helpdesk), http.StatusForbidden},
			{"member revokes themself by id", signIn(member, pUserReadWrite), revoke(member), http.StatusOK},
			{"member revokes themself through /me", signIn(member, pUserRevokeSessionsAll), "/me/revokeSignInSessions", http.StatusOK},
			{"/me with User.ReadWrite", signIn(member, pUserReadWrite), "/me/microsoft.graph.revokeSignInSessions", http.StatusOK},
			{"/me with User.Read", signIn(member, pUserRead), "/me/revokeSignInSessions", http.StatusForbidden},
			{"unknown user", fixed(e.admin), revoke("00000000-0000-4000-8000-999999999999"), http.StatusNotFound},
			{"unknown UPN", fixed(e.admin), revoke("nobody@vigil.local"), http.StatusNotFound},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				r := e.request(tt.token(), "POST", tt.path, nil)
				r.want(t, tt.want)
				var env errorBody
				switch tt.want {
				case http.StatusForbidden:
					mustJSON(t, r.body, &env)
					if env.Error.Code != CodeAccessDenied || env.Error.Message != msgForbidden {
						t.Fatalf("error %+v", env.Error)
					}
				case http.StatusNotFound:
					mustJSON(t, r.body, &env)
					if env.Error.Code != CodeResourceNotFound || !strings.Contains(env.Error.Message, "does not exist") {
						t.Fatalf("error %+v", env.Error)
					}
				case http.StatusOK:
					e.revocationID(t, r)
				}
			})
		}
	})
}

// TestInvalidateAllRefreshTokens: the beta action revokes like
// revokeSignInSessions and moves refreshTokensValidFromDateTime too; it is
// delegated only; /beta serves nothing else.
func TestInvalidateAllRefreshTokens(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		member := e.user("member@vigil.local")
		ua := e.userWithRoles("ua@vigil.local", roleUserAdmin)
		hashes := e.signedIn(member, 2)
		beta := e.issuer + "/beta"
		e.advance(5 * time.Minute)
		r := e.request(e.signIn(ua, pDirectoryReadWriteAll), "POST", beta+"/users/member@vigil.local/invalidateAllRefreshTokens", nil)
		r.want(t, http.StatusNoContent)
		e.revocationID(t, r)
		got := e.do("GET", "/users/"+member+"?$select=signInSessionsValidFromDateTime,refreshTokensValidFromDateTime", nil).want(t, http.StatusOK)
		now := e.now().Format(time.RFC3339)
		if got["signInSessionsValidFromDateTime"] != now || got["refreshTokensValidFromDateTime"] != now {
			t.Fatalf("after invalidateAllRefreshTokens: %v, want both %s", got, now)
		}
		if n := e.refreshTokensRevoked(hashes); n != len(hashes) {
			t.Fatalf("%d of %d refresh tokens revoked", n, len(hashes))
		}
		signIn, fixed := e.signInLater, fixedToken // each case's own token, signed in when it runs
		tests := []struct {
			name        string
			token       func() string
			method, url string
			want        int
		}{
			{"self through /me", signIn(member, pUserReadWrite), "POST", beta + "/me/invalidateAllRefreshTokens", http.StatusNoContent},
			{"self by UPN", signIn(member, pUserReadWrite), "POST", beta + "/users/member@vigil.local/microsoft.graph.invalidateAllRefreshTokens", http.StatusNoContent},
			{"User.ReadWrite on another user", signIn(ua, pUserReadWrite), "POST", beta + "/users/" + member + "/invalidateAllRefreshTokens", http.StatusForbidden},
			{"User.RevokeSessions.All is not a beta permission", signIn(ua, pUserRevokeSessionsAll), "POST", beta + "/users/" + member + "/invalidateAllRefreshTokens", http.StatusForbidden},
			{"app-only", fixed(e.admin), "POST", beta + "/users/" + member + "/invalidateAllRefreshTokens", http.StatusForbidden},
			{"app-only on /me", fixed(e.admin), "POST", beta + "/me/invalidateAllRefreshTokens", http.StatusBadRequest},
			{"unknown user", signIn(ua, pDirectoryReadWriteAll), "POST", beta + "/users/nobody@vigil.local/invalidateAllRefreshTokens", http.StatusNotFound},
			{"other beta path", fixed(e.admin), "GET", beta + "/users", http.StatusBadRequest},
			{"v1.0 has no invalidateAllRefreshTokens", signIn(ua, pDirectoryReadWriteAll), "POST", "/users/" + member + "/invalidateAllRefreshTokens", http.StatusBadRequest},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				e.request(tt.token(), tt.method, tt.url, nil).want(t, tt.want)
			})
		}
	})
}

// TestRevocationIsAudited: a revocation writes Entra's audit record
// ("Update StsRefreshTokenValidFrom Timestamp", reference §7), found in
// /auditLogs/directoryAudits by its target, its initiator and its
// correlationId (the revocation's id).
func TestRevocationIsAudited(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		u := e.user("ada@vigil.local")
		ga := e.userWithRoles("ga@vigil.local", roleGlobalAdmin)
		before := e.now()
		e.advance(time.Hour / 2)
		r := e.request(e.signIn(ga, pUserRevokeSessionsAll), "POST", "/users/"+u+"/revokeSignInSessions", nil)
		r.want(t, http.StatusOK)
		id := e.revocationID(t, r)
		filters := []string{
			"targetResources/any(t: t/id eq '" + u + "')",
			"initiatedBy/user/id eq '" + ga + "' and activityDisplayName eq 'Update StsRefreshTokenValidFrom Timestamp'",
			"correlationId eq '" + id + "'",
		}
		for _, f := range filters {
			t.Run(f, func(t *testing.T) {
				recs := values(t, e.do("GET", "/auditLogs/directoryAudits?$filter="+f, nil).want(t, http.StatusOK))
				var found []map[string]any
				for _, rec := range recs {
					if rec["activityDisplayName"] == revocation.ActivityRevokeSessions {
						found = append(found, rec)
					}
				}
				if len(found) != 1 {
					t.Fatalf("%d revocation records in %v", len(found), recs)
				}
				checkRevocationRecord(t, found[0], u, ga, before, e.now())
			})
		}
	})
}

// checkRevocationRecord checks a revocation's audit record has Graph's
// directoryAudit shape and Entra's content.
func checkRevocationRecord(t *testing.T, rec map[string]any, target, initiator string, oldT, newT time.Time) {
	t.Helper()
	var keys []string
	for k := range rec {
		keys = append(keys, k)
	}
	if len(rec) != len(auditDefaults) {
		t.Errorf("properties %v, want %v", keys, auditDefaults)
	}
	for k, want := range map[string]string{
		"category": "UserManagement", "result": "success", "loggedByService": "Core Directory",
		"operationType": "Update", "activityDateTime": newT.Format(auditTimeLayout),
	} {
		if rec[k] != want {
			t.Errorf("%s = %v, want %q", k, rec[k], want)
		}
	}
	by, _ := rec["initiatedBy"].(map[string]any)
	user, _ := by["user"].(map[string]any)
	if user["id"] != initiator || user["userPrincipalName"] != "ga@vigil.local" || by["app"] != nil {
		t.Errorf("initiatedBy %v", by)
	}
	targets, _ := rec["targetResources"].([]any)
	if len(targets) != 1 {
		t.Fatalf("targetResources %v", rec["targetResources"])
	}
	tr := targets[0].(map[string]any)
	if tr["id"] != target || tr["type"] != "User" || tr["userPrincipalName"] != "ada@vigil.local" {
		t.Errorf("target %v", tr)
	}
	mods, _ := tr["modifiedProperties"].([]any)
	found := false
	for _, m := range mods {
		mp := m.(map[string]any)
		if mp["displayName"] != revocation.PropStsRefreshTokensValidFrom {
			continue
		}
		found = true
		var oldV, newV []string
		if err := json.Unmarshal([]byte(fmt.Sprint(mp["oldValue"])), &oldV); err != nil {
			t.Errorf("oldValue %v: %v", mp["oldValue"], err)
		}
		if err := json.Unmarshal([]byte(fmt.Sprint(mp["newValue"])), &newV); err != nil || len(newV) != 1 || newV[0] != newT.Format(time.RFC3339) {
			t.Errorf("newValue %v, want [%s]", mp["newValue"], newT.Format(time.RFC3339))
		}
		if len(oldV) == 1 && oldV[0] > oldT.Format(time.RFC3339) {
			t.Errorf("oldValue %v is after %s", oldV, oldT)
		}
	}
	if !found {
		t.Errorf("no %s among %v", revocation.PropStsRefreshTokensValidFrom, mods)
	}
}

// TestBatchOfRevocations: 20 revocations in one batch all succeed, as
// Graph's answer to a tenant-wide revocation suggests (reference §8); 21
// are refused as a whole.
func TestBatchOfRevocations(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		var reqs []map[string]any
		hashes := map[string][][]byte{}
		for i := range 21 {
			u := e.user(fmt.Sprintf("u%02d@vigil.local", i))
			hashes[u] = e.signedIn(u, 1)
			reqs = append(reqs, batchReq(fmt.Sprint(i), "POST", "/users/"+u+"/revokeSignInSessions"))
		}
		e.advance(time.Minute)
		r := e.do("POST", "/$batch", batchOf(reqs...))
		r.want(t, http.StatusBadRequest)
		if c := r.errorCode(t); c != CodeBadRequest {
			t.Fatalf("code %s", c)
		}
		for u, h := range hashes {
			if e.refreshTokensRevoked(h) != 0 {
				t.Fatalf("a refused batch revoked %s", u)
			}
		}
		b := e.batch(t, e.appToken(pUserRevokeSessionsAll), batchOf(reqs[:20]...))
		if len(b.Responses) != 20 {
			t.Fatalf("%d responses", len(b.Responses))
		}
		locations := map[string]bool{}
		for _, res := range b.Responses {
			if res.Status != http.StatusOK || string(res.Body) != `{"@odata.context":"`+e.base+`/$metadata#Edm.Boolean","value":true}` {
				t.Fatalf("response %s: %d %s", res.ID, res.Status, res.Body)
			}
			loc := res.Headers["Location"]
			if !strings.HasPrefix(loc, e.issuer+"/vigil/v1/revocations/") || locations[loc] {
				t.Fatalf("Location %q missing or repeated", loc)
			}
			locations[loc] = true
		}
		revoked := 0
		for _, h := range hashes {
			revoked += e.refreshTokensRevoked(h)
		}
		if revoked != 20 {
			t.Fatalf("%d users revoked, want 20", revoked)
		}
	})
}

// revokeGoldenCases are the revoke answers compared with golden files.
var revokeGoldenCases = []goldenCase{
	{"revoke_sign_in_sessions", func(t *testing.T, e *env) *response {
		return e.do("POST", "/users/"+e.user("ada@vigil.local")+"/revokeSignInSessions", nil)
	}},
	{"revoke_sign_in_sessions_me", func(t *testing.T, e *env) *response {
		return e.request(e.signIn(e.user("ada@vigil.local"), pUserRevokeSessionsAll), "POST", "/me/revokeSignInSessions", `{}`)
	}},
	{"revoke_error_403_matrix", func(t *testing.T, e *env) *response {
		ga := e.userWithRoles("ga@vigil.local", roleGlobalAdmin)
		helpdesk := e.userWithRoles("helpdesk@vigil.local", roleHelpdesk)
		return e.request(e.signIn(helpdesk, pUserRevokeSessionsAll), "POST", "/users/"+ga+"/revokeSignInSessions", nil)
	}},
	{"revoke_error_404", func(t *testing.T, e *env) *response {
		return e.do("POST", "/users/nobody@vigil.local/revokeSignInSessions", nil)
	}},
	{"revoke_error_400_parameter", func(t *testing.T, e *env) *response {
		return e.do("POST", "/users/"+e.user("ada@vigil.local")+"/revokeSignInSessions", map[string]any{"reason": "x"})
	}},
	{"invalidate_all_refresh_tokens", func(t *testing.T, e *env) *response {
		u := e.userWithRoles("ga@vigil.local", roleGlobalAdmin)
		return e.request(e.signIn(u, pDirectoryReadWriteAll), "POST", e.issuer+"/beta/users/"+e.user("ada@vigil.local")+"/invalidateAllRefreshTokens", nil)
	}},
	{"invalidate_all_refresh_tokens_error_403_app", func(t *testing.T, e *env) *response {
		return e.request(e.admin, "POST", e.issuer+"/beta/users/"+e.user("ada@vigil.local")+"/invalidateAllRefreshTokens", nil)
	}},
	{"beta_error_400_unknown_segment", func(t *testing.T, e *env) *response {
		return e.request(e.admin, "GET", e.issuer+"/beta/users", nil)
	}},
}

// TestRevokedTokensRefused: Vigil's own Graph API enforces revocation at
// once, not at the token's expiry: a delegated token is refused after its
// user's sessions are revoked, after its own session ends, and after the
// account is disabled; tokens issued afterwards, the user's other
// sessions and app-only tokens are unaffected.
func TestRevokedTokensRefused(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		u := e.user("ada@vigil.local")
		refused := func(what, tok string) {
			t.Helper()
			r := e.request(tok, "GET", "/me", nil)
			if r.status != http.StatusUnauthorized || r.errorCode(t) != CodeInvalidToken ||
				!strings.Contains(r.header.Get("WWW-Authenticate"), `error="invalid_token"`) {
				t.Fatalf("%s: %d %s %q", what, r.status, r.body, r.header.Get("WWW-Authenticate"))
			}
		}
		accepted := func(what, tok string) {
			t.Helper()
			if r := e.request(tok, "GET", "/me", nil); r.status != http.StatusOK {
				t.Fatalf("%s: %d %s", what, r.status, r.body)
			}
		}

		before := e.signIn(u, pUserRead)
		accepted("a fresh token", before)
		e.advance(time.Minute)
		e.do("POST", "/users/"+u+"/revokeSignInSessions", nil).want(t, http.StatusOK)
		refused("a token issued before revokeSignInSessions", before)
		e.advance(time.Second)
		after := e.signIn(u, pUserRead)
		accepted("a token issued after it", after)

		other := e.signIn(u, pUserRead)
		sid := sessionOf(t, e, after)
		if err := e.sessions.End(e.ctx, sid, "logout", session.Initiator{}); err != nil {
			t.Fatal(err)
		}
		refused("a token of an ended session", after)
		accepted("a token of the user's other session", other)

		e.do("PATCH", "/users/"+u, map[string]any{"accountEnabled": false}).want(t, http.StatusNoContent)
		refused("a token of a disabled user", other)
		e.do("GET", "/users/"+u, nil).want(t, http.StatusOK) // app-only tokens have nothing to revoke
	})
}

// sessionOf is the sid claim of a token (unverified: the test issued it).
func sessionOf(t *testing.T, e *env, tok string) string {
	t.Helper()
	parsed, err := jwt.ParseSigned(tok, []jose.SignatureAlgorithm{jose.ES256})
	if err != nil {
		t.Fatal(err)
	}
	var c struct {
		SID string `json:"sid"`
	}
	if err := parsed.UnsafeClaimsWithoutVerification(&c); err != nil || c.SID == "" {
		t.Fatalf("sid of the token: %q, %v", c.SID, err)
	}
	return c.SID
}

// TestRevokedCAETokenChallenged: a revoked token of a client that declared
// cp1 gets Graph's claims challenge of continuous access evaluation: 401,
// WWW-Authenticate with the authorization endpoint and claims asking for
// a token issued from the revocation on, and Graph's message.
func TestRevokedCAETokenChallenged(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		u := e.user("ada@vigil.local")
		tok := e.signInWith(u, []string{"cp1"}, pUserRead)
		e.request(tok, "GET", "/me", nil).want(t, http.StatusOK)
		e.advance(90*time.Second + 500*time.Millisecond)
		e.do("POST", "/users/"+u+"/revokeSignInSessions", nil).want(t, http.StatusOK)

		r := e.request(tok, "GET", "/me", nil)
		if r.status != http.StatusUnauthorized || r.errorCode(t) != CodeInvalidToken {
			t.Fatalf("revoked CAE token: %d %s", r.status, r.body)
		}
		var body errorBody
		mustJSON(t, r.body, &body)
		if body.Error.Message != msgCAEChallenge {
			t.Errorf("message %q, want %q", body.Error.Message, msgCAEChallenge)
		}
		// T is at a half second: the new token must be issued from the
		// next whole second on.
		nbf := e.now().Truncate(time.Second).Add(time.Second).Unix()
		claims := base64.StdEncoding.EncodeToString([]byte(`{"access_token":{"nbf":{"essential":true,"value":"` + strconv.FormatInt(nbf, 10) + `"}}}`))
		want := `Bearer realm="", authorization_uri="` + e.issuer + `/authorize", error="insufficient_claims", claims="` + claims + `"`
		if got := r.header.Get("WWW-Authenticate"); got != want {
			t.Errorf("WWW-Authenticate\n got %s\nwant %s", got, want)
		}

		// Without cp1 the same revocation is a plain invalid_token.
		plain := e.signIn(u, pUserRead)
		e.advance(time.Minute)
		e.do("POST", "/users/"+u+"/revokeSignInSessions", nil).want(t, http.StatusOK)
		if h := e.request(plain, "GET", "/me", nil).header.Get("WWW-Authenticate"); !strings.Contains(h, `error="invalid_token"`) {
			t.Errorf("revoked token without cp1: WWW-Authenticate %s", h)
		}
	})
}
