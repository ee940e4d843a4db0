package directory

import (
	"context"
	"errors"
	"strings"

	"github.com/vigil-idp/vigil/internal/authz"
	"github.com/vigil-idp/vigil/internal/odata"
	"github.com/vigil-idp/vigil/internal/revocation"
	"github.com/vigil-idp/vigil/internal/store"
)

// builtinResource returns the built-in resource API (Graph or Vigil) whose
// service principal has this appId.
func builtinResource(appID string) (authz.Resource, bool) {
	for _, r := range authz.Resources() {
		if strings.EqualFold(r.AppID, appID) {
			return r, true
		}
	}
	return authz.Resource{}, false
}

// CreateServicePrincipal creates the service principal of an application
// registered in this tenant, or of a built-in resource API (Graph, Vigil),
// named after it (Graph POST /servicePrincipals). An appId with no
// application is KindInvalid; a second service principal for the same appId
// is KindConflict with Graph's code Request_MultipleObjectsWithSameKeyValue.
func (s *Service) CreateServicePrincipal(ctx context.Context, appID string) (store.ServicePrincipal, error) {
	sp := store.ServicePrincipal{ID: s.newID(), CreatedDateTime: s.now()}
	err := s.Store.InTx(ctx, func(tx store.Tx) error {
		if r, ok := builtinResource(appID); ok {
			sp.AppID, sp.DisplayName = r.AppID, r.DisplayName
		} else {
			a, err := tx.GetApplicationByAppID(ctx, appID)
			if errors.Is(err, store.ErrNotFound) {
				return invalid("The appId '%s' of the service principal does not reference a valid application object.", appID)
			}
			if err != nil {
				return wrap("create service principal", appID, err, "")
			}
			sp.AppID, sp.DisplayName = a.AppID, a.DisplayName
		}
		err := tx.CreateServicePrincipal(ctx, sp)
		if errors.Is(err, store.ErrConflict) {
			return conflict(CodeMultipleSameValue, "The service principal cannot be created, updated, or restored because the service principal name "+sp.AppID+" is already in use.", err)
		}
		if err != nil {
			return wrap("create service principal", appID, err, "")
		}
		return s.audit(ctx, tx, change{
			activity: ActivityAddServicePrincipal, category: revocation.CategoryApplicationManagement, operation: opAdd,
			targets: []revocation.AuditTarget{spTarget(sp, modified([]prop{{name: "AppId", new: sp.AppID}, {name: "DisplayName", new: sp.DisplayName}}))},
		})
	})
	if err != nil {
		return store.ServicePrincipal{}, err
	}
	return sp, nil
}

// spByKey resolves a service principal by object id or appId.
func spByKey(ctx context.Context, tx store.Applications, key string) (store.ServicePrincipal, error) {
	return byIDOrAppID(ctx, key, "service principal", tx.GetServicePrincipal, tx.GetServicePrincipalByAppID)
}

// GetServicePrincipal returns a service principal by object id or appId
// (Graph's /servicePrincipals(appId='…') form).
func (s *Service) GetServicePrincipal(ctx context.Context, idOrAppID string) (store.ServicePrincipal, error) {
	return spByKey(ctx, s.Store, idOrAppID)
}

// ListServicePrincipals pages service principals.
func (s *Service) ListServicePrincipals(ctx context.Context, q store.Query) (store.Page[store.ServicePrincipal], error) {
	p, err := s.Store.ListServicePrincipals(ctx, q)
	return p, listErr("list service principals", err)
}

// DeleteServicePrincipal deletes a service principal with its app role
// assignments, its directory role assignments and its group memberships,
// in one transaction. The built-in resource service principals (Graph,
// Vigil) cannot be deleted (KindForbidden): every grant refers to them.
func (s *Service) DeleteServicePrincipal(ctx context.Context, idOrAppID string) error {
	return s.Store.InTx(ctx, func(tx store.Tx) error {
		sp, err := spByKey(ctx, tx, idOrAppID)
		if err != nil {
			return err
		}
		return s.deleteServicePrincipal(ctx, tx, sp)
	})
}

func (s *Service) deleteServicePrincipal(ctx context.Context, tx store.Tx, sp store.ServicePrincipal) error {
	if r, ok := builtinResource(sp.AppID); ok {
		return &Error{Kind: KindForbidden, Code: CodeAccessDenied, Message: "The built-in service principal '" + r.DisplayName + "' cannot be deleted."}
	}
	as, err := tx.ListRoleAssignments(ctx, sp.ID, "")
	if err != nil {
		return wrap("delete service principal", sp.ID, err, "")
	}
	for _, a := range as {
		if err := tx.DeleteRoleAssignment(ctx, a.ID); err != nil && !errors.Is(err, store.ErrNotFound) {
			return wrap("delete service principal", sp.ID, err, "")
		}
	}
	var groups []string
	q := store.Query{Top: 500}
	for {
		p, err := tx.ListMemberOf(ctx, sp.ID, false, q)
		if err != nil {
			return wrap("delete service principal", sp.ID, err, "")
		}
		for _, g := range p.Items {
			groups = append(groups, g.ID)
		}
		if p.Next == "" {
			break
		}
		q.Cursor = p.Next
	}
	for _, g := range groups {
		if err := tx.RemoveMember(ctx, g, sp.ID); err != nil && !errors.Is(err, store.ErrNotFound) {
			return wrap("delete service principal", sp.ID, err, "")
		}
	}
	if err := tx.DeleteServicePrincipal(ctx, sp.ID); err != nil {
		return wrap("delete service principal", sp.ID, err, "")
	}
	return s.audit(ctx, tx, change{
		activity: ActivityRemoveServicePrincipal, category: revocation.CategoryApplicationManagement, operation: opDelete,
		targets: []revocation.AuditTarget{spTarget(sp, nil)},
	})
}

