package oauth

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/vigil-idp/vigil/internal/authz"
	"github.com/vigil-idp/vigil/internal/store"
)

// PathIntrospect is the introspection endpoint below the issuer (RFC 7662
// §2).
const PathIntrospect = "/introspect"

// Token type hints (RFC 7009 §2.1, RFC 7662 §2.1).
const (
	HintAccessToken  = "access_token"
	HintRefreshToken = "refresh_token"
)

// TokenTypeRefresh is the token_type introspection reports for refresh
// tokens; access tokens report "Bearer" (RFC 6749 §5.1, as RFC 7662 §2.2
// says).
const TokenTypeRefresh = "refresh_token"

// AccessStates decides whether delegated access tokens are still honoured;
// *session.Service implements it. Introspection and userinfo share this one
// decision.
type AccessStates interface {
	// AccessActive reports whether a verified delegated access token of
	// userID in session sid issued at iat is still honoured (user enabled,
	// not revoked since, session live).
	AccessActive(ctx context.Context, userID, sid string, iat time.Time) (bool, error)
}

// TokenStates decides whether tokens are still honoured; *session.Service
// implements it.
type TokenStates interface {
	// LookupRefreshToken finds a refresh token by value and reports
	// whether it is active; an unknown value gives false and no error.
	LookupRefreshToken(ctx context.Context, value string) (store.RefreshToken, bool, error)
	AccessStates
}

// Introspection is the token introspection endpoint (RFC 7662), mounted at
// <issuer>/introspect. Build it as a struct literal; every field is
// required, and Provider must be the one serving the token endpoint.
//
// Protection (RFC 7662 §2.1): the caller authenticates as a confidential
// client exactly as at the token endpoint (client secret or private_key_jwt);
// a public client, or a client that fails, gets invalid_client. Any confidential client of the tenant may introspect
// access tokens (resource servers introspect tokens issued to others);
// refresh tokens are reported only to the client they were issued to.
//
// The answer is {"active": false} (RFC 7662 §2.2) for anything unknown,
// malformed, expired (from exp on: unlike the Verifier, no clock skew),
// revoked, already rotated, of a disabled or deleted
// user, issued before the user's signInSessionsValidFromDateTime, or of an
// ended session — checked in the store on every call, so a revocation is
// visible at once even for unexpired JWTs (only the signature check of an
// access token is cached, until the token expires). Active tokens report
// active, scope, client_id, sub, aud, iss, exp, iat, token_type and sid,
// plus jti and nbf for access tokens and roles for app-only ones.
type Introspection struct {
	// Provider authenticates clients and supplies the issuer, clock,
	// logger and body limit.
	Provider *Provider
	// Verifier verifies access tokens; its Audiences should list every
	// resource Vigil issues tokens for.
	Verifier *Verifier
	// States checks revocation state.
	States TokenStates
}

// Mount registers POST <issuer>/introspect on mux. Provider.Mount calls it
// when Provider.Introspection is set; call it yourself only otherwise.
func (i *Introspection) Mount(mux *http.ServeMux) {
	if i.Provider == nil || i.Verifier == nil || i.States == nil {
		panic("oauth: Introspection needs Provider, Verifier and States")
	}
	mountPost(mux, i.Provider, PathIntrospect, i.serve)
}

// IntrospectionResponse is the JSON answer of RFC 7662 §2.2.
type IntrospectionResponse struct {
	Active    bool     `json:"active"`
	Scope     string   `json:"scope,omitempty"`
	ClientID  string   `json:"client_id,omitempty"`
	TokenType string   `json:"token_type,omitempty"`
	Exp       int64    `json:"exp,omitempty"`
	Iat       int64    `json:"iat,omitempty"`
	Nbf       int64    `json:"nbf,omitempty"`
	Sub       string   `json:"sub,omitempty"`
	Aud       string   `json:"aud,omitempty"`
	Iss       string   `json:"iss,omitempty"`
	Jti       string   `json:"jti,omitempty"`
	SID       string   `json:"sid,omitempty"`
	Roles     []string `json:"roles,omitempty"`
}

func (i *Introspection) serve(w http.ResponseWriter, r *http.Request) (any, error) {
	form, client, err := tokenForm(w, r, i.Provider, false)
	if err != nil {
		return nil, err
	}
	resp, err := i.introspect(r.Context(), form.Get("token"), client)
	if err != nil {
		return nil, errorf(CodeServerError, "introspection failed").WithCause(err)
	}
	return resp, nil
}

