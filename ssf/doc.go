// Package ssf is the wire vocabulary of the OpenID Shared Signals Framework
// (SSF 1.0) and the event profiles Vigil transmits: CAEP 1.0 and RISC 1.0
// event type URIs, their event payloads, and RFC 9493 subject identifiers
// (with SSF's complex subject). It is public so resource servers (guard,
// vigil proxy, third-party receivers) can decode Vigil's Security Event
// Tokens without importing anything internal.
//
// The JSON of every type here is exactly the members the specifications
// define, spelled as they spell them: a value marshals to what goes on the
// wire and unmarshals what a conforming transmitter sends. Optional members
// are omitted when empty.
//
// The package holds types, constants and pure helpers only: no I/O, no
// signing, no state. Files:
//
//   - events.go: CAEP, RISC and SSF (verification, stream-updated) event
//     type URIs and payloads;
//   - subject.go: RFC 9493 subject identifiers, SSF complex subjects and
//     their matching rule (Subject.Matches, SSF 1.0 §3.2);
//   - set.go: the SET claims set (RFC 8417 §2.2 as profiled by SSF 1.0
//     §4.1: sub_id, no sub, no exp, one event) and Audience;
//   - stream.go: stream configuration, status, add/remove subject and
//     verification requests (SSF 1.0 §8.1), delivery method URNs;
//   - metadata.go: transmitter metadata (SSF 1.0 §7) and its well-known
//     URL;
//   - delivery.go: RFC 8935 push error bodies, RFC 8936 poll requests and
//     responses, SET error codes.
//
// The JSON of each type is pinned by golden files in testdata/.
//
// Sources: RFC 8417, RFC 8935, RFC 8936, OpenID SSF 1.0, CAEP 1.0 and RISC 1.0 (Final, 29 Aug 2025),
// https://openid.net/specs/openid-sharedsignals-framework-1_0-final.html,
// https://openid.net/specs/openid-caep-1_0-final.html,
// https://openid.net/specs/openid-risc-1_0-final.html; RFC 9493
// (https://www.rfc-editor.org/rfc/rfc9493).
package ssf
