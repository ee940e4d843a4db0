package vigilapi

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strings"

	"github.com/google/uuid"

	"github.com/vigil-idp/vigil/internal/authz"
	"github.com/vigil-idp/vigil/internal/revocation"
	"github.com/vigil-idp/vigil/internal/store"
)

// permission is what a route requires of its caller before the handler
// runs.
//
// An app-only caller needs one of names as an application permission
// (roles). A delegated caller needs one of names as a delegated scope (scp)
// and, unless perTarget, a directory role among adminRoles (wids). With
// perTarget the scope lets a delegated caller in and the handler decides
// per target user, with Entra's matrix (authz.CanActOnUser). With signedIn
// the route acts on the signed-in user alone: any delegated token for the
// Vigil API passes, whatever its scopes, and app-only tokens are refused
// as Graph refuses /me without a user.
type permission struct {
	names      []string
	adminRoles []string
	perTarget  bool
	signedIn   bool
}

// msgMeAppOnly is Graph's answer to /me with an app-only token.
const msgMeAppOnly = "/me request is only valid with delegated authentication flow."

// check returns nil when pr passes, else the error to answer (403, or 400
// for /me with an app-only token).
func (p permission) check(pr *authz.Principal) error {
	if p.signedIn {
		if pr.Kind != authz.Delegated || pr.ObjectID == "" {
			return apiError(http.StatusBadRequest, codeBadRequest, msgMeAppOnly, nil)
		}
		if len(pr.Scopes) == 0 {
			return apiError(http.StatusForbidden, codeAccessDenied, msgForbidden,
				fmt.Errorf("delegated token of %s carries no Vigil API scope", pr.ObjectID))
		}
		return nil
	}
	if pr.HasRole(p.names...) {
		return nil
	}
	if pr.HasScope(p.names...) && (p.perTarget || holdsRole(pr, p.adminRoles)) {
		return nil
	}
	return apiError(http.StatusForbidden, codeAccessDenied, msgForbidden,
		fmt.Errorf("caller %s (client %s) lacks %s", pr.ObjectID, pr.ClientID, strings.Join(p.names, " or ")))
}

// holdsRole reports whether a delegated principal holds one of roles
// (directory role template ids, wids).
func holdsRole(pr *authz.Principal, roles []string) bool {
	return slices.ContainsFunc(pr.RoleTemplateIDs, func(w string) bool {
		return slices.ContainsFunc(roles, func(r string) bool { return strings.EqualFold(w, r) })
	})
}

// graphRevokeSessions is Graph's least-privileged permission to revoke
// sign-in sessions, the one Entra's matrix (authz.ActionRevokeSessions)
// is written for.
const graphRevokeSessions = "User.RevokeSessions.All"

// asRevoker is the principal the revocation engine authorizes for a caller
// who passed a revoking route's permission: the caller (same oid, client,
// directory roles, sid, jti) holding, instead of the Vigil permission or
// scope, Graph's User.RevokeSessions.All. The Vigil permissions
// Vigil.Revocations.ReadWrite.All and Vigil.Sessions.ReadWrite.All reach
// exactly as far as that one: any user for an application; for a signed-in
// user, the users their directory roles cover in Entra's matrix, and
// themself. The engine records this principal in the job (it authorizes
// every target with it, also after a restart) and in audit records, which
// show the caller's identity, not its scopes.
func asRevoker(p *authz.Principal) *authz.Principal {
	q := *p
	q.Roles, q.Scopes = nil, nil
	if p.Kind == authz.AppOnly {
		q.Roles = []string{graphRevokeSessions}
	} else {
		q.Scopes = []string{graphRevokeSessions}
	}
	q.RoleTemplateIDs = slices.Clone(p.RoleTemplateIDs)
	return &q
}

// Users reads users, by id or userPrincipalName, and the facts about a
// user that per-target authorization reads (authz.TargetFacts): the roles
// they hold and their role-assignable groups. store.Store satisfies it.
type Users interface {
	GetUser(ctx context.Context, id string) (store.User, error)
	GetUserByUPN(ctx context.Context, upn string) (store.User, error)
	EffectiveRoleIDs(ctx context.Context, userID string) ([]string, error)
	ListMemberOf(ctx context.Context, memberID string, transitive bool, q store.Query) (store.Page[store.Group], error)
}

