package graph

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	"github.com/vigil-idp/vigil/internal/directory"
	"github.com/vigil-idp/vigil/internal/odata"
	"github.com/vigil-idp/vigil/internal/store"
)

// Graph error codes Vigil sends (https://learn.microsoft.com/en-us/graph/errors;
// the directory's Request_* and Authorization_* codes are in the reference,
// §3.6).
const (
	CodeBadRequest           = "BadRequest"
	CodeRequestBadRequest    = "Request_BadRequest"
	CodeUnsupportedQuery     = "Request_UnsupportedQuery"
	CodeResourceNotFound     = "Request_ResourceNotFound"
	CodeAccessDenied         = "Authorization_RequestDenied"
	CodeInvalidToken         = "InvalidAuthenticationToken"
	CodeEntityTooLarge       = "Request_EntityTooLarge"
	CodeUnsupportedMediaType = "UnsupportedMediaType"
	CodeGeneralException     = "generalException"
)

// Messages Graph sends verbatim.
const (
	msgForbidden      = "Insufficient privileges to complete the operation."
	msgMethodNotAllow = "Specified HTTP method is not allowed for the request target."
	msgInternal       = "An internal server error occurred."
	msgSearchHeader   = "Request with $search query parameter only works through MSGraph with a special request header: 'ConsistencyLevel: eventual'"
	msgCountHeader    = "$count is not currently supported."
	// msgMeNeedsDelegated answers /me with an app-only token.
	msgMeNeedsDelegated = "/me request is only valid with delegated authentication flow."
)

// Error is a Graph error response: the HTTP status, the code and message
// sent in the envelope, and a private cause that is logged with the request
// id and never sent. Handlers return *Error values (or any error, which
// errorFrom maps); one writer, (*API).writeError, renders them.
type Error struct {
	Status  int
	Code    string
	Message string
	cause   error
}

// NewError returns a Graph error. cause may be nil; it is logged, never sent.
func NewError(status int, code, message string, cause error) *Error {
	return &Error{Status: status, Code: code, Message: message, cause: cause}
}

// Error implements error; it includes the private cause, for logs.
func (e *Error) Error() string {
	if e.cause != nil {
		return fmt.Sprintf("graph: %d %s: %s: %v", e.Status, e.Code, e.Message, e.cause)
	}
	return fmt.Sprintf("graph: %d %s: %s", e.Status, e.Code, e.Message)
}

// Unwrap returns the private cause.
func (e *Error) Unwrap() error { return e.cause }

// LogValue renders the error for slog with its cause.
func (e *Error) LogValue() slog.Value {
	attrs := []slog.Attr{slog.Int("status", e.Status), slog.String("code", e.Code), slog.String("message", e.Message)}
	if e.cause != nil {
		attrs = append(attrs, slog.String("cause", e.cause.Error()))
	}
	return slog.GroupValue(attrs...)
}

// badRequest is a 400 Request_BadRequest with a formatted message.
func badRequest(format string, args ...any) *Error {
	return NewError(http.StatusBadRequest, CodeRequestBadRequest, fmt.Sprintf(format, args...), nil)
}

// unsupportedQuery is a 400 Request_UnsupportedQuery, Graph's answer to a
// query the directory cannot run (reference §3.2).
func unsupportedQuery(format string, args ...any) *Error {
	return NewError(http.StatusBadRequest, CodeUnsupportedQuery, fmt.Sprintf(format, args...), nil)
}

// notFound is Graph's 404 for a missing directory object.
func notFound(id string) *Error {
	return NewError(http.StatusNotFound, CodeResourceNotFound,
		fmt.Sprintf("Resource '%s' does not exist or one of its queried reference-property objects are not present.", id), nil)
}

// forbidden is Graph's 403 (reference §1.3).
func forbidden() *Error {
	return NewError(http.StatusForbidden, CodeAccessDenied, msgForbidden, nil)
}

