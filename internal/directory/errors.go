package directory

import (
	"errors"
	"fmt"

	"github.com/vigil-idp/vigil/internal/store"
)

// ErrorKind classifies a directory error so callers can act on it without
// reading messages. Append-only: do not reorder.
type ErrorKind int

// Error kinds.
const (
	// KindInvalid: the request breaks a validation rule (HTTP 400).
	KindInvalid ErrorKind = iota + 1
	// KindNotFound: an addressed object does not exist (HTTP 404).
	KindNotFound
	// KindConflict: the write collides with existing state (duplicate
	// userPrincipalName, membership, role assignment, service principal).
	// Graph's directory answers most with 400 Request_BadRequest, not 409;
	// see Error.HTTPStatus.
	KindConflict
	// KindForbidden: the operation is never allowed on this object, whoever
	// asks (HTTP 403), e.g. deleting a built-in service principal.
	KindForbidden
)

// String names the kind, for logs and test failures.
func (k ErrorKind) String() string {
	switch k {
	case KindInvalid:
		return "invalid"
	case KindNotFound:
		return "not found"
	case KindConflict:
		return "conflict"
	case KindForbidden:
		return "forbidden"
	}
	return fmt.Sprintf("ErrorKind(%d)", int(k))
}

// Graph error codes the directory produces
// (https://learn.microsoft.com/en-us/graph/errors).
const (
	CodeBadRequest        = "Request_BadRequest"
	CodeResourceNotFound  = "Request_ResourceNotFound"
	CodeAccessDenied      = "Authorization_RequestDenied"
	CodeMultipleSameValue = "Request_MultipleObjectsWithSameKeyValue"
	CodeUnsupportedQuery  = "Request_UnsupportedQuery"
)

// Error is a directory rule violation. Code and Message are Graph's and safe
// to send to the caller; Err is the private cause (a store error, say),
// which is logged, never sent.
type Error struct {
	Kind    ErrorKind
	Code    string // Graph error code, e.g. "Request_BadRequest"
	Message string // Graph's wording
	Err     error  // private cause; may be nil
}

// Error implements error. It includes the private cause: log it, never send it.
func (e *Error) Error() string {
	if e.Err != nil {
		return "directory: " + e.Message + ": " + e.Err.Error()
	}
	return "directory: " + e.Message
}

// Unwrap returns the private cause.
func (e *Error) Unwrap() error { return e.Err }

// HTTPStatus is the status Graph answers for e: 400 for KindInvalid; 400
// for KindConflict too, since Graph's directory reports uniqueness
// violations as 400 Request_BadRequest (e.g. a duplicate
// userPrincipalName, microsoftgraph/microsoft-graph-docs#1508), except
// Request_MultipleObjectsWithSameKeyValue (a second service principal for
// an appId), which Graph answers with 409 (seen in
// Azure/reliable-web-app-pattern-java#185 and KelvinTegelaar/CIPP#1142);
// 404 for KindNotFound; 403 for KindForbidden; 500 otherwise.
func (e *Error) HTTPStatus() int {
	switch e.Kind {
	case KindInvalid:
		return 400
	case KindConflict:
		if e.Code == CodeMultipleSameValue {
			return 409
		}
		return 400
	case KindNotFound:
		return 404
	case KindForbidden:
		return 403
	}
	return 500
}

// IsKind reports whether err is (or wraps) a directory *Error of kind k.
func IsKind(err error, k ErrorKind) bool {
	var e *Error
	return errors.As(err, &e) && e.Kind == k
}

func invalid(format string, args ...any) *Error {
	return &Error{Kind: KindInvalid, Code: CodeBadRequest, Message: fmt.Sprintf(format, args...)}
}

// notFound is Graph's 404 for a missing directory object.
func notFound(id string, cause error) *Error {
	return &Error{
		Kind:    KindNotFound,
		Code:    CodeResourceNotFound,
		Message: fmt.Sprintf("Resource '%s' does not exist or one of its queried reference-property objects are not present.", id),
		Err:     cause,
	}
}

func conflict(code, msg string, cause error) *Error {
	return &Error{Kind: KindConflict, Code: code, Message: msg, Err: cause}
}

// Graph's messages for conflicts.
const (
	msgDuplicateUPN     = "Another object with the same value for property userPrincipalName already exists."
	msgDuplicateMember  = "One or more added object references already exist for the following modified properties: 'members'."
	msgConflictingValue = "A conflicting object with one or more of the specified property values is present in the directory."
)

// wrap turns a store error into a directory *Error: ErrNotFound becomes
// KindNotFound about id, ErrConflict becomes KindConflict with onConflict's
// message, a *Error passes through unchanged, and anything else is returned
// wrapped with op (an internal failure, HTTP 500).
func wrap(op, id string, err error, onConflict string) error {
	if err == nil {
		return nil
	}
	var de *Error
	switch {
	case errors.As(err, &de):
		return err
	case errors.Is(err, store.ErrNotFound):
		return notFound(id, err)
	case errors.Is(err, store.ErrConflict) && onConflict != "":
		return conflict(CodeBadRequest, onConflict, err)
	}
	return fmt.Errorf("directory: %s: %w", op, err)
}

// Optional is a field of a create or PATCH body: absent (Set false), an
// explicit JSON null (Set and Null), or a value.
type Optional[T any] struct {
	Set   bool
	Null  bool
	Value T
}

// Some returns a set, non-null Optional holding v.
func Some[T any](v T) Optional[T] { return Optional[T]{Set: true, Value: v} }

// Null returns an Optional that is an explicit null.
func Null[T any]() Optional[T] { return Optional[T]{Set: true, Null: true} }

// has reports whether o carries a non-null value.
func (o Optional[T]) has() bool { return o.Set && !o.Null }
