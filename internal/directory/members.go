package directory

import (
	"context"
	"errors"

	"github.com/vigil-idp/vigil/internal/odata"
	"github.com/vigil-idp/vigil/internal/revocation"
	"github.com/vigil-idp/vigil/internal/store"
)

// objectReader is what resolving a directory object needs; both Store and
// store.Tx have it.
type objectReader interface {
	store.Users
	store.Groups
	store.Applications
}

// objectByID finds a directory object that can be a member or a principal:
// a user, a group or a service principal, tried in that order. A missing
// object is KindNotFound about id.
func objectByID(ctx context.Context, tx objectReader, id string) (store.DirectoryObject, error) {
	if !odata.IsGUID(id) {
		return store.DirectoryObject{}, notFound(id, nil)
	}
	u, err := tx.GetUser(ctx, id)
	if err == nil {
		return store.DirectoryObject{Kind: store.KindUser, User: &u}, nil
	}
	if !errors.Is(err, store.ErrNotFound) {
		return store.DirectoryObject{}, wrap("get object", id, err, "")
	}
	g, err := tx.GetGroup(ctx, id)
	if err == nil {
		return store.DirectoryObject{Kind: store.KindGroup, Group: &g}, nil
	}
	if !errors.Is(err, store.ErrNotFound) {
		return store.DirectoryObject{}, wrap("get object", id, err, "")
	}
	sp, err := tx.GetServicePrincipal(ctx, id)
	if err == nil {
		return store.DirectoryObject{Kind: store.KindServicePrincipal, ServicePrincipal: &sp}, nil
	}
	return store.DirectoryObject{}, wrap("get object", id, err, "")
}

// AddMember adds a user, group or service principal to a group
// (https://learn.microsoft.com/en-us/graph/api/group-post-members). In one
// transaction it checks that both exist (KindNotFound naming the missing
// one) and refuses, with KindInvalid:
//   - a group as a member of itself, or of a group already nested inside it
//     at any depth (a cycle);
//   - any group as a member of a role-assignable group: Entra does not
//     support nesting groups inside role-assignable groups
//     (https://learn.microsoft.com/en-us/entra/identity/role-based-access-control/groups-concept#restrictions-for-role-assignable-groups),
//     which keeps a role's holders exactly the group's direct members.
//
// An existing membership is KindConflict with Graph's message "One or more
// added object references already exist for the following modified
// properties: 'members'." The cycle check and the insert share the
// transaction, so concurrent additions cannot form a cycle on a store whose
// InTx is serializable.
func (s *Service) AddMember(ctx context.Context, groupID, memberID string) error {
	return s.Store.InTx(ctx, func(tx store.Tx) error {
		g, err := tx.GetGroup(ctx, groupID)
		if err != nil {
			return wrap("add member", groupID, err, "")
		}
		m, err := objectByID(ctx, tx, memberID)
		if err != nil {
			return err
		}
		if m.Kind == store.KindGroup {
			if g.IsAssignableToRole {
				return invalid("Group '%s' is role-assignable: role-assignable groups cannot contain other groups.", g.ID)
			}
			if m.Group.ID == g.ID {
				return invalid("A group cannot be a member of itself.")
			}
			// Would g end up inside itself? It does if g is already a
			// (transitive) member of the group being added.
			inside, err := tx.IsTransitiveMember(ctx, m.Group.ID, g.ID)
			if err != nil {
				return wrap("add member", groupID, err, "")
			}
			if inside {
				return invalid("Adding group '%s' to group '%s' would create a membership cycle: '%s' is already nested inside '%s'.", m.Group.ID, g.ID, g.ID, m.Group.ID)
			}
		}
		w, err := watchMember(ctx, tx, g, m)
		if err != nil {
			return err
		}
		if err := tx.AddMember(ctx, g.ID, m.ID(), m.Kind); err != nil {
			return wrap("add member", memberID, err, msgDuplicateMember)
		}
		return s.auditClaims(ctx, tx, membershipChange(ActivityAddMember, opAdd, g, m), w)
	})
}

// RemoveMember removes a direct member from a group. A missing group, or a
// member that is not a direct member, is KindNotFound about that id.
func (s *Service) RemoveMember(ctx context.Context, groupID, memberID string) error {
	return s.Store.InTx(ctx, func(tx store.Tx) error {
		g, err := tx.GetGroup(ctx, groupID)
		if err != nil {
			return wrap("remove member", groupID, err, "")
		}
		m, err := objectByID(ctx, tx, memberID)
		if err != nil {
			return err
		}
		w, err := watchMember(ctx, tx, g, m)
		if err != nil {
			return err
		}
		if err := tx.RemoveMember(ctx, g.ID, m.ID()); err != nil {
			return wrap("remove member", memberID, err, "")
		}
		return s.auditClaims(ctx, tx, membershipChange(ActivityRemoveMember, opDelete, g, m), w)
	})
}

