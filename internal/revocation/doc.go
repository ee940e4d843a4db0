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
// AppendClaimsChangeInTx is the other directory hook: when a write changes
// the claims of users' tokens (roles, group memberships) it appends one
// CAEP token-claims-change per user (Event, CauseClaimsChanged) and
// nothing else: T does not move, nothing is revoked, and the directory
// audits its own write.
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
// may run workers on one store. While a chunk's transaction writes, the
// next chunk is read, authorized and rendered from the store's read pool;
// its own transaction then corrects for targets deleted or revoked
// meanwhile, so SQLite's single writer spends its time on writes.
//
// Ids of revocations, audit records, events and generated correlation ids
// are time-ordered (version 7) UUIDs unless Service.NewID (or
// Options.NewID) says otherwise, which keeps the store's indexes on them
// append-only.
//
// # Deviations from the agreed API (/tmp/revocation-api.md)
//
//   - ApplyInTx takes a Tx, the slice of store.Tx it uses (store.Tx
//     satisfies it, so callers pass theirs unchanged), which lets tests
//     inject failures.
//   - Added: Service.Work (run claimable jobs until none is left, for tests
//     and one-shot tools), Service.WorkerID, Lease and PollInterval (the
//     multi-node lease), Options.NewID, *Error (Kind and a safe Message),
//     Event, EventSubject and EndedSession (the outbox payload),
//     AuditEntry, AuditTarget, ModifiedProperty, KeyValue, JSONValue and
//     the Category*, Target* and Activity* constants (the directoryAudit
//     shape, shared with internal/directory), Initiator.InitiatedBy and
//     ObjectID, UserFilterSchema, the Outcome* constants and request
//     limits.
//   - Results: in a sessionIds job (and RevokeSession) a target is a
//     session, so RevocationResult.UserID holds the session id and Detail
//     names the user.
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
