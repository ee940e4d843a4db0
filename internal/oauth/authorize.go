package oauth

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/vigil-idp/vigil/internal/secret"
	"github.com/vigil-idp/vigil/internal/store"
)

// PathAuthorize is the authorization endpoint below the issuer.
const PathAuthorize = "/authorize"

// Response modes (OAuth 2.0 Multiple Response Type Encoding Practices §2.1,
// OAuth 2.0 Form Post Response Mode §2).
const (
	ResponseModeQuery    = "query"
	ResponseModeFragment = "fragment"
	ResponseModeFormPost = "form_post"
)

// DefaultCodeLifetime is how long an authorization code can be redeemed
// unless Authorizer.CodeLifetime says otherwise; MaxCodeLifetime is
// RFC 6749 §4.1.2's recommended ceiling.
const (
	DefaultCodeLifetime = 5 * time.Minute
	MaxCodeLifetime     = 10 * time.Minute
)

// codeBytes is the entropy of authorization codes and device codes.
const codeBytes = 32

// maxParamLen bounds free-text parameters echoed or stored (state, nonce,
// login_hint).
const maxParamLen = 2048

// AuthCodeStore stores authorization codes; store.Store implements it.
type AuthCodeStore interface {
	CreateAuthCode(ctx context.Context, c store.AuthCode) error
	ConsumeAuthCode(ctx context.Context, hash []byte, at time.Time) (store.AuthCode, error)
}

// AppReader looks applications up by client id; store.Store implements it.
type AppReader interface {
	GetApplicationByAppID(ctx context.Context, appID string) (store.Application, error)
}

// Prompt is the prompt parameter (OpenID Connect Core 1.0 §3.1.2.1).
type Prompt struct {
	// None: no user interface at all; fail with login_required,
	// consent_required or interaction_required instead.
	None bool
	// Login: authenticate again even with a live session.
	Login bool
	// Consent: ask for consent even when it was given.
	Consent bool
	// SelectAccount: Vigil has no account chooser and treats it as Login.
	SelectAccount bool
}

// AuthorizeRequest is a validated authorization request (RFC 6749 §4.1.1,
// OpenID Connect Core 1.0 §3.1.2.1).
type AuthorizeRequest struct {
	// Client is the client's registration.
	Client store.Application
	// RedirectURI is the registered URI responses go to, and its kind.
	RedirectURI  string
	RedirectKind RedirectKind
	// ResponseMode is ResponseModeQuery, ResponseModeFragment or
	// ResponseModeFormPost.
	ResponseMode string
	// State is echoed in the response.
	State string
	// Scopes are the requested scopes.
	Scopes Scopes
	// Nonce goes into the ID token.
	Nonce string
	// CodeChallenge and CodeChallengeMethod are RFC 7636's ("" without
	// PKCE).
	CodeChallenge       string
	CodeChallengeMethod string
	// Prompt is the prompt parameter.
	Prompt Prompt
	// MaxAge is the max_age parameter; negative when absent.
	MaxAge time.Duration
	// LoginHint pre-fills the user name.
	LoginHint string
	// Claims is the parsed claims parameter and RawClaims its text.
	Claims    ClaimsRequest
	RawClaims string
	// Params are the request's parameters, to carry through the sign-in
	// and consent pages and parse again there.
	Params url.Values
}

// FreshLoginRequired reports whether a session authenticated at authTime
// is too old for this request: prompt=login (or select_account), max_age
// exceeded (§3.1.2.1), or a claims challenge's nbf after it (Entra CAE).
func (r *AuthorizeRequest) FreshLoginRequired(authTime, now time.Time) bool {
	switch {
	case r.Prompt.Login || r.Prompt.SelectAccount:
		return true
	case r.MaxAge >= 0 && now.Sub(authTime) > r.MaxAge:
		return true
	case !r.Claims.NotBefore.IsZero() && authTime.Before(r.Claims.NotBefore):
		return true
	}
	return false
}

// AuthorizeError is a failed authorization request. When it may be
// redirected (Redirectable), Authorizer.RedirectError sends it to the
// client; otherwise the user agent must get an error page, never a
// redirect (RFC 6749 §4.1.2.1: unknown client, missing, malformed or
// unregistered redirect_uri).
type AuthorizeError struct {
	// Err is the OAuth error.
	Err *Error
	// Request is the request as far as it was validated: nil when the
	// error must not be redirected.
	Request *AuthorizeRequest
}

