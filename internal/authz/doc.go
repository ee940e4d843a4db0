// Package authz owns who may do what: the caller's Principal taken from a
// verified access token (application permissions in roles, delegated scopes
// in scp, directory role template ids in wids), the permission catalogues of
// the built-in resource APIs (Microsoft Graph, with Graph's own names and ids,
// and the Vigil API), and the checks that HTTP handlers call. It does not
// parse tokens itself and knows nothing of HTTP routing.
package authz
