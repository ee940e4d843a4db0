// Package keys owns Vigil's JOSE signing keys: generating them (ES256 for
// access tokens, RS256 for ID tokens and Security Event Tokens, EdDSA on
// request), keeping them in the store with the private half sealed by the
// server's at-rest key (secret.Box, additional data = kid), choosing the key
// that signs now, publishing the JWK Set (RFC 7517 §5) and rotating keys so
// that every node sharing one database converges on the same keys.
//
// It knows nothing of HTTP or of token contents: callers hand a Signer their
// claims and a JOSE typ; the oauth package serves the JWK Set.
package keys