// errorFrom maps any error a handler returns to the Graph error to send:
// *Error passes through; *directory.Error keeps its code and message with
// the status of its kind; *odata.Error becomes a 400 naming the option and
// the position; store errors that escaped the directory get their Graph
// equivalents; anything else is a 500 generalException whose cause is only
// logged.
func errorFrom(err error) *Error {
	var (
		ge *Error
		de *directory.Error
		oe *odata.Error
		mb *http.MaxBytesError
	)
	switch {
	case errors.As(err, &ge):
		return ge
	case errors.As(err, &de):
		status := de.HTTPStatus()
		if status == http.StatusInternalServerError {
			break
		}
		code := de.Code
		if code == "" {
			code = defaultDirectoryCode(de.Kind)
		}
		return NewError(status, code, de.Message, err)
	case errors.As(err, &oe):
		return odataError(oe)
	case errors.Is(err, store.ErrBadCursor):
		return NewError(http.StatusBadRequest, CodeRequestBadRequest, "The $skiptoken value is invalid.", err)
	case errors.Is(err, store.ErrNotFound):
		return NewError(http.StatusNotFound, CodeResourceNotFound,
			"Resource does not exist or one of its queried reference-property objects are not present.", err)
	case errors.Is(err, store.ErrConflict):
		return NewError(http.StatusBadRequest, CodeRequestBadRequest,
			"A conflicting object with one or more of the specified property values is present in the directory.", err)
	case errors.As(err, &mb):
		return tooLarge(mb.Limit)
	}
	return NewError(http.StatusInternalServerError, CodeGeneralException, msgInternal, err)
}

func defaultDirectoryCode(k directory.ErrorKind) string {
	switch k {
	case directory.KindNotFound:
		return CodeResourceNotFound
	case directory.KindForbidden:
		return CodeAccessDenied
	}
	return CodeRequestBadRequest
}

// odataError renders a query option error. Syntax errors are Graph's
// BadRequest; a well-formed query naming a property or operator the
// collection does not support is Request_UnsupportedQuery, as Graph answers
// (reference §3.2). Both carry the position.
func odataError(oe *odata.Error) *Error {
	msg := fmt.Sprintf("Invalid %s clause at position %d: %s.", oe.Option, oe.Pos, strings.TrimSuffix(oe.Msg, "."))
	if errors.Is(oe, odata.ErrUnsupported) {
		return NewError(http.StatusBadRequest, CodeUnsupportedQuery, msg, oe)
	}
	return NewError(http.StatusBadRequest, CodeBadRequest, msg, oe)
}

func tooLarge(limit int64) *Error {
	return NewError(http.StatusRequestEntityTooLarge, CodeEntityTooLarge,
		fmt.Sprintf("The request body is larger than the limit of %d bytes.", limit), nil)
}

// errorBody is the Graph error envelope (reference §3.6).
type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code       string     `json:"code"`
	Message    string     `json:"message"`
	InnerError innerError `json:"innerError"`
}

type innerError struct {
	Date            string `json:"date"`
	RequestID       string `json:"request-id"`
	ClientRequestID string `json:"client-request-id"`
}

// innerDateLayout is innerError.date: UTC without a zone (reference §3.6).
const innerDateLayout = "2006-01-02T15:04:05"

// writeError is the one writer of Graph error responses. It logs the
// private cause with the request id (server errors at Error level, client
// errors at Debug) and sends the envelope.
func (a *API) writeError(w http.ResponseWriter, r *http.Request, err error) {
	ge := errorFrom(err)
	ctx := r.Context()
	level := slog.LevelDebug
	if ge.Status >= http.StatusInternalServerError {
		level = slog.LevelError
	}
	a.logger().Log(ctx, level, "graph request failed", "request_id", RequestID(ctx),
		"method", r.Method, "path", r.URL.Path, "error", ge)
	info := infoFrom(ctx)
	body := errorBody{Error: errorDetail{
		Code:    ge.Code,
		Message: ge.Message,
		InnerError: innerError{
			Date:            a.now().UTC().Format(innerDateLayout),
			RequestID:       info.requestID,
			ClientRequestID: info.clientRequestID,
		},
	}}
	a.writeJSON(w, ge.Status, body)
}
