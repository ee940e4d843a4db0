package oauth

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/vigil-idp/vigil/internal/authz"
)

// Bearer error codes (RFC 6750 §3.1).
const (
	CodeInvalidToken      = "invalid_token"
	CodeInsufficientScope = "insufficient_scope"
	// CodeInsufficientClaims is the claims challenge of continuous access
	// evaluation (Entra's, reference entra-revocation.md §4.3): the token
	// was good but no longer is; get one with the claims of the challenge.
	CodeInsufficientClaims = "insufficient_claims"
	// CodeInvalidRequest ("invalid_request") is shared with RFC 6749.
)

// ClockSkew is the leeway allowed when checking exp, nbf and iat.
const ClockSkew = 60 * time.Second

// VerifyAlgorithms are the only JWS algorithms the Verifier accepts.
var VerifyAlgorithms = []jose.SignatureAlgorithm{jose.ES256, jose.RS256, jose.EdDSA}

// Sentinels for errors.Is.
var (
	// ErrNoToken means the request carries no bearer token (no
	// Authorization header, or another scheme). Per RFC 6750 §3.1 the
	// challenge then carries no error attribute.
	ErrNoToken = errors.New("oauth: no bearer token")
	// ErrInvalidToken matches every *BearerError whose Code is
	// invalid_token: expired, malformed, wrong issuer or audience, bad
	// signature.
	ErrInvalidToken = errors.New("oauth: invalid bearer token")
)

// BearerError is an error of a protected resource (RFC 6750 §3.1). Code and
// Description go into the WWW-Authenticate challenge; the cause is for logs.
type BearerError struct {
	// Code is invalid_request, invalid_token or insufficient_scope.
	Code string
	// Description is the error_description attribute.
	Description string
	// Scope, for insufficient_scope, names the scope needed (RFC 6750 §3).
	Scope string
	// Claims, for insufficient_claims, is the claims challenge: the
	// standard base64 of the claims request the client sends back to
	// AuthorizationURI (which the challenge names too).
	Claims, AuthorizationURI string

	cause error
}

func invalidToken(desc string, cause error) *BearerError {
	return &BearerError{Code: CodeInvalidToken, Description: desc, cause: cause}
}

// Error implements error; it includes the cause, so it is for logs only.
func (e *BearerError) Error() string {
	s := "oauth: bearer " + e.Code + ": " + e.Description
	if e.cause != nil {
		s += ": " + e.cause.Error()
	}
	return s
}

// Unwrap returns the private cause.
func (e *BearerError) Unwrap() error { return e.cause }

// Is makes errors.Is(err, ErrInvalidToken) true for invalid_token errors.
func (e *BearerError) Is(target error) bool {
	return target == ErrInvalidToken && e.Code == CodeInvalidToken
}

// HTTPStatus is the status RFC 6750 §3.1 gives the code: 400
// invalid_request, 401 invalid_token, 403 insufficient_scope.
func (e *BearerError) HTTPStatus() int {
	switch e.Code {
	case CodeInvalidRequest:
		return http.StatusBadRequest
	case CodeInsufficientScope:
		return http.StatusForbidden
	}
	return http.StatusUnauthorized
}

// Challenge returns the HTTP status and the WWW-Authenticate value
// (RFC 6750 §3) to answer an error from Verifier.Authenticate with. realm
// may be empty. For an error that is neither ErrNoToken nor a *BearerError
// (the key store failed) it returns 500 and no challenge.
func Challenge(err error, realm string) (status int, wwwAuthenticate string) {
	var params []string
	if realm != "" {
		params = append(params, "realm="+quote(realm))
	}
	var be *BearerError
	switch {
	case errors.As(err, &be) && be.Code == CodeInsufficientClaims:
		// Entra's form: realm="", authorization_uri, error and claims,
		// no description.
		return http.StatusUnauthorized, `Bearer realm="", authorization_uri=` + quote(be.AuthorizationURI) +
			`, error="insufficient_claims", claims=` + quote(be.Claims)
	case errors.As(err, &be):
		params = append(params, "error="+quote(be.Code))
		if be.Description != "" {
			params = append(params, "error_description="+quote(be.Description))
		}
		if be.Scope != "" {
			params = append(params, "scope="+quote(be.Scope))
		}
		status = be.HTTPStatus()
	case errors.Is(err, ErrNoToken):
		status = http.StatusUnauthorized
	default:
		return http.StatusInternalServerError, ""
	}
	if len(params) == 0 {
		return status, "Bearer"
	}
	return status, "Bearer " + strings.Join(params, ", ")
}

// KeySet supplies the public keys tokens are verified with;
// *keys.Manager implements it.
type KeySet interface {
	JWKS(ctx context.Context) (jose.JSONWebKeySet, error)
}

