package directory

import (
	"context"

	"github.com/vigil-idp/vigil/internal/store"
)

// RoleDefinition is a built-in Entra directory role (Graph
// "unifiedRoleDefinition"). ID equals TemplateID for built-in roles, as in
// Entra.
type RoleDefinition struct {
	ID                     string
	TemplateID             string
	DisplayName            string
	Description            string
	IsBuiltIn              bool
	IsEnabled              bool
	IsPrivileged           bool
	AllowedResourceActions []string
}

// RoleDefinitions returns the built-in role catalogue.
func RoleDefinitions() []RoleDefinition { return nil }

// RoleDefinitionByID finds a built-in role by its id (template id).
func RoleDefinitionByID(id string) (RoleDefinition, bool) { return RoleDefinition{}, false }

// RoleDefinitionByName finds a built-in role by display name.
func RoleDefinitionByName(name string) (RoleDefinition, bool) { return RoleDefinition{}, false }

// CreateRoleAssignment assigns a directory role to a principal.
func (s *Service) CreateRoleAssignment(ctx context.Context, principalID, roleDefinitionID, directoryScopeID string) (store.RoleAssignment, error) {
	return store.RoleAssignment{}, errNotImplemented
}

// GetRoleAssignment returns one role assignment.
func (s *Service) GetRoleAssignment(ctx context.Context, id string) (store.RoleAssignment, error) {
	return store.RoleAssignment{}, errNotImplemented
}

// DeleteRoleAssignment removes one role assignment.
func (s *Service) DeleteRoleAssignment(ctx context.Context, id string) error {
	return errNotImplemented
}

// ListRoleAssignments lists assignments, optionally of one principal and/or
// one role definition ("" means any).
func (s *Service) ListRoleAssignments(ctx context.Context, principalID, roleDefinitionID string) ([]store.RoleAssignment, error) {
	return nil, errNotImplemented
}

// DirectoryRole is an activated directory role (Graph "directoryRole").
type DirectoryRole struct {
	ID             string
	RoleTemplateID string
	DisplayName    string
	Description    string
}

// ListDirectoryRoles lists the activated directory roles.
func (s *Service) ListDirectoryRoles(ctx context.Context) ([]DirectoryRole, error) {
	return nil, errNotImplemented
}

// GetDirectoryRole returns an activated role by its id or template id.
func (s *Service) GetDirectoryRole(ctx context.Context, idOrTemplateID string) (DirectoryRole, error) {
	return DirectoryRole{}, errNotImplemented
}

// ListDirectoryRoleMembers lists the principals directly assigned a role.
func (s *Service) ListDirectoryRoleMembers(ctx context.Context, roleID string) ([]store.DirectoryObject, error) {
	return nil, errNotImplemented
}

// EffectiveRoles returns the role template ids a user holds, directly or
// through role-assignable groups.
func (s *Service) EffectiveRoles(ctx context.Context, userID string) ([]string, error) {
	return nil, errNotImplemented
}
