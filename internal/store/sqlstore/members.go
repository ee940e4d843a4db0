package sqlstore

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/vigil-idp/vigil/internal/odata"
	"github.com/vigil-idp/vigil/internal/store"
)

// Memberships are direct edges group → member in group_members. Transitive
// queries walk them with a recursive CTE whose UNION (not UNION ALL)
// discards rows already seen, so they terminate on cycles. In a cycle a
// group is reachable from itself and so is its own transitive member.

// AddMember adds memberID, an object of kind, to groupID. ErrNotFound when
// the group or the member does not exist (or is not of that kind);
// ErrConflict when it is already a direct member. Cycles are not checked.
func (t *txn) AddMember(ctx context.Context, groupID, memberID string, kind store.ObjectKind) error {
	defer t.lookupsChanged()
	refs, err := kindRefs(memberID, kind)
	if err != nil {
		return fmt.Errorf("sqlstore: add member: %w", err)
	}
	_, err = t.exec(ctx, `INSERT INTO group_members (group_id, member_id, member_kind, member_user_id, member_group_id, member_sp_id)
		VALUES ($1, $2, $3, $4, $5, $6)`, append([]any{groupID, memberID, string(kind)}, refs...)...)
	if err != nil {
		return t.classify("add member", err)
	}
	return nil
}

// RemoveMember removes a direct membership, or returns ErrNotFound.
func (t *txn) RemoveMember(ctx context.Context, groupID, memberID string) error {
	defer t.lookupsChanged()
	res, err := t.exec(ctx, "DELETE FROM group_members WHERE group_id = $1 AND member_id = $2", groupID, memberID)
	return affected("remove member", res, err)
}

// memberSet writes a subquery of the (id, kind) members of groupID.
func memberSet(b *sqlBuilder, groupID string, transitive bool) {
	g := b.arg(groupID)
	if !transitive {
		b.WriteString("(SELECT member_id AS id, member_kind AS kind FROM group_members WHERE group_id = " + g + ")")
		return
	}
	b.WriteString(`(WITH RECURSIVE r(id, kind) AS (
		SELECT member_id, member_kind FROM group_members WHERE group_id = ` + g + `
		UNION
		SELECT gm.member_id, gm.member_kind FROM group_members gm JOIN r ON gm.group_id = r.id AND r.kind = 'group'
	) SELECT id, kind FROM r)`)
}

// ancestors writes a subquery of the ids of the groups memberID is in.
func ancestors(b *sqlBuilder, memberID string, transitive bool) {
	m := b.arg(memberID)
	if !transitive {
		b.WriteString("(SELECT group_id FROM group_members WHERE member_id = " + m + ")")
		return
	}
	b.WriteString(`(WITH RECURSIVE anc(id) AS (
		SELECT group_id FROM group_members WHERE member_id = ` + m + `
		UNION
		SELECT gm.group_id FROM group_members gm JOIN anc ON gm.member_id = anc.id
	) SELECT id FROM anc)`)
}

// memberKinds is how ListMembers filters each kind of member.
var memberKinds = []struct {
	kind  store.ObjectKind
	table string
	alias string
	props map[string]column
}{
	{store.KindUser, users.table, users.alias, users.props},
	{store.KindGroup, groups.table, groups.alias, groups.props},
	{store.KindServicePrincipal, servicePrincipals.table, servicePrincipals.alias, servicePrincipals.props},
}

// memberProps are the properties ListMembers sorts on: only id.
var memberProps = props(map[string]column{"id": idCol("m.id")})

// memberFilter writes the condition that a member m matches q's filter and
// search: the member's own row must match, judged by the properties of its
// kind. A kind that lacks a property the filter names never matches; a
// filter no kind can answer is an error.
func memberFilter(d *dialect, b *sqlBuilder, q store.Query) error {
	if q.Filter == nil && len(q.Search) == 0 {
		b.WriteString("TRUE")
		return nil
	}
	var arms []string
	var firstErr error
	for _, k := range memberKinds {
		kb := sqlBuilder{d: d, args: b.args}
		kb.WriteString("(m.kind = '" + string(k.kind) + "' AND EXISTS (SELECT 1 FROM " + k.table + " " + k.alias +
			" WHERE " + k.alias + ".id = m.id AND ")
		c := compiler{d: d, b: &kb, props: k.props}
		if err := c.where(q.Filter, q.Search); err != nil {
			if !errors.Is(err, odata.ErrUnsupported) {
				return err
			}
			firstErr = cmp.Or(firstErr, err)
			continue
		}
		kb.WriteString("))")
		arms = append(arms, kb.String())
		b.args = kb.args
	}
	if len(arms) == 0 {
		return firstErr
	}
	b.WriteString("(" + strings.Join(arms, " OR ") + ")")
	return nil
}

