package graph

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vigil-idp/vigil/internal/authz"
)

var guidRE = regexp.MustCompile(`^` + guidPattern + `$`)

// values returns the value array of a collection response.
func values(t *testing.T, body map[string]any) []map[string]any {
	t.Helper()
	raw, ok := body["value"].([]any)
	if !ok {
		t.Fatalf("no value array in %v", body)
	}
	out := make([]map[string]any, len(raw))
	for i, v := range raw {
		out[i] = v.(map[string]any)
	}
	return out
}

// TestPagingFollowsNextLink pages through 250 users 100 at a time by
// following @odata.nextLink verbatim, as Graph clients must (reference
// §3.3), with and without $orderby, and checks @odata.count appears on the
// first page only.
func TestPagingFollowsNextLink(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		for i := range 250 {
			e.user(fmt.Sprintf("user%03d@vigil.local", i))
		}
		tests := []struct {
			name, first string
			desc        bool
		}{
			{"by id", "/users?$top=100&$select=id,userPrincipalName&$count=true", false},
			{"by userPrincipalName desc", "/users?$orderby=userPrincipalName%20desc&$top=100&$count=true", true},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				var sizes []int
				var upns []string
				seen := map[string]bool{}
				link := tt.first
				for page := 0; link != ""; page++ {
					body := e.do("GET", link, nil, eventual).want(t, http.StatusOK)
					if _, has := body["@odata.count"]; has != (page == 0) {
						t.Fatalf("page %d: @odata.count present = %v", page, has)
					}
					if page == 0 && body["@odata.count"] != float64(250) {
						t.Fatalf("@odata.count = %v, want 250", body["@odata.count"])
					}
					items := values(t, body)
					sizes = append(sizes, len(items))
					for _, u := range items {
						id := u["id"].(string)
						if seen[id] {
							t.Fatalf("user %s on two pages", id)
						}
						seen[id] = true
						upns = append(upns, u["userPrincipalName"].(string))
					}
					link, _ = body["@odata.nextLink"].(string)
					if link != "" && !strings.HasPrefix(link, e.base+"/users?") {
						t.Fatalf("nextLink %q is not under the Graph base", link)
					}
					if page > 5 {
						t.Fatal("paging does not end")
					}
				}
				if !slices.Equal(sizes, []int{100, 100, 50}) || len(seen) != 250 {
					t.Fatalf("page sizes %v, %d distinct users", sizes, len(seen))
				}
				sorted := slices.Sorted(slices.Values(upns))
				if tt.desc {
					slices.Reverse(sorted)
				}
				if tt.desc && !slices.Equal(upns, sorted) {
					t.Fatalf("not in descending order: %v…", upns[:5])
				}
			})
		}
	})
}

// TestSkipTokenTampering: a skip token only works, unchanged, on the query
// that issued it.
func TestSkipTokenTampering(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		for i := range 3 {
			e.user(fmt.Sprintf("u%d@vigil.local", i))
		}
		body := e.do("GET", "/users?$top=1", nil).want(t, http.StatusOK)
		link := body["@odata.nextLink"].(string)
		_, tok, _ := strings.Cut(link, "$skiptoken=")
		flipped := []byte(tok)
		flipped[len(flipped)/2] ^= 0x01
		if flipped[len(flipped)/2] == '-' || flipped[len(flipped)/2] == '_' {
			flipped[len(flipped)/2] = 'A'
		}
		for name, target := range map[string]string{
			"tampered":        "/users?$top=1&$skiptoken=" + string(flipped),
			"other filter":    "/users?$top=1&$filter=accountEnabled eq true&$skiptoken=" + tok,
			"other orderby":   "/users?$top=1&$orderby=displayName&$skiptoken=" + tok,
			"other entitySet": "/groups?$top=1&$skiptoken=" + tok,
		} {
			t.Run(name, func(t *testing.T) {
				r := e.do("GET", target, nil)
				r.want(t, http.StatusBadRequest)
				if c := r.errorCode(t); c != CodeRequestBadRequest {
					t.Fatalf("code %s", c)
				}
			})
		}
		// A different $top with the same query is fine: the cursor does not
		// depend on the page size.
		e.do("GET", "/users?$top=2&$skiptoken="+tok, nil).want(t, http.StatusOK)
	})
}

