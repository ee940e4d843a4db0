package graph

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/vigil-idp/vigil/internal/authz"
	"github.com/vigil-idp/vigil/internal/directory"
)

// Role names of the catalogue the delegated tests use.
const (
	roleGlobalAdmin  = "Global Administrator"
	roleGlobalReader = "Global Reader"
	roleUserAdmin    = "User Administrator"
	roleGroupsAdmin  = "Groups Administrator"
	rolePRA          = "Privileged Role Administrator"
	roleAppAdmin     = "Application Administrator"
	roleHelpdesk     = "Helpdesk Administrator"
)

// delegatedCase is one request with a delegated token: the user signs in
// with scopes, sends method path with body, and must get want.
type delegatedCase struct {
	name         string
	who          string // user id
	scopes       []string
	method, path string
	body         any
	want         int
}

// newUser is a POST /users body for a new user nick@vigil.local.
func newUser(nick string) map[string]any {
	return map[string]any{
		"accountEnabled": true, "displayName": "User " + nick, "mailNickname": nick,
		"userPrincipalName": nick + "@vigil.local",
	}
}

// memberRef is a POST /groups/{id}/members/$ref body naming id.
func memberRef(id string) map[string]any {
	return map[string]any{"@odata.id": "https://graph.microsoft.com/v1.0/directoryObjects/" + id}
}

// roleID is the template id of a built-in role, from the catalogue.
func roleID(t *testing.T, name string) string {
	t.Helper()
	r, ok := directory.RoleDefinitionByName(name)
	if !ok {
		t.Fatalf("no role %q", name)
	}
	return r.ID
}

