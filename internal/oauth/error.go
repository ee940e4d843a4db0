package oauth

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
)

// Error codes of RFC 6749 §5.2 (token endpoint) and §4.1.2.1.
const (
	CodeInvalidRequest       = "invalid_request"
	CodeInvalidClient        = "invalid_client"
	CodeInvalidGrant         = "invalid_grant"
	CodeUnauthorizedClient   = "unauthorized_client"
	CodeUnsupportedGrantType = "unsupported_grant_type"
	CodeInvalidScope         = "invalid_scope"
	// CodeServerError is RFC 6749 §4.1.2.1's server_error, also used at the
	// token endpoint for failures on Vigil's side.
	CodeServerError = "server_error"
	// CodeTemporarilyUnavailable is RFC 6749 §4.1.2.1's
	// temporarily_unavailable.
	CodeTemporarilyUnavailable = "temporarily_unavailable"
	// CodeAccessDenied is RFC 6749 §4.1.2.1's access_denied, and RFC 8628
	// §3.5's answer when the user declined a device authorization.
	CodeAccessDenied = "access_denied"
	// CodeUnsupportedResponseType is RFC 6749 §4.1.2.1's
	// unsupported_response_type.
	CodeUnsupportedResponseType = "unsupported_response_type"
	// CodeInvalidTarget is RFC 8707 §2's invalid_target: a resource
	// parameter naming no known resource.
	CodeInvalidTarget = "invalid_target"
)

// OpenID Connect Core 1.0 §3.1.2.6 authentication error codes.
const (
	CodeInteractionRequired = "interaction_required"
	CodeLoginRequired       = "login_required"
	CodeConsentRequired     = "consent_required"
	// CodeRequestNotSupported answers the request parameter (§6).
	CodeRequestNotSupported = "request_not_supported"
	// CodeRequestURINotSupported answers the request_uri parameter (§6).
	CodeRequestURINotSupported = "request_uri_not_supported"
)

// Device authorization grant error codes (RFC 8628 §3.5).
const (
	CodeAuthorizationPending = "authorization_pending"
	CodeSlowDown             = "slow_down"
	CodeExpiredToken         = "expired_token"
)

// Error is an OAuth 2.0 error response (RFC 6749 §5.2). Code and Description
// are sent to the client; the cause (see WithCause) is for logs only and
// never leaves the server.
type Error struct {
	// Code is the "error" parameter, one of the Code… constants.
	Code string
	// Description is the "error_description" parameter: human-readable
	// ASCII for the client developer; it must not reveal secrets.
	Description string
	// Status is the HTTP status; 0 means 401 for invalid_client and 400
	// for the others (RFC 6749 §5.2), 500 for server_error.
	Status int

	cause     error
	challenge string // WWW-Authenticate value of an invalid_client 401 (Provider.withChallenge)
}

// errorf returns an *Error with a formatted description.
func errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Description: fmt.Sprintf(format, args...)}
}

// WithCause returns a copy of e that records cause for logs. The cause is
// returned by Unwrap and never written to the client.
func (e *Error) WithCause(cause error) *Error {
	c := *e
	c.cause = cause
	return &c
}

// Error implements error; it includes the cause, so it is for logs only.
func (e *Error) Error() string {
	s := "oauth: " + e.Code
	if e.Description != "" {
		s += ": " + e.Description
	}
	if e.cause != nil {
		s += ": " + e.cause.Error()
	}
	return s
}

// Unwrap returns the private cause.
func (e *Error) Unwrap() error { return e.cause }

// LogValue renders the error for log/slog, cause included.
func (e *Error) LogValue() slog.Value {
	attrs := []slog.Attr{slog.String("error", e.Code), slog.String("description", e.Description)}
	if e.cause != nil {
		attrs = append(attrs, slog.String("cause", e.cause.Error()))
	}
	return slog.GroupValue(attrs...)
}

// HTTPStatus returns the status WriteError sends.
func (e *Error) HTTPStatus() int {
	switch {
	case e.Status != 0:
		return e.Status
	case e.Code == CodeInvalidClient:
		return http.StatusUnauthorized
	case e.Code == CodeServerError:
		return http.StatusInternalServerError
	case e.Code == CodeTemporarilyUnavailable:
		return http.StatusServiceUnavailable
	}
	return http.StatusBadRequest
}

// errorBody is the JSON body of RFC 6749 §5.2.
type errorBody struct {
	Error       string `json:"error"`
	Description string `json:"error_description,omitempty"`
}

// WriteError writes err as an RFC 6749 §5.2 error response: a JSON object
// with "error" and "error_description", Cache-Control: no-store, and, for
// invalid_client carrying a challenge (the Provider gives every
// invalid_client 401 one), 401 with that WWW-Authenticate. An err that is not an *Error is sent as
// server_error without its text. WriteError is the only writer of OAuth
// error responses; log the cause before calling it.
func WriteError(w http.ResponseWriter, err error) {
	var oe *Error
	if !errors.As(err, &oe) {
		oe = &Error{Code: CodeServerError, Description: "internal error"}
	}
	h := w.Header()
	h.Set("Content-Type", "application/json;charset=UTF-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
	status := oe.HTTPStatus()
	if oe.challenge != "" && oe.Code == CodeInvalidClient {
		h.Set("WWW-Authenticate", oe.challenge)
		status = http.StatusUnauthorized
	}
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(errorBody{Error: safeText(oe.Code), Description: safeText(oe.Description)})
}

// safeText keeps only the characters RFC 6749 §5.2 allows in error and
// error_description (%x20-21 / %x23-5B / %x5D-7E); others become '?'.
func safeText(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r > 0x7e || r == '"' || r == '\\' {
			return '?'
		}
		return r
	}, s)
}

// quote makes an RFC 9110 §5.6.4 quoted-string of s restricted to the
// characters safeText keeps, so no escaping is needed.
func quote(s string) string { return `"` + safeText(s) + `"` }

// asError returns err as an *Error; anything else becomes server_error
// with err as its cause.
func asError(err error) *Error {
	var oe *Error
	if errors.As(err, &oe) {
		return oe
	}
	return errorf(CodeServerError, "internal error").WithCause(err)
}
