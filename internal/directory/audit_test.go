package directory

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/vigil-idp/vigil/internal/authz"
	"github.com/vigil-idp/vigil/internal/revocation"
	"github.com/vigil-idp/vigil/internal/store"
	"github.com/vigil-idp/vigil/ssf"
)

// backend is the fixture's store with its token and event aggregates.
func (f *fixture) backend() store.Store { return f.Store.(store.Store) }

// tick makes the clock advance a microsecond at every reading, so audit
// records sort in the order they were written.
func (f *fixture) tick() {
	f.Service.Now = func() time.Time { return f.clock.Advance(time.Microsecond) }
}

// audit returns the audit records, oldest first.
func (f *fixture) audit() []store.AuditRecord {
	f.t.Helper()
	p, err := f.backend().ListAudit(f.ctx, store.Query{Top: 1000})
	if err != nil {
		f.t.Fatal(err)
	}
	out := p.Items
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out
}

// sameSet reports whether got holds want's strings, in any order.
func sameSet(got []string, want ...string) bool {
	return slices.Equal(slices.Sorted(slices.Values(got)), slices.Sorted(slices.Values(want)))
}

func (f *fixture) activities() []string {
	var out []string
	for _, r := range f.audit() {
		out = append(out, r.ActivityDisplayName)
	}
	return out
}

func (f *fixture) events() []store.OutboxEvent {
	f.t.Helper()
	es, err := f.backend().ListOutbox(f.ctx, 0, 1000)
	if err != nil {
		f.t.Fatal(err)
	}
	return es
}

func eventTypes(es []store.OutboxEvent) []string {
	var out []string
	for _, e := range es {
		out = append(out, e.Type)
	}
	return out
}

// liveSession gives userID a live SSO session.
func (f *fixture) liveSession(userID string) string {
	f.t.Helper()
	s := store.Session{ID: uuid.NewString(), UserID: userID, CreatedAt: t0, AuthTime: t0, LastActiveAt: t0}
	if err := f.backend().CreateSession(f.ctx, s); err != nil {
		f.t.Fatal(err)
	}
	return s.ID
}

func (f *fixture) sessionLive(id string) bool {
	f.t.Helper()
	s, err := f.backend().GetSession(f.ctx, id)
	if err != nil {
		f.t.Fatal(err)
	}
	return s.RevokedAt == nil
}

var testAdmin = revocation.Initiator{
	Principal:         &authz.Principal{Kind: authz.Delegated, ObjectID: "aaaaaaaa-0000-0000-0000-000000000001", RoleTemplateIDs: []string{"62e90394-69f5-4237-9190-012177145e10"}},
	UserPrincipalName: "admin@contoso.com", DisplayName: "Admin", IPAddress: "203.0.113.9",
}

