package liveauth

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/vigil-idp/vigil/guard"
	"github.com/vigil-idp/vigil/internal/authz"
	"github.com/vigil-idp/vigil/internal/oauth"
	"github.com/vigil-idp/vigil/internal/session"
)

// Authenticator verifies a request's bearer token; *oauth.Verifier
// implements it, and so does Checked.
type Authenticator interface {
	Authenticate(r *http.Request) (*authz.Principal, error)
}

// States decides whether a verified delegated token is still good;
// *session.Service implements it.
type States interface {
	CheckAccess(ctx context.Context, userID, sid string, iat time.Time) (session.Access, error)
}

// Checked is Authenticator with revocation enforced (see the package
// documentation).
type Checked struct {
	Authenticator
	States States
	// AuthorizationURI is the authorization endpoint named by the claims
	// challenge a CAE-capable client gets for a revoked token.
	AuthorizationURI string
}

// Authenticate verifies r's token with the wrapped Authenticator, then
// refuses a revoked delegated token with an *oauth.BearerError: for a
// client that declared cp1 (xms_cc), the claims challenge of continuous
// access evaluation (insufficient_claims, asking for a token issued from
// the revocation on, as Entra's Graph does); otherwise invalid_token. A
// failure to read the revocation state is an error of its own (the APIs
// answer 500).
func (c Checked) Authenticate(r *http.Request) (*authz.Principal, error) {
	p, err := c.Authenticator.Authenticate(r)
	if err != nil || p == nil || p.Kind != authz.Delegated {
		return p, err
	}
	a, err := c.States.CheckAccess(r.Context(), p.ObjectID, p.SessionID, p.IssuedAt)
	switch {
	case err != nil:
		return nil, fmt.Errorf("liveauth: revocation state of %s: %w", p.ObjectID, err)
	case a.Active:
		return p, nil
	case p.CAECapable() && !a.ValidFrom.IsZero():
		return nil, &oauth.BearerError{Code: oauth.CodeInsufficientClaims, AuthorizationURI: c.AuthorizationURI,
			Claims:      guard.NBFClaims(a.ValidFrom.Unix()),
			Description: "continuous access evaluation: the token was issued before its user's sessions were revoked or its session ended"}
	}
	return nil, &oauth.BearerError{Code: oauth.CodeInvalidToken,
		Description: "the token was revoked: its user's sessions were revoked, its session ended, or the account is disabled or deleted"}
}
