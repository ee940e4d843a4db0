package session

import (
	"encoding/json"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/vigil-idp/vigil/internal/odata"
	"github.com/vigil-idp/vigil/internal/store"
)

const clientA = "a1111111-1111-4111-8111-111111111111"

func TestIssueRefreshToken(t *testing.T) {
	each(t, func(t *testing.T, f *fixture) {
		u := f.user(t)
		s := f.login(t, u, clientA)
		v, rt := f.issue(t, u, s, clientA)
		if len(v) < 43 {
			t.Errorf("value %q carries fewer than 32 bytes", v)
		}
		if string(rt.Hash) == v || !f.svc.Secrets.Equal(rt.Hash, v) {
			t.Error("the stored hash is not the keyed hash of the value")
		}
		if rt.FamilyID == "" || rt.ParentID != "" || !rt.ExpiresAt.Equal(f.clock.Now().Add(DefaultRefreshTokenInactivity)) {
			t.Errorf("token = %+v", rt)
		}
		_, spa, err := f.svc.IssueRefreshToken(ctx, NewRefresh{UserID: u.ID, SessionID: s.ID, ClientID: clientA, SPA: true, FamilyID: "fam-from-code"})
		if err != nil {
			t.Fatal(err)
		}
		if spa.FamilyID != "fam-from-code" || !spa.ExpiresAt.Equal(f.clock.Now().Add(DefaultSPARefreshTokenInactivity)) {
			t.Errorf("SPA token = %+v", spa)
		}
		got, active, err := f.svc.LookupRefreshToken(ctx, v)
		if err != nil || !active || got.ID != rt.ID {
			t.Fatalf("LookupRefreshToken = %+v, %v, %v", got, active, err)
		}
		if _, active, err := f.svc.LookupRefreshToken(ctx, "unknown"); err != nil || active {
			t.Fatalf("unknown: %v, %v", active, err)
		}
	})
}

func TestRotation(t *testing.T) {
	each(t, func(t *testing.T, f *fixture) {
		u := f.user(t)
		s := f.login(t, u, clientA)
		v0, rt0 := f.issue(t, u, s, clientA)
		f.clock.Advance(time.Hour)
		r1, err := f.svc.Rotate(ctx, v0, clientA, nil)
		if err != nil {
			t.Fatal(err)
		}
		if r1.Old.ID != rt0.ID || r1.Old.UsedAt == nil || r1.New.ParentID != rt0.ID || r1.New.FamilyID != rt0.FamilyID ||
			r1.Value == v0 || r1.User.ID != u.ID || !r1.New.AuthTime.Equal(rt0.AuthTime) || r1.New.SessionID != s.ID {
			t.Fatalf("rotation = %+v", r1)
		}
		if !r1.New.ExpiresAt.Equal(f.clock.Now().Add(DefaultRefreshTokenInactivity)) {
			t.Errorf("child expires %v: the inactivity window did not restart", r1.New.ExpiresAt)
		}
		if _, active, _ := f.svc.LookupRefreshToken(ctx, v0); active {
			t.Error("the rotated token is still active")
		}
		r2, err := f.svc.Rotate(ctx, r1.Value, clientA, nil)
		if err != nil {
			t.Fatal(err)
		}
		if r2.New.ParentID != r1.New.ID {
			t.Errorf("grandchild parent = %s", r2.New.ParentID)
		}

		// Presenting the first token again is reuse: the family dies.
		_, err = f.svc.Rotate(ctx, v0, clientA, nil)
		if !errors.Is(err, ErrTokenReused) {
			t.Fatalf("reuse = %v, want ErrTokenReused", err)
		}
		if _, err := f.svc.Rotate(ctx, r2.Value, clientA, nil); !errors.Is(err, ErrTokenInvalid) {
			t.Fatalf("the live token after reuse = %v, want ErrTokenInvalid", err)
		}
		audits, err := f.st.ListAudit(ctx, store.Query{Filter: mustFilter(t, "activityDisplayName eq 'Refresh token reuse detected'")})
		if err != nil {
			t.Fatal(err)
		}
		if len(audits.Items) != 1 {
			t.Fatalf("%d reuse audit records, want 1", len(audits.Items))
		}
		a := audits.Items[0]
		if a.Category != AuditCategory || a.InitiatorAppID != clientA || len(a.TargetIDs) != 1 || a.TargetIDs[0] != u.ID ||
			a.CorrelationID != rt0.FamilyID || !a.ActivityDateTime.Equal(f.clock.Now()) {
			t.Errorf("audit record = %+v", a)
		}
		var by map[string]map[string]any
		if err := json.Unmarshal(a.InitiatedBy, &by); err != nil || by["app"]["appId"] != clientA {
			t.Errorf("initiatedBy = %s (%v)", a.InitiatedBy, err)
		}
		// A second replay reports reuse again but revokes nothing new, so
		// it writes no second record.
		if _, err := f.svc.Rotate(ctx, v0, clientA, nil); !errors.Is(err, ErrTokenReused) {
			t.Fatalf("second reuse = %v", err)
		}
		audits, _ = f.st.ListAudit(ctx, store.Query{})
		if len(audits.Items) != 1 {
			t.Errorf("%d audit records after a second replay, want 1", len(audits.Items))
		}
	})
}

