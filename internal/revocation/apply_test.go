package revocation

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/vigil-idp/vigil/internal/store"
	"github.com/vigil-idp/vigil/ssf"
)

// failingTx fails AppendOutbox: the last write of ApplyInTx, after the
// audit append.
type failingTx struct {
	Tx
	err error
}

func (f failingTx) AppendOutbox(ctx context.Context, es ...store.OutboxEvent) ([]int64, error) {
	return nil, f.err
}

func TestApplyInTxIsAtomic(t *testing.T) {
	boom := errors.New("boom")
	cases := []struct {
		name string
		run  func(ctx context.Context, tx store.Tx, userID string) error
	}{
		{"outbox append fails after the audit append", func(ctx context.Context, tx store.Tx, userID string) error {
			_, err := ApplyInTx(ctx, failingTx{tx, boom}, app("User.RevokeSessions.All"), CauseAdminRevoke, []string{userID}, t0, Options{})
			return err
		}},
		{"the caller fails after ApplyInTx", func(ctx context.Context, tx store.Tx, userID string) error {
			if _, err := ApplyInTx(ctx, tx, app("User.RevokeSessions.All"), CauseAdminRevoke, []string{userID}, t0, Options{}); err != nil {
				return err
			}
			return boom
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			each(t, func(f *fixture) {
				t := f.t
				u := f.user("atomic@contoso.com")
				err := f.st.InTx(f.ctx, func(tx store.Tx) error { return c.run(f.ctx, tx, u.ID) })
				if !errors.Is(err, boom) {
					t.Fatalf("InTx = %v, want boom", err)
				}
				f.wantUntouched(u.ID)
				if a := f.audit(); len(a) != 0 {
					t.Errorf("%d audit records persisted", len(a))
				}
				if o := f.outbox(); len(o) != 0 {
					t.Errorf("%d outbox events persisted", len(o))
				}
			})
		})
	}
}