// TestDelegatedAccess runs delegated requests by users holding each admin
// role, with and without the needed scope, through the real token issuer,
// verifier and store: a delegated call needs both a scope and a role that
// covers it, and privileged users and role-assignable groups are protected.
// The cases run in order on one directory.
func TestDelegatedAccess(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		member := e.user("member@vigil.local")
		ga := e.userWithRoles("ga@vigil.local", roleGlobalAdmin)
		ga2 := e.userWithRoles("ga2@vigil.local", roleGlobalAdmin)
		ga3 := e.userWithRoles("ga3@vigil.local", roleGlobalAdmin)
		ua := e.userWithRoles("ua@vigil.local", roleUserAdmin)
		helpdesk := e.userWithRoles("helpdesk@vigil.local", roleHelpdesk)
		groupsAdmin := e.userWithRoles("groups@vigil.local", roleGroupsAdmin)
		pra := e.userWithRoles("pra@vigil.local", rolePRA)
		appAdmin := e.userWithRoles("apps@vigil.local", roleAppAdmin)
		t1, t2, t3, t4 := e.user("t1@vigil.local"), e.user("t2@vigil.local"), e.user("t3@vigil.local"), e.user("t4@vigil.local")
		team, admins := e.group("Team", false), e.group("Admins", true)
		_, payroll, payrollSP := e.app("Payroll")
		graphSP := e.graphSP()
		assignment := func(principal, role string) map[string]any {
			return map[string]any{"principalId": principal, "roleDefinitionId": roleID(t, role), "directoryScopeId": "/"}
		}
		grant := func(perm string) map[string]any {
			return map[string]any{"principalId": payrollSP, "resourceId": graphSP, "appRoleId": perm}
		}

		tests := []delegatedCase{
			// A member without a role: default member permissions.
			{"member User.Read reads /me", member, []string{pUserRead}, "GET", "/me", nil, http.StatusOK},
			{"member User.Read reads own memberships", member, []string{pUserRead}, "GET", "/me/transitiveMemberOf", nil, http.StatusOK},
			{"member User.Read cannot list users", member, []string{pUserRead}, "GET", "/users", nil, http.StatusForbidden},
			{"member User.Read cannot read another user", member, []string{pUserRead}, "GET", "/users/" + ua, nil, http.StatusForbidden},
			{"member User.Read.All lists users", member, []string{pUserReadAll}, "GET", "/users", nil, http.StatusOK},
			{"member User.Read.All reads memberships", member, []string{pUserReadAll}, "GET", "/users/" + ga + "/memberOf", nil, http.StatusOK},
			{"member User.Read.All cannot list groups", member, []string{pUserReadAll}, "GET", "/groups", nil, http.StatusForbidden},
			{"member Directory.Read.All lists groups", member, []string{pDirectoryReadAll}, "GET", "/groups", nil, http.StatusOK},
			{"member Directory.Read.All lists role assignments", member, []string{pDirectoryReadAll}, "GET", "/roleManagement/directory/roleAssignments", nil, http.StatusOK},
			{"member Directory.Read.All lists applications", member, []string{pDirectoryReadAll}, "GET", "/applications", nil, http.StatusOK},
			{"member User.Read.All cannot create users", member, []string{pUserReadAll}, "POST", "/users", newUser("m1"), http.StatusForbidden},
			{"member User.ReadWrite.All cannot create users", member, []string{pUserReadWriteAll}, "POST", "/users", newUser("m2"), http.StatusForbidden},
			{"member Directory.ReadWrite.All cannot update users", member, []string{pDirectoryReadWriteAll}, "PATCH", "/users/" + t1, map[string]any{"jobTitle": "x"}, http.StatusForbidden},
			{"member Group.ReadWrite.All cannot create groups", member, []string{pGroupReadWriteAll}, "POST", "/groups", map[string]any{"displayName": "m", "mailNickname": "m", "mailEnabled": false, "securityEnabled": true}, http.StatusForbidden},

			// User Administrator.
			{"UA creates users", ua, []string{pUserReadWriteAll}, "POST", "/users", newUser("u1"), http.StatusCreated},
			{"UA disables a user", ua, []string{pUserReadWriteAll}, "PATCH", "/users/" + t1, map[string]any{"accountEnabled": false}, http.StatusNoContent},
			{"UA disables a Helpdesk Administrator (limited admin)", ua, []string{pUserReadWriteAll}, "PATCH", "/users/" + helpdesk, map[string]any{"accountEnabled": false}, http.StatusNoContent},
			{"UA cannot disable a Global Administrator", ua, []string{pUserReadWriteAll}, "PATCH", "/users/" + ga, map[string]any{"accountEnabled": false}, http.StatusForbidden},
			{"UA cannot set a Global Administrator's phone", ua, []string{pUserReadWriteAll}, "PATCH", "/users/ga@vigil.local", map[string]any{"businessPhones": []string{"+1 555 0100"}}, http.StatusForbidden},
			{"UA cannot rename a Global Administrator's UPN", ua, []string{pDirectoryAccessAsUser}, "PATCH", "/users/" + ga, map[string]any{"userPrincipalName": "boss@vigil.local"}, http.StatusForbidden},
			{"UA updates a Global Administrator's job title", ua, []string{pUserReadWriteAll}, "PATCH", "/users/" + ga, map[string]any{"jobTitle": "CIO"}, http.StatusNoContent},
			{"UA cannot delete a Global Administrator", ua, []string{pUserReadWriteAll}, "DELETE", "/users/" + ga, nil, http.StatusForbidden},
			{"UA cannot delete a Privileged Role Administrator", ua, []string{pUserReadWriteAll}, "DELETE", "/users/" + pra, nil, http.StatusForbidden},
			{"UA deletes a user", ua, []string{pUserReadWriteAll}, "DELETE", "/users/" + t2, nil, http.StatusNoContent},
			{"UA without a write scope cannot create users", ua, []string{pUserReadAll}, "POST", "/users", newUser("u2"), http.StatusForbidden},
			{"UA cannot assign roles", ua, []string{pRoleMgmtReadWrite}, "POST", "/roleManagement/directory/roleAssignments", assignment(t3, roleHelpdesk), http.StatusForbidden},
			{"UA creates groups", ua, []string{pGroupReadWriteAll}, "POST", "/groups", map[string]any{"displayName": "u", "mailNickname": "u", "mailEnabled": false, "securityEnabled": true}, http.StatusCreated},
			{"UA updates own job title through /me", ua, []string{pUserReadWriteAll}, "PATCH", "/me", map[string]any{"jobTitle": "Admin"}, http.StatusNoContent},
			{"UA with only User.ReadWrite cannot update own job title", ua, []string{pUserReadWrite}, "PATCH", "/me", map[string]any{"jobTitle": "Admin"}, http.StatusForbidden},

			// Global Administrator on another Global Administrator: Graph
			// also wants Directory.AccessAsUser.All.
			{"GA with User.ReadWrite.All cannot disable a GA", ga, []string{pUserReadWriteAll}, "PATCH", "/users/" + ga2, map[string]any{"accountEnabled": false}, http.StatusForbidden},
			{"GA with Directory.AccessAsUser.All disables a GA", ga, []string{pDirectoryAccessAsUser}, "PATCH", "/users/" + ga2, map[string]any{"accountEnabled": false}, http.StatusNoContent},
			{"GA with User.ReadWrite.All cannot delete a GA", ga, []string{pUserReadWriteAll}, "DELETE", "/users/" + ga3, nil, http.StatusForbidden},
			{"GA with Directory.AccessAsUser.All deletes a GA", ga, []string{pDirectoryAccessAsUser}, "DELETE", "/users/" + ga3, nil, http.StatusNoContent},

			// Groups Administrator.
			{"Groups Admin creates groups", groupsAdmin, []string{pGroupReadWriteAll}, "POST", "/groups", map[string]any{"displayName": "g", "mailNickname": "g", "mailEnabled": false, "securityEnabled": true}, http.StatusCreated},
			{"Groups Admin updates groups", groupsAdmin, []string{pGroupReadWriteAll}, "PATCH", "/groups/" + team, map[string]any{"description": "The team"}, http.StatusNoContent},
			{"Groups Admin adds members", groupsAdmin, []string{pGroupMemberReadWriteAll}, "POST", "/groups/" + team + "/members/$ref", memberRef(t3), http.StatusNoContent},
			{"Groups Admin removes members", groupsAdmin, []string{pGroupMemberReadWriteAll}, "DELETE", "/groups/" + team + "/members/" + t3 + "/$ref", nil, http.StatusNoContent},
			{"Groups Admin with Group.Read.All cannot add members", groupsAdmin, []string{pGroupReadAll}, "POST", "/groups/" + team + "/members/$ref", memberRef(t3), http.StatusForbidden},
			{"Groups Admin cannot create users", groupsAdmin, []string{pUserReadWriteAll}, "POST", "/users", newUser("g1"), http.StatusForbidden},
			{"Groups Admin cannot update users", groupsAdmin, []string{pUserReadWriteAll}, "PATCH", "/users/" + t1, map[string]any{"jobTitle": "x"}, http.StatusForbidden},
			{"Groups Admin cannot delete users", groupsAdmin, []string{pDirectoryReadWriteAll}, "DELETE", "/users/" + t1, nil, http.StatusForbidden},
			{"Groups Admin cannot create a role-assignable group", groupsAdmin, []string{pGroupReadWriteAll, pRoleMgmtReadWrite}, "POST", "/groups", map[string]any{"displayName": "ra", "mailNickname": "ra", "mailEnabled": false, "securityEnabled": true, "isAssignableToRole": true}, http.StatusForbidden},
			{"Groups Admin cannot add members to a role-assignable group", groupsAdmin, []string{pGroupMemberReadWriteAll, pRoleMgmtReadWrite}, "POST", "/groups/" + admins + "/members/$ref", memberRef(t3), http.StatusForbidden},

			// Privileged Role Administrator.
			{"PRA assigns roles", pra, []string{pRoleMgmtReadWrite}, "POST", "/roleManagement/directory/roleAssignments", assignment(t3, roleHelpdesk), http.StatusCreated},
			{"PRA with RoleManagement.Read.Directory cannot assign roles", pra, []string{pRoleMgmtRead}, "POST", "/roleManagement/directory/roleAssignments", assignment(t4, roleHelpdesk), http.StatusForbidden},
			{"PRA creates a role-assignable group", pra, []string{pGroupReadWriteAll, pRoleMgmtReadWrite}, "POST", "/groups", map[string]any{"displayName": "ra", "mailNickname": "ra", "mailEnabled": false, "securityEnabled": true, "isAssignableToRole": true}, http.StatusCreated},
			{"PRA without RoleManagement.ReadWrite.Directory cannot create one", pra, []string{pGroupReadWriteAll}, "POST", "/groups", map[string]any{"displayName": "ra2", "mailNickname": "ra2", "mailEnabled": false, "securityEnabled": true, "isAssignableToRole": true}, http.StatusForbidden},
			{"PRA adds members to a role-assignable group", pra, []string{pGroupMemberReadWriteAll, pRoleMgmtReadWrite}, "POST", "/groups/" + admins + "/members/$ref", memberRef(t4), http.StatusNoContent},
			{"PRA cannot add members to an ordinary group", pra, []string{pGroupMemberReadWriteAll, pRoleMgmtReadWrite}, "POST", "/groups/" + team + "/members/$ref", memberRef(t4), http.StatusForbidden},
			{"PRA grants a Microsoft Graph application permission", pra, []string{pAppRoleAssignmentRWAll}, "POST", "/servicePrincipals/" + payrollSP + "/appRoleAssignments", grant(pUserReadAll), http.StatusCreated},
			{"PRA cannot create applications", pra, []string{pApplicationReadWriteAll}, "POST", "/applications", map[string]any{"displayName": "x"}, http.StatusForbidden},

			// Application Administrator.
			{"App Admin creates applications", appAdmin, []string{pApplicationReadWriteAll}, "POST", "/applications", map[string]any{"displayName": "Expenses"}, http.StatusCreated},
			{"App Admin adds secrets", appAdmin, []string{pApplicationReadWriteAll}, "POST", "/applications/" + payroll + "/addPassword", map[string]any{"passwordCredential": map[string]any{"displayName": "ci"}}, http.StatusOK},
			{"App Admin cannot grant Microsoft Graph application permissions", appAdmin, []string{pAppRoleAssignmentRWAll}, "POST", "/servicePrincipals/" + payrollSP + "/appRoleAssignments", grant(pGroupReadAll), http.StatusForbidden},
			{"App Admin with Application.Read.All cannot create applications", appAdmin, []string{pApplicationReadAll}, "POST", "/applications", map[string]any{"displayName": "x"}, http.StatusForbidden},
			{"App Admin cannot create users", appAdmin, []string{pUserReadWriteAll}, "POST", "/users", newUser("a1"), http.StatusForbidden},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				r := e.request(e.signIn(tt.who, tt.scopes...), tt.method, tt.path, tt.body)
				r.want(t, tt.want)
				if tt.want == http.StatusForbidden && r.errorCode(t) != CodeAccessDenied {
					t.Fatalf("code %s, want %s", r.errorCode(t), CodeAccessDenied)
				}
			})
		}

		// The effects happened, and only those.
		got := e.do("GET", "/users/"+ga+"?$select=accountEnabled,jobTitle", nil).want(t, http.StatusOK)
		if got["accountEnabled"] != true || got["jobTitle"] != "CIO" {
			t.Errorf("Global Administrator after the User Administrator's requests: %v", got)
		}
		e.do("GET", "/users/"+ga3, nil).want(t, http.StatusNotFound)
		e.do("GET", "/users/"+pra, nil).want(t, http.StatusOK)
		if roles, err := e.dir.EffectiveRoles(e.ctx, t3); err != nil || !slices.Equal(roles, []string{roleID(t, roleHelpdesk)}) {
			t.Errorf("roles of t3: %v, %v", roles, err)
		}
		if roles, err := e.dir.EffectiveRoles(e.ctx, t4); err != nil || len(roles) != 0 {
			t.Errorf("roles of t4: %v, %v", roles, err)
		}
		if m := values(t, e.do("GET", "/groups/"+admins+"/members", nil).want(t, http.StatusOK)); len(m) != 1 || m[0]["id"] != t4 {
			t.Errorf("members of the role-assignable group: %v", m)
		}
		if m := values(t, e.do("GET", "/groups/"+team+"/members", nil).want(t, http.StatusOK)); len(m) != 0 {
			t.Errorf("members of the ordinary group: %v", m)
		}
	})
}

