package graph

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/google/uuid"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/vigil-idp/vigil/internal/authz"
	"github.com/vigil-idp/vigil/internal/directory"
	"github.com/vigil-idp/vigil/internal/keys"
	"github.com/vigil-idp/vigil/internal/liveauth"
	"github.com/vigil-idp/vigil/internal/oauth"
	"github.com/vigil-idp/vigil/internal/revocation"
	"github.com/vigil-idp/vigil/internal/secret"
	"github.com/vigil-idp/vigil/internal/session"
	"github.com/vigil-idp/vigil/internal/store"
	"github.com/vigil-idp/vigil/internal/store/sqlstore"
	"github.com/vigil-idp/vigil/internal/store/sqlstore/sqltest"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// t0 is the fixed time of the directory, the API and the tokens in tests.
var t0 = time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)

// testArgon2 is a cheap argon2id cost so that tests hash quickly.
var testArgon2 = secret.Argon2Params{Memory: 1024, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

// env is one Graph API on a real store, served by a real HTTP server next
// to the real OAuth token endpoint, and protected by the real
// oauth.Verifier: app-only tokens come from client_credentials requests
// (golang.org/x/oauth2/clientcredentials) for applications registered in
// the same directory; delegated ones from the token endpoint's own
// oauth.AccessTokens (signIn).
type env struct {
	t      *testing.T
	ctx    context.Context
	st     *sqlstore.Store
	dir    *directory.Service
	rev    *revocation.Service
	keys   *keys.Manager
	tokens *oauth.AccessTokens
	srv    *httptest.Server
	issuer string
	base   string // the Graph base URL
	// admin is an app-only token holding every Graph application
	// permission, as the bootstrap client does.
	admin string
	// sessions is the session service Graph asks whether a delegated
	// token is still good.
	sessions *session.Service
	// cliClientID is the appId of the public client delegated tokens are
	// issued to; signIn registers it on first use.
	cliClientID string
	// clock is the time of the directory, the revocation service, the API
	// and the token service (unix nanoseconds); t0 until advance moves it.
	clock atomic.Int64
}

// now is the environment's clock.
func (e *env) now() time.Time { return time.Unix(0, e.clock.Load()).UTC() }

// advance moves the environment's clock forward by d.
func (e *env) advance(d time.Duration) { e.clock.Add(int64(d)) }

// eachEnv runs fn against a fresh environment on every store backend.
func eachEnv(t *testing.T, fn func(t *testing.T, e *env)) {
	sqltest.Each(t, func(t *testing.T, st *sqlstore.Store) { fn(t, newEnv(t, st)) })
}

func newEnv(t *testing.T, st *sqlstore.Store) *env {
	t.Helper()
	ctx := context.Background()
	e := &env{t: t, ctx: ctx, st: st}
	e.clock.Store(t0.UnixNano())
	now := e.now
	master := bytes.Repeat([]byte("k"), secret.KeySize)
	box, err := secret.NewBox(master)
	if err != nil {
		t.Fatal(err)
	}
	hasher := secret.NewHasher(master)
	var mu sync.Mutex
	n := 0
	// Sequential ids keep list order, and so the golden files, stable.
	newID := func() string {
		mu.Lock()
		defer mu.Unlock()
		n++
		return fmt.Sprintf("00000000-0000-4000-8000-%012d", n)
	}
	dir := &directory.Service{
		Store:        st,
		Now:          now,
		NewID:        newID,
		HashPassword: func(pw string) (string, error) { return secret.HashPassword(pw, testArgon2) },
		Secrets:      hasher,
	}
	km := &keys.Manager{Store: st, Box: box, Now: now, Logger: slog.New(slog.DiscardHandler)}
	if err := km.Ensure(ctx); err != nil {
		t.Fatal(err)
	}
	if err := st.PutMeta(ctx, oauth.MetaTenantID, []byte("6f1f6d4e-3c1e-4d3b-9a51-0b3f9b1c2d7e")); err != nil {
		t.Fatal(err)
	}
	if err := dir.EnsureBuiltins(ctx); err != nil {
		t.Fatal(err)
	}
	e.dir, e.keys = dir, km
	e.rev = &revocation.Service{Store: st, Now: now, NewID: newID}
	e.sessions = &session.Service{Store: st, Secrets: hasher, Now: now}
	mux := http.NewServeMux()
	e.srv = httptest.NewUnstartedServer(mux)
	e.issuer = "http://" + e.srv.Listener.Addr().String()
	e.base = e.issuer + "/v1.0"
	e.tokens = &oauth.AccessTokens{Issuer: e.issuer, Signers: km, Meta: st, Now: now}
	(&oauth.Provider{
		Issuer:  e.issuer,
		Clients: st,
		Secrets: hasher,
		Keys:    km,
		Grants: map[string]oauth.Grant{oauth.GrantClientCredentials: &oauth.ClientCredentials{
			Directory: st, Tokens: e.tokens,
		}},
		Now: now,
	}).Mount(mux)
	(&API{
		Directory: dir,
		Auth: liveauth.Checked{States: e.sessions, AuthorizationURI: e.issuer + oauth.PathAuthorize,
			Authenticator: &oauth.Verifier{Keys: km, Issuer: e.issuer, Audiences: []string{authz.GraphResource}, Now: now}},
		BaseURL:     e.base,
		Now:         now,
		Logger:      slog.New(slog.DiscardHandler),
		Revocations: e.rev,
		Audit:       st,
	}).Mount(mux)
	e.srv.Start()
	t.Cleanup(e.srv.Close)
	var all []string
	for _, p := range authz.GraphPermissions() {
		if p.AppRoleID != "" {
			all = append(all, p.Name)
		}
	}
	e.admin = e.appToken(all...)
	return e
}

// appToken registers a client application, grants it the named Graph (or
// Vigil) application permissions, gives it a secret and fetches an access token
// for Graph from the token endpoint with the client credentials grant.
func (e *env) appToken(perms ...string) string {
	e.t.Helper()
	name := "client"
	if len(perms) == 1 {
		name += " " + perms[0]
	}
	app, err := e.dir.CreateApplication(e.ctx, directory.ApplicationInput{DisplayName: directory.Some(name)})
	if err != nil {
		e.t.Fatal(err)
	}
	sp, err := e.dir.CreateServicePrincipal(e.ctx, app.AppID)
	if err != nil {
		e.t.Fatal(err)
	}
	for _, p := range perms {
		resource := authz.GraphAppID
		if _, ok := authz.GraphPermissionByName(p); !ok {
			resource = authz.VigilAppID
		}
		if _, err := e.dir.GrantAppPermission(e.ctx, sp.ID, resource, p); err != nil {
			e.t.Fatalf("grant %s: %v", p, err)
		}
	}
	s, err := e.dir.AddPassword(e.ctx, app.ID, "test", time.Time{})
	if err != nil {
		e.t.Fatal(err)
	}
	cc := clientcredentials.Config{
		ClientID: app.AppID, ClientSecret: s.SecretText, TokenURL: e.issuer + oauth.PathToken,
		Scopes: []string{authz.GraphResource + "/.default"},
	}
	tok, err := cc.Token(context.WithValue(e.ctx, oauth2.HTTPClient, e.srv.Client()))
	if err != nil {
		e.t.Fatalf("client credentials token for %v: %v", perms, err)
	}
	return tok.AccessToken
}

// signIn issues a delegated Graph access token for the user userID with
// the delegated permissions scopes, as the token endpoint does for a
// signed-in user: oauth.AccessTokens.Issue signs it with the server's key,
// with the user as oid and sub, a new sid, and the user's effective
// directory roles (directory.Service.EffectiveRoles) as wids. The client
// is a public application registered in the directory, like the CLI.
func (e *env) signIn(userID string, scopes ...string) string {
	e.t.Helper()
	return e.signInWith(userID, nil, scopes...)
}

// signInWith is signIn for a client that declared capabilities (xms_cc),
// e.g. "cp1".
func (e *env) signInWith(userID string, capabilities []string, scopes ...string) string {
	e.t.Helper()
	if e.cliClientID == "" {
		app, err := e.dir.CreateApplication(e.ctx, directory.ApplicationInput{DisplayName: directory.Some("Vigil CLI")})
		if err != nil {
			e.t.Fatal(err)
		}
		e.cliClientID = app.AppID
	}
	wids, err := e.dir.EffectiveRoles(e.ctx, userID)
	if err != nil {
		e.t.Fatal(err)
	}
	sid := uuid.NewString()
	at := e.now()
	if err := e.st.CreateSession(e.ctx, store.Session{ID: sid, UserID: userID, CreatedAt: at, AuthTime: at, LastActiveAt: at,
		AMR: []string{"pwd"}, ClientIDs: []string{e.cliClientID}}); err != nil {
		e.t.Fatalf("session of %s: %v", userID, err)
	}
	tok, _, err := e.tokens.Issue(e.ctx, oauth.AccessToken{
		Subject:            userID,
		Audience:           authz.GraphResource,
		ClientID:           e.cliClientID,
		Scopes:             scopes,
		RoleTemplateIDs:    wids,
		SessionID:          sid,
		ClientCapabilities: capabilities,
	})
	if err != nil {
		e.t.Fatalf("issue a delegated token for %s: %v", userID, err)
	}
	return tok
}

// signInLater is signIn deferred: the token is issued when the returned
// function is called, so a test case that runs after another revoked the
// user's sessions (Graph then refuses tokens issued before) gets a live one.
func (e *env) signInLater(userID string, scopes ...string) func() string {
	return func() string { return e.signIn(userID, scopes...) }
}

// fixedToken is a token source that always answers tok.
func fixedToken(tok string) func() string { return func() string { return tok } }

// token signs an access token with the server's own signing key, with
// claims the token endpoint would not issue (expired, another audience,
// delegated): the standard claims of an app-only Graph token, then extra.
func (e *env) token(extra map[string]any) string {
	e.t.Helper()
	signer, err := e.keys.Signer(e.ctx, jose.ES256)
	if err != nil {
		e.t.Fatal(err)
	}
	claims := map[string]any{
		"iss": e.issuer, "aud": authz.GraphResource, "sub": "client-sp", "oid": "client-sp",
		"client_id": "client-app", "jti": uuid.NewString(), "idtyp": "app",
		"iat": t0.Unix(), "nbf": t0.Unix(), "exp": t0.Add(time.Hour).Unix(),
	}
	for k, v := range extra {
		claims[k] = v
	}
	raw, err := signer.Sign("at+jwt", claims)
	if err != nil {
		e.t.Fatal(err)
	}
	return raw
}

// response is what a request answered.
type response struct {
	status int
	header http.Header
	body   []byte
}

// request sends method path (relative to the Graph base, or absolute) with
// an optional JSON body and "Name: value" headers; token "" sends none.
func (e *env) request(token, method, path string, body any, headers ...string) *response {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	url := path
	if !strings.HasPrefix(path, "http") {
		url = e.base + path
	}
	if p, q, ok := strings.Cut(url, "?"); ok {
		url = p + "?" + escapeQuery(q)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for _, h := range headers {
		k, v, _ := strings.Cut(h, ": ")
		req.Header.Set(k, v)
	}
	res, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return &response{status: res.StatusCode, header: res.Header, body: b}
}

// do sends a request as the admin client.
func (e *env) do(method, path string, body any, headers ...string) *response {
	e.t.Helper()
	return e.request(e.admin, method, path, body, headers...)
}

// want fails the test unless r has the status; it returns r's JSON body.
func (r *response) want(t *testing.T, status int) map[string]any {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d; body %s", r.status, status, r.body)
	}
	var m map[string]any
	if len(r.body) > 0 && strings.HasPrefix(r.header.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(r.body, &m); err != nil {
			t.Fatalf("body is not JSON: %v: %s", err, r.body)
		}
	}
	return m
}

// errorCode returns the error.code of an error response.
func (r *response) errorCode(t *testing.T) string {
	t.Helper()
	var b errorBody
	if err := json.Unmarshal(r.body, &b); err != nil {
		t.Fatalf("not an error envelope: %s", r.body)
	}
	return b.Error.Code
}

// goldenHeaders are the response headers a golden file records.
var goldenHeaders = []string{"Content-Type", "Location", "WWW-Authenticate", "Allow", "OData-Version", "Cache-Control"}

var (
	guidPattern      = `[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}`
	requestIDPattern = regexp.MustCompile(`"(request-id|client-request-id)": "` + guidPattern + `"`)
	skipTokenPattern = regexp.MustCompile(`\$skiptoken=[A-Za-z0-9_-]+`)
	secretPattern    = regexp.MustCompile(`"(secretText|hint)": "[^"]*"`)
)

// golden compares r (status, the headers in goldenHeaders and the body)
// with testdata/<name>.golden.json, or rewrites the file with -update. It
// normalises what changes between runs: the server's address, request ids,
// skip tokens, and secret texts and hints. Object ids and times are
// deterministic (sequential ids, a fixed clock).
func (e *env) golden(t *testing.T, name string, r *response) {
	t.Helper()
	headers := map[string]string{}
	for _, h := range goldenHeaders {
		if v := r.header.Get(h); v != "" {
			headers[h] = v
		}
	}
	var body any = string(r.body)
	if strings.HasPrefix(r.header.Get("Content-Type"), "application/json") && json.Valid(r.body) {
		body = json.RawMessage(r.body)
	}
	var doc bytes.Buffer
	enc := json.NewEncoder(&doc)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(map[string]any{"status": r.status, "headers": headers, "body": body}); err != nil {
		t.Fatal(err)
	}
	got := strings.ReplaceAll(doc.String(), e.issuer, "https://vigil.test")
	got = requestIDPattern.ReplaceAllString(got, `"$1": "<request-id>"`)
	got = skipTokenPattern.ReplaceAllString(got, `$$skiptoken=<skiptoken>`)
	got = secretPattern.ReplaceAllString(got, `"$1": "<$1>"`)
	path := filepath.Join("testdata", name+".golden.json")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs from the golden file (run go test -update and review the diff):\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

// Fixtures created through the directory.

func (e *env) user(upn string) string {
	e.t.Helper()
	nick, _, _ := strings.Cut(upn, "@")
	u, err := e.dir.CreateUser(e.ctx, directory.UserInput{
		AccountEnabled:    directory.Some(true),
		DisplayName:       directory.Some("User " + nick),
		UserPrincipalName: directory.Some(upn),
		MailNickname:      directory.Some(nick),
	})
	if err != nil {
		e.t.Fatalf("create user %s: %v", upn, err)
	}
	return u.ID
}

func (e *env) group(name string, roleAssignable bool) string {
	e.t.Helper()
	g, err := e.dir.CreateGroup(e.ctx, directory.GroupInput{
		DisplayName:        directory.Some(name),
		MailNickname:       directory.Some(name),
		MailEnabled:        directory.Some(false),
		SecurityEnabled:    directory.Some(true),
		IsAssignableToRole: directory.Some(roleAssignable),
	})
	if err != nil {
		e.t.Fatalf("create group %s: %v", name, err)
	}
	return g.ID
}

// userWithRoles creates a user holding the named built-in directory roles
// (looked up in the directory's catalogue) and returns its id.
func (e *env) userWithRoles(upn string, roles ...string) string {
	e.t.Helper()
	id := e.user(upn)
	for _, name := range roles {
		e.assignRole(id, name)
	}
	return id
}

// assignRole assigns the built-in role named name to the principal id.
func (e *env) assignRole(id, name string) {
	e.t.Helper()
	role, ok := directory.RoleDefinitionByName(name)
	if !ok {
		e.t.Fatalf("no built-in role %q", name)
	}
	if _, err := e.dir.CreateRoleAssignment(e.ctx, id, role.ID, directory.TenantScope); err != nil {
		e.t.Fatalf("assign %s to %s: %v", name, id, err)
	}
}

func (e *env) addMember(groupID, memberID string) {
	e.t.Helper()
	if err := e.dir.AddMember(e.ctx, groupID, memberID); err != nil {
		e.t.Fatalf("add %s to %s: %v", memberID, groupID, err)
	}
}

// readGoldenDir lists the case names of the golden files in testdata.
func readGoldenDir() ([]string, error) {
	entries, err := os.ReadDir("testdata")
	if os.IsNotExist(err) {
		return nil, nil
	}
	var names []string
	for _, de := range entries {
		if n, ok := strings.CutSuffix(de.Name(), ".golden.json"); ok {
			names = append(names, n)
		}
	}
	return names, err
}

func mustJSON(t *testing.T, b []byte, v any) {
	t.Helper()
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%v: %s", err, b)
	}
}
