package graph

import (
	"strings"
	"testing"

	"github.com/vigil-idp/vigil/internal/authz"
	"github.com/vigil-idp/vigil/internal/directory"
)

// Well-known ids used by the golden cases.
const (
	globalAdminTemplate = "62e90394-69f5-4237-9190-012177145e10" // Global Administrator
	userReadAllRoleID   = "df021288-bdef-4463-88db-98f22de89214" // User.Read.All app role
)

const eventual = "ConsistencyLevel: eventual"

// goldenCase is one request whose whole response is compared with
// testdata/<name>.golden.json.
type goldenCase struct {
	name string
	run  func(t *testing.T, e *env) *response
}

// richUser creates a user with most properties set.
func (e *env) richUser() string {
	e.t.Helper()
	u, err := e.dir.CreateUser(e.ctx, directory.UserInput{
		AccountEnabled:    directory.Some(true),
		DisplayName:       directory.Some("Ada Lovelace"),
		UserPrincipalName: directory.Some("ada@vigil.local"),
		MailNickname:      directory.Some("ada"),
		GivenName:         directory.Some("Ada"),
		Surname:           directory.Some("Lovelace"),
		Mail:              directory.Some("ada@vigil.local"),
		JobTitle:          directory.Some("Analyst"),
		Department:        directory.Some("Engines"),
		BusinessPhones:    directory.Some([]string{"+44 20 7946 0000"}),
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return u.ID
}

// app registers an application with its service principal.
func (e *env) app(name string) (appID, objectID, spID string) {
	e.t.Helper()
	a, err := e.dir.CreateApplication(e.ctx, directory.ApplicationInput{
		DisplayName:     directory.Some(name),
		WebRedirectURIs: directory.Some([]string{"https://" + strings.ToLower(name) + ".example/callback"}),
	})
	if err != nil {
		e.t.Fatal(err)
	}
	sp, err := e.dir.CreateServicePrincipal(e.ctx, a.AppID)
	if err != nil {
		e.t.Fatal(err)
	}
	return a.AppID, a.ID, sp.ID
}

func (e *env) graphSP() string {
	e.t.Helper()
	sp, err := e.dir.GetServicePrincipal(e.ctx, authz.GraphAppID)
	if err != nil {
		e.t.Fatal(err)
	}
	return sp.ID
}

var successCases = []goldenCase{
	{"users_create", func(t *testing.T, e *env) *response {
		return e.do("POST", "/users", map[string]any{
			"accountEnabled": true, "displayName": "Grace Hopper", "mailNickname": "grace",
			"userPrincipalName": "grace@vigil.local", "jobTitle": "Rear Admiral",
			"passwordProfile": map[string]any{"password": "Cobol-1959!", "forceChangePasswordNextSignIn": true},
		})
	}},
	{"users_get", func(t *testing.T, e *env) *response {
		return e.do("GET", "/users/"+e.richUser(), nil)
	}},
	{"users_get_select", func(t *testing.T, e *env) *response {
		e.richUser()
		return e.do("GET", "/users/ADA@vigil.local?$select=displayName,id,accountEnabled,createdDateTime,department,mailNickname,signInSessionsValidFromDateTime", nil)
	}},
	{"users_list_nextlink", func(t *testing.T, e *env) *response {
		for _, n := range []string{"a", "b", "c"} {
			e.user(n + "@vigil.local")
		}
		return e.do("GET", "/users?$top=2&$select=id,userPrincipalName", nil)
	}},
	{"users_list_count", func(t *testing.T, e *env) *response {
		e.user("a@vigil.local")
		e.user("b@vigil.local")
		return e.do("GET", "/users?$count=true&$filter=startsWith(userPrincipalName,'a')", nil, eventual)
	}},
	{"users_count", func(t *testing.T, e *env) *response {
		e.user("a@vigil.local")
		e.user("b@vigil.local")
		return e.do("GET", "/users/$count", nil, eventual)
	}},
	{"groups_create", func(t *testing.T, e *env) *response {
		return e.do("POST", "/groups", map[string]any{
			"displayName": "Engineers", "description": "All engineers", "mailNickname": "engineers",
			"mailEnabled": false, "securityEnabled": true,
		})
	}},
	{"groups_get", func(t *testing.T, e *env) *response {
		return e.do("GET", "/groups/"+e.group("Operators", true), nil)
	}},
	{"groups_members", func(t *testing.T, e *env) *response {
		g := e.group("Everyone", false)
		e.addMember(g, e.user("a@vigil.local"))
		e.addMember(g, e.group("Nested", false))
		_, _, sp := e.app("Robot")
		e.addMember(g, sp)
		return e.do("GET", "/groups/"+g+"/members", nil)
	}},
	{"groups_transitive_members_cast", func(t *testing.T, e *env) *response {
		outer, inner := e.group("Outer", false), e.group("Inner", false)
		e.addMember(outer, inner)
		e.addMember(outer, e.user("a@vigil.local"))
		e.addMember(inner, e.user("b@vigil.local"))
		return e.do("GET", "/groups/"+outer+"/transitiveMembers/microsoft.graph.user?$count=true&$select=id,displayName", nil, eventual)
	}},
	{"users_memberof", func(t *testing.T, e *env) *response {
		u := e.user("a@vigil.local")
		e.addMember(e.group("Staff", false), u)
		if _, err := e.dir.CreateRoleAssignment(e.ctx, u, globalAdminTemplate, "/"); err != nil {
			t.Fatal(err)
		}
		return e.do("GET", "/users/"+u+"/memberOf", nil)
	}},
	{"me_get", func(t *testing.T, e *env) *response {
		return e.request(e.signIn(e.richUser(), pUserRead), "GET", "/me", nil)
	}},
	{"me_get_select", func(t *testing.T, e *env) *response {
		return e.request(e.signIn(e.richUser(), pUserRead), "GET", "/me?$select=id,accountEnabled,department", nil)
	}},
	{"me_memberof", func(t *testing.T, e *env) *response {
		u := e.user("a@vigil.local")
		e.addMember(e.group("Staff", false), u)
		e.assignRole(u, "Directory Readers")
		return e.request(e.signIn(u, pUserRead), "GET", "/me/memberOf", nil)
	}},
	{"role_definitions_filter", func(t *testing.T, e *env) *response {
		return e.do("GET", "/roleManagement/directory/roleDefinitions?$filter=displayName eq 'Global Administrator'", nil)
	}},
	{"role_definition_get", func(t *testing.T, e *env) *response {
		return e.do("GET", "/roleManagement/directory/roleDefinitions/fe930be7-5e62-47db-91af-98c3a49a38b1", nil)
	}},
	{"role_assignments_create", func(t *testing.T, e *env) *response {
		return e.do("POST", "/roleManagement/directory/roleAssignments", map[string]any{
			"@odata.type": "#microsoft.graph.unifiedRoleAssignment", "principalId": e.user("a@vigil.local"),
			"roleDefinitionId": globalAdminTemplate, "directoryScopeId": "/",
		})
	}},
	{"role_assignments_list", func(t *testing.T, e *env) *response {
		u := e.user("a@vigil.local")
		for _, role := range []string{globalAdminTemplate, "fe930be7-5e62-47db-91af-98c3a49a38b1"} {
			if _, err := e.dir.CreateRoleAssignment(e.ctx, u, role, "/"); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := e.dir.CreateRoleAssignment(e.ctx, e.user("b@vigil.local"), globalAdminTemplate, "/"); err != nil {
			t.Fatal(err)
		}
		return e.do("GET", "/roleManagement/directory/roleAssignments?$filter=principalId eq '"+u+"'", nil)
	}},
	{"directory_roles_list", func(t *testing.T, e *env) *response {
		return e.do("GET", "/directoryRoles?$select=displayName,roleTemplateId", nil)
	}},
	{"directory_role_by_template", func(t *testing.T, e *env) *response {
		return e.do("GET", "/directoryRoles(roleTemplateId='"+globalAdminTemplate+"')", nil)
	}},
	{"directory_role_members", func(t *testing.T, e *env) *response {
		u := e.user("a@vigil.local")
		if _, err := e.dir.CreateRoleAssignment(e.ctx, u, globalAdminTemplate, "/"); err != nil {
			t.Fatal(err)
		}
		return e.do("GET", "/directoryRoles(roleTemplateId='"+globalAdminTemplate+"')/members?$select=id,userPrincipalName", nil)
	}},
	{"applications_create", func(t *testing.T, e *env) *response {
		return e.do("POST", "/applications", map[string]any{
			"displayName": "Payroll", "identifierUris": []string{"api://payroll"},
			"web": map[string]any{"redirectUris": []string{"https://payroll.example/callback"}},
			"spa": map[string]any{"redirectUris": []string{}},
		})
	}},
	{"applications_add_password", func(t *testing.T, e *env) *response {
		_, obj, _ := e.app("Payroll")
		return e.do("POST", "/applications/"+obj+"/addPassword", map[string]any{
			"passwordCredential": map[string]any{"displayName": "ci", "endDateTime": "2025-01-02T03:04:05Z"},
		})
	}},
	{"applications_get_by_appid", func(t *testing.T, e *env) *response {
		appID, obj, _ := e.app("Payroll")
		if _, err := e.dir.AddPassword(e.ctx, obj, "ci", t0.AddDate(1, 0, 0)); err != nil {
			t.Fatal(err)
		}
		return e.do("GET", "/applications(appId='"+appID+"')", nil)
	}},
	{"service_principal_graph", func(t *testing.T, e *env) *response {
		return e.do("GET", "/servicePrincipals(appId='"+authz.GraphAppID+"')", nil)
	}},
	{"service_principals_list", func(t *testing.T, e *env) *response {
		e.app("Payroll")
		return e.do("GET", "/servicePrincipals?$filter=displayName eq 'Payroll'", nil)
	}},
	{"app_role_assignments_create", func(t *testing.T, e *env) *response {
		_, _, sp := e.app("Payroll")
		return e.do("POST", "/servicePrincipals/"+sp+"/appRoleAssignments", map[string]any{
			"principalId": sp, "resourceId": e.graphSP(), "appRoleId": userReadAllRoleID,
		})
	}},
	{"app_role_assignments_list", func(t *testing.T, e *env) *response {
		_, _, sp := e.app("Payroll")
		for _, perm := range []string{"User.Read.All", "Group.Read.All"} {
			if _, err := e.dir.GrantAppPermission(e.ctx, sp, authz.GraphAppID, perm); err != nil {
				t.Fatal(err)
			}
		}
		return e.do("GET", "/servicePrincipals/"+sp+"/appRoleAssignments", nil)
	}},
}

var errorCases = []goldenCase{
	{"error_400_filter_syntax", func(t *testing.T, e *env) *response {
		return e.do("GET", "/users?$filter=displayName eq 'a' and", nil)
	}},
	{"error_400_filter_unknown_property", func(t *testing.T, e *env) *response {
		return e.do("GET", "/users?$filter=shoeSize eq 'a'", nil)
	}},
	{"error_400_advanced_query", func(t *testing.T, e *env) *response {
		return e.do("GET", "/users?$filter=accountEnabled ne true", nil)
	}},
	{"error_400_search_without_header", func(t *testing.T, e *env) *response {
		return e.do("GET", `/users?$search="displayName:ada"`, nil)
	}},
	{"error_400_count_without_header", func(t *testing.T, e *env) *response {
		return e.do("GET", "/users/$count", nil)
	}},
	{"error_400_top", func(t *testing.T, e *env) *response {
		return e.do("GET", "/users?$top=1000", nil)
	}},
	{"error_400_unknown_option", func(t *testing.T, e *env) *response {
		return e.do("GET", "/users?$expand=manager", nil)
	}},
	{"error_400_skiptoken", func(t *testing.T, e *env) *response {
		return e.do("GET", "/users?$skiptoken=Zm9vYmFy", nil)
	}},
	{"error_400_duplicate_upn", func(t *testing.T, e *env) *response {
		e.user("ada@vigil.local")
		return e.do("POST", "/users", map[string]any{
			"accountEnabled": true, "displayName": "Ada", "mailNickname": "ada2", "userPrincipalName": "ADA@vigil.local",
		})
	}},
	{"error_400_unknown_property", func(t *testing.T, e *env) *response {
		return e.do("PATCH", "/users/"+e.user("a@vigil.local"), map[string]any{"shoeSize": 44})
	}},
	{"error_400_read_only_property", func(t *testing.T, e *env) *response {
		return e.do("PATCH", "/users/"+e.user("a@vigil.local"), map[string]any{"id": "x"})
	}},
	{"error_400_wrong_type", func(t *testing.T, e *env) *response {
		return e.do("PATCH", "/users/"+e.user("a@vigil.local"), map[string]any{"accountEnabled": "yes"})
	}},
	{"error_400_malformed_json", func(t *testing.T, e *env) *response {
		return e.do("POST", "/groups", `{"displayName": `)
	}},
	{"error_400_unknown_segment", func(t *testing.T, e *env) *response {
		return e.do("GET", "/users/"+e.user("a@vigil.local")+"/shoes", nil)
	}},
	{"error_400_member_cycle", func(t *testing.T, e *env) *response {
		a, b := e.group("A", false), e.group("B", false)
		e.addMember(a, b)
		return e.do("POST", "/groups/"+b+"/members/$ref", map[string]any{
			"@odata.id": "https://graph.microsoft.com/v1.0/directoryObjects/" + a,
		})
	}},
	{"error_401_no_token", func(t *testing.T, e *env) *response {
		return e.request("", "GET", "/users", nil)
	}},
	{"error_401_invalid_token", func(t *testing.T, e *env) *response {
		return e.request("not-a-jwt", "GET", "/users", nil)
	}},
	{"error_403", func(t *testing.T, e *env) *response {
		return e.request(e.appToken("Group.Read.All"), "GET", "/users", nil)
	}},
	{"error_403_delegated", func(t *testing.T, e *env) *response {
		return e.request(e.signIn(e.user("a@vigil.local"), pUserReadAll), "POST", "/users", newUser("b"))
	}},
	{"error_400_me_app_only", func(t *testing.T, e *env) *response {
		return e.do("GET", "/me", nil)
	}},
	{"error_404", func(t *testing.T, e *env) *response {
		return e.do("GET", "/users/00000000-0000-4000-8000-999999999999", nil)
	}},
	{"error_405", func(t *testing.T, e *env) *response {
		return e.do("PUT", "/users", map[string]any{})
	}},
	{"error_413", func(t *testing.T, e *env) *response {
		return e.do("POST", "/users", `{"displayName":"`+strings.Repeat("x", DefaultMaxBodyBytes)+`"}`)
	}},
	{"error_415", func(t *testing.T, e *env) *response {
		return e.do("POST", "/groups", `{"displayName":"x"}`, "Content-Type: text/plain")
	}},
}

// allGoldenCases lists every golden case.
func allGoldenCases() []goldenCase {
	var all []goldenCase
	for _, cs := range [][]goldenCase{successCases, errorCases, batchGoldenCases, revokeGoldenCases, auditGoldenCases} {
		all = append(all, cs...)
	}
	return all
}

// TestGolden compares every response shape with its golden file, on every
// store backend.
func TestGolden(t *testing.T) {
	for _, c := range allGoldenCases() {
		t.Run(c.name, func(t *testing.T) {
			// Each case has its own store and server, and writes only its
			// own golden file.
			t.Parallel()
			eachEnv(t, func(t *testing.T, e *env) {
				e.golden(t, c.name, c.run(t, e))
			})
		})
	}
}

// TestGoldenFilesAreUsed keeps testdata free of stale golden files.
func TestGoldenFilesAreUsed(t *testing.T) {
	names := map[string]bool{}
	for _, c := range allGoldenCases() {
		if names[c.name] {
			t.Errorf("duplicate golden case %s", c.name)
		}
		names[c.name] = true
	}
	entries, err := readGoldenDir()
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range entries {
		if !names[n] {
			t.Errorf("testdata/%s.golden.json belongs to no case", n)
		}
	}
	if len(entries) == 0 && !*update {
		t.Error("no golden files: run go test -update")
	}
}
