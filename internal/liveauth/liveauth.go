package liveauth

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/vigil-idp/vigil/internal/authz"
	"github.com/vigil-idp/vigil/internal/oauth"
)

// Authenticator verifies a request's bearer token; *oauth.Verifier
// implements it, and so does Checked.
type Authenticator interface {
	Authenticate(r *http.Request) (*authz.Principal, error)
}

// States decides whether a verified delegated token is still good;
// *session.Service implements it.
type States interface {
	AccessActive(ctx context.Context, userID, sid string, iat time.Time) (bool, error)
}

// Checked is Authenticator with revocation enforced (see the package
// documentation).
type Checked struct {
	Authenticator
	States States
}

// Authenticate verifies r's token with the wrapped Authenticator, then
// refuses a revoked delegated token with an *oauth.BearerError
// (invalid_token); a failure to read the revocation state is an error of
// its own (the APIs answer 500).
func (c Checked) Authenticate(r *http.Request) (*authz.Principal, error) {
	p, err := c.Authenticator.Authenticate(r)
	if err != nil || p == nil || p.Kind != authz.Delegated {
		return p, err
	}
	active, err := c.States.AccessActive(r.Context(), p.ObjectID, p.SessionID, p.IssuedAt)
	switch {
	case err != nil:
		return nil, fmt.Errorf("liveauth: revocation state of %s: %w", p.ObjectID, err)
	case !active:
		return nil, &oauth.BearerError{Code: oauth.CodeInvalidToken,
			Description: "the token was revoked: its user's sessions were revoked, its session ended, or the account is disabled or deleted"}
	}
	return p, nil
}
