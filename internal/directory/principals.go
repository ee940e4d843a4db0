package directory

import (
	"context"

	"github.com/vigil-idp/vigil/internal/store"
)

// CreateServicePrincipal creates the service principal of an application.
func (s *Service) CreateServicePrincipal(ctx context.Context, appID string) (store.ServicePrincipal, error) {
	return store.ServicePrincipal{}, errNotImplemented
}

// GetServicePrincipal returns a service principal by object id or appId.
func (s *Service) GetServicePrincipal(ctx context.Context, idOrAppID string) (store.ServicePrincipal, error) {
	return store.ServicePrincipal{}, errNotImplemented
}

// ListServicePrincipals pages service principals.
func (s *Service) ListServicePrincipals(ctx context.Context, q store.Query) (store.Page[store.ServicePrincipal], error) {
	return store.Page[store.ServicePrincipal]{}, errNotImplemented
}

// DeleteServicePrincipal deletes a service principal and its grants.
func (s *Service) DeleteServicePrincipal(ctx context.Context, idOrAppID string) error {
	return errNotImplemented
}

// GrantAppRole grants an app role (application permission) of a built-in
// resource service principal to a service principal.
func (s *Service) GrantAppRole(ctx context.Context, principalID, resourceID, appRoleID string) (store.AppRoleAssignment, error) {
	return store.AppRoleAssignment{}, errNotImplemented
}

// GrantAppPermission grants a permission by name.
func (s *Service) GrantAppPermission(ctx context.Context, principalID, resourceAppID, permissionName string) (store.AppRoleAssignment, error) {
	return store.AppRoleAssignment{}, errNotImplemented
}

// ListAppRoleAssignments lists a principal's grants.
func (s *Service) ListAppRoleAssignments(ctx context.Context, principalID string) ([]store.AppRoleAssignment, error) {
	return nil, errNotImplemented
}

// RevokeAppRoleAssignment removes a grant of a principal.
func (s *Service) RevokeAppRoleAssignment(ctx context.Context, principalID, id string) error {
	return errNotImplemented
}

// EnsureBuiltins creates the built-in resource service principals.
func (s *Service) EnsureBuiltins(ctx context.Context) error {
	return errNotImplemented
}
