package oauth

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/vigil-idp/vigil/internal/authz"
	"github.com/vigil-idp/vigil/internal/clocktest"
	"github.com/vigil-idp/vigil/internal/keys"
	"github.com/vigil-idp/vigil/internal/secret"
	"github.com/vigil-idp/vigil/internal/store"
	"github.com/vigil-idp/vigil/internal/store/sqlstore"
)

type clock = clocktest.Clock

const testTenant = "6f1f6d4e-3c1e-4d3b-9a51-0b3f9b1c2d7e"

// idp is a running token service on a real store and a loopback listener.
type idp struct {
	store    *sqlstore.Store
	clock    *clock
	keys     *keys.Manager
	hasher   *secret.Hasher
	server   *Provider
	http     *httptest.Server
	issuer   string
	graphSP  store.ServicePrincipal
	vigilSP  store.ServicePrincipal
	verifier *Verifier
}

// app is a registered confidential client.
type app struct {
	application store.Application
	sp          store.ServicePrincipal
	secret      string
}

func newIDP(t testing.TB, st *sqlstore.Store) *idp {
	t.Helper()
	ctx := context.Background()
	master := []byte(strings.Repeat("m", secret.KeySize))
	box, err := secret.NewBox(master)
	if err != nil {
		t.Fatal(err)
	}
	c := clocktest.Live()
	km := &keys.Manager{Store: st, Box: box, Now: c.Now}
	if err := km.Ensure(ctx); err != nil {
		t.Fatal(err)
	}
	if err := st.PutMeta(ctx, MetaTenantID, []byte(testTenant)); err != nil {
		t.Fatal(err)
	}
	d := &idp{store: st, clock: c, keys: km, hasher: secret.NewHasher(master)}
	d.graphSP = d.servicePrincipal(t, authz.GraphAppID, "Microsoft Graph")
	d.vigilSP = d.servicePrincipal(t, authz.VigilAppID, "Vigil API")

	mux := http.NewServeMux()
	d.http = httptest.NewServer(mux)
	t.Cleanup(d.http.Close)
	d.issuer = d.http.URL
	tokens := &AccessTokens{Issuer: d.issuer, Signers: km, Meta: st, Now: c.Now}
	d.server = &Provider{
		Issuer:  d.issuer,
		Clients: st,
		Secrets: d.hasher,
		Keys:    km,
		Grants:  map[string]Grant{GrantClientCredentials: &ClientCredentials{Directory: st, Tokens: tokens}},
		Now:     c.Now,
	}
	d.server.Mount(mux)
	d.verifier = &Verifier{Keys: km, Issuer: d.issuer, Audiences: []string{authz.GraphResource}, Now: c.Now}
	return d
}

func (d *idp) servicePrincipal(t testing.TB, appID, name string) store.ServicePrincipal {
	t.Helper()
	sp := store.ServicePrincipal{ID: uuid.NewString(), AppID: appID, DisplayName: name, CreatedDateTime: time.Now().UTC()}
	if err := d.store.CreateServicePrincipal(context.Background(), sp); err != nil {
		t.Fatal(err)
	}
	return sp
}

// newApp registers an application with a service principal and the given
// secret (valid from an hour ago for a year), granted the named Graph and
// Vigil application permissions.
func (d *idp) newApp(t testing.TB, secretText string, perms ...string) app {
	t.Helper()
	ctx := context.Background()
	a := store.Application{ID: uuid.NewString(), AppID: uuid.NewString(), DisplayName: "client", CreatedDateTime: time.Now().UTC()}
	if err := d.store.CreateApplication(ctx, a); err != nil {
		t.Fatal(err)
	}
	d.addSecret(t, a, secretText, time.Now().Add(-time.Hour), time.Now().Add(365*24*time.Hour))
	sp := d.servicePrincipal(t, a.AppID, a.DisplayName)
	for _, name := range perms {
		res, p, ok := authz.Graph(), authz.Permission{}, false
		if p, ok = res.PermissionByName(name); !ok {
			res = authz.Vigil()
			p, ok = res.PermissionByName(name)
		}
		if !ok || p.AppRoleID == "" {
			t.Fatalf("no application permission %q", name)
		}
		resSP := d.graphSP
		if res.AppID == authz.VigilAppID {
			resSP = d.vigilSP
		}
		if err := d.store.CreateAppRoleAssignment(ctx, store.AppRoleAssignment{
			ID: uuid.NewString(), PrincipalID: sp.ID, ResourceID: resSP.ID, AppRoleID: p.AppRoleID, CreatedDateTime: time.Now().UTC(),
		}); err != nil {
			t.Fatal(err)
		}
	}
	return app{application: a, sp: sp, secret: secretText}
}

func (d *idp) addSecret(t testing.TB, a store.Application, secretText string, start, end time.Time) {
	t.Helper()
	if err := d.store.AddPasswordCredential(context.Background(), store.PasswordCredential{
		KeyID: uuid.NewString(), ApplicationID: a.ID, DisplayName: "s", Hint: secretText[:3],
		SecretHash: d.hasher.Hash(secretText), StartDateTime: start.UTC(), EndDateTime: end.UTC(),
	}); err != nil {
		t.Fatal(err)
	}
}
