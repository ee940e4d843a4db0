package oauth

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/vigil-idp/vigil/internal/secret"
	"github.com/vigil-idp/vigil/internal/session"
	"github.com/vigil-idp/vigil/internal/store"
)

// Grant types (RFC 6749 §4.1.3, §4.3.2; RFC 8628 §3.4).
const (
	GrantAuthorizationCode = "authorization_code"
	GrantPassword          = "password"
	GrantDeviceCode        = "urn:ietf:params:oauth:grant-type:device_code"
)

// ReasonCodeReplay is the revocation reason of a refresh family whose
// authorization code was presented twice.
const ReasonCodeReplay = "authorization code replayed"

// SessionChecker checks SSO sessions and revokes refresh families;
// *session.Service implements it.
type SessionChecker interface {
	Check(ctx context.Context, sid, clientID string) (store.Session, store.User, error)
	RevokeFamily(ctx context.Context, familyID, reason string) error
}

// PublicGrant is implemented by grants that public clients (RFC 6749 §2.1)
// may use without authenticating (token_endpoint_auth_method none). A
// grant that does not implement it requires client authentication.
type PublicGrant interface {
	Grant
	// AllowsPublicClients reports that the grant accepts public clients.
	AllowsPublicClients() bool
}

// AuthorizationCode is the authorization code grant (RFC 6749 §4.1.3) with
// PKCE (RFC 7636 §4.5). A code is single use: a second presentation fails
// with invalid_grant and revokes the refresh tokens the first one bought
// (RFC 6749 §4.1.2). Build it as a struct literal; every field but Now is
// required.
type AuthorizationCode struct {
	// Codes consumes stored codes.
	Codes AuthCodeStore
	// Secrets hashes presented codes.
	Secrets *secret.Hasher
	// Sessions checks the session the code was issued in.
	Sessions SessionChecker
	// Tokens issues the token response.
	Tokens *Delegated
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// AllowsPublicClients implements PublicGrant.
func (g *AuthorizationCode) AllowsPublicClients() bool { return true }

// Token implements Grant.
func (g *AuthorizationCode) Token(ctx context.Context, req *TokenRequest) (*TokenResponse, error) {
	code, redirectURI := req.Form.Get("code"), req.Form.Get("redirect_uri")
	switch {
	case code == "":
		return nil, errorf(CodeInvalidRequest, "code is required")
	case redirectURI == "":
		return nil, errorf(CodeInvalidRequest, "redirect_uri is required: it was part of the authorization request")
	}
	now := time.Now()
	if g.Now != nil {
		now = g.Now()
	}
	c, err := g.Codes.ConsumeAuthCode(ctx, g.Secrets.Hash(code), now.UTC())
	switch {
	case errors.Is(err, store.ErrNotFound):
		return nil, errorf(CodeInvalidGrant, "unknown authorization code")
	case errors.Is(err, store.ErrConflict):
		if rerr := g.Sessions.RevokeFamily(ctx, c.FamilyID, ReasonCodeReplay); rerr != nil {
			return nil, errorf(CodeServerError, "cannot revoke the tokens of a replayed code").WithCause(rerr)
		}
		return nil, errorf(CodeInvalidGrant, "authorization code already used; the tokens it issued are revoked").
			WithCause(errors.New("code replay, family " + c.FamilyID + " revoked"))
	case err != nil:
		return nil, errorf(CodeServerError, "code lookup failed").WithCause(err)
	}
	app := req.Client.Application
	switch {
	case !now.Before(c.ExpiresAt):
		return nil, errorf(CodeInvalidGrant, "authorization code expired")
	case c.ClientID != app.AppID:
		return nil, errorf(CodeInvalidGrant, "authorization code was issued to another client")
	case c.RedirectURI != redirectURI:
		return nil, errorf(CodeInvalidGrant, "redirect_uri does not match the authorization request")
	}
	if err := verifyPKCE(c.CodeChallenge, c.CodeChallengeMethod, req.Form.Get("code_verifier")); err != nil {
		return nil, err
	}
	kind, _ := MatchRedirectURI(app, c.RedirectURI)
	if req.Client.AuthMethod == AuthNone && !kind.Public() && !app.IsFallbackPublicClient {
		return nil, errorf(CodeInvalidClient, "a code issued to a web redirect URI must be redeemed with client authentication")
	}
	if req.Client.AuthMethod == AuthNone && c.CodeChallenge == "" {
		return nil, errorf(CodeInvalidGrant, "a public client's code must have been requested with PKCE")
	}
	sess, user, err := g.Sessions.Check(ctx, c.SessionID, app.AppID)
	if err != nil && !errors.Is(err, session.ErrReauthRequired) {
		// The code was issued moments ago; a fresh sign-in frequency
		// demand does not void it, but an ended session does.
		if errors.Is(err, session.ErrSessionEnded) {
			return nil, errorf(CodeInvalidGrant, "the sign-in session has ended").WithCause(err)
		}
		return nil, errorf(CodeServerError, "session check failed").WithCause(err)
	}
	if user.ID != c.UserID {
		return nil, errorf(CodeInvalidGrant, "the sign-in session belongs to another user")
	}
	// The session was touched for this client when the code was issued
	// (moments ago); one durable write fewer per exchange.
	scopes, err := ParseScopes(strings.Join(c.Scopes, " "), c.Resource)
	if err != nil {
		return nil, errorf(CodeServerError, "stored scopes unreadable").WithCause(err)
	}
	claims, _ := ParseClaimsRequest(string(c.Claims)) // validated when the code was issued
	return g.Tokens.Issue(ctx, DelegatedGrant{
		User: user, Client: app, SessionID: c.SessionID, AuthTime: c.AuthTime, AMR: sess.AMR,
		Scopes: scopes, Capabilities: c.Capabilities, Nonce: c.Nonce, IDTokenClaims: claims.IDToken,
		FamilyID: c.FamilyID, SPA: kind == RedirectSPA,
	})
}
