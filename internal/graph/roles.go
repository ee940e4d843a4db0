package graph

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/vigil-idp/vigil/internal/directory"
	"github.com/vigil-idp/vigil/internal/odata"
	"github.com/vigil-idp/vigil/internal/store"
)

// RoleDirectory is what the role management and directory role endpoints
// need from the directory. Role definitions come from the built-in
// catalogue (directory.RoleDefinitions).
type RoleDirectory interface {
	CreateRoleAssignment(ctx context.Context, principalID, roleDefinitionID, directoryScopeID string) (store.RoleAssignment, error)
	GetRoleAssignment(ctx context.Context, id string) (store.RoleAssignment, error)
	DeleteRoleAssignment(ctx context.Context, id string) error
	ListRoleAssignments(ctx context.Context, principalID, roleDefinitionID string) ([]store.RoleAssignment, error)
	ListDirectoryRoles(ctx context.Context) ([]directory.DirectoryRole, error)
	GetDirectoryRole(ctx context.Context, idOrTemplateID string) (directory.DirectoryRole, error)
	ListDirectoryRoleMembers(ctx context.Context, roleID string) ([]store.DirectoryObject, error)
	// EffectiveRoles returns the role template ids a user holds, directly
	// or through role-assignable groups. The guards read it for the target
	// of a write; a caller's own roles come from its token (wids).
	EffectiveRoles(ctx context.Context, userID string) ([]string, error)
}

// @odata.context fragments of the RBAC collections.
const (
	setRoleDefinitions = "roleManagement/directory/roleDefinitions"
	setRoleAssignments = "roleManagement/directory/roleAssignments"
	setDirectoryRoles  = "directoryRoles"
)

// roleDefinitionObject renders a unifiedRoleDefinition (reference §2.6).
func roleDefinitionObject(d directory.RoleDefinition) object {
	return object{
		{"id", d.ID},
		{"description", d.Description},
		{"displayName", d.DisplayName},
		{"isBuiltIn", d.IsBuiltIn},
		{"isEnabled", d.IsEnabled},
		{"isPrivileged", d.IsPrivileged},
		{"resourceScopes", []string{"/"}},
		{"templateId", d.TemplateID},
		{"version", "1"},
		{"rolePermissions", []object{{
			{"allowedResourceActions", emptyIfNil(d.AllowedResourceActions)},
			{"condition", nil},
		}}},
	}
}

var roleDefinitionDefaults = []string{
	"id", "description", "displayName", "isBuiltIn", "isEnabled", "isPrivileged",
	"resourceScopes", "templateId", "version", "rolePermissions",
}

var roleDefinitionsSchema = odata.Schema{Name: "microsoft.graph.unifiedRoleDefinition", Props: map[string]odata.Prop{
	"id":              {Type: odata.TypeGUID, Ops: odata.AllowEq},
	"templateId":      {Type: odata.TypeGUID, Ops: odata.AllowEq},
	"displayName":     {Type: odata.TypeString, Ops: odata.AllowEq},
	"isBuiltIn":       {Type: odata.TypeBool, Ops: odata.AllowEq},
	"description":     selectOnly(odata.TypeString),
	"isEnabled":       selectOnly(odata.TypeBool),
	"isPrivileged":    selectOnly(odata.TypeBool),
	"resourceScopes":  selectOnly(odata.TypeStringCollection),
	"version":         selectOnly(odata.TypeString),
	"rolePermissions": selectOnly(odata.TypeComplex),
}}

// roleAssignmentObject renders a unifiedRoleAssignment (reference §2.6).
func roleAssignmentObject(ra store.RoleAssignment) object {
	return object{
		{"id", ra.ID},
		{"directoryScopeId", ra.DirectoryScopeID},
		{"principalId", ra.PrincipalID},
		{"roleDefinitionId", ra.RoleDefinitionID},
	}
}

var roleAssignmentDefaults = []string{"id", "directoryScopeId", "principalId", "roleDefinitionId"}

var roleAssignmentsSchema = odata.Schema{Name: "microsoft.graph.unifiedRoleAssignment", Props: map[string]odata.Prop{
	"id":               selectOnly(odata.TypeString),
	"directoryScopeId": selectOnly(odata.TypeString),
	"principalId":      {Type: odata.TypeGUID, Ops: odata.AllowEq},
	"roleDefinitionId": {Type: odata.TypeGUID, Ops: odata.AllowEq},
}}

// directoryRoleObject renders an activated directoryRole (reference §2.6).
func directoryRoleObject(d directory.DirectoryRole) object {
	return object{
		{"id", d.ID},
		{"deletedDateTime", nil},
		{"description", d.Description},
		{"displayName", d.DisplayName},
		{"roleTemplateId", d.RoleTemplateID},
	}
}