func (e *AuthorizeError) Error() string { return e.Err.Error() }
func (e *AuthorizeError) Unwrap() error { return e.Err }

// Redirectable reports whether the error may go to the redirect URI.
func (e *AuthorizeError) Redirectable() bool { return e.Request != nil }

// Authorizer validates authorization requests and issues authorization
// codes (RFC 6749 §4.1); the sign-in pages (internal/login) drive it and
// decide who the user is. Build it as a struct literal; Issuer, Clients,
// Codes and Secrets are required.
type Authorizer struct {
	// Issuer is the iss parameter of responses (RFC 9207).
	Issuer string
	// Clients looks applications up.
	Clients AppReader
	// Codes stores authorization codes.
	Codes AuthCodeStore
	// Secrets makes the keyed hashes codes are stored as.
	Secrets *secret.Hasher
	// IDTokens, when set, is asked whether the client's
	// id_token_signed_response_alg can be honoured.
	IDTokens *IDTokens
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// NewID names refresh-token families; nil means random UUIDs.
	NewID func() string
	// CodeLifetime is how long codes live; 0 means DefaultCodeLifetime,
	// and it is capped at MaxCodeLifetime.
	CodeLifetime time.Duration
}

func (a *Authorizer) now() time.Time {
	if a.Now != nil {
		return a.Now()
	}
	return time.Now()
}

// Parse validates an authorization request's parameters (query of a GET,
// or form body of a POST, OpenID Connect Core §3.1.2.1). Failures are
// *AuthorizeError; any other error is the store failing.
func (a *Authorizer) Parse(ctx context.Context, params url.Values) (*AuthorizeRequest, error) {
	fail := func(req *AuthorizeRequest, code, format string, args ...any) error {
		return &AuthorizeError{Err: errorf(code, format, args...), Request: req}
	}
	for _, k := range []string{"client_id", "redirect_uri", "response_mode"} {
		if len(params[k]) > 1 {
			return nil, fail(nil, CodeInvalidRequest, "parameter %s is repeated", k)
		}
	}
	clientID, redirectURI := params.Get("client_id"), params.Get("redirect_uri")
	if clientID == "" {
		return nil, fail(nil, CodeInvalidRequest, "client_id is required")
	}
	app, err := a.Clients.GetApplicationByAppID(ctx, clientID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, fail(nil, CodeInvalidClient, "unknown client_id '%s'", truncate(clientID, 64))
	}
	if err != nil {
		return nil, fmt.Errorf("oauth: authorize: client lookup: %w", err)
	}
	if redirectURI == "" {
		return nil, fail(nil, CodeInvalidRequest, "redirect_uri is required")
	}
	kind, ok := MatchRedirectURI(app, redirectURI)
	if !ok {
		return nil, fail(nil, CodeInvalidRequest, "redirect_uri '%s' is not registered for this application", truncate(redirectURI, 128))
	}
	req := &AuthorizeRequest{Client: app, RedirectURI: redirectURI, RedirectKind: kind, ResponseMode: ResponseModeQuery,
		MaxAge: -1, Params: params}
	if len(params["state"]) == 1 && len(params.Get("state")) <= maxParamLen {
		req.State = params.Get("state")
	}
	switch mode := params.Get("response_mode"); mode {
	case "", ResponseModeQuery:
	case ResponseModeFragment, ResponseModeFormPost:
		req.ResponseMode = mode
	default:
		return nil, fail(req, CodeInvalidRequest, "unsupported response_mode '%s'", truncate(mode, 32))
	}
	for k, v := range params {
		if len(v) > 1 {
			return nil, fail(req, CodeInvalidRequest, "parameter '%s' is repeated", truncate(k, 32))
		}
	}
	if len(params.Get("state")) > maxParamLen {
		return nil, fail(req, CodeInvalidRequest, "state is too long")
	}
	if err := a.parseRest(req, params); err != nil {
		return nil, fail(req, err.Code, "%s", err.Description)
	}
	return req, nil
}

