package storetest

import (
	"testing"
	"time"

	"github.com/vigil-idp/vigil/internal/store"
)

// graphAppID is Microsoft Graph's appId: its service principal has no
// application in the tenant.
const graphAppID = "00000003-0000-0000-c000-000000000000"

func fullApp(n int, name string) store.Application {
	return store.Application{
		ID:                       id(n),
		AppID:                    id(n + 1000),
		DisplayName:              name,
		IdentifierURIs:           []string{"api://" + name},
		WebRedirectURIs:          []string{"https://" + name + ".example.com/cb", "https://" + name + ".example.com/cb2"},
		PublicClientRedirectURIs: []string{"http://localhost/callback"},
		SPARedirectURIs:          []string{},
		IsFallbackPublicClient:   true,
		CreatedDateTime:          at(time.Duration(n) * time.Minute),
		PostLogoutRedirectURIs:   []string{"https://" + name + ".example.com/bye"},
		BackchannelLogoutURI:     "https://" + name + ".example.com/backchannel",
		IDTokenSignedResponseAlg: "ES256",
		JWKS:                     []byte(`{"keys":[{"kty":"EC","crv":"P-256","x":"AA","y":"AA"}]}`),
		JWKSURI:                  "https://" + name + ".example.com/jwks",
	}
}

func credential(app, n int, start time.Time) store.PasswordCredential {
	return store.PasswordCredential{
		KeyID: id(n), ApplicationID: id(app), DisplayName: "secret", Hint: "abc",
		SecretHash: []byte{0, 1, 2, 0xff}, StartDateTime: start, EndDateTime: start.Add(365 * 24 * time.Hour),
	}
}

