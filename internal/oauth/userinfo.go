package oauth

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"slices"

	"github.com/vigil-idp/vigil/internal/authz"
	"github.com/vigil-idp/vigil/internal/store"
)

// PathUserInfo is the userinfo endpoint below the issuer (OpenID Connect
// Core 1.0 §5.3).
const PathUserInfo = "/userinfo"

// UserReader reads users; store.Store implements it.
type UserReader interface {
	GetUser(ctx context.Context, id string) (store.User, error)
}

// UserInfo is the userinfo endpoint (OpenID Connect Core 1.0 §5.3). As in
// Entra, where userinfo is served by Graph, it takes a delegated access
// token for Graph whose scp includes openid, and returns sub plus the
// profile and email claims its scp allows. The token must still be honoured
// exactly as introspection decides (States.AccessActive): the user exists
// and is enabled, the token is not older than the user's
// signInSessionsValidFromDateTime, and its session (sid) has not ended;
// otherwise the answer is 401 invalid_token (RFC 6750 §3.1). Build it as a
// struct literal; Verifier, Users and States are required (the Verifier's
// Audiences must include Graph).
type UserInfo struct {
	// Verifier verifies the bearer token.
	Verifier *Verifier
	// Users reads the user.
	Users UserReader
	// States decides whether the token is still honoured; use the one
	// Introspection uses. Without it every request fails with 500.
	States AccessStates
	// Logger receives the private causes of errors; nil discards them.
	Logger *slog.Logger
}

// errNoStates is the private cause of userinfo's 500 when UserInfo.States
// is not wired.
var errNoStates = errors.New("oauth: UserInfo.States is not set: revocation state cannot be checked")

// userInfoClaims is the userinfo response (§5.3.2).
type userInfoClaims struct {
	Subject           string `json:"sub"`
	Name              string `json:"name,omitempty"`
	GivenName         string `json:"given_name,omitempty"`
	FamilyName        string `json:"family_name,omitempty"`
	PreferredUsername string `json:"preferred_username,omitempty"`
	Email             string `json:"email,omitempty"`
}

// ServeHTTP answers GET and POST (§5.3.1) with a bearer token in the
// Authorization header (RFC 6750 §2.1).
func (u *UserInfo) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		w.Header().Set("Allow", "GET, POST")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	claims, err := u.claims(r)
	if err != nil {
		if u.Logger != nil {
			u.Logger.InfoContext(r.Context(), "oauth: userinfo refused", "err", err)
		}
		status, challenge := Challenge(err, "")
		if challenge != "" {
			w.Header().Set("WWW-Authenticate", challenge)
		}
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(status)
		return
	}
	writeNoStoreJSON(w, claims)
}

func (u *UserInfo) claims(r *http.Request) (*userInfoClaims, error) {
	p, err := u.Verifier.Authenticate(r)
	if err != nil {
		return nil, err
	}
	if !slices.Contains(p.Scopes, ScopeOpenID) || p.Kind != authz.Delegated {
		return nil, &BearerError{Code: CodeInsufficientScope, Description: "userinfo needs a delegated token with the openid scope", Scope: ScopeOpenID}
	}
	if u.States == nil {
		return nil, errNoStates
	}
	active, err := u.States.AccessActive(r.Context(), p.ObjectID, p.SessionID, p.IssuedAt)
	switch {
	case err != nil:
		return nil, err
	case !active:
		return nil, invalidToken("the token is no longer valid: its session ended, the user's sessions were revoked, or the user is disabled or deleted", nil)
	}
	user, err := u.Users.GetUser(r.Context(), p.ObjectID)
	switch {
	case errors.Is(err, store.ErrNotFound): // deleted since AccessActive read it
		return nil, invalidToken("the user no longer exists", nil)
	case err != nil:
		return nil, err
	}
	c := &userInfoClaims{Subject: user.ID}
	if slices.Contains(p.Scopes, ScopeProfile) {
		c.Name, c.PreferredUsername = user.DisplayName, user.UserPrincipalName
		c.GivenName, c.FamilyName = deref(user.GivenName), deref(user.Surname)
	}
	if slices.Contains(p.Scopes, ScopeEmail) {
		c.Email = deref(user.Mail)
	}
	return c, nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
