// Package oauth owns Vigil's OAuth 2.0 and OpenID Connect endpoints:
// discovery (OpenID Connect Discovery 1.0, RFC 8414), the JWK Set endpoint,
// the token endpoint (RFC 6749 §3.2) with client authentication (§2.3.1) and
// grants dispatched by a map (today client_credentials, §4.4), JWT access
// tokens (RFC 9068), and the Verifier that resource servers inside Vigil use
// to turn a bearer token (RFC 6750) into an authz.Principal.
//
// Protocol errors are *Error values rendered by one writer, WriteError; the
// private cause of an error is logged, never sent. Bearer-token failures are
// *BearerError values that Challenge turns into a WWW-Authenticate header.
//
// The package reads the store through small interfaces it defines and signs
// with keys from the keys package; it knows nothing of SQL, of Graph JSON,
// or of how keys are rotated.
package oauth
