package sqlstore_test

import (
	"database/sql"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/vigil-idp/vigil/internal/store"
	"github.com/vigil-idp/vigil/internal/store/sqlstore"
	"github.com/vigil-idp/vigil/internal/store/sqlstore/sqltest"
)

const (
	ccApp   = "0000000c-0000-4000-8000-000000000001"
	ccAppID = "0000000c-0000-4000-8000-000000000002"
	ccSP    = "0000000c-0000-4000-8000-000000000003"
	ccRes   = "0000000c-0000-4000-8000-000000000004"
	ccResID = "0000000c-0000-4000-8000-000000000005"
	ccRole  = "0000000c-0000-4000-8000-000000000006"
	ccGrant = "0000000c-0000-4000-8000-000000000007"
	ccKey   = "0000000c-0000-4000-8000-000000000008"
	ccUser  = "0000000c-0000-4000-8000-000000000009"
	ccGroup = "0000000c-0000-4000-8000-000000000010"
	ccAdmin = "0000000c-0000-4000-8000-000000000011" // a role template id
	ccHelp  = "0000000c-0000-4000-8000-000000000012"
	ccRA1   = "0000000c-0000-4000-8000-000000000013"
	ccRA2   = "0000000c-0000-4000-8000-000000000014"
)

// roleFixture is a user holding one directory role directly and one
// through a role-assignable group.
func roleFixture(t *testing.T, s *sqlstore.Store) {
	t.Helper()
	must(t, s.CreateUser(ctx, store.User{ID: ccUser, UserPrincipalName: "cached@example.com", DisplayName: "cached", AccountEnabled: true}))
	must(t, s.CreateGroup(ctx, store.Group{ID: ccGroup, DisplayName: "admins", MailNickname: "admins", SecurityEnabled: true, IsAssignableToRole: true}))
	must(t, s.AddMember(ctx, ccGroup, ccUser, store.KindUser))
	must(t, s.CreateRoleAssignment(ctx, store.RoleAssignment{ID: ccRA1, PrincipalID: ccUser, PrincipalKind: store.KindUser, RoleDefinitionID: ccHelp, DirectoryScopeID: "/"}))
	must(t, s.CreateRoleAssignment(ctx, store.RoleAssignment{ID: ccRA2, PrincipalID: ccGroup, PrincipalKind: store.KindGroup, RoleDefinitionID: ccAdmin, DirectoryScopeID: "/"}))
}

// dirRoles reads the user's directory roles twice (the second from the
// cache when it is on).
func dirRoles(t *testing.T, s *sqlstore.Store) []string {
	t.Helper()
	var got []string
	for range 2 {
		r, err := s.EffectiveRoleIDs(ctx, ccUser)
		must(t, err)
		got = r
	}
	return got
}

