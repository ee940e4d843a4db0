package oauth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/vigil-idp/vigil/internal/secret"
)

// Grant types (RFC 6749 §4), the keys of Provider.Grants.
const (
	GrantClientCredentials = "client_credentials"
)

// DefaultMaxBodyBytes bounds the body of a token request unless
// Provider.MaxBodyBytes says otherwise.
const DefaultMaxBodyBytes = 64 << 10

// Paths below the issuer URL.
const (
	PathToken = "/token"
	PathJWKS  = "/jwks"
	// PathOpenIDConfiguration is OpenID Connect Discovery 1.0 §4.
	PathOpenIDConfiguration = "/.well-known/openid-configuration"
	// PathOAuthServerMetadata is RFC 8414 §3; for an issuer with a path it
	// comes before that path.
	PathOAuthServerMetadata = "/.well-known/oauth-authorization-server"
)

// Grant answers token requests of one grant_type (RFC 6749 §4). The Provider
// parses and checks the request and authenticates the client before calling
// it.
type Grant interface {
	// Token issues tokens for req, or returns an *Error (any other error
	// becomes server_error).
	Token(ctx context.Context, req *TokenRequest) (*TokenResponse, error)
}

// TokenRequest is a parsed token request (RFC 6749 §3.2).
type TokenRequest struct {
	// Form holds the body parameters; each appears at most once
	// (RFC 6749 §3.2).
	Form url.Values
	// Client is the authenticated client.
	Client Client
	// RemoteIP and UserAgent describe the caller, for the sessions that
	// the password and device code grants start.
	RemoteIP  string
	UserAgent string
}

// TokenResponse is a successful token response (RFC 6749 §5.1).
type TokenResponse struct {
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"`
	// ExpiresIn is the access token's lifetime in seconds.
	ExpiresIn int64 `json:"expires_in"`
	// ExtExpiresIn is Entra's extended lifetime for outages; Vigil sends
	// the same value as ExpiresIn.
	ExtExpiresIn int64  `json:"ext_expires_in,omitempty"`
	Scope        string `json:"scope,omitempty"`
	// RefreshToken is issued when offline_access was granted (RFC 6749
	// §1.5, OpenID Connect Core §11).
	RefreshToken string `json:"refresh_token,omitempty"`
	// IDToken is issued when openid was granted (OpenID Connect Core
	// §3.1.3.3).
	IDToken string `json:"id_token,omitempty"`
}

// Provider is the OpenID Provider / authorization server: it serves the
// discovery documents, the JWK Set and the token endpoint, and mounts the
// optional endpoints it is given. Build it as a struct literal: Issuer,
// Clients, Secrets, Keys and Grants are required.
type Provider struct {
	// Issuer is the issuer identifier (OpenID Connect Discovery 1.0 §3):
	// an https (or, for local use, http) URL without query or fragment.
	Issuer string
	// Clients looks up applications and their secrets.
	Clients ClientStore
	// Secrets verifies client secrets against their stored keyed hashes.
	Secrets *secret.Hasher
	// Keys supplies the published JWK Set.
	Keys KeySet
	// Grants maps grant_type to its handler; discovery advertises exactly
	// these grant types.
	Grants map[string]Grant
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Logger receives the private causes of errors; nil discards them.
	Logger *slog.Logger
	// JWKSMaxAge is the Cache-Control max-age of the JWK Set; 0 means one
	// hour. Keep it well below keys.Manager.PublishAhead.
	JWKSMaxAge time.Duration
	// MaxBodyBytes bounds the body of a token request; 0 means
	// DefaultMaxBodyBytes.
	MaxBodyBytes int64

	// The optional endpoints below are mounted by Mount and advertised in
	// discovery exactly when set, so the metadata names only what works.

	// Authorization serves GET and POST <issuer>/authorize (RFC 6749
	// §3.1, OpenID Connect Core §3.1.2.1); internal/login provides it.
	Authorization http.Handler
	// EndSession serves GET and POST <issuer>/logout (OpenID Connect
	// RP-Initiated Logout 1.0 §2); internal/login provides it.
	EndSession http.Handler
	// UserInfo serves <issuer>/userinfo (OpenID Connect Core §5.3).
	UserInfo *UserInfo
	// Device serves the device authorization endpoint <issuer>/devicecode
	// (RFC 8628 §3.1); add it to Grants under GrantDeviceCode too.
	Device *DeviceFlow
	// Introspection and Revocation serve <issuer>/introspect (RFC 7662)
	// and <issuer>/revoke (RFC 7009); their Provider must be this one.
	Introspection *Introspection
	Revocation    *Revocation
	// BackchannelLogout says that back-channel logout (OpenID Connect
	// Back-Channel Logout 1.0) is delivered, with sid.
	BackchannelLogout bool
	// Assertions enables private_key_jwt client authentication
	// (RFC 7523 §2.2).
	Assertions *ClientAssertions
	// IDTokens, when set, supplies id_token_signing_alg_values_supported;
	// nil advertises RS256 only.
	IDTokens *IDTokens
}

