package directory

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/vigil-idp/vigil/internal/odata"
	"github.com/vigil-idp/vigil/internal/store"
)

func validGroup() GroupInput {
	return GroupInput{
		DisplayName:     Some("Engineering"),
		MailNickname:    Some("eng"),
		MailEnabled:     Some(false),
		SecurityEnabled: Some(true),
	}
}

func TestCreateGroupValidation(t *testing.T) {
	tests := []struct {
		name string
		edit func(*GroupInput)
		msg  []string
	}{
		{"missing displayName", func(g *GroupInput) { g.DisplayName = Optional[string]{} }, []string{"'displayName' is required"}},
		{"missing mailNickname", func(g *GroupInput) { g.MailNickname = Optional[string]{} }, []string{"'mailNickname' is required"}},
		{"missing mailEnabled", func(g *GroupInput) { g.MailEnabled = Optional[bool]{} }, []string{"'mailEnabled' is required"}},
		{"missing securityEnabled", func(g *GroupInput) { g.SecurityEnabled = Optional[bool]{} }, []string{"'securityEnabled' is required"}},
		{"null isAssignableToRole", func(g *GroupInput) { g.IsAssignableToRole = Null[bool]() }, []string{"'isAssignableToRole'", "null"}},
		{"displayName too long", func(g *GroupInput) { g.DisplayName = Some(strings.Repeat("x", 257)) }, []string{"'displayName'", "256"}},
		{"description too long", func(g *GroupInput) { g.Description = Some(strings.Repeat("x", 1025)) }, []string{"'description'", "1024"}},
		{"mailNickname with @", func(g *GroupInput) { g.MailNickname = Some("eng@x") }, []string{"'mailNickname'"}},
		{"dynamic membership", func(g *GroupInput) { g.GroupTypes = Some([]string{"DynamicMembership"}) }, []string{"'groupTypes'", "static", "DynamicMembership"}},
		{"unknown group type", func(g *GroupInput) { g.GroupTypes = Some([]string{"Distribution"}) }, []string{"'groupTypes'", "'Unified'"}},
		{"duplicate group type", func(g *GroupInput) {
			g.GroupTypes = Some([]string{"Unified", "Unified"})
			g.MailEnabled = Some(true)
		}, []string{"'groupTypes'", "duplicate"}},
		{"mail-enabled security group", func(g *GroupInput) { g.MailEnabled = Some(true) }, []string{"'mailEnabled'", "Microsoft 365"}},
		{"unified not mail-enabled", func(g *GroupInput) { g.GroupTypes = Some([]string{"Unified"}) }, []string{"'mailEnabled'", "must be mail-enabled"}},
		{"role-assignable not security", func(g *GroupInput) {
			g.IsAssignableToRole = Some(true)
			g.SecurityEnabled = Some(false)
			g.GroupTypes = Some([]string{"Unified"})
			g.MailEnabled = Some(true)
		}, []string{"'isAssignableToRole'", "securityEnabled"}},
	}
	each(t, func(f *fixture) {
		for _, tc := range tests {
			f.t.Run(tc.name, func(t *testing.T) {
				in := validGroup()
				tc.edit(&in)
				_, err := f.CreateGroup(f.ctx, in)
				wantErr(t, err, KindInvalid, tc.msg...)
			})
		}
		f.t.Run("unified group accepted", func(t *testing.T) {
			in := validGroup()
			in.GroupTypes = Some([]string{"Unified"})
			in.MailEnabled = Some(true)
			g, err := f.CreateGroup(f.ctx, in)
			if err != nil || !odata.IsGUID(g.ID) || !g.CreatedDateTime.Equal(t0) || !slices.Equal(g.GroupTypes, []string{"Unified"}) {
				t.Fatalf("CreateGroup = %+v, %v", g, err)
			}
		})
	})
}