func TestRotationRefusals(t *testing.T) {
	each(t, func(t *testing.T, f *fixture) {
		for _, tc := range []struct {
			name  string
			setup func(t *testing.T, v string, rt store.RefreshToken) (clientID string)
			want  error
		}{
			{name: "unknown", setup: func(t *testing.T, v string, _ store.RefreshToken) string { return clientA }, want: ErrTokenInvalid},
			{name: "another client", setup: func(*testing.T, string, store.RefreshToken) string { return uuid.NewString() }, want: ErrWrongClient},
			{name: "revoked", setup: func(t *testing.T, _ string, rt store.RefreshToken) string {
				if err := f.st.RevokeRefreshToken(ctx, rt.ID, f.clock.Now(), "test"); err != nil {
					t.Fatal(err)
				}
				return clientA
			}, want: ErrTokenInvalid},
			{name: "family revoked", setup: func(t *testing.T, _ string, rt store.RefreshToken) string {
				if err := f.svc.RevokeFamily(ctx, rt.FamilyID, "code replay"); err != nil {
					t.Fatal(err)
				}
				return clientA
			}, want: ErrTokenInvalid},
			{name: "inactive too long", setup: func(*testing.T, string, store.RefreshToken) string {
				f.clock.Advance(DefaultRefreshTokenInactivity)
				return clientA
			}, want: ErrTokenInvalid},
			{name: "older than max age", setup: func(t *testing.T, _ string, _ store.RefreshToken) string {
				if _, err := f.svc.PutPolicy(ctx, clientA, Settings{RefreshTokenMaxAge: ptr(24 * time.Hour)}); err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { _ = f.svc.DeletePolicy(ctx, clientA) })
				f.clock.Advance(24 * time.Hour)
				return clientA
			}, want: ErrTokenInvalid},
			{name: "sign-in frequency elapsed", setup: func(t *testing.T, _ string, _ store.RefreshToken) string {
				if _, err := f.svc.PutPolicy(ctx, clientA, Settings{SignInFrequency: &Frequency{Every: 2 * time.Hour}}); err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { _ = f.svc.DeletePolicy(ctx, clientA) })
				f.clock.Advance(2 * time.Hour)
				return clientA
			}, want: ErrTokenInvalid},
			{name: "global sign-in frequency elapsed", setup: func(t *testing.T, _ string, _ store.RefreshToken) string {
				if _, err := f.svc.PutPolicy(ctx, PolicyGlobal, Settings{SignInFrequency: &Frequency{Every: time.Hour}}); err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { _ = f.svc.DeletePolicy(ctx, PolicyGlobal) })
				f.clock.Advance(time.Hour)
				return clientA
			}, want: ErrTokenInvalid},
			{name: "sign-in every time, past the skew", setup: func(t *testing.T, _ string, _ store.RefreshToken) string {
				if _, err := f.svc.PutPolicy(ctx, clientA, Settings{SignInFrequency: &Frequency{EveryTime: true}}); err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { _ = f.svc.DeletePolicy(ctx, clientA) })
				f.clock.Advance(EveryTimeSkew + time.Second)
				return clientA
			}, want: ErrTokenInvalid},
			{name: "user disabled", setup: func(t *testing.T, _ string, rt store.RefreshToken) string {
				f.setUser(t, rt.UserID, func(u *store.User) { u.AccountEnabled = false })
				return clientA
			}, want: ErrTokenInvalid},
			{name: "user deleted", setup: func(t *testing.T, _ string, rt store.RefreshToken) string {
				if err := f.st.DeleteUser(ctx, rt.UserID); err != nil {
					t.Fatal(err)
				}
				return clientA
			}, want: ErrTokenInvalid},
			{name: "sessions revoked (T moved)", setup: func(t *testing.T, _ string, rt store.RefreshToken) string {
				f.clock.Advance(time.Second)
				f.setUser(t, rt.UserID, func(u *store.User) { u.SignInSessionsValidFrom = f.clock.Now() })
				return clientA
			}, want: ErrTokenInvalid},
			{name: "refresh tokens revoked (beta T)", setup: func(t *testing.T, _ string, rt store.RefreshToken) string {
				f.clock.Advance(time.Second)
				f.setUser(t, rt.UserID, func(u *store.User) { u.RefreshTokensValidFrom = f.clock.Now() })
				return clientA
			}, want: ErrTokenInvalid},
		} {
			t.Run(tc.name, func(t *testing.T) {
				u := f.user(t)
				s := f.login(t, u, clientA)
				v, rt := f.issue(t, u, s, clientA)
				clientID := tc.setup(t, v, rt)
				if tc.name == "unknown" {
					v = "not-a-token"
				}
				_, err := f.svc.Rotate(ctx, v, clientID, nil)
				if !errors.Is(err, tc.want) {
					t.Fatalf("Rotate = %v, want %v", err, tc.want)
				}
				if tc.want == ErrWrongClient {
					if !errors.Is(err, ErrTokenInvalid) {
						t.Error("ErrWrongClient without ErrTokenInvalid")
					}
					if _, err := f.svc.Rotate(ctx, v, clientA, nil); err != nil {
						t.Errorf("the owner cannot use the token after another client tried: %v", err)
					}
				}
				if _, active, err := f.svc.LookupRefreshToken(ctx, v); err != nil || (active && tc.want != ErrWrongClient) {
					t.Errorf("LookupRefreshToken active=%v err=%v", active, err)
				}
			})
		}
	})
}

