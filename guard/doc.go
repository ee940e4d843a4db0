// Package guard is Vigil's resource-server middleware: it verifies OAuth
// 2.0 JWT access tokens (RFC 9068) and enforces revocation within
// milliseconds, from a revocation table fed by an OpenID Shared Signals
// (SSF 1.0) stream of CAEP and RISC events that the guard creates at the
// transmitter itself.
//
//	g, err := guard.New(guard.Config{
//		Issuer:    "https://idp.example.com",
//		Audiences: []string{"api://orders"},
//		Stream: &guard.Stream{
//			ClientID:     os.Getenv("VIGIL_CLIENT_ID"),
//			ClientSecret: os.Getenv("VIGIL_CLIENT_SECRET"),
//		},
//		FailClosedAfter: 5 * time.Minute,
//	})
//	go g.Run(ctx)                          // the SSF stream
//	http.Handle("/", g.Middleware(orders)) // guard.FromContext(r.Context()) in orders
//
// # Tokens
//
// Verify (and Middleware) accepts a token only when its JOSE typ is
// at+jwt (so an ID token is refused), its alg is on the allow-list
// (asymmetric only: never none, never HMAC), its signature verifies with a
// key of the issuer's JWKS, and iss, aud, exp, nbf and iat hold within a
// small skew. The JWKS is cached: a kid it does not know triggers one
// refetch, shared by every request waiting for it and at most one per
// Config.JWKSRefreshInterval, so forged kids cannot flood the issuer. A
// verified token is remembered until it expires (flushed whenever the
// JWKS changes), so a token seen again skips the signature.
//
// # Revocation
//
// The table holds, per user object id (the oid claim), validFrom: a token
// issued before it is revoked (Vigil's signInSessionsValidFromDateTime);
// the revoked session ids (sid); and disabled or deleted users. Every
// request is checked against it, at a cost of one or two map lookups under
// a read lock, without allocating (BenchmarkCheck: well under 1 µs with
// 100,000 users in the table; about 35 bytes per entry). Entries older
// than Config.MaxTokenLifetime are dropped: no unexpired token can be
// affected by them.
//
// Run feeds the table. It reads the transmitter's metadata
// (/.well-known/ssf-configuration), gets a client-credentials token for
// Vigil's API (scope api://vigil/.default, permission ssf.manage), creates
// a stream requesting CAEP session-revoked, credential-change and
// token-claims-change and RISC account-disabled, account-enabled and
// account-purged, and long-polls it (RFC 8936, returnImmediately false):
// each SET is verified (typ secevent+jwt, the transmitter's JWKS, iss,
// aud), applied, and only then acknowledged with the next poll; a SET it
// cannot verify or map is reported in setErrs, so the transmitter's
// receipts show where a revocation was not enforced. With Stream.PushURL
// the transmitter pushes instead (RFC 8935) to PushHandler. Events apply
// as follows (subjects per RFC 9493: Vigil sends a complex subject whose
// user is iss_sub with the object id, and whose session is opaque):
//
//	session-revoked, user subject   validFrom = max(validFrom, t+1)
//	session-revoked, session member the sid is revoked
//	credential-change               validFrom = max(validFrom, t+1)
//	token-claims-change             validFrom = max(validFrom, t+1)
//	account-disabled, -purged       disabled, validFrom = max(validFrom, t+1)
//	account-enabled                 not disabled (validFrom stays)
//
// where t is the event_timestamp (else the SET's toe, else its iat) in
// whole seconds. Tokens carry iat in whole seconds too, so a token whose
// iat is t may predate the revocation: validFrom is t+1, the safe side.
// validFrom never moves backwards, so events may arrive in any order.
//
// # Refusals
//
// A revoked token of a client that declared the cp1 capability (xms_cc)
// is answered with the claims challenge of continuous access evaluation,
//
//	401 WWW-Authenticate: Bearer realm="", authorization_uri="<authorize endpoint>",
//	    error="insufficient_claims", claims="<base64 of {"access_token":{"nbf":{"essential":true,"value":"<validFrom>"}}}>"
//
// which tells the client to get a token issued after validFrom; any other
// client gets 401 error="invalid_token". When the stream has been down for
// longer than Config.FailClosedAfter every token is refused with 503 (0,
// the default, never fails closed: a documented risk).
//
// # Restarts
//
// The table lives in memory. So that a guard that restarts (or a new
// replica) does not accept again tokens revoked before its stream existed,
// Run creates every stream with the Vigil extension
// vigil_backfill_seconds = MaxTokenLifetime + Skew: the transmitter queues
// the earlier revocations of that window on the new stream first. With
// poll delivery, Ready is closed only once that backfill is applied; with
// push, the backfill is pushed at once (a SET that arrives before the
// transmitter's answer to the stream creation waits for it). A
// transmitter that is not Vigil ignores the member: the guard logs a
// warning, and tokens revoked before the stream was created are accepted
// until they expire.
//
// # Boundaries
//
// guard is public and imports only the public ssf vocabulary of this
// module (never internal/), go-jose, client_golang and x/oauth2.
// Metrics: vigil_guard_requests_total{outcome},
// vigil_guard_revocation_table_entries{kind}, vigil_guard_stream_up,
// vigil_guard_stream_down_seconds, vigil_guard_stream_lag_seconds,
// vigil_guard_stream_last_event_timestamp_seconds,
// vigil_guard_events_total{event,result} and
// vigil_guard_verified_cache_entries.
package guard
