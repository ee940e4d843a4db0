// Package revocation owns taking access away. Its promise is the product's:
// when an admin takes access away, it is gone everywhere, at once, and the
// admin can prove it.
//
// # The effect
//
// ApplyInTx is the one place the effect of a revocation happens, inside
// the caller's store transaction: each user's signInSessionsValidFromDateTime
// (T) moves to the revocation time (never backwards), every live SSO session
// and refresh token of the user is revoked, one audit record in Graph's
// directoryAudit shape is appended, and the outbox events the SSF
// transmitter and the back-channel logout worker read (Event) are appended.
// internal/directory calls it for account disable, user delete and password
// changes (Cause), in the transaction of the directory write.
//
// # The service
//
// Service.RevokeUser is Graph's revokeSignInSessions for one user;
// Service.RevokeSession ends one session. Each authorizes the initiator
// with authz.CanActOnUser and, in one transaction that is durable before it
// returns, applies the effect and records a completed revocation resource
// (store.Revocation).
//
// Service.Submit starts a bulk revocation (userIds, an OData filter on
// users, a group's direct or transitive members, or sessionIds), with
// Idempotency-Key semantics and dry runs. Service.Run is the job worker:
// targets are authorized one by one (refusals recorded, not skipped),
// revoked in chunks of ChunkSize targets per transaction, and each chunk
// commits its results, counters and resume cursor with the effect, so a
// crash loses at most the chunk in flight and the job resumes where it
// stopped. Jobs are claimed by compare-and-set on a lease, so several nodes
// may run workers on one store.
//
// # Boundaries
//
// The package imports store, authz, odata and the public ssf vocabulary;
// never directory or graph (they import it). It knows nothing of HTTP:
// errors are *Error values wrapping ErrNotFound, ErrForbidden, ErrInvalid
// or ErrIdempotencyConflict, with messages safe to show, and the API layers
// render them. Receipts (per SSF stream) and effectiveAt are filled by the
// SSF transmitter; Get returns whatever the store holds.
package revocation