func TestRotationCheckLeavesTokenUsable(t *testing.T) {
	each(t, func(t *testing.T, f *fixture) {
		u := f.user(t)
		v, _ := f.issue(t, u, f.login(t, u, clientA), clientA)
		refuse := errors.New("scope too wide")
		if _, err := f.svc.Rotate(ctx, v, clientA, func(store.RefreshToken) error { return refuse }); !errors.Is(err, refuse) {
			t.Fatalf("Rotate = %v, want the check's error", err)
		}
		if _, err := f.svc.Rotate(ctx, v, clientA, nil); err != nil {
			t.Fatalf("token unusable after a refused check: %v", err)
		}
	})
}

func TestConcurrentRotationIsReuse(t *testing.T) {
	each(t, func(t *testing.T, f *fixture) {
		u := f.user(t)
		v, rt := f.issue(t, u, f.login(t, u, clientA), clientA)
		const n = 8
		var wg sync.WaitGroup
		errs := make([]error, n)
		for i := range n {
			wg.Go(func() { _, errs[i] = f.svc.Rotate(ctx, v, clientA, nil) })
		}
		wg.Wait()
		won, reused := 0, 0
		for _, err := range errs {
			switch {
			case err == nil:
				won++
			case errors.Is(err, ErrTokenReused):
				reused++
			default:
				t.Errorf("unexpected error: %v", err)
			}
		}
		if won != 1 || reused != n-1 {
			t.Fatalf("%d rotations succeeded and %d saw reuse; want 1 and %d", won, reused, n-1)
		}
		if left, err := f.st.RevokeRefreshTokenFamily(ctx, rt.FamilyID, f.clock.Now(), "check"); err != nil || left != 0 {
			t.Errorf("family not fully revoked: %d left live (%v)", left, err)
		}
	})
}