func TestEveryWriteIsAudited(t *testing.T) {
	each(t, func(f *fixture) {
		t := f.t
		f.tick()
		ctx := WithInitiator(f.ctx, testAdmin)
		f.ctx = ctx
		must := func(err error) {
			t.Helper()
			if err != nil {
				t.Fatal(err)
			}
		}
		u := f.user("audit@contoso.com")
		_, err := f.UpdateUser(ctx, u.ID, UserInput{DisplayName: Some("Renamed"), JobTitle: Some("CFO")})
		must(err)
		g := f.group("auditors", false)
		_, err = f.UpdateGroup(ctx, g.ID, GroupInput{Description: Some("people who audit")})
		must(err)
		f.addMember(g.ID, u.ID)
		must(f.RemoveMember(ctx, g.ID, u.ID))
		a, err := f.CreateRoleAssignment(ctx, u.ID, "fe930be7-5e62-47db-91af-98c3a49a38b1", "/")
		must(err)
		must(f.DeleteRoleAssignment(ctx, a.ID))
		app, sp := f.app("audited app")
		_, err = f.UpdateApplication(ctx, app.ID, ApplicationInput{DisplayName: Some("renamed app")})
		must(err)
		sec, err := f.AddPassword(ctx, app.ID, "ci", time.Time{})
		must(err)
		must(f.RemovePassword(ctx, app.ID, sec.Credential.KeyID))
		must(f.EnsureBuiltins(ctx))
		grant, err := f.GrantAppPermission(ctx, sp.ID, authz.GraphAppID, "User.Read.All")
		must(err)
		must(f.RevokeAppRoleAssignment(ctx, sp.ID, grant.ID))
		must(f.DeleteApplication(ctx, app.ID))
		must(f.DeleteGroup(ctx, g.ID))
		must(f.DeleteUser(ctx, u.ID))

		want := []string{
			"Add user", "Update user", "Add group", "Update group", "Add member to group", "Remove member from group",
			"Add member to role", "Remove member from role", "Add application", "Add service principal", "Update application",
			"Update application – Certificates and secrets management", "Update application – Certificates and secrets management",
			"Add service principal", "Add service principal", // EnsureBuiltins: Graph and Vigil
			"Add app role assignment to service principal", "Remove app role assignment from service principal",
			"Remove service principal", "Delete application", "Delete group", "Delete user",
		}
		records := f.audit()
		if got := f.activities(); strings.Join(got, "|") != strings.Join(want, "|") {
			t.Fatalf("activities =\n%q\nwant\n%q", got, want)
		}
		for _, r := range records {
			if r.InitiatorUserID != testAdmin.Principal.ObjectID || r.Result != "success" || r.LoggedByService != "Core Directory" || len(r.TargetIDs) == 0 {
				t.Errorf("record %q: %+v", r.ActivityDisplayName, r)
			}
		}
		var targets []struct {
			ID                 string                        `json:"id"`
			ModifiedProperties []revocation.ModifiedProperty `json:"modifiedProperties"`
		}
		if err := json.Unmarshal(records[1].TargetResources, &targets); err != nil {
			t.Fatal(err)
		}
		mods := targets[0].ModifiedProperties
		wantMods := []revocation.ModifiedProperty{
			{DisplayName: "DisplayName", OldValue: `["User audit@contoso.com"]`, NewValue: `["Renamed"]`},
			{DisplayName: "JobTitle", OldValue: `[]`, NewValue: `["CFO"]`},
			{DisplayName: "Included Updated Properties", OldValue: "", NewValue: `"DisplayName, JobTitle"`},
		}
		if len(mods) != len(wantMods) || targets[0].ID != u.ID {
			t.Fatalf("Update user targets = %+v", targets)
		}
		for i := range mods {
			if mods[i] != wantMods[i] {
				t.Errorf("modifiedProperties[%d] = %+v, want %+v", i, mods[i], wantMods[i])
			}
		}
		for _, r := range records {
			if strings.Contains(string(r.TargetResources), sec.SecretText) {
				t.Fatal("a client secret reached the audit log")
			}
		}
	})
}

