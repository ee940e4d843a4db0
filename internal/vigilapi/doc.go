// Package vigilapi serves the Vigil API at <issuer>/vigil/v1: what Microsoft
// Graph lacks. One file per resource:
//
//	applications.go  OpenID Connect client       /applications/{id|appId}/oidc
//	                 settings of applications
//	policies.go      session policies            /policies…
//	revocations.go   bulk revocations            POST /revocations, GET /revocations/{id}
//	results.go       their per-target outcomes   GET /revocations/{id}/results
//	sessions.go      sign-in sessions            /users/{id|upn}/sessions, /sessions/{sid}, /me/sessions…
//
// Every request needs a bearer token for the Vigil API (audience
// authz.VigilResource) verified by oauth.Verifier, carrying the route's
// permission (access.go): the application permission in roles, or the
// delegated scope in scp held by a signed-in user. For policies the user
// also needs an administrator role that may change them; for applications'
// settings, the role of a Global, Application or Cloud Application
// Administrator. For revocations and sessions the scope lets the user in
// and each target user is then authorized with Entra's "who can reset
// passwords" matrix (authz.CanActOnUser), the same rule as Graph's
// revokeSignInSessions: the Vigil permission stands for Graph's
// User.RevokeSessions.All (asRevoker). /me routes need only a delegated
// token with any Vigil API scope.
//
// Errors use Graph's envelope, {"error":{"code","message","innerError":
// {"date","request-id","client-request-id"}}}, with Graph's codes and the
// request-id and client-request-id headers, so Graph tooling reads them;
// one writer, writeError, renders them, and the refusals of the revocation
// engine (*revocation.Error) and of the directory (*directory.Error) keep
// their messages. The package knows HTTP and JSON; it calls
// internal/session for the policy rules, internal/directory for
// applications' settings (their rules, write and audit record) and
// internal/revocation for every revocation (which it never performs
// itself), reads users and sessions through small store interfaces, and
// knows no SQL. It never imports graph, ssfserver or server: the
// composition root hands it *revocation.Service, *directory.Service,
// store.Store and *ssfserver.Server as the interfaces of API.
package vigilapi