// TestGlobalReader: a Global Reader holding every Graph delegated
// permission reads every route and writes none, but still manages their
// own profile's self-service properties.
func TestGlobalReader(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		reader := e.userWithRoles("reader@vigil.local", roleGlobalReader)
		member := e.user("member@vigil.local")
		g := e.group("Team", false)
		e.addMember(g, reader)
		var scopes []string
		for _, p := range authz.GraphPermissions() {
			if p.ScopeID != "" {
				scopes = append(scopes, p.Name)
			}
		}
		// A new token per route: the reader revoking themself (/me)
		// kills the token it used.
		tok := e.signInLater(reader, scopes...)
		for _, rt := range concreteRoutes(e, g, member) {
			t.Run(rt.method+" "+rt.path, func(t *testing.T) {
				r := e.request(tok(), rt.method, rt.path, map[string]any{}, eventual)
				switch {
				case rt.access.anyCaller:
					if r.status == http.StatusUnauthorized || r.status == http.StatusForbidden {
						t.Fatalf("refused %d: %s", r.status, r.body)
					}
				case rt.access.me && strings.HasSuffix(rt.path, "changePassword"):
					// Allowed, and then refused for the empty body.
					if r.status != http.StatusBadRequest {
						t.Fatalf("%d: %s", r.status, r.body)
					}
				case rt.access.me:
					if r.status >= 400 {
						t.Fatalf("%d: %s", r.status, r.body)
					}
				case rt.method == "GET":
					if r.status == http.StatusUnauthorized || r.status == http.StatusForbidden {
						t.Fatalf("read refused %d: %s", r.status, r.body)
					}
				default:
					if r.status != http.StatusForbidden {
						t.Fatalf("write answered %d: %s", r.status, r.body)
					}
				}
			})
		}
		e.request(tok(), "PATCH", "/me", map[string]any{"mobilePhone": "+1 555 0199"}).want(t, http.StatusNoContent)
		e.request(tok(), "PATCH", "/me", map[string]any{"displayName": "Reader"}).want(t, http.StatusForbidden)
	})
}