// parseRest validates everything after the redirect URI is trusted.
func (a *Authorizer) parseRest(req *AuthorizeRequest, params url.Values) *Error {
	switch {
	case params.Has("request"):
		return errorf(CodeRequestNotSupported, "request objects are not supported")
	case params.Has("request_uri"):
		return errorf(CodeRequestURINotSupported, "request_uri is not supported")
	}
	switch rt := params.Get("response_type"); rt {
	case "code":
	case "":
		return errorf(CodeInvalidRequest, "response_type is required")
	default:
		return errorf(CodeUnsupportedResponseType, "response_type '%s' is not supported; use code", truncate(rt, 32))
	}
	if strings.TrimSpace(params.Get("scope")) == "" {
		return errorf(CodeInvalidScope, "scope is required")
	}
	s, err := ParseScopes(params.Get("scope"), params.Get("resource"))
	if err != nil {
		return asError(err)
	}
	req.Scopes = s
	if req.Nonce = params.Get("nonce"); len(req.Nonce) > maxParamLen {
		return errorf(CodeInvalidRequest, "nonce is too long")
	}
	// A client that may redeem the code without authenticating must
	// prove possession with PKCE (RFC 9700 §2.1.1).
	public := req.RedirectKind.Public() || req.Client.IsFallbackPublicClient
	method, err := checkChallenge(params.Get("code_challenge"), params.Get("code_challenge_method"), public)
	if err != nil {
		return asError(err)
	}
	req.CodeChallenge, req.CodeChallengeMethod = params.Get("code_challenge"), method
	if req.Prompt, err = parsePrompt(params.Get("prompt")); err != nil {
		return asError(err)
	}
	if ma := params.Get("max_age"); ma != "" {
		n, err := strconv.ParseInt(ma, 10, 64)
		if err != nil || n < 0 || n > 1<<32 {
			return errorf(CodeInvalidRequest, "max_age must be a non-negative number of seconds")
		}
		req.MaxAge = time.Duration(n) * time.Second
	}
	if req.LoginHint = params.Get("login_hint"); len(req.LoginHint) > 256 {
		return errorf(CodeInvalidRequest, "login_hint is too long")
	}
	req.RawClaims = params.Get("claims")
	if req.Claims, err = ParseClaimsRequest(req.RawClaims); err != nil {
		return asError(err)
	}
	if alg := idTokenAlgorithm(req.Client); a.IDTokens != nil && req.Scopes.OpenID && !a.IDTokens.Supports(string(alg)) {
		return errorf(CodeInvalidRequest, "the application registered id_token_signed_response_alg %s, which this server does not offer", alg)
	}
	return nil
}

// parsePrompt parses the space-delimited prompt values; none may not be
// combined with others (OpenID Connect Core §3.1.2.1).
func parsePrompt(s string) (Prompt, error) {
	var p Prompt
	n := 0
	for _, v := range strings.Fields(s) {
		n++
		switch v {
		case "none":
			p.None = true
		case "login":
			p.Login = true
		case "consent":
			p.Consent = true
		case "select_account":
			p.SelectAccount = true
		default:
			return Prompt{}, errorf(CodeInvalidRequest, "unsupported prompt value '%s'", truncate(v, 32))
		}
	}
	if p.None && n > 1 {
		return Prompt{}, errorf(CodeInvalidRequest, "prompt=none cannot be combined with other values")
	}
	return p, nil
}

// CodeGrant is what the user granted at the authorization endpoint.
type CodeGrant struct {
	// UserID is the signed-in user; SessionID the SSO session.
	UserID    string
	SessionID string
	// AuthTime is when the user last authenticated interactively.
	AuthTime time.Time
	// Scopes are the granted scopes (consent resolved).
	Scopes Scopes
}

// IssueCode creates an authorization code for req and g (RFC 6749
// §4.1.2): 256 random bits, stored only as a keyed hash, single use, living
// CodeLifetime. It pre-assigns the refresh-token family, so that a replay
// can revoke what the code bought.
func (a *Authorizer) IssueCode(ctx context.Context, req *AuthorizeRequest, g CodeGrant) (string, error) {
	code, err := secret.NewToken(codeBytes)
	if err != nil {
		return "", err
	}
	life := a.CodeLifetime
	if life <= 0 {
		life = DefaultCodeLifetime
	}
	life = min(life, MaxCodeLifetime)
	newID := a.NewID
	if newID == nil {
		newID = uuid.NewString
	}
	now := a.now().UTC()
	c := store.AuthCode{
		Hash: a.Secrets.Hash(code), ClientID: req.Client.AppID, UserID: g.UserID, SessionID: g.SessionID,
		RedirectURI: req.RedirectURI, Scopes: g.Scopes.List(), Resource: g.Scopes.Resource.Audience,
		Nonce: req.Nonce, CodeChallenge: req.CodeChallenge, CodeChallengeMethod: req.CodeChallengeMethod,
		Capabilities: req.Claims.Capabilities, AuthTime: g.AuthTime.UTC(), FamilyID: newID(),
		CreatedAt: now, ExpiresAt: now.Add(life),
	}
	if req.RawClaims != "" {
		c.Claims = []byte(req.RawClaims)
	}
	if err := a.Codes.CreateAuthCode(ctx, c); err != nil {
		return "", fmt.Errorf("oauth: store authorization code: %w", err)
	}
	return code, nil
}

