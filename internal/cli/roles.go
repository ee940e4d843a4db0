package cli

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"

	"github.com/spf13/cobra"

	"github.com/vigil-idp/vigil/internal/odata"
)

const (
	roleDefinitionsPath = graphPrefix + "/roleManagement/directory/roleDefinitions"
	roleAssignmentsPath = graphPrefix + "/roleManagement/directory/roleAssignments"
)

var (
	roleColumns       = []string{"id", "displayName", "isBuiltIn", "isEnabled"}
	assignmentColumns = []string{"id", "principalId", "roleDefinitionId", "directoryScopeId"}
)

func newRolesCmd(s *state) *cobra.Command {
	return group(s, "roles", "List directory roles; assign and unassign them",
		newRolesListCmd(s), newRolesAssignCmd(s), newRolesUnassignCmd(s))
}

func newRolesListCmd(s *state) *cobra.Command {
	var (
		assignments bool
		principal   string
	)
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List directory role definitions, or with --assignments the role assignments",
		Example: `  vigil roles list
  vigil roles list --assignments --principal ada@vigil.local`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			if !assignments {
				if principal != "" {
					return usagef("--principal needs --assignments")
				}
				return s.runList(ctx, listSpec{path: roleDefinitionsPath, columns: roleColumns, empty: "No roles found."})
			}
			var q query
			if principal != "" {
				id, err := s.principalID(ctx, principal)
				if err != nil {
					return err
				}
				q.filter = "principalId eq '" + id + "'"
			}
			return s.runList(ctx, listSpec{path: roleAssignmentsPath, query: q, columns: assignmentColumns, empty: "No role assignments found."})
		},
	}
	cmd.Flags().BoolVar(&assignments, "assignments", false, "list role assignments instead of role definitions")
	cmd.Flags().StringVar(&principal, "principal", "", "with --assignments: only this principal's (id or UPN)")
	return cmd
}

// principalID returns the object id of a principal named by id or UPN.
func (s *state) principalID(ctx context.Context, name string) (string, error) {
	if odata.IsGUID(name) {
		return strings.ToLower(name), nil
	}
	if !isUPN(name) {
		return "", usagef("%q is not an object id or a user principal name", name)
	}
	c, err := s.apiClient(ctx)
	if err != nil {
		return "", err
	}
	found, _, err := c.resolveUsers(ctx, []target{{UPN: name}}, nil)
	if err != nil {
		return "", err
	}
	if len(found) == 0 {
		return "", failf("no user %s", name)
	}
	return found[0].ID, nil
}

// roleID returns the id of the role definition named by id, template id
// or display name (case-insensitive).
func (s *state) roleID(ctx context.Context, name string) (string, error) {
	if odata.IsGUID(name) {
		return strings.ToLower(name), nil
	}
	c, err := s.apiClient(ctx)
	if err != nil {
		return "", err
	}
	var id string
	err = c.list(ctx, roleDefinitionsPath, url.Values{"$select": {"id,displayName"}}, nil, 0, func(item json.RawMessage) error {
		var d struct{ ID, DisplayName string }
		if json.Unmarshal(item, &d) == nil && strings.EqualFold(d.DisplayName, name) {
			id = d.ID
		}
		return nil
	})
	if err != nil {
		return "", err
	}
	if id == "" {
		return "", usagef("no directory role named %q; see `vigil roles list`", name)
	}
	return id, nil
}

func newRolesAssignCmd(s *state) *cobra.Command {
	var scope string
	cmd := &cobra.Command{
		Use:     "assign ROLE PRINCIPAL",
		Short:   "Assign a directory role (by name or id) to a user (id or UPN), group or service principal",
		Example: `  vigil roles assign "Helpdesk Administrator" ada@vigil.local`,
		Args:    nArgs(2, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			role, err := s.roleID(ctx, args[0])
			if err != nil {
				return err
			}
			principal, err := s.principalID(ctx, args[1])
			if err != nil {
				return err
			}
			body, _ := json.Marshal(map[string]string{"principalId": principal, "roleDefinitionId": role, "directoryScopeId": scope})
			return s.writeObject(ctx, http.MethodPost, roleAssignmentsPath, body)
		},
	}
	cmd.Flags().StringVar(&scope, "scope", "/", "directoryScopeId: / for the whole tenant")
	return cmd
}

func newRolesUnassignCmd(s *state) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "unassign ASSIGNMENT | ROLE PRINCIPAL",
		Short: "Remove a role assignment: by its id, or by role and principal",
		Example: `  vigil roles unassign "Helpdesk Administrator" ada@vigil.local
  vigil roles unassign 3f5e…`,
		Args: nArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			c, err := s.apiClient(ctx)
			if err != nil {
				return err
			}
			ids := []string{args[0]}
			if len(args) == 2 {
				if ids, err = s.assignmentIDs(ctx, args[0], args[1]); err != nil {
					return err
				}
			}
			p, err := s.newPrinter(printerOpts{columns: []string{"id", "removed"}})
			if err != nil {
				return err
			}
			for _, id := range ids {
				if _, err := c.do(ctx, request{method: http.MethodDelete, path: roleAssignmentsPath + "/" + pathEscape(id)}); err != nil {
					return notFoundIsFailure(err)
				}
				if err := p.add(map[string]any{"id": id, "removed": true}); err != nil {
					return err
				}
			}
			return p.close()
		},
	}
	return cmd
}

// assignmentIDs finds the assignments of role to principal.
func (s *state) assignmentIDs(ctx context.Context, roleName, principalName string) ([]string, error) {
	role, err := s.roleID(ctx, roleName)
	if err != nil {
		return nil, err
	}
	principal, err := s.principalID(ctx, principalName)
	if err != nil {
		return nil, err
	}
	c, err := s.apiClient(ctx)
	if err != nil {
		return nil, err
	}
	q := url.Values{"$filter": {"principalId eq '" + principal + "' and roleDefinitionId eq '" + role + "'"}}
	var ids []string
	err = c.list(ctx, roleAssignmentsPath, q, nil, 0, func(item json.RawMessage) error {
		var a struct{ ID string }
		if err := json.Unmarshal(item, &a); err == nil && a.ID != "" {
			ids = append(ids, a.ID)
		}
		return nil
	})
	if err != nil {
		return nil, queryError(err)
	}
	if len(ids) == 0 {
		return nil, failf("%s holds no assignment of %s", principalName, roleName)
	}
	return ids, nil
}
