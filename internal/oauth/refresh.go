package oauth

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/vigil-idp/vigil/internal/session"
	"github.com/vigil-idp/vigil/internal/store"
)

// GrantRefreshToken is the refresh token grant type (RFC 6749 §6), the key
// of RefreshGrant in Provider.Grants.
const GrantRefreshToken = "refresh_token"

// RefreshRotator redeems and rotates refresh tokens; *session.Service
// implements it.
type RefreshRotator interface {
	Rotate(ctx context.Context, value, clientID string, check func(store.RefreshToken) error) (session.Rotation, error)
}

// RefreshGrant is the refresh token grant (RFC 6749 §6) with rotation on
// every use and reuse detection (RFC 9700 §4.14.2): the presented token is
// marked used and its child returned as the new refresh_token, in one
// transaction. Build it as a struct literal; both fields are required.
//
// The scope parameter may narrow the token's scopes, never widen them
// (invalid_scope, and the token stays usable); without it the token's scopes
// are used. The new refresh token keeps the original scopes (RFC 6749 §6).
// The access token is issued by Tokens like every delegated grant's: scp,
// wids (the user's directory roles now), sid, oid/sub, xms_cc, and the
// client's effective policy lifetime (the CAE one for cp1 clients); an ID
// token is issued when openid is in scope (OpenID Connect Core §12.2).
//
// A claims parameter (raw JSON or base64, as a claims challenge carries
// it) whose access_token nbf is T asks for a token backed by an
// authentication at or after T (Entra CAE, after a revocation): when the
// refresh token's AuthTime is before T the grant is refused with
// invalid_grant (Entra's interaction_required, which RFC 6749 §5.2 does not
// define) and the token stays unused; otherwise tokens are issued as usual,
// their iat being now and so at or after T.
//
// Errors (RFC 6749 §5.2): invalid_request without refresh_token or with a
// malformed claims parameter;
// invalid_grant for an unknown, expired, revoked, reused, other client's or
// signInSessionsValidFromDateTime-invalidated token, or a disabled or
// deleted user; invalid_scope for a widened scope. Client authentication
// (public clients without a secret included) is the Provider's.
type RefreshGrant struct {
	// Sessions rotates refresh tokens.
	Sessions RefreshRotator
	// Tokens issues the token response.
	Tokens *Delegated
}

// AllowsPublicClients implements PublicGrant: public clients refresh with
// their client_id alone (RFC 6749 §6; the token is bound to the client).
func (g *RefreshGrant) AllowsPublicClients() bool { return true }

// Token implements Grant (RFC 6749 §6).
func (g *RefreshGrant) Token(ctx context.Context, req *TokenRequest) (*TokenResponse, error) {
	value := req.Form.Get("refresh_token")
	if value == "" {
		return nil, errorf(CodeInvalidRequest, "refresh_token is required")
	}
	scope := req.Form.Get("scope")
	narrowing := strings.TrimSpace(scope) != ""
	var requested Scopes
	if narrowing {
		var err error
		if requested, err = ParseScopes(scope, ""); err != nil {
			return nil, err
		}
	}
	claims, err := ParseClaimsRequest(req.Form.Get("claims"))
	if err != nil {
		return nil, err
	}
	var eff Scopes
	rot, err := g.Sessions.Rotate(ctx, value, req.Client.Application.AppID, func(t store.RefreshToken) error {
		if nbf := claims.NotBefore; !nbf.IsZero() && t.AuthTime.Before(nbf) {
			return errorf(CodeInvalidGrant, "interaction_required: the claims challenge asks for an authentication at or after %s (nbf %d) but the refresh token's is from %s; interactive re-authentication is required at the authorization endpoint",
				nbf.UTC().Format(time.RFC3339), nbf.Unix(), t.AuthTime.UTC().Format(time.RFC3339))
		}
		granted, err := ParseScopes(strings.Join(t.Scopes, " "), t.Resource)
		if err != nil {
			return errorf(CodeInvalidGrant, "the refresh token's scopes are no longer valid; sign in again").WithCause(err)
		}
		eff, err = narrowScopes(granted, requested, narrowing)
		return err
	})
	if err != nil {
		return nil, refreshError(err)
	}
	return g.Tokens.Issue(ctx, DelegatedGrant{
		User:         rot.User,
		Client:       req.Client.Application,
		SessionID:    rot.New.SessionID,
		AuthTime:     rot.New.AuthTime,
		Scopes:       eff,
		Capabilities: rot.New.Capabilities,
		FamilyID:     rot.New.FamilyID,
		RefreshToken: rot.Value,
	})
}

// narrowScopes returns the scopes of the new access token: granted when
// nothing was requested, else requested, which must be covered by granted
// and be of the same resource (RFC 6749 §6: "MUST NOT include any scope not
// originally granted"). "<resource>/.default" asks for every granted
// permission.
func narrowScopes(granted, requested Scopes, narrowing bool) (Scopes, error) {
	if !narrowing {
		return granted, nil
	}
	if (requested.Default || len(requested.Permissions) > 0) && requested.Resource.AppID != granted.Resource.AppID {
		return Scopes{}, errorf(CodeInvalidScope, "the refresh token was granted for %s, not %s", granted.Resource.Audience, requested.Resource.Audience)
	}
	if requested.Default {
		requested.Permissions, requested.Default = granted.Permissions, false
	}
	if !granted.Covers(requested) {
		return Scopes{}, errorf(CodeInvalidScope, "the requested scope exceeds the scope originally granted (%s)", granted.String())
	}
	requested.Resource = granted.Resource
	return requested, nil
}

// refreshError maps a rotation failure to its RFC 6749 §5.2 error.
func refreshError(err error) error {
	var oe *Error
	switch {
	case errors.As(err, &oe):
		return err
	case errors.Is(err, session.ErrTokenReused):
		return errorf(CodeInvalidGrant, "the refresh token was already used; every token of its grant is now revoked").WithCause(err)
	case errors.Is(err, session.ErrWrongClient):
		return errorf(CodeInvalidGrant, "the refresh token was issued to another client").WithCause(err)
	case errors.Is(err, session.ErrTokenInvalid):
		return errorf(CodeInvalidGrant, "the refresh token is invalid, expired or revoked; sign in again").WithCause(err)
	}
	return errorf(CodeServerError, "cannot redeem the refresh token").WithCause(err)
}
