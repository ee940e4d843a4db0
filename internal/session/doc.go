// Package session owns Vigil's sign-in state: SSO sessions (the sid of every
// delegated token), refresh tokens (rotation on every use and reuse
// detection, RFC 9700 §4.14.2), the validity rule that decides whether a
// session or a refresh token still works, and the session policies set
// globally and per application through the Vigil API.
//
// The validity rule: a session or refresh token works only while it is not
// revoked and not expired, its user exists and is enabled, and its AuthTime
// (and, for a session, its CreatedAt) is not before the user's
// signInSessionsValidFromDateTime (Graph's "T"). Every change that ends
// sessions or tokens is written in one transaction together with its
// outbox event (and, for refresh-token reuse, its audit record), so the
// back-channel logout worker and the SSF transmitter learn of it durably.
//
// Outbox events this package writes (see EventSessionRevoked and
// SessionRevoked) are the contract the back-channel logout worker in
// internal/oauth consumes.
//
// The package knows no HTTP and no SQL: it reads the store through the
// Store interface it defines, and its errors are values (ErrSessionEnded,
// ErrReauthRequired, ErrTokenInvalid, ErrTokenReused) that the protocol
// layers map to login_required, invalid_grant and so on.
package session
