package cli

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// Kind classifies an error for the process exit code. Do not reorder: the
// exit code of each kind is part of the CLI contract.
type Kind int

const (
	// KindFailed: the operation, or some of its targets, failed (exit 1).
	KindFailed Kind = iota
	// KindUsage: bad flags, arguments or input (exit 2).
	KindUsage
	// KindAuth: not authenticated or not authorized (exit 3).
	KindAuth
)

// Error is an error with a Kind. Its message is one line meant for the
// person at the terminal: what went wrong and what to do.
type Error struct {
	Kind Kind
	Err  error
}

func (e *Error) Error() string { return e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

// KindOf returns the kind of err: the first *Error in its chain decides; an
// *APIError is classified by its status; anything else is KindFailed.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	var ae *APIError
	if errors.As(err, &ae) {
		return ae.kind()
	}
	return KindFailed
}

// Classify returns the kind of err and whether err came from this package
// (an *Error or an *APIError in its chain); other errors, such as cobra's
// own, are the caller's to classify.
func Classify(err error) (Kind, bool) {
	var e *Error
	var ae *APIError
	if errors.As(err, &e) || errors.As(err, &ae) {
		return KindOf(err), true
	}
	return KindFailed, false
}

func usagef(format string, args ...any) error {
	return &Error{Kind: KindUsage, Err: fmt.Errorf(format, args...)}
}

func authf(format string, args ...any) error {
	return &Error{Kind: KindAuth, Err: fmt.Errorf(format, args...)}
}

func failf(format string, args ...any) error {
	return &Error{Kind: KindFailed, Err: fmt.Errorf(format, args...)}
}

// APIError is an error answer of a Vigil server: the HTTP status and, from
// Graph's error envelope ({"error":{"code","message","innerError"}}) or an
// RFC 6749 error ({"error","error_description"}), the code and message.
type APIError struct {
	Method    string
	Path      string // the request path, without the query
	Status    int
	Code      string
	Message   string
	RequestID string
}

func (e *APIError) Error() string {
	msg := e.Message
	if msg == "" {
		msg = http.StatusText(e.Status)
	}
	msg = strings.TrimSuffix(oneLine(msg), ".")
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s: %d", e.Method, e.Path, e.Status)
	if e.Code != "" {
		fmt.Fprintf(&b, " %s", e.Code)
	}
	fmt.Fprintf(&b, ": %s", msg)
	switch {
	case e.Status == http.StatusUnauthorized:
		b.WriteString("; sign in again with `vigil login`, or check VIGIL_CLIENT_ID and VIGIL_CLIENT_SECRET")
	case e.Status == http.StatusForbidden:
		b.WriteString("; use an identity that holds the needed permission or directory role")
	case e.Status == http.StatusTooManyRequests:
		b.WriteString("; the server is throttling: try again later or lower --concurrency")
	case e.Status >= 500:
		if e.RequestID != "" {
			fmt.Fprintf(&b, " (request-id %s; see the server log)", e.RequestID)
		} else {
			b.WriteString(" (see the server log)")
		}
	}
	return b.String()
}

// Short is the message alone, for per-target results.
func (e *APIError) Short() string {
	msg := e.Message
	if msg == "" {
		msg = http.StatusText(e.Status)
	}
	if e.Code != "" {
		return fmt.Sprintf("%d %s: %s", e.Status, e.Code, oneLine(msg))
	}
	return fmt.Sprintf("%d: %s", e.Status, oneLine(msg))
}

func (e *APIError) kind() Kind {
	switch {
	case e.Status == http.StatusUnauthorized || e.Status == http.StatusForbidden:
		return KindAuth
	case e.Status == http.StatusBadRequest:
		return KindUsage
	}
	return KindFailed
}

// statusOf returns the HTTP status of an *APIError in err's chain, or 0.
func statusOf(err error) int {
	var ae *APIError
	if errors.As(err, &ae) {
		return ae.Status
	}
	return 0
}

// targetError is the text of a per-target failure: an API error's short
// form, or the error's message.
func targetError(err error) string {
	var ae *APIError
	if errors.As(err, &ae) {
		if ae.Status == http.StatusNotFound {
			return "not found"
		}
		return ae.Short()
	}
	return oneLine(err.Error())
}

// oneLine flattens a message to one line.
func oneLine(s string) string {
	s = strings.TrimSpace(s)
	if !strings.ContainsAny(s, "\r\n") {
		return s
	}
	return strings.Join(strings.Fields(s), " ")
}
