package oauth

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/vigil-idp/vigil/internal/session"
	"github.com/vigil-idp/vigil/internal/store"
)

// PolicyReader reads the effective session policy of a client (the global
// policy overlaid by the application's); *session.Service implements it and
// caches the policies.
type PolicyReader interface {
	EffectivePolicy(ctx context.Context, clientID string) (session.Policy, error)
}

// RefreshIssuer issues refresh tokens and reads session policies;
// *session.Service implements it.
type RefreshIssuer interface {
	IssueRefreshToken(ctx context.Context, n session.NewRefresh) (string, store.RefreshToken, error)
	PolicyReader
}

// RoleReader reads a user's directory roles (the wids claim); store.Store
// implements it.
type RoleReader interface {
	EffectiveRoleIDs(ctx context.Context, userID string) ([]string, error)
}

// DelegatedGrant is what an interactive grant (authorization code, device
// code, password) or a refresh established: who, for which client, in which
// session, with which scopes.
type DelegatedGrant struct {
	// User is the signed-in user.
	User store.User
	// Client is the client application.
	Client store.Application
	// SessionID is the SSO session (sid).
	SessionID string
	// AuthTime is when the user last authenticated interactively.
	AuthTime time.Time
	// AMR lists the authentication methods (RFC 8176).
	AMR []string
	// Scopes are the granted scopes (Default already resolved).
	Scopes Scopes
	// Capabilities are the client capabilities declared (xms_cc).
	Capabilities []string
	// Nonce is echoed into the ID token (authorization code flow only).
	Nonce string
	// IDTokenClaims are claims the claims parameter asked for in the ID
	// token.
	IDTokenClaims []string
	// FamilyID is the refresh-token family to start (authorization codes
	// pre-assign it); "" makes a new one.
	FamilyID string
	// SPA marks a grant made through a SPA redirect URI (24 h refresh
	// tokens).
	SPA bool
	// RefreshToken, when set, is returned as the refresh token instead of
	// issuing one: the refresh_token grant rotates its token itself.
	RefreshToken string
}

// Delegated issues the token response of a delegated grant: a JWT access
// token (RFC 9068) with scp, wids, sid, oid, sub and xms_cc; a refresh token
// when offline_access was granted; an ID token when openid was. Lifetimes
// come from the client's effective session policy. Build it as a struct
// literal; every field is required. The refresh_token grant reuses it.
type Delegated struct {
	// Access issues access tokens.
	Access *AccessTokens
	// IDTokens issues ID tokens.
	IDTokens *IDTokens
	// Sessions issues refresh tokens and reads policies.
	Sessions RefreshIssuer
	// Roles reads directory roles.
	Roles RoleReader
}

// Issue issues the tokens of g.
func (d *Delegated) Issue(ctx context.Context, g DelegatedGrant) (*TokenResponse, error) {
	if d.Access == nil || d.IDTokens == nil || d.Sessions == nil || d.Roles == nil {
		return nil, errorf(CodeServerError, "token service misconfigured").WithCause(errors.New("oauth: Delegated needs Access, IDTokens, Sessions and Roles"))
	}
	policy, err := d.Sessions.EffectivePolicy(ctx, g.Client.AppID)
	if err != nil {
		return nil, errorf(CodeServerError, "policy lookup failed").WithCause(err)
	}
	wids, err := d.Roles.EffectiveRoleIDs(ctx, g.User.ID)
	if err != nil {
		return nil, errorf(CodeServerError, "role lookup failed").WithCause(err)
	}
	slices.Sort(wids)
	at, life, err := d.Access.Issue(ctx, AccessToken{
		ValidFrom:          g.User.SignInSessionsValidFrom,
		Subject:            g.User.ID,
		Audience:           g.Scopes.Resource.Audience,
		ClientID:           g.Client.AppID,
		Scopes:             g.Scopes.SCP(),
		RoleTemplateIDs:    wids,
		SessionID:          g.SessionID,
		ClientCapabilities: g.Capabilities,
		Lifetime:           policy.AccessLifetime(g.Capabilities),
	})
	if err != nil {
		return nil, errorf(CodeServerError, "cannot issue the access token").WithCause(err)
	}
	secs := int64(life.Seconds())
	resp := &TokenResponse{AccessToken: at, TokenType: "Bearer", ExpiresIn: secs, ExtExpiresIn: secs, Scope: g.Scopes.String()}
	switch {
	case g.RefreshToken != "":
		resp.RefreshToken = g.RefreshToken
	case g.Scopes.OfflineAccess:
		rt, _, err := d.Sessions.IssueRefreshToken(ctx, session.NewRefresh{
			UserID: g.User.ID, SessionID: g.SessionID, ClientID: g.Client.AppID, Scopes: g.Scopes.List(),
			Resource: g.Scopes.Resource.Audience, Capabilities: g.Capabilities, AuthTime: g.AuthTime,
			FamilyID: g.FamilyID, SPA: g.SPA,
		})
		if err != nil {
			return nil, errorf(CodeServerError, "cannot issue the refresh token").WithCause(err)
		}
		resp.RefreshToken = rt
	}
	if g.Scopes.OpenID {
		id, err := d.IDTokens.Issue(ctx, IDToken{
			User: g.User, ClientID: g.Client.AppID, Nonce: g.Nonce, AuthTime: g.AuthTime, SessionID: g.SessionID,
			AMR: g.AMR, Scopes: g.Scopes, Requested: g.IDTokenClaims, AccessToken: at,
			Algorithm: idTokenAlgorithm(g.Client), Lifetime: policy.AccessTokenLifetime,
		})
		if err != nil {
			return nil, errorf(CodeServerError, "cannot issue the ID token").WithCause(err)
		}
		resp.IDToken = id
	}
	return resp, nil
}

// idTokenAlgorithm is the client's registered id_token_signed_response_alg
// (OpenID Connect Registration §2), "" for the default.
func idTokenAlgorithm(app store.Application) jose.SignatureAlgorithm {
	return jose.SignatureAlgorithm(app.IDTokenSignedResponseAlg)
}
