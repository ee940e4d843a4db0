// Package directory owns the business rules of Vigil's directory: users,
// groups and memberships, directory roles and their assignments,
// applications, client secrets, service principals and app role grants. It
// validates input the way Microsoft Graph / Entra ID do, keeps every
// multi-row change in one store transaction, and reports rule violations as
// *Error values carrying Graph's error code and wording. It knows nothing of
// HTTP or JSON (internal/graph renders its errors) and never logs or returns
// passwords or client secrets.
//
// # API
//
// Build a Service as a struct literal:
//
//	svc := &directory.Service{Store: st, Secrets: secret.NewHasher(key)}
//
// Errors: every rule violation is a *Error{Kind, Code, Message, Err}. Kind is
// one of KindInvalid, KindNotFound, KindConflict, KindForbidden; Code and
// Message are what Graph sends (Request_BadRequest, Request_ResourceNotFound
// with "Resource '<id>' does not exist or one of its queried
// reference-property objects are not present.", …); Err is the private
// cause. Error.HTTPStatus gives Graph's status for the kind (conflicts are
// 400 in Graph's directory, not 409). Any other error is an internal failure.
//
// PATCH semantics: input structs use Optional[T] (Set, Null, Value): absent,
// explicit null, or a value. Some(v) and Null[T]() build them.
//
// Users: CreateUser, GetUser (id or userPrincipalName), UpdateUser,
// DeleteUser, ListUsers, CountUsers.
// Groups: CreateGroup, GetGroup, UpdateGroup, DeleteGroup, ListGroups,
// CountGroups; AddMember, RemoveMember, ListMembers, CountMembers,
// ListMemberOf (groups and directory roles, as MemberOfObject).
// Roles: RoleDefinitions, RoleDefinitionByID, RoleDefinitionByName (the
// built-in catalogue); CreateRoleAssignment, GetRoleAssignment,
// DeleteRoleAssignment, ListRoleAssignments; ListDirectoryRoles,
// GetDirectoryRole, ListDirectoryRoleMembers; EffectiveRoles (template ids
// for the wids claim).
// Applications: CreateApplication, GetApplication, UpdateApplication,
// DeleteApplication, ListApplications; AddPassword, RemovePassword,
// ListPasswords; CreateServicePrincipal, GetServicePrincipal,
// ListServicePrincipals, DeleteServicePrincipal; GrantAppRole,
// GrantAppPermission, ListAppRoleAssignments, RevokeAppRoleAssignment;
// EnsureBuiltins.
//
// Deviations from the agreed API (/tmp/directory-api.md), all additive:
// ListMemberOf returns store.Page[MemberOfObject] (a group or a
// DirectoryRole) because store.DirectoryObject cannot hold a role;
// Error.HTTPStatus, IsKind, Some, Null, ListPasswords and Service.TenantID
// are extra.
package directory