func TestAccountChangesRevokeAndEmit(t *testing.T) {
	each(t, func(f *fixture) {
		t := f.t
		f.ctx = WithInitiator(f.ctx, testAdmin)
		f.tick()
		u := f.user("leaver@contoso.com")
		sid := f.liveSession(u.ID)
		f.clock.Set(t0.Add(time.Hour))

		disabled, err := f.UpdateUser(f.ctx, u.ID, UserInput{AccountEnabled: Some(false)})
		if err != nil {
			t.Fatal(err)
		}
		if disabled.AccountEnabled || disabled.SignInSessionsValidFrom.Before(t0.Add(time.Hour)) || f.sessionLive(sid) {
			t.Fatalf("after disable: %+v, session live %v", disabled, f.sessionLive(sid))
		}
		records := f.audit()
		if got := f.activities(); strings.Join(got, "|") != "Add user|Update user|Disable account" || records[1].CorrelationID != records[2].CorrelationID {
			t.Fatalf("audit after disable = %q (correlations %s, %s)", got, records[1].CorrelationID, records[2].CorrelationID)
		}
		es := f.events()
		if got := eventTypes(es); len(got) != 2 || got[0] != ssf.EventAccountDisabled || got[1] != ssf.EventSessionRevoked {
			t.Fatalf("events after disable = %q", got)
		}

		f.clock.Set(t0.Add(2 * time.Hour))
		if _, err := f.UpdateUser(f.ctx, u.ID, UserInput{AccountEnabled: Some(true)}); err != nil {
			t.Fatal(err)
		}
		if got := eventTypes(f.events()[2:]); len(got) != 1 || got[0] != ssf.EventAccountEnabled {
			t.Fatalf("events after enable = %q", got)
		}

		sid = f.liveSession(u.ID)
		f.clock.Set(t0.Add(3 * time.Hour))
		reset, err := f.UpdateUser(f.ctx, u.ID, UserInput{PasswordProfile: Some(PasswordProfile{Password: "N3w-Passw0rd!"})})
		if err != nil {
			t.Fatal(err)
		}
		if reset.SignInSessionsValidFrom.Before(t0.Add(3*time.Hour)) || !reset.RefreshTokensValidFrom.Equal(reset.SignInSessionsValidFrom) || f.sessionLive(sid) {
			t.Fatalf("after password reset: %+v", reset)
		}
		if got := eventTypes(f.events()[3:]); len(got) != 2 || got[0] != ssf.EventCredentialChange {
			t.Fatalf("events after password reset = %q", got)
		}
		// As Entra: the reset, and the move of T on its own (both at the
		// same instant, in either order).
		if acts := f.activities(); !sameSet(acts[len(acts)-2:], "Reset user password", revocation.ActivityRevokeSessions) {
			t.Fatalf("activities = %q", acts)
		}

		// The user changing their own password.
		self := revocation.Initiator{Principal: &authz.Principal{Kind: authz.Delegated, ObjectID: u.ID}}
		if _, err := f.UpdateUser(WithInitiator(context.Background(), self), u.ID, UserInput{PasswordProfile: Some(PasswordProfile{Password: "An0ther-Passw0rd!"})}); err != nil {
			t.Fatal(err)
		}
		if acts := f.activities(); !sameSet(acts[len(acts)-2:], "Change user password", revocation.ActivityRevokeSessions) {
			t.Fatalf("activities = %q", acts)
		}

		sid = f.liveSession(u.ID)
		if err := f.DeleteUser(f.ctx, u.UserPrincipalName); err != nil {
			t.Fatal(err)
		}
		es = f.events()
		last := es[len(es)-2:]
		if last[0].Type != ssf.EventAccountPurged || last[1].Type != ssf.EventSessionRevoked {
			t.Fatalf("events after delete = %q", eventTypes(last))
		}
		var p revocation.Event
		if err := json.Unmarshal(last[1].Payload, &p); err != nil || len(p.Sessions) != 1 || p.Sessions[0].ID != sid {
			t.Fatalf("session-revoked of the deleted user = %+v (%v)", p, err)
		}
	})
}

func TestInitiatorFallbacks(t *testing.T) {
	each(t, func(f *fixture) {
		t := f.t
		f.tick()
		p := &authz.Principal{Kind: authz.AppOnly, ClientID: "bbbbbbbb-0000-0000-0000-000000000002", ObjectID: "cccccccc-0000-0000-0000-000000000003"}
		f.ctx = authz.WithPrincipal(context.Background(), p)
		f.user("byapp@contoso.com")
		f.ctx = context.Background()
		f.user("bysystem@contoso.com")
		rs := f.audit()
		if rs[0].InitiatorAppID != p.ClientID || !strings.Contains(string(rs[0].InitiatedBy), p.ObjectID) {
			t.Errorf("app-attributed record: %+v %s", rs[0], rs[0].InitiatedBy)
		}
		if rs[1].InitiatorAppID != "" || rs[1].InitiatorUserID != "" || !strings.Contains(string(rs[1].InitiatedBy), revocation.SystemDisplayName) {
			t.Errorf("system-attributed record: %+v %s", rs[1], rs[1].InitiatedBy)
		}
	})
}

