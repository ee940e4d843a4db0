package authz

import (
	"regexp"
	"strings"
	"testing"
)

var guidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

func TestCatalogueShape(t *testing.T) {
	for _, r := range Resources() {
		t.Run(r.DisplayName, func(t *testing.T) {
			if !guidRE.MatchString(r.AppID) {
				t.Errorf("AppID %q is not a lower-case GUID", r.AppID)
			}
			ids := map[string]string{}
			for _, p := range r.Permissions() {
				if p.Name == "" || p.Description == "" {
					t.Errorf("%+v: empty name or description", p)
				}
				if p.AppRoleID == "" && p.ScopeID == "" {
					t.Errorf("%s has neither an app role nor a scope id", p.Name)
				}
				if p.AppRoleID != "" && p.ScopeID == "" && !p.AdminConsentRequired {
					t.Errorf("%s: application-only permission must require admin consent", p.Name)
				}
				for _, id := range []string{p.AppRoleID, p.ScopeID} {
					if id == "" {
						continue
					}
					if !guidRE.MatchString(id) {
						t.Errorf("%s: id %q is not a lower-case GUID", p.Name, id)
					}
					if other, dup := ids[id]; dup {
						t.Errorf("id %s used by %s and %s", id, other, p.Name)
					}
					ids[id] = p.Name
				}
			}
		})
	}
	if n := len(GraphPermissions()); n != 23 {
		t.Errorf("GraphPermissions: %d entries, want the 22 of graph-permissions.json plus AppRoleAssignment.ReadWrite.All", n)
	}
}

// TestGraphIDs spot-checks ids quoted in the design reference
// (entra-revocation.md §2.1, graph-permissions.json) against every lookup.
func TestGraphIDs(t *testing.T) {
	tests := []struct {
		name, appRole, scope string
		admin                bool
	}{
		{"User.RevokeSessions.All", "77f3a031-c388-4f99-b373-dc68676a979e", "fc30e98b-8810-4501-81f5-c20a3196387b", true},
		{"User.Read.All", "df021288-bdef-4463-88db-98f22de89214", "a154be20-db9c-4678-8ab7-66f6cc099a59", true},
		{"User.Read", "", "e1fe6dd8-ba31-4d61-89e7-88639da4683d", false},
		{"User.ReadBasic.All", "97235f07-e226-4f63-ace3-39588e11d3a1", "b340eb25-3456-403f-be2f-af7a0d370277", false},
		{"Directory.AccessAsUser.All", "", "0e263e50-5827-48a4-b97c-d940288653c7", true},
		{"offline_access", "", "7427e0e9-2fba-42fe-b0c0-848c9e6a8182", false},
		{"RoleManagement.ReadWrite.Directory", "9e3f62cf-ca93-4989-b6ce-bf83c28f9fe8", "d01b97e9-cbc0-49fe-810a-750afd5527a3", true},
		{"AppRoleAssignment.ReadWrite.All", "06b708a9-e830-4db3-a914-8e69da51d44f", "84bccea3-f856-4a8a-967b-dbe0a3d53a64", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, name := range []string{tt.name, strings.ToUpper(tt.name), strings.ToLower(tt.name)} {
				p, ok := GraphPermissionByName(name)
				if !ok || p.Name != tt.name || p.AppRoleID != tt.appRole || p.ScopeID != tt.scope || p.AdminConsentRequired != tt.admin {
					t.Fatalf("GraphPermissionByName(%q) = %+v, %v", name, p, ok)
				}
			}
			if p, ok := GraphPermissionByAppRoleID(tt.appRole); ok != (tt.appRole != "") || (ok && p.Name != tt.name) {
				t.Errorf("GraphPermissionByAppRoleID(%q) = %+v, %v", tt.appRole, p, ok)
			}
			if p, ok := GraphPermissionByAppRoleID(strings.ToUpper(tt.appRole)); ok != (tt.appRole != "") || (ok && p.Name != tt.name) {
				t.Errorf("GraphPermissionByAppRoleID(upper %q) = %+v, %v", tt.appRole, p, ok)
			}
			if p, ok := GraphPermissionByScopeID(tt.scope); !ok || p.Name != tt.name {
				t.Errorf("GraphPermissionByScopeID(%q) = %+v, %v", tt.scope, p, ok)
			}
			// An app role id is never found as a scope id and vice versa.
			if _, ok := GraphPermissionByScopeID(tt.appRole); ok {
				t.Errorf("app role id %s found as a scope id", tt.appRole)
			}
			if _, ok := GraphPermissionByAppRoleID(tt.scope); ok {
				t.Errorf("scope id %s found as an app role id", tt.scope)
			}
		})
	}
}

