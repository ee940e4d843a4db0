package storetest

import (
	"testing"

	"github.com/vigil-idp/vigil/internal/store"
)

// directory is a small fixture: users 1–4, groups 10–13, principal 20.
//
//	group 10 ⊃ user 1, group 11, principal 20
//	group 11 ⊃ user 2, group 12
//	group 12 ⊃ user 3
//	group 13 (empty); user 4 in no group
func directory(t *testing.T, s store.Store) {
	t.Helper()
	for n := 1; n <= 4; n++ {
		u := minimalUser(n, "user"+string(rune('0'+n))+"@example.com")
		ok(t, s.CreateUser(ctx, u))
	}
	for n := 10; n <= 13; n++ {
		ok(t, s.CreateGroup(ctx, minimalGroup(n, "group"+string(rune('0'+n-10)))))
	}
	ok(t, s.CreateServicePrincipal(ctx, store.ServicePrincipal{ID: id(20), AppID: id(21), DisplayName: "robot", CreatedDateTime: t0}))
	for _, m := range []struct {
		group, member int
		kind          store.ObjectKind
	}{
		{10, 1, store.KindUser}, {10, 11, store.KindGroup}, {10, 20, store.KindServicePrincipal},
		{11, 2, store.KindUser}, {11, 12, store.KindGroup},
		{12, 3, store.KindUser},
	} {
		ok(t, s.AddMember(ctx, id(m.group), id(m.member), m.kind))
	}
}

func members(t *testing.T, s store.Store, group int, transitive bool) []string {
	t.Helper()
	objs := all(t, 0, func(q store.Query) (store.Page[store.DirectoryObject], error) {
		return s.ListMembers(ctx, id(group), transitive, q)
	}, store.Query{})
	return ids(objs, objectID)
}

func memberOf(t *testing.T, s store.Store, member int, transitive bool) []string {
	t.Helper()
	gs := all(t, 0, func(q store.Query) (store.Page[store.Group], error) {
		return s.ListMemberOf(ctx, id(member), transitive, q)
	}, store.Query{})
	return ids(gs, groupID)
}

func idList(ns ...int) []string {
	out := make([]string, len(ns))
	for i, n := range ns {
		out[i] = id(n)
	}
	return out
}