// Mount registers the endpoints on mux (Go 1.22 patterns), below the
// issuer's path. It panics when a required field is missing, as
// http.ServeMux does for a bad pattern: that is a wiring mistake.
func (s *Provider) Mount(mux *http.ServeMux) {
	if err := s.check(); err != nil {
		panic(err)
	}
	base := s.issuerPath()
	mux.HandleFunc("GET "+base+PathOpenIDConfiguration, s.discovery)
	mux.HandleFunc("GET "+PathOAuthServerMetadata+base, s.discovery)
	mux.HandleFunc("GET "+base+PathJWKS, s.jwks)
	mux.HandleFunc("POST "+base+PathToken, s.token)
	mux.HandleFunc(base+PathToken, s.tokenMethodNotAllowed)
	if s.Authorization != nil {
		mux.Handle("GET "+base+PathAuthorize, s.Authorization)
		mux.Handle("POST "+base+PathAuthorize, s.Authorization)
	}
	if s.EndSession != nil {
		mux.Handle("GET "+base+PathEndSession, s.EndSession)
		mux.Handle("POST "+base+PathEndSession, s.EndSession)
	}
	if s.UserInfo != nil {
		mux.Handle(base+PathUserInfo, s.UserInfo)
	}
	if s.Device != nil {
		mux.HandleFunc("POST "+base+PathDeviceAuthorization, s.serveDeviceAuthorization)
		mux.HandleFunc(base+PathDeviceAuthorization, s.tokenMethodNotAllowed)
	}
	if s.Introspection != nil {
		s.Introspection.Mount(mux)
	}
	if s.Revocation != nil {
		s.Revocation.Mount(mux)
	}
}

// check reports missing or unusable required fields.
func (s *Provider) check() error {
	var errs []error
	if u, err := url.Parse(s.Issuer); err != nil || u.Scheme == "" || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		errs = append(errs, fmt.Errorf("oauth: Provider.Issuer %q is not an absolute URL without query or fragment", s.Issuer))
	}
	if s.Clients == nil || s.Secrets == nil || s.Keys == nil {
		errs = append(errs, errors.New("oauth: Provider needs Clients, Secrets and Keys"))
	}
	if len(s.Grants) == 0 {
		errs = append(errs, errors.New("oauth: Provider has no Grants"))
	}
	if s.Authorization != nil && s.Grants[GrantAuthorizationCode] == nil {
		errs = append(errs, errors.New("oauth: Provider.Authorization is set but Grants lacks "+GrantAuthorizationCode))
	}
	if s.Device != nil && s.Grants[GrantDeviceCode] == nil {
		errs = append(errs, errors.New("oauth: Provider.Device is set but Grants lacks "+GrantDeviceCode))
	}
	if s.UserInfo != nil && (s.UserInfo.Verifier == nil || s.UserInfo.Users == nil) {
		errs = append(errs, errors.New("oauth: UserInfo needs a Verifier and Users"))
	}
	if (s.Introspection != nil && s.Introspection.Provider != s) || (s.Revocation != nil && s.Revocation.Provider != s) {
		errs = append(errs, errors.New("oauth: Introspection and Revocation must name this Provider"))
	}
	if s.Assertions != nil && s.Assertions.Keys == nil {
		errs = append(errs, errors.New("oauth: ClientAssertions needs Keys"))
	}
	return errors.Join(errs...)
}

// issuerPath is the path of the issuer URL without a trailing slash.
func (s *Provider) issuerPath() string {
	u, err := url.Parse(s.Issuer)
	if err != nil {
		return ""
	}
	return strings.TrimSuffix(u.Path, "/")
}