// membershipChange is the audit record of adding m to g or removing it:
// Entra names the member first, with the group's id and name as modified
// properties, then the group.
func membershipChange(activity, op string, g store.Group, m store.DirectoryObject) change {
	props := []prop{{name: "Group.ObjectID", new: g.ID}, {name: "Group.DisplayName", new: g.DisplayName}}
	if op == opDelete {
		props = removed(props)
	}
	return change{
		activity: activity, category: revocation.CategoryGroupManagement, operation: op,
		targets: []revocation.AuditTarget{objectTarget(m, modified(props)), groupTarget(g, nil)},
	}
}

// ListMembers pages a group's direct or transitive members (users, groups
// and service principals). A missing group is KindNotFound; its existence
// is checked only when the first page comes back empty.
func (s *Service) ListMembers(ctx context.Context, groupID string, transitive bool, q store.Query) (store.Page[store.DirectoryObject], error) {
	p, err := s.Store.ListMembers(ctx, groupID, transitive, q)
	if err != nil {
		return p, listErr("list members", err)
	}
	if len(p.Items) == 0 && q.Cursor == "" {
		if _, err := s.Store.GetGroup(ctx, groupID); err != nil {
			return p, wrap("list members", groupID, err, "")
		}
	}
	return p, nil
}

// CountMembers counts a group's direct or transitive members; a missing
// group is KindNotFound.
func (s *Service) CountMembers(ctx context.Context, groupID string, transitive bool) (int, error) {
	n, err := s.Store.CountMembers(ctx, groupID, transitive)
	if err != nil {
		return 0, listErr("count members", err)
	}
	if n == 0 {
		if _, err := s.Store.GetGroup(ctx, groupID); err != nil {
			return 0, wrap("count members", groupID, err, "")
		}
	}
	return n, nil
}

// MemberOfObject is one entry of Graph's memberOf / transitiveMemberOf:
// exactly one of Group (#microsoft.graph.group) and Role
// (#microsoft.graph.directoryRole) is set. store.DirectoryObject cannot
// carry a directory role, hence this type.
type MemberOfObject struct {
	Group *store.Group
	Role  *DirectoryRole
}

// ListMemberOf pages the groups and directory roles an object belongs to
// (Graph's /memberOf and /transitiveMemberOf,
// https://learn.microsoft.com/en-us/graph/api/user-list-memberof). The
// object is a user (by id or userPrincipalName), a group or a service
// principal; a missing one is KindNotFound.
//
// Groups come from the store, paged by q. Directory roles are few, so they
// are all put on the first page (q.Cursor == ""), ahead of the groups; that
// page may therefore hold more than q.Top items. Directly assigned roles
// are "memberOf"; transitive adds the roles held through role-assignable
// groups. When q has a Filter or Search, which name group properties,
// roles are left out.
func (s *Service) ListMemberOf(ctx context.Context, objectID string, transitive bool, q store.Query) (store.Page[MemberOfObject], error) {
	var obj store.DirectoryObject
	var err error
	if odata.IsGUID(objectID) {
		obj, err = objectByID(ctx, s.Store, objectID)
	} else {
		var u store.User
		u, err = userByKey(ctx, s.Store, objectID)
		obj = store.DirectoryObject{Kind: store.KindUser, User: &u}
	}
	if err != nil {
		return store.Page[MemberOfObject]{}, err
	}
	var out store.Page[MemberOfObject]
	if q.Cursor == "" && q.Filter == nil && len(q.Search) == 0 {
		roles, err := s.memberOfRoles(ctx, obj, transitive)
		if err != nil {
			return out, err
		}
		for i := range roles {
			out.Items = append(out.Items, MemberOfObject{Role: &roles[i]})
		}
	}
	groups, err := s.Store.ListMemberOf(ctx, obj.ID(), transitive, q)
	if err != nil {
		return store.Page[MemberOfObject]{}, listErr("list memberOf", err)
	}
	for i := range groups.Items {
		out.Items = append(out.Items, MemberOfObject{Group: &groups.Items[i]})
	}
	out.Next = groups.Next
	return out, nil
}