func testApplications(t *testing.T, newStore func(t *testing.T) store.Store) {
	t.Run("RoundTrip", func(t *testing.T) {
		s := newStore(t)
		minimal := store.Application{ID: id(2), AppID: id(1002), DisplayName: "bare", CreatedDateTime: t0}
		for _, a := range []store.Application{fullApp(1, "portal"), minimal} {
			roundTrip(t, a, s.CreateApplication, map[string]func(store.Application) (store.Application, error){
				"GetApplication":        func(a store.Application) (store.Application, error) { return s.GetApplication(ctx, a.ID) },
				"GetApplicationByAppID": func(a store.Application) (store.Application, error) { return s.GetApplicationByAppID(ctx, a.AppID) },
			})
		}
		_, err := s.GetApplication(ctx, id(9))
		isErr(t, "GetApplication", err, store.ErrNotFound)
		_, err = s.GetApplicationByAppID(ctx, id(9))
		isErr(t, "GetApplicationByAppID", err, store.ErrNotFound)
		dup := minimal
		dup.ID = id(3)
		isErr(t, "duplicate appId", s.CreateApplication(ctx, dup), store.ErrConflict)
		p, err := s.ListApplications(ctx, store.Query{})
		ok(t, err)
		sameIDs(t, "ListApplications", ids(p.Items, appID), idList(1, 2))
	})

	t.Run("Update", func(t *testing.T) {
		s := newStore(t)
		a := fullApp(1, "portal")
		ok(t, s.CreateApplication(ctx, a))
		ok(t, s.CreateApplication(ctx, fullApp(2, "other")))
		want := a
		want.WebRedirectURIs = nil
		want.DisplayName = "Portal 2"
		got, err := s.UpdateApplication(ctx, a.ID, func(old store.Application) (store.Application, error) {
			old.WebRedirectURIs, old.DisplayName = nil, "Portal 2"
			return old, nil
		})
		ok(t, err)
		same(t, "UpdateApplication", got, want)
		_, err = s.UpdateApplication(ctx, a.ID, func(old store.Application) (store.Application, error) {
			old.AppID = id(1002)
			return old, nil
		})
		isErr(t, "appId taken", err, store.ErrConflict)
		_, err = s.UpdateApplication(ctx, id(9), func(old store.Application) (store.Application, error) { return old, nil })
		isErr(t, "unknown application", err, store.ErrNotFound)
	})

	t.Run("PasswordCredentials", func(t *testing.T) {
		s := newStore(t)
		ok(t, s.CreateApplication(ctx, fullApp(1, "portal")))
		late, early := credential(1, 50, at(time.Hour)), credential(1, 51, at(0))
		early.SecretHash = nil
		ok(t, s.AddPasswordCredential(ctx, late))
		ok(t, s.AddPasswordCredential(ctx, early))
		got, err := s.ListPasswordCredentials(ctx, id(1))
		ok(t, err)
		same(t, "ListPasswordCredentials (by start)", got, []store.PasswordCredential{early, late})
		isErr(t, "duplicate key id", s.AddPasswordCredential(ctx, credential(1, 50, t0)), store.ErrConflict)
		isErr(t, "unknown application", s.AddPasswordCredential(ctx, credential(9, 52, t0)), store.ErrNotFound)
		ok(t, s.RemovePasswordCredential(ctx, id(1), id(50)))
		isErr(t, "remove again", s.RemovePasswordCredential(ctx, id(1), id(50)), store.ErrNotFound)
		got, err = s.ListPasswordCredentials(ctx, id(1))
		ok(t, err)
		sameIDs(t, "credentials after removal", ids(got, credID), idList(51))
	})

	t.Run("GetClientByAppID", func(t *testing.T) {
		s := newStore(t)
		a := fullApp(1, "portal")
		ok(t, s.CreateApplication(ctx, a))
		c, err := s.GetClientByAppID(ctx, a.AppID)
		ok(t, err)
		same(t, "client without secrets or principal", c, store.Client{Application: a})

		late, early := credential(1, 50, at(time.Hour)), credential(1, 51, at(0))
		early.SecretHash = nil
		ok(t, s.AddPasswordCredential(ctx, late))
		ok(t, s.AddPasswordCredential(ctx, early))
		ok(t, s.CreateServicePrincipal(ctx, store.ServicePrincipal{ID: id(2), AppID: a.AppID, DisplayName: "portal", CreatedDateTime: t0}))
		other := fullApp(3, "other")
		ok(t, s.CreateApplication(ctx, other))
		ok(t, s.AddPasswordCredential(ctx, credential(3, 52, t0)))
		c, err = s.GetClientByAppID(ctx, a.AppID)
		ok(t, err)
		same(t, "client with secrets (by start) and principal", c,
			store.Client{Application: a, Secrets: []store.PasswordCredential{early, late}, ServicePrincipalID: id(2)})

		ok(t, s.RemovePasswordCredential(ctx, id(1), id(50)))
		ok(t, s.RemovePasswordCredential(ctx, id(1), id(51)))
		c, err = s.GetClientByAppID(ctx, a.AppID)
		ok(t, err)
		same(t, "client after its secrets were removed", c, store.Client{Application: a, ServicePrincipalID: id(2)})
		_, err = s.GetClientByAppID(ctx, id(9))
		isErr(t, "unknown appId", err, store.ErrNotFound)
		_, err = s.GetClientByAppID(ctx, a.ID)
		isErr(t, "object id is not an appId", err, store.ErrNotFound)
	})

	t.Run("DeleteCascades", func(t *testing.T) {
		s := newStore(t)
		a := fullApp(1, "portal")
		ok(t, s.CreateApplication(ctx, a))
		ok(t, s.AddPasswordCredential(ctx, credential(1, 50, t0)))
		ok(t, s.CreateServicePrincipal(ctx, store.ServicePrincipal{ID: id(2), AppID: a.AppID, DisplayName: "portal", CreatedDateTime: t0}))
		ok(t, s.CreateServicePrincipal(ctx, store.ServicePrincipal{ID: id(3), AppID: graphAppID, DisplayName: "Microsoft Graph", CreatedDateTime: t0}))
		ok(t, s.CreateAppRoleAssignment(ctx, store.AppRoleAssignment{ID: id(4), PrincipalID: id(2), ResourceID: id(3), AppRoleID: id(5), CreatedDateTime: t0}))
		ok(t, s.CreateGroup(ctx, minimalGroup(6, "g")))
		ok(t, s.AddMember(ctx, id(6), id(2), store.KindServicePrincipal))

		ok(t, s.DeleteApplication(ctx, a.ID))
		isErr(t, "delete again", s.DeleteApplication(ctx, a.ID), store.ErrNotFound)
		_, err := s.GetServicePrincipal(ctx, id(2))
		isErr(t, "the app's service principal", err, store.ErrNotFound)
		got, err := s.ListPasswordCredentials(ctx, a.ID)
		ok(t, err)
		sameIDs(t, "secrets of a deleted app", ids(got, credID), nil)
		aras, err := s.ListAppRoleAssignments(ctx, id(2))
		ok(t, err)
		sameIDs(t, "grants of the deleted principal", ids(aras, araID), nil)
		n, err := s.CountMembers(ctx, id(6), false)
		ok(t, err)
		if n != 0 {
			t.Errorf("deleted principal still a member")
		}
		_, err = s.GetServicePrincipal(ctx, id(3))
		ok(t, err) // Graph's principal is untouched
	})
}