// Verifier checks Vigil-issued JWT access tokens (RFC 9068 §4) and turns them
// into principals. Build it as a struct literal; Keys, Issuer and Audiences
// are required.
type Verifier struct {
	// Keys supplies the JWK Set.
	Keys KeySet
	// Issuer must equal the iss claim.
	Issuer string
	// Audiences lists the accepted aud values; the token must name at
	// least one (RFC 9068 §4, RFC 7519 §4.1.3).
	Audiences []string
	// Now is the clock; nil means time.Now.
	Now func() time.Time

	// verified remembers tokens that passed every check, until they
	// expire, so a client presenting the same token again costs no
	// signature check. Revocation state is not the Verifier's: callers
	// that need it (introspection, guard) check it on every use.
	verified verifiedCache
}

// Authenticate reads the bearer token of r (RFC 6750 §2.1: the
// Authorization header only) and verifies it. It returns ErrNoToken when
// there is none, a *BearerError when it is unacceptable, and any other error
// when the keys could not be read.
func (v *Verifier) Authenticate(r *http.Request) (*authz.Principal, error) {
	tok, err := BearerToken(r)
	if err != nil {
		return nil, err
	}
	return v.Verify(r.Context(), tok)
}

// BearerToken extracts the token of an "Authorization: Bearer" header
// (RFC 6750 §2.1). A request without one, or with another scheme, gives
// ErrNoToken; tokens in the query or body (RFC 6750 §2.2, §2.3) are refused
// with invalid_request, as are several Authorization headers.
func BearerToken(r *http.Request) (string, error) {
	if r.URL.Query().Has("access_token") {
		return "", &BearerError{Code: CodeInvalidRequest, Description: "access tokens are accepted only in the Authorization header"}
	}
	vals := r.Header.Values("Authorization")
	switch len(vals) {
	case 0:
		return "", ErrNoToken
	case 1:
		return parseBearer(vals[0])
	}
	return "", &BearerError{Code: CodeInvalidRequest, Description: "more than one Authorization header"}
}

// parseBearer parses `"Bearer" 1*SP b64token` (RFC 6750 §2.1); the scheme
// is case-insensitive (RFC 9110 §11.1).
func parseBearer(h string) (string, error) {
	h = strings.Trim(h, " \t")
	scheme, rest, _ := strings.Cut(h, " ")
	if !strings.EqualFold(scheme, "Bearer") {
		return "", ErrNoToken
	}
	tok := strings.TrimLeft(rest, " ")
	if tok == "" {
		return "", &BearerError{Code: CodeInvalidRequest, Description: "empty bearer token"}
	}
	if !isB64Token(tok) {
		return "", invalidToken("malformed token", nil)
	}
	return tok, nil
}

// isB64Token reports whether s matches b64token: 1*( ALPHA / DIGIT / "-" /
// "." / "_" / "~" / "+" / "/" ) *"=" (RFC 6750 §2.1).
func isB64Token(s string) bool {
	body := strings.TrimRight(s, "=")
	if body == "" {
		return false
	}
	for i := 0; i < len(body); i++ {
		c := body[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
			strings.IndexByte("-._~+/", c) >= 0) {
			return false
		}
	}
	return true
}

// Verify checks a compact JWT access token: algorithm in VerifyAlgorithms,
// typ at+jwt, signature by a key in the JWK Set whose alg matches, iss, aud,
// exp, nbf and iat within ClockSkew (RFC 9068 §4), and the claims a principal
// needs. Delegated tokens (with scp) give a Delegated principal, the others
// an AppOnly one.
func (v *Verifier) Verify(ctx context.Context, raw string) (*authz.Principal, error) {
	t, err := v.verify(ctx, raw)
	if err != nil {
		return nil, err
	}
	p := *t.p // callers may not change the cached principal
	return &p, nil
}

