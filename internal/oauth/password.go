package oauth

import (
	"context"
	"errors"
	"strings"

	"github.com/vigil-idp/vigil/internal/session"
	"github.com/vigil-idp/vigil/internal/store"
)

// Sign-in failures a PasswordVerifier reports (errors.Is). They are the
// contract between the sign-in code (internal/login) and the grants here.
var (
	// ErrInvalidCredentials: unknown user or wrong password, deliberately
	// indistinguishable.
	ErrInvalidCredentials = errors.New("oauth: the user name or password is incorrect")
	// ErrAccountLocked: too many failed sign-ins; the account is locked
	// for a while.
	ErrAccountLocked = errors.New("oauth: the account is locked after too many failed sign-ins")
	// ErrAccountDisabled: the password was right but the account is
	// disabled (accountEnabled false).
	ErrAccountDisabled = errors.New("oauth: the account is disabled")
)

// PasswordVerifier checks a user name and password with throttling and
// lockout; *login.Passwords implements it.
type PasswordVerifier interface {
	// VerifyPassword returns the user, or an error wrapping
	// ErrInvalidCredentials, ErrAccountLocked or ErrAccountDisabled
	// (anything else is a server failure).
	VerifyPassword(ctx context.Context, username, password string, info session.ClientInfo) (store.User, error)
}

// PasswordGrant is the resource owner password credentials grant (RFC 6749
// §4.3), allowed only for applications with public client flows enabled
// (isFallbackPublicClient), as in Entra; others get unauthorized_client.
// It cannot show a consent page, so every scope must already be consented
// (else invalid_grant, as Entra's AADSTS65001). Each success starts an SSO
// session (no browser cookie), so the tokens carry a sid that revocation
// reaches. Build it as a struct literal; every field is required.
type PasswordGrant struct {
	// Users verifies credentials, with the sign-in form's throttling.
	Users PasswordVerifier
	// Sessions starts the session.
	Sessions SessionStarter
	// Consents are checked, never written.
	Consents ConsentStore
	// Tokens issues the token response.
	Tokens *Delegated
}

// AllowsPublicClients implements PublicGrant.
func (g *PasswordGrant) AllowsPublicClients() bool { return true }

// Token implements Grant (RFC 6749 §4.3.2).
func (g *PasswordGrant) Token(ctx context.Context, req *TokenRequest) (*TokenResponse, error) {
	app := req.Client.Application
	if !app.IsFallbackPublicClient {
		return nil, errorf(CodeUnauthorizedClient, "the password grant needs public client flows enabled on the application (isFallbackPublicClient)")
	}
	username, password := req.Form.Get("username"), req.Form.Get("password")
	if username == "" || password == "" {
		return nil, errorf(CodeInvalidRequest, "username and password are required")
	}
	if strings.TrimSpace(req.Form.Get("scope")) == "" {
		return nil, errorf(CodeInvalidScope, "scope is required")
	}
	scopes, err := ParseScopes(req.Form.Get("scope"), req.Form.Get("resource"))
	if err != nil {
		return nil, err
	}
	info := session.ClientInfo{IP: req.RemoteIP, UserAgent: truncate(req.UserAgent, 256)}
	user, err := g.Users.VerifyPassword(ctx, username, password, info)
	if err != nil {
		return nil, SignInError(err)
	}
	cc, err := CheckConsent(ctx, g.Consents, app.AppID, user.ID, scopes)
	if err != nil {
		return nil, errorf(CodeServerError, "consent lookup failed").WithCause(err)
	}
	if len(cc.Missing) > 0 {
		return nil, errorf(CodeInvalidGrant, "the user or an administrator has not consented to %s for this application; sign in interactively once",
			cc.Missing[0].Permission.Name)
	}
	sess, err := g.Sessions.Start(ctx, user.ID, []string{"pwd"}, info)
	if err != nil {
		return nil, errorf(CodeServerError, "cannot start the session").WithCause(err)
	}
	if err := g.Sessions.Touch(ctx, sess.ID, app.AppID); err != nil {
		return nil, errorf(CodeServerError, "cannot record the session's client").WithCause(err)
	}
	return g.Tokens.Issue(ctx, DelegatedGrant{
		User: user, Client: app, SessionID: sess.ID, AuthTime: sess.AuthTime, AMR: sess.AMR, Scopes: cc.Granted,
	})
}

// SignInError maps a PasswordVerifier failure to invalid_grant (RFC 6749
// §5.2) with a description safe to show; other errors become
// server_error.
func SignInError(err error) error {
	switch {
	case errors.Is(err, ErrInvalidCredentials):
		return errorf(CodeInvalidGrant, "the user name or password is incorrect").WithCause(err)
	case errors.Is(err, ErrAccountLocked):
		return errorf(CodeInvalidGrant, "the account is locked after too many failed sign-ins; try again later").WithCause(err)
	case errors.Is(err, ErrAccountDisabled):
		return errorf(CodeInvalidGrant, "the account is disabled").WithCause(err)
	}
	return errorf(CodeServerError, "sign-in failed").WithCause(err)
}
