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
// The package holds types and constants only: no I/O, no signing, no
// state. SET (RFC 8417) claims, stream configuration, push (RFC 8935) and
// poll (RFC 8936) messages join it with the SSF transmitter.
//
// Sources: OpenID SSF 1.0, CAEP 1.0 and RISC 1.0 (Final, 29 Aug 2025),
// https://openid.net/specs/openid-sharedsignals-framework-1_0-final.html,
// https://openid.net/specs/openid-caep-1_0-final.html,
// https://openid.net/specs/openid-risc-1_0-final.html; RFC 9493
// (https://www.rfc-editor.org/rfc/rfc9493).
package ssf
