// Package oauth owns Vigil's OAuth 2.0 and OpenID Connect protocol:
// discovery (OpenID Connect Discovery 1.0, RFC 8414) naming exactly the
// endpoints that are mounted; the JWK Set endpoint; the token endpoint
// (RFC 6749 §3.2) with client authentication (client_secret_basic and
// _post, private_key_jwt per RFC 7523 §2.2, and none for public clients)
// and grants dispatched by a map (client_credentials, authorization_code
// with PKCE, refresh_token, the device code grant of RFC 8628, password);
// JWT access tokens (RFC 9068) and ID tokens (OpenID Connect Core §2);
// authorization request validation, codes and response modes for the
// authorization endpoint (RFC 6749 §4.1, OpenID Connect Core §3.1.2),
// whose pages internal/login serves; the device authorization endpoint;
// userinfo (§5.3); RP-initiated logout request validation; introspection
// (RFC 7662), revocation (RFC 7009) and back-channel logout delivery; and
// the Verifier that resource servers inside Vigil use to turn a bearer
// token (RFC 6750) into an authz.Principal.
//
// Protocol errors are *Error values rendered by one writer, WriteError, or
// redirected by Authorizer.RedirectError; the private cause of an error is
// logged, never sent. Bearer-token failures are *BearerError values that
// Challenge turns into a WWW-Authenticate header.
//
// The package reads the store through small interfaces it defines, keeps
// sessions and refresh tokens through internal/session, and signs with keys
// from the keys package; it renders no HTML pages (only the form_post
// response) and knows nothing of SQL, of Graph JSON, or of how keys are
// rotated.
package oauth