func testIdentifierURIs(t *testing.T, newStore func(t *testing.T) store.Store) {
	s := newStore(t)
	a, b := fullApp(1, "portal"), fullApp(2, "other")
	a.IdentifierURIs = []string{"api://portal", "https://portal.example.com/API", "api://portal"} // listed twice: counts once
	ok(t, s.CreateApplication(ctx, a))
	ok(t, s.CreateApplication(ctx, b))
	got, err := s.GetApplication(ctx, a.ID)
	ok(t, err)
	same(t, "identifierUris as written", got.IdentifierURIs, a.IdentifierURIs)

	for _, uri := range []string{"api://portal", "API://Portal", "https://portal.example.com/api"} {
		got, err := s.GetApplicationByIdentifierURI(ctx, uri)
		ok(t, err)
		sameIDs(t, "GetApplicationByIdentifierURI "+uri, []string{got.ID}, idList(1))
	}
	_, err = s.GetApplicationByIdentifierURI(ctx, "api://nobody")
	isErr(t, "unknown identifier URI", err, store.ErrNotFound)

	c := fullApp(3, "third")
	c.IdentifierURIs = []string{"api://third", "API://PORTAL"}
	isErr(t, "create with a URI another app holds (other case)", s.CreateApplication(ctx, c), store.ErrConflict)
	_, err = s.GetApplication(ctx, c.ID)
	isErr(t, "app of the refused create", err, store.ErrNotFound)
	_, err = s.GetApplicationByIdentifierURI(ctx, "api://third")
	isErr(t, "URI of the refused create", err, store.ErrNotFound)

	_, err = s.UpdateApplication(ctx, b.ID, func(old store.Application) (store.Application, error) {
		old.IdentifierURIs = append(old.IdentifierURIs, "https://PORTAL.example.com/API")
		return old, nil
	})
	isErr(t, "update to a URI another app holds", err, store.ErrConflict)
	got, err = s.GetApplication(ctx, b.ID)
	ok(t, err)
	same(t, "app after the refused update", got, b)

	// Releasing a URI (update, then delete) lets another app take it.
	_, err = s.UpdateApplication(ctx, a.ID, func(old store.Application) (store.Application, error) {
		old.IdentifierURIs = []string{"https://portal.example.com/API"}
		return old, nil
	})
	ok(t, err)
	_, err = s.UpdateApplication(ctx, b.ID, func(old store.Application) (store.Application, error) {
		old.IdentifierURIs = []string{"api://portal"}
		return old, nil
	})
	ok(t, err)
	got, err = s.GetApplicationByIdentifierURI(ctx, "api://portal")
	ok(t, err)
	sameIDs(t, "owner of a URI after it moved", []string{got.ID}, idList(2))
	ok(t, s.DeleteApplication(ctx, a.ID))
	c.IdentifierURIs = []string{"https://portal.example.com/api"}
	ok(t, s.CreateApplication(ctx, c))

	// An app may keep its own URIs through an update that touches others.
	_, err = s.UpdateApplication(ctx, c.ID, func(old store.Application) (store.Application, error) {
		old.DisplayName = "renamed"
		return old, nil
	})
	ok(t, err)
	p, err := s.ListApplications(ctx, store.Query{Filter: filter(t, "identifierUris/any(x: x eq 'api://portal')")})
	ok(t, err)
	sameIDs(t, "filter on identifierUris", ids(p.Items, appID), idList(2))
}