// verify is Verify returning the claims too, served from the cache of
// verified tokens when possible.
func (v *Verifier) verify(ctx context.Context, raw string) (verifiedToken, error) {
	now := v.now()
	if t, ok := v.verified.get(raw, now); ok {
		return t, nil
	}
	tok, err := jwt.ParseSigned(raw, VerifyAlgorithms)
	if err != nil {
		return verifiedToken{}, invalidToken("malformed token or unsupported algorithm", err)
	}
	h := tok.Headers[0]
	if typ, _ := h.ExtraHeaders[jose.HeaderType].(string); !strings.EqualFold(typ, AccessTokenType) &&
		!strings.EqualFold(typ, "application/"+AccessTokenType) {
		return verifiedToken{}, invalidToken("not an access token (typ must be at+jwt)", nil)
	}
	if h.KeyID == "" {
		return verifiedToken{}, invalidToken("token has no kid", nil)
	}
	set, err := v.Keys.JWKS(ctx)
	if err != nil {
		return verifiedToken{}, fmt.Errorf("oauth: verifier keys: %w", err)
	}
	var key *jose.JSONWebKey
	for _, k := range set.Key(h.KeyID) {
		if k.Algorithm == h.Algorithm {
			key = &k
			break
		}
	}
	if key == nil {
		return verifiedToken{}, invalidToken("signing key not found", nil)
	}
	var c accessClaims
	if err := tok.Claims(key.Key, &c); err != nil {
		return verifiedToken{}, invalidToken("bad signature", err)
	}
	if err := v.checkClaims(&c); err != nil {
		return verifiedToken{}, err
	}
	p, err := principal(&c)
	if err != nil {
		return verifiedToken{}, err
	}
	t := verifiedToken{p: p, c: &c}
	v.verified.put(raw, t)
	return t, nil
}

func (v *Verifier) now() time.Time {
	if v.Now != nil {
		return v.Now()
	}
	return time.Now()
}

// checkClaims checks iss, aud and the times.
func (v *Verifier) checkClaims(c *accessClaims) error {
	now := v.now()
	switch {
	case c.Issuer != v.Issuer:
		return invalidToken("wrong issuer", nil)
	case !slices.ContainsFunc(v.Audiences, c.Audience.Contains):
		return invalidToken("wrong audience", nil)
	case c.Expiry == nil || c.IssuedAt == nil:
		return invalidToken("token lacks exp or iat", nil)
	case !now.Before(c.Expiry.Time().Add(ClockSkew)):
		return invalidToken("token expired", nil)
	case c.NotBefore != nil && now.Add(ClockSkew).Before(c.NotBefore.Time()):
		return invalidToken("token not yet valid", nil)
	case now.Add(ClockSkew).Before(c.IssuedAt.Time()):
		return invalidToken("token issued in the future", nil)
	}
	return nil
}

// principal builds the caller from verified claims.
func principal(c *accessClaims) (*authz.Principal, error) {
	p := &authz.Principal{
		ClientID:        firstNonEmpty(c.ClientID, c.AZP, c.AppID),
		ObjectID:        firstNonEmpty(c.OID, c.Subject),
		TenantID:        c.TID,
		Roles:           c.Roles,
		Scopes:          strings.Fields(c.Scope),
		RoleTemplateIDs: c.WIDs,
		SessionID:       c.SID,
		TokenID:         c.ID,
		IssuedAt:        c.IssuedAt.Time(),
		Capabilities:    c.XMSCC,
	}
	switch {
	case p.ObjectID == "" || p.ClientID == "" || c.ID == "":
		return nil, invalidToken("token lacks sub, client_id or jti", nil)
	case len(p.Scopes) > 0 && c.IDType == "app":
		return nil, invalidToken("app token with delegated scopes", nil)
	case len(p.Scopes) > 0:
		p.Kind = authz.Delegated
	default:
		p.Kind = authz.AppOnly
		p.SessionID = ""
	}
	return p, nil
}

// firstNonEmpty returns the first non-empty string.
func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}

// verifiedCacheSize bounds the verified-token cache.
const verifiedCacheSize = 10000

// verifiedToken is an access token whose signature and claims were
// verified.
type verifiedToken struct {
	p *authz.Principal
	c *accessClaims
}

// verifiedCache remembers verified access tokens until they expire, so that
// a resource server introspecting the same token again costs no signature
// check. Only the token's own validity is cached: revocation state
// (AccessActive) is read on every call. Its zero value is ready.
type verifiedCache struct {
	mu sync.Mutex
	m  map[[sha256.Size]byte]verifiedToken
}

// get returns a cached token that has not expired (with ClockSkew, as the
// Verifier allows).
func (vc *verifiedCache) get(tok string, now time.Time) (verifiedToken, bool) {
	k := sha256.Sum256([]byte(tok))
	vc.mu.Lock()
	defer vc.mu.Unlock()
	v, ok := vc.m[k]
	if ok && !now.Before(v.c.Expiry.Time().Add(ClockSkew)) {
		delete(vc.m, k)
		return verifiedToken{}, false
	}
	return v, ok
}

// put caches a verified token; when the cache is full it drops every
// entry first (a cheap, bounded policy: a cold entry costs one signature
// check).
func (vc *verifiedCache) put(tok string, v verifiedToken) {
	k := sha256.Sum256([]byte(tok))
	vc.mu.Lock()
	defer vc.mu.Unlock()
	if vc.m == nil || len(vc.m) >= verifiedCacheSize {
		vc.m = make(map[[sha256.Size]byte]verifiedToken)
	}
	vc.m[k] = v
}