// TestUserLifecycle: create, read back by Location and by UPN in any case,
// PATCH with absent / null / value semantics, delete.
func TestUserLifecycle(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		r := e.do("POST", "/users", map[string]any{
			"accountEnabled": true, "displayName": "Ada", "mailNickname": "ada",
			"userPrincipalName": "Ada@Vigil.Local", "jobTitle": "Analyst",
			"passwordProfile": map[string]any{"password": "Engine-1843!"},
		})
		created := r.want(t, http.StatusCreated)
		id := created["id"].(string)
		if loc := r.header.Get("Location"); loc != e.base+"/users/"+id {
			t.Fatalf("Location %q", loc)
		}
		if _, leaked := created["passwordProfile"]; leaked {
			t.Fatal("passwordProfile returned")
		}
		for _, key := range []string{id, "ada@vigil.local", "ADA@VIGIL.LOCAL"} {
			got := e.do("GET", "/users/"+key, nil).want(t, http.StatusOK)
			if got["id"] != id {
				t.Fatalf("GET /users/%s = %v", key, got["id"])
			}
		}

		e.do("PATCH", "/users/ADA@vigil.local", map[string]any{"surname": "Lovelace"}).want(t, http.StatusNoContent)
		got := e.do("GET", "/users/"+id, nil).want(t, http.StatusOK)
		if got["surname"] != "Lovelace" || got["jobTitle"] != "Analyst" {
			t.Fatalf("after PATCH surname: %v", got)
		}
		e.do("PATCH", "/users/"+id, map[string]any{"jobTitle": nil}).want(t, http.StatusNoContent)
		e.do("GET", "/users/"+id+"?$select=jobTitle,surname,passwordProfile", nil).want(t, http.StatusBadRequest)
		got = e.do("GET", "/users/"+id+"?$select=jobTitle,surname", nil).want(t, http.StatusOK)
		if v, ok := got["jobTitle"]; !ok || v != nil || got["surname"] != "Lovelace" {
			t.Fatalf("after PATCH jobTitle null: %v", got)
		}

		e.do("DELETE", "/users/"+id, nil).want(t, http.StatusNoContent)
		r = e.do("GET", "/users/"+id, nil)
		r.want(t, http.StatusNotFound)
		if c := r.errorCode(t); c != CodeResourceNotFound {
			t.Fatalf("code %s", c)
		}
		e.do("DELETE", "/users/"+id, nil).want(t, http.StatusNotFound)
	})
}

