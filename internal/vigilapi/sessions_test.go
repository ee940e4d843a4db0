package vigilapi

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/vigil-idp/vigil/internal/authz"
	"github.com/vigil-idp/vigil/internal/session"
	"github.com/vigil-idp/vigil/internal/store"
	"github.com/vigil-idp/vigil/internal/store/sqlstore"
	"github.com/vigil-idp/vigil/internal/store/sqlstore/sqltest"
	"github.com/vigil-idp/vigil/ssf"
)

// sessionList is a session list as a client reads it.
type sessionList struct {
	Value []struct {
		ID      string `json:"id"`
		SID     string `json:"sid"`
		Revoked *bool  `json:"revoked"`
	} `json:"value"`
}

// listSessions GETs a session list and returns the session ids.
func (s *server) listSessions(t testing.TB, path, token string) ([]string, []byte) {
	t.Helper()
	resp, body := s.do(t, http.MethodGet, path, token, "")
	want(t, resp, body, http.StatusOK)
	var l sessionList
	decode(t, body, &l)
	ids := []string{}
	for _, v := range l.Value {
		if v.ID != v.SID {
			t.Errorf("id %q and sid %q differ", v.ID, v.SID)
		}
		ids = append(ids, v.ID)
	}
	return ids, body
}

// endSession DELETEs a session and returns the Location of its revocation.
func (s *server) endSession(t testing.TB, path, token string) string {
	t.Helper()
	resp, body := s.do(t, http.MethodDelete, path, token, "")
	want(t, resp, body, http.StatusNoContent)
	loc := resp.Header.Get("Location")
	if !strings.HasPrefix(loc, s.issuer+PathPrefix+"/revocations/") {
		t.Fatalf("Location %q does not name a revocation", loc)
	}
	return loc
}

// sessionLive reports whether session sid is still usable.
func (s *server) sessionLive(t testing.TB, sid string) bool {
	t.Helper()
	_, _, err := s.sessions.Check(ctx, sid, s.app.AppID)
	switch {
	case err == nil:
		return true
	case errors.Is(err, session.ErrSessionEnded):
		return false
	}
	t.Fatalf("check session: %v", err)
	return false
}

