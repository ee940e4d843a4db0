package graph

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/google/uuid"

	"github.com/vigil-idp/vigil/internal/authz"
	"github.com/vigil-idp/vigil/internal/oauth"
)

// Authenticator verifies the bearer token of a request and returns the
// caller. Its errors are internal/oauth's: oauth.ErrNoToken when the request
// carries no bearer token, an *oauth.BearerError when the token is
// unacceptable, anything else when it could not be checked.
// *oauth.Verifier satisfies it.
type Authenticator interface {
	Authenticate(r *http.Request) (*authz.Principal, error)
}

// requestInfo is what the middleware learns about a request, kept in its
// context.
type requestInfo struct {
	requestID       string
	clientRequestID string
	// escapedPath is the request path as the client sent it, before any
	// alternate-key rewrite; @odata.nextLink is built from it.
	escapedPath string
}

type infoKey struct{}

func infoFrom(ctx context.Context) requestInfo {
	info, _ := ctx.Value(infoKey{}).(requestInfo)
	return info
}

// RequestID returns the Graph request-id of the request whose context ctx
// is (the value of the request-id response header and of
// innerError.request-id), or "" outside a Graph request. Loggers call it to
// tag their lines.
func RequestID(ctx context.Context) string {
	return infoFrom(ctx).requestID
}

// maxClientRequestID bounds the echoed client-request-id header.
const maxClientRequestID = 256

// withRequestIDs gives every request a new GUID request-id, echoes the
// client's client-request-id (or repeats the request-id when there is none,
// as Graph does: reference §3.6) and sets the headers every Graph response
// carries.
func (a *API) withRequestIDs(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := a.newRequestID()
		client := clientRequestID(r.Header, id)
		setGraphHeaders(w.Header(), id, client)
		info := requestInfo{requestID: id, clientRequestID: client, escapedPath: r.URL.EscapedPath()}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), infoKey{}, info)))
	})
}

// clientRequestID is the client-request-id to echo for a request with
// headers h and request-id id: the client's, or id when it sent none
// usable.
func clientRequestID(h http.Header, id string) string {
	client := h.Get("client-request-id")
	if client == "" || len(client) > maxClientRequestID || !printableASCII(client) {
		return id
	}
	return client
}

// setGraphHeaders sets the headers every Graph response carries.
func setGraphHeaders(h http.Header, requestID, clientRequestID string) {
	h.Set("request-id", requestID)
	h.Set("client-request-id", clientRequestID)
	h.Set("OData-Version", "4.0")
	h.Set("Cache-Control", "no-cache")
}

func (a *API) newRequestID() string {
	if a.NewRequestID != nil {
		return a.NewRequestID()
	}
	return uuid.NewString()
}

func printableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// trackingWriter remembers whether a response was started, so that a panic
// can still be answered with an envelope when nothing was written yet.
type trackingWriter struct {
	http.ResponseWriter
	started bool
}

func (t *trackingWriter) WriteHeader(code int) {
	t.started = true
	t.ResponseWriter.WriteHeader(code)
}

func (t *trackingWriter) Write(b []byte) (int, error) {
	t.started = true
	return t.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (t *trackingWriter) Unwrap() http.ResponseWriter { return t.ResponseWriter }

// recoverPanics turns a handler panic into a logged 500 generalException.
// http.ErrAbortHandler is re-raised so the server aborts the response.
func (a *API) recoverPanics(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tw := &trackingWriter{ResponseWriter: w}
		defer func() {
			p := recover()
			if p == nil {
				return
			}
			if p == http.ErrAbortHandler {
				panic(p)
			}
			err := fmt.Errorf("graph: panic: %v", p)
			if tw.started {
				a.logger().ErrorContext(r.Context(), "graph handler panicked after responding",
					"request_id", RequestID(r.Context()), "error", err)
				return
			}
			a.writeError(tw, r, err)
		}()
		next.ServeHTTP(tw, r)
	})
}

// DefaultMaxBodyBytes is the request body limit when API.MaxBodyBytes is 0.
const DefaultMaxBodyBytes = 1 << 20

// limitBodies refuses a declared Content-Length above the limit at once and
// caps what handlers can read; reading past the cap fails with
// *http.MaxBytesError, which errorFrom maps to 413.
func (a *API) limitBodies(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		limit := a.maxBodyBytes()
		if r.ContentLength > limit {
			a.writeError(w, r, tooLarge(limit))
			return
		}
		if r.Body != nil {
			r.Body = http.MaxBytesReader(w, r.Body, limit)
		}
		next.ServeHTTP(w, r)
	})
}

func (a *API) maxBodyBytes() int64 {
	if a.MaxBodyBytes > 0 {
		return a.MaxBodyBytes
	}
	return DefaultMaxBodyBytes
}

// authenticate verifies the request's bearer token with a.Auth and puts
// the principal in the context (authz.WithPrincipal). Failures are answered
// in the Graph envelope with the RFC 6750 §3 challenge of internal/oauth:
// 401 InvalidAuthenticationToken with error="invalid_token" when a bad
// token was sent, and without an error attribute when none was (§3.1); 400
// for a malformed request (invalid_request, e.g. a token in the query); 500
// when the token could not be checked at all (the key store failed).
func (a *API) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, err := a.Auth.Authenticate(r)
		if err == nil && p != nil {
			next.ServeHTTP(w, r.WithContext(authz.WithPrincipal(r.Context(), p)))
			return
		}
		if err == nil {
			err = &oauth.BearerError{Code: oauth.CodeInvalidToken, Description: "the token names no principal"}
		}
		status, challenge := oauth.Challenge(err, a.realm())
		if challenge != "" {
			w.Header().Set("WWW-Authenticate", challenge)
		}
		var be *oauth.BearerError
		desc := ""
		if errors.As(err, &be) {
			desc = be.Description
		}
		switch {
		case status == http.StatusInternalServerError:
			a.writeError(w, r, err)
		case status == http.StatusBadRequest:
			a.writeError(w, r, NewError(status, CodeBadRequest, desc, err))
		case status == http.StatusForbidden:
			a.writeError(w, r, NewError(status, CodeAccessDenied, msgForbidden, err))
		case errors.Is(err, oauth.ErrNoToken):
			a.writeError(w, r, NewError(http.StatusUnauthorized, CodeInvalidToken, "Access token is empty.", err))
		case be != nil && be.Code == oauth.CodeInsufficientClaims:
			// Graph's answer to a CAE-capable client's revoked token.
			a.writeError(w, r, NewError(http.StatusUnauthorized, CodeInvalidToken, msgCAEChallenge, err))
		default:
			a.writeError(w, r, NewError(http.StatusUnauthorized, CodeInvalidToken, "Access token validation failure: "+strings.TrimSuffix(desc, ".")+".", err))
		}
	})
}

// msgCAEChallenge is Graph's message with a claims challenge of
// continuous access evaluation after a revocation, as quoted in
// microsoftgraph/msgraph-sdk-powershell issue 1741 (after
// Revoke-MgUserSignInSession).
const msgCAEChallenge = "Continuous access evaluation resulted in claims challenge with result: InteractionRequired and code: TokenIssuedBeforeRevocationTimestamp"

// realm is the protection space named in challenges: the server's origin
// and path above the Graph base (its issuer).
func (a *API) realm() string {
	return strings.TrimSuffix(strings.TrimSuffix(a.BaseURL, "/"), prefixV1)
}
