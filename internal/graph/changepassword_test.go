package graph

import (
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/vigil-idp/vigil/internal/directory"
	"github.com/vigil-idp/vigil/internal/revocation"
	"github.com/vigil-idp/vigil/internal/secret"
	"github.com/vigil-idp/vigil/internal/store"
)

// TestChangePassword: POST /me/changePassword needs the current password
// and a new one that passes the password rules; it then replaces the
// password, revokes the user's sessions (the calling token too) and is
// audited as the user's own change, as Graph's user: changePassword.
func TestChangePassword(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		u, err := e.dir.CreateUser(e.ctx, directory.UserInput{
			AccountEnabled: directory.Some(true), DisplayName: directory.Some("Ada"),
			UserPrincipalName: directory.Some("ada@vigil.local"), MailNickname: directory.Some("ada"),
			PasswordProfile: directory.Some(directory.PasswordProfile{Password: "Old-Passw0rd!"}),
		})
		if err != nil {
			t.Fatal(err)
		}
		e.advance(time.Minute)
		tok := e.signIn(u.ID, pDirectoryAccessAsUser)
		change := func(tok string, body any) *response { return e.request(tok, "POST", "/me/changePassword", body) }

		for _, tc := range []struct {
			name string
			body any
		}{
			{"wrong current password", map[string]any{"currentPassword": "Wrong-Passw0rd!", "newPassword": "New-Passw0rd!"}},
			{"no current password", map[string]any{"newPassword": "New-Passw0rd!"}},
			{"no new password", map[string]any{"currentPassword": "Old-Passw0rd!"}},
			{"too weak", map[string]any{"currentPassword": "Old-Passw0rd!", "newPassword": "short"}},
			{"the same password", map[string]any{"currentPassword": "Old-Passw0rd!", "newPassword": "Old-Passw0rd!"}},
			{"an unknown property", map[string]any{"currentPassword": "Old-Passw0rd!", "newPassword": "New-Passw0rd!", "x": 1}},
		} {
			r := change(tok, tc.body)
			if r.status != http.StatusBadRequest {
				t.Errorf("%s: %d %s, want 400", tc.name, r.status, r.body)
			}
		}
		if r := change(e.signIn(u.ID, pUserReadWrite), map[string]any{"currentPassword": "Old-Passw0rd!", "newPassword": "New-Passw0rd!"}); r.status != http.StatusForbidden {
			t.Errorf("with User.ReadWrite only: %d %s, want 403", r.status, r.body)
		}
		if r := change(e.admin, map[string]any{"currentPassword": "Old-Passw0rd!", "newPassword": "New-Passw0rd!"}); r.status != http.StatusBadRequest {
			t.Errorf("app-only: %d %s, want 400", r.status, r.body)
		}
		stored, _ := e.st.GetUser(e.ctx, u.ID)
		if secret.VerifyPassword(stored.PasswordHash, "Old-Passw0rd!") != nil {
			t.Fatal("a refused change changed the password")
		}

		e.advance(time.Minute)
		change(tok, map[string]any{"currentPassword": "Old-Passw0rd!", "newPassword": "New-Passw0rd!"}).want(t, http.StatusNoContent)
		stored, _ = e.st.GetUser(e.ctx, u.ID)
		if secret.VerifyPassword(stored.PasswordHash, "New-Passw0rd!") != nil || !stored.SignInSessionsValidFrom.Equal(e.now()) {
			t.Fatalf("after the change: new password not stored or T %v not moved to %v", stored.SignInSessionsValidFrom, e.now())
		}
		if r := e.request(tok, "GET", "/me", nil); r.status != http.StatusUnauthorized {
			t.Errorf("the token that changed the password still works: %d", r.status)
		}
		page, err := e.st.ListAudit(e.ctx, store.Query{Top: 10})
		if err != nil {
			t.Fatal(err)
		}
		var acts []string
		for _, rec := range page.Items[:2] {
			acts = append(acts, rec.ActivityDisplayName)
			if rec.InitiatorUserID != u.ID {
				t.Errorf("%s initiated by %q, want the user", rec.ActivityDisplayName, rec.InitiatorUserID)
			}
		}
		if slices.Sort(acts); !slices.Equal(acts, []string{"Change user password", revocation.ActivityRevokeSessions}) {
			t.Errorf("newest audit activities %q", acts)
		}
	})
}
