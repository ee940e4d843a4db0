// Package retention deletes what the stores keep only for a while, so the
// tables of a long-running server stop growing with its traffic:
//
//   - refresh tokens that expired or were revoked more than TokenGrace ago
//     (every refresh writes a new token; a used one is kept until it
//     expires, for reuse detection, RFC 9700 §4.14.2);
//   - authorization and device codes expired more than CodeGrace ago
//     (so the space of user codes, which are unique, does not fill up),
//     and client assertion ids (private_key_jwt replay protection) once
//     expired;
//   - outbox events older than EventRetention that every consumer (every
//     store cursor: the SSF dispatcher, the back-channel logout worker)
//     has read;
//   - delivered messages (SSF SETs, back-channel logout tokens) older than
//     EventRetention; dead ones stay for the dead-letter lists.
//
// EventRetention must cover the SSF backfill window (a new stream may ask
// for the events of the last 48 h, ssfserver.DefaultMaxBackfill). Purger
// runs on every node; deletes are idempotent and batched (Sweep), so a
// purge never holds a long transaction. The audit log is never purged.
package retention