var directoryRoleDefaults = []string{"id", "deletedDateTime", "description", "displayName", "roleTemplateId"}

// eqFilter reads a $filter that may only be `prop eq value` comparisons
// joined by `and`, checked against s: the small filters role collections
// support. It returns the values by property, in the schema's spelling.
func eqFilter(o options, s odata.Schema) (map[string]any, error) {
	v, ok := o.values["$filter"]
	if !ok {
		return nil, nil
	}
	e, err := odata.ParseFilter(v)
	if err != nil {
		return nil, err
	}
	if _, err := s.CheckFilter(e); err != nil {
		return nil, err
	}
	out := make(map[string]any)
	var walk func(odata.Expr) error
	walk = func(e odata.Expr) error {
		switch e := e.(type) {
		case *odata.And:
			if err := walk(e.Left); err != nil {
				return err
			}
			return walk(e.Right)
		case *odata.Compare:
			if e.Op == odata.OpEq {
				out[e.Prop] = e.Value.Value
				return nil
			}
		}
		return &odata.Error{Option: "$filter", Pos: e.Pos(), Err: odata.ErrUnsupported,
			Msg: "only 'property eq value' comparisons joined by 'and' are supported on this collection"}
	}
	return out, walk(e)
}

// matches reports whether every filter value equals the rendered property
// (strings compared case-insensitively, as the directory does).
func matches(o object, filter map[string]any) bool {
	for name, want := range filter {
		got, _ := o.get(name)
		if ws, ok := want.(string); ok {
			if gs, ok := got.(string); !ok || !strings.EqualFold(gs, ws) {
				return false
			}
			continue
		}
		if got != want {
			return false
		}
	}
	return true
}

// writeList sends an unpaged collection (Graph does not page role
// collections: reference §2.6).
func (a *API) writeList(w http.ResponseWriter, set string, sel []string, items []object) {
	if items == nil {
		items = []object{}
	}
	a.writeJSON(w, http.StatusOK, collection{Context: a.contextURL(set, sel), Value: items})
}

// listRoleDefinitions is GET /roleManagement/directory/roleDefinitions
// (https://learn.microsoft.com/en-us/graph/api/rbacapplication-list-roledefinitions),
// with $filter on id, templateId, displayName and isBuiltIn (eq).
func (a *API) listRoleDefinitions(w http.ResponseWriter, r *http.Request) error {
	o, err := parseOptions(r, "$filter", "$select")
	if err != nil {
		return err
	}
	filter, err := eqFilter(o, roleDefinitionsSchema)
	if err != nil {
		return err
	}
	sel, err := o.selection(roleDefinitionsSchema)
	if err != nil {
		return err
	}
	var items []object
	for _, d := range directory.RoleDefinitions() {
		if ro := roleDefinitionObject(d); matches(ro, filter) {
			items = append(items, project(ro, roleDefinitionDefaults, sel))
		}
	}
	a.writeList(w, setRoleDefinitions, sel, items)
	return nil
}

// getRoleDefinition is GET /roleManagement/directory/roleDefinitions/{id}.
func (a *API) getRoleDefinition(w http.ResponseWriter, r *http.Request) error {
	sel, err := entityOptions(r, roleDefinitionsSchema)
	if err != nil {
		return err
	}
	d, ok := directory.RoleDefinitionByID(r.PathValue("id"))
	if !ok {
		return notFound(r.PathValue("id"))
	}
	a.writeEntity(w, http.StatusOK, a.entityContextURL(setRoleDefinitions, sel), project(roleDefinitionObject(d), roleDefinitionDefaults, sel))
	return nil
}

// listRoleAssignments is GET /roleManagement/directory/roleAssignments
// with an optional $filter on principalId and roleDefinitionId (eq)
// (https://learn.microsoft.com/en-us/graph/api/rbacapplication-list-roleassignments).
func (a *API) listRoleAssignments(w http.ResponseWriter, r *http.Request) error {
	o, err := parseOptions(r, "$filter", "$select")
	if err != nil {
		return err
	}
	filter, err := eqFilter(o, roleAssignmentsSchema)
	if err != nil {
		return err
	}
	sel, err := o.selection(roleAssignmentsSchema)
	if err != nil {
		return err
	}
	principal, _ := filter["principalId"].(string)
	role, _ := filter["roleDefinitionId"].(string)
	list, err := a.Directory.ListRoleAssignments(r.Context(), principal, role)
	if err != nil {
		return err
	}
	items := make([]object, 0, len(list))
	for _, ra := range list {
		items = append(items, project(roleAssignmentObject(ra), roleAssignmentDefaults, sel))
	}
	a.writeList(w, setRoleAssignments, sel, items)
	return nil
}

// roleAssignmentInput is the body of POST roleAssignments.
type roleAssignmentInput struct {
	principalID, roleDefinitionID, directoryScopeID directory.Optional[string]
}

