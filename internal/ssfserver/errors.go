package ssfserver

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/vigil-idp/vigil/internal/authz"
	"github.com/vigil-idp/vigil/internal/oauth"
	"github.com/vigil-idp/vigil/ssf"
)

// Error codes of the management and poll endpoints beyond the SET error
// codes of RFC 8935 §2.4 (ssf.SETErr…). SSF 1.0 defines statuses, not
// bodies, for these endpoints; Vigil answers the RFC 8935 shape
// {"err", "description"} everywhere so a receiver parses one error type.
const (
	CodeNotFound        = "not_found"
	CodeConflict        = "conflict"
	CodeTooManyRequests = "too_many_requests"
	CodeTooLarge        = "request_too_large"
	CodeServerError     = "server_error"
)

// Error is an SSF endpoint's error: the HTTP status and the public body.
// The cause is logged, never sent.
type Error struct {
	Status      int
	Code        string
	Description string
	// RetryAfter, when positive, is sent as Retry-After (429).
	RetryAfter time.Duration
	cause      error
}

func (e *Error) Error() string {
	s := fmt.Sprintf("ssfserver: %d %s: %s", e.Status, e.Code, e.Description)
	if e.cause != nil {
		s += ": " + e.cause.Error()
	}
	return s
}

// Unwrap returns the private cause.
func (e *Error) Unwrap() error { return e.cause }

func badRequest(format string, args ...any) *Error {
	return &Error{Status: http.StatusBadRequest, Code: ssf.SETErrInvalidRequest, Description: fmt.Sprintf(format, args...)}
}

// errNotFound is the answer for an unknown stream and for another
// receiver's stream alike, so stream ids cannot be probed.
func errNotFound(id string) *Error {
	return &Error{Status: http.StatusNotFound, Code: CodeNotFound, Description: fmt.Sprintf("no stream %q", id)}
}

func internal(err error) *Error {
	return &Error{Status: http.StatusInternalServerError, Code: CodeServerError, Description: "internal error", cause: err}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// writeError renders err: an *Error as it says, anything else as 500.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	var e *Error
	if !errors.As(err, &e) {
		e = internal(err)
	}
	if e.Status >= 500 {
		s.logger().ErrorContext(r.Context(), "ssfserver: request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	if e.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int((e.RetryAfter+time.Second-1)/time.Second)))
	}
	writeJSON(w, e.Status, ssf.SETError{Err: e.Code, Description: e.Description})
}

// caller is an authenticated receiver.
type caller struct {
	// receiver is the token's client id: the owner of streams and their
	// aud.
	receiver  string
	principal *authz.Principal
}

// holds reports whether p has the permission as an application role or a
// delegated scope.
func holds(p *authz.Principal, perm string) bool { return p.HasRole(perm) || p.HasScope(perm) }

// manage authenticates the receiver and checks its permission (write:
// ssf.manage; read: ssf.read or ssf.manage) before calling h.
func (s *Server) manage(write bool, h func(w http.ResponseWriter, r *http.Request, c caller) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		p, err := s.Auth.Authenticate(r)
		if err != nil {
			status, challenge := oauth.Challenge(err, "")
			if status == http.StatusInternalServerError {
				s.writeError(w, r, internal(err))
				return
			}
			w.Header().Set("WWW-Authenticate", challenge)
			code := ssf.SETErrAuthenticationFailed
			if status == http.StatusBadRequest {
				code = ssf.SETErrInvalidRequest
			}
			s.writeError(w, r, &Error{Status: status, Code: code, Description: "a valid bearer token for " + authz.VigilResource + " is required"})
			return
		}
		ok := holds(p, authz.PermSSFManage) || (!write && holds(p, authz.PermSSFRead))
		if !ok || p.ClientID == "" {
			need := authz.PermSSFManage
			if !write {
				need = authz.PermSSFRead + " or " + authz.PermSSFManage
			}
			w.Header().Set("WWW-Authenticate", `Bearer error="insufficient_scope", scope="`+authz.PermSSFManage+`"`)
			s.writeError(w, r, &Error{Status: http.StatusForbidden, Code: ssf.SETErrAccessDenied,
				Description: "the token lacks the permission " + need})
			return
		}
		if err := h(w, r, caller{receiver: p.ClientID, principal: p}); err != nil {
			s.writeError(w, r, err)
		}
	}
}

// maxBody bounds management request bodies.
const maxBody = 64 << 10

// decodeBody reads a JSON object of at most limit bytes into v, with
// errors a receiver can act on.
func decodeBody(w http.ResponseWriter, r *http.Request, limit int64, v any) error {
	body := http.MaxBytesReader(w, r.Body, limit)
	dec := json.NewDecoder(body)
	if err := dec.Decode(v); err != nil {
		var tooLarge *http.MaxBytesError
		var syntax *json.SyntaxError
		var typ *json.UnmarshalTypeError
		switch {
		case errors.As(err, &tooLarge):
			return &Error{Status: http.StatusRequestEntityTooLarge, Code: CodeTooLarge,
				Description: fmt.Sprintf("the request body exceeds %d bytes", limit)}
		case errors.As(err, &syntax):
			return badRequest("the body is not valid JSON (at byte %d): %v", syntax.Offset, err)
		case errors.As(err, &typ):
			return badRequest("member %q must be %s, not a JSON %s", typ.Field, jsonKind(typ.Type.Kind().String()), typ.Value)
		case errors.Is(err, io.EOF):
			return badRequest("the body must be a JSON object")
		case errors.Is(err, io.ErrUnexpectedEOF):
			return badRequest("the body is not valid JSON: it ends too early")
		}
		return badRequest("the body is not a valid JSON object: %v", err)
	}
	if dec.More() {
		return badRequest("the body must hold one JSON object")
	}
	return nil
}

func jsonKind(goKind string) string {
	switch goKind {
	case "string":
		return "a string"
	case "slice":
		return "an array"
	case "struct", "map", "ptr":
		return "an object"
	case "bool":
		return "a boolean"
	}
	return "a number"
}
