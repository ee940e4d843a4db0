package directory

import (
	"encoding/json"
	"errors"
	"reflect"
	"sort"
	"testing"

	"github.com/vigil-idp/vigil/internal/revocation"
	"github.com/vigil-idp/vigil/internal/store"
	"github.com/vigil-idp/vigil/ssf"
)

const (
	roleGlobalAdmin   = "62e90394-69f5-4237-9190-012177145e10"
	roleReportsReader = "4a5d8f65-41da-4de4-8968-e035b65339cf"
)

// claimsEvent is one token-claims-change as a test reads it back.
type claimsEvent struct {
	user   string
	claims map[string]any
}

// claimsEventsSince returns the outbox events after seq, checking that
// each is a well-formed token-claims-change of the last audit record.
func (f *fixture) claimsEventsSince(seq int64) []claimsEvent {
	f.t.Helper()
	es, err := f.backend().ListOutbox(f.ctx, seq, 1000)
	if err != nil {
		f.t.Fatal(err)
	}
	var out []claimsEvent
	if len(es) == 0 {
		return out
	}
	recs := f.audit()
	last := recs[len(recs)-1]
	for _, e := range es {
		var p revocation.Event
		if err := json.Unmarshal(e.Payload, &p); err != nil {
			f.t.Fatalf("event %d: %v", e.Seq, err)
		}
		var body struct {
			EventTimestamp   int64          `json:"event_timestamp"`
			InitiatingEntity string         `json:"initiating_entity"`
			Claims           map[string]any `json:"claims"`
		}
		if err := json.Unmarshal(p.Body, &body); err != nil {
			f.t.Fatalf("event %d body: %v", e.Seq, err)
		}
		at := f.clock.Now().Unix()
		switch {
		case e.Type != ssf.EventTokenClaimsChange || p.Type != e.Type:
			f.t.Fatalf("event %d type %q / %q", e.Seq, e.Type, p.Type)
		case e.UserID != p.Subject.UserID || e.SessionID != "" || p.Subject.SessionID != "":
			f.t.Fatalf("event %d subject %+v (row user %q)", e.Seq, p.Subject, e.UserID)
		case p.Txn != last.CorrelationID || p.Txn == "" || p.Cause != "claimsChanged":
			f.t.Fatalf("event %d txn %q cause %q, want the audit correlation id %q", e.Seq, p.Txn, p.Cause, last.CorrelationID)
		case p.InitiatingEntity != ssf.InitiatedByAdmin || body.InitiatingEntity != "admin":
			f.t.Fatalf("event %d initiating entity %q / %q", e.Seq, p.InitiatingEntity, body.InitiatingEntity)
		case p.EventTimestamp != at || body.EventTimestamp != at:
			f.t.Fatalf("event %d timestamp %d / %d, want %d", e.Seq, p.EventTimestamp, body.EventTimestamp, at)
		case !p.RevokedAt.IsZero() || len(p.Sessions) != 0:
			f.t.Fatalf("event %d revokes: %+v", e.Seq, p)
		}
		out = append(out, claimsEvent{user: e.UserID, claims: body.Claims})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].user < out[j].user })
	return out
}

func (f *fixture) lastSeq() int64 {
	f.t.Helper()
	n, err := f.backend().LastOutboxSeq(f.ctx)
	if err != nil {
		f.t.Fatal(err)
	}
	return n
}

// list is a JSON array of strings as json.Unmarshal renders it.
func list(ids ...string) []any {
	out := make([]any, len(ids))
	sorted := append([]string{}, ids...)
	sort.Strings(sorted)
	for i, id := range sorted {
		out[i] = id
	}
	return out
}

func wantClaims(t *testing.T, step string, got []claimsEvent, want ...claimsEvent) {
	t.Helper()
	sort.Slice(want, func(i, j int) bool { return want[i].user < want[j].user })
	if len(got) == 0 && len(want) == 0 {
		return
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%s: token-claims-change events\n got %v\nwant %v", step, got, want)
	}
}