// ListMembers pages the direct or transitive members of groupID (users,
// groups and service principals) by id, ascending or, with $orderby=id
// desc, descending. q.Filter and q.Search apply to each member by the
// properties of its kind. An unknown group has no members.
func (t *txn) ListMembers(ctx context.Context, groupID string, transitive bool, q store.Query) (store.Page[store.DirectoryObject], error) {
	const op = "list members"
	fail := func(err error) (store.Page[store.DirectoryObject], error) {
		return store.Page[store.DirectoryObject]{}, fmt.Errorf("sqlstore: %s: %w", op, err)
	}
	keys, err := orderKeys(memberProps, q.OrderBy)
	if err != nil {
		return fail(err)
	}
	top, err := pageSize(q.Top)
	if err != nil {
		return fail(err)
	}
	b := sqlBuilder{d: t.s.d}
	b.WriteString("SELECT m.id, m.kind FROM ")
	memberSet(&b, groupID, transitive)
	b.WriteString(" m WHERE ")
	if err := memberFilter(t.s.d, &b, q); err != nil {
		return fail(err)
	}
	if q.Cursor != "" {
		vals, err := decodeCursor(t.s.d, q.Cursor, keys)
		if err != nil {
			return fail(err)
		}
		b.WriteString(" AND ")
		keyset(&b, keys, vals)
	}
	orderBy(&b, keys)
	b.WriteString(" LIMIT " + b.arg(top+1))

	type ref struct {
		id   string
		kind store.ObjectKind
	}
	var refs []ref
	rows, err := unprepared(t.rq()).QueryContext(ctx, b.String(), b.args...)
	if err != nil {
		return fail(err)
	}
	defer rows.Close()
	for rows.Next() {
		var r ref
		if err := rows.Scan(&r.id, &r.kind); err != nil {
			return fail(err)
		}
		refs = append(refs, r)
	}
	if err := rows.Err(); err != nil {
		return fail(err)
	}
	var page store.Page[store.DirectoryObject]
	if len(refs) > top {
		refs = refs[:top]
		if page.Next, err = encodeCursor(keys, []any{refs[top-1].id}); err != nil {
			return fail(err)
		}
	}

	ids := map[store.ObjectKind][]string{}
	for _, r := range refs {
		ids[r.kind] = append(ids[r.kind], r.id)
	}
	objs, err := t.objects(ctx, ids)
	if err != nil {
		return fail(err)
	}
	page.Items = make([]store.DirectoryObject, 0, len(refs))
	for _, r := range refs {
		if o, ok := objs[r.id]; ok { // absent only if deleted meanwhile
			page.Items = append(page.Items, o)
		}
	}
	return page, nil
}

// objects loads directory objects by kind and id.
func (t *txn) objects(ctx context.Context, ids map[store.ObjectKind][]string) (map[string]store.DirectoryObject, error) {
	out := map[string]store.DirectoryObject{}
	err := errors.Join(
		loadObjects(ctx, t, users, ids[store.KindUser], out, func(u *store.User) store.DirectoryObject {
			return store.DirectoryObject{Kind: store.KindUser, User: u}
		}),
		loadObjects(ctx, t, groups, ids[store.KindGroup], out, func(g *store.Group) store.DirectoryObject {
			return store.DirectoryObject{Kind: store.KindGroup, Group: g}
		}),
		loadObjects(ctx, t, servicePrincipals, ids[store.KindServicePrincipal], out, func(p *store.ServicePrincipal) store.DirectoryObject {
			return store.DirectoryObject{Kind: store.KindServicePrincipal, ServicePrincipal: p}
		}),
	)
	return out, err
}

// loadObjects reads the rows of e with these ids into out.
func loadObjects[T any](ctx context.Context, t *txn, e *entity[T], ids []string, out map[string]store.DirectoryObject, wrap func(*T) store.DirectoryObject) error {
	if len(ids) == 0 {
		return nil
	}
	b := sqlBuilder{d: t.s.d}
	b.WriteString("WHERE " + e.alias + ".id IN (")
	for i, id := range ids {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(b.arg(id))
	}
	b.WriteString(")")
	vs, err := e.all(ctx, unprepared(t.rq()), b.String(), b.args...)
	if err != nil {
		return err
	}
	for i := range vs {
		o := wrap(&vs[i])
		out[o.ID()] = o
	}
	return nil
}

// CountMembers counts the direct or transitive members of groupID.
func (t *txn) CountMembers(ctx context.Context, groupID string, transitive bool) (int, error) {
	b := sqlBuilder{d: t.s.d}
	b.WriteString("SELECT count(*) FROM ")
	memberSet(&b, groupID, transitive)
	b.WriteString(" m")
	var n int
	if err := unprepared(t.rq()).QueryRowContext(ctx, b.String(), b.args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("sqlstore: count members: %w", err)
	}
	return n, nil
}

// ListMemberOf pages the groups memberID is a direct or transitive member
// of, by id unless q.OrderBy says otherwise; q.Filter and q.Search apply to
// the groups.
func (t *txn) ListMemberOf(ctx context.Context, memberID string, transitive bool, q store.Query) (store.Page[store.Group], error) {
	return groups.list(ctx, t, func(b *sqlBuilder) {
		b.WriteString("g.id IN ")
		ancestors(b, memberID, transitive)
	}, q)
}

// IsTransitiveMember reports whether memberID is reachable from groupID
// through one or more memberships.
func (t *txn) IsTransitiveMember(ctx context.Context, groupID, memberID string) (bool, error) {
	b := sqlBuilder{d: t.s.d}
	b.WriteString("SELECT EXISTS (SELECT 1 FROM ")
	memberSet(&b, groupID, true)
	b.WriteString(" m WHERE m.id = " + b.arg(memberID) + ")")
	var ok bool
	if err := unprepared(t.rq()).QueryRowContext(ctx, b.String(), b.args...).Scan(&ok); err != nil {
		return false, fmt.Errorf("sqlstore: is transitive member: %w", err)
	}
	return ok, nil
}

// TransitiveMemberUserIDs returns, sorted, the ids of every user directly
// or transitively in groupID.
func (t *txn) TransitiveMemberUserIDs(ctx context.Context, groupID string) ([]string, error) {
	b := sqlBuilder{d: t.s.d}
	b.WriteString("SELECT m.id FROM ")
	memberSet(&b, groupID, true)
	b.WriteString(" m WHERE m.kind = 'user' ORDER BY m.id")
	return t.strings(ctx, "transitive member users", b.String(), b.args...)
}