// TestMe: the /me routes act on the signed-in user, with $select as on
// /users/{id}; a member changes only self-service properties; app-only
// tokens are told /me needs a delegated flow.
func TestMe(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		me := e.richUser()
		other := e.user("other@vigil.local")
		g := e.group("Staff", false)
		e.addMember(g, me)
		e.assignRole(me, "Directory Readers")
		read, write := e.signIn(me, pUserRead), e.signIn(me, pUserReadWrite)

		got := e.request(read, "GET", "/me?$select=id,department,accountEnabled", nil).want(t, http.StatusOK)
		if got["id"] != me || got["department"] != "Engines" || got["accountEnabled"] != true || len(got) != 4 {
			t.Fatalf("GET /me $select: %v", got)
		}
		if ctx := got["@odata.context"]; ctx != e.base+"/$metadata#users(id,department,accountEnabled)/$entity" {
			t.Fatalf("@odata.context %v", ctx)
		}
		memberOf := values(t, e.request(read, "GET", "/me/memberOf", nil).want(t, http.StatusOK))
		var kinds []string
		for _, o := range memberOf {
			kinds = append(kinds, o["@odata.type"].(string)+" "+o["displayName"].(string))
		}
		slices.Sort(kinds)
		if want := []string{"#microsoft.graph.directoryRole Directory Readers", "#microsoft.graph.group Staff"}; !slices.Equal(kinds, want) {
			t.Fatalf("/me/memberOf: %v, want %v", kinds, want)
		}
		e.request(read, "GET", "/me?$select=shoeSize", nil).want(t, http.StatusBadRequest)

		tests := []struct {
			name  string
			token string
			body  map[string]any
			want  int
		}{
			{"mobilePhone", write, map[string]any{"mobilePhone": "+44 7700 900000"}, http.StatusNoContent},
			{"mobilePhone cleared", write, map[string]any{"mobilePhone": nil}, http.StatusNoContent},
			{"mobilePhone with User.Read", read, map[string]any{"mobilePhone": "+44 7700 900001"}, http.StatusForbidden},
			{"jobTitle", write, map[string]any{"jobTitle": "Countess"}, http.StatusForbidden},
			{"officeLocation with mobilePhone", write, map[string]any{"mobilePhone": "1", "officeLocation": "B1"}, http.StatusForbidden},
			{"accountEnabled", write, map[string]any{"accountEnabled": false}, http.StatusForbidden},
			{"userPrincipalName", write, map[string]any{"userPrincipalName": "queen@vigil.local"}, http.StatusForbidden},
			{"passwordProfile", write, map[string]any{"passwordProfile": map[string]any{"password": "Analytical-Engine-1843"}}, http.StatusForbidden},
			{"read-only property", write, map[string]any{"id": other}, http.StatusBadRequest},
		}
		for _, tt := range tests {
			t.Run("PATCH /me "+tt.name, func(t *testing.T) {
				e.request(tt.token, "PATCH", "/me", tt.body).want(t, tt.want)
			})
		}
		got = e.do("GET", "/users/"+me+"?$select=mobilePhone,jobTitle,accountEnabled,userPrincipalName", nil).want(t, http.StatusOK)
		if got["mobilePhone"] != nil || got["jobTitle"] != "Analyst" || got["accountEnabled"] != true || got["userPrincipalName"] != "ada@vigil.local" {
			t.Fatalf("after PATCH /me: %v", got)
		}
		e.request(write, "PATCH", "/me", map[string]any{"mobilePhone": "+44 7700 900002"}).want(t, http.StatusNoContent)
		if got := e.do("GET", "/users/"+me+"?$select=mobilePhone", nil).want(t, http.StatusOK); got["mobilePhone"] != "+44 7700 900002" {
			t.Fatalf("mobilePhone %v", got["mobilePhone"])
		}

		for _, path := range []string{"/me", "/me/memberOf", "/me/transitiveMemberOf"} {
			r := e.do("GET", path, nil)
			r.want(t, http.StatusBadRequest)
			var b errorBody
			mustJSON(t, r.body, &b)
			if b.Error.Code != CodeBadRequest || b.Error.Message != msgMeNeedsDelegated {
				t.Errorf("app-only GET %s: %s", path, r.body)
			}
		}
		e.do("PATCH", "/me", map[string]any{"mobilePhone": "1"}).want(t, http.StatusBadRequest)
	})
}