// Graph's messages for app role grants.
const (
	msgPermissionExists = "Permission being assigned already exists on the object"
)

// GrantAppRole grants an application permission (app role) to a service
// principal (Graph POST /servicePrincipals/{id}/appRoleAssignments,
// https://learn.microsoft.com/en-us/graph/api/serviceprincipal-post-approleassignments).
// principalID is the client service principal (object id or appId);
// resourceID the resource service principal, which must be a built-in
// resource API (Graph or Vigil) whose catalogue has appRoleID. appRoleID is
// the permission's GUID (Graph's own ids) or, for convenience, its name.
// An unknown app role is KindInvalid with Graph's message; a repeat grant
// is KindConflict.
func (s *Service) GrantAppRole(ctx context.Context, principalID, resourceID, appRoleID string) (store.AppRoleAssignment, error) {
	var out store.AppRoleAssignment
	err := s.Store.InTx(ctx, func(tx store.Tx) error {
		res, err := spByKey(ctx, tx, resourceID)
		if err != nil {
			return err
		}
		out, err = s.grant(ctx, tx, principalID, res, appRoleID)
		return err
	})
	return out, err
}

// GrantAppPermission grants an application permission by name: resource is
// the resource API's appId or application ID URI (e.g.
// "https://graph.microsoft.com"), permission its name (e.g.
// "User.Read.All", case-insensitive) or app role id. The resource's
// service principal must exist (see EnsureBuiltins).
func (s *Service) GrantAppPermission(ctx context.Context, principalID, resourceAppID, permissionName string) (store.AppRoleAssignment, error) {
	r, ok := authz.ResourceByIdentifier(resourceAppID)
	if !ok {
		return store.AppRoleAssignment{}, invalidProp("resourceId", "AppRoleAssignment", "'"+resourceAppID+"' is not a resource API Vigil knows (Microsoft Graph or the Vigil API)")
	}
	var out store.AppRoleAssignment
	err := s.Store.InTx(ctx, func(tx store.Tx) error {
		res, err := tx.GetServicePrincipalByAppID(ctx, r.AppID)
		if err != nil {
			return wrap("grant permission", r.AppID, err, "")
		}
		out, err = s.grant(ctx, tx, principalID, res, permissionName)
		return err
	})
	return out, err
}

// grant checks and inserts one app role assignment inside tx.
func (s *Service) grant(ctx context.Context, tx store.Tx, principalID string, res store.ServicePrincipal, role string) (store.AppRoleAssignment, error) {
	r, ok := builtinResource(res.AppID)
	if !ok {
		return store.AppRoleAssignment{}, invalidProp("resourceId", "AppRoleAssignment", "service principal '"+res.ID+"' is not a resource API; app roles can be granted only on Microsoft Graph and the Vigil API")
	}
	perm, ok := r.PermissionByAppRoleID(role)
	if !ok && !odata.IsGUID(role) {
		perm, ok = r.PermissionByName(role)
	}
	if !ok || perm.AppRoleID == "" {
		return store.AppRoleAssignment{}, invalid("Permission being assigned was not found on application '%s'.", r.AppID)
	}
	p, err := spByKey(ctx, tx, principalID)
	if IsKind(err, KindNotFound) {
		if o, oerr := objectByID(ctx, tx, principalID); oerr == nil {
			return store.AppRoleAssignment{}, invalidProp("principalId", "AppRoleAssignment", "application permissions can be granted only to service principals, not to a "+string(o.Kind))
		}
	}
	if err != nil {
		return store.AppRoleAssignment{}, err
	}
	a := store.AppRoleAssignment{
		ID:              s.newID(),
		PrincipalID:     p.ID,
		ResourceID:      res.ID,
		AppRoleID:       perm.AppRoleID,
		CreatedDateTime: s.now(),
	}
	if err := tx.CreateAppRoleAssignment(ctx, a); err != nil {
		return store.AppRoleAssignment{}, wrap("grant app role", principalID, err, msgPermissionExists)
	}
	return a, s.audit(ctx, tx, appRoleChange(ActivityAddAppRoleAssignment, opAssign, p, res, perm.AppRoleID, perm.Name))
}