// introspect answers for one token; err is a failure to check, never a
// property of the token.
func (i *Introspection) introspect(ctx context.Context, tok string, client Client) (IntrospectionResponse, error) {
	inactive := IntrospectionResponse{}
	if !looksLikeJWT(tok) {
		t, active, err := i.States.LookupRefreshToken(ctx, tok)
		if err != nil || !active || t.ClientID != client.Application.AppID {
			return inactive, err
		}
		return IntrospectionResponse{
			Active: true, Scope: strings.Join(t.Scopes, " "), ClientID: t.ClientID, TokenType: TokenTypeRefresh,
			Exp: t.ExpiresAt.Unix(), Iat: t.CreatedAt.Unix(), Sub: t.UserID, Aud: i.Provider.Issuer,
			Iss: i.Provider.Issuer, SID: t.SessionID,
		}, nil
	}
	v, err := i.Verifier.verify(ctx, tok)
	var be *BearerError
	if errors.As(err, &be) {
		return inactive, nil
	}
	if err != nil {
		return inactive, err
	}
	if !i.Provider.now().Before(v.c.Expiry.Time()) {
		// The Verifier allows ClockSkew past exp for resource servers'
		// clocks; the authorization server judges by its own clock alone
		// (RFC 7662 §2.2: an expired token is not active).
		return inactive, nil
	}
	if v.p.Kind == authz.Delegated {
		active, err := i.States.AccessActive(ctx, v.p.ObjectID, v.p.SessionID, v.p.IssuedAt)
		if err != nil || !active {
			return inactive, err
		}
	}
	c := v.c
	resp := IntrospectionResponse{
		Active: true, Scope: c.Scope, ClientID: v.p.ClientID, TokenType: "Bearer", Exp: c.Expiry.Time().Unix(),
		Iat: c.IssuedAt.Time().Unix(), Sub: c.Subject, Aud: strings.Join(c.Audience, " "), Iss: c.Issuer,
		Jti: c.ID, SID: c.SID, Roles: c.Roles,
	}
	if c.NotBefore != nil {
		resp.Nbf = c.NotBefore.Time().Unix()
	}
	return resp, nil
}

// looksLikeJWT tells a compact JWS (three base64url parts) from a refresh
// token value (one base64url string, no dots).
func looksLikeJWT(tok string) bool { return strings.Count(tok, ".") == 2 }

// tokenForm reads the form of an introspection or revocation request
// (RFC 7662 §2.1, RFC 7009 §2.1), authenticates the client as the token
// endpoint does (a public client by its client_id alone when allowPublic)
// and checks that token is present.
func tokenForm(w http.ResponseWriter, r *http.Request, p *Provider, allowPublic bool) (url.Values, Client, error) {
	limit := p.MaxBodyBytes
	if limit <= 0 {
		limit = DefaultMaxBodyBytes
	}
	form, err := readForm(w, r, limit)
	if err != nil {
		return nil, Client{}, err
	}
	client, err := p.authenticateClient(r, form, allowPublic)
	if err != nil {
		return nil, Client{}, err
	}
	if form.Get("token") == "" {
		return nil, Client{}, errorf(CodeInvalidRequest, "token is required")
	}
	return form, client, nil
}

// mountPost registers a form-POST endpoint below the issuer that answers
// JSON (or, when the handler returns nil, an empty 200), with RFC 6749 §5.2
// errors written by WriteError and a 405 for other methods.
func mountPost(mux *http.ServeMux, p *Provider, path string, h func(http.ResponseWriter, *http.Request) (any, error)) {
	full := p.issuerPath() + path
	mux.HandleFunc("POST "+full, func(w http.ResponseWriter, r *http.Request) {
		body, err := h(w, r)
		if err != nil {
			p.fail(w, r, err)
			return
		}
		if body == nil {
			w.Header().Set("Cache-Control", "no-store")
			w.WriteHeader(http.StatusOK)
			return
		}
		writeNoStoreJSON(w, body)
	})
	mux.HandleFunc(full, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Allow", http.MethodPost)
		WriteError(w, &Error{Code: CodeInvalidRequest, Description: "this endpoint accepts only POST", Status: http.StatusMethodNotAllowed})
	})
}
