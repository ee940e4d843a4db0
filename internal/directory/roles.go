package directory

import (
	"context"
	"slices"
	"strings"

	"github.com/google/uuid"

	"github.com/vigil-idp/vigil/internal/odata"
	"github.com/vigil-idp/vigil/internal/revocation"
	"github.com/vigil-idp/vigil/internal/store"
)

// RoleDefinition is a built-in Entra directory role (Graph
// unifiedRoleDefinition,
// https://learn.microsoft.com/en-us/graph/api/resources/unifiedroledefinition).
// For built-in roles ID equals TemplateID, as in Entra.
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

// Catalogue indexes, built once from builtinRoles.
var (
	rolesByID   = map[string]int{} // lower-cased template id → index
	rolesByName = map[string]int{} // lower-cased display name → index
)

func init() {
	for i, r := range builtinRoles {
		id, name := strings.ToLower(r.TemplateID), strings.ToLower(r.DisplayName)
		if _, dup := rolesByID[id]; dup || !odata.IsGUID(id) {
			panic("directory: bad or duplicate role template id " + r.TemplateID)
		}
		if _, dup := rolesByName[name]; dup {
			panic("directory: duplicate role name " + r.DisplayName)
		}
		rolesByID[id], rolesByName[name] = i, i
	}
}

func roleAt(i int) RoleDefinition {
	r := builtinRoles[i]
	r.ID = r.TemplateID
	r.IsBuiltIn, r.IsEnabled = true, true
	r.AllowedResourceActions = slices.Clone(r.AllowedResourceActions)
	return r
}

// RoleDefinitions returns a copy of the built-in role catalogue in a fixed
// order. Vigil has no custom roles.
func RoleDefinitions() []RoleDefinition {
	out := make([]RoleDefinition, len(builtinRoles))
	for i := range builtinRoles {
		out[i] = roleAt(i)
	}
	return out
}

// RoleDefinitionByID finds a built-in role by its id (= template id),
// case-insensitively.
func RoleDefinitionByID(id string) (RoleDefinition, bool) {
	i, ok := rolesByID[strings.ToLower(id)]
	if !ok {
		return RoleDefinition{}, false
	}
	return roleAt(i), true
}

// RoleDefinitionByName finds a built-in role by display name,
// case-insensitively.
func RoleDefinitionByName(name string) (RoleDefinition, bool) {
	i, ok := rolesByName[strings.ToLower(name)]
	if !ok {
		return RoleDefinition{}, false
	}
	return roleAt(i), true
}

// TenantScope is the only directory scope Vigil supports: the whole tenant.
const TenantScope = "/"

// CreateRoleAssignment assigns a built-in directory role to a principal at
// the tenant scope (Graph POST /roleManagement/directory/roleAssignments,
// https://learn.microsoft.com/en-us/graph/api/rbacapplication-post-roleassignments).
// Rules, all KindInvalid unless noted:
//   - directoryScopeID must be "/" (administrative units and app scopes are
//     not supported);
//   - roleDefinitionID must name a built-in role;
//   - the principal must be a user, a service principal, or a group created
//     with isAssignableToRole (Entra: only role-assignable groups can be
//     assigned roles); a missing principal is KindNotFound;
//   - the same principal, role and scope again is KindConflict.
//
// The principal check and the insert run in one transaction. The stored
// RoleDefinitionID is the catalogue's canonical (lower-case) template id.
func (s *Service) CreateRoleAssignment(ctx context.Context, principalID, roleDefinitionID, directoryScopeID string) (store.RoleAssignment, error) {
	if directoryScopeID != TenantScope {
		return store.RoleAssignment{}, invalidProp("directoryScopeId", "UnifiedRoleAssignment", "Vigil supports only the tenant-wide scope '/'")
	}
	role, ok := RoleDefinitionByID(roleDefinitionID)
	if !ok {
		return store.RoleAssignment{}, invalidProp("roleDefinitionId", "UnifiedRoleAssignment", "'"+roleDefinitionID+"' is not the id of a built-in directory role")
	}
	a := store.RoleAssignment{
		ID:               s.newID(),
		RoleDefinitionID: role.TemplateID,
		DirectoryScopeID: TenantScope,
		CreatedDateTime:  s.now(),
	}
	err := s.Store.InTx(ctx, func(tx store.Tx) error {
		p, err := objectByID(ctx, tx, principalID)
		if err != nil {
			return err
		}
		if p.Kind == store.KindGroup && !p.Group.IsAssignableToRole {
			return invalidProp("principalId", "UnifiedRoleAssignment", "group '"+p.Group.ID+"' is not role-assignable; only groups created with isAssignableToRole set to true can be assigned directory roles")
		}
		a.PrincipalID, a.PrincipalKind = p.ID(), p.Kind
		w, err := s.watchRoleHolders(ctx, tx, p)
		if err != nil {
			return err
		}
		if err := tx.CreateRoleAssignment(ctx, a); err != nil {
			return wrap("create role assignment", principalID, err, msgConflictingValue)
		}
		return s.auditClaims(ctx, tx, roleChange(ActivityAddRoleMember, opAdd, role, p), w)
	})
	if err != nil {
		return store.RoleAssignment{}, err
	}
	return a, nil
}