func testServicePrincipals(t *testing.T, newStore func(t *testing.T) store.Store) {
	t.Run("CRUD", func(t *testing.T) {
		s := newStore(t)
		graph := store.ServicePrincipal{ID: id(1), AppID: graphAppID, DisplayName: "Microsoft Graph", CreatedDateTime: t0}
		client := store.ServicePrincipal{ID: id(2), AppID: id(1002), DisplayName: "client", CreatedDateTime: at(time.Second)}
		for _, p := range []store.ServicePrincipal{graph, client} {
			roundTrip(t, p, s.CreateServicePrincipal, map[string]func(store.ServicePrincipal) (store.ServicePrincipal, error){
				"GetServicePrincipal": func(p store.ServicePrincipal) (store.ServicePrincipal, error) {
					return s.GetServicePrincipal(ctx, p.ID)
				},
				"GetServicePrincipalByAppID": func(p store.ServicePrincipal) (store.ServicePrincipal, error) {
					return s.GetServicePrincipalByAppID(ctx, p.AppID)
				},
			})
		}
		dup := client
		dup.ID = id(3)
		isErr(t, "second principal for an appId", s.CreateServicePrincipal(ctx, dup), store.ErrConflict)
		_, err := s.GetServicePrincipalByAppID(ctx, id(9))
		isErr(t, "unknown appId", err, store.ErrNotFound)
		p, err := s.ListServicePrincipals(ctx, store.Query{Filter: filter(t, "appId eq '"+graphAppID+"'")})
		ok(t, err)
		sameIDs(t, "ListServicePrincipals by appId", ids(p.Items, spID), idList(1))
		isErr(t, "delete unknown", s.DeleteServicePrincipal(ctx, id(9)), store.ErrNotFound)
	})

	t.Run("AppRoleAssignments", func(t *testing.T) {
		s := newStore(t)
		ok(t, s.CreateServicePrincipal(ctx, store.ServicePrincipal{ID: id(1), AppID: graphAppID, DisplayName: "Microsoft Graph", CreatedDateTime: t0}))
		ok(t, s.CreateServicePrincipal(ctx, store.ServicePrincipal{ID: id(2), AppID: id(1002), DisplayName: "client", CreatedDateTime: t0}))
		grant := func(n, role int) store.AppRoleAssignment {
			return store.AppRoleAssignment{ID: id(n), PrincipalID: id(2), ResourceID: id(1), AppRoleID: id(role), CreatedDateTime: at(time.Duration(n) * time.Second)}
		}
		ok(t, s.CreateAppRoleAssignment(ctx, grant(11, 100)))
		ok(t, s.CreateAppRoleAssignment(ctx, grant(10, 101)))
		isErr(t, "same role again", s.CreateAppRoleAssignment(ctx, grant(12, 100)), store.ErrConflict)
		bad := grant(13, 102)
		bad.PrincipalID = id(9)
		isErr(t, "unknown principal", s.CreateAppRoleAssignment(ctx, bad), store.ErrNotFound)
		bad.PrincipalID, bad.ResourceID = id(2), id(9)
		isErr(t, "unknown resource", s.CreateAppRoleAssignment(ctx, bad), store.ErrNotFound)
		got, err := s.ListAppRoleAssignments(ctx, id(2))
		ok(t, err)
		same(t, "ListAppRoleAssignments (by id)", got, []store.AppRoleAssignment{grant(10, 101), grant(11, 100)})
		ok(t, s.CreateServicePrincipal(ctx, store.ServicePrincipal{ID: id(3), AppID: id(1003), DisplayName: "other api", CreatedDateTime: t0}))
		ok(t, s.CreateAppRoleAssignment(ctx, store.AppRoleAssignment{ID: id(14), PrincipalID: id(2), ResourceID: id(3), AppRoleID: id(103), CreatedDateTime: t0}))
		got, err = s.ListAppRoleAssignmentsOnResource(ctx, id(1))
		ok(t, err)
		same(t, "ListAppRoleAssignmentsOnResource (that resource, by id)", got, []store.AppRoleAssignment{grant(10, 101), grant(11, 100)})
		got, err = s.ListAppRoleAssignmentsOnResource(ctx, id(2))
		ok(t, err)
		sameIDs(t, "grants on a principal that is no resource", ids(got, araID), nil)
		roleIDs, err := s.AppRoleIDsOnResource(ctx, id(2), graphAppID)
		ok(t, err)
		same(t, "AppRoleIDsOnResource (sorted, that resource only)", roleIDs, idList(100, 101))
		roleIDs, err = s.AppRoleIDsOnResource(ctx, id(2), id(9))
		ok(t, err)
		if len(roleIDs) != 0 {
			t.Errorf("AppRoleIDsOnResource of a resource without a service principal = %v, want none", roleIDs)
		}
		ok(t, s.DeleteAppRoleAssignment(ctx, id(14)))
		roleIDs, err = s.AppRoleIDsOnResource(ctx, id(2), id(1003))
		ok(t, err)
		if len(roleIDs) != 0 {
			t.Errorf("AppRoleIDsOnResource after the grant was deleted = %v, want none", roleIDs)
		}
		ok(t, s.DeleteAppRoleAssignment(ctx, id(10)))
		isErr(t, "delete again", s.DeleteAppRoleAssignment(ctx, id(10)), store.ErrNotFound)
		// Deleting the resource removes the grants on it.
		ok(t, s.DeleteServicePrincipal(ctx, id(1)))
		got, err = s.ListAppRoleAssignments(ctx, id(2))
		ok(t, err)
		sameIDs(t, "grants after deleting the resource", ids(got, araID), nil)
	})

	t.Run("DeleteCascades", func(t *testing.T) {
		s := newStore(t)
		directory(t, s) // principal 20 is a member of group 10
		ok(t, s.CreateServicePrincipal(ctx, store.ServicePrincipal{ID: id(21), AppID: graphAppID, DisplayName: "Microsoft Graph", CreatedDateTime: t0}))
		ok(t, s.CreateAppRoleAssignment(ctx, store.AppRoleAssignment{ID: id(40), PrincipalID: id(20), ResourceID: id(21), AppRoleID: id(41), CreatedDateTime: t0}))
		ok(t, s.CreateRoleAssignment(ctx, assignment(30, 20, store.KindServicePrincipal, reader)))
		ok(t, s.CreateRoleAssignment(ctx, assignment(31, 1, store.KindUser, reader)))

		ok(t, s.DeleteServicePrincipal(ctx, id(20)))
		isErr(t, "delete again", s.DeleteServicePrincipal(ctx, id(20)), store.ErrNotFound)
		sameIDs(t, "members of the group it was in", members(t, s, 10, false), idList(1, 11))
		got, err := s.ListRoleAssignments(ctx, "", "")
		ok(t, err)
		sameIDs(t, "role assignments left", ids(got, raID), idList(31))
		aras, err := s.ListAppRoleAssignments(ctx, id(20))
		ok(t, err)
		sameIDs(t, "grants it held", ids(aras, araID), nil)
		_, err = s.GetRoleAssignment(ctx, id(30))
		isErr(t, "its role assignment", err, store.ErrNotFound)
	})
}
