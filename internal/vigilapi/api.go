package vigilapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/vigil-idp/vigil/internal/authz"
	"github.com/vigil-idp/vigil/internal/session"
	"github.com/vigil-idp/vigil/internal/store"
)

// PathPrefix is the Vigil API's path below the issuer.
const PathPrefix = "/vigil/v1"

// DefaultMaxBodyBytes bounds request bodies unless API.MaxBodyBytes says
// otherwise.
const DefaultMaxBodyBytes = 64 << 10

// Authenticator verifies a request's bearer token; *oauth.Verifier (with
// Audiences [authz.VigilResource]) satisfies it. Its errors are
// internal/oauth's (oauth.ErrNoToken, *oauth.BearerError).
type Authenticator interface {
	Authenticate(r *http.Request) (*authz.Principal, error)
}

// Policies is the policy service; *session.Service satisfies it.
type Policies interface {
	GetPolicy(ctx context.Context, scope string) (session.ScopedPolicy, error)
	PutPolicy(ctx context.Context, scope string, set session.Settings) (session.ScopedPolicy, error)
	DeletePolicy(ctx context.Context, scope string) error
	ListPolicies(ctx context.Context) ([]session.ScopedPolicy, error)
	EffectivePolicy(ctx context.Context, clientID string) (session.Policy, error)
}

// Applications looks applications up by appId; store.Store satisfies it.
type Applications interface {
	GetApplicationByAppID(ctx context.Context, appID string) (store.Application, error)
}

// API is the Vigil API. Build it as a struct literal. Issuer, Auth,
// Policies and Apps are required. The application routes are mounted when
// AppSettings is set, the revocation routes when Revocations and Users are set, the session routes when Sessions is set
// too (see Mount); Receipts is optional.
type API struct {
	// Issuer is the server's issuer URL; the API lives at Issuer +
	// PathPrefix.
	Issuer string
	// Auth verifies bearer tokens for authz.VigilResource.
	Auth Authenticator
	// Policies manages session policies.
	Policies Policies
	// Apps checks that a per-application policy names an application,
	// and names the applications of sessions and of initiators.
	Apps Applications
	// Revocations is the revocation engine (*revocation.Service): bulk
	// jobs, their results, and ending one session.
	Revocations Revocations
	// Users reads users by id or userPrincipalName and the facts
	// per-target authorization needs (store.Store).
	Users Users
	// Sessions reads SSO sessions (store.Store).
	Sessions Sessions
	// AppSettings reads applications and changes their OpenID Connect
	// client settings (*directory.Service); nil leaves the application
	// routes unmounted.
	AppSettings AppSettings
	// Receipts reports a revocation's SSF receipts and effectiveAt
	// (*ssfserver.Server). Nil means the receipts the store holds, with
	// effectiveAt computed from them (see revocationResource).
	Receipts ReceiptSource
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Logger receives the private causes of errors; nil discards them.
	Logger *slog.Logger
	// MaxBodyBytes bounds request bodies; 0 means DefaultMaxBodyBytes.
	MaxBodyBytes int64
	// NewRequestID returns request ids; nil means random UUIDs.
	NewRequestID func() string
}

// handlerFunc is a Vigil API handler: it writes a success itself or
// returns an error for writeError.
type handlerFunc func(w http.ResponseWriter, r *http.Request, p *authz.Principal) error

// route is one endpoint: method and pattern below PathPrefix, the
// permission it needs, its handler, and the least body limit it needs (0:
// the API's).
type route struct {
	method, pattern string
	perm            permission
	h               handlerFunc
	minBodyLimit    int64
}

// routes lists every endpoint; each resource file contributes its own.
func (a *API) routes() []route {
	rs := a.policyRoutes()
	if a.AppSettings != nil {
		rs = append(rs, a.applicationRoutes()...)
	}
	if a.Revocations != nil {
		rs = append(rs, a.revocationRoutes()...)
		if a.Sessions != nil {
			rs = append(rs, a.sessionRoutes()...)
		}
	}
	return rs
}