func TestRevokeRefreshTokenValue(t *testing.T) {
	each(t, func(t *testing.T, f *fixture) {
		u := f.user(t)
		v0, _ := f.issue(t, u, f.login(t, u, clientA), clientA)
		r, err := f.svc.Rotate(ctx, v0, clientA, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := f.svc.RevokeRefreshTokenValue(ctx, "unknown", clientA); err != nil {
			t.Errorf("unknown token: %v", err)
		}
		if err := f.svc.RevokeRefreshTokenValue(ctx, r.Value, uuid.NewString()); !errors.Is(err, ErrWrongClient) {
			t.Errorf("another client's token: %v", err)
		}
		if _, active, _ := f.svc.LookupRefreshToken(ctx, r.Value); !active {
			t.Fatal("another client revoked the token")
		}
		// Revoking the (used) parent revokes the whole family, the child
		// included (RFC 7009 §2.1).
		if err := f.svc.RevokeRefreshTokenValue(ctx, v0, clientA); err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.Rotate(ctx, r.Value, clientA, nil); !errors.Is(err, ErrTokenInvalid) {
			t.Errorf("child after revocation: %v", err)
		}
	})
}

func TestChildWindow(t *testing.T) {
	each(t, func(t *testing.T, f *fixture) {
		u := f.user(t)
		s := f.login(t, u, clientA)
		_, _, err := f.svc.IssueRefreshToken(ctx, NewRefresh{UserID: u.ID, SessionID: s.ID, ClientID: clientA, SPA: true})
		if err != nil {
			t.Fatal(err)
		}
		v, _, err := f.svc.IssueRefreshToken(ctx, NewRefresh{UserID: u.ID, SessionID: s.ID, ClientID: clientA, SPA: true})
		if err != nil {
			t.Fatal(err)
		}
		f.clock.Advance(23 * time.Hour)
		r, err := f.svc.Rotate(ctx, v, clientA, nil)
		if err != nil {
			t.Fatal(err)
		}
		if w := r.New.ExpiresAt.Sub(r.New.CreatedAt); w != DefaultSPARefreshTokenInactivity {
			t.Errorf("SPA child window = %v, want the family's %v", w, DefaultSPARefreshTokenInactivity)
		}
		if _, err := f.svc.PutPolicy(ctx, PolicyGlobal, Settings{RefreshTokenInactivity: ptr(time.Hour)}); err != nil {
			t.Fatal(err)
		}
		r, err = f.svc.Rotate(ctx, r.Value, clientA, nil)
		if err != nil {
			t.Fatal(err)
		}
		if w := r.New.ExpiresAt.Sub(r.New.CreatedAt); w != time.Hour {
			t.Errorf("child window after tightening = %v, want PT1H", w)
		}
	})
}

func mustFilter(t testing.TB, s string) odata.Expr {
	t.Helper()
	e, err := odata.ParseFilter(s)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// TestRevocationRacingRotation: a client that revokes its refresh token
// (RFC 7009) while the same token is being rotated leaves no live token in
// the family once both have returned, whichever wins.
func TestRevocationRacingRotation(t *testing.T) {
	each(t, func(t *testing.T, f *fixture) {
		u := f.user(t)
		sess := f.login(t, u, clientA)
		for trial := range 40 {
			v, rt := f.issue(t, u, sess, clientA)
			var wg sync.WaitGroup
			var rotErr, revErr error
			start := make(chan struct{})
			wg.Go(func() { <-start; _, rotErr = f.svc.Rotate(ctx, v, clientA, nil) })
			wg.Go(func() { <-start; revErr = f.svc.RevokeRefreshTokenValue(ctx, v, clientA) })
			close(start)
			wg.Wait()
			if revErr != nil {
				t.Fatalf("trial %d: revoke: %v", trial, revErr)
			}
			if rotErr != nil && !errors.Is(rotErr, ErrTokenInvalid) {
				t.Fatalf("trial %d: rotate: %v", trial, rotErr)
			}
			if left, err := f.st.RevokeRefreshTokenFamily(ctx, rt.FamilyID, f.clock.Now(), "check"); err != nil || left != 0 {
				t.Fatalf("trial %d: %d tokens of the revoked family still live (rotation: %v; %v)", trial, left, rotErr, err)
			}
		}
	})
}

// TestSessionEndRacingRotation: ending a session while one of its refresh
// tokens is being rotated leaves no live token of the session.
func TestSessionEndRacingRotation(t *testing.T) {
	each(t, func(t *testing.T, f *fixture) {
		u := f.user(t)
		for trial := range 30 {
			sess := f.login(t, u, clientA)
			v, _ := f.issue(t, u, sess, clientA)
			var wg sync.WaitGroup
			var rotErr, endErr error
			start := make(chan struct{})
			wg.Go(func() { <-start; _, rotErr = f.svc.Rotate(ctx, v, clientA, nil) })
			wg.Go(func() { <-start; endErr = f.svc.End(ctx, sess.ID, "test", Initiator{}) })
			close(start)
			wg.Wait()
			if endErr != nil {
				t.Fatalf("trial %d: end: %v", trial, endErr)
			}
			if rotErr != nil && !errors.Is(rotErr, ErrTokenInvalid) {
				t.Fatalf("trial %d: rotate: %v", trial, rotErr)
			}
			if left, err := f.st.RevokeRefreshTokensOfSession(ctx, sess.ID, f.clock.Now(), "check"); err != nil || left != 0 {
				t.Fatalf("trial %d: %d tokens of the ended session still live (rotation: %v; %v)", trial, left, rotErr, err)
			}
		}
	})
}

// TestRotationWithinSignInFrequency: before the sign-in frequency elapses,
// refreshing works, and the rotated token keeps the sign-in's time, so the
// frequency still counts from the sign-in.
func TestRotationWithinSignInFrequency(t *testing.T) {
	each(t, func(t *testing.T, f *fixture) {
		if _, err := f.svc.PutPolicy(ctx, clientA, Settings{SignInFrequency: &Frequency{Every: 2 * time.Hour}}); err != nil {
			t.Fatal(err)
		}
		u := f.user(t)
		v, _ := f.issue(t, u, f.login(t, u, clientA), clientA)
		f.clock.Advance(time.Hour)
		next, err := f.svc.Rotate(ctx, v, clientA, nil)
		if err != nil {
			t.Fatalf("refresh an hour after sign-in, frequency 2 h: %v", err)
		}
		f.clock.Advance(time.Hour)
		if _, err := f.svc.Rotate(ctx, next.Value, clientA, nil); !errors.Is(err, ErrTokenInvalid) {
			t.Fatalf("refresh two hours after sign-in = %v, want ErrTokenInvalid", err)
		}
	})
}

// TestRotationAndIdleTimeout: a refresh does not renew its session, and a
// session idle past the global timeout ends at its next refresh (as at
// its next /authorize); past the client's own timeout, that client's
// refresh is refused and the session lives on; with no idle timeout,
// idleness does not matter.
func TestRotationAndIdleTimeout(t *testing.T) {
	each(t, func(t *testing.T, f *fixture) {
		rotate := func(v string) (Rotation, error) { return f.svc.Rotate(ctx, v, clientA, nil) }
		u := f.user(t)
		s := f.login(t, u, clientA)
		v, _ := f.issue(t, u, s, clientA)

		f.clock.Advance(3 * time.Hour) // no idle timeout in force
		r, err := rotate(v)
		if err != nil {
			t.Fatalf("refresh after 3 h idle, no idle timeout: %v", err)
		}
		if got, _ := f.st.GetSession(ctx, s.ID); !got.LastActiveAt.Equal(s.LastActiveAt) {
			t.Errorf("a refresh moved LastActiveAt from %v to %v", s.LastActiveAt, got.LastActiveAt)
		}

		if _, err := f.svc.PutPolicy(ctx, clientA, Settings{IdleTimeout: ptr(2 * time.Hour)}); err != nil {
			t.Fatal(err)
		}
		if _, err := rotate(r.Value); !errors.Is(err, ErrTokenInvalid) {
			t.Fatalf("refresh past the client's idle timeout = %v, want ErrTokenInvalid", err)
		}
		if got, _ := f.st.GetSession(ctx, s.ID); got.RevokedAt != nil {
			t.Fatal("the client's idle timeout ended the session")
		}
		if err := f.svc.DeletePolicy(ctx, clientA); err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.PutPolicy(ctx, PolicyGlobal, Settings{IdleTimeout: ptr(4 * time.Hour)}); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = f.svc.DeletePolicy(ctx, PolicyGlobal) })
		r, err = rotate(r.Value) // idle 3 h < 4 h
		if err != nil {
			t.Fatalf("refresh within the global idle timeout: %v", err)
		}
		f.clock.Advance(time.Hour)
		if _, err := rotate(r.Value); !errors.Is(err, ErrTokenInvalid) {
			t.Fatalf("refresh past the global idle timeout = %v, want ErrTokenInvalid", err)
		}
		if got, _ := f.st.GetSession(ctx, s.ID); got.RevokedAt == nil || got.RevokedReason != ReasonIdleTimeout {
			t.Fatalf("session after the global idle timeout: %+v", got)
		}
	})
}