func TestRoleAndMembershipChangesEmitTokenClaimsChange(t *testing.T) {
	each(t, func(f *fixture) {
		t := f.t
		f.ctx = WithInitiator(f.ctx, testAdmin)
		a, b, c := f.user("a@contoso.com"), f.user("b@contoso.com"), f.user("c@contoso.com")
		rg, g, inner := f.group("admins", true), f.group("plain", false), f.group("inner", false)
		_, sp := f.app("daemon")
		sessions := map[string]string{a.ID: f.liveSession(a.ID), b.ID: f.liveSession(b.ID), c.ID: f.liveSession(c.ID)}

		step := func(name string, do func() error, want ...claimsEvent) {
			t.Helper()
			seq := f.lastSeq()
			f.clock.Advance(1500 * 1e6) // 1.5 s: each step its own event_timestamp
			if err := do(); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			wantClaims(t, name, f.claimsEventsSince(seq), want...)
		}
		add := func(gid, mid string) func() error { return func() error { return f.AddMember(f.ctx, gid, mid) } }
		remove := func(gid, mid string) func() error { return func() error { return f.RemoveMember(f.ctx, gid, mid) } }
		var ids = map[string]string{}
		assign := func(key, p, role string) func() error {
			return func() error {
				ra, err := f.CreateRoleAssignment(f.ctx, p, role, "/")
				ids[key] = ra.ID
				return err
			}
		}
		unassign := func(key string) func() error { return func() error { return f.DeleteRoleAssignment(f.ctx, ids[key]) } }

		// Membership: the user's groups; of a role-assignable group, its wids too (none yet).
		step("a joins admins", add(rg.ID, a.ID), claimsEvent{a.ID, map[string]any{"groups": list(rg.ID)}})
		step("b joins admins", add(rg.ID, b.ID), claimsEvent{b.ID, map[string]any{"groups": list(rg.ID)}})
		step("c joins plain", add(g.ID, c.ID), claimsEvent{c.ID, map[string]any{"groups": list(g.ID)}})
		step("a group joins plain", add(g.ID, inner.ID)) // inner has no members
		step("a service principal joins plain", add(g.ID, sp.ID))

		// Roles: directly, to a role-assignable group (each member), to a service principal.
		step("c gets Global Administrator", assign("c-ga", c.ID, roleGlobalAdmin),
			claimsEvent{c.ID, map[string]any{"wids": list(roleGlobalAdmin)}})
		step("admins get Reports Reader", assign("rg-rr", rg.ID, roleReportsReader),
			claimsEvent{a.ID, map[string]any{"wids": list(roleReportsReader)}},
			claimsEvent{b.ID, map[string]any{"wids": list(roleReportsReader)}})
		step("a gets Reports Reader directly too", assign("a-rr", a.ID, roleReportsReader)) // wids unchanged
		step("the service principal gets a role", assign("sp-ga", sp.ID, roleGlobalAdmin))
		step("admins lose Reports Reader", unassign("rg-rr"), // a still holds it directly
			claimsEvent{b.ID, map[string]any{"wids": list()}})
		step("admins get Global Administrator", assign("rg-ga", rg.ID, roleGlobalAdmin),
			claimsEvent{a.ID, map[string]any{"wids": list(roleGlobalAdmin, roleReportsReader)}},
			claimsEvent{b.ID, map[string]any{"wids": list(roleGlobalAdmin)}})

		// Membership of a role-assignable group carries its roles.
		step("c joins admins", add(rg.ID, c.ID), // c already holds Global Administrator
			claimsEvent{c.ID, map[string]any{"groups": list(g.ID, rg.ID)}})
		step("b leaves admins", remove(rg.ID, b.ID),
			claimsEvent{b.ID, map[string]any{"groups": list(), "wids": list()}})
		step("b joins admins again", add(rg.ID, b.ID),
			claimsEvent{b.ID, map[string]any{"groups": list(rg.ID), "wids": list(roleGlobalAdmin)}})
		step("c leaves plain", remove(g.ID, c.ID), claimsEvent{c.ID, map[string]any{"groups": list(rg.ID)}})
		step("c loses its direct Global Administrator", unassign("c-ga")) // still held through admins
		step("the role leaves admins", unassign("rg-ga"),
			claimsEvent{a.ID, map[string]any{"wids": list(roleReportsReader)}},
			claimsEvent{b.ID, map[string]any{"wids": list()}},
			claimsEvent{c.ID, map[string]any{"wids": list()}})

		// Nesting: the users below a group gain or lose the groups above
		// it, and deleting a group takes it (and, role-assignable, its
		// roles) from every user below it.
		d, e := f.user("d@contoso.com"), f.user("e@contoso.com")
		outer, mid := f.group("outer", false), f.group("mid", false)
		del := func(gid string) func() error { return func() error { return f.DeleteGroup(f.ctx, gid) } }
		step("e joins mid", add(mid.ID, e.ID), claimsEvent{e.ID, map[string]any{"groups": list(mid.ID)}})
		step("d joins outer", add(outer.ID, d.ID), claimsEvent{d.ID, map[string]any{"groups": list(outer.ID)}})
		step("mid joins outer", add(outer.ID, mid.ID), claimsEvent{e.ID, map[string]any{"groups": list(mid.ID, outer.ID)}})
		step("mid joins plain", add(g.ID, mid.ID), claimsEvent{e.ID, map[string]any{"groups": list(g.ID, mid.ID, outer.ID)}})
		step("mid leaves outer", remove(outer.ID, mid.ID), claimsEvent{e.ID, map[string]any{"groups": list(g.ID, mid.ID)}})
		step("mid is deleted", del(mid.ID), claimsEvent{e.ID, map[string]any{"groups": list()}})
		step("admins get Reports Reader again", assign("rg-rr2", rg.ID, roleReportsReader), // a holds it directly
			claimsEvent{b.ID, map[string]any{"wids": list(roleReportsReader)}},
			claimsEvent{c.ID, map[string]any{"wids": list(roleReportsReader)}})
		step("admins is deleted", del(rg.ID),
			claimsEvent{a.ID, map[string]any{"groups": list()}},
			claimsEvent{b.ID, map[string]any{"groups": list(), "wids": list()}},
			claimsEvent{c.ID, map[string]any{"groups": list(), "wids": list()}})
		step("outer is deleted", del(outer.ID), claimsEvent{d.ID, map[string]any{"groups": list()}})

		// Nothing was taken away: T did not move, sessions live.
		for _, u := range []store.User{a, b, c} {
			got, err := f.GetUser(f.ctx, u.ID)
			if err != nil || !got.SignInSessionsValidFrom.Equal(u.SignInSessionsValidFrom) || !f.sessionLive(sessions[u.ID]) {
				t.Fatalf("%s after claims changes: T %v (was %v), %v, session live %v", u.UserPrincipalName, got.SignInSessionsValidFrom, u.SignInSessionsValidFrom, err, f.sessionLive(sessions[u.ID]))
			}
		}
	})
}

