// Package vigilapi serves the Vigil API at <issuer>/vigil/v1: what Microsoft
// Graph lacks. Today that is session policies (/policies); revocations and
// sessions join it later, one file per resource.
//
// Every request needs a bearer token for the Vigil API (audience
// authz.VigilResource) verified by oauth.Verifier, carrying the resource's
// permission: the application permission in roles, or the delegated scope
// in scp held by a user with an administrator role that may change it.
//
// Errors use Graph's envelope, {"error":{"code","message","innerError":
// {"date","request-id","client-request-id"}}}, with Graph's codes and the
// request-id and client-request-id headers, so Graph tooling reads them;
// one writer, writeError, renders them. The package knows HTTP and JSON and
// calls internal/session for the rules; it knows no SQL.
package vigilapi