func testMembers(t *testing.T, newStore func(t *testing.T) store.Store) {
	t.Run("DirectAndTransitive", func(t *testing.T) {
		s := newStore(t)
		directory(t, s)
		sameIDs(t, "direct members of 10", members(t, s, 10, false), idList(1, 11, 20))
		sameIDs(t, "transitive members of 10", members(t, s, 10, true), idList(1, 2, 3, 11, 12, 20))
		sameIDs(t, "transitive members of 13", members(t, s, 13, true), nil)
		sameIDs(t, "members of an unknown group", members(t, s, 99, true), nil)
		uids, err := s.TransitiveMemberUserIDs(ctx, id(10))
		ok(t, err)
		sameIDs(t, "TransitiveMemberUserIDs", uids, idList(1, 2, 3))
		for _, c := range []struct {
			group      int
			transitive bool
			want       int
		}{{10, false, 3}, {10, true, 6}, {11, true, 3}, {13, true, 0}} {
			n, err := s.CountMembers(ctx, id(c.group), c.transitive)
			ok(t, err)
			if n != c.want {
				t.Errorf("CountMembers(%d, %v) = %d, want %d", c.group, c.transitive, n, c.want)
			}
		}
		sameIDs(t, "memberOf user 3", memberOf(t, s, 3, false), idList(12))
		sameIDs(t, "transitive memberOf user 3", memberOf(t, s, 3, true), idList(10, 11, 12))
		sameIDs(t, "transitive memberOf principal 20", memberOf(t, s, 20, true), idList(10))
		sameIDs(t, "transitive memberOf user 4", memberOf(t, s, 4, true), nil)
		for _, c := range []struct {
			group, member int
			want          bool
		}{{10, 3, true}, {10, 12, true}, {12, 10, false}, {11, 1, false}, {13, 1, false}, {10, 10, false}} {
			got, err := s.IsTransitiveMember(ctx, id(c.group), id(c.member))
			ok(t, err)
			if got != c.want {
				t.Errorf("IsTransitiveMember(%d, %d) = %v, want %v", c.group, c.member, got, c.want)
			}
		}
	})

	t.Run("ObjectsCarryTheirKind", func(t *testing.T) {
		s := newStore(t)
		directory(t, s)
		p, err := s.ListMembers(ctx, id(10), false, store.Query{})
		ok(t, err)
		want := map[string]store.ObjectKind{id(1): store.KindUser, id(11): store.KindGroup, id(20): store.KindServicePrincipal}
		for _, o := range p.Items {
			set := 0
			for _, b := range []bool{o.User != nil, o.Group != nil, o.ServicePrincipal != nil} {
				if b {
					set++
				}
			}
			if o.Kind != want[o.ID()] || set != 1 {
				t.Errorf("member %s: kind %q with %d objects set", o.ID(), o.Kind, set)
			}
		}
		if u := p.Items[0].User; u == nil || u.UserPrincipalName != "user1@example.com" {
			t.Errorf("first member = %+v, want user 1 in full", p.Items[0])
		}
	})

	t.Run("Errors", func(t *testing.T) {
		s := newStore(t)
		directory(t, s)
		isErr(t, "duplicate membership", s.AddMember(ctx, id(10), id(1), store.KindUser), store.ErrConflict)
		isErr(t, "unknown group", s.AddMember(ctx, id(99), id(1), store.KindUser), store.ErrNotFound)
		isErr(t, "unknown user", s.AddMember(ctx, id(10), id(99), store.KindUser), store.ErrNotFound)
		isErr(t, "group id as a user", s.AddMember(ctx, id(13), id(12), store.KindUser), store.ErrNotFound)
		isErr(t, "user id as a group", s.AddMember(ctx, id(13), id(4), store.KindGroup), store.ErrNotFound)
		isErr(t, "remove non-member", s.RemoveMember(ctx, id(13), id(4)), store.ErrNotFound)
		ok(t, s.RemoveMember(ctx, id(10), id(11)))
		sameIDs(t, "transitive members after removal", members(t, s, 10, true), idList(1, 20))
	})

	t.Run("Cycles", func(t *testing.T) {
		s := newStore(t)
		directory(t, s)
		// 12 ⊃ 10 closes the loop 10 ⊃ 11 ⊃ 12 ⊃ 10.
		ok(t, s.AddMember(ctx, id(12), id(10), store.KindGroup))
		ok(t, s.AddMember(ctx, id(12), id(12), store.KindGroup)) // and a self-loop
		all := idList(1, 2, 3, 10, 11, 12, 20)
		for _, g := range []int{10, 11, 12} {
			sameIDs(t, "transitive members in a cycle", members(t, s, g, true), all)
			is, err := s.IsTransitiveMember(ctx, id(g), id(g))
			ok(t, err)
			if !is {
				t.Errorf("group %d is not its own transitive member in a cycle", g)
			}
		}
		uids, err := s.TransitiveMemberUserIDs(ctx, id(11))
		ok(t, err)
		sameIDs(t, "users in a cycle", uids, idList(1, 2, 3))
		sameIDs(t, "memberOf in a cycle", memberOf(t, s, 1, true), idList(10, 11, 12))
		n, err := s.CountMembers(ctx, id(11), true)
		ok(t, err)
		if n != len(all) {
			t.Errorf("CountMembers in a cycle = %d, want %d", n, len(all))
		}
	})

	t.Run("Cascades", func(t *testing.T) {
		s := newStore(t)
		directory(t, s)
		ok(t, s.DeleteUser(ctx, id(2)))
		sameIDs(t, "members of 11 after deleting user 2", members(t, s, 11, false), idList(12))
		ok(t, s.DeleteServicePrincipal(ctx, id(20)))
		sameIDs(t, "members of 10 after deleting principal 20", members(t, s, 10, false), idList(1, 11))
		ok(t, s.DeleteGroup(ctx, id(11)))
		sameIDs(t, "members of 10 after deleting group 11", members(t, s, 10, true), idList(1))
		sameIDs(t, "memberOf 12 after deleting group 11", memberOf(t, s, 12, true), nil)
		// Group 12 keeps its own members.
		sameIDs(t, "members of 12", members(t, s, 12, false), idList(3))
	})

	t.Run("PagingFilterAndSearch", func(t *testing.T) {
		s := newStore(t)
		directory(t, s)
		for _, top := range []int{1, 2, 4} {
			objs := all(t, top, func(q store.Query) (store.Page[store.DirectoryObject], error) {
				return s.ListMembers(ctx, id(10), true, q)
			}, store.Query{})
			sameIDs(t, "paged transitive members", ids(objs, objectID), idList(1, 2, 3, 11, 12, 20))
		}
		desc := all(t, 2, func(q store.Query) (store.Page[store.DirectoryObject], error) {
			return s.ListMembers(ctx, id(10), true, q)
		}, store.Query{OrderBy: orderBy(t, "id desc")})
		sameIDs(t, "members by id desc", ids(desc, objectID), idList(20, 12, 11, 3, 2, 1))
		for _, c := range []struct{ filter, search string }{
			{filter: "startsWith(displayName, 'user')"},
			{search: `"displayName:user"`},
		} {
			p, err := s.ListMembers(ctx, id(10), true, store.Query{Filter: filter(t, c.filter), Search: search(t, c.search)})
			ok(t, err)
			sameIDs(t, "members matching "+c.filter+c.search, ids(p.Items, objectID), idList(1, 2, 3))
		}
		// A user-only property: groups and principals do not match.
		p, err := s.ListMembers(ctx, id(10), true, store.Query{Filter: filter(t, "userPrincipalName eq 'USER2@example.com'")})
		ok(t, err)
		sameIDs(t, "members by UPN", ids(p.Items, objectID), idList(2))
		p, err = s.ListMembers(ctx, id(10), true, store.Query{Filter: filter(t, "displayName eq 'robot' or displayName eq 'group2'")})
		ok(t, err)
		sameIDs(t, "members by displayName", ids(p.Items, objectID), idList(12, 20))
		_, err = s.ListMembers(ctx, id(10), true, store.Query{Filter: filter(t, "noSuchProperty eq 'x'")})
		isErr(t, "unknown property", err, errUnsupported)
		gs, err := s.ListMemberOf(ctx, id(3), true, store.Query{Filter: filter(t, "displayName ne 'group1'"), OrderBy: orderBy(t, "displayName desc")})
		ok(t, err)
		sameIDs(t, "filtered memberOf", ids(gs.Items, groupID), idList(12, 10))
	})
}