func TestApplyInTxNeverMovesBackwards(t *testing.T) {
	each(t, func(f *fixture) {
		t := f.t
		u := f.user("back@contoso.com")
		apply := func(at time.Time) map[string]time.Time {
			var prev map[string]time.Time
			err := f.st.InTx(f.ctx, func(tx store.Tx) error {
				var err error
				prev, err = ApplyInTx(f.ctx, tx, Initiator{}, CauseAdminRevoke, []string{u.ID, "no-such-user"}, at, Options{})
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			return prev
		}
		if prev := apply(t0); !prev[u.ID].Equal(t0.Add(-time.Hour)) || len(prev) != 1 {
			t.Fatalf("first apply returned %v", prev)
		}
		f.session(u.ID) // a new sign-in after the revocation
		if prev := apply(t0.Add(-10 * time.Minute)); !prev[u.ID].Equal(t0) {
			t.Fatalf("second apply returned %v, want previous T %v", prev, t0)
		}
		f.wantRevoked(u.ID, t0) // T stayed; the new session was still revoked
		a := f.audit()
		if len(a) != 2 {
			t.Fatalf("%d audit records, want 2", len(a))
		}
		var targets []struct {
			ModifiedProperties []ModifiedProperty `json:"modifiedProperties"`
		}
		if err := json.Unmarshal(a[1].TargetResources, &targets); err != nil { // newest first: a[1] is at the older time
			t.Fatal(err)
		}
		want := ModifiedProperty{DisplayName: PropStsRefreshTokensValidFrom, OldValue: `["2025-06-01T12:00:00Z"]`, NewValue: `["2025-06-01T12:00:00Z"]`}
		if got := targets[0].ModifiedProperties; len(got) != 1 || got[0] != want {
			t.Errorf("older revocation's modifiedProperties = %+v, want %+v", got, want)
		}
	})
}

func TestApplyInTxCauses(t *testing.T) {
	cases := []struct {
		cause Cause
		self  bool
		// activities are the audit records' (sorted): a password change
		// also logs the move of T on its own, as Entra does.
		activities []string
		types      []string
		revokes    bool
	}{
		{CauseAdminRevoke, false, []string{ActivityRevokeSessions}, []string{ssf.EventSessionRevoked}, true},
		{CauseSelfRevoke, true, []string{ActivityRevokeSessions}, []string{ssf.EventSessionRevoked}, true},
		{CauseAccountDisabled, false, []string{"Disable account"}, []string{ssf.EventAccountDisabled, ssf.EventSessionRevoked}, true},
		{CauseAccountEnabled, false, []string{"Enable account"}, []string{ssf.EventAccountEnabled}, false},
		{CauseUserDeleted, false, []string{"Delete user"}, []string{ssf.EventAccountPurged, ssf.EventSessionRevoked}, true},
		{CausePasswordChanged, false, []string{"Reset user password", ActivityRevokeSessions}, []string{ssf.EventCredentialChange, ssf.EventSessionRevoked}, true},
		{CausePasswordChanged, true, []string{"Change user password", ActivityRevokeSessions}, []string{ssf.EventCredentialChange, ssf.EventSessionRevoked}, true},
	}
	for _, c := range cases {
		name := c.cause.String()
		if c.self {
			name += "_by_self"
		}
		t.Run(name, func(t *testing.T) {
			each(t, func(f *fixture) {
				t := f.t
				u := f.user("cause@contoso.com")
				in := admin("44444444-4444-4444-4444-444444444444", roleGlobalAdmin)
				entity := ssf.InitiatedByAdmin
				if c.self {
					in = admin(u.ID)
					entity = ssf.InitiatedByUser
				}
				err := f.st.InTx(f.ctx, func(tx store.Tx) error {
					_, err := ApplyInTx(f.ctx, tx, in, c.cause, []string{u.ID}, t0, Options{Reason: "offboarding", CorrelationID: "corr-1"})
					return err
				})
				if err != nil {
					t.Fatal(err)
				}
				if c.revokes {
					f.wantRevoked(u.ID, t0)
				} else {
					f.wantUntouched(u.ID)
				}
				var activities []string
				for _, r := range f.audit() {
					activities = append(activities, r.ActivityDisplayName)
					if r.CorrelationID != "corr-1" || r.InitiatorUserID != in.Principal.ObjectID || !slices.Equal(r.TargetIDs, []string{u.ID}) {
						t.Errorf("audit record %q: correlation %q, initiator %q, targets %v", r.ActivityDisplayName, r.CorrelationID, r.InitiatorUserID, r.TargetIDs)
					}
				}
				if slices.Sort(activities); !slices.Equal(activities, c.activities) {
					t.Fatalf("audit activities %q, want %q", activities, c.activities)
				}
				events := f.outbox()
				if len(events) != len(c.types) {
					t.Fatalf("%d events, want %v", len(events), c.types)
				}
				for i, e := range events {
					p := payload(t, e)
					if e.Type != c.types[i] || p.Type != e.Type || p.Txn != "corr-1" || e.UserID != u.ID || p.Subject.UserID != u.ID ||
						p.Subject.UserPrincipalName != u.UserPrincipalName || p.InitiatingEntity != entity || p.ReasonAdmin["en"] != "offboarding" ||
						p.EventTimestamp != t0.Unix() || p.Cause != c.cause.String() || !p.RevokedAt.Equal(t0) {
						t.Errorf("event %d = %s %+v", i, e.Type, p)
					}
				}
				if c.cause == CausePasswordChanged {
					var body ssf.CredentialChange
					if err := json.Unmarshal(payload(t, events[0]).Body, &body); err != nil || body.CredentialType != "password" || body.ChangeType != "update" {
						t.Errorf("credential-change body = %+v (%v)", body, err)
					}
					got, _ := f.st.GetUser(f.ctx, u.ID)
					if !got.RefreshTokensValidFrom.Equal(t0) {
						t.Errorf("refreshTokensValidFrom = %v, want %v", got.RefreshTokensValidFrom, t0)
					}
				}
				if c.cause == CauseUserDeleted {
					if s := payload(t, events[1]).Sessions; len(s) != 1 || s[0].ClientIDs[0] != "client-1" {
						t.Errorf("session-revoked of a deleted user lists sessions %+v", s)
					}
				}
			})
		})
	}
}

// TestAuditRecordShape pins the Graph directoryAudit JSON of a revocation
// by an application (reference entra-revocation.md §7).
func TestAuditRecordShape(t *testing.T) {
	each(t, func(f *fixture) {
		t := f.t
		u := f.user("shape@contoso.com")
		rev, err := f.svc.RevokeUser(f.ctx, app("User.RevokeSessions.All"), u.ID, Options{Reason: "lost laptop"})
		if err != nil {
			t.Fatal(err)
		}
		a := f.audit()
		if len(a) != 1 {
			t.Fatalf("%d audit records", len(a))
		}
		r := a[0]
		if r.ActivityDisplayName != "Update StsRefreshTokenValidFrom Timestamp" || r.Category != "UserManagement" ||
			r.LoggedByService != "Core Directory" || r.OperationType != "Update" || r.Result != "success" ||
			r.CorrelationID != rev.ID || r.InitiatorAppID != "11111111-1111-1111-1111-111111111111" ||
			len(r.TargetIDs) != 1 || r.TargetIDs[0] != u.ID || !r.ActivityDateTime.Equal(t0) {
			t.Fatalf("record = %+v", r)
		}
		wantJSON(t, "initiatedBy", r.InitiatedBy, `{"app":{"appId":"11111111-1111-1111-1111-111111111111","displayName":"Offboarding bot",
			"servicePrincipalId":"22222222-2222-2222-2222-222222222222","servicePrincipalName":"Offboarding bot"},"user":null}`)
		wantJSON(t, "targetResources", r.TargetResources, `[{"id":"`+u.ID+`","displayName":"User shape@contoso.com","type":"User",
			"userPrincipalName":"shape@contoso.com","groupType":null,"modifiedProperties":[{"displayName":"StsRefreshTokensValidFrom",
			"oldValue":"[\"2025-06-01T11:00:00Z\"]","newValue":"[\"2025-06-01T12:00:00Z\"]"}]}]`)
		wantJSON(t, "additionalDetails", r.AdditionalDetails, `[{"key":"Reason","value":"lost laptop"},{"key":"RevocationId","value":"`+rev.ID+`"}]`)

		d := admin("55555555-5555-5555-5555-555555555555", roleGlobalAdmin)
		wantJSON(t, "delegated initiatedBy", d.InitiatedBy(), `{"app":null,"user":{"id":"55555555-5555-5555-5555-555555555555",
			"displayName":"Admin","userPrincipalName":"admin@contoso.com","ipAddress":"198.51.100.7"}}`)
	})
}

// wantJSON compares JSON texts by value.
func wantJSON(t *testing.T, what string, got []byte, want string) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("%s: %v in %s", what, err, got)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("%s: bad want: %v", what, err)
	}
	gb, _ := json.Marshal(g)
	wb, _ := json.Marshal(w)
	if string(gb) != string(wb) {
		t.Errorf("%s =\n%s\nwant\n%s", what, gb, wb)
	}
}
