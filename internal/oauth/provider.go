package oauth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
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
}

// Provider is the OpenID Provider / authorization server: it serves the
// discovery documents, the JWK Set and the token endpoint. Build it as a
// struct literal: Issuer, Clients, Secrets, Keys and Grants are required.
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
	h := w.Header()
	h.Set("Content-Type", "application/json;charset=UTF-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
	w.WriteHeader(http.StatusOK)
	_ = json.NewEncoder(w).Encode(resp)
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
		return nil, errorf(CodeUnsupportedGrantType, "grant_type %q is not supported", truncate(gt, 64))
	}
	client, err := s.authenticate(r, form)
	if err != nil {
		return nil, err
	}
	return g.Token(r.Context(), &TokenRequest{Form: form, Client: client})
}

// tokenMethodNotAllowed answers anything but POST at the token endpoint
// (RFC 6749 §3.2: "The client MUST use the HTTP POST method").
func (s *Provider) tokenMethodNotAllowed(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Allow", http.MethodPost)
	WriteError(w, &Error{Code: CodeInvalidRequest, Description: "the token endpoint accepts only POST", Status: http.StatusMethodNotAllowed})
}

// fail logs err's cause and writes it.
func (s *Provider) fail(w http.ResponseWriter, r *http.Request, err error) {
	var oe *Error
	level := slog.LevelInfo
	if !errors.As(err, &oe) || oe.HTTPStatus() >= 500 {
		level = slog.LevelError
	}
	s.logger().Log(r.Context(), level, "oauth: token request failed", "path", r.URL.Path, "err", err)
	WriteError(w, err)
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
			return nil, errorf(CodeInvalidRequest, "parameter %q is repeated", truncate(k, 64))
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
