package session

import (
	"encoding/json"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/vigil-idp/vigil/internal/revocation"
	"github.com/vigil-idp/vigil/internal/store"
	"github.com/vigil-idp/vigil/ssf"
)

const clientB = "b2222222-2222-4222-8222-222222222222"

func TestSessionLifecycle(t *testing.T) {
	each(t, func(t *testing.T, f *fixture) {
		u := f.user(t)
		s := f.login(t, u, clientA)
		if err := f.svc.Touch(ctx, s.ID, clientB); err != nil {
			t.Fatal(err)
		}
		got, gotUser, err := f.svc.Check(ctx, s.ID, clientA)
		if err != nil || gotUser.ID != u.ID || !slices.Equal(got.ClientIDs, []string{clientA, clientB}) ||
			!got.AuthTime.Equal(f.clock.Now()) || !slices.Equal(got.AMR, []string{"pwd"}) {
			t.Fatalf("Check = %+v, %v", got, err)
		}
		v, _ := f.issue(t, u, s, clientA)

		f.clock.Advance(time.Minute)
		if err := f.svc.End(ctx, s.ID, "logout", Initiator{UserID: u.ID, UserPrincipalName: u.UserPrincipalName}); err != nil {
			t.Fatal(err)
		}
		if _, _, err := f.svc.Check(ctx, s.ID, clientA); !errors.Is(err, ErrSessionEnded) {
			t.Fatalf("Check after End = %v", err)
		}
		if _, err := f.svc.Rotate(ctx, v, clientA, nil); !errors.Is(err, ErrTokenInvalid) {
			t.Fatalf("the session's refresh token after End = %v", err)
		}
		if _, err := f.svc.Reauthenticated(ctx, s.ID, []string{"pwd"}); !errors.Is(err, ErrSessionEnded) {
			t.Fatalf("Reauthenticated after End = %v", err)
		}
		evs := f.outbox(t)
		if len(evs) != 1 {
			t.Fatalf("%d outbox events, want 1", len(evs))
		}
		ev := evs[0]
		if ev.Type != EventSessionRevoked || ev.UserID != u.ID || ev.SessionID != s.ID {
			t.Errorf("event = %+v", ev)
		}
		var p revocation.Event
		if err := json.Unmarshal(ev.Payload, &p); err != nil {
			t.Fatal(err)
		}
		if !p.RevokedAt.Equal(f.clock.Now()) || p.Reason != "logout" || len(p.Sessions) != 1 ||
			!slices.Equal(p.Sessions[0].ClientIDs, []string{clientA, clientB}) || p.Type != EventSessionRevoked ||
			p.Txn != ev.ID || p.Subject.SessionID != s.ID || p.Subject.UserPrincipalName != u.UserPrincipalName ||
			p.InitiatingEntity != ssf.InitiatedByUser || p.EventTimestamp != f.clock.Now().Unix() || p.Cause != "sessionRevoked" {
			t.Errorf("payload = %s", ev.Payload)
		}
		var body ssf.SessionRevoked
		if err := json.Unmarshal(p.Body, &body); err != nil || body.InitiatingEntity != ssf.InitiatedByUser || body.ReasonAdmin["en"] != "logout" {
			t.Errorf("CAEP body = %s (%v)", p.Body, err)
		}
		var by map[string]map[string]any
		if err := json.Unmarshal(p.InitiatedBy, &by); err != nil || by["user"]["userPrincipalName"] != u.UserPrincipalName {
			t.Errorf("initiatedBy = %s", p.InitiatedBy)
		}
		// Ending again changes nothing and adds no event.
		if err := f.svc.End(ctx, s.ID, "logout", Initiator{}); err != nil {
			t.Fatal(err)
		}
		if n := len(f.outbox(t)); n != 1 {
			t.Errorf("%d events after a second End", n)
		}
		if err := f.svc.End(ctx, "00000000-0000-4000-8000-000000000000", "logout", Initiator{}); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("End(unknown) = %v", err)
		}
		if err := f.svc.Touch(ctx, "00000000-0000-4000-8000-000000000000", clientA); !errors.Is(err, ErrSessionEnded) {
			t.Errorf("Touch(unknown) = %v", err)
		}
	})
}

