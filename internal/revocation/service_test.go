package revocation

import (
	"errors"
	"strings"
	"testing"

	"github.com/vigil-idp/vigil/internal/store"
	"github.com/vigil-idp/vigil/ssf"
)

func TestRevokeUser(t *testing.T) {
	each(t, func(f *fixture) {
		t := f.t
		u := f.user("alice@contoso.com")
		f.session(u.ID)
		other := f.user("bob@contoso.com")

		rev, err := f.svc.RevokeUser(f.ctx, app("User.RevokeSessions.All"), "ALICE@contoso.com", Options{Reason: "phish"})
		if err != nil {
			t.Fatal(err)
		}
		f.wantRevoked(u.ID, t0)
		f.wantUntouched(other.ID)
		got, receipts, err := f.svc.Get(f.ctx, rev.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Status != store.RevocationCompleted || got.Targeted != 1 || got.Revoked != 1 || !got.ValidFrom.Equal(t0) ||
			got.Reason != "phish" || got.CreatedByID != "22222222-2222-2222-2222-222222222222" || got.CompletedAt == nil || len(receipts) != 0 {
			t.Errorf("revocation = %+v, receipts %v", got, receipts)
		}
		if r := f.results(rev.ID); r[u.ID].Outcome != OutcomeRevoked || len(r) != 1 {
			t.Errorf("results = %+v", r)
		}
		events := f.outbox()
		if len(events) != 1 || events[0].Type != ssf.EventSessionRevoked || events[0].SessionID != "" {
			t.Fatalf("events = %+v", events)
		}
		if p := payload(t, events[0]); p.RevocationID != rev.ID || p.Txn != rev.ID || p.InitiatingEntity != ssf.InitiatedByAdmin {
			t.Errorf("payload = %+v", p)
		}
	})
}

func TestRevokeUserRefusals(t *testing.T) {
	each(t, func(f *fixture) {
		t := f.t
		ga := f.user("ga@contoso.com")
		f.assign(ga.ID, roleGlobalAdmin)
		helpdesk := admin("66666666-6666-6666-6666-666666666666", roleHelpdeskAdmin)
		cases := []struct {
			name string
			in   Initiator
			key  string
			want error
		}{
			{"unknown id", app("User.RevokeSessions.All"), "00000000-0000-0000-0000-000000000001", ErrNotFound},
			{"unknown upn", app("User.RevokeSessions.All"), "nobody@contoso.com", ErrNotFound},
			{"app without permission", app("User.Read.All"), ga.ID, ErrForbidden},
			{"helpdesk on a global admin", helpdesk, ga.ID, ErrForbidden},
			{"user without role on another", admin("77777777-7777-7777-7777-777777777777"), ga.ID, ErrForbidden},
		}
		for _, c := range cases {
			_, err := f.svc.RevokeUser(f.ctx, c.in, c.key, Options{})
			var e *Error
			if !errors.Is(err, c.want) || !errors.As(err, &e) || e.Message == "" {
				t.Errorf("%s: err = %v, want %v with a message", c.name, err, c.want)
			}
		}
		f.wantUntouched(ga.ID)
		if len(f.audit()) != 0 || len(f.outbox()) != 0 {
			t.Error("a refused revocation left audit records or events")
		}
		// The user may revoke themself; the event says so.
		if _, err := f.svc.RevokeUser(f.ctx, admin(ga.ID), ga.ID, Options{}); err != nil {
			t.Fatal(err)
		}
		f.wantRevoked(ga.ID, t0)
		if p := payload(t, f.outbox()[0]); p.InitiatingEntity != ssf.InitiatedByUser || p.Cause != "selfRevoke" {
			t.Errorf("self revocation payload = %+v", p)
		}
	})
}

func TestRevokeSession(t *testing.T) {
	each(t, func(f *fixture) {
		t := f.t
		u := f.user("carol@contoso.com")
		keep := f.session(u.ID)
		ss, _ := f.st.ListSessionsOfUser(f.ctx, u.ID, false)
		var end store.Session
		for _, s := range ss {
			if s.ID != keep.ID {
				end = s
			}
		}
		rev, err := f.svc.RevokeSession(f.ctx, admin(u.ID), end.ID, Options{Reason: "lost phone"})
		if err != nil {
			t.Fatal(err)
		}
		st := f.state(u.ID)
		if !st.T.Equal(t0.Add(-60*60*1e9)) || st.liveSessions != 1 || st.liveTokens != 1 {
			t.Fatalf("after ending one session: %+v", st)
		}
		if rev.Revoked != 1 || rev.Status != store.RevocationCompleted {
			t.Errorf("revocation = %+v", rev)
		}
		events := f.outbox()
		if len(events) != 1 || events[0].SessionID != end.ID || events[0].Type != ssf.EventSessionRevoked {
			t.Fatalf("events = %+v", events)
		}
		if p := payload(t, events[0]); p.Subject.SessionID != end.ID || len(p.Sessions) != 1 || p.Sessions[0].ID != end.ID {
			t.Errorf("payload = %+v", p)
		}
		if a := f.audit(); len(a) != 1 || a[0].ActivityDisplayName != ActivityRevokeSession || !strings.Contains(string(a[0].AdditionalDetails), end.ID) {
			t.Errorf("audit = %+v", a)
		}
		// Again: nothing to end, recorded as such.
		again, err := f.svc.RevokeSession(f.ctx, admin(u.ID), end.ID, Options{})
		if err != nil || again.Revoked != 0 || again.Failed != 1 {
			t.Errorf("second RevokeSession = %+v, %v", again, err)
		}
		if _, err := f.svc.RevokeSession(f.ctx, admin(u.ID), "no-such-session", Options{}); !errors.Is(err, ErrNotFound) {
			t.Errorf("unknown session: %v", err)
		}
		if _, err := f.svc.RevokeSession(f.ctx, admin("88888888-8888-8888-8888-888888888888"), keep.ID, Options{}); !errors.Is(err, ErrForbidden) {
			t.Errorf("someone else's session: %v", err)
		}
	})
}