// GetRoleAssignment returns one role assignment, or KindNotFound.
func (s *Service) GetRoleAssignment(ctx context.Context, id string) (store.RoleAssignment, error) {
	a, err := s.Store.GetRoleAssignment(ctx, id)
	return a, wrap("get role assignment", id, err, "")
}

// DeleteRoleAssignment removes one role assignment, or returns
// KindNotFound.
func (s *Service) DeleteRoleAssignment(ctx context.Context, id string) error {
	return s.Store.InTx(ctx, func(tx store.Tx) error {
		a, err := tx.GetRoleAssignment(ctx, id)
		if err != nil {
			return wrap("delete role assignment", id, err, "")
		}
		p, err := objectByID(ctx, tx, a.PrincipalID)
		if err != nil {
			return err
		}
		w, err := s.watchRoleHolders(ctx, tx, p)
		if err != nil {
			return err
		}
		if err := tx.DeleteRoleAssignment(ctx, a.ID); err != nil {
			return wrap("delete role assignment", id, err, "")
		}
		role, _ := RoleDefinitionByID(a.RoleDefinitionID)
		role.TemplateID = a.RoleDefinitionID
		return s.auditClaims(ctx, tx, roleChange(ActivityRemoveRoleMember, opDelete, role, p), w)
	})
}

// roleChange is the audit record of assigning role to p or removing the
// assignment: Entra names the principal first, with the role's name and
// template id as modified properties, then the role.
func roleChange(activity, op string, role RoleDefinition, p store.DirectoryObject) change {
	props := []prop{{name: "Role.DisplayName", new: role.DisplayName}, {name: "Role.TemplateId", new: role.TemplateID}}
	if op == opDelete {
		props = removed(props)
	}
	return change{
		activity: activity, category: revocation.CategoryRoleManagement, operation: op,
		targets: []revocation.AuditTarget{
			objectTarget(p, modified(props)),
			{ID: role.TemplateID, DisplayName: role.DisplayName, Type: revocation.TargetRole},
		},
	}
}

// ListRoleAssignments lists assignments, optionally only those of one
// principal and/or one role definition ("" means any). A role definition id
// is matched case-insensitively.
func (s *Service) ListRoleAssignments(ctx context.Context, principalID, roleDefinitionID string) ([]store.RoleAssignment, error) {
	if r, ok := RoleDefinitionByID(roleDefinitionID); ok {
		roleDefinitionID = r.TemplateID
	}
	as, err := s.Store.ListRoleAssignments(ctx, principalID, roleDefinitionID)
	return as, wrap("list role assignments", principalID, err, "")
}

// DirectoryRole is an activated directory role (Graph directoryRole,
// https://learn.microsoft.com/en-us/graph/api/resources/directoryrole).
//
// Vigil's rule: every built-in role is activated, always; nothing is
// stored. Its ID is stable and differs from its template id, as in Entra:
// a name-based (version 5) UUID of the role template id under a fixed Vigil
// namespace, mixed with Service.TenantID when set. Clients can address a
// role by either id.
type DirectoryRole struct {
	ID             string
	RoleTemplateID string
	DisplayName    string
	Description    string
}

// directoryRoleNS is the UUID namespace of directoryRole ids (a random
// UUID Vigil chose; it never changes).
var directoryRoleNS = uuid.MustParse("3f0d6c52-8a1e-4b7e-9d7a-2c5e4f1b9a60")

func (s *Service) directoryRole(r RoleDefinition) DirectoryRole {
	return DirectoryRole{
		ID:             uuid.NewSHA1(directoryRoleNS, []byte(s.TenantID+"/"+r.TemplateID)).String(),
		RoleTemplateID: r.TemplateID,
		DisplayName:    r.DisplayName,
		Description:    r.Description,
	}
}