// clientFixture is a client with one secret and one app role on a
// resource.
func clientFixture(t *testing.T, s *sqlstore.Store) {
	t.Helper()
	now := time.Now().UTC().Truncate(time.Second)
	must(t, s.CreateApplication(ctx, store.Application{ID: ccApp, AppID: ccAppID, DisplayName: "cached"}))
	must(t, s.AddPasswordCredential(ctx, store.PasswordCredential{KeyID: ccKey, ApplicationID: ccApp,
		SecretHash: []byte("hash"), StartDateTime: now, EndDateTime: now.Add(time.Hour)}))
	must(t, s.CreateServicePrincipal(ctx, store.ServicePrincipal{ID: ccSP, AppID: ccAppID, DisplayName: "cached"}))
	must(t, s.CreateServicePrincipal(ctx, store.ServicePrincipal{ID: ccRes, AppID: ccResID, DisplayName: "resource"}))
	must(t, s.CreateAppRoleAssignment(ctx, store.AppRoleAssignment{ID: ccGrant, PrincipalID: ccSP, ResourceID: ccRes, AppRoleID: ccRole}))
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// clientState is what the cache serves: secrets, principal and roles.
func clientState(t *testing.T, s *sqlstore.Store) (secrets int, sp string, roles []string) {
	t.Helper()
	c, err := s.GetClientByAppID(ctx, ccAppID)
	if errors.Is(err, store.ErrNotFound) {
		return -1, "", nil
	}
	must(t, err)
	roles, err = s.AppRoleIDsOnResource(ctx, ccSP, ccResID)
	must(t, err)
	return len(c.Secrets), c.ServicePrincipalID, roles
}

// TestLookupCacheServesCommittedChanges: a change made through the store
// (at the Store level or in InTx) is read back at once, from a warm cache;
// a rolled-back change is not.
func TestLookupCacheServesCommittedChanges(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, s *sqlstore.Store) {
		waitUsable(t, s)
		// Absent service principals are cached until one is created.
		for range 2 {
			if _, err := s.GetServicePrincipalByAppID(ctx, ccAppID); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("principal by appId before it exists: %v", err)
			}
			if _, err := s.GetServicePrincipal(ctx, ccSP); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("principal by id before it exists: %v", err)
			}
		}
		clientFixture(t, s)
		if sp, err := s.GetServicePrincipalByAppID(ctx, ccAppID); err != nil || sp.ID != ccSP {
			t.Fatalf("principal by appId once created: %v %v", sp, err)
		}
		if sp, err := s.GetServicePrincipal(ctx, ccSP); err != nil || sp.AppID != ccAppID {
			t.Fatalf("principal by id once created: %v %v", sp, err)
		}
		for range 2 { // the second read is served from the cache
			if n, sp, roles := clientState(t, s); n != 1 || sp != ccSP || !slices.Equal(roles, []string{ccRole}) {
				t.Fatalf("fixture: %d secrets, principal %q, roles %v", n, sp, roles)
			}
		}
		if s.LookupCacheEntries() != 2 {
			t.Fatalf("cache holds %d entries after two reads, want 2", s.LookupCacheEntries())
		}

		// Roll back a removal: nothing changes.
		boom := errors.New("boom")
		err := s.InTx(ctx, func(tx store.Tx) error {
			must(t, tx.RemovePasswordCredential(ctx, ccApp, ccKey))
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatalf("InTx = %v", err)
		}
		if n, _, _ := clientState(t, s); n != 1 {
			t.Fatalf("after a rolled-back removal: %d secrets, want 1", n)
		}

		// In a transaction.
		must(t, s.InTx(ctx, func(tx store.Tx) error { return tx.RemovePasswordCredential(ctx, ccApp, ccKey) }))
		if n, _, _ := clientState(t, s); n != 0 {
			t.Fatalf("after InTx removed the secret: %d secrets, want 0", n)
		}
		// At the Store level.
		for range 2 {
			if _, err := s.GetServicePrincipal(ctx, ccRes); err != nil {
				t.Fatal(err)
			}
		}
		must(t, s.DeleteAppRoleAssignment(ctx, ccGrant))
		if _, _, roles := clientState(t, s); len(roles) != 0 {
			t.Fatalf("after the grant was deleted: roles %v", roles)
		}
		clientState(t, s) // warm again
		must(t, s.DeleteServicePrincipal(ctx, ccRes))
		if _, err := s.GetServicePrincipal(ctx, ccRes); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("deleted service principal still served: %v", err)
		}
		must(t, s.DeleteApplication(ctx, ccApp))
		if n, _, _ := clientState(t, s); n != -1 {
			t.Fatal("deleted application still served")
		}

		// Directory roles: direct and through a group.
		roleFixture(t, s)
		want := []string{ccAdmin, ccHelp}
		slices.Sort(want)
		if got := dirRoles(t, s); !slices.Equal(got, want) {
			t.Fatalf("roles %v, want %v", got, want)
		}
		must(t, s.RemoveMember(ctx, ccGroup, ccUser))
		if got := dirRoles(t, s); !slices.Equal(got, []string{ccHelp}) {
			t.Fatalf("roles after leaving the group %v, want only the direct one", got)
		}
		must(t, s.AddMember(ctx, ccGroup, ccUser, store.KindUser))
		if got := dirRoles(t, s); !slices.Equal(got, want) {
			t.Fatalf("roles after joining again %v, want %v", got, want)
		}
		must(t, s.InTx(ctx, func(tx store.Tx) error { return tx.DeleteRoleAssignment(ctx, ccRA1) }))
		if got := dirRoles(t, s); !slices.Equal(got, []string{ccAdmin}) {
			t.Fatalf("roles after the direct assignment went %v", got)
		}
		must(t, s.DeleteGroup(ctx, ccGroup))
		if got := dirRoles(t, s); len(got) != 0 {
			t.Fatalf("roles after the group was deleted %v", got)
		}
	})
}