// ListAppRoleAssignments lists the grants a service principal holds
// (object id or appId); a missing one is KindNotFound.
func (s *Service) ListAppRoleAssignments(ctx context.Context, principalID string) ([]store.AppRoleAssignment, error) {
	return s.listGrants(ctx, principalID, false)
}

// RevokeAppRoleAssignment removes the grant id held by principalID. A grant
// that does not exist, or belongs to another principal, is KindNotFound.
func (s *Service) RevokeAppRoleAssignment(ctx context.Context, principalID, id string) error {
	return s.revokeGrant(ctx, principalID, id, false)
}

// RevokeAppRoleAssignedTo removes the grant id of an app role of the
// resource service principal resourceID (Graph's appRoleAssignedTo). A
// grant that does not exist, or is on another resource, is KindNotFound.
func (s *Service) RevokeAppRoleAssignedTo(ctx context.Context, resourceID, id string) error {
	return s.revokeGrant(ctx, resourceID, id, true)
}

// ListAppRoleAssignedTo lists the grants of the app roles of the resource
// service principal resourceID (by object id or appId).
func (s *Service) ListAppRoleAssignedTo(ctx context.Context, resourceID string) ([]store.AppRoleAssignment, error) {
	return s.listGrants(ctx, resourceID, true)
}

// listGrants lists the grants the service principal key (object id or
// appId) holds (onResource false) or that are on its app roles (true); a
// missing principal is KindNotFound.
func (s *Service) listGrants(ctx context.Context, key string, onResource bool) ([]store.AppRoleAssignment, error) {
	var out []store.AppRoleAssignment
	err := s.Store.InTx(ctx, func(tx store.Tx) error {
		sp, err := spByKey(ctx, tx, key)
		if err != nil {
			return err
		}
		list := tx.ListAppRoleAssignments
		if onResource {
			list = tx.ListAppRoleAssignmentsOnResource
		}
		out, err = list(ctx, sp.ID)
		return wrap("list app role assignments", key, err, "")
	})
	return out, err
}

// revokeGrant removes the grant id that the service principal key holds
// (onResource false) or that is on the resource key (true), and audits it.
func (s *Service) revokeGrant(ctx context.Context, key, id string, onResource bool) error {
	return s.Store.InTx(ctx, func(tx store.Tx) error {
		addressed, err := spByKey(ctx, tx, key)
		if err != nil {
			return err
		}
		list := tx.ListAppRoleAssignments
		if onResource {
			list = tx.ListAppRoleAssignmentsOnResource
		}
		as, err := list(ctx, addressed.ID)
		if err != nil {
			return wrap("revoke app role", key, err, "")
		}
		for _, a := range as {
			if !strings.EqualFold(a.ID, id) {
				continue
			}
			if err := tx.DeleteAppRoleAssignment(ctx, a.ID); err != nil {
				return wrap("revoke app role", id, err, "")
			}
			sp, res := addressed, addressed
			if onResource {
				sp, err = tx.GetServicePrincipal(ctx, a.PrincipalID)
			} else {
				res, err = tx.GetServicePrincipal(ctx, a.ResourceID)
			}
			if err != nil {
				return wrap("revoke app role", id, err, "")
			}
			name := ""
			if r, ok := builtinResource(res.AppID); ok {
				if perm, ok := r.PermissionByAppRoleID(a.AppRoleID); ok {
					name = perm.Name
				}
			}
			return s.audit(ctx, tx, appRoleChange(ActivityRemoveAppRoleAssignment, opUnassign, sp, res, a.AppRoleID, name))
		}
		return notFound(id, nil)
	})
}

// EnsureBuiltins makes sure the service principals of the built-in resource
// APIs exist: Microsoft Graph (appId authz.GraphAppID, "Microsoft Graph")
// and the Vigil API (authz.VigilAppID). It is idempotent and safe when
// several nodes run it at once: each principal is created in its own
// transaction, and losing the race (a conflict on the appId) counts as
// success. The built-in directory roles need nothing stored (see
// DirectoryRole).
func (s *Service) EnsureBuiltins(ctx context.Context) error {
	for _, r := range authz.Resources() {
		_, err := s.Store.GetServicePrincipalByAppID(ctx, r.AppID)
		if err == nil {
			continue
		}
		if !errors.Is(err, store.ErrNotFound) {
			return wrap("ensure builtins", r.AppID, err, "")
		}
		_, err = s.CreateServicePrincipal(ctx, r.AppID)
		if err != nil && !IsKind(err, KindConflict) {
			return err
		}
	}
	return nil
}

// appRoleChange is the audit record of granting the app role (id, value)
// of resource to the service principal sp, or revoking it: sp first, with
// the role as modified properties, then the resource.
func appRoleChange(activity, op string, sp, resource store.ServicePrincipal, appRoleID, value string) change {
	props := []prop{{name: "AppRole.Id", new: appRoleID}, {name: "AppRole.Value", new: value}}
	if op == opUnassign {
		props = removed(props)
	}
	return change{
		activity: activity, category: revocation.CategoryApplicationManagement, operation: op,
		targets: []revocation.AuditTarget{spTarget(sp, modified(props)), spTarget(resource, nil)},
	}
}