// failingStore fails the transactions' AppendAudit or AppendOutbox.
type failingStore struct {
	store.Store
	audit, outbox error
}

func (s failingStore) InTx(ctx context.Context, fn func(tx store.Tx) error) error {
	return s.Store.InTx(ctx, func(tx store.Tx) error { return fn(failingTx{tx, s.audit, s.outbox}) })
}

type failingTx struct {
	store.Tx
	audit, outbox error
}

func (t failingTx) AppendAudit(ctx context.Context, rs ...store.AuditRecord) error {
	if t.audit != nil {
		return t.audit
	}
	return t.Tx.AppendAudit(ctx, rs...)
}

func (t failingTx) AppendOutbox(ctx context.Context, es ...store.OutboxEvent) ([]int64, error) {
	if t.outbox != nil {
		return nil, t.outbox
	}
	return t.Tx.AppendOutbox(ctx, es...)
}

func TestFailedWritesLeaveNoAuditOrEvents(t *testing.T) {
	each(t, func(f *fixture) {
		t := f.t
		u := f.user("kept@contoso.com")
		sid := f.liveSession(u.ID)
		g := f.group("kept", false)
		before := len(f.audit())

		// A write the store refuses leaves no record.
		_, err := f.CreateUser(f.ctx, UserInput{AccountEnabled: Some(true), DisplayName: Some("dup"), UserPrincipalName: Some("KEPT@contoso.com"), MailNickname: Some("dup")})
		wantErr(t, err, KindConflict)
		f.addMember(g.ID, u.ID)
		wantErr(t, f.AddMember(f.ctx, g.ID, u.ID), KindConflict)
		wantErr(t, f.RemoveMember(f.ctx, g.ID, "00000000-0000-0000-0000-00000000dead"), KindNotFound)
		if n := len(f.audit()); n != before+1 {
			t.Fatalf("%d audit records after refused writes, want %d", n, before+1)
		}

		// A failing audit or outbox append undoes the write.
		boom := errors.New("boom")
		real := f.Service.Store
		defer func() { f.Service.Store = real }()
		f.Service.Store = failingStore{Store: f.backend(), audit: boom}
		if _, err := f.CreateGroup(f.ctx, GroupInput{DisplayName: Some("lost"), MailNickname: Some("lost"), MailEnabled: Some(false), SecurityEnabled: Some(true)}); !errors.Is(err, boom) {
			t.Fatalf("CreateGroup with failing audit = %v", err)
		}
		f.Service.Store = failingStore{Store: f.backend(), outbox: boom}
		if _, err := f.UpdateUser(f.ctx, u.ID, UserInput{AccountEnabled: Some(false), DisplayName: Some("gone")}); !errors.Is(err, boom) {
			t.Fatalf("disable with failing outbox = %v", err)
		}
		if err := f.DeleteUser(f.ctx, u.ID); !errors.Is(err, boom) {
			t.Fatalf("delete with failing outbox = %v", err)
		}
		f.Service.Store = real
		got, err := f.GetUser(f.ctx, u.ID)
		if err != nil || !got.AccountEnabled || got.DisplayName != u.DisplayName || !got.SignInSessionsValidFrom.Equal(u.SignInSessionsValidFrom) || !f.sessionLive(sid) {
			t.Fatalf("user after failed writes: %+v, %v, session live %v", got, err, f.sessionLive(sid))
		}
		if n, err := f.CountGroups(f.ctx, store.Query{}); err != nil || n != 1 {
			t.Fatalf("%d groups (%v), want 1", n, err)
		}
		if n := len(f.audit()); n != before+1 {
			t.Fatalf("%d audit records, want %d", n, before+1)
		}
		// Only the successful AddMember's token-claims-change.
		if es := f.events(); len(es) != 1 || es[0].Type != ssf.EventTokenClaimsChange {
			t.Fatalf("events after failed writes: %q", eventTypes(es))
		}
	})
}
