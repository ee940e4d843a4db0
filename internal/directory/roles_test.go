package directory

import (
	"slices"
	"strings"
	"testing"

	"github.com/vigil-idp/vigil/internal/odata"
)

// requiredRoles are the 15 roles Vigil's revocation rules name, with the
// template ids and privileged flags Microsoft publishes in the "All roles"
// table of
// https://learn.microsoft.com/en-us/entra/identity/role-based-access-control/permissions-reference
// (MicrosoftDocs/entra-docs permissions-reference.md @00fe95d6), typed in
// here independently of role_catalogue.go.
var requiredRoles = []struct {
	name, id   string
	privileged bool
}{
	{"Global Administrator", "62e90394-69f5-4237-9190-012177145e10", true},
	{"Privileged Role Administrator", "e8611ab8-c189-46e8-94e1-60213ab1f814", true},
	{"Privileged Authentication Administrator", "7be44c8a-adaf-4e2a-84d6-ab2649e08a13", true},
	{"Authentication Administrator", "c4e39bd9-1100-46d3-8c65-fb160da0071f", true},
	{"User Administrator", "fe930be7-5e62-47db-91af-98c3a49a38b1", true},
	{"Helpdesk Administrator", "729827e3-9c14-49f7-bb1b-9608f156bbb8", true},
	{"Password Administrator", "966707d0-3269-4727-9be2-8c3a10f19b9d", true},
	{"Groups Administrator", "fdd7a751-b60b-444a-984c-02652fe8fa1c", false},
	{"Security Administrator", "194ae4cb-b126-40b2-bd5b-6091b380977d", true},
	{"Global Reader", "f2ef992c-3afb-46b9-b7cf-a126ee74c451", true},
	{"Directory Readers", "88d8e3e3-8f55-4a1e-953a-9b9898b8876b", false},
	{"Guest Inviter", "95e79109-95c0-4d8e-aee3-d01accf2d47b", false},
	{"Reports Reader", "4a5d8f65-41da-4de4-8968-e035b65339cf", false},
	{"Message Center Reader", "790c1fb9-7f7d-4f88-86a1-ef1f95c05c1b", false},
	{"Application Administrator", "9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3", true},
}

func TestRoleCatalogue(t *testing.T) {
	all := RoleDefinitions()
	t.Run("ids unique and GUID-shaped, names unique", func(t *testing.T) {
		ids, names := map[string]bool{}, map[string]bool{}
		for _, r := range all {
			if !odata.IsGUID(r.TemplateID) || r.TemplateID != strings.ToLower(r.TemplateID) {
				t.Errorf("%s: template id %q is not a lower-case GUID", r.DisplayName, r.TemplateID)
			}
			if ids[r.TemplateID] || names[r.DisplayName] {
				t.Errorf("duplicate role %s / %s", r.TemplateID, r.DisplayName)
			}
			ids[r.TemplateID], names[r.DisplayName] = true, true
			if r.ID != r.TemplateID || !r.IsBuiltIn || !r.IsEnabled || r.Description == "" {
				t.Errorf("%s: id %s, builtIn %v, enabled %v, description %q", r.DisplayName, r.ID, r.IsBuiltIn, r.IsEnabled, r.Description)
			}
		}
		if len(all) < len(requiredRoles) {
			t.Errorf("catalogue has %d roles", len(all))
		}
	})
	for _, want := range requiredRoles {
		t.Run(want.name, func(t *testing.T) {
			r, ok := RoleDefinitionByName(strings.ToUpper(want.name))
			if !ok {
				t.Fatalf("role %q missing", want.name)
			}
			if r.TemplateID != want.id || r.IsPrivileged != want.privileged {
				t.Errorf("got id %s privileged %v, want %s %v", r.TemplateID, r.IsPrivileged, want.id, want.privileged)
			}
			byID, ok := RoleDefinitionByID(strings.ToUpper(want.id))
			if !ok || byID.DisplayName != want.name {
				t.Errorf("RoleDefinitionByID(%s) = %v, %v", want.id, byID.DisplayName, ok)
			}
		})
	}
	t.Run("revocation actions", func(t *testing.T) {
		helpdesk, _ := RoleDefinitionByName("Helpdesk Administrator")
		pwAdmin, _ := RoleDefinitionByName("Password Administrator")
		if !slices.Contains(helpdesk.AllowedResourceActions, ActionInvalidateAllRefreshTokens) {
			t.Error("Helpdesk Administrator lacks invalidateAllRefreshTokens")
		}
		if slices.Contains(pwAdmin.AllowedResourceActions, ActionInvalidateAllRefreshTokens) || !slices.Contains(pwAdmin.AllowedResourceActions, ActionPasswordUpdate) {
			t.Errorf("Password Administrator actions = %v", pwAdmin.AllowedResourceActions)
		}
	})
	t.Run("copies are independent", func(t *testing.T) {
		r, _ := RoleDefinitionByName("Helpdesk Administrator")
		r.AllowedResourceActions[0] = "changed"
		again, _ := RoleDefinitionByName("Helpdesk Administrator")
		if again.AllowedResourceActions[0] == "changed" {
			t.Error("catalogue mutated through a returned copy")
		}
	})
	if _, ok := RoleDefinitionByID("00000000-0000-0000-0000-000000000000"); ok {
		t.Error("unknown role found")
	}
}