func TestUpdateGroup(t *testing.T) {
	each(t, func(f *fixture) {
		ra := f.group("admins", true)
		plain := f.group("plain", false)
		tests := []struct {
			name string
			id   string
			in   GroupInput
			kind ErrorKind
			msg  string
		}{
			{"make role-assignable later", plain.ID, GroupInput{IsAssignableToRole: Some(true)}, KindInvalid, "only be set when the group is created"},
			{"drop role-assignable", ra.ID, GroupInput{IsAssignableToRole: Some(false)}, KindInvalid, "only be set when the group is created"},
			{"role-assignable loses securityEnabled", ra.ID, GroupInput{SecurityEnabled: Some(false)}, KindInvalid, "securityEnabled"},
			{"dynamic", plain.ID, GroupInput{GroupTypes: Some([]string{"DynamicMembership"})}, KindInvalid, "DynamicMembership"},
			{"missing group", "00000000-0000-0000-0000-0000000000aa", GroupInput{DisplayName: Some("x")}, KindNotFound, notFoundMsg("00000000-0000-0000-0000-0000000000aa")},
		}
		for _, tc := range tests {
			f.t.Run(tc.name, func(t *testing.T) {
				_, err := f.UpdateGroup(f.ctx, tc.id, tc.in)
				wantErr(t, err, tc.kind, tc.msg)
			})
		}
		f.t.Run("same isAssignableToRole and new description", func(t *testing.T) {
			g, err := f.UpdateGroup(f.ctx, ra.ID, GroupInput{IsAssignableToRole: Some(true), Description: Some("Tier 0")})
			if err != nil || !g.IsAssignableToRole || g.Description == nil || *g.Description != "Tier 0" {
				t.Fatalf("UpdateGroup = %+v, %v", g, err)
			}
			g, err = f.UpdateGroup(f.ctx, ra.ID, GroupInput{Description: Null[string]()})
			if err != nil || g.Description != nil {
				t.Fatalf("clear description = %+v, %v", g, err)
			}
		})
	})
}

func TestMembership(t *testing.T) {
	each(t, func(f *fixture) {
		u := f.user("member@contoso.com")
		_, sp := f.app("member app")
		a, b, c, d := f.group("a", false), f.group("b", false), f.group("c", false), f.group("d", false)
		ra := f.group("role-assignable", true)
		missing := "00000000-0000-0000-0000-00000000beef"
		// a ⊃ b ⊃ c ⊃ d, a ⊃ user, a ⊃ sp
		f.addMember(a.ID, b.ID)
		f.addMember(b.ID, c.ID)
		f.addMember(c.ID, d.ID)
		f.addMember(a.ID, u.ID)
		f.addMember(d.ID, sp.ID)
		f.addMember(ra.ID, u.ID)
		f.addMember(ra.ID, sp.ID)

		refused := []struct {
			name          string
			group, member string
			kind          ErrorKind
			msg           string
		}{
			{"self", a.ID, a.ID, KindInvalid, "member of itself"},
			{"direct cycle", b.ID, a.ID, KindInvalid, "cycle"},
			{"deep cycle", d.ID, a.ID, KindInvalid, "cycle"},
			{"cycle through middle", c.ID, b.ID, KindInvalid, "cycle"},
			{"group into role-assignable group", ra.ID, d.ID, KindInvalid, "role-assignable groups cannot contain other groups"},
			{"duplicate user", a.ID, u.ID, KindConflict, "One or more added object references already exist for the following modified properties: 'members'."},
			{"duplicate group", a.ID, b.ID, KindConflict, "'members'"},
			{"missing member", a.ID, missing, KindNotFound, notFoundMsg(missing)},
			{"non-GUID member", a.ID, "nobody", KindNotFound, notFoundMsg("nobody")},
			{"missing group", missing, u.ID, KindNotFound, notFoundMsg(missing)},
		}
		for _, tc := range refused {
			f.t.Run("refuse "+tc.name, func(t *testing.T) {
				wantErr(t, f.AddMember(f.ctx, tc.group, tc.member), tc.kind, tc.msg)
			})
		}
		t := f.t
		t.Run("role-assignable group may be nested in a plain group", func(t *testing.T) {
			f.addMember(d.ID, ra.ID)
		})
		t.Run("direct and transitive members", func(t *testing.T) {
			direct, err := f.ListMembers(f.ctx, a.ID, false, store.Query{})
			if err != nil {
				t.Fatal(err)
			}
			if got, want := sorted(memberIDs(direct.Items)), sorted([]string{b.ID, u.ID}); !slices.Equal(got, want) {
				t.Errorf("direct members = %v, want %v", got, want)
			}
			trans, err := f.ListMembers(f.ctx, a.ID, true, store.Query{})
			if err != nil {
				t.Fatal(err)
			}
			if got, want := sorted(memberIDs(trans.Items)), sorted([]string{b.ID, c.ID, d.ID, u.ID, sp.ID, ra.ID}); !slices.Equal(got, want) {
				t.Errorf("transitive members = %v, want %v", got, want)
			}
			if n, err := f.CountMembers(f.ctx, a.ID, true); err != nil || n != 6 {
				t.Errorf("CountMembers transitive = %d, %v; want 6", n, err)
			}
			_, err = f.ListMembers(f.ctx, missing, false, store.Query{})
			wantErr(t, err, KindNotFound, notFoundMsg(missing))
			_, err = f.CountMembers(f.ctx, missing, true)
			wantErr(t, err, KindNotFound, notFoundMsg(missing))
		})
		t.Run("remove", func(t *testing.T) {
			if err := f.RemoveMember(f.ctx, c.ID, d.ID); err != nil {
				t.Fatal(err)
			}
			wantErr(t, f.RemoveMember(f.ctx, c.ID, d.ID), KindNotFound, notFoundMsg(d.ID))
			wantErr(t, f.RemoveMember(f.ctx, missing, d.ID), KindNotFound, notFoundMsg(missing))
			// With c ⊅ d, d may now contain a.
			f.addMember(d.ID, a.ID)
		})
		t.Run("delete group cascades", func(t *testing.T) {
			if err := f.DeleteGroup(f.ctx, b.ID); err != nil {
				t.Fatal(err)
			}
			direct, err := f.ListMembers(f.ctx, a.ID, false, store.Query{})
			if err != nil || slices.Contains(memberIDs(direct.Items), b.ID) {
				t.Errorf("deleted group still a member: %v, %v", memberIDs(direct.Items), err)
			}
			wantErr(t, f.DeleteGroup(f.ctx, b.ID), KindNotFound, notFoundMsg(b.ID))
			if _, err := f.GetGroup(f.ctx, b.ID); !IsKind(err, KindNotFound) {
				t.Errorf("GetGroup after delete: %v", err)
			}
		})
	})
}

