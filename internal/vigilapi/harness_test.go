package vigilapi

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/google/uuid"

	"github.com/vigil-idp/vigil/internal/authz"
	"github.com/vigil-idp/vigil/internal/clocktest"
	"github.com/vigil-idp/vigil/internal/keys"
	"github.com/vigil-idp/vigil/internal/oauth"
	"github.com/vigil-idp/vigil/internal/revocation"
	"github.com/vigil-idp/vigil/internal/secret"
	"github.com/vigil-idp/vigil/internal/session"
	"github.com/vigil-idp/vigil/internal/ssfserver"
	"github.com/vigil-idp/vigil/internal/store"
	"github.com/vigil-idp/vigil/internal/store/sqlstore"
	"github.com/vigil-idp/vigil/ssf"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

var ctx = context.Background()

// The composition root's implementations satisfy the API's interfaces.
var (
	_ Users         = store.Store(nil)
	_ Sessions      = store.Store(nil)
	_ Applications  = store.Store(nil)
	_ ReceiptSource = (*ssfserver.Server)(nil)
	_ Policies      = (*session.Service)(nil)
)

// t0 is when the domain clock of every test server starts (sessions,
// revocations, SSF receipts).
var t0 = time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)

// Role template ids (reference directory-roles.json).
const (
	roleGlobalAdmin         = "62e90394-69f5-4237-9190-012177145e10"
	roleUserAdmin           = "fe930be7-5e62-47db-91af-98c3a49a38b1"
	roleHelpdeskAdmin       = "729827e3-9c14-49f7-bb1b-9608f156bbb8"
	roleGlobalReader        = "f2ef992c-3afb-46b9-b7cf-a126ee74c451"
	roleConditionalAccess   = "b1be1c3e-b65d-4f19-8427-f6fa0d97feb9"
	appServicePrincipalID   = "8d1f4a52-3c1e-4f4e-9a57-2b7e0c9d6a10"
	receiverClientID        = "c0ffee00-1111-4222-8333-944455556666"
	receiverServicePrincpal = "c0ffee00-1111-4222-8333-000000000001"
)

type clock = clocktest.Clock

// sequence returns deterministic GUID-shaped ids whose first group is
// prefix (8 hex digits).
func sequence(prefix string) func() string {
	var n atomic.Int64
	return func() string { return fmt.Sprintf("%s-0000-4000-8000-%012d", prefix, n.Add(1)) }
}

// server is a Vigil API on a real store, real keys and a loopback
// listener, with the real revocation engine, session service and SSF
// transmitter on the same mux.
type server struct {
	st       *sqlstore.Store
	http     *httptest.Server
	issuer   string
	tokens   *oauth.AccessTokens
	keys     *keys.Manager
	app      store.Application // a registered application, the client of every token below
	clock    *clock            // the domain clock
	rev      *revocation.Service
	sessions *session.Service
	ssf      *ssfserver.Server
}

// newServer serves the API on st; opts adjust the API before it is
// mounted.
func newServer(t testing.TB, st *sqlstore.Store, opts ...func(*API)) *server {
	t.Helper()
	tokenClock := clocktest.At(time.Now().UTC().Truncate(time.Second))
	master := []byte(strings.Repeat("m", secret.KeySize))
	box, err := secret.NewBox(master)
	if err != nil {
		t.Fatal(err)
	}
	km := &keys.Manager{Store: st, Box: box, Now: tokenClock.Now}
	if err := km.Ensure(ctx); err != nil {
		t.Fatal(err)
	}
	if err := st.PutMeta(ctx, oauth.MetaTenantID, []byte(uuid.NewString())); err != nil {
		t.Fatal(err)
	}
	s := &server{st: st, keys: km, clock: clocktest.At(t0)}
	s.app = store.Application{ID: uuid.NewString(), AppID: "5f1c1b2e-8f0a-4a4e-9d1e-3f8b0c6a7d21", DisplayName: "app", CreatedDateTime: t0}
	if err := st.CreateApplication(ctx, s.app); err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	s.http = httptest.NewServer(mux)
	t.Cleanup(s.http.Close)
	s.issuer = s.http.URL
	s.tokens = &oauth.AccessTokens{Issuer: s.issuer, Signers: km, Meta: st, Now: tokenClock.Now}
	verifier := &oauth.Verifier{Keys: km, Issuer: s.issuer, Audiences: []string{authz.VigilResource}, Now: tokenClock.Now}
	s.sessions = &session.Service{Store: st, Secrets: secret.NewHasher(master), Now: s.clock.Now,
		NewID: sequence("5e551011"), PolicyCacheTTL: -1}
	s.rev = &revocation.Service{Store: st, Now: s.clock.Now, NewID: sequence("7e70ca71"), ChunkSize: 2, WorkerID: "test-worker"}
	s.ssf = &ssfserver.Server{Issuer: s.issuer, Store: st, Signers: km, Auth: verifier, Now: s.clock.Now,
		Jitter: func(d time.Duration) time.Duration { return d }}
	s.ssf.Mount(mux)
	t.Cleanup(s.ssf.Shutdown)
	api := &API{
		Issuer:      s.issuer,
		Auth:        verifier,
		Policies:    s.sessions,
		Apps:        st,
		Revocations: s.rev,
		Users:       st,
		Sessions:    st,
		Receipts:    s.ssf,
		Now:         func() time.Time { return time.Date(2026, 3, 1, 9, 30, 0, 0, time.UTC) },
	}
	for _, o := range opts {
		o(api)
	}
	api.Mount(mux)
	return s
}

