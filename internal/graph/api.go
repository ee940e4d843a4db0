package graph

import (
	"log/slog"
	"net/http"
	"path"
	"strings"
	"sync"
	"time"

	"github.com/vigil-idp/vigil/internal/authz"
	"github.com/vigil-idp/vigil/internal/directory"
	"github.com/vigil-idp/vigil/internal/routelabel"
	"github.com/vigil-idp/vigil/internal/store"
)

// Directory is everything the Graph API needs from the directory, one
// small interface per resource. *directory.Service satisfies it.
type Directory interface {
	UserDirectory
	GroupDirectory
	MembershipDirectory
	RoleDirectory
	ApplicationDirectory
	ServicePrincipalDirectory
}

var _ Directory = (*directory.Service)(nil)

// API is the Microsoft-Graph-compatible HTTP API served at <issuer>/v1.0.
// Build it as a struct literal and Mount it; do not copy it after first
// use.
type API struct {
	// Directory applies the business rules. Required.
	Directory Directory
	// Auth verifies bearer tokens. Required. The server passes a
	// liveauth.Checked, so that revoked delegated tokens are refused at
	// once.
	Auth Authenticator
	// BaseURL is the absolute Graph base URL, e.g.
	// "http://127.0.0.1:8080/v1.0": the prefix of @odata.context,
	// @odata.nextLink and Location. Required.
	BaseURL string
	// Now is the clock for innerError.date; nil means time.Now.
	Now func() time.Time
	// Logger receives request failures tagged with the request id; nil
	// means slog.Default().
	Logger *slog.Logger
	// MaxBodyBytes bounds request bodies; 0 means DefaultMaxBodyBytes
	// (1 MiB). Larger bodies are answered 413.
	MaxBodyBytes int64
	// NewRequestID returns the request-id of a new request; nil means a
	// random (v4) GUID, as Graph sends.
	NewRequestID func() string
	// Revocations serves the revoke actions (revokeSignInSessions and
	// beta invalidateAllRefreshTokens); *revocation.Service satisfies it.
	// When nil those routes are not served.
	Revocations Revoker
	// Audit serves /auditLogs/directoryAudits; a store.Audit (the store)
	// satisfies it. When nil those routes are not served.
	Audit AuditLog

	once    sync.Once
	handler http.Handler
	mux     *http.ServeMux
}

// route is one Graph endpoint: a method and a path under /v1.0 (Go 1.22
// ServeMux syntax), the permissions it needs and its handler. Handlers
// return errors; endpoint renders them with writeError.
type route struct {
	method string
	path   string
	access access
	handle handler
}

