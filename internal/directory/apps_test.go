package directory

import (
	"bytes"
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigil-idp/vigil/internal/authz"
	"github.com/vigil-idp/vigil/internal/odata"
	"github.com/vigil-idp/vigil/internal/store"
)

func TestApplicationValidation(t *testing.T) {
	long := "https://contoso.com/" + strings.Repeat("a", 240)
	tests := []struct {
		name string
		in   ApplicationInput
		msg  string // "" means valid
	}{
		{"missing displayName", ApplicationInput{}, "'displayName' is required"},
		{"empty displayName", ApplicationInput{DisplayName: Some("")}, "'displayName'"},
		{"web https", ApplicationInput{DisplayName: Some("a"), WebRedirectURIs: Some([]string{"https://app.contoso.com/signin-oidc"})}, ""},
		{"web http localhost any port", ApplicationInput{DisplayName: Some("a"), WebRedirectURIs: Some([]string{"http://localhost:5000/cb", "http://127.0.0.1/cb", "http://[::1]:8/cb"})}, ""},
		{"web http remote", ApplicationInput{DisplayName: Some("a"), WebRedirectURIs: Some([]string{"http://app.contoso.com/cb"})}, "http is allowed only for localhost"},
		{"web custom scheme", ApplicationInput{DisplayName: Some("a"), WebRedirectURIs: Some([]string{"myapp://cb"})}, "must use https"},
		{"web fragment", ApplicationInput{DisplayName: Some("a"), WebRedirectURIs: Some([]string{"https://app.contoso.com/cb#x"})}, "fragment"},
		{"web wildcard", ApplicationInput{DisplayName: Some("a"), WebRedirectURIs: Some([]string{"https://*.contoso.com/cb"})}, "wildcards"},
		{"web relative", ApplicationInput{DisplayName: Some("a"), WebRedirectURIs: Some([]string{"/cb"})}, "absolute"},
		{"web too long", ApplicationInput{DisplayName: Some("a"), WebRedirectURIs: Some([]string{long})}, "at most 256 characters"},
		{"web duplicate", ApplicationInput{DisplayName: Some("a"), WebRedirectURIs: Some([]string{"https://a.com/cb", "https://a.com/cb"})}, "duplicate"},
		{"spa https", ApplicationInput{DisplayName: Some("a"), SPARedirectURIs: Some([]string{"https://spa.contoso.com"})}, ""},
		{"spa custom scheme", ApplicationInput{DisplayName: Some("a"), SPARedirectURIs: Some([]string{"myapp://cb"})}, "'spa.redirectUris'"},
		{"public custom scheme and loopback", ApplicationInput{DisplayName: Some("a"), PublicClientRedirectURIs: Some([]string{"msal0000://auth", "http://localhost", "https://login.contoso.com/nativeclient"})}, ""},
		{"public http remote", ApplicationInput{DisplayName: Some("a"), PublicClientRedirectURIs: Some([]string{"http://contoso.com/cb"})}, "'publicClient.redirectUris'"},
		{"identifier api", ApplicationInput{DisplayName: Some("a"), IdentifierURIs: Some([]string{"api://orders", "https://contoso.com/orders"})}, ""},
		{"identifier relative", ApplicationInput{DisplayName: Some("a"), IdentifierURIs: Some([]string{"orders"})}, "'identifierUris'"},
		{"identifier fragment", ApplicationInput{DisplayName: Some("a"), IdentifierURIs: Some([]string{"api://orders#x"})}, "'identifierUris'"},
		{"identifier duplicate", ApplicationInput{DisplayName: Some("a"), IdentifierURIs: Some([]string{"api://x", "API://X"})}, "duplicate"},
		{"null fallback flag", ApplicationInput{DisplayName: Some("a"), IsFallbackPublicClient: Null[bool]()}, "'isFallbackPublicClient'"},
	}
	each(t, func(f *fixture) {
		for _, tc := range tests {
			f.t.Run(tc.name, func(t *testing.T) {
				a, err := f.CreateApplication(f.ctx, tc.in)
				if tc.msg != "" {
					wantErr(t, err, KindInvalid, tc.msg)
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				if !odata.IsGUID(a.ID) || !odata.IsGUID(a.AppID) || a.ID == a.AppID {
					t.Errorf("ids %s / %s", a.ID, a.AppID)
				}
			})
		}
	})
}

func TestApplicationLifecycle(t *testing.T) {
	each(t, func(f *fixture) {
		t := f.t
		a, err := f.CreateApplication(f.ctx, ApplicationInput{DisplayName: Some("orders"), WebRedirectURIs: Some([]string{"https://orders.contoso.com/cb"})})
		if err != nil {
			t.Fatal(err)
		}
		t.Run("get by id and appId", func(t *testing.T) {
			for _, key := range []string{a.ID, a.AppID} {
				got, err := f.GetApplication(f.ctx, key)
				if err != nil || got.ID != a.ID || !slices.Equal(got.WebRedirectURIs, a.WebRedirectURIs) {
					t.Errorf("GetApplication(%s) = %+v, %v", key, got, err)
				}
			}
			_, err := f.GetApplication(f.ctx, "not-a-guid")
			wantErr(t, err, KindNotFound, notFoundMsg("not-a-guid"))
		})
		t.Run("update", func(t *testing.T) {
			got, err := f.UpdateApplication(f.ctx, a.AppID, ApplicationInput{SPARedirectURIs: Some([]string{"https://spa.contoso.com"}), WebRedirectURIs: Null[[]string]()})
			if err != nil || len(got.WebRedirectURIs) != 0 || len(got.SPARedirectURIs) != 1 || got.AppID != a.AppID {
				t.Fatalf("UpdateApplication = %+v, %v", got, err)
			}
			_, err = f.UpdateApplication(f.ctx, a.ID, ApplicationInput{WebRedirectURIs: Some([]string{"http://evil.com"})})
			wantErr(t, err, KindInvalid, "http is allowed only")
		})
		t.Run("service principal", func(t *testing.T) {
			sp, err := f.CreateServicePrincipal(f.ctx, a.AppID)
			if err != nil || sp.AppID != a.AppID || sp.DisplayName != "orders" || !odata.IsGUID(sp.ID) {
				t.Fatalf("CreateServicePrincipal = %+v, %v", sp, err)
			}
			_, err = f.CreateServicePrincipal(f.ctx, a.AppID)
			de := wantErr(t, err, KindConflict, "already in use")
			if de.Code != CodeMultipleSameValue {
				t.Errorf("code = %s", de.Code)
			}
			_, err = f.CreateServicePrincipal(f.ctx, "00000000-0000-0000-0000-000000000abc")
			wantErr(t, err, KindInvalid, "does not reference a valid application object")
			got, err := f.GetServicePrincipal(f.ctx, a.AppID)
			if err != nil || got.ID != sp.ID {
				t.Errorf("GetServicePrincipal by appId = %+v, %v", got, err)
			}
		})
	})
}

func TestAddPassword(t *testing.T) {
	each(t, func(f *fixture) {
		t := f.t
		a, _ := f.app("confidential")
		s, err := f.AddPassword(f.ctx, a.ID, "ci", time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		c := s.Credential
		t.Run("secret shape and defaults", func(t *testing.T) {
			if len(s.SecretText) != 40 || c.Hint != s.SecretText[:3] || !odata.IsGUID(c.KeyID) || c.ApplicationID != a.ID || c.DisplayName != "ci" {
				t.Errorf("secret %d chars, credential %+v", len(s.SecretText), c)
			}
			if !c.StartDateTime.Equal(t0) || !c.EndDateTime.Equal(t0.Add(DefaultSecretLifetime)) {
				t.Errorf("start %v end %v", c.StartDateTime, c.EndDateTime)
			}
		})
		t.Run("stored only as keyed hash", func(t *testing.T) {
			cs, err := f.ListPasswords(f.ctx, a.AppID)
			if err != nil || len(cs) != 1 {
				t.Fatalf("ListPasswords = %v, %v", cs, err)
			}
			if !f.Secrets.Equal(cs[0].SecretHash, s.SecretText) {
				t.Error("stored hash does not verify the secret")
			}
			if f.Secrets.Equal(cs[0].SecretHash, s.SecretText+"x") {
				t.Error("stored hash verifies a wrong secret")
			}
			if bytes.Contains(cs[0].SecretHash, []byte(s.SecretText)) || strings.Contains(cs[0].DisplayName+cs[0].Hint, s.SecretText) {
				t.Error("secret stored in clear")
			}
		})
		t.Run("second secret differs", func(t *testing.T) {
			s2, err := f.AddPassword(f.ctx, a.AppID, "", t0.Add(time.Hour))
			if err != nil || s2.SecretText == s.SecretText || s2.Credential.KeyID == c.KeyID || !s2.Credential.EndDateTime.Equal(t0.Add(time.Hour)) {
				t.Fatalf("AddPassword = %+v, %v", s2.Credential, err)
			}
		})
		t.Run("refused", func(t *testing.T) {
			_, err := f.AddPassword(f.ctx, a.ID, "", t0.Add(-time.Second))
			wantErr(t, err, KindInvalid, "'endDateTime'")
			_, err = f.AddPassword(f.ctx, "00000000-0000-0000-0000-000000000001", "", time.Time{})
			wantErr(t, err, KindNotFound)
			_, err = (&Service{Store: f.Store}).AddPassword(f.ctx, a.ID, "", time.Time{})
			if err == nil {
				t.Error("AddPassword without a Hasher succeeded")
			}
		})
		t.Run("remove", func(t *testing.T) {
			if err := f.RemovePassword(f.ctx, a.ID, c.KeyID); err != nil {
				t.Fatal(err)
			}
			wantErr(t, f.RemovePassword(f.ctx, a.ID, c.KeyID), KindNotFound, notFoundMsg(c.KeyID))
			cs, _ := f.ListPasswords(f.ctx, a.ID)
			if len(cs) != 1 {
				t.Errorf("%d secrets left, want 1", len(cs))
			}
		})
	})
}

func TestEnsureBuiltins(t *testing.T) {
	each(t, func(f *fixture) {
		t := f.t
		var wg sync.WaitGroup
		errs := make([]error, 4)
		for i := range errs {
			wg.Add(1)
			go func() { defer wg.Done(); errs[i] = f.EnsureBuiltins(context.Background()) }()
		}
		wg.Wait()
		for _, err := range errs {
			if err != nil {
				t.Fatalf("concurrent EnsureBuiltins: %v", err)
			}
		}
		if err := f.EnsureBuiltins(f.ctx); err != nil {
			t.Fatalf("repeat EnsureBuiltins: %v", err)
		}
		page, err := f.ListServicePrincipals(f.ctx, store.Query{})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, sp := range page.Items {
			got = append(got, sp.AppID+" "+sp.DisplayName)
		}
		want := sorted([]string{authz.GraphAppID + " Microsoft Graph", authz.VigilAppID + " " + authz.Vigil().DisplayName})
		if !slices.Equal(sorted(got), want) {
			t.Errorf("service principals = %v, want %v", sorted(got), want)
		}
		t.Run("built-ins cannot be deleted", func(t *testing.T) {
			de := wantErr(t, f.DeleteServicePrincipal(f.ctx, authz.GraphAppID), KindForbidden, "Microsoft Graph")
			if de.HTTPStatus() != 403 {
				t.Errorf("status %d", de.HTTPStatus())
			}
		})
	})
}

func TestAppRoleGrants(t *testing.T) {
	const userReadAll = "df021288-bdef-4463-88db-98f22de89214" // Graph's User.Read.All app role
	each(t, func(f *fixture) {
		if err := f.EnsureBuiltins(f.ctx); err != nil {
			f.t.Fatal(err)
		}
		graph, _ := f.GetServicePrincipal(f.ctx, authz.GraphAppID)
		_, client := f.app("daemon")
		_, other := f.app("other")
		u := f.user("human@contoso.com")
		tests := []struct {
			name string
			run  func() (store.AppRoleAssignment, error)
			kind ErrorKind
			msg  string
			role string
		}{
			{name: "by Graph GUID", run: func() (store.AppRoleAssignment, error) {
				return f.GrantAppRole(f.ctx, client.ID, graph.ID, userReadAll)
			}, role: userReadAll},
			{name: "by name", run: func() (store.AppRoleAssignment, error) {
				return f.GrantAppPermission(f.ctx, client.AppID, "https://graph.microsoft.com", "user.revokesessions.all")
			}, role: "77f3a031-c388-4f99-b373-dc68676a979e"},
			{name: "vigil permission", run: func() (store.AppRoleAssignment, error) {
				return f.GrantAppPermission(f.ctx, client.ID, authz.VigilAppID, authz.PermSSFRead)
			}, role: mustVigilRole(f.t, authz.PermSSFRead)},
			{name: "duplicate", run: func() (store.AppRoleAssignment, error) {
				return f.GrantAppRole(f.ctx, client.ID, graph.AppID, "User.Read.All")
			}, kind: KindConflict, msg: msgPermissionExists},
			{name: "unknown app role", run: func() (store.AppRoleAssignment, error) {
				return f.GrantAppRole(f.ctx, client.ID, graph.ID, "00000000-0000-0000-0000-000000000001")
			}, kind: KindInvalid, msg: "Permission being assigned was not found on application '" + authz.GraphAppID + "'."},
			{name: "delegated-only permission", run: func() (store.AppRoleAssignment, error) {
				return f.GrantAppPermission(f.ctx, client.ID, authz.GraphAppID, "User.Read")
			}, kind: KindInvalid, msg: "was not found on application"},
			{name: "resource not built in", run: func() (store.AppRoleAssignment, error) {
				return f.GrantAppRole(f.ctx, client.ID, other.ID, userReadAll)
			}, kind: KindInvalid, msg: "not a resource API"},
			{name: "unknown resource API", run: func() (store.AppRoleAssignment, error) {
				return f.GrantAppPermission(f.ctx, client.ID, "https://example.com", "User.Read.All")
			}, kind: KindInvalid, msg: "not a resource API Vigil knows"},
			{name: "principal is a user", run: func() (store.AppRoleAssignment, error) { return f.GrantAppRole(f.ctx, u.ID, graph.ID, userReadAll) }, kind: KindInvalid, msg: "only to service principals"},
			{name: "missing principal", run: func() (store.AppRoleAssignment, error) {
				return f.GrantAppRole(f.ctx, "00000000-0000-0000-0000-000000000002", graph.ID, userReadAll)
			}, kind: KindNotFound, msg: notFoundMsg("00000000-0000-0000-0000-000000000002")},
		}
		for _, tc := range tests {
			f.t.Run(tc.name, func(t *testing.T) {
				a, err := tc.run()
				if tc.kind != 0 {
					wantErr(t, err, tc.kind, tc.msg)
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				if a.PrincipalID != client.ID || a.AppRoleID != tc.role || !odata.IsGUID(a.ID) {
					t.Errorf("assignment = %+v, want role %s", a, tc.role)
				}
			})
		}
		t := f.t
		t.Run("list and revoke", func(t *testing.T) {
			as, err := f.ListAppRoleAssignments(f.ctx, client.ID)
			if err != nil || len(as) != 3 {
				t.Fatalf("ListAppRoleAssignments = %v, %v", as, err)
			}
			wantErr(t, f.RevokeAppRoleAssignment(f.ctx, other.ID, as[0].ID), KindNotFound, notFoundMsg(as[0].ID))
			if err := f.RevokeAppRoleAssignment(f.ctx, client.AppID, as[0].ID); err != nil {
				t.Fatal(err)
			}
			if as, _ := f.ListAppRoleAssignments(f.ctx, client.ID); len(as) != 2 {
				t.Errorf("%d grants left, want 2", len(as))
			}
		})
	})
}

func mustVigilRole(t *testing.T, name string) string {
	p, ok := authz.VigilPermissionByName(name)
	if !ok {
		t.Fatalf("Vigil permission %s missing", name)
	}
	return p.AppRoleID
}

func TestDeleteApplicationCascades(t *testing.T) {
	each(t, func(f *fixture) {
		t := f.t
		if err := f.EnsureBuiltins(f.ctx); err != nil {
			t.Fatal(err)
		}
		a, sp := f.app("doomed")
		g := f.group("apps", false)
		f.addMember(g.ID, sp.ID)
		if _, err := f.CreateRoleAssignment(f.ctx, sp.ID, "88d8e3e3-8f55-4a1e-953a-9b9898b8876b", "/"); err != nil {
			t.Fatal(err)
		}
		if _, err := f.GrantAppPermission(f.ctx, sp.ID, authz.GraphAppID, "User.Read.All"); err != nil {
			t.Fatal(err)
		}
		if _, err := f.AddPassword(f.ctx, a.ID, "", time.Time{}); err != nil {
			t.Fatal(err)
		}
		if err := f.DeleteApplication(f.ctx, a.AppID); err != nil {
			t.Fatal(err)
		}
		if _, err := f.GetApplication(f.ctx, a.ID); !IsKind(err, KindNotFound) {
			t.Errorf("application survives: %v", err)
		}
		if _, err := f.GetServicePrincipal(f.ctx, sp.ID); !IsKind(err, KindNotFound) {
			t.Errorf("service principal survives: %v", err)
		}
		if as, err := f.ListRoleAssignments(f.ctx, sp.ID, ""); err != nil || len(as) != 0 {
			t.Errorf("role assignments survive: %v, %v", as, err)
		}
		if n, err := f.CountMembers(f.ctx, g.ID, false); err != nil || n != 0 {
			t.Errorf("membership survives: %d, %v", n, err)
		}
		wantErr(t, f.DeleteApplication(f.ctx, a.ID), KindNotFound, notFoundMsg(a.ID))
	})
}