func roleAssignmentBody(in *roleAssignmentInput) bodyType {
	return bodyType{
		name: "microsoft.graph.unifiedRoleAssignment",
		fields: map[string]field{
			"principalId":      optString(&in.principalID),
			"roleDefinitionId": optString(&in.roleDefinitionID),
			"directoryScopeId": optString(&in.directoryScopeID),
		},
		readOnly:    []string{"id"},
		unsupported: []string{"appScopeId", "condition"},
	}
}

// createRoleAssignment is POST /roleManagement/directory/roleAssignments
// (https://learn.microsoft.com/en-us/graph/api/rbacapplication-post-roleassignments).
func (a *API) createRoleAssignment(w http.ResponseWriter, r *http.Request) error {
	var in roleAssignmentInput
	if err := noOptions(r); err != nil {
		return err
	}
	if err := a.readJSON(r, roleAssignmentBody(&in)); err != nil {
		return err
	}
	if err := requiredStrings([]string{"principalId", "roleDefinitionId", "directoryScopeId"},
		in.principalID, in.roleDefinitionID, in.directoryScopeID); err != nil {
		return err
	}
	ra, err := a.Directory.CreateRoleAssignment(r.Context(), in.principalID.Value, in.roleDefinitionID.Value, in.directoryScopeID.Value)
	if err != nil {
		return err
	}
	a.writeCreated(w, "/"+setRoleAssignments+"/"+ra.ID, a.entityContextURL(setRoleAssignments, nil), roleAssignmentObject(ra))
	return nil
}

// getRoleAssignment is GET /roleManagement/directory/roleAssignments/{id}.
func (a *API) getRoleAssignment(w http.ResponseWriter, r *http.Request) error {
	sel, err := entityOptions(r, roleAssignmentsSchema)
	if err != nil {
		return err
	}
	ra, err := a.Directory.GetRoleAssignment(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	a.writeEntity(w, http.StatusOK, a.entityContextURL(setRoleAssignments, sel), project(roleAssignmentObject(ra), roleAssignmentDefaults, sel))
	return nil
}

// deleteRoleAssignment is DELETE /roleManagement/directory/roleAssignments/{id}.
func (a *API) deleteRoleAssignment(w http.ResponseWriter, r *http.Request) error {
	return deleteEntity(w, r, a.Directory.DeleteRoleAssignment)
}

// listDirectoryRoles is GET /directoryRoles: the activated roles, unpaged
// (https://learn.microsoft.com/en-us/graph/api/directoryrole-list).
func (a *API) listDirectoryRoles(w http.ResponseWriter, r *http.Request) error {
	o, err := parseOptions(r, "$select")
	if err != nil {
		return err
	}
	sel, err := o.selection(directoryRoleSchema)
	if err != nil {
		return err
	}
	roles, err := a.Directory.ListDirectoryRoles(r.Context())
	if err != nil {
		return err
	}
	items := make([]object, 0, len(roles))
	for _, d := range roles {
		items = append(items, project(directoryRoleObject(d), directoryRoleDefaults, sel))
	}
	a.writeList(w, setDirectoryRoles, sel, items)
	return nil
}

// getDirectoryRole is GET /directoryRoles/{id} and, through the key
// rewrite, /directoryRoles(roleTemplateId='…')
// (https://learn.microsoft.com/en-us/graph/api/directoryrole-get).
func (a *API) getDirectoryRole(w http.ResponseWriter, r *http.Request) error {
	sel, err := entityOptions(r, directoryRoleSchema)
	if err != nil {
		return err
	}
	d, err := a.Directory.GetDirectoryRole(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	a.writeEntity(w, http.StatusOK, a.entityContextURL(setDirectoryRoles, sel), project(directoryRoleObject(d), directoryRoleDefaults, sel))
	return nil
}

// listDirectoryRoleMembers is GET /directoryRoles/{id}/members, unpaged
// (https://learn.microsoft.com/en-us/graph/api/directoryrole-list-members).
func (a *API) listDirectoryRoleMembers(w http.ResponseWriter, r *http.Request) error {
	o, err := parseOptions(r, "$select")
	if err != nil {
		return err
	}
	sel, err := o.selection(memberSchema)
	if err != nil {
		return err
	}
	ctx := r.Context()
	role, err := a.Directory.GetDirectoryRole(ctx, r.PathValue("id"))
	if err != nil {
		return err
	}
	members, err := a.Directory.ListDirectoryRoleMembers(ctx, role.ID)
	if err != nil {
		return fmt.Errorf("graph: members of role %s: %w", role.ID, err)
	}
	items := make([]object, 0, len(members))
	for _, m := range members {
		items = append(items, directoryObject(m, sel))
	}
	a.writeList(w, "directoryObjects", sel, items)
	return nil
}
