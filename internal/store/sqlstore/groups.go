package sqlstore

import (
	"context"

	"github.com/vigil-idp/vigil/internal/store"
)

var groups = (&entity[store.Group]{
	name:  "group",
	table: "groups",
	alias: "g",
	cols: []string{
		"id", "display_name", "display_name_lower", "description", "description_lower",
		"mail_nickname", "mail_nickname_lower", "security_enabled", "mail_enabled", "group_types",
		"is_assignable_to_role", "created_at",
	},
	sel: "g.id, g.display_name, g.description, g.mail_nickname, g.security_enabled, g.mail_enabled, " +
		"g.group_types, g.is_assignable_to_role, g.created_at",
	scan: func(sc scanner, extra ...any) (store.Group, error) {
		var g store.Group
		err := sc.Scan(append([]any{
			&g.ID, &g.DisplayName, &g.Description, &g.MailNickname, &g.SecurityEnabled, &g.MailEnabled,
			listDest{&g.GroupTypes}, &g.IsAssignableToRole, timeDest{&g.CreatedDateTime},
		}, extra...)...)
		return g, err
	},
	values: func(t *txn, g store.Group) []any {
		if g.CreatedDateTime.IsZero() {
			g.CreatedDateTime = t.s.now()
		}
		return []any{
			g.ID, g.DisplayName, fold(g.DisplayName), strPtr(g.Description), foldPtr(g.Description),
			g.MailNickname, fold(g.MailNickname), g.SecurityEnabled, g.MailEnabled, jsonList(g.GroupTypes),
			g.IsAssignableToRole, t.s.d.timeVal(g.CreatedDateTime),
		}
	},
	id: func(g store.Group) string { return g.ID },
	props: props(map[string]column{
		"id":                 idCol("g.id"),
		"displayName":        strCol("g.display_name_lower"),
		"description":        nstrCol("g.description_lower"),
		"mailNickname":       strCol("g.mail_nickname_lower"),
		"securityEnabled":    boolCol("g.security_enabled"),
		"mailEnabled":        boolCol("g.mail_enabled"),
		"groupTypes":         listCol("g.group_types"),
		"isAssignableToRole": boolCol("g.is_assignable_to_role"),
		"createdDateTime":    timeCol("g.created_at"),
	}),
}).init()

// CreateGroup inserts g. A zero CreatedDateTime is set to the store's
// clock. ErrConflict when the id is taken.
func (t *txn) CreateGroup(ctx context.Context, g store.Group) error {
	defer t.lookupsChanged()
	return groups.create(ctx, t, g)
}

// GetGroup returns the group or ErrNotFound.
func (t *txn) GetGroup(ctx context.Context, id string) (store.Group, error) {
	return groups.get(ctx, t.rq(), "g.id = $1", id)
}

// UpdateGroup is the atomic read-modify-write of a group; it returns the
// group as stored.
func (t *txn) UpdateGroup(ctx context.Context, id string, fn func(store.Group) (store.Group, error)) (store.Group, error) {
	defer t.lookupsChanged()
	return groups.update(ctx, t, id, fn)
}

// DeleteGroup removes the group; memberships in and of it and role
// assignments to it go with it (ON DELETE CASCADE).
func (t *txn) DeleteGroup(ctx context.Context, id string) error {
	defer t.lookupsChanged()
	return groups.delete(ctx, t, id)
}

// ListGroups answers one page of groups matching q.
func (t *txn) ListGroups(ctx context.Context, q store.Query) (store.Page[store.Group], error) {
	return groups.list(ctx, t, nil, q)
}

// CountGroups counts the groups matching q.Filter and q.Search.
func (t *txn) CountGroups(ctx context.Context, q store.Query) (int, error) {
	return groups.count(ctx, t, nil, q)
}