// TestMembershipEndpoints: $ref with any Graph-shaped base, duplicates,
// removal, counts and transitive lists.
func TestMembershipEndpoints(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		outer, inner := e.group("outer", false), e.group("inner", false)
		u1, u2 := e.user("u1@vigil.local"), e.user("u2@vigil.local")
		ref := func(url string) map[string]any { return map[string]any{"@odata.id": url} }

		e.do("POST", "/groups/"+outer+"/members/$ref", ref("https://graph.microsoft.com/v1.0/directoryObjects/"+u1)).want(t, http.StatusNoContent)
		e.do("POST", "/groups/"+outer+"/members/$ref", ref(e.base+"/groups/"+inner)).want(t, http.StatusNoContent)
		e.do("POST", "/groups/"+inner+"/members/$ref", ref("https://graph.microsoft.com/v1.0/users/"+u2)).want(t, http.StatusNoContent)

		dup := e.do("POST", "/groups/"+outer+"/members/$ref", ref("https://graph.microsoft.com/v1.0/directoryObjects/"+u1))
		dup.want(t, http.StatusBadRequest)
		for _, bad := range []string{"https://graph.microsoft.com/v1.0/applications/" + u1, "not a url at all", ""} {
			e.do("POST", "/groups/"+outer+"/members/$ref", ref(bad)).want(t, http.StatusBadRequest)
		}
		e.do("POST", "/groups/"+outer+"/members/$ref", map[string]any{}).want(t, http.StatusBadRequest)
		e.do("POST", "/groups/"+outer+"/members/$ref", ref("https://graph.microsoft.com/v1.0/directoryObjects/00000000-0000-4000-8000-999999999999")).want(t, http.StatusNotFound)

		counts := map[string]string{
			"/groups/" + outer + "/members/$count":                                "2",
			"/groups/" + outer + "/transitiveMembers/$count":                      "3",
			"/groups/" + outer + "/transitiveMembers/microsoft.graph.user/$count": "2",
			"/groups/" + outer + "/members/microsoft.graph.user/$count":           "1",
		}
		for path, want := range counts {
			r := e.do("GET", path, nil, eventual)
			r.want(t, http.StatusOK)
			if string(r.body) != want || !strings.HasPrefix(r.header.Get("Content-Type"), "text/plain") {
				t.Errorf("%s = %q (%s), want %s", path, r.body, r.header.Get("Content-Type"), want)
			}
			e.do("GET", path, nil).want(t, http.StatusBadRequest) // needs ConsistencyLevel
		}
		// A type cast needs an advanced query (reference §3.4).
		e.do("GET", "/groups/"+outer+"/members/microsoft.graph.user", nil).want(t, http.StatusBadRequest)
		groups := values(t, e.do("GET", "/groups/"+outer+"/members/microsoft.graph.group?$count=true", nil, eventual).want(t, http.StatusOK))
		if len(groups) != 1 || groups[0]["id"] != inner {
			t.Fatalf("group cast: %v", groups)
		}

		// memberOf, direct and transitive.
		direct := values(t, e.do("GET", "/users/"+u2+"/memberOf", nil).want(t, http.StatusOK))
		transitive := values(t, e.do("GET", "/users/u2@VIGIL.local/transitiveMemberOf", nil).want(t, http.StatusOK))
		if len(direct) != 1 || len(transitive) != 2 {
			t.Fatalf("memberOf %d, transitiveMemberOf %d; want 1, 2", len(direct), len(transitive))
		}
		parents := values(t, e.do("GET", "/groups/"+inner+"/memberOf", nil).want(t, http.StatusOK))
		if len(parents) != 1 || parents[0]["id"] != outer || parents[0]["@odata.type"] != "#microsoft.graph.group" {
			t.Fatalf("group memberOf: %v", parents)
		}

		// Removal.
		e.do("DELETE", "/groups/"+outer+"/members/"+u1+"/$ref", nil).want(t, http.StatusNoContent)
		e.do("DELETE", "/groups/"+outer+"/members/"+u1+"/$ref", nil).want(t, http.StatusNotFound)
		r := e.do("GET", "/groups/"+outer+"/members/$count", nil, eventual)
		if r.want(t, http.StatusOK); string(r.body) != "1" {
			t.Fatalf("count after removal %s", r.body)
		}
		e.do("GET", "/groups/00000000-0000-4000-8000-999999999999/members", nil).want(t, http.StatusNotFound)
	})
}