// work runs every claimable revocation job to its end (the engine's
// worker, one pass).
func (s *server) work(t testing.TB) {
	t.Helper()
	s.clock.Advance(time.Minute)
	if err := s.rev.Work(ctx); err != nil {
		t.Fatalf("revocation worker: %v", err)
	}
}

func (s *server) issue(t testing.TB, at oauth.AccessToken) string {
	t.Helper()
	tok, _, err := s.tokens.Issue(ctx, at)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// appToken is an app-only token for audience, of a random client, with
// the given application permissions.
func (s *server) appToken(t testing.TB, audience string, roles ...string) string {
	return s.issue(t, oauth.AccessToken{Subject: uuid.NewString(), Audience: audience, ClientID: uuid.NewString(), AppOnly: true, Roles: roles})
}

// appTokenOf is an app-only Vigil API token of the registered application
// (fixed ids, so responses naming the caller are stable).
func (s *server) appTokenOf(t testing.TB, roles ...string) string {
	return s.issue(t, oauth.AccessToken{Subject: appServicePrincipalID, Audience: authz.VigilResource, ClientID: s.app.AppID, AppOnly: true, Roles: roles})
}

// userToken is a delegated Vigil API token of a random user.
func (s *server) userToken(t testing.TB, scopes []string, wids ...string) string {
	return s.tokenFor(t, uuid.NewString(), scopes, wids...)
}

// tokenFor is a delegated Vigil API token of userID, through the
// registered application.
func (s *server) tokenFor(t testing.TB, userID string, scopes []string, wids ...string) string {
	return s.issue(t, oauth.AccessToken{Subject: userID, Audience: authz.VigilResource, ClientID: s.app.AppID,
		Scopes: scopes, RoleTemplateIDs: wids, SessionID: uuid.NewString()})
}

// user creates a user with a stable id (derived from the UPN), in
// department, holding roles.
func (s *server) user(t testing.TB, upn, department string, roles ...string) store.User {
	t.Helper()
	u := store.User{
		ID: uuid.NewSHA1(uuid.NameSpaceOID, []byte(upn)).String(), UserPrincipalName: upn,
		DisplayName: strings.Split(upn, "@")[0], AccountEnabled: true, CreatedDateTime: t0.Add(-24 * time.Hour),
		BusinessPhones: []string{},
	}
	if department != "" {
		u.Department = &department
	}
	if err := s.st.CreateUser(ctx, u); err != nil {
		t.Fatalf("CreateUser(%s): %v", upn, err)
	}
	for _, r := range roles {
		err := s.st.CreateRoleAssignment(ctx, store.RoleAssignment{ID: uuid.NewString(), PrincipalID: u.ID,
			PrincipalKind: store.KindUser, RoleDefinitionID: r, DirectoryScopeID: "/", CreatedDateTime: t0})
		if err != nil {
			t.Fatalf("CreateRoleAssignment: %v", err)
		}
	}
	return u
}

// signIn starts a session of userID through internal/session, as the
// sign-in page does, with a refresh token of the registered application;
// it returns the session and the refresh token's value.
func (s *server) signIn(t testing.TB, userID, ip string) (store.Session, string) {
	t.Helper()
	sess, err := s.sessions.Start(ctx, userID, []string{"pwd"}, session.ClientInfo{IP: ip, UserAgent: "Mozilla/5.0 (test)", DeviceID: "device-" + ip})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.sessions.Touch(ctx, sess.ID, s.app.AppID); err != nil {
		t.Fatal(err)
	}
	value, _, err := s.sessions.IssueRefreshToken(ctx, session.NewRefresh{UserID: userID, SessionID: sess.ID, ClientID: s.app.AppID,
		Scopes: []string{"openid", "offline_access"}, Resource: authz.GraphResource, AuthTime: sess.AuthTime})
	if err != nil {
		t.Fatal(err)
	}
	s.clock.Advance(time.Minute)
	return sess, value
}

// do sends a request to path below the API and returns the response and
// its body.
func (s *server) do(t testing.TB, method, path, token, body string) (*http.Response, []byte) {
	t.Helper()
	return s.doWith(t, method, s.issuer+PathPrefix+path, token, body, nil)
}

// doWith sends a request to an absolute URL with extra headers.
func (s *server) doWith(t testing.TB, method, url, token, body string, header http.Header) (*http.Response, []byte) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	resp, err := s.http.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

// want fails unless resp has status.
func want(t testing.TB, resp *http.Response, body []byte, status int) {
	t.Helper()
	if resp.StatusCode != status {
		t.Fatalf("%s %s: status %d, want %d: %s", resp.Request.Method, resp.Request.URL.Path, resp.StatusCode, status, body)
	}
}

// decode unmarshals body into v.
func decode(t testing.TB, body []byte, v any) {
	t.Helper()
	if err := json.Unmarshal(body, v); err != nil {
		t.Fatalf("decode %s: %v", body, err)
	}
}

// errorCode returns the code of a Graph error envelope, checking its shape.
func errorCode(t testing.TB, resp *http.Response, body []byte) string {
	t.Helper()
	var e struct {
		Error struct {
			Code       string `json:"code"`
			Message    string `json:"message"`
			InnerError struct {
				Date      string `json:"date"`
				RequestID string `json:"request-id"`
			} `json:"innerError"`
		} `json:"error"`
	}
	if err := json.Unmarshal(body, &e); err != nil {
		t.Fatalf("body %q is not an error envelope: %v", body, err)
	}
	if e.Error.Message == "" || e.Error.InnerError.Date == "" || e.Error.InnerError.RequestID != resp.Header.Get("request-id") {
		t.Errorf("envelope %s lacks a message, date or the request-id %q", body, resp.Header.Get("request-id"))
	}
	return e.Error.Code
}

// errorMessage returns the message of a Graph error envelope.
func errorMessage(t testing.TB, body []byte) string {
	t.Helper()
	var e envelope
	decode(t, body, &e)
	return e.Error.Message
}

// mask replaces, anywhere in a compact JSON document, the string values
// of the named members with "…" (values that differ between runs),
// keeping the document's member order.
func mask(t testing.TB, body []byte, names ...string) []byte {
	t.Helper()
	if !json.Valid(body) {
		t.Fatalf("mask: %s is not JSON", body)
	}
	for _, n := range names {
		re := regexp.MustCompile(`"` + regexp.QuoteMeta(n) + `":"(?:[^"\\]|\\.)*"`)
		body = re.ReplaceAll(body, []byte(`"`+n+`":"…"`))
	}
	return body
}

// maskedError is an error envelope with its request ids masked.
func maskedError(t testing.TB, body []byte) []byte {
	return mask(t, body, "request-id", "client-request-id")
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	var buf bytes.Buffer
	if err := json.Indent(&buf, got, "", "  "); err != nil {
		t.Fatalf("%s: %v", got, err)
	}
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(buf.Bytes(), want) {
		t.Errorf("%s differs:\n got %s\nwant %s", name, buf.Bytes(), want)
	}
}

// pollStream is an SSF poll stream of the receiver application on the
// server's transmitter.
type pollStream struct {
	s     *server
	id    string
	token string
}

// newPollStream creates a poll stream for every event type, as a receiver
// does over HTTP.
func (s *server) newPollStream(t testing.TB) *pollStream {
	t.Helper()
	tok := s.issue(t, oauth.AccessToken{Subject: receiverServicePrincpal, Audience: authz.VigilResource, ClientID: receiverClientID,
		AppOnly: true, Roles: []string{authz.PermSSFManage}})
	resp, body := s.doWith(t, http.MethodPost, s.issuer+"/ssf/streams", tok,
		`{"delivery":{"method":"`+ssf.DeliveryPoll+`"},"description":"vigilapi test"}`, nil)
	want(t, resp, body, http.StatusCreated)
	var cfg ssf.StreamConfiguration
	decode(t, body, &cfg)
	return &pollStream{s: s, id: cfg.StreamID, token: tok}
}

// drain polls the stream until it holds no more SETs, acknowledging every
// one, and returns their verified claims.
func (p *pollStream) drain(t testing.TB) []ssf.SET {
	t.Helper()
	var out []ssf.SET
	var ack []string
	for range 100 {
		req, _ := json.Marshal(ssf.PollRequest{ReturnImmediately: true, Ack: ack})
		resp, body := p.s.doWith(t, http.MethodPost, p.s.issuer+"/ssf/streams/"+p.id+"/poll", p.token, string(req), nil)
		want(t, resp, body, http.StatusOK)
		var pr ssf.PollResponse
		decode(t, body, &pr)
		ack = ack[:0]
		for jti, raw := range pr.Sets {
			out = append(out, p.s.verifySET(t, raw))
			ack = append(ack, jti)
		}
		if len(ack) == 0 {
			return out
		}
	}
	t.Fatal("the stream never ran dry")
	return nil
}

// verifySET checks a SET's signature with the server's JWK Set and returns
// its claims.
func (s *server) verifySET(t testing.TB, raw string) ssf.SET {
	t.Helper()
	tok, err := jwt.ParseSigned(raw, []jose.SignatureAlgorithm{jose.RS256})
	if err != nil {
		t.Fatalf("parse SET: %v", err)
	}
	set, err := s.keys.JWKS(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ks := set.Key(tok.Headers[0].KeyID)
	if len(ks) == 0 {
		t.Fatalf("SET kid %q is not in the JWK Set", tok.Headers[0].KeyID)
	}
	var claims ssf.SET
	if err := tok.Claims(ks[0].Key, &claims); err != nil {
		t.Fatalf("SET signature: %v", err)
	}
	return claims
}
