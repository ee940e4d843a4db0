package storetest

import (
	"slices"
	"testing"
	"time"

	"github.com/vigil-idp/vigil/internal/store"
)

// Role template ids used by the suite (Entra's).
const (
	globalAdmin = "62e90394-69f5-4237-9190-012177145e10"
	userAdmin   = "fe930be7-5e62-47db-91af-98c3a49a38b1"
	helpdesk    = "729827e3-9c14-49f7-bb1b-9608f156bbb8"
	reader      = "88d8e3e3-8f55-4a1e-953a-9b9898b8876b"
)

func assignment(n int, principal int, kind store.ObjectKind, role string) store.RoleAssignment {
	return store.RoleAssignment{
		ID: id(n), PrincipalID: id(principal), PrincipalKind: kind, RoleDefinitionID: role,
		DirectoryScopeID: "/", CreatedDateTime: at(time.Duration(n) * time.Second),
	}
}

func testRoleAssignments(t *testing.T, newStore func(t *testing.T) store.Store) {
	t.Run("CRUD", func(t *testing.T) {
		s := newStore(t)
		directory(t, s)
		a := assignment(30, 1, store.KindUser, globalAdmin)
		b := assignment(31, 10, store.KindGroup, reader)
		c := assignment(32, 20, store.KindServicePrincipal, reader)
		for _, x := range []store.RoleAssignment{a, b, c} {
			roundTrip(t, x, s.CreateRoleAssignment, map[string]func(store.RoleAssignment) (store.RoleAssignment, error){
				"GetRoleAssignment": func(x store.RoleAssignment) (store.RoleAssignment, error) { return s.GetRoleAssignment(ctx, x.ID) },
			})
		}
		other := a
		other.ID = id(33)
		isErr(t, "same principal, role and scope", s.CreateRoleAssignment(ctx, other), store.ErrConflict)
		other.DirectoryScopeID = "/administrativeUnits/x"
		ok(t, s.CreateRoleAssignment(ctx, other)) // another scope is another assignment
		isErr(t, "duplicate id", s.CreateRoleAssignment(ctx, assignment(30, 2, store.KindUser, helpdesk)), store.ErrConflict)
		isErr(t, "unknown principal", s.CreateRoleAssignment(ctx, assignment(34, 99, store.KindUser, helpdesk)), store.ErrNotFound)
		isErr(t, "principal of the wrong kind", s.CreateRoleAssignment(ctx, assignment(34, 1, store.KindGroup, helpdesk)), store.ErrNotFound)

		for _, q := range []struct {
			principal, role string
			want            []string
		}{
			{"", "", idList(30, 31, 32, 33)},
			{id(1), "", idList(30, 33)},
			{"", reader, idList(31, 32)},
			{id(20), reader, idList(32)},
			{id(4), "", nil},
		} {
			got, err := s.ListRoleAssignments(ctx, q.principal, q.role)
			ok(t, err)
			sameIDs(t, "ListRoleAssignments("+q.principal+", "+q.role+")", ids(got, raID), q.want)
		}
		ok(t, s.DeleteRoleAssignment(ctx, id(33)))
		_, err := s.GetRoleAssignment(ctx, id(33))
		isErr(t, "deleted assignment", err, store.ErrNotFound)
		isErr(t, "delete again", s.DeleteRoleAssignment(ctx, id(33)), store.ErrNotFound)
	})

	t.Run("Cascades", func(t *testing.T) {
		s := newStore(t)
		directory(t, s)
		ok(t, s.CreateRoleAssignment(ctx, assignment(30, 1, store.KindUser, globalAdmin)))
		ok(t, s.CreateRoleAssignment(ctx, assignment(31, 10, store.KindGroup, reader)))
		ok(t, s.CreateRoleAssignment(ctx, assignment(32, 20, store.KindServicePrincipal, reader)))
		ok(t, s.DeleteUser(ctx, id(1)))
		ok(t, s.DeleteGroup(ctx, id(10)))
		ok(t, s.DeleteServicePrincipal(ctx, id(20)))
		got, err := s.ListRoleAssignments(ctx, "", "")
		ok(t, err)
		sameIDs(t, "assignments after deleting their principals", ids(got, raID), nil)
	})

	t.Run("EffectiveRoleIDs", func(t *testing.T) {
		s := newStore(t)
		directory(t, s)
		// 10 and 12 are role-assignable, 11 is not.
		for _, g := range []int{10, 12} {
			_, err := s.UpdateGroup(ctx, id(g), func(x store.Group) (store.Group, error) {
				x.IsAssignableToRole = true
				return x, nil
			})
			ok(t, err)
		}
		ok(t, s.CreateRoleAssignment(ctx, assignment(30, 3, store.KindUser, helpdesk)))
		ok(t, s.CreateRoleAssignment(ctx, assignment(31, 3, store.KindUser, reader)))
		ok(t, s.CreateRoleAssignment(ctx, assignment(32, 12, store.KindGroup, reader)))    // duplicate of a direct role
		ok(t, s.CreateRoleAssignment(ctx, assignment(33, 11, store.KindGroup, userAdmin))) // not role-assignable
		ok(t, s.CreateRoleAssignment(ctx, assignment(34, 10, store.KindGroup, globalAdmin)))
		for _, c := range []struct {
			user int
			want []string
		}{
			{3, []string{globalAdmin, helpdesk, reader}}, // direct + 12 + (via 11) 10
			{2, []string{globalAdmin}},                   // 11 → 10
			{1, []string{globalAdmin}},
			{4, nil},
			{99, nil},
		} {
			got, err := s.EffectiveRoleIDs(ctx, id(c.user))
			ok(t, err)
			want := slices.Clone(c.want)
			slices.Sort(want)
			sameIDs(t, "EffectiveRoleIDs", got, want)
		}
	})
}