func TestCheck(t *testing.T) {
	each(t, func(t *testing.T, f *fixture) {
		for _, tc := range []struct {
			name   string
			global Settings
			app    Settings
			setup  func(t *testing.T, u store.User)
			wait   time.Duration
			want   error
			ended  bool // the session is revoked and an event written
		}{
			{name: "fresh", want: nil},
			{name: "idle beyond the global timeout", global: Settings{IdleTimeout: ptr(30 * time.Minute)}, wait: 30 * time.Minute, want: ErrSessionEnded, ended: true},
			{name: "idle within the global timeout", global: Settings{IdleTimeout: ptr(30 * time.Minute)}, wait: 29 * time.Minute},
			{name: "idle beyond the app's stricter timeout", global: Settings{IdleTimeout: ptr(time.Hour)}, app: Settings{IdleTimeout: ptr(10 * time.Minute)}, wait: 10 * time.Minute, want: ErrReauthRequired},
			{name: "app turns the idle timeout off", global: Settings{}, app: Settings{IdleTimeout: ptr(time.Duration(0))}, wait: 1000 * time.Hour},
			{name: "sign-in frequency reached", app: Settings{SignInFrequency: &Frequency{Every: 4 * time.Hour}}, wait: 4 * time.Hour, want: ErrReauthRequired},
			{name: "sign-in frequency not reached", app: Settings{SignInFrequency: &Frequency{Every: 4 * time.Hour}}, wait: 3 * time.Hour},
			{name: "every time, within the skew", app: Settings{SignInFrequency: &Frequency{EveryTime: true}}, wait: EveryTimeSkew},
			{name: "every time, past the skew", app: Settings{SignInFrequency: &Frequency{EveryTime: true}}, wait: EveryTimeSkew + time.Second, want: ErrReauthRequired},
			{name: "user disabled", setup: func(t *testing.T, u store.User) {
				f.setUser(t, u.ID, func(u *store.User) { u.AccountEnabled = false })
			}, want: ErrSessionEnded, ended: true},
			{name: "signed in before T", setup: func(t *testing.T, u store.User) {
				f.setUser(t, u.ID, func(u *store.User) { u.SignInSessionsValidFrom = f.clock.Now().Add(time.Microsecond) })
			}, want: ErrSessionEnded, ended: true},
		} {
			t.Run(tc.name, func(t *testing.T) {
				if _, err := f.svc.PutPolicy(ctx, PolicyGlobal, tc.global); err != nil {
					t.Fatal(err)
				}
				if _, err := f.svc.PutPolicy(ctx, clientA, tc.app); err != nil {
					t.Fatal(err)
				}
				u := f.user(t)
				s := f.login(t, u, clientA)
				before := len(f.outbox(t))
				if tc.setup != nil {
					tc.setup(t, u)
				}
				f.clock.Advance(tc.wait)
				_, _, err := f.svc.Check(ctx, s.ID, clientA)
				if (tc.want == nil && err != nil) || (tc.want != nil && !errors.Is(err, tc.want)) {
					t.Fatalf("Check = %v, want %v", err, tc.want)
				}
				got, err := f.st.GetSession(ctx, s.ID)
				if err != nil {
					t.Fatal(err)
				}
				if ended := got.RevokedAt != nil; ended != tc.ended {
					t.Errorf("revoked = %v, want %v", ended, tc.ended)
				}
				if events := len(f.outbox(t)) - before; (events == 1) != tc.ended {
					t.Errorf("%d new outbox events", events)
				}
				if errors.Is(tc.want, ErrReauthRequired) {
					if _, err := f.svc.Reauthenticated(ctx, s.ID, []string{"pwd", "mfa"}); err != nil {
						t.Fatal(err)
					}
					if _, _, err := f.svc.Check(ctx, s.ID, clientA); err != nil {
						t.Errorf("Check after Reauthenticated = %v", err)
					}
				}
			})
		}
	})
}

func TestAccessActive(t *testing.T) {
	each(t, func(t *testing.T, f *fixture) {
		u := f.user(t)
		s := f.login(t, u, clientA)
		iat := f.clock.Now().Truncate(time.Second)
		if ok, err := f.svc.AccessActive(ctx, u.ID, s.ID, iat); err != nil || !ok {
			t.Fatalf("live token: %v, %v", ok, err)
		}
		if ok, _ := f.svc.AccessActive(ctx, u.ID, "", iat); !ok {
			t.Error("a token without sid is inactive")
		}
		other := f.user(t)
		if ok, _ := f.svc.AccessActive(ctx, other.ID, s.ID, iat); ok {
			t.Error("a token naming another user's session is active")
		}
		if err := f.svc.End(ctx, s.ID, "logout", Initiator{}); err != nil {
			t.Fatal(err)
		}
		if ok, _ := f.svc.AccessActive(ctx, u.ID, s.ID, iat); ok {
			t.Error("a token of an ended session is active")
		}
		f.clock.Advance(time.Second)
		f.setUser(t, u.ID, func(u *store.User) { u.SignInSessionsValidFrom = f.clock.Now() })
		if ok, _ := f.svc.AccessActive(ctx, u.ID, "", iat); ok {
			t.Error("a token issued before T is active")
		}
		if ok, _ := f.svc.AccessActive(ctx, "00000000-0000-4000-8000-000000000000", "", iat); ok {
			t.Error("a deleted user's token is active")
		}
	})
}