func TestFailedClaimsChangesLeaveNothing(t *testing.T) {
	each(t, func(f *fixture) {
		t := f.t
		f.ctx = WithInitiator(f.ctx, testAdmin)
		u := f.user("u@contoso.com")
		rg, other := f.group("admins", true), f.group("other", false)
		f.addMember(rg.ID, u.ID)
		kept, err := f.CreateRoleAssignment(f.ctx, rg.ID, roleReportsReader, "/")
		if err != nil {
			t.Fatal(err)
		}
		seq, audits := f.lastSeq(), len(f.audit())

		boom := errors.New("boom")
		real := f.Service.Store
		for _, fs := range []failingStore{{Store: f.backend(), outbox: boom}, {Store: f.backend(), audit: boom}} {
			f.Service.Store = fs
			if _, err := f.CreateRoleAssignment(f.ctx, u.ID, roleGlobalAdmin, "/"); !errors.Is(err, boom) {
				t.Fatalf("CreateRoleAssignment = %v, want boom", err)
			}
			if err := f.DeleteRoleAssignment(f.ctx, kept.ID); !errors.Is(err, boom) {
				t.Fatalf("DeleteRoleAssignment = %v, want boom", err)
			}
			if err := f.RemoveMember(f.ctx, rg.ID, u.ID); !errors.Is(err, boom) {
				t.Fatalf("RemoveMember = %v, want boom", err)
			}
			if err := f.AddMember(f.ctx, other.ID, u.ID); !errors.Is(err, boom) {
				t.Fatalf("AddMember = %v, want boom", err)
			}
			f.Service.Store = real
		}
		if n := f.lastSeq(); n != seq {
			t.Fatalf("outbox seq %d after failed writes, want %d", n, seq)
		}
		if n := len(f.audit()); n != audits {
			t.Fatalf("%d audit records after failed writes, want %d", n, audits)
		}
		roles, err := f.EffectiveRoles(f.ctx, u.ID)
		if err != nil || !reflect.DeepEqual(roles, []string{roleReportsReader}) {
			t.Fatalf("roles after failed writes: %v, %v", roles, err)
		}
		if as, err := f.ListRoleAssignments(f.ctx, u.ID, ""); err != nil || len(as) != 0 {
			t.Fatalf("direct assignments after failed writes: %v, %v", as, err)
		}
		if groups, err := transitiveGroupIDs(f.ctx, f.backend(), u.ID); err != nil || !reflect.DeepEqual(groups, []string{rg.ID}) {
			t.Fatalf("groups after failed writes: %v, %v", groups, err)
		}
	})
}