// TestUserReadBasicAll: with User.ReadBasic.All alone, other users show
// only their basic profile and cannot be filtered on anything else; the
// signed-in user's own profile is whole.
func TestUserReadBasicAll(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		ada := e.richUser()
		me := e.user("me@vigil.local")
		basic := e.signIn(me, pUserReadBasicAll)

		got := e.request(basic, "GET", "/users/"+ada+"?$select=displayName,jobTitle,businessPhones,accountEnabled,mail", nil).want(t, http.StatusOK)
		if got["displayName"] != "Ada Lovelace" || got["mail"] != "ada@vigil.local" || got["jobTitle"] != nil ||
			got["accountEnabled"] != nil || len(got["businessPhones"].([]any)) != 0 {
			t.Fatalf("basic profile: %v", got)
		}
		list := values(t, e.request(basic, "GET", "/users?$filter=startsWith(displayName,'Ada')", nil).want(t, http.StatusOK))
		if len(list) != 1 || list[0]["jobTitle"] != nil || list[0]["userPrincipalName"] != "ada@vigil.local" {
			t.Fatalf("basic list: %v", list)
		}
		for _, q := range []string{"/users?$filter=jobTitle eq 'Analyst'", `/users?$search="jobTitle:Analyst"`} {
			if r := e.request(basic, "GET", q, nil, eventual); r.status != http.StatusBadRequest || r.errorCode(t) != CodeUnsupportedQuery {
				t.Errorf("%s: %d %s", q, r.status, r.body)
			}
		}
		e.request(basic, "GET", "/users/$count?$filter=department eq 'Engines'", nil, eventual).want(t, http.StatusBadRequest)
		if self := e.request(basic, "GET", "/users/"+me+"?$select=accountEnabled", nil).want(t, http.StatusOK); self["accountEnabled"] != true {
			t.Fatalf("own profile: %v", self)
		}
		full := e.request(e.signIn(me, pUserReadBasicAll, pUserReadAll), "GET", "/users/"+ada+"?$select=jobTitle", nil).want(t, http.StatusOK)
		if full["jobTitle"] != "Analyst" {
			t.Fatalf("with User.Read.All: %v", full)
		}
	})
}