// TestSessions lists a user's sessions, ends one with an application's
// token, and checks that only that session and its refresh token stopped
// working, recorded as a revocation whose CAEP event names the session.
func TestSessions(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, st *sqlstore.Store) {
		s := newServer(t, st)
		stream := s.newPollStream(t)
		tok := s.appTokenOf(t, authz.PermSessionsReadWriteAll)
		reader := s.appTokenOf(t, authz.PermRevocationsReadAll)
		dana := s.user(t, "dana@contoso.com", "Sales")
		erin := s.user(t, "erin@contoso.com", "Sales")
		s1, rt1 := s.signIn(t, dana.ID, "192.0.2.10")
		s2, rt2 := s.signIn(t, dana.ID, "2001:db8::20")
		se, rte := s.signIn(t, erin.ID, "192.0.2.30")

		ids, body := s.listSessions(t, "/users/dana@contoso.com/sessions", tok)
		golden(t, "sessions_list.golden", body)
		if len(ids) != 2 || ids[0] != s2.ID || ids[1] != s1.ID {
			t.Fatalf("sessions %v, want newest first [%s %s]", ids, s2.ID, s1.ID)
		}
		if _, byID := s.listSessions(t, "/users/"+strings.ToUpper(dana.ID)+"/sessions", tok); string(byID) != string(body) {
			t.Errorf("by id: %s", byID)
		}

		loc := s.endSession(t, "/sessions/"+s1.ID, tok)
		rev, raw := s.revocation(t, reader, loc[strings.LastIndex(loc, "/")+1:])
		if rev.Status != store.RevocationCompleted || rev.Targeted != 1 || rev.Revoked != 1 || rev.Denied+rev.Failed != 0 {
			t.Fatalf("the session's revocation: %s", raw)
		}
		resp, raw := s.doWith(t, http.MethodGet, loc+"/results", reader, "", nil)
		want(t, resp, raw, http.StatusOK)
		golden(t, "sessions_revocation_results.golden", raw)
		var res results
		decode(t, raw, &res)
		if len(res.Value) != 1 || res.Value[0].SessionID != s1.ID || res.Value[0].UserID != "" {
			t.Errorf("results of a session revocation: %s", raw)
		}

		// That session and its refresh token only.
		if s.refreshWorks(t, rt1) || s.sessionLive(t, s1.ID) {
			t.Error("the ended session or its refresh token still works")
		}
		if !s.refreshWorks(t, rt2) || !s.sessionLive(t, s2.ID) || !s.refreshWorks(t, rte) || !s.sessionLive(t, se.ID) {
			t.Error("another session or refresh token stopped working")
		}
		if u, err := st.GetUser(ctx, dana.ID); err != nil || !u.SignInSessionsValidFrom.IsZero() {
			t.Errorf("signInSessionsValidFromDateTime moved: %v (%v)", u.SignInSessionsValidFrom, err)
		}

		// The receiver hears of that session.
		var sets []ssf.SET
		for _, set := range stream.drain(t) {
			if set.Txn == rev.ID {
				sets = append(sets, set)
			}
		}
		if len(sets) != 1 {
			t.Fatalf("%d SETs for the revocation", len(sets))
		}
		typ, _, err := sets[0].Event()
		if sub := sets[0].SubID; err != nil || typ != ssf.EventSessionRevoked || sub == nil || sub.Session == nil ||
			sub.Session.ID != s1.ID || sub.User == nil || sub.User.Sub != dana.ID {
			t.Errorf("SET: %s %+v (%v)", typ, sets[0].SubID, err)
		}

		ids, _ = s.listSessions(t, "/users/dana@contoso.com/sessions", tok)
		if len(ids) != 1 || ids[0] != s2.ID {
			t.Errorf("live sessions %v", ids)
		}
		ids, body = s.listSessions(t, "/users/dana@contoso.com/sessions?includeRevoked=true", tok)
		golden(t, "sessions_list_revoked.golden", body)
		if len(ids) != 2 {
			t.Errorf("with revoked: %v", ids)
		}

		for _, tc := range []struct {
			name, method, path string
			status             int
			code, message      string
		}{
			{"end it again", http.MethodDelete, "/sessions/" + s1.ID, 404, codeNotFound, "Session '" + s1.ID + "' has already ended."},
			{"unknown session", http.MethodDelete, "/sessions/" + uuid.NewString(), 404, codeNotFound, "does not exist."},
			{"unknown user", http.MethodGet, "/users/nobody@contoso.com/sessions", 404, codeNotFound, "Resource 'nobody@contoso.com' does not exist"},
			{"unknown user id", http.MethodGet, "/users/" + uuid.NewString() + "/sessions", 404, codeNotFound, "does not exist"},
			{"bad includeRevoked", http.MethodGet, "/users/dana@contoso.com/sessions?includeRevoked=yes", 400, codeBadRequest, "Invalid value 'yes' for includeRevoked: give true or false."},
			{"unknown query parameter", http.MethodGet, "/users/dana@contoso.com/sessions?$top=1", 400, codeBadRequest, "Unknown query parameter '$top'"},
			{"method", http.MethodGet, "/sessions/" + s2.ID, 405, codeBadRequest, "not allowed"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				resp, body := s.do(t, tc.method, tc.path, tok, "")
				if resp.StatusCode != tc.status || errorCode(t, resp, body) != tc.code || !strings.Contains(errorMessage(t, body), tc.message) {
					t.Fatalf("got %d %s, want %d %s %q", resp.StatusCode, body, tc.status, tc.code, tc.message)
				}
			})
		}
		if revs, err := st.ListRevocationsByStatus(ctx, store.RevocationCompleted); err != nil || len(revs) != 1 {
			t.Errorf("%d completed revocations, want the one (%v)", len(revs), err)
		}
	})
}

// TestSessionsDelegated: a signed-in administrator needs the scope and a
// role that covers the target in Entra's matrix; a user covers themself.
func TestSessionsDelegated(t *testing.T) {
	s := newServer(t, sqltest.SQLite(t))
	helpdesk := s.user(t, "hal@contoso.com", "IT", roleHelpdeskAdmin)
	frank := s.user(t, "frank@contoso.com", "Sales")
	grace := s.user(t, "grace@contoso.com", "IT", roleGlobalAdmin)
	sf, _ := s.signIn(t, frank.ID, "192.0.2.40")
	sg, _ := s.signIn(t, grace.ID, "192.0.2.41")
	scope := []string{authz.PermSessionsReadWriteAll}
	hd := s.tokenFor(t, helpdesk.ID, scope, roleHelpdeskAdmin)
	for _, tc := range []struct {
		name, method, path, token string
		status                    int
		message                   string
	}{
		{"Helpdesk Administrator lists a user's", "GET", "/users/frank@contoso.com/sessions", hd, 200, ""},
		{"Helpdesk Administrator may not list a Global Administrator's", "GET", "/users/grace@contoso.com/sessions", hd, 403,
			"Insufficient privileges to complete the operation: "},
		{"nor end one", "DELETE", "/sessions/" + sg.ID, hd, 403, "Insufficient privileges to complete the operation"},
		{"the role without the scope", "GET", "/users/frank@contoso.com/sessions", s.tokenFor(t, helpdesk.ID, []string{authz.PermRevocationsReadWriteAll}, roleHelpdeskAdmin), 403, ""},
		{"the scope without a role, on another user", "GET", "/users/grace@contoso.com/sessions", s.tokenFor(t, frank.ID, scope), 403, ""},
		{"the scope without a role, on oneself", "GET", "/users/frank@contoso.com/sessions", s.tokenFor(t, frank.ID, scope), 200, ""},
		{"an application with the revocations permission", "GET", "/users/frank@contoso.com/sessions", s.appTokenOf(t, authz.PermRevocationsReadWriteAll), 403, ""},
		{"no token", "GET", "/users/frank@contoso.com/sessions", "", 401, ""},
		{"Helpdesk Administrator ends a user's", "DELETE", "/sessions/" + sf.ID, hd, 204, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := s.do(t, tc.method, tc.path, tc.token, "")
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tc.status, body)
			}
			if tc.status >= 400 && (errorCode(t, resp, body) == "" || !strings.Contains(errorMessage(t, body), tc.message)) {
				t.Errorf("error %s lacks %q", body, tc.message)
			}
		})
	}
	if !s.sessionLive(t, sg.ID) || s.sessionLive(t, sf.ID) {
		t.Error("the refused end took effect, or the allowed one did not")
	}
}

