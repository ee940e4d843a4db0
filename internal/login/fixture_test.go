package login

import (
	"context"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/google/uuid"

	"github.com/vigil-idp/vigil/internal/authz"
	"github.com/vigil-idp/vigil/internal/clocktest"
	"github.com/vigil-idp/vigil/internal/keys"
	"github.com/vigil-idp/vigil/internal/oauth"
	"github.com/vigil-idp/vigil/internal/secret"
	"github.com/vigil-idp/vigil/internal/session"
	"github.com/vigil-idp/vigil/internal/store"
	"github.com/vigil-idp/vigil/internal/store/sqlstore"
)

type clock = clocktest.Clock

const testTenant = "6f1f6d4e-3c1e-4d3b-9a51-0b3f9b1c2d7e"

// cheapArgon2 keeps test users' hashes fast; verification reads the
// parameters from the hash.
var cheapArgon2 = secret.Argon2Params{Memory: 1024, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

// idp is a whole token service on a real store and a loopback listener,
// wired the way the composition root wires it.
type idp struct {
	store     *sqlstore.Store
	clock     *clock
	keys      *keys.Manager
	hasher    *secret.Hasher
	sessions  *session.Service
	provider  *oauth.Provider
	ui        *Handler
	passwords *Passwords
	device    *oauth.DeviceFlow
	verifier  *oauth.Verifier
	http      *httptest.Server
	issuer    string

	sleepMu sync.Mutex
	sleeps  []time.Duration
}

func newIDP(t testing.TB, st *sqlstore.Store) *idp {
	t.Helper()
	ctx := context.Background()
	master := []byte(strings.Repeat("k", secret.KeySize))
	box, err := secret.NewBox(master)
	if err != nil {
		t.Fatal(err)
	}
	d := &idp{store: st, clock: clocktest.Live(), hasher: secret.NewHasher(master)}
	now := d.clock.Now
	d.keys = &keys.Manager{Store: st, Box: box, Now: now, Algorithms: []jose.SignatureAlgorithm{jose.ES256, jose.RS256, jose.EdDSA}}
	if err := d.keys.Ensure(ctx); err != nil {
		t.Fatal(err)
	}
	if err := st.PutMeta(ctx, oauth.MetaTenantID, []byte(testTenant)); err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	d.http = httptest.NewServer(mux)
	t.Cleanup(d.http.Close)
	d.issuer = d.http.URL

	d.sessions = &session.Service{Store: st, Secrets: d.hasher, Now: now, PolicyCacheTTL: -1}
	access := &oauth.AccessTokens{Issuer: d.issuer, Signers: d.keys, Meta: st, Now: now}
	idTokens := &oauth.IDTokens{Issuer: d.issuer, Signers: d.keys, Keys: d.keys, Meta: st, Now: now,
		Algorithms: []jose.SignatureAlgorithm{jose.RS256, jose.ES256, jose.EdDSA}}
	delegated := &oauth.Delegated{Access: access, IDTokens: idTokens, Sessions: d.sessions, Roles: st}
	authorizer := &oauth.Authorizer{Issuer: d.issuer, Clients: st, Codes: st, Secrets: d.hasher, IDTokens: idTokens, Now: now}
	d.device = &oauth.DeviceFlow{Issuer: d.issuer, Codes: st, Secrets: d.hasher, Sessions: d.sessions, Tokens: delegated,
		Now: now, Interval: time.Second}
	d.passwords = &Passwords{Users: st, Throttles: st, Audit: st, Now: now, Sleep: d.recordSleep}
	d.verifier = &oauth.Verifier{Keys: d.keys, Issuer: d.issuer, Audiences: []string{authz.GraphResource, authz.VigilResource}, Now: now}
	d.ui = &Handler{
		Issuer: d.issuer, Authorizer: authorizer, Device: d.device,
		EndSessions: &oauth.EndSessions{Clients: st, IDTokens: idTokens},
		Sessions:    d.sessions, Passwords: d.passwords, Consents: st, Clients: st, Roles: st, Secrets: d.hasher, Now: now,
	}
	d.provider = &oauth.Provider{
		Issuer: d.issuer, Clients: st, Secrets: d.hasher, Keys: d.keys, Now: now,
		Grants: map[string]oauth.Grant{
			oauth.GrantClientCredentials: &oauth.ClientCredentials{Directory: st, Tokens: access},
			oauth.GrantAuthorizationCode: &oauth.AuthorizationCode{Codes: st, Secrets: d.hasher, Sessions: d.sessions, Tokens: delegated, Now: now},
			oauth.GrantRefreshToken:      &oauth.RefreshGrant{Sessions: d.sessions, Tokens: delegated},
			oauth.GrantDeviceCode:        d.device,
			oauth.GrantPassword:          &oauth.PasswordGrant{Users: d.passwords, Sessions: d.sessions, Consents: st, Tokens: delegated},
		},
		Authorization: http.HandlerFunc(d.ui.ServeAuthorize),
		EndSession:    http.HandlerFunc(d.ui.ServeEndSession),
		UserInfo:      &oauth.UserInfo{Verifier: d.verifier, Users: st, States: d.sessions},
		Device:        d.device,
		IDTokens:      idTokens,
		Assertions:    &oauth.ClientAssertions{Keys: &oauth.RegisteredKeys{}},
	}
	d.provider.Mount(mux)
	d.ui.Mount(mux)
	return d
}

func (d *idp) recordSleep(_ context.Context, dur time.Duration) {
	d.sleepMu.Lock()
	defer d.sleepMu.Unlock()
	d.sleeps = append(d.sleeps, dur)
}

func (d *idp) slept() []time.Duration {
	d.sleepMu.Lock()
	defer d.sleepMu.Unlock()
	return append([]time.Duration(nil), d.sleeps...)
}

// newUser creates an enabled user with a password and the given directory
// roles (template ids).
func (d *idp) newUser(t testing.TB, upn, password string, roles ...string) store.User {
	t.Helper()
	ctx := context.Background()
	hash, err := secret.HashPassword(password, cheapArgon2)
	if err != nil {
		t.Fatal(err)
	}
	mail := upn
	given, sur := "Ada", "Lovelace"
	u := store.User{ID: uuid.NewString(), UserPrincipalName: upn, DisplayName: "Ada Lovelace", GivenName: &given, Surname: &sur,
		Mail: &mail, AccountEnabled: true, CreatedDateTime: d.clock.Now().UTC(), PasswordHash: hash}
	if err := d.store.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	for _, r := range roles {
		if err := d.store.CreateRoleAssignment(ctx, store.RoleAssignment{
			ID: uuid.NewString(), PrincipalID: u.ID, PrincipalKind: store.KindUser, RoleDefinitionID: r, DirectoryScopeID: "/", CreatedDateTime: d.clock.Now().UTC(),
		}); err != nil {
			t.Fatal(err)
		}
	}
	return u
}

// newApp registers an application as given (AppID and ID filled in).
func (d *idp) newApp(t testing.TB, a store.Application) store.Application {
	t.Helper()
	if a.ID == "" {
		a.ID = uuid.NewString()
	}
	if a.AppID == "" {
		a.AppID = uuid.NewString()
	}
	if a.DisplayName == "" {
		a.DisplayName = "Test app"
	}
	a.CreatedDateTime = d.clock.Now().UTC()
	if err := d.store.CreateApplication(context.Background(), a); err != nil {
		t.Fatal(err)
	}
	return a
}

// cliApp is the bootstrap CLI application: public client flows, the
// loopback redirect URIs, and tenant-wide consent to every Graph delegated
// permission (as the composition root writes it).
func (d *idp) cliApp(t testing.TB) store.Application {
	t.Helper()
	a := d.newApp(t, store.Application{DisplayName: "Vigil CLI", IsFallbackPublicClient: true,
		PublicClientRedirectURIs: []string{"http://127.0.0.1/callback", "http://localhost/callback"}})
	var all []string
	for _, p := range authz.GraphPermissions() {
		if p.ScopeID != "" {
			all = append(all, p.Name)
		}
	}
	d.consent(t, a.AppID, "", authz.GraphAppID, all...)
	return a
}

// consent records a delegated-permission grant (userID "" = tenant-wide).
func (d *idp) consent(t testing.TB, clientID, userID, resource string, scopes ...string) {
	t.Helper()
	if err := d.store.PutConsent(context.Background(), store.Consent{
		ID: uuid.NewString(), ClientID: clientID, UserID: userID, Resource: resource, Scopes: scopes, CreatedAt: d.clock.Now().UTC(),
	}); err != nil {
		t.Fatal(err)
	}
}

// secretFor adds a client secret to an application and returns it.
func (d *idp) secretFor(t testing.TB, a store.Application) string {
	t.Helper()
	text := "s3cret-" + uuid.NewString()
	if err := d.store.AddPasswordCredential(context.Background(), store.PasswordCredential{
		KeyID: uuid.NewString(), ApplicationID: a.ID, DisplayName: "s", Hint: text[:3], SecretHash: d.hasher.Hash(text),
		StartDateTime: d.clock.Now().Add(-time.Hour).UTC(), EndDateTime: d.clock.Now().Add(365 * 24 * time.Hour).UTC(),
	}); err != nil {
		t.Fatal(err)
	}
	return text
}

// browser is a user agent: a cookie jar, following redirects within the
// issuer and stopping at any other origin (the relying party), like a
// browser handing the redirect to the app.
type browser struct {
	t      testing.TB
	client *http.Client
	issuer *url.URL
}

func (d *idp) browser(t testing.TB) *browser {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	iss, _ := url.Parse(d.issuer)
	b := &browser{t: t, issuer: iss}
	b.client = &http.Client{Jar: jar, Timeout: 30 * time.Second, CheckRedirect: func(req *http.Request, via []*http.Request) error {
		if req.URL.Host != iss.Host {
			return http.ErrUseLastResponse
		}
		return nil
	}}
	return b
}

// page is a response as the browser saw it.
type page struct {
	status   int
	location string
	body     string
	header   http.Header
}

func (b *browser) do(req *http.Request) page {
	b.t.Helper()
	resp, err := b.client.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return page{status: resp.StatusCode, location: resp.Header.Get("Location"), body: string(body), header: resp.Header}
}

func (b *browser) get(u string) page {
	b.t.Helper()
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		b.t.Fatal(err)
	}
	return b.do(req)
}