// TestConcurrentNestingCannotCycle races A→B against B→A many times: the
// check and the insert share one transaction, so at most one may win.
func TestConcurrentNestingCannotCycle(t *testing.T) {
	each(t, func(f *fixture) {
		for i := range 20 {
			x, y := f.group("x", false), f.group("y", false)
			var wg sync.WaitGroup
			errs := make([]error, 2)
			for j, pair := range [][2]string{{x.ID, y.ID}, {y.ID, x.ID}} {
				wg.Add(1)
				go func() {
					defer wg.Done()
					errs[j] = f.AddMember(context.Background(), pair[0], pair[1])
				}()
			}
			wg.Wait()
			ok := 0
			for _, err := range errs {
				switch {
				case err == nil:
					ok++
				case !IsKind(err, KindInvalid):
					f.t.Fatalf("round %d: unexpected error %v", i, err)
				}
			}
			if ok != 1 {
				f.t.Fatalf("round %d: %d of 2 opposite nestings succeeded (%v), want exactly 1", i, ok, errs)
			}
		}
	})
}

func TestListMemberOf(t *testing.T) {
	each(t, func(f *fixture) {
		t := f.t
		const userAdmin, reader = "fe930be7-5e62-47db-91af-98c3a49a38b1", "88d8e3e3-8f55-4a1e-953a-9b9898b8876b"
		u := f.user("memberof@contoso.com")
		plain, ra := f.group("plain", false), f.group("tier1", true)
		f.addMember(plain.ID, u.ID)
		f.addMember(ra.ID, u.ID)
		for _, p := range [][2]string{{u.ID, reader}, {ra.ID, userAdmin}} {
			if _, err := f.CreateRoleAssignment(f.ctx, p[0], p[1], "/"); err != nil {
				t.Fatal(err)
			}
		}
		split := func(p store.Page[MemberOfObject]) (groups, roles []string) {
			for _, o := range p.Items {
				if o.Group != nil {
					groups = append(groups, o.Group.ID)
				} else {
					roles = append(roles, o.Role.RoleTemplateID)
				}
			}
			return sorted(groups), sorted(roles)
		}
		tests := []struct {
			name       string
			key        string
			transitive bool
			groups     []string
			roles      []string
		}{
			{"user direct", u.ID, false, []string{plain.ID, ra.ID}, []string{reader}},
			{"user by UPN transitive", "memberof@contoso.com", true, []string{plain.ID, ra.ID}, []string{reader, userAdmin}},
			{"group direct", ra.ID, false, nil, []string{userAdmin}},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				p, err := f.ListMemberOf(f.ctx, tc.key, tc.transitive, store.Query{})
				if err != nil {
					t.Fatal(err)
				}
				groups, roles := split(p)
				if !slices.Equal(groups, sorted(tc.groups)) || !slices.Equal(roles, sorted(tc.roles)) {
					t.Errorf("groups %v roles %v, want %v %v", groups, roles, sorted(tc.groups), sorted(tc.roles))
				}
			})
		}
		t.Run("missing object", func(t *testing.T) {
			_, err := f.ListMemberOf(f.ctx, "00000000-0000-0000-0000-000000000123", false, store.Query{})
			wantErr(t, err, KindNotFound, notFoundMsg("00000000-0000-0000-0000-000000000123"))
		})
	})
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}
