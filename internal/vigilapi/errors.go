package vigilapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	"github.com/vigil-idp/vigil/internal/directory"
	"github.com/vigil-idp/vigil/internal/oauth"
	"github.com/vigil-idp/vigil/internal/revocation"
	"github.com/vigil-idp/vigil/internal/session"
	"github.com/vigil-idp/vigil/internal/store"
)

// Error codes, Graph's (https://learn.microsoft.com/en-us/graph/errors),
// so that tools written for Graph understand them.
const (
	codeBadRequest           = "BadRequest"
	codeNotFound             = "Request_ResourceNotFound"
	codeAccessDenied         = "Authorization_RequestDenied"
	codeInvalidToken         = "InvalidAuthenticationToken"
	codeEntityTooLarge       = "Request_EntityTooLarge"
	codeUnsupportedMediaType = "UnsupportedMediaType"
	codeGeneral              = "generalException"
	codeConflict             = "Conflict"
)

const (
	msgForbidden = "Insufficient privileges to complete the operation."
	msgInternal  = "An internal server error occurred."
)

// Error is a Vigil API error: the status, and the code and message of the
// envelope. Its cause is logged, never sent.
type Error struct {
	Status  int
	Code    string
	Message string
	cause   error
}

func apiError(status int, code, message string, cause error) *Error {
	return &Error{Status: status, Code: code, Message: message, cause: cause}
}

func badRequest(format string, args ...any) *Error {
	return apiError(http.StatusBadRequest, codeBadRequest, fmt.Sprintf(format, args...), nil)
}

// Error implements error; it includes the cause, for logs.
func (e *Error) Error() string {
	if e.cause != nil {
		return fmt.Sprintf("vigilapi: %d %s: %s: %v", e.Status, e.Code, e.Message, e.cause)
	}
	return fmt.Sprintf("vigilapi: %d %s: %s", e.Status, e.Code, e.Message)
}

// Unwrap returns the private cause.
func (e *Error) Unwrap() error { return e.cause }

// errorFrom maps a handler's error to the error to send: *Error passes;
// session.ErrInvalidPolicy is a 400 listing each problem; the revocation
// engine's refusals (*revocation.Error) keep their message, with
// ErrInvalid a 400, ErrNotFound a 404, ErrForbidden a 403 and
// ErrIdempotencyConflict a 409; the directory's refusals
// (*directory.Error) keep their message, with KindInvalid a 400 and
// KindNotFound a 404; store.ErrNotFound a 404; anything else a
// 500 whose cause is only logged.
func errorFrom(err error) *Error {
	var (
		ve *Error
		re *revocation.Error
		de *directory.Error
	)
	switch {
	case errors.As(err, &ve):
		return ve
	case errors.As(err, &re):
		switch {
		case errors.Is(re, revocation.ErrInvalid):
			return apiError(http.StatusBadRequest, codeBadRequest, re.Message, err)
		case errors.Is(re, revocation.ErrNotFound):
			return apiError(http.StatusNotFound, codeNotFound, re.Message, err)
		case errors.Is(re, revocation.ErrForbidden):
			f := forbidden(re.Message)
			f.cause = err
			return f
		case errors.Is(re, revocation.ErrIdempotencyConflict):
			return apiError(http.StatusConflict, codeConflict, re.Message, err)
		}
	case errors.As(err, &de):
		switch de.Kind {
		case directory.KindInvalid:
			return apiError(http.StatusBadRequest, codeBadRequest, de.Message, err)
		case directory.KindNotFound:
			return apiError(http.StatusNotFound, codeNotFound, de.Message, err)
		}
	case errors.Is(err, session.ErrInvalidPolicy):
		return apiError(http.StatusBadRequest, codeBadRequest, policyMessage(err), err)
	case errors.Is(err, store.ErrNotFound):
		return apiError(http.StatusNotFound, codeNotFound, "The resource does not exist.", err)
	}
	return apiError(http.StatusInternalServerError, codeGeneral, msgInternal, err)
}

// policyMessage lists the problems of a joined validation error, without
// the "session: invalid policy: " prefix each carries.
func policyMessage(err error) string {
	var parts []string
	for _, line := range strings.Split(err.Error(), "\n") {
		line = strings.TrimPrefix(line, session.ErrInvalidPolicy.Error()+": ")
		if line != "" {
			parts = append(parts, line)
		}
	}
	return "Invalid policy: " + strings.Join(parts, "; ") + "."
}

// envelope is Graph's error body.
type envelope struct {
	Error envelopeError `json:"error"`
}

type envelopeError struct {
	Code       string     `json:"code"`
	Message    string     `json:"message"`
	InnerError innerError `json:"innerError"`
}

type innerError struct {
	Date            string `json:"date"`
	RequestID       string `json:"request-id"`
	ClientRequestID string `json:"client-request-id"`
}

// writeError is the one writer of Vigil API errors: it logs the cause with
// the request id and writes Graph's envelope.
func (a *API) writeError(w http.ResponseWriter, r *http.Request, err error) {
	e := errorFrom(err)
	info := infoFrom(r.Context())
	level := slog.LevelInfo
	if e.Status >= 500 {
		level = slog.LevelError
	}
	a.logger().Log(r.Context(), level, "vigilapi: request failed", "request-id", info.requestID,
		"method", r.Method, "path", r.URL.Path, "status", e.Status, "err", e)
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(e.Status)
	_ = json.NewEncoder(w).Encode(envelope{Error: envelopeError{
		Code: e.Code, Message: e.Message,
		InnerError: innerError{
			Date:            a.now().UTC().Format("2006-01-02T15:04:05"),
			RequestID:       info.requestID,
			ClientRequestID: info.clientRequestID,
		},
	}})
}

// writeAuthError answers a failed bearer authentication: RFC 6750 §3's
// WWW-Authenticate challenge and Graph's InvalidAuthenticationToken.
func (a *API) writeAuthError(w http.ResponseWriter, r *http.Request, err error) {
	status, challenge := oauth.Challenge(err, "")
	if challenge != "" {
		w.Header().Set("WWW-Authenticate", challenge)
	}
	msg := "Access token is empty."
	var be *oauth.BearerError
	if errors.As(err, &be) {
		msg = "Access token validation failure: " + be.Description + "."
	}
	code := codeInvalidToken
	switch status {
	case http.StatusInternalServerError:
		code, msg = codeGeneral, msgInternal
	case http.StatusBadRequest:
		code = codeBadRequest
	}
	a.writeError(w, r, apiError(status, code, msg, err))
}