// TestRolesComeFromTheToken: a request is judged by the roles in its
// token's wids claim, not by the store: a role removed after sign-in
// still counts until the next token, as in Entra.
func TestRolesComeFromTheToken(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		ua := e.userWithRoles("ua@vigil.local", roleUserAdmin)
		before := e.signIn(ua, pUserReadWriteAll)
		assignments, err := e.dir.ListRoleAssignments(e.ctx, ua, "")
		if err != nil || len(assignments) != 1 {
			t.Fatalf("assignments %v, %v", assignments, err)
		}
		if err := e.dir.DeleteRoleAssignment(e.ctx, assignments[0].ID); err != nil {
			t.Fatal(err)
		}
		e.request(before, "POST", "/users", newUser("n1")).want(t, http.StatusCreated)
		e.request(e.signIn(ua, pUserReadWriteAll), "POST", "/users", newUser("n2")).want(t, http.StatusForbidden)
	})
}

// TestRoleAssignableGroupsAppOnly: an app-only token needs
// RoleManagement.ReadWrite.Directory to manage a role-assignable group's
// members; Group.ReadWrite.All "won't work", as Graph documents.
func TestRoleAssignableGroupsAppOnly(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		admins, team, u := e.group("Admins", true), e.group("Team", false), e.user("a@vigil.local")
		groupsOnly := e.appToken(pGroupReadWriteAll)
		e.request(groupsOnly, "POST", "/groups/"+admins+"/members/$ref", memberRef(u)).want(t, http.StatusForbidden)
		e.request(groupsOnly, "POST", "/groups/"+team+"/members/$ref", memberRef(u)).want(t, http.StatusNoContent)
		e.request(groupsOnly, "POST", "/groups", map[string]any{
			"displayName": "ra", "mailNickname": "ra", "mailEnabled": false, "securityEnabled": true, "isAssignableToRole": true,
		}).want(t, http.StatusForbidden)
		withRoles := e.appToken(pGroupMemberReadWriteAll, pRoleMgmtReadWrite)
		e.request(withRoles, "POST", "/groups/"+admins+"/members/$ref", memberRef(u)).want(t, http.StatusNoContent)
		if m := values(t, e.do("GET", "/groups/"+admins+"/members", nil).want(t, http.StatusOK)); len(m) != 1 || m[0]["id"] != u {
			t.Fatalf("members after the add: %v", m)
		}
		e.request(groupsOnly, "DELETE", "/groups/"+admins+"/members/"+u+"/$ref", nil).want(t, http.StatusForbidden)
		e.request(withRoles, "DELETE", "/groups/"+admins+"/members/"+u+"/$ref", nil).want(t, http.StatusNoContent)
	})
}

