// Package graph serves Vigil's Microsoft-Graph-compatible HTTP API at
// <issuer>/v1.0: users, groups and memberships, role management and
// directory roles, applications and service principals; the revoke
// actions (revokeSignInSessions, revoke.go, and under <issuer>/beta the
// legacy invalidateAllRefreshTokens, the only /beta routes); the directory
// audit log (auditLogs/directoryAudits, audit.go); and JSON batching
// ($batch, batch.go).
//
// It owns the Graph wire format: JSON shapes with @odata.context,
// @odata.type, @odata.count and absolute @odata.nextLink (whose opaque
// $skiptoken wraps the store's cursor); the Graph error envelope, rendered
// by one writer from *Error values; the request-id and client-request-id
// headers; the system query options ($filter, $select, $top, $orderby,
// $count, $search, $skiptoken), checked against per-collection schemas
// with Graph's advanced-query rules (ConsistencyLevel: eventual); the
// per-route table of Graph permissions (permissions.go: application
// permissions for app-only tokens; delegated permissions for tokens of a
// signed-in user, bounded by what the user's directory roles permit,
// delegated.go); Entra's protection of privileged targets on writes
// (guards.go); the /me routes (me.go); and the decoding of request bodies
// into directory inputs (absent, null or a value).
//
// It does not know business rules (internal/directory decides what is
// valid and stores it), how tokens are verified (an Authenticator, such as
// internal/oauth's Verifier, does), how queries become SQL (internal/store
// backends compile the odata AST), what a revocation does and who may
// revoke whom (internal/revocation applies it, authorized by
// internal/authz's revoke matrix), or what an audit record says (its
// producers write Graph's JSON; this package sends it as stored). Every
// write request is attributed to its caller (directory.WithInitiator) for
// the directory's audit records.
//
// Build an API as a struct literal and mount it:
//
//	api := &graph.API{
//		Directory:   dirService,        // *directory.Service
//		Auth:        verifier,          // *oauth.Verifier
//		BaseURL:     issuer + "/v1.0",
//		Revocations: revocations,       // *revocation.Service
//		Audit:       st,                // the store (store.Audit)
//		Logger:      logger,
//	}
//	api.Mount(mux) // /v1.0/ and /beta/
//
// References to "reference §n" are to the project's
// reference/entra-revocation.md, which cites the Graph documentation.
package graph