// routes is the route table of the API.
func (a *API) routes() []route {
	users, groups, apps, sps := a.users(), a.groups(), a.applications(), a.servicePrincipals()
	rts := []route{
		{"GET", "/users", usersRead, users.listHandler(a)},
		{"POST", "/users", usersWrite, users.createHandler(a)},
		{"GET", "/users/$count", usersRead, users.countHandler()},
		{"GET", "/users/{id}", usersRead, users.getHandler(a)},
		{"PATCH", "/users/{id}", usersWrite, users.updateHandler(a)},
		{"DELETE", "/users/{id}", usersWrite, users.deleteHandler()},
		{"GET", "/users/{id}/memberOf", userMemberOfRead, a.memberOf(false)},
		{"GET", "/users/{id}/transitiveMemberOf", userMemberOfRead, a.memberOf(true)},

		{"GET", "/me", meRead, asMe(users.getHandler(a))},
		{"PATCH", "/me", meWrite, a.updateMe},
		{"POST", "/me/changePassword", meChangePassword, a.changePassword},
		{"POST", "/me/microsoft.graph.changePassword", meChangePassword, a.changePassword},
		{"GET", "/me/memberOf", meMemberOf, asMe(a.memberOf(false))},
		{"GET", "/me/transitiveMemberOf", meMemberOf, asMe(a.memberOf(true))},

		{"GET", "/groups", groupsRead, groups.listHandler(a)},
		{"POST", "/groups", groupCreate, groups.createHandler(a)},
		{"GET", "/groups/$count", groupsRead, groups.countHandler()},
		{"GET", "/groups/{id}", groupsRead, groups.getHandler(a)},
		{"PATCH", "/groups/{id}", groupsWrite, groups.updateHandler(a)},
		{"DELETE", "/groups/{id}", groupsWrite, groups.deleteHandler()},
		{"GET", "/groups/{id}/memberOf", membersRead, a.memberOf(false)},
		{"GET", "/groups/{id}/transitiveMemberOf", membersRead, a.memberOf(true)},
		{"GET", "/groups/{id}/members", membersRead, a.memberList(memberRoute{})},
		{"GET", "/groups/{id}/members/$count", membersRead, a.memberList(memberRoute{count: true})},
		{"GET", "/groups/{id}/members/microsoft.graph.user", membersRead, a.memberList(memberRoute{cast: store.KindUser})},
		{"GET", "/groups/{id}/members/microsoft.graph.user/$count", membersRead, a.memberList(memberRoute{cast: store.KindUser, count: true})},
		{"GET", "/groups/{id}/members/microsoft.graph.group", membersRead, a.memberList(memberRoute{cast: store.KindGroup})},
		{"GET", "/groups/{id}/transitiveMembers", membersRead, a.memberList(memberRoute{transitive: true})},
		{"GET", "/groups/{id}/transitiveMembers/$count", membersRead, a.memberList(memberRoute{transitive: true, count: true})},
		{"GET", "/groups/{id}/transitiveMembers/microsoft.graph.user", membersRead, a.memberList(memberRoute{transitive: true, cast: store.KindUser})},
		{"GET", "/groups/{id}/transitiveMembers/microsoft.graph.user/$count", membersRead, a.memberList(memberRoute{transitive: true, cast: store.KindUser, count: true})},
		{"GET", "/groups/{id}/transitiveMembers/microsoft.graph.group", membersRead, a.memberList(memberRoute{transitive: true, cast: store.KindGroup})},
		{"POST", "/groups/{id}/members/$ref", membersWrite, a.addMember},
		{"DELETE", "/groups/{id}/members/{memberId}/$ref", membersWrite, a.removeMember},

		{"GET", "/roleManagement/directory/roleDefinitions", rolesRead, a.listRoleDefinitions},
		{"GET", "/roleManagement/directory/roleDefinitions/{id}", rolesRead, a.getRoleDefinition},
		{"GET", "/roleManagement/directory/roleAssignments", rolesRead, a.listRoleAssignments},
		{"POST", "/roleManagement/directory/roleAssignments", rolesWrite, a.createRoleAssignment},
		{"GET", "/roleManagement/directory/roleAssignments/{id}", rolesRead, a.getRoleAssignment},
		{"DELETE", "/roleManagement/directory/roleAssignments/{id}", rolesWrite, a.deleteRoleAssignment},
		{"GET", "/directoryRoles", rolesRead, a.listDirectoryRoles},
		{"GET", "/directoryRoles/{id}", rolesRead, a.getDirectoryRole},
		{"GET", "/directoryRoles/{id}/members", rolesRead, a.listDirectoryRoleMembers},

		{"GET", "/applications", appsRead, apps.listHandler(a)},
		{"POST", "/applications", appsWrite, apps.createHandler(a)},
		{"GET", "/applications/$count", appsRead, apps.countHandler()},
		{"GET", "/applications/{id}", appsRead, apps.getHandler(a)},
		{"PATCH", "/applications/{id}", appsWrite, apps.updateHandler(a)},
		{"DELETE", "/applications/{id}", appsWrite, apps.deleteHandler()},
		{"POST", "/applications/{id}/addPassword", appsWrite, a.addPassword},
		{"POST", "/applications/{id}/microsoft.graph.addPassword", appsWrite, a.addPassword},
		{"POST", "/applications/{id}/removePassword", appsWrite, a.removePassword},
		{"POST", "/applications/{id}/microsoft.graph.removePassword", appsWrite, a.removePassword},

		{"GET", "/servicePrincipals", appsRead, sps.listHandler(a)},
		{"POST", "/servicePrincipals", appsWrite, sps.createHandler(a)},
		{"GET", "/servicePrincipals/$count", appsRead, sps.countHandler()},
		{"GET", "/servicePrincipals/{id}", appsRead, sps.getHandler(a)},
		{"DELETE", "/servicePrincipals/{id}", appsWrite, sps.deleteHandler()},
		{"GET", "/servicePrincipals/{id}/appRoleAssignments", appsRead, a.listAppRoleAssignments},
		{"POST", "/servicePrincipals/{id}/appRoleAssignments", appRoleAssignmentsWrite, a.grantAppRole},
		{"DELETE", "/servicePrincipals/{id}/appRoleAssignments/{assignmentId}", appRoleAssignmentsWrite, a.revokeAppRole},
		{"GET", "/servicePrincipals/{id}/appRoleAssignedTo", appsRead, a.listAppRoleAssignedTo},
		{"POST", "/servicePrincipals/{id}/appRoleAssignedTo", appRoleAssignmentsWrite, a.grantAppRoleAssignedTo},
		{"DELETE", "/servicePrincipals/{id}/appRoleAssignedTo/{assignmentId}", appRoleAssignmentsWrite, a.revokeAppRoleAssignedTo},

		{"POST", "/$batch", batchAccess, a.batch},
	}
	if a.Revocations != nil {
		rts = append(rts,
			route{"POST", "/users/{id}/revokeSignInSessions", revokeSessions, a.revokeSignInSessions},
			route{"POST", "/users/{id}/microsoft.graph.revokeSignInSessions", revokeSessions, a.revokeSignInSessions},
			route{"POST", "/me/revokeSignInSessions", meRevokeSessions, asMe(a.revokeSignInSessions)},
			route{"POST", "/me/microsoft.graph.revokeSignInSessions", meRevokeSessions, asMe(a.revokeSignInSessions)},
		)
	}
	if a.Audit != nil {
		rts = append(rts,
			route{"GET", "/auditLogs/directoryAudits", auditRead, a.listDirectoryAudits},
			route{"GET", "/auditLogs/directoryAudits/{id}", auditRead, a.getDirectoryAudit},
		)
	}
	return rts
}