// endpoint returns the absolute URL of path below the issuer.
func (s *Provider) endpoint(path string) string {
	return strings.TrimSuffix(s.Issuer, "/") + path
}

func (s *Provider) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s *Provider) logger() *slog.Logger {
	if s.Logger != nil {
		return s.Logger
	}
	return slog.New(slog.DiscardHandler)
}

// token is the token endpoint (RFC 6749 §3.2).
func (s *Provider) token(w http.ResponseWriter, r *http.Request) {
	resp, err := s.handleToken(w, r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeNoStoreJSON(w, resp)
}

// writeNoStoreJSON writes a 200 JSON answer that caches must not keep
// (RFC 6749 §5.1).
func writeNoStoreJSON(w http.ResponseWriter, v any) {
	h := w.Header()
	h.Set("Content-Type", "application/json;charset=UTF-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
	w.WriteHeader(http.StatusOK)
	_ = json.NewEncoder(w).Encode(v)
}

func (s *Provider) handleToken(w http.ResponseWriter, r *http.Request) (*TokenResponse, error) {
	limit := s.MaxBodyBytes
	if limit <= 0 {
		limit = DefaultMaxBodyBytes
	}
	form, err := readForm(w, r, limit)
	if err != nil {
		return nil, err
	}
	gt := form.Get("grant_type")
	if gt == "" {
		return nil, errorf(CodeInvalidRequest, "grant_type is required")
	}
	g, ok := s.Grants[gt]
	if !ok {
		return nil, errorf(CodeUnsupportedGrantType, "grant_type '%s' is not supported", truncate(gt, 64))
	}
	pg, public := g.(PublicGrant)
	client, err := s.authenticateClient(r, form, public && pg.AllowsPublicClients())
	if err != nil {
		return nil, err
	}
	return g.Token(r.Context(), &TokenRequest{Form: form, Client: client, RemoteIP: remoteIP(r.RemoteAddr), UserAgent: r.UserAgent()})
}

// tokenMethodNotAllowed answers anything but POST at the token endpoint
// (RFC 6749 §3.2: "The client MUST use the HTTP POST method") and at the
// device authorization endpoint (RFC 8628 §3.1).
func (s *Provider) tokenMethodNotAllowed(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Allow", http.MethodPost)
	WriteError(w, &Error{Code: CodeInvalidRequest, Description: "this endpoint accepts only POST", Status: http.StatusMethodNotAllowed})
}

// fail logs err's cause and writes it, with a WWW-Authenticate challenge
// for every invalid_client 401 (see withChallenge). The token,
// introspection, revocation and device authorization endpoints answer
// errors through it.
func (s *Provider) fail(w http.ResponseWriter, r *http.Request, err error) {
	var oe *Error
	level := slog.LevelInfo
	if !errors.As(err, &oe) || oe.HTTPStatus() >= 500 {
		level = slog.LevelError
	}
	s.logger().Log(r.Context(), level, "oauth: token request failed", "path", r.URL.Path, "err", err)
	WriteError(w, s.withChallenge(err))
}

// readForm reads a token request body: application/x-www-form-urlencoded
// (RFC 6749 §3.2), at most limit bytes, no parameter twice, and no client
// secret in the URL (RFC 6749 §2.3.1).
func readForm(w http.ResponseWriter, r *http.Request, limit int64) (url.Values, error) {
	if r.URL.Query().Has("client_secret") {
		return nil, errorf(CodeInvalidRequest, "client credentials must not be sent in the request URI")
	}
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/x-www-form-urlencoded" {
		return nil, errorf(CodeInvalidRequest, "the request body must be application/x-www-form-urlencoded")
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, &Error{Code: CodeInvalidRequest, Description: "request body too large", Status: http.StatusRequestEntityTooLarge}
		}
		return nil, errorf(CodeInvalidRequest, "cannot read the request body").WithCause(err)
	}
	form, err := url.ParseQuery(string(body))
	if err != nil { // no cause: it may quote part of a secret
		return nil, errorf(CodeInvalidRequest, "malformed form body")
	}
	for k, v := range form {
		if len(v) > 1 {
			return nil, errorf(CodeInvalidRequest, "parameter '%s' is repeated", truncate(k, 64))
		}
	}
	return form, nil
}

// truncate shortens client-supplied text echoed in descriptions.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

// remoteIP is the host part of r.RemoteAddr.
func remoteIP(addr string) string {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	return host
}
