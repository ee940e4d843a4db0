package sqlstore

import (
	"context"
	"fmt"

	"github.com/vigil-idp/vigil/internal/store"
)

// kindRefs returns the values of the three per-kind foreign key columns
// (user, group, service principal) for an object of kind: id in the one
// that matches, NULL in the others.
func kindRefs(id string, kind store.ObjectKind) ([]any, error) {
	switch kind {
	case store.KindUser:
		return []any{id, nil, nil}, nil
	case store.KindGroup:
		return []any{nil, id, nil}, nil
	case store.KindServicePrincipal:
		return []any{nil, nil, id}, nil
	}
	return nil, fmt.Errorf("unknown object kind %q", kind)
}

var roleAssignments = (&entity[store.RoleAssignment]{
	name:  "role assignment",
	table: "role_assignments",
	alias: "ra",
	cols: []string{
		"id", "principal_id", "principal_kind", "principal_user_id", "principal_group_id", "principal_sp_id",
		"role_definition_id", "directory_scope_id", "created_at",
	},
	sel: "ra.id, ra.principal_id, ra.principal_kind, ra.role_definition_id, ra.directory_scope_id, ra.created_at",
	scan: func(sc scanner, extra ...any) (store.RoleAssignment, error) {
		var a store.RoleAssignment
		err := sc.Scan(append([]any{
			&a.ID, &a.PrincipalID, &a.PrincipalKind, &a.RoleDefinitionID, &a.DirectoryScopeID, timeDest{&a.CreatedDateTime},
		}, extra...)...)
		return a, err
	},
	values: func(t *txn, a store.RoleAssignment) []any {
		if a.CreatedDateTime.IsZero() {
			a.CreatedDateTime = t.s.now()
		}
		refs, _ := kindRefs(a.PrincipalID, a.PrincipalKind) // checked by CreateRoleAssignment
		return append(append([]any{a.ID, a.PrincipalID, string(a.PrincipalKind)}, refs...),
			a.RoleDefinitionID, a.DirectoryScopeID, t.s.d.timeVal(a.CreatedDateTime))
	},
	id: func(a store.RoleAssignment) string { return a.ID },
}).init()

// CreateRoleAssignment inserts a. A zero CreatedDateTime is set to the
// store's clock. ErrConflict when the principal already holds the role at
// the scope (or the id is taken); ErrNotFound when no principal of
// a.PrincipalKind has a.PrincipalID.
func (t *txn) CreateRoleAssignment(ctx context.Context, a store.RoleAssignment) error {
	defer t.lookupsChanged()
	if _, err := kindRefs(a.PrincipalID, a.PrincipalKind); err != nil {
		return fmt.Errorf("sqlstore: create role assignment: %w", err)
	}
	return roleAssignments.create(ctx, t, a)
}

// GetRoleAssignment returns one assignment or ErrNotFound.
func (t *txn) GetRoleAssignment(ctx context.Context, id string) (store.RoleAssignment, error) {
	return roleAssignments.get(ctx, t.rq(), "ra.id = $1", id)
}

// DeleteRoleAssignment removes one, or returns ErrNotFound.
func (t *txn) DeleteRoleAssignment(ctx context.Context, id string) error {
	defer t.lookupsChanged()
	return roleAssignments.delete(ctx, t, id)
}

// ListRoleAssignments lists assignments, only those of principalID and/or
// of roleDefinitionID when they are not empty, ordered by id.
func (t *txn) ListRoleAssignments(ctx context.Context, principalID, roleDefinitionID string) ([]store.RoleAssignment, error) {
	return roleAssignments.all(ctx, t.rq(),
		"WHERE ($1 = '' OR ra.principal_id = $1) AND ($2 = '' OR ra.role_definition_id = $2) ORDER BY ra.id",
		principalID, roleDefinitionID)
}

// EffectiveRoleIDs returns, sorted, the distinct role template ids held by
// the principal directly or through role-assignable groups it is a direct
// or transitive member of (Entra allows only direct members in
// role-assignable groups; nesting is followed anyway). An unknown id holds
// no roles.
func (t *txn) EffectiveRoleIDs(ctx context.Context, userID string) ([]string, error) {
	return t.cachedDirectoryRoles(ctx, userID)
}

func (t *txn) effectiveRoleIDs(ctx context.Context, userID string) ([]string, error) {
	const q = `WITH RECURSIVE anc(id) AS (
		SELECT group_id FROM group_members WHERE member_id = $1
		UNION
		SELECT gm.group_id FROM group_members gm JOIN anc ON gm.member_id = anc.id
	)
	SELECT ra.role_definition_id FROM role_assignments ra WHERE ra.principal_id = $1
	UNION
	SELECT ra.role_definition_id FROM role_assignments ra
		JOIN anc ON ra.principal_id = anc.id
		JOIN groups g ON g.id = anc.id AND g.is_assignable_to_role = TRUE
	ORDER BY 1`
	return t.strings(ctx, "effective roles", q, userID)
}

// strings runs a query answering one string column.
func (t *txn) strings(ctx context.Context, op, query string, args ...any) ([]string, error) {
	rows, err := t.rq().QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: %s: %w", op, err)
	}
	defer rows.Close()
	out := []string{}
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, fmt.Errorf("sqlstore: %s: %w", op, err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore: %s: %w", op, err)
	}
	return out, nil
}