// Mount registers the API's routes on mux (Go 1.22 patterns), below the
// issuer's path: the policies always; the applications' settings when
// AppSettings is set; the revocations when Revocations is set; the
// sessions when Sessions is set as well. Paths of routes not
// mounted answer 404. It panics when a required field is missing
// (Revocations needs Users; Sessions needs Revocations): that is a wiring
// mistake.
func (a *API) Mount(mux *http.ServeMux) {
	switch {
	case a.Auth == nil || a.Policies == nil || a.Apps == nil:
		panic("vigilapi: API needs Auth, Policies and Apps")
	case a.Revocations != nil && a.Users == nil:
		panic("vigilapi: API.Revocations needs API.Users")
	case a.Sessions != nil && a.Revocations == nil:
		panic("vigilapi: API.Sessions needs API.Revocations (ending a session is a revocation)")
	}
	u, err := url.Parse(a.Issuer)
	if err != nil || u.Scheme == "" || u.Host == "" {
		panic(fmt.Sprintf("vigilapi: API.Issuer %q is not an absolute URL", a.Issuer))
	}
	base := strings.TrimSuffix(u.Path, "/") + PathPrefix
	methods := map[string][]string{}
	for _, rt := range a.routes() {
		mux.Handle(rt.method+" "+base+rt.pattern, a.endpoint(rt))
		methods[rt.pattern] = append(methods[rt.pattern], rt.method)
	}
	for pattern, allowed := range methods {
		mux.Handle(base+pattern, a.withRequestIDs(a.methodNotAllowed(allowed)))
	}
	mux.Handle(base+"/", a.withRequestIDs(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a.writeError(w, r, apiError(http.StatusNotFound, codeNotFound, "No Vigil API resource at "+r.URL.Path+".", nil))
	})))
}

// endpoint wraps a route: request ids, bearer authentication, permission
// check, body limit.
func (a *API) endpoint(rt route) http.Handler {
	return a.withRequestIDs(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, err := a.Auth.Authenticate(r)
		if err != nil {
			a.writeAuthError(w, r, err)
			return
		}
		if err := rt.perm.check(p); err != nil {
			a.writeError(w, r, err)
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, max(a.maxBodyBytes(), rt.minBodyLimit))
		if err := rt.h(w, r, p); err != nil {
			a.writeError(w, r, err)
		}
	}))
}

func (a *API) methodNotAllowed(allowed []string) http.Handler {
	allow := strings.Join(allowed, ", ")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Allow", allow)
		a.writeError(w, r, apiError(http.StatusMethodNotAllowed, codeBadRequest,
			"Specified HTTP method is not allowed for the request target.", nil))
	})
}

func (a *API) now() time.Time {
	if a.Now != nil {
		return a.Now()
	}
	return time.Now()
}

func (a *API) logger() *slog.Logger {
	if a.Logger != nil {
		return a.Logger
	}
	return slog.New(slog.DiscardHandler)
}

func (a *API) maxBodyBytes() int64 {
	if a.MaxBodyBytes > 0 {
		return a.MaxBodyBytes
	}
	return DefaultMaxBodyBytes
}

func (a *API) newRequestID() string {
	if a.NewRequestID != nil {
		return a.NewRequestID()
	}
	return uuid.NewString()
}

// writeJSON writes a 200 (or status) JSON body.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// decodeJSON reads a JSON object body into v (which may reject unknown
// members itself); any failure is a 400 naming the problem.
func decodeJSON(r *http.Request, v any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(strings.ToLower(ct), "application/json") {
		return apiError(http.StatusUnsupportedMediaType, codeUnsupportedMediaType, "The request body must be application/json.", nil)
	}
	dec := json.NewDecoder(r.Body)
	if err := dec.Decode(v); err != nil {
		var tooBig *http.MaxBytesError
		if errors.Is(err, session.ErrInvalidPolicy) {
			return err
		}
		if errors.As(err, &tooBig) {
			return apiError(http.StatusRequestEntityTooLarge, codeEntityTooLarge, "The request body is too large.", err)
		}
		if errors.Is(err, io.EOF) {
			return badRequest("The request body is empty; it must be a JSON object.")
		}
		return badRequest("The request body is not a valid JSON object: %v", err)
	}
	if dec.More() {
		return badRequest("The request body holds more than one JSON value.")
	}
	return nil
}