// TestCapabilityTable checks the role → capability table against the
// rules it encodes: every write capability belongs to an admin role, a
// Global Reader writes nothing, only a Global Administrator acts on
// privileged users, and the audit log readers are those Entra names.
func TestCapabilityTable(t *testing.T) {
	holders := func(c capability) []string {
		var out []string
		for name := range roleCapabilities {
			p := &authz.Principal{Kind: authz.Delegated, RoleTemplateIDs: []string{roleID(t, name)}}
			if capabilitiesOf(p).has(c) {
				out = append(out, name)
			}
		}
		slices.Sort(out)
		return out
	}
	tests := []struct {
		c    capability
		want []string
	}{
		{capWriteUsers, []string{roleGlobalAdmin, roleUserAdmin}},
		{capWriteGroups, []string{roleGlobalAdmin, roleGroupsAdmin, roleUserAdmin}},
		{capManageRoleAssignableGroups, []string{roleGlobalAdmin, rolePRA}},
		{capWriteRoleAssignments, []string{roleGlobalAdmin, rolePRA}},
		{capWriteApplications, []string{roleAppAdmin, "Cloud Application Administrator", roleGlobalAdmin}},
		{capGrantAppRoles, []string{roleAppAdmin, "Cloud Application Administrator", roleGlobalAdmin, rolePRA}},
		{capGrantBuiltinAppRoles, []string{roleGlobalAdmin, rolePRA}},
		{capWritePrivilegedUsers, []string{roleGlobalAdmin}},
		{capReadAuditLogs, []string{roleGlobalAdmin, roleGlobalReader, "Reports Reader", "Security Administrator", "Security Reader"}},
	}
	for _, tt := range tests {
		t.Run(tt.c.String(), func(t *testing.T) {
			if got := holders(tt.c); !slices.Equal(got, tt.want) {
				t.Fatalf("held by %v, want %v", got, tt.want)
			}
		})
	}

	// Every role (known or not) and no role at all get the member defaults;
	// app-only principals get nothing.
	for _, wids := range [][]string{nil, {"00000000-0000-0000-0000-000000000000"}, {strings.ToUpper(roleID(t, roleGlobalReader))}} {
		cs := capabilitiesOf(&authz.Principal{Kind: authz.Delegated, RoleTemplateIDs: wids})
		if !cs.has(capReadDirectory) || !cs.has(capSelfService) || cs.has(capWriteUsers) {
			t.Errorf("wids %v: %v", wids, cs)
		}
	}
	if cs := capabilitiesOf(&authz.Principal{Kind: authz.AppOnly, RoleTemplateIDs: []string{roleID(t, roleGlobalAdmin)}}); len(cs) != 0 {
		t.Errorf("app-only principal has capabilities %v", cs)
	}
}

