package ssf

// SET error codes (RFC 8935 §2.4 and the IANA "Security Event Token Error
// Codes" registry; SSF 1.0 §8.1.4.1 adds invalid_state): the "err" of a
// push failure response and of a poll setErrs entry.
const (
	// SETErrInvalidRequest: the request or SET is malformed.
	SETErrInvalidRequest = "invalid_request"
	// SETErrInvalidKey: the SET's signing key is unknown or wrong.
	SETErrInvalidKey = "invalid_key"
	// SETErrInvalidIssuer: the SET's iss is not the expected one.
	SETErrInvalidIssuer = "invalid_issuer"
	// SETErrInvalidAudience: the SET's aud is not the receiver.
	SETErrInvalidAudience = "invalid_audience"
	// SETErrAuthenticationFailed: the transmitter could not be
	// authenticated.
	SETErrAuthenticationFailed = "authentication_failed"
	// SETErrAccessDenied: the transmitter may not send this SET.
	SETErrAccessDenied = "access_denied"
	// SETErrInvalidState: a verification event's state does not match
	// (SSF 1.0 §8.1.4.1).
	SETErrInvalidState = "invalid_state"
)

// SETError is an error about a SET: the body of a push failure response
// (RFC 8935 §2.3, status 400) and the value of a poll setErrs entry (RFC
// 8936 §2.4). Vigil's SSF management endpoints answer errors in this shape
// too (see internal/ssfserver).
type SETError struct {
	Err         string `json:"err"`
	Description string `json:"description"`
}

// Error makes SETError an error: "err: description".
func (e SETError) Error() string {
	if e.Description == "" {
		return e.Err
	}
	return e.Err + ": " + e.Description
}

// PollRequest is the body a receiver POSTs to a poll endpoint (RFC 8936
// §2.4): it acknowledges SETs (Ack), reports SETs it could not process
// (SetErrs, keyed by jti) and asks for up to MaxEvents more. MaxEvents nil
// leaves the number to the transmitter; 0 asks for none (acknowledge only).
// ReturnImmediately false lets the transmitter hold the request until a
// SET is available (long poll, RFC 8936 §2.4).
type PollRequest struct {
	MaxEvents         *int                `json:"maxEvents,omitempty"`
	ReturnImmediately bool                `json:"returnImmediately,omitempty"`
	Ack               []string            `json:"ack,omitempty"`
	SetErrs           map[string]SETError `json:"setErrs,omitempty"`
}

// PollResponse is a poll endpoint's answer (RFC 8936 §2.5): Sets maps each
// SET's jti to the compact-serialized SET (always present; {} when none is
// pending), and MoreAvailable says more SETs wait beyond MaxEvents. SETs
// not acknowledged are sent again by a later poll.
type PollResponse struct {
	Sets          map[string]string `json:"sets"`
	MoreAvailable bool              `json:"moreAvailable"`
}