// betaRoutes is the route table under /beta: only the legacy
// invalidateAllRefreshTokens action (reference §1.6). Every other /beta
// path is answered as an unknown path under /v1.0 is: 400 "Resource not
// found for the segment".
func (a *API) betaRoutes() []route {
	if a.Revocations == nil {
		return nil
	}
	return []route{
		{"POST", "/users/{id}/invalidateAllRefreshTokens", invalidateRefreshTokens, a.invalidateAllRefreshTokens},
		{"POST", "/users/{id}/microsoft.graph.invalidateAllRefreshTokens", invalidateRefreshTokens, a.invalidateAllRefreshTokens},
		{"POST", "/me/invalidateAllRefreshTokens", meInvalidateRefreshTokens, asMe(a.invalidateAllRefreshTokens)},
		{"POST", "/me/microsoft.graph.invalidateAllRefreshTokens", meInvalidateRefreshTokens, asMe(a.invalidateAllRefreshTokens)},
	}
}

// API versions: the path prefixes the API serves.
const (
	prefixV1   = "/v1.0"
	prefixBeta = "/beta"
)

// Mount registers the API under /v1.0/ and /beta/ on mux. It panics when a
// required field is missing, like a ServeMux panics on a bad pattern: both
// are wiring mistakes.
func (a *API) Mount(mux *http.ServeMux) {
	mux.Handle(prefixV1+"/", a.Handler())
	mux.Handle(prefixBeta+"/", a.Handler())
}