func TestLookupMisses(t *testing.T) {
	for _, key := range []string{"", "User.Read.All ", "Nope.Read.All", "00000000-0000-0000-0000-000000000000"} {
		if p, ok := GraphPermissionByName(key); ok {
			t.Errorf("GraphPermissionByName(%q) = %+v", key, p)
		}
		if p, ok := GraphPermissionByAppRoleID(key); ok {
			t.Errorf("GraphPermissionByAppRoleID(%q) = %+v", key, p)
		}
		if p, ok := VigilPermissionByScopeID(key); ok {
			t.Errorf("VigilPermissionByScopeID(%q) = %+v", key, p)
		}
	}
	var zero Resource
	if _, ok := zero.PermissionByName("User.Read"); ok {
		t.Error("zero Resource found a permission")
	}
}

func TestVigilCatalogue(t *testing.T) {
	for _, name := range []string{
		PermRevocationsReadWriteAll, PermRevocationsReadAll, PermPoliciesReadWriteAll,
		PermSessionsReadWriteAll, PermSSFManage, PermSSFRead,
	} {
		p, ok := VigilPermissionByName(name)
		if !ok || p.AppRoleID == "" {
			t.Errorf("VigilPermissionByName(%q) = %+v, %v; want an application permission", name, p, ok)
			continue
		}
		if q, ok := VigilPermissionByAppRoleID(p.AppRoleID); !ok || q.Name != name {
			t.Errorf("VigilPermissionByAppRoleID(%s) = %+v, %v", p.AppRoleID, q, ok)
		}
		if q, ok := VigilPermissionByScopeID(p.ScopeID); !ok || q.Name != name {
			t.Errorf("VigilPermissionByScopeID(%s) = %+v, %v", p.ScopeID, q, ok)
		}
		if _, ok := GraphPermissionByName(name); ok {
			t.Errorf("%s leaked into the Graph catalogue", name)
		}
	}
}

func TestPermissionsReturnsCopy(t *testing.T) {
	ps := GraphPermissions()
	ps[0].Name = "changed"
	if GraphPermissions()[0].Name == "changed" {
		t.Fatal("GraphPermissions exposes the catalogue's backing array")
	}
}

func TestResourceByIdentifier(t *testing.T) {
	tests := []struct {
		id   string
		want string // AppID, "" for no match
	}{
		{"https://graph.microsoft.com", GraphAppID},
		{"https://graph.microsoft.com/", GraphAppID},
		{"HTTPS://GRAPH.MICROSOFT.COM", GraphAppID},
		{GraphAppID, GraphAppID},
		{strings.ToUpper(GraphAppID), GraphAppID},
		{"api://vigil", VigilAppID},
		{VigilAppID, VigilAppID},
		{"", ""},
		{"/", ""},
		{"https://graph.microsoft.com//", ""},
		{"https://graph.microsoft.us", ""},
		{"api://other", ""},
	}
	for _, tt := range tests {
		t.Run(tt.id, func(t *testing.T) {
			r, ok := ResourceByIdentifier(tt.id)
			if ok != (tt.want != "") || r.AppID != tt.want {
				t.Fatalf("ResourceByIdentifier(%q) = %q, %v; want %q", tt.id, r.AppID, ok, tt.want)
			}
		})
	}
}