// waitUsable waits for the cache to be on (in PostgreSQL, for the
// listener, which the first read starts).
func waitUsable(t *testing.T, s *sqlstore.Store) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !s.LookupCacheUsable() {
		if time.Now().After(deadline) {
			t.Fatal("the lookup cache never became usable")
		}
		_, _ = s.GetClientByAppID(ctx, ccAppID)
		time.Sleep(5 * time.Millisecond)
	}
}

// TestLookupCacheAcrossNodes: in PostgreSQL a change made by another node,
// or by SQL outside Vigil, reaches a node's warm cache through the
// triggers' notifications; after the listener's connection is killed the
// cache is off until it listens again.
func TestLookupCacheAcrossNodes(t *testing.T) {
	dsn := sqltest.PostgresDSN(t)
	open := func() *sqlstore.Store {
		s, err := sqlstore.Open(ctx, dsn, quiet, sqlstore.WithMaxOpenConns(4))
		must(t, err)
		t.Cleanup(func() { s.Close() })
		return s
	}
	a, b := open(), open()
	clientFixture(t, a)
	waitUsable(t, b)
	clientState(t, b)
	clientState(t, b) // warm

	// eventually waits for b to serve what cond wants.
	eventually := func(what string, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatalf("node b still serves the old %s", what)
			}
			time.Sleep(2 * time.Millisecond)
		}
	}
	must(t, a.RemovePasswordCredential(ctx, ccApp, ccKey))
	eventually("secret", func() bool { n, _, _ := clientState(t, b); return n == 0 })

	admin, err := sql.Open("pgx", dsn) // in b's schema
	must(t, err)
	defer admin.Close()
	clientState(t, b)
	// Direct SQL in b's schema (a cascade from service_principals too).
	_, err = admin.ExecContext(ctx, "DELETE FROM service_principals WHERE id = $1", ccRes)
	must(t, err)
	eventually("grant", func() bool { _, _, roles := clientState(t, b); return len(roles) == 0 })

	// Kill b's listener: the cache goes off, then on again.
	var pid int
	must(t, admin.QueryRowContext(ctx, `SELECT pid FROM pg_stat_activity
		WHERE application_name = 'vigil-outbox-listener' AND query LIKE '%' || $1 || '%'`, b.OutboxChannel()).Scan(&pid))
	_, err = admin.ExecContext(ctx, "SELECT pg_terminate_backend($1)", pid)
	must(t, err)
	eventually("listener state", func() bool { return !b.LookupCacheUsable() })
	waitUsable(t, b)
	must(t, a.DeleteApplication(ctx, ccApp))
	eventually("application", func() bool { n, _, _ := clientState(t, b); return n == -1 })

	// Directory roles: a membership removed on a, then a user deleted by
	// SQL (the cascade removes the direct assignment).
	roleFixture(t, a)
	dirRoles(t, b)
	must(t, a.RemoveMember(ctx, ccGroup, ccUser))
	eventually("group membership", func() bool { return slices.Equal(dirRoles(t, b), []string{ccHelp}) })
	_, err = admin.ExecContext(ctx, "DELETE FROM users WHERE id = $1", ccUser)
	must(t, err)
	eventually("deleted user's roles", func() bool { return len(dirRoles(t, b)) == 0 })
}
