package vigilapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
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

// API is the Vigil API. Build it as a struct literal: Issuer, Auth,
// Policies and Apps are required.
type API struct {
	// Issuer is the server's issuer URL; the API lives at Issuer +
	// PathPrefix.
	Issuer string
	// Auth verifies bearer tokens for authz.VigilResource.
	Auth Authenticator
	// Policies manages session policies.
	Policies Policies
	// Apps checks that a per-application policy names an application.
	Apps Applications
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
// permission it needs, and its handler.
type route struct {
	method, pattern string
	perm            permission
	h               handlerFunc
}

// routes lists every endpoint; each resource file contributes its own.
func (a *API) routes() []route {
	return a.policyRoutes()
}

// Mount registers the API's routes on mux (Go 1.22 patterns), below the
// issuer's path. It panics when a required field is missing: that is a
// wiring mistake.
func (a *API) Mount(mux *http.ServeMux) {
	if a.Auth == nil || a.Policies == nil || a.Apps == nil {
		panic("vigilapi: API needs Auth, Policies and Apps")
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
		if !rt.perm.allows(p) {
			a.writeError(w, r, apiError(http.StatusForbidden, codeAccessDenied, msgForbidden,
				fmt.Errorf("caller %s (client %s) lacks %s", p.ObjectID, p.ClientID, rt.perm.name)))
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, a.maxBodyBytes())
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

// permission is what a route requires: an application permission (roles)
// or the same-named delegated scope (scp) held by a user with one of
// adminRoles (wids).
type permission struct {
	name       string
	adminRoles []string
}

func (p permission) allows(pr *authz.Principal) bool {
	if pr.HasRole(p.name) {
		return true
	}
	if !pr.HasScope(p.name) {
		return false
	}
	for _, w := range pr.RoleTemplateIDs {
		for _, r := range p.adminRoles {
			if strings.EqualFold(w, r) {
				return true
			}
		}
	}
	return false
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
		return badRequest("The request body is not a valid JSON object: %v", err)
	}
	if dec.More() {
		return badRequest("The request body holds more than one JSON value.")
	}
	return nil
}
