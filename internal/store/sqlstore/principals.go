package sqlstore

import (
	"context"

	"github.com/vigil-idp/vigil/internal/store"
)

var servicePrincipals = (&entity[store.ServicePrincipal]{
	name:  "service principal",
	table: "service_principals",
	alias: "sp",
	cols:  []string{"id", "app_id", "display_name", "display_name_lower", "created_at"},
	sel:   "sp.id, sp.app_id, sp.display_name, sp.created_at",
	scan: func(sc scanner, extra ...any) (store.ServicePrincipal, error) {
		var p store.ServicePrincipal
		err := sc.Scan(append([]any{&p.ID, &p.AppID, &p.DisplayName, timeDest{&p.CreatedDateTime}}, extra...)...)
		return p, err
	},
	values: func(t *txn, p store.ServicePrincipal) []any {
		if p.CreatedDateTime.IsZero() {
			p.CreatedDateTime = t.s.now()
		}
		return []any{p.ID, p.AppID, p.DisplayName, fold(p.DisplayName), t.s.d.timeVal(p.CreatedDateTime)}
	},
	id: func(p store.ServicePrincipal) string { return p.ID },
	props: props(map[string]column{
		"id":              idCol("sp.id"),
		"appId":           idCol("sp.app_id"),
		"displayName":     strCol("sp.display_name_lower"),
		"createdDateTime": timeCol("sp.created_at"),
	}),
}).init()

var appRoleAssignments = (&entity[store.AppRoleAssignment]{
	name:  "app role assignment",
	table: "app_role_assignments",
	alias: "ara",
	cols:  []string{"id", "principal_id", "resource_id", "app_role_id", "created_at"},
	sel:   "ara.id, ara.principal_id, ara.resource_id, ara.app_role_id, ara.created_at",
	scan: func(sc scanner, extra ...any) (store.AppRoleAssignment, error) {
		var a store.AppRoleAssignment
		err := sc.Scan(append([]any{&a.ID, &a.PrincipalID, &a.ResourceID, &a.AppRoleID, timeDest{&a.CreatedDateTime}}, extra...)...)
		return a, err
	},
	values: func(t *txn, a store.AppRoleAssignment) []any {
		if a.CreatedDateTime.IsZero() {
			a.CreatedDateTime = t.s.now()
		}
		return []any{a.ID, a.PrincipalID, a.ResourceID, a.AppRoleID, t.s.d.timeVal(a.CreatedDateTime)}
	},
	id: func(a store.AppRoleAssignment) string { return a.ID },
}).init()

// CreateServicePrincipal inserts p. A zero CreatedDateTime is set to the
// store's clock. ErrConflict when the id is taken or the appId already has
// a principal.
func (t *txn) CreateServicePrincipal(ctx context.Context, p store.ServicePrincipal) error {
	defer t.lookupsChanged()
	return servicePrincipals.create(ctx, t, p)
}

// GetServicePrincipal returns one by object id, or ErrNotFound.
func (t *txn) GetServicePrincipal(ctx context.Context, id string) (store.ServicePrincipal, error) {
	return t.cachedServicePrincipal(ctx, id, false)
}

func (t *txn) getServicePrincipal(ctx context.Context, id string) (store.ServicePrincipal, error) {
	return servicePrincipals.get(ctx, t.rq(), "sp.id = $1", id)
}

// GetServicePrincipalByAppID returns one by appId, or ErrNotFound.
func (t *txn) GetServicePrincipalByAppID(ctx context.Context, appID string) (store.ServicePrincipal, error) {
	return t.cachedServicePrincipal(ctx, appID, true)
}

func (t *txn) getServicePrincipalByAppID(ctx context.Context, appID string) (store.ServicePrincipal, error) {
	return servicePrincipals.get(ctx, t.rq(), "sp.app_id = $1", appID)
}

// ListServicePrincipals answers one page of service principals matching q.
func (t *txn) ListServicePrincipals(ctx context.Context, q store.Query) (store.Page[store.ServicePrincipal], error) {
	return servicePrincipals.list(ctx, t, nil, q)
}

// DeleteServicePrincipal removes one; its app role assignments (held and
// granted), memberships and role assignments go with it (ON DELETE
// CASCADE). ErrNotFound if absent.
func (t *txn) DeleteServicePrincipal(ctx context.Context, id string) error {
	defer t.lookupsChanged()
	return servicePrincipals.delete(ctx, t, id)
}

// CreateAppRoleAssignment inserts a grant. A zero CreatedDateTime is set to
// the store's clock. ErrConflict when the principal already holds this app
// role of this resource (or the id is taken); ErrNotFound when the principal
// or the resource does not exist.
func (t *txn) CreateAppRoleAssignment(ctx context.Context, a store.AppRoleAssignment) error {
	defer t.lookupsChanged()
	return appRoleAssignments.create(ctx, t, a)
}

// DeleteAppRoleAssignment removes one, or returns ErrNotFound.
func (t *txn) DeleteAppRoleAssignment(ctx context.Context, id string) error {
	defer t.lookupsChanged()
	return appRoleAssignments.delete(ctx, t, id)
}

// ListAppRoleAssignments lists the grants held by a principal, by id.
func (t *txn) ListAppRoleAssignments(ctx context.Context, principalID string) ([]store.AppRoleAssignment, error) {
	return appRoleAssignments.all(ctx, t.rq(), "WHERE ara.principal_id = $1 ORDER BY ara.id", principalID)
}

// ListAppRoleAssignmentsOnResource lists, by id, the grants on the
// resource service principal resourceID.
func (t *txn) ListAppRoleAssignmentsOnResource(ctx context.Context, resourceID string) ([]store.AppRoleAssignment, error) {
	return appRoleAssignments.all(ctx, t.rq(), "WHERE ara.resource_id = $1 ORDER BY ara.id", resourceID)
}

// AppRoleIDsOnResource returns, sorted, the app role ids principalID holds
// on the resource with service principal appId resourceAppID.
func (t *txn) AppRoleIDsOnResource(ctx context.Context, principalID, resourceAppID string) ([]string, error) {
	return t.cachedAppRoles(ctx, principalID, resourceAppID)
}

func (t *txn) appRoleIDs(ctx context.Context, principalID, resourceAppID string) ([]string, error) {
	const q = `SELECT ara.app_role_id FROM app_role_assignments ara
		JOIN service_principals rs ON rs.id = ara.resource_id
		WHERE ara.principal_id = $1 AND rs.app_id = $2
		ORDER BY ara.app_role_id`
	return t.strings(ctx, "app roles on resource", q, principalID, resourceAppID)
}