// ListDirectoryRoles lists the activated directory roles: every built-in
// role, in catalogue order. Graph does not page /directoryRoles.
func (s *Service) ListDirectoryRoles(ctx context.Context) ([]DirectoryRole, error) {
	out := make([]DirectoryRole, len(builtinRoles))
	for i := range builtinRoles {
		out[i] = s.directoryRole(roleAt(i))
	}
	return out, nil
}

// GetDirectoryRole returns an activated role by its directoryRole id or by
// its role template id (Graph's /directoryRoles(roleTemplateId='…') form;
// the caller strips the syntax). An unknown id is KindNotFound.
func (s *Service) GetDirectoryRole(ctx context.Context, idOrTemplateID string) (DirectoryRole, error) {
	if r, ok := RoleDefinitionByID(idOrTemplateID); ok {
		return s.directoryRole(r), nil
	}
	for i := range builtinRoles {
		if d := s.directoryRole(roleAt(i)); strings.EqualFold(d.ID, idOrTemplateID) {
			return d, nil
		}
	}
	return DirectoryRole{}, notFound(idOrTemplateID, nil)
}

// ListDirectoryRoleMembers lists the principals directly assigned a role at
// the tenant scope: users, service principals and role-assignable groups
// (members of those groups are not expanded, as in Graph). roleID is a
// directoryRole id or a template id.
func (s *Service) ListDirectoryRoleMembers(ctx context.Context, roleID string) ([]store.DirectoryObject, error) {
	role, err := s.GetDirectoryRole(ctx, roleID)
	if err != nil {
		return nil, err
	}
	var out []store.DirectoryObject
	err = s.Store.InTx(ctx, func(tx store.Tx) error {
		out = out[:0]
		as, err := tx.ListRoleAssignments(ctx, "", role.RoleTemplateID)
		if err != nil {
			return wrap("list role members", roleID, err, "")
		}
		for _, a := range as {
			if a.DirectoryScopeID != TenantScope {
				continue
			}
			o, err := objectByID(ctx, tx, a.PrincipalID)
			if IsKind(err, KindNotFound) {
				continue // deleted concurrently; the store cascades
			}
			if err != nil {
				return err
			}
			out = append(out, o)
		}
		return nil
	})
	return out, err
}

// EffectiveRoles returns the distinct role template ids a user holds,
// directly or as a direct member of role-assignable groups (which cannot
// nest, see AddMember), sorted. This is the wids claim. An unknown user has
// none.
func (s *Service) EffectiveRoles(ctx context.Context, userID string) ([]string, error) {
	ids, err := s.Store.EffectiveRoleIDs(ctx, userID)
	if err != nil {
		return nil, wrap("effective roles", userID, err, "")
	}
	slices.Sort(ids)
	return slices.Compact(ids), nil
}

// memberOfRoles returns the activated roles obj holds directly or, when
// transitive, also through the role-assignable groups it is in.
func (s *Service) memberOfRoles(ctx context.Context, obj store.DirectoryObject, transitive bool) ([]DirectoryRole, error) {
	var ids []string
	switch {
	case transitive && obj.Kind == store.KindUser:
		var err error
		if ids, err = s.Store.EffectiveRoleIDs(ctx, obj.ID()); err != nil {
			return nil, wrap("memberOf roles", obj.ID(), err, "")
		}
	default:
		holders := []string{obj.ID()}
		if transitive {
			groups, err := s.roleAssignableGroupsOf(ctx, obj.ID())
			if err != nil {
				return nil, err
			}
			holders = append(holders, groups...)
		}
		for _, h := range holders {
			as, err := s.Store.ListRoleAssignments(ctx, h, "")
			if err != nil {
				return nil, wrap("memberOf roles", h, err, "")
			}
			for _, a := range as {
				ids = append(ids, a.RoleDefinitionID)
			}
		}
	}
	slices.Sort(ids)
	ids = slices.Compact(ids)
	out := make([]DirectoryRole, 0, len(ids))
	for _, id := range ids {
		if r, ok := RoleDefinitionByID(id); ok {
			out = append(out, s.directoryRole(r))
		}
	}
	return out, nil
}

// roleAssignableGroupsOf returns the ids of the role-assignable groups
// memberID is directly in (they cannot contain groups, so direct is all).
func (s *Service) roleAssignableGroupsOf(ctx context.Context, memberID string) ([]string, error) {
	var out []string
	q := store.Query{Top: 500}
	for {
		p, err := s.Store.ListMemberOf(ctx, memberID, false, q)
		if err != nil {
			return nil, listErr("list memberOf", err)
		}
		for _, g := range p.Items {
			if g.IsAssignableToRole {
				out = append(out, g.ID)
			}
		}
		if p.Next == "" {
			return out, nil
		}
		q.Cursor = p.Next
	}
}