// TestMeSessions: a user sees and ends only their own sessions.
func TestMeSessions(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, st *sqlstore.Store) {
		s := newServer(t, st)
		alice := s.user(t, "alice@contoso.com", "Sales")
		bob := s.user(t, "bob@contoso.com", "Sales")
		sa, rta := s.signIn(t, alice.ID, "192.0.2.50")
		sb, rtb := s.signIn(t, bob.ID, "192.0.2.51")
		// Any Vigil API scope will do.
		tok := s.tokenFor(t, alice.ID, []string{authz.PermRevocationsReadAll})

		ids, body := s.listSessions(t, "/me/sessions", tok)
		golden(t, "me_sessions.golden", body)
		if len(ids) != 1 || ids[0] != sa.ID {
			t.Fatalf("my sessions: %v", ids)
		}

		for _, sid := range []string{sb.ID, uuid.NewString()} {
			resp, body := s.do(t, http.MethodDelete, "/me/sessions/"+sid, tok, "")
			if resp.StatusCode != 404 || errorCode(t, resp, body) != codeNotFound || errorMessage(t, body) != "Session '"+sid+"' does not exist." {
				t.Fatalf("another's or an unknown session: %d %s", resp.StatusCode, body)
			}
		}
		if !s.sessionLive(t, sb.ID) || !s.refreshWorks(t, rtb) {
			t.Fatal("bob's session was touched")
		}

		loc := s.endSession(t, "/me/sessions/"+sa.ID, tok)
		if s.sessionLive(t, sa.ID) || s.refreshWorks(t, rta) {
			t.Error("alice's ended session still works")
		}
		if ids, _ = s.listSessions(t, "/me/sessions", tok); len(ids) != 0 {
			t.Errorf("sessions after ending the only one: %v", ids)
		}
		if ids, _ = s.listSessions(t, "/me/sessions?includeRevoked=true", tok); len(ids) != 1 {
			t.Errorf("with revoked: %v", ids)
		}
		// Alice reads the revocation she made, though she holds no role.
		resp, raw := s.doWith(t, http.MethodGet, loc, tok, "", nil)
		want(t, resp, raw, http.StatusOK)
		golden(t, "me_sessions_revocation.golden", raw)

		for _, tc := range []struct {
			name, method, path, token string
			status                    int
			message                   string
		}{
			{"app-only", "GET", "/me/sessions", s.appTokenOf(t, authz.PermSessionsReadWriteAll), 400, msgMeAppOnly},
			{"app-only delete", "DELETE", "/me/sessions/" + sb.ID, s.appTokenOf(t, authz.PermSessionsReadWriteAll), 400, msgMeAppOnly},
			// Without scp the verifier reads a token as app-only.
			{"a token without scopes", "GET", "/me/sessions", s.tokenFor(t, alice.ID, nil), 400, msgMeAppOnly},
			{"no token", "GET", "/me/sessions", "", 401, "Access token is empty."},
		} {
			t.Run(tc.name, func(t *testing.T) {
				resp, body := s.do(t, tc.method, tc.path, tc.token, "")
				if resp.StatusCode != tc.status || errorMessage(t, body) != tc.message {
					t.Fatalf("got %d %s, want %d %q", resp.StatusCode, body, tc.status, tc.message)
				}
			})
		}
		if !s.sessionLive(t, sb.ID) {
			t.Error("bob's session ended")
		}
	})
}