func (b *browser) post(u string, form url.Values) page {
	b.t.Helper()
	req, err := http.NewRequest(http.MethodPost, u, strings.NewReader(form.Encode()))
	if err != nil {
		b.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.do(req)
}

var (
	formRE   = regexp.MustCompile(`<form method="post" action="([^"]*)">`)
	hiddenRE = regexp.MustCompile(`<input type="hidden" name="([^"]*)" value="([^"]*)">`)
)

// form reads the page's form: its action (absolute) and hidden fields.
func (p page) form(t testing.TB, base string) (string, url.Values) {
	t.Helper()
	m := formRE.FindStringSubmatch(p.body)
	if m == nil {
		t.Fatalf("no form on the page (status %d):\n%s", p.status, p.body)
	}
	v := url.Values{}
	for _, h := range hiddenRE.FindAllStringSubmatch(p.body, -1) {
		v.Set(html.UnescapeString(h[1]), html.UnescapeString(h[2]))
	}
	return base + html.UnescapeString(m[1]), v
}

// submit posts the page's form with extra fields.
func (b *browser) submit(p page, extra url.Values) page {
	b.t.Helper()
	action, v := p.form(b.t, b.issuer.Scheme+"://"+b.issuer.Host)
	for k, vals := range extra {
		v[k] = vals
	}
	return b.post(action, v)
}

// signIn fills the sign-in page.
func (b *browser) signIn(p page, username, password string) page {
	b.t.Helper()
	if !strings.Contains(p.body, `name="password"`) {
		b.t.Fatalf("not the sign-in page (status %d):\n%s", p.status, p.body)
	}
	return b.submit(p, url.Values{"username": {username}, "password": {password}})
}

// redirectParams are the query (or fragment) parameters of a redirect to
// the relying party.
func (p page) redirectParams(t testing.TB) url.Values {
	t.Helper()
	if p.status != http.StatusFound && p.status != http.StatusSeeOther {
		t.Fatalf("want a redirect, got %d:\n%s", p.status, p.body)
	}
	u, err := url.Parse(p.location)
	if err != nil {
		t.Fatal(err)
	}
	if u.Fragment != "" {
		v, _ := url.ParseQuery(u.Fragment)
		return v
	}
	return u.Query()
}
