package storetest

import (
	"testing"
	"time"

	"github.com/vigil-idp/vigil/internal/store"
)

func fullGroup(n int, name string) store.Group {
	return store.Group{
		ID:                 id(n),
		DisplayName:        name,
		Description:        ptr("The " + name + " group"),
		MailNickname:       "nick" + name,
		SecurityEnabled:    true,
		MailEnabled:        true,
		GroupTypes:         []string{"Unified", "DynamicMembership"},
		IsAssignableToRole: true,
		CreatedDateTime:    at(time.Duration(n) * time.Minute),
	}
}

func minimalGroup(n int, name string) store.Group {
	return store.Group{ID: id(n), DisplayName: name, MailNickname: name, CreatedDateTime: at(time.Duration(n) * time.Minute)}
}

func testGroups(t *testing.T, newStore func(t *testing.T) store.Store) {
	t.Run("RoundTrip", func(t *testing.T) {
		s := newStore(t)
		empty := minimalGroup(3, "empty")
		empty.GroupTypes = []string{}
		empty.Description = ptr("")
		for _, g := range []store.Group{fullGroup(1, "Admins"), minimalGroup(2, "plain"), empty} {
			roundTrip(t, g, s.CreateGroup, map[string]func(store.Group) (store.Group, error){
				"GetGroup": func(g store.Group) (store.Group, error) { return s.GetGroup(ctx, g.ID) },
			})
		}
	})

	t.Run("NotFoundAndConflict", func(t *testing.T) {
		s := newStore(t)
		_, err := s.GetGroup(ctx, id(1))
		isErr(t, "GetGroup", err, store.ErrNotFound)
		_, err = s.UpdateGroup(ctx, id(1), func(g store.Group) (store.Group, error) { return g, nil })
		isErr(t, "UpdateGroup", err, store.ErrNotFound)
		isErr(t, "DeleteGroup", s.DeleteGroup(ctx, id(1)), store.ErrNotFound)
		ok(t, s.CreateGroup(ctx, minimalGroup(1, "a")))
		isErr(t, "duplicate id", s.CreateGroup(ctx, minimalGroup(1, "b")), store.ErrConflict)
	})

	t.Run("Update", func(t *testing.T) {
		s := newStore(t)
		g := fullGroup(1, "Admins")
		ok(t, s.CreateGroup(ctx, g))
		want := g
		want.Description = nil
		want.GroupTypes = nil
		want.IsAssignableToRole = false
		got, err := s.UpdateGroup(ctx, g.ID, func(old store.Group) (store.Group, error) {
			same(t, "updater input", old, g)
			old.Description, old.GroupTypes, old.IsAssignableToRole = nil, nil, false
			return old, nil
		})
		ok(t, err)
		same(t, "UpdateGroup result", got, want)
		_, err = s.UpdateGroup(ctx, g.ID, func(old store.Group) (store.Group, error) {
			old.DisplayName = "nope"
			return old, errStop
		})
		isErr(t, "failing updater", err, errStop)
		got, err = s.GetGroup(ctx, g.ID)
		ok(t, err)
		same(t, "GetGroup after updates", got, want)
	})
}