// TestPrivilegedTarget: a user is a privileged target when any of their
// roles is outside the User Administrator's column of "Who can perform
// sensitive actions".
func TestPrivilegedTarget(t *testing.T) {
	tests := []struct {
		roles []string
		want  bool
	}{
		{nil, false},
		{[]string{roleHelpdesk, "Password Administrator", roleUserAdmin, roleGroupsAdmin, "Directory Readers"}, false},
		{[]string{"Guest Inviter", "Message Center Reader", "Reports Reader", "User Experience Success Manager", "Usage Summary Reports Reader"}, false},
		{[]string{roleGlobalAdmin}, true},
		{[]string{rolePRA}, true},
		{[]string{"Privileged Authentication Administrator"}, true},
		{[]string{"Authentication Administrator"}, true},
		{[]string{roleHelpdesk, roleGlobalReader}, true},
		{[]string{roleAppAdmin}, true},
		{[]string{"Security Reader"}, true},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.roles, ","), func(t *testing.T) {
			var ids []string
			for _, name := range tt.roles {
				ids = append(ids, strings.ToUpper(roleID(t, name)))
			}
			if got := privilegedTarget(ids); got != tt.want {
				t.Fatalf("privilegedTarget = %v, want %v", got, tt.want)
			}
		})
	}
	if !privilegedTarget([]string{"00000000-0000-0000-0000-000000000000"}) {
		t.Error("an unknown (custom) role is not privileged; Entra's table says all other roles are")
	}
}
