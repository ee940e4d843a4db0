// Package ssfserver is Vigil's Shared Signals transmitter (OpenID SSF 1.0):
// it turns outbox events into Security Event Tokens (RFC 8417) and
// delivers them to receivers by push (RFC 8935) or poll (RFC 8936), and it
// records, per revocation and stream, when each SET was delivered and
// acknowledged (the receipts behind a revocation's effectiveAt).
//
// # Endpoints (Server.Mount)
//
//	GET  /.well-known/ssf-configuration[/<issuer path>]  transmitter metadata (SSF 1.0 §7)
//	POST|GET|PATCH|PUT|DELETE <issuer>/ssf/streams        stream management (§8.1.1)
//	GET|POST <issuer>/ssf/status                          stream status (§8.1.2)
//	POST <issuer>/ssf/subjects/add, …/ssf/subjects/remove subjects (§8.1.3)
//	POST <issuer>/ssf/verify                              verification (§8.1.4.2)
//	POST <issuer>/ssf/streams/{id}/poll                   poll delivery (RFC 8936), long poll
//	GET  <issuer>/ssf/streams/{id}/deadletters            dead SETs (Vigil extension)
//	POST <issuer>/ssf/streams/{id}/deadletters/replay     deliver them again (Vigil extension)
//
// Receivers authenticate with OAuth 2.0 bearer tokens (RFC 6750) for the
// Vigil API (aud api://vigil), got with client credentials: reads and
// polls need the application permission ssf.read or ssf.manage, writes
// ssf.manage (CAEP interoperability profile §3.3; a delegated token with
// those scopes works too). The receiver is the token's client (appId): it
// sees and manages only its own streams, and another receiver's stream id
// answers 404, exactly as an unknown one. Errors are RFC 8935 style JSON,
// {"err": code, "description": text}, with the SET error codes where they
// fit (invalid_request, access_denied, authentication_failed) and
// not_found, conflict, too_many_requests (with Retry-After),
// request_too_large, server_error otherwise; 401 and 403 also carry an
// RFC 6750 WWW-Authenticate challenge.
//
// # Delivery
//
// Push (RFC 8935): Run's sender POSTs each due SET with the stream's
// authorization_header; 2xx (202) is delivered and acknowledged, 400 is a
// permanent refusal (dead at once, the receiver's {err, description}
// kept), anything else is retried after Backoff doubling per attempt
// (capped at MaxBackoff, jittered) and dead after MaxAttempts. A user's
// SETs go out in order: the next waits until the previous is delivered or
// dead. Push endpoints must be https, on the receiver's PushAllowList and
// resolve to public addresses; redirects are never followed;
// InsecureAllowLoopbackPush admits loopback URLs for development.
//
// Poll (RFC 8936): ack and setErrs are applied atomically (an unknown jti
// refuses the whole request with 400); then up to maxEvents SETs are
// leased for PollLease and handed out, with moreAvailable exact. With
// returnImmediately false and nothing to send the request is held until a
// SET exists: the handler waits on the store's outbox wake-up
// (store.OutboxWaiter: LISTEN/NOTIFY on PostgreSQL, so every node wakes),
// dispatches, and claims; Recheck (2 s) is only the fallback for lost
// notifications, lease expiries and replays.
//
// Dead SETs (refused or exhausted pushes, setErrs, SETs dropped by a
// disabled stream) are listed by GET …/streams/{id}/deadletters and made
// due again by POST …/streams/{id}/deadletters/replay.
//
// # Receipts
//
// Receipts(revocationID) gives one receipt per stream that should receive
// the revocation (status pending, delivered, failing, paused, disabled,
// deleted, failed or acknowledged; deliveredAt, acknowledgedAt) and
// effectiveAt, the last acknowledgement once all are acknowledged. It
// reads counters kept exact in the transactions that enqueue, hand out,
// acknowledge and fail SETs, and mirrors them into store.Revocations
// receipts (also done in the background after every change).
//
// # Backfill
//
// A new stream gets the events that happen after it is created. A
// receiver that starts with nothing (a resource server's revocation table
// after a restart) also needs what was revoked earlier while tokens issued
// before may still be valid: it creates the stream with the Vigil
// extension member vigil_backfill_seconds, and the creating transaction
// queues on the stream, ahead of anything later, the SETs of the outbox
// events of its requested types created in that window, up to the
// stream's start (after it, the dispatcher's). The window is capped by
// MaxBackfill (48 h: the longest access token is 28 h) and echoed in the
// configuration; it is fixed once the stream exists. Backfilled SETs
// count in no revocation's receipts, which report the streams that
// existed when the revocation happened.
//
// # Events
//
// The outbox is the only source. A dispatcher (Server.Run, and every poll
// and Receipts call, which catch it up first) reads it by the cursor
// "ssf", multi-node safe: each batch's SETs, its receipt counters and the
// cursor move commit in one transaction (store.Cursors.AdvanceCursor is a
// compare-and-set; the loser retries from the new position). For each
// event and each stream whose events_delivered has its type and whose
// subjects match (default ALL, minus removed subjects), it enqueues one SET
// on the stream's durable queue "ssf:<stream id>" (store.Deliveries, key =
// the user id, so one user's SETs go out in order). SSF's own events
// (verification, stream-updated) are outbox events too, addressed to one
// stream and queued on "ssf:<stream id>:control", which is delivered even
// while the stream is paused or disabled. A SET is signed when it is handed
// out (RS256, typ secevent+jwt, kid), so a long-held SET is never signed
// by a retired key; its jti is the delivery id and stays the same on
// redelivery.
//
// SET shape: iss, iat, jti, aud (the stream's aud: the receiver's client
// id), txn (the revocation id, else the producer's txn, else the outbox
// event id), sub_id, exactly one event; never sub or exp. sub_id is a
// complex subject whose user is iss_sub (issuer, user object id), plus
// session (opaque sid) when one session ended.
//
// # Streams
//
// Stream configurations live in store.Meta under the key "ssf:streams" as
// one JSON document (metaStreams), read-modified-written in store
// transactions; this suits the expected few streams (hundreds at most). A
// dedicated store aggregate would replace it when that stops being true.
// Receipt counters live under "ssf:receipts:<revocation id>".
//
// # Boundaries
//
// The package imports store, authz, revocation (the outbox payload type),
// oauth (the bearer challenge) and the public ssf vocabulary. It never
// imports graph, vigilapi or server; the composition root builds a Server
// as a struct literal, mounts it and runs its workers (see Server).
package ssfserver