// userByKey finds a user by id, or by userPrincipalName when the key is
// not GUID-shaped (Graph's /users/{id | userPrincipalName}); an unknown
// user is Graph's 404.
func (a *API) userByKey(ctx context.Context, key string) (store.User, error) {
	var (
		u   store.User
		err error
	)
	if _, perr := uuid.Parse(key); perr == nil && len(key) == 36 {
		u, err = a.Users.GetUser(ctx, strings.ToLower(key))
	} else {
		u, err = a.Users.GetUserByUPN(ctx, key)
	}
	if errors.Is(err, store.ErrNotFound) {
		return u, apiError(http.StatusNotFound, codeNotFound,
			fmt.Sprintf("Resource '%s' does not exist or one of its queried reference-property objects are not present.", key), err)
	}
	return u, err
}

// targetFacts reads authz target facts through Users.
type targetFacts struct{ users Users }

// EffectiveRoles returns the role template ids userID holds.
func (f targetFacts) EffectiveRoles(ctx context.Context, userID string) ([]string, error) {
	return f.users.EffectiveRoleIDs(ctx, userID)
}

// IsRoleAssignableGroupMember reports whether userID is a direct member of
// a role-assignable group (such groups cannot be nested).
func (f targetFacts) IsRoleAssignableGroupMember(ctx context.Context, userID string) (bool, error) {
	q := store.Query{Top: 500}
	for {
		p, err := f.users.ListMemberOf(ctx, userID, false, q)
		if err != nil {
			return false, err
		}
		if slices.ContainsFunc(p.Items, func(g store.Group) bool { return g.IsAssignableToRole }) {
			return true, nil
		}
		if p.Next == "" {
			return false, nil
		}
		q.Cursor = p.Next
	}
}

// mayActOn answers 403 unless the caller (who passed a revoking route's
// permission) may revoke the sessions of userID, as the engine would
// decide it (authz.ActionRevokeSessions for asRevoker(p)).
func (a *API) mayActOn(ctx context.Context, p *authz.Principal, userID string) error {
	d, err := authz.CanActOnUserID(ctx, targetFacts{a.Users}, asRevoker(p), authz.ActionRevokeSessions, userID)
	if err != nil {
		return err
	}
	if !d.Allowed {
		return forbidden(d.Reason)
	}
	return nil
}

// forbidden is a 403 whose message gives the reason (a sentence from
// authz or the engine, safe to show).
func forbidden(reason string) *Error {
	msg := msgForbidden
	if reason != "" {
		msg = strings.TrimSuffix(msgForbidden, ".") + ": " + strings.TrimSuffix(reason, ".") + "."
	}
	return apiError(http.StatusForbidden, codeAccessDenied, msg, nil)
}

// initiator describes the caller for the engine's authorization and
// records: asRevoker(p), the signed-in user's userPrincipalName and
// displayName (delegated), the client application's display name, and the
// address the request came from (the TCP peer: no forwarding header is
// trusted).
func (a *API) initiator(r *http.Request, p *authz.Principal) (revocation.Initiator, error) {
	ctx := r.Context()
	in := revocation.Initiator{Principal: asRevoker(p)}
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		in.IPAddress = host
	}
	if p.Kind == authz.Delegated && p.ObjectID != "" && a.Users != nil {
		u, err := a.Users.GetUser(ctx, p.ObjectID)
		switch {
		case err == nil:
			in.UserPrincipalName, in.DisplayName = u.UserPrincipalName, u.DisplayName
		case !errors.Is(err, store.ErrNotFound):
			return in, err
		}
	}
	if p.ClientID != "" {
		app, err := a.Apps.GetApplicationByAppID(ctx, p.ClientID)
		switch {
		case err == nil:
			in.AppDisplayName = app.DisplayName
		case !errors.Is(err, store.ErrNotFound):
			return in, err
		}
	}
	return in, nil
}