// Handler returns the API as one handler for paths under /v1.0/ and
// /beta/, with the Graph middleware: request ids, panic recovery,
// authentication, body limit; then key-segment rewriting and routing.
// $batch dispatches its inner requests through it.
func (a *API) Handler() http.Handler {
	a.once.Do(a.build)
	return a.handler
}

func (a *API) build() {
	switch {
	case a.Directory == nil:
		panic("graph: API.Directory is required")
	case a.Auth == nil:
		panic("graph: API.Auth is required")
	case a.BaseURL == "":
		panic("graph: API.BaseURL is required")
	}
	a.mux = http.NewServeMux()
	for _, rt := range a.routes() {
		a.mux.Handle(rt.method+" "+prefixV1+rt.path, a.endpoint(rt))
	}
	for _, rt := range a.betaRoutes() {
		a.mux.Handle(rt.method+" "+prefixBeta+rt.path, a.endpoint(rt))
	}
	var h http.Handler = http.HandlerFunc(a.dispatch)
	h = a.limitBodies(h)
	h = a.authenticate(h)
	h = a.recoverPanics(h)
	a.handler = a.withRequestIDs(h)
}

// endpoint checks the route's access (permissions.go), attributes a write
// to its caller (withInitiator), runs the route's handler and renders any
// error it returns.
func (a *API) endpoint(rt route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, _ := authz.FromContext(r.Context())
		if err := rt.access.check(p); err != nil {
			a.writeError(w, r, err)
			return
		}
		if r.Method != http.MethodGet && !rt.access.anyCaller {
			r2, err := a.withInitiator(r)
			if err != nil {
				a.writeError(w, r, err)
				return
			}
			r = r2
		}
		if err := rt.handle(w, r); err != nil {
			a.writeError(w, r, err)
		}
	})
}

// dispatch rewrites key segments and a trailing slash, then routes. A
// path with no route is Graph's 400 "Resource not found for the segment";
// a known path with another method is 405 with Allow.
func (a *API) dispatch(w http.ResponseWriter, r *http.Request) {
	r2, err := rewriteKeySegment(r)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	r = lowerGUIDs(r2)
	if p := r.URL.Path; len(p) > len(prefixV1+"/") && strings.HasSuffix(p, "/") {
		trimmed := *r
		u := *r.URL
		u.Path, u.RawPath = strings.TrimSuffix(p, "/"), strings.TrimSuffix(u.RawPath, "/")
		trimmed.URL = &u
		r = &trimmed
	}
	h, pattern := a.mux.Handler(r)
	if pattern != "" {
		routelabel.Set(r.Context(), pattern) // the server's metrics label
		a.mux.ServeHTTP(w, r)                // sets the path values
		return
	}
	probe := &headerProbe{header: http.Header{}}
	h.ServeHTTP(probe, r)
	if probe.status == http.StatusMethodNotAllowed {
		w.Header().Set("Allow", probe.header.Get("Allow"))
		a.writeError(w, r, NewError(http.StatusMethodNotAllowed, CodeRequestBadRequest, msgMethodNotAllow, nil))
		return
	}
	a.writeError(w, r, unknownSegment(path.Base(r.URL.Path)))
}

// headerProbe records what ServeMux's own not-found or method-not-allowed
// handler would answer, so dispatch can answer it in Graph's envelope.
type headerProbe struct {
	header http.Header
	status int
}

func (p *headerProbe) Header() http.Header         { return p.header }
func (p *headerProbe) Write(b []byte) (int, error) { return len(b), nil }
func (p *headerProbe) WriteHeader(status int)      { p.status = status }

func (a *API) now() time.Time {
	if a.Now != nil {
		return a.Now()
	}
	return time.Now()
}

func (a *API) logger() *slog.Logger {
	if a.Logger != nil {
		return a.Logger
	}
	return slog.Default()
}