func TestRoleAssignments(t *testing.T) {
	const ga, helpdesk = "62e90394-69f5-4237-9190-012177145e10", "729827e3-9c14-49f7-bb1b-9608f156bbb8"
	each(t, func(f *fixture) {
		u := f.user("admin@contoso.com")
		ra, plain := f.group("tier0", true), f.group("everyone", false)
		_, sp := f.app("automation")
		missing := "00000000-0000-0000-0000-00000000f00d"
		tests := []struct {
			name                string
			principal, role, sc string
			kind                ErrorKind // 0: success
			msg                 string
		}{
			{"user", u.ID, ga, "/", 0, ""},
			{"service principal", sp.ID, helpdesk, "/", 0, ""},
			{"role-assignable group", ra.ID, strings.ToUpper(helpdesk), "/", 0, ""},
			{"duplicate", u.ID, ga, "/", KindConflict, msgConflictingValue},
			{"plain group", plain.ID, ga, "/", KindInvalid, "not role-assignable"},
			{"missing principal", missing, ga, "/", KindNotFound, notFoundMsg(missing)},
			{"unknown role", u.ID, missing, "/", KindInvalid, "not the id of a built-in directory role"},
			{"administrative unit scope", u.ID, helpdesk, "/administrativeUnits/x", KindInvalid, "only the tenant-wide scope '/'"},
			{"empty scope", u.ID, helpdesk, "", KindInvalid, "'directoryScopeId'"},
		}
		for _, tc := range tests {
			f.t.Run(tc.name, func(t *testing.T) {
				a, err := f.CreateRoleAssignment(f.ctx, tc.principal, tc.role, tc.sc)
				if tc.kind != 0 {
					wantErr(t, err, tc.kind, tc.msg)
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				if !odata.IsGUID(a.ID) || a.PrincipalID != tc.principal || a.RoleDefinitionID != strings.ToLower(tc.role) || a.DirectoryScopeID != "/" {
					t.Errorf("assignment = %+v", a)
				}
				got, err := f.GetRoleAssignment(f.ctx, a.ID)
				if err != nil || got.PrincipalKind != a.PrincipalKind {
					t.Errorf("GetRoleAssignment = %+v, %v", got, err)
				}
			})
		}
		t := f.t
		t.Run("kinds recorded", func(t *testing.T) {
			as, err := f.ListRoleAssignments(f.ctx, "", helpdesk)
			if err != nil || len(as) != 2 {
				t.Fatalf("helpdesk assignments = %v, %v", as, err)
			}
			kinds := []string{string(as[0].PrincipalKind), string(as[1].PrincipalKind)}
			if got := sorted(kinds); !slices.Equal(got, []string{"group", "servicePrincipal"}) {
				t.Errorf("kinds = %v", got)
			}
		})
		t.Run("effective roles include role-assignable group's", func(t *testing.T) {
			f.addMember(ra.ID, u.ID)
			got, err := f.EffectiveRoles(f.ctx, u.ID)
			if err != nil || !slices.Equal(got, sorted([]string{ga, helpdesk})) {
				t.Errorf("EffectiveRoles = %v, %v", got, err)
			}
		})
		t.Run("delete", func(t *testing.T) {
			as, _ := f.ListRoleAssignments(f.ctx, u.ID, ga)
			if len(as) != 1 {
				t.Fatalf("assignments %v", as)
			}
			if err := f.DeleteRoleAssignment(f.ctx, as[0].ID); err != nil {
				t.Fatal(err)
			}
			wantErr(t, f.DeleteRoleAssignment(f.ctx, as[0].ID), KindNotFound, notFoundMsg(as[0].ID))
			_, err := f.GetRoleAssignment(f.ctx, as[0].ID)
			wantErr(t, err, KindNotFound)
			got, _ := f.EffectiveRoles(f.ctx, u.ID)
			if !slices.Equal(got, []string{helpdesk}) {
				t.Errorf("EffectiveRoles after delete = %v", got)
			}
		})
	})
}

func TestDirectoryRoles(t *testing.T) {
	const reportsReader = "4a5d8f65-41da-4de4-8968-e035b65339cf"
	each(t, func(f *fixture) {
		t := f.t
		roles, err := f.ListDirectoryRoles(f.ctx)
		if err != nil || len(roles) != len(RoleDefinitions()) {
			t.Fatalf("ListDirectoryRoles = %d roles, %v", len(roles), err)
		}
		t.Run("ids stable, GUIDs, distinct from template ids, per tenant", func(t *testing.T) {
			again, _ := (&Service{Store: f.Store}).ListDirectoryRoles(f.ctx)
			other, _ := (&Service{Store: f.Store, TenantID: "other-tenant"}).ListDirectoryRoles(f.ctx)
			seen := map[string]bool{}
			for i, r := range roles {
				if !odata.IsGUID(r.ID) || r.ID == r.RoleTemplateID || seen[r.ID] {
					t.Errorf("role %s has id %s", r.DisplayName, r.ID)
				}
				seen[r.ID] = true
				if again[i] != r {
					t.Errorf("id not stable: %v vs %v", again[i], r)
				}
				if other[i].ID == r.ID {
					t.Errorf("tenant id not mixed into %s", r.DisplayName)
				}
			}
		})
		var rr DirectoryRole
		t.Run("get by id or template id", func(t *testing.T) {
			byTemplate, err := f.GetDirectoryRole(f.ctx, reportsReader)
			if err != nil || byTemplate.DisplayName != "Reports Reader" {
				t.Fatalf("by template id: %+v, %v", byTemplate, err)
			}
			byID, err := f.GetDirectoryRole(f.ctx, strings.ToUpper(byTemplate.ID))
			if err != nil || byID != byTemplate {
				t.Fatalf("by id: %+v, %v", byID, err)
			}
			rr = byID
			_, err = f.GetDirectoryRole(f.ctx, "00000000-0000-0000-0000-000000000000")
			wantErr(t, err, KindNotFound, notFoundMsg("00000000-0000-0000-0000-000000000000"))
		})
		t.Run("members are direct principals", func(t *testing.T) {
			u, inGroup := f.user("reader@contoso.com"), f.user("ingroup@contoso.com")
			g := f.group("readers", true)
			f.addMember(g.ID, inGroup.ID)
			_, sp := f.app("reporting")
			for _, p := range []string{u.ID, g.ID, sp.ID} {
				if _, err := f.CreateRoleAssignment(f.ctx, p, reportsReader, "/"); err != nil {
					t.Fatal(err)
				}
			}
			members, err := f.ListDirectoryRoleMembers(f.ctx, rr.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := sorted(memberIDs(members)), sorted([]string{u.ID, g.ID, sp.ID}); !slices.Equal(got, want) {
				t.Errorf("members = %v, want %v", got, want)
			}
			_, err = f.ListDirectoryRoleMembers(f.ctx, "nope")
			wantErr(t, err, KindNotFound)
		})
	})
}
