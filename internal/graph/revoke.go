package graph

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"

	"github.com/vigil-idp/vigil/internal/authz"
	"github.com/vigil-idp/vigil/internal/directory"
	"github.com/vigil-idp/vigil/internal/revocation"
	"github.com/vigil-idp/vigil/internal/store"
)

// Revoker revokes one user's sign-in sessions: the effect of
// revokeSignInSessions (T moves, sessions and refresh tokens revoked, an
// audit record and an outbox event, in one transaction committed before it
// returns) and the revocation resource that records it. It authorizes the
// initiator against the target (authz.CanActOnUser) and answers errors
// wrapping revocation.ErrNotFound and revocation.ErrForbidden.
// *revocation.Service satisfies it.
type Revoker interface {
	RevokeUser(ctx context.Context, in revocation.Initiator, idOrUPN string, opts revocation.Options) (store.Revocation, error)
}

var _ Revoker = (*revocation.Service)(nil)

// revocationsPath is where the Vigil API serves revocation resources,
// under the issuer (design README, "Vigil API").
const revocationsPath = "/vigil/v1/revocations/"

// revokeSignInSessions is POST /users/{id|upn}/revokeSignInSessions (and
// /me/…, and the microsoft.graph.-qualified forms)
// (https://learn.microsoft.com/en-us/graph/api/user-revokesigninsessions,
// reference §1): 200 with {"@odata.context": "<base>/$metadata#Edm.Boolean",
// "value": true}, as Graph answers (§1.2), and a Location header naming the
// revocation resource that records it. Refusals are Graph's 403
// Authorization_RequestDenied, an unknown user 404 Request_ResourceNotFound
// (§1.3).
func (a *API) revokeSignInSessions(w http.ResponseWriter, r *http.Request) error {
	rev, err := a.revoke(r, "revokeSignInSessions", revocation.Options{})
	if err != nil {
		return err
	}
	w.Header().Set("Location", a.realm()+revocationsPath+rev.ID)
	a.writeJSON(w, http.StatusOK, object{
		{"@odata.context", a.base() + "/$metadata#Edm.Boolean"},
		{"value", true},
	})
	return nil
}

// invalidateAllRefreshTokens is the legacy beta action POST
// /beta/users/{id|upn}/invalidateAllRefreshTokens (and /beta/me/…)
// (https://learn.microsoft.com/en-us/graph/api/user-invalidateallrefreshtokens?view=graph-rest-beta,
// reference §1.6): the revocation of revokeSignInSessions, which also
// moves refreshTokensValidFromDateTime; 204 No Content, as documented, with
// the revocation resource in Location.
func (a *API) invalidateAllRefreshTokens(w http.ResponseWriter, r *http.Request) error {
	rev, err := a.revoke(r, "invalidateAllRefreshTokens", revocation.Options{RefreshTokensToo: true})
	if err != nil {
		return err
	}
	w.Header().Set("Location", a.realm()+revocationsPath+rev.ID)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// revoke checks a revoke action's request (no query options; no body, or
// an empty JSON object) and revokes the user {id} for the caller.
func (a *API) revoke(r *http.Request, action string, opts revocation.Options) (store.Revocation, error) {
	if err := noOptions(r); err != nil {
		return store.Revocation{}, err
	}
	if err := readNoParameters(r, action); err != nil {
		return store.Revocation{}, err
	}
	ctx := r.Context()
	in := initiatorOf(ctx)
	opts.CorrelationID = infoFrom(ctx).clientRequestID
	id := r.PathValue("id")
	rev, err := a.Revocations.RevokeUser(ctx, in, id, opts)
	switch {
	case errors.Is(err, revocation.ErrForbidden):
		return rev, NewError(http.StatusForbidden, CodeAccessDenied, msgForbidden, err)
	case errors.Is(err, revocation.ErrNotFound):
		return rev, NewError(http.StatusNotFound, CodeResourceNotFound, notFound(id).Message, err)
	case errors.Is(err, revocation.ErrInvalid):
		var re *revocation.Error
		msg := "The request is not valid."
		if errors.As(err, &re) {
			msg = re.Message
		}
		return rev, NewError(http.StatusBadRequest, CodeRequestBadRequest, msg, err)
	}
	return rev, err
}

// readNoParameters reads the body of an action without parameters: none,
// or an empty JSON object (with a JSON Content-Type). A parameter is
// answered with OData's message for an unknown action parameter.
func readNoParameters(r *http.Request, action string) error {
	body, err := readJSONBody(r, true)
	if err != nil || body == nil {
		return err
	}
	var params map[string]json.RawMessage
	if err := json.Unmarshal(body, &params); err != nil || params == nil {
		return invalidJSON(err)
	}
	for name := range params {
		return badRequest("The parameter '%s' in the request payload is not a valid parameter for the operation '%s'.", name, action)
	}
	return nil
}

type initiatorKey struct{}

// withInitiator returns r with its caller described for the audit records
// of the writes it makes: in r's context for the revoke actions
// (initiatorOf) and for the directory (directory.WithInitiator).
func (a *API) withInitiator(r *http.Request) (*http.Request, error) {
	in, err := a.initiator(r)
	if err != nil {
		return nil, err
	}
	ctx := context.WithValue(r.Context(), initiatorKey{}, in)
	return r.WithContext(directory.WithInitiator(ctx, in)), nil
}

// initiatorOf returns the initiator withInitiator put in ctx, or one with
// the principal alone.
func initiatorOf(ctx context.Context) revocation.Initiator {
	if in, ok := ctx.Value(initiatorKey{}).(revocation.Initiator); ok {
		return in
	}
	p, _ := authz.FromContext(ctx)
	return revocation.Initiator{Principal: p}
}

// initiator describes the caller for authorization and the audit record:
// the principal, the signed-in user's userPrincipalName and displayName
// (delegated), the client application's display name, and the address the
// request came from (the TCP peer: Vigil trusts no forwarding header).
func (a *API) initiator(r *http.Request) (revocation.Initiator, error) {
	ctx := r.Context()
	p, _ := authz.FromContext(ctx)
	in := revocation.Initiator{Principal: p, IPAddress: peerAddress(r)}
	if p == nil {
		return in, nil
	}
	if p.Kind == authz.Delegated && p.ObjectID != "" {
		u, err := a.Directory.GetUser(ctx, p.ObjectID)
		switch {
		case err == nil:
			in.UserPrincipalName, in.DisplayName = u.UserPrincipalName, u.DisplayName
		case !isNotFound(err):
			return in, err
		}
	}
	if p.ClientID != "" {
		sp, err := a.Directory.GetServicePrincipal(ctx, p.ClientID)
		switch {
		case err == nil:
			in.AppDisplayName = sp.DisplayName
		case !isNotFound(err):
			return in, err
		}
	}
	return in, nil
}

// isNotFound reports a missing directory object, however the directory
// words it.
func isNotFound(err error) bool {
	return errorFrom(err).Status == http.StatusNotFound
}

// peerAddress is the IP address of the request's TCP peer, "" when unknown.
func peerAddress(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return ""
	}
	return host
}
