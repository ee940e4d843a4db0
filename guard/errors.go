package guard

import (
	"errors"
	"time"
)

// Kind classifies why Verify refused a token. Callers act on it with
// errors.As(err, &*guard.Error); the values are append-only.
type Kind uint8

// Kinds of Error.
const (
	// KindNoToken: the request carries no bearer token (RFC 6750 §3.1).
	KindNoToken Kind = iota + 1
	// KindMalformed: the token is not a compact JWS with a JSON payload
	// holding the claims RFC 9068 §2.2 requires.
	KindMalformed
	// KindType: the JOSE typ header is not "at+jwt" (RFC 9068 §2.1), e.g.
	// an ID token presented as an access token.
	KindType
	// KindAlgorithm: the signing algorithm is not in Config.Algorithms
	// ("none" and HMAC never are).
	KindAlgorithm
	// KindUnknownKey: no key of the issuer's JWKS has the token's kid,
	// even after a refetch (or the refetch was rate-limited).
	KindUnknownKey
	// KindSignature: the signature does not verify.
	KindSignature
	// KindIssuer: iss is not Config.Issuer.
	KindIssuer
	// KindAudience: aud names none of Config.Audiences.
	KindAudience
	// KindExpired: exp has passed (beyond Config.Skew).
	KindExpired
	// KindNotYetValid: nbf or iat is in the future (beyond Config.Skew).
	KindNotYetValid
	// KindRevoked: the token was issued before the user's validFrom
	// (signInSessionsValidFromDateTime as learned from the SSF stream).
	KindRevoked
	// KindSessionRevoked: the token's SSO session (sid) was revoked.
	KindSessionRevoked
	// KindUserDisabled: the user was disabled or deleted.
	KindUserDisabled
	// KindStreamDown: the SSF stream has been down longer than
	// Config.FailClosedAfter, so revocations may be missing.
	KindStreamDown
	// KindUnavailable: the issuer's discovery document or JWKS could not
	// be fetched, so the token could not be checked.
	KindUnavailable
)

var kindText = [...]string{
	KindNoToken:        "no bearer token",
	KindMalformed:      "malformed token",
	KindType:           "not an access token (typ must be at+jwt)",
	KindAlgorithm:      "signing algorithm not allowed",
	KindUnknownKey:     "unknown signing key",
	KindSignature:      "invalid signature",
	KindIssuer:         "wrong issuer",
	KindAudience:       "wrong audience",
	KindExpired:        "token expired",
	KindNotYetValid:    "token not yet valid",
	KindRevoked:        "token revoked",
	KindSessionRevoked: "session revoked",
	KindUserDisabled:   "user disabled",
	KindStreamDown:     "revocation stream down",
	KindUnavailable:    "issuer keys unavailable",
}

var kindLabel = [...]string{
	KindNoToken:        "no_token",
	KindMalformed:      "malformed",
	KindType:           "wrong_type",
	KindAlgorithm:      "algorithm",
	KindUnknownKey:     "unknown_key",
	KindSignature:      "signature",
	KindIssuer:         "issuer",
	KindAudience:       "audience",
	KindExpired:        "expired",
	KindNotYetValid:    "not_yet_valid",
	KindRevoked:        "revoked",
	KindSessionRevoked: "session_revoked",
	KindUserDisabled:   "user_disabled",
	KindStreamDown:     "stream_down",
	KindUnavailable:    "unavailable",
}

// String is a short human description of k.
func (k Kind) String() string {
	if int(k) < len(kindText) && kindText[k] != "" {
		return kindText[k]
	}
	return "unknown"
}

// label is k as a Prometheus label value.
func (k Kind) label() string {
	if int(k) < len(kindLabel) && kindLabel[k] != "" {
		return kindLabel[k]
	}
	return "unknown"
}

// revocation reports whether k is a revocation verdict of the table (the
// token was valid, then access was taken away): the kinds that get a
// claims challenge when the client declared cp1.
func (k Kind) revocation() bool {
	return k == KindRevoked || k == KindSessionRevoked || k == KindUserDisabled
}

// Error is why Verify (and so Middleware) refused a token.
type Error struct {
	// Kind says what was wrong.
	Kind Kind
	// ValidFrom, for the revocation kinds, is the earliest issue time a
	// new token needs: the nbf value of the claims challenge.
	ValidFrom time.Time
	// CP1 reports that the refused token declared the client capability
	// cp1 (xms_cc), so the client understands claims challenges.
	CP1 bool
	// Err is the underlying cause, if any; it is logged, never sent.
	Err error
}

// Error renders "guard: <kind>[: <cause>]".
func (e *Error) Error() string {
	if e.Err != nil {
		return "guard: " + e.Kind.String() + ": " + e.Err.Error()
	}
	return "guard: " + e.Kind.String()
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

func fail(k Kind, err error) *Error { return &Error{Kind: k, Err: err} }

func failf(k Kind, msg string) *Error { return &Error{Kind: k, Err: errors.New(msg)} }
