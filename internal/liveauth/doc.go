// Package liveauth makes Vigil's own APIs (Graph, the Vigil API, the SSF
// transmitter's management endpoints) enforce revocation at once, as guard
// does for resource servers: Checked wraps a bearer-token Authenticator
// and refuses, as RFC 6750 invalid_token, a verified delegated token that
// was revoked after it was issued — its user's sessions revoked
// (iat before signInSessionsValidFromDateTime), its session ended, the
// account disabled or deleted. The decision is session.Service's
// AccessActive, the same one introspection applies. App-only tokens have
// no user or session to revoke and pass unchanged.
package liveauth