// TestGraphHeaders checks the headers every response carries and that the
// error envelope repeats the request ids (reference §3.6).
func TestGraphHeaders(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		ok := e.do("GET", "/users", nil, "client-request-id: my-trace-42")
		ok.want(t, http.StatusOK)
		if id := ok.header.Get("request-id"); !guidRE.MatchString(id) {
			t.Fatalf("request-id %q is not a GUID", id)
		}
		if got := ok.header.Get("client-request-id"); got != "my-trace-42" {
			t.Fatalf("client-request-id %q not echoed", got)
		}
		for h, want := range map[string]string{"Cache-Control": "no-cache", "OData-Version": "4.0", "Content-Type": jsonContentType} {
			if got := ok.header.Get(h); got != want {
				t.Errorf("%s = %q, want %q", h, got, want)
			}
		}
		bad := e.do("GET", "/users/nobody@vigil.local", nil)
		bad.want(t, http.StatusNotFound)
		if bad.header.Get("client-request-id") != bad.header.Get("request-id") {
			t.Fatal("without a client-request-id, it must equal request-id")
		}
		var env errorBody
		mustJSON(t, bad.body, &env)
		if env.Error.InnerError.RequestID != bad.header.Get("request-id") ||
			env.Error.InnerError.ClientRequestID != bad.header.Get("client-request-id") {
			t.Fatalf("innerError %+v does not match the headers", env.Error.InnerError)
		}
		if !regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$`).MatchString(env.Error.InnerError.Date) {
			t.Fatalf("innerError.date %q", env.Error.InnerError.Date)
		}
		if a, b := e.do("GET", "/users", nil).header.Get("request-id"), ok.header.Get("request-id"); a == b {
			t.Fatal("request-id repeated across requests")
		}
	})
}

// concreteRoute is a route with its wildcards filled in.
type concreteRoute struct {
	method, path string
	access       access
}

// concreteRoutes lists every route of e's API, /v1.0 and /beta, with its
// wildcards filled in: id, or user on the /users/{id} routes. Paths of
// /v1.0 are relative to the Graph base, those of /beta absolute.
func concreteRoutes(e *env, id, user string) []concreteRoute {
	var out []concreteRoute
	api := &API{Directory: e.dir, Revocations: e.rev, Audit: e.st}
	fill := func(prefix string, rts []route) {
		for _, rt := range rts {
			v := id
			if strings.HasPrefix(rt.path, "/users/{id}") {
				v = user
			}
			p := prefix + regexp.MustCompile(`\{[^}]+\}`).ReplaceAllString(rt.path, v)
			out = append(out, concreteRoute{rt.method, p, rt.access})
		}
	}
	fill("", api.routes())
	fill(e.issuer+prefixBeta, api.betaRoutes())
	return out
}

// revokesSessions reports whether a route is a revoke action, which a user
// may call on their own account without a role.
func revokesSessions(rt concreteRoute) bool {
	return strings.HasSuffix(rt.path, "SignInSessions") || strings.HasSuffix(rt.path, "RefreshTokens")
}

// TestEveryRouteIsProtected: no route answers without a valid token; none
// but $batch (whose inner requests are authorized on their own) answers an
// app-only token without a permission (the /me routes answer app-only
// tokens 400, as Graph does) or a delegated token without a Graph
// permission; and for a delegated token holding every Graph permission
// for a user without a directory role, no write answers but PATCH /me and
// revoking the user's own sessions, and no read refuses but the audit log.
func TestEveryRouteIsProtected(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		id := e.user("a@vigil.local")
		var scopes []string
		for _, p := range authz.GraphPermissions() {
			if p.ScopeID != "" {
				scopes = append(scopes, p.Name)
			}
		}
		// refusal returns the status every request on rt must get, or 0
		// when rt must not refuse (neither 401 nor 403).
		type refusal func(rt concreteRoute) int
		always := func(status int) refusal { return func(concreteRoute) int { return status } }
		appOnly := func(rt concreteRoute) int {
			if rt.access.me {
				return http.StatusBadRequest
			}
			return http.StatusForbidden
		}
		noRole := func(rt concreteRoute) int {
			switch {
			case rt.method == "GET" && strings.HasPrefix(rt.path, "/auditLogs"):
				return http.StatusForbidden
			case rt.method == "GET" || rt.access.me || revokesSessions(rt):
				return 0
			}
			return http.StatusForbidden
		}
		fixed := fixedToken
		tokens := []struct {
			name  string
			token func() string // a delegated token is new for each route: revoking oneself kills it
			want  refusal
		}{
			{"no token", fixed(""), always(http.StatusUnauthorized)},
			{"bad token", fixed("eyJhbGciOiJub25lIn0.e30."), always(http.StatusUnauthorized)},
			{"expired token", fixed(e.token(map[string]any{"exp": t0.Add(-time.Hour).Unix(), "iat": t0.Add(-2 * time.Hour).Unix()})), always(http.StatusUnauthorized)},
			{"other audience", fixed(e.token(map[string]any{"aud": "api://other"})), always(http.StatusUnauthorized)},
			{"no permissions", fixed(e.appToken()), appOnly},
			{"Vigil permissions only", fixed(e.appToken(authz.PermRevocationsReadWriteAll)), appOnly},
			{"delegated, no Graph permission", e.signInLater(id, "openid", "offline_access"), always(http.StatusForbidden)},
			{"delegated, every permission, no role", e.signInLater(id, scopes...), noRole},
		}
		for _, tok := range tokens {
			t.Run(tok.name, func(t *testing.T) {
				for _, rt := range concreteRoutes(e, id, id) {
					r := e.request(tok.token(), rt.method, rt.path, map[string]any{})
					want := tok.want(rt)
					if rt.access.anyCaller && want != http.StatusUnauthorized {
						want = 0
					}
					switch {
					case want == 0 && (r.status == http.StatusUnauthorized || r.status == http.StatusForbidden):
						t.Errorf("%s %s: refused %d: %s", rt.method, rt.path, r.status, r.body)
					case want != 0 && r.status != want:
						t.Errorf("%s %s: %d, want %d: %s", rt.method, rt.path, r.status, want, r.body)
					}
				}
			})
		}
	})
}

// TestPermissionTable checks single permissions against the routes Graph
// documents for them.
func TestPermissionTable(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		u, g := e.user("a@vigil.local"), e.group("g", false)
		_, app, sp := e.app("Payroll")
		tests := []struct {
			perm, method, path string
			allowed            bool
		}{
			{pUserReadAll, "GET", "/users", true},
			{pUserReadAll, "GET", "/users/" + u + "/memberOf", true},
			{pUserReadAll, "DELETE", "/users/" + u, false},
			{pUserReadAll, "GET", "/groups", false},
			{pUserReadWriteAll, "PATCH", "/users/" + u, true},
			{pGroupReadAll, "GET", "/groups/" + g + "/members", true},
			{pGroupReadAll, "POST", "/groups/" + g + "/members/$ref", false},
			{pGroupMemberReadWriteAll, "POST", "/groups/" + g + "/members/$ref", true},
			{pGroupMemberReadWriteAll, "PATCH", "/groups/" + g, false},
			{pDirectoryReadAll, "GET", "/applications", true},
			{pDirectoryReadAll, "POST", "/users", false},
			{pDirectoryReadWriteAll, "POST", "/users", true},
			{pDirectoryReadWriteAll, "POST", "/roleManagement/directory/roleAssignments", false},
			{pDirectoryReadWriteAll, "POST", "/applications/" + app + "/addPassword", false},
			{pRoleMgmtRead, "GET", "/directoryRoles", true},
			{pRoleMgmtRead, "POST", "/roleManagement/directory/roleAssignments", false},
			{pRoleMgmtReadWrite, "POST", "/roleManagement/directory/roleAssignments", true},
			{pApplicationReadAll, "GET", "/servicePrincipals/" + sp + "/appRoleAssignments", true},
			{pApplicationReadAll, "POST", "/applications/" + app + "/addPassword", false},
			{pApplicationReadWriteAll, "POST", "/applications/" + app + "/addPassword", true},
			{pApplicationReadWriteAll, "POST", "/servicePrincipals/" + sp + "/appRoleAssignments", true},
			{pApplicationReadAll, "POST", "/servicePrincipals/" + sp + "/appRoleAssignments", false},
			{pApplicationReadAll, "GET", "/servicePrincipals/" + sp + "/appRoleAssignedTo", true},
			{pUserReadAll, "GET", "/servicePrincipals/" + sp + "/appRoleAssignedTo", false},
			{pApplicationReadAll, "POST", "/servicePrincipals/" + sp + "/appRoleAssignedTo", false},
			{pApplicationReadAll, "DELETE", "/servicePrincipals/" + sp + "/appRoleAssignedTo/" + sp, false},
			{pGroupReadWriteAll, "DELETE", "/applications/" + app, false},
			{pUserRevokeSessionsAll, "POST", "/users/" + u + "/revokeSignInSessions", true},
			{pUserRevokeSessionsAll, "GET", "/users", false},
			{pUserReadWriteAll, "POST", "/users/" + u + "/microsoft.graph.revokeSignInSessions", true},
			{pUserReadAll, "POST", "/users/" + u + "/revokeSignInSessions", false},
			{pAuditLogReadAll, "GET", "/auditLogs/directoryAudits", true},
			{pAuditLogReadAll, "GET", "/users", false},
			{pDirectoryReadAll, "GET", "/auditLogs/directoryAudits", false},
		}
		for _, tt := range tests {
			t.Run(tt.perm+" "+tt.method+" "+tt.path, func(t *testing.T) {
				r := e.request(e.appToken(tt.perm), tt.method, tt.path, map[string]any{})
				if denied := r.status == http.StatusForbidden; denied == tt.allowed {
					t.Fatalf("status %d, allowed %v: %s", r.status, tt.allowed, r.body)
				}
			})
		}
	})
}

// TestApplicationsAndServicePrincipals: app lifecycle with secrets, app
// role grants by GUID and by name, and the alternate keys.
func TestApplicationsAndServicePrincipals(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		created := e.do("POST", "/applications", map[string]any{"displayName": "Payroll"}).want(t, http.StatusCreated)
		obj, appID := created["id"].(string), created["appId"].(string)

		e.do("PATCH", "/applications/"+obj, map[string]any{
			"web":          map[string]any{"redirectUris": []string{"https://payroll.example/cb"}},
			"publicClient": nil,
		}).want(t, http.StatusNoContent)
		got := e.do("GET", "/applications(appId='"+appID+"')?$select=id,web", nil).want(t, http.StatusOK)
		if got["id"] != obj || fmt.Sprint(got["web"]) != "map[redirectUris:[https://payroll.example/cb]]" {
			t.Fatalf("after PATCH: %v", got)
		}

		secret := e.do("POST", "/applications(appId='"+appID+"')/addPassword",
			map[string]any{"passwordCredential": map[string]any{"displayName": "ci"}}).want(t, http.StatusOK)
		text, _ := secret["secretText"].(string)
		if len(text) < 16 || !strings.HasPrefix(text, secret["hint"].(string)) {
			t.Fatalf("secretText %q hint %v", text, secret["hint"])
		}
		listed := e.do("GET", "/applications/"+obj, nil).want(t, http.StatusOK)
		creds := listed["passwordCredentials"].([]any)
		if len(creds) != 1 || creds[0].(map[string]any)["secretText"] != nil {
			t.Fatalf("passwordCredentials %v", creds)
		}
		e.do("POST", "/applications/"+obj+"/removePassword", map[string]any{"keyId": secret["keyId"]}).want(t, http.StatusNoContent)
		e.do("POST", "/applications/"+obj+"/removePassword", map[string]any{"keyId": secret["keyId"]}).want(t, http.StatusNotFound)
		e.do("POST", "/applications/"+obj+"/addPassword", map[string]any{}).want(t, http.StatusBadRequest)

		spBody := e.do("POST", "/servicePrincipals", map[string]any{"appId": appID}).want(t, http.StatusCreated)
		sp := spBody["id"].(string)
		if r := e.do("POST", "/servicePrincipals", map[string]any{"appId": appID}); r.status < 400 {
			t.Fatalf("duplicate service principal: %d", r.status)
		}
		e.do("GET", "/servicePrincipals(appId='"+appID+"')", nil).want(t, http.StatusOK)

		graphSP := e.graphSP()
		byName := e.do("POST", "/servicePrincipals/"+sp+"/appRoleAssignments", map[string]any{
			"principalId": sp, "resourceId": graphSP, "appRoleId": "Group.Read.All",
		}).want(t, http.StatusCreated)
		if byName["appRoleId"] != "5b567255-7703-4780-807c-7be8301ae99b" {
			t.Fatalf("grant by name gave appRoleId %v", byName["appRoleId"])
		}
		e.do("POST", "/servicePrincipals/"+sp+"/appRoleAssignments", map[string]any{
			"principalId": graphSP, "resourceId": graphSP, "appRoleId": userReadAllRoleID,
		}).want(t, http.StatusBadRequest)
		e.do("POST", "/servicePrincipals/"+sp+"/appRoleAssignments", map[string]any{
			"principalId": sp, "resourceId": graphSP, "appRoleId": "00000000-0000-4000-8000-999999999999",
		}).want(t, http.StatusBadRequest)
		e.do("DELETE", "/servicePrincipals/"+sp+"/appRoleAssignments/"+byName["id"].(string), nil).want(t, http.StatusNoContent)
		if left := values(t, e.do("GET", "/servicePrincipals/"+sp+"/appRoleAssignments", nil).want(t, http.StatusOK)); len(left) != 0 {
			t.Fatalf("assignments left: %v", left)
		}

		// The same grants seen from the resource: appRoleAssignedTo.
		assignedTo := "/servicePrincipals/" + graphSP + "/appRoleAssignedTo"
		onGraph := e.do("POST", assignedTo, map[string]any{
			"principalId": sp, "resourceId": graphSP, "appRoleId": "Group.Read.All",
		}).want(t, http.StatusCreated)
		if onGraph["principalId"] != sp || onGraph["resourceId"] != graphSP || onGraph["principalDisplayName"] != "Payroll" ||
			onGraph["resourceDisplayName"] != "Microsoft Graph" || !strings.HasSuffix(onGraph["@odata.context"].(string), "servicePrincipals('"+graphSP+"')/appRoleAssignedTo/$entity") {
			t.Fatalf("grant through appRoleAssignedTo: %v", onGraph)
		}
		onResource := values(t, e.do("GET", assignedTo, nil).want(t, http.StatusOK))
		found := false
		for _, g := range onResource {
			found = found || g["id"] == onGraph["id"]
		}
		if !found {
			t.Fatalf("appRoleAssignedTo of Graph lacks the grant: %v", onResource)
		}
		if held := values(t, e.do("GET", "/servicePrincipals/"+sp+"/appRoleAssignments", nil).want(t, http.StatusOK)); len(held) != 1 || held[0]["id"] != onGraph["id"] {
			t.Fatalf("the principal does not hold the grant made on the resource: %v", held)
		}
		e.do("POST", assignedTo, map[string]any{ // resourceId must be the addressed resource
			"principalId": sp, "resourceId": sp, "appRoleId": "Group.Read.All",
		}).want(t, http.StatusBadRequest)
		e.do("DELETE", "/servicePrincipals/"+sp+"/appRoleAssignedTo/"+onGraph["id"].(string), nil).want(t, http.StatusNotFound) // not a grant on sp
		e.do("DELETE", assignedTo+"/"+onGraph["id"].(string), nil).want(t, http.StatusNoContent)
		e.do("DELETE", assignedTo+"/"+onGraph["id"].(string), nil).want(t, http.StatusNotFound)
		if held := values(t, e.do("GET", "/servicePrincipals/"+sp+"/appRoleAssignments", nil).want(t, http.StatusOK)); len(held) != 0 {
			t.Fatalf("grant left after DELETE appRoleAssignedTo: %v", held)
		}

		e.do("DELETE", "/servicePrincipals/"+sp, nil).want(t, http.StatusNoContent)
		e.do("DELETE", "/applications/"+obj, nil).want(t, http.StatusNoContent)
		e.do("GET", "/applications(appId='"+appID+"')", nil).want(t, http.StatusNotFound)
		e.do("GET", "/applications(displayName='x')", nil).want(t, http.StatusBadRequest)
	})
}

// TestRoleEndpoints: role assignment lifecycle and directory role lookups.
func TestRoleEndpoints(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		u := e.user("a@vigil.local")
		ra := e.do("POST", "/roleManagement/directory/roleAssignments", map[string]any{
			"principalId": u, "roleDefinitionId": globalAdminTemplate, "directoryScopeId": "/",
		}).want(t, http.StatusCreated)
		id := ra["id"].(string)
		e.do("GET", "/roleManagement/directory/roleAssignments/"+id, nil).want(t, http.StatusOK)
		byRole := values(t, e.do("GET", "/roleManagement/directory/roleAssignments?$filter=roleDefinitionId eq '"+globalAdminTemplate+"'", nil).want(t, http.StatusOK))
		if len(byRole) != 1 || byRole[0]["principalId"] != u {
			t.Fatalf("by role: %v", byRole)
		}
		e.do("GET", "/roleManagement/directory/roleAssignments?$filter=principalId ne '"+u+"'", nil).want(t, http.StatusBadRequest)
		e.do("GET", "/roleManagement/directory/roleAssignments?$filter=principalId eq '"+u+"' or roleDefinitionId eq '"+u+"'", nil).want(t, http.StatusBadRequest)
		e.do("POST", "/roleManagement/directory/roleAssignments", map[string]any{
			"principalId": u, "roleDefinitionId": globalAdminTemplate,
		}).want(t, http.StatusBadRequest)

		members := values(t, e.do("GET", "/directoryRoles(roleTemplateId='"+globalAdminTemplate+"')/members", nil).want(t, http.StatusOK))
		if len(members) != 1 || members[0]["id"] != u {
			t.Fatalf("role members: %v", members)
		}
		role := e.do("GET", "/directoryRoles/"+globalAdminTemplate, nil).want(t, http.StatusOK)
		e.do("GET", "/directoryRoles/"+role["id"].(string), nil).want(t, http.StatusOK)

		e.do("DELETE", "/roleManagement/directory/roleAssignments/"+id, nil).want(t, http.StatusNoContent)
		e.do("GET", "/roleManagement/directory/roleAssignments/"+id, nil).want(t, http.StatusNotFound)
		e.do("GET", "/directoryRoles(roleTemplateId='00000000-0000-4000-8000-999999999999')", nil).want(t, http.StatusNotFound)
		e.do("GET", "/roleManagement/directory/roleDefinitions/00000000-0000-4000-8000-999999999999", nil).want(t, http.StatusNotFound)
	})
}

// TestSearchAndFilter runs queries through to the store.
func TestSearchAndFilter(t *testing.T) {
	eachEnv(t, func(t *testing.T, e *env) {
		e.richUser()
		e.user("bob@vigil.local")
		tests := []struct {
			query string
			hdr   []string
			want  int
		}{
			{`/users?$search="displayName:lovelace"`, []string{eventual}, 1},
			{`/users?$search="displayName:user"`, []string{eventual}, 1},
			{"/users?$filter=startsWith(userPrincipalName,'ADA')", nil, 1},
			{"/users?$filter=endsWith(userPrincipalName,'@vigil.local')&$count=true", []string{eventual}, 2},
			{"/users?$filter=jobTitle eq null", nil, 1},
			{"/users?$filter=userPrincipalName in ('ada@vigil.local','bob@vigil.local')", nil, 2},
			{"/users?$filter=accountEnabled ne false and not(department eq 'Engines')&$count=true", []string{eventual}, 1},
			{"/groups?$filter=securityEnabled eq true", nil, 0},
		}
		for _, tt := range tests {
			t.Run(tt.query, func(t *testing.T) {
				got := values(t, e.do("GET", tt.query, nil, tt.hdr...).want(t, http.StatusOK))
				if len(got) != tt.want {
					t.Fatalf("%d results, want %d: %v", len(got), tt.want, got)
				}
			})
		}
	})
}

// TestPanicBecomesGeneralException: a panic is logged and answered with a
// 500 envelope that reveals nothing.
func TestPanicBecomesGeneralException(t *testing.T) {
	a := &API{BaseURL: "http://x/v1.0", Logger: slog.New(slog.DiscardHandler)}
	h := a.withRequestIDs(a.recoverPanics(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		panic("secret internal detail")
	})))
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", "/v1.0/users", nil))
	var b errorBody
	mustJSON(t, w.Body.Bytes(), &b)
	if w.Code != http.StatusInternalServerError || b.Error.Code != CodeGeneralException ||
		strings.Contains(w.Body.String(), "secret") || b.Error.InnerError.RequestID == "" {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
}