// RedirectCode sends the authorization response (RFC 6749 §4.1.2) with
// code, state and iss (RFC 9207) to the request's redirect URI in its
// response mode.
func (a *Authorizer) RedirectCode(w http.ResponseWriter, r *http.Request, req *AuthorizeRequest, code string) {
	a.respond(w, r, req, url.Values{"code": {code}})
}

// RedirectError sends an error response (RFC 6749 §4.1.2.1, OpenID Connect
// Core §3.1.2.6) with error, error_description, state and iss to the
// request's redirect URI. req must be a validated request (never one whose
// redirect URI was not matched).
func (a *Authorizer) RedirectError(w http.ResponseWriter, r *http.Request, req *AuthorizeRequest, e *Error) {
	v := url.Values{"error": {safeText(e.Code)}}
	if e.Description != "" {
		v.Set("error_description", safeText(e.Description))
	}
	a.respond(w, r, req, v)
}

// respond adds state and iss and delivers v.
func (a *Authorizer) respond(w http.ResponseWriter, r *http.Request, req *AuthorizeRequest, v url.Values) {
	if req.State != "" {
		v.Set("state", req.State)
	}
	v.Set("iss", a.Issuer)
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
	h.Set("Referrer-Policy", "no-referrer")
	switch req.ResponseMode {
	case ResponseModeFormPost:
		writeFormPost(w, req.RedirectURI, v)
	case ResponseModeFragment:
		http.Redirect(w, r, req.RedirectURI+"#"+v.Encode(), redirectStatus(r))
	default:
		http.Redirect(w, r, appendQuery(req.RedirectURI, v), redirectStatus(r))
	}
}

// redirectStatus is 303 after a POST (so the browser follows with GET) and
// 302 otherwise (RFC 9110 §15.4).
func redirectStatus(r *http.Request) int {
	if r.Method == http.MethodPost {
		return http.StatusSeeOther
	}
	return http.StatusFound
}

// appendQuery adds v to uri's query, keeping the query it has (RFC 6749
// §3.1.2: "MUST retain" it).
func appendQuery(uri string, v url.Values) string {
	sep := "?"
	if strings.Contains(uri, "?") {
		sep = "&"
		if strings.HasSuffix(uri, "?") || strings.HasSuffix(uri, "&") {
			sep = ""
		}
	}
	return uri + sep + v.Encode()
}

// formPostScript submits the form; its hash is allowed by the page's CSP.
const formPostScript = `document.forms[0].submit();`

var formPostScriptHash = func() string {
	sum := sha256.Sum256([]byte(formPostScript))
	return "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
}()

var formPostPage = template.Must(template.New("form_post").Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Continue</title></head>
<body><form method="post" action="{{.Action}}">
{{range .Fields}}<input type="hidden" name="{{.Name}}" value="{{.Value}}">
{{end}}<noscript><p>JavaScript is off. Press Continue to return to the application.</p><button type="submit">Continue</button></noscript>
</form><script>` + formPostScript + `</script></body></html>
`))

type formField struct{ Name, Value string }

// writeFormPost answers with an auto-submitting form (OAuth 2.0 Form Post
// Response Mode §2).
func writeFormPost(w http.ResponseWriter, action string, v url.Values) {
	var fields []formField
	for _, k := range sortedKeys(v) {
		fields = append(fields, formField{k, v.Get(k)})
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", "default-src 'none'; script-src "+formPostScriptHash+"; base-uri 'none'; frame-ancestors 'none'")
	h.Set("X-Frame-Options", "DENY")
	w.WriteHeader(http.StatusOK)
	_ = formPostPage.Execute(w, struct {
		Action template.URL
		Fields []formField
	}{template.URL(action), fields})
}
