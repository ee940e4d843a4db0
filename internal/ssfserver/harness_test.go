package ssfserver_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
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
	"github.com/vigil-idp/vigil/internal/store/sqlstore/sqltest"
	"github.com/vigil-idp/vigil/ssf"
)

// issuer is every test node's issuer; requests go to the node's
// loopback address with the same paths.
const issuer = "https://vigil.example"

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

type clock = clocktest.Clock

// harness is one store with keys, a token issuer and one transmitter node
// served over real HTTP on loopback.
type harness struct {
	t      testing.TB
	ctx    context.Context
	st     *sqlstore.Store
	clock  *clock
	km     *keys.Manager
	tokens *oauth.AccessTokens
	*node
}

// node is one transmitter served on loopback.
type node struct {
	srv  *ssfserver.Server
	base string // http://127.0.0.1:port
}

// each runs fn on SQLite and, when configured, PostgreSQL.
func each(t *testing.T, cfg func(*ssfserver.Server), fn func(t *testing.T, h *harness)) {
	t.Helper()
	sqltest.Each(t, func(t *testing.T, st *sqlstore.Store) { fn(t, newHarness(t, st, cfg)) })
}

var masterKey = func() []byte {
	k := make([]byte, 32)
	_, _ = rand.Read(k)
	return k
}()

func newHarness(t testing.TB, st *sqlstore.Store, cfg func(*ssfserver.Server)) *harness {
	t.Helper()
	ctx := context.Background()
	c := clocktest.At(t0)
	box, err := secret.NewBox(masterKey)
	if err != nil {
		t.Fatal(err)
	}
	km := &keys.Manager{Store: st, Box: box, Now: c.Now}
	if err := km.Ensure(ctx); err != nil {
		t.Fatalf("keys: %v", err)
	}
	if _, err := st.PutMetaIfAbsent(ctx, oauth.MetaTenantID, []byte("00000000-0000-0000-0000-00000000cafe")); err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, ctx: ctx, st: st, clock: c, km: km,
		tokens: &oauth.AccessTokens{Issuer: issuer, Signers: km, Meta: st, Now: c.Now}}
	h.node = h.newNode(st, km, cfg)
	return h
}

// newNode serves a transmitter on st (a store of this harness's database).
func (h *harness) newNode(st ssfserver.Store, km *keys.Manager, cfg func(*ssfserver.Server)) *node {
	srv := &ssfserver.Server{
		Issuer: issuer, Store: st, Signers: km, Now: h.clock.Now,
		Auth:                      &oauth.Verifier{Issuer: issuer, Audiences: []string{authz.VigilResource}, Keys: km, Now: h.clock.Now},
		InsecureAllowLoopbackPush: true,
		Jitter:                    func(d time.Duration) time.Duration { return d },
	}
	if cfg != nil {
		cfg(srv)
	}
	mux := http.NewServeMux()
	srv.Mount(mux)
	hs := httptest.NewServer(mux)
	h.t.Cleanup(hs.Close)
	h.t.Cleanup(srv.Shutdown)
	return &node{srv: srv, base: hs.URL}
}

// token issues a real app-only access token for the Vigil API to client
// with the given application permissions.
func (h *harness) token(client string, roles ...string) string {
	h.t.Helper()
	tok, _, err := h.tokens.Issue(h.ctx, oauth.AccessToken{Subject: "sp-" + client, Audience: authz.VigilResource,
		ClientID: client, AppOnly: true, Roles: roles})
	if err != nil {
		h.t.Fatalf("issue token: %v", err)
	}
	return tok
}

func (h *harness) manager(client string) string { return h.token(client, authz.PermSSFManage) }

// response is an HTTP answer.
type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) String() string { return fmt.Sprintf("%d %s", r.status, r.body) }

// decode unmarshals the body into v.
func (r response) decode(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decode %s: %v", r, err)
	}
}

// do sends a request to node n; body is JSON-encoded unless it is a
// string (sent as is).
func (n *node) do(t testing.TB, method, path, token string, body any) response {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		buf, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(buf)
	}
	req, err := http.NewRequest(method, n.base+strings.TrimPrefix(path, issuer), rd)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return response{status: resp.StatusCode, header: resp.Header, body: b}
}

// want fails unless r has the status.
func want(t testing.TB, r response, status int) response {
	t.Helper()
	if r.status != status {
		t.Fatalf("got %s, want status %d", r, status)
	}
	return r
}

// createStream creates a stream for the token's client and returns its
// configuration.
func (n *node) createStream(t testing.TB, token string, cfg ssf.StreamConfiguration) ssf.StreamConfiguration {
	t.Helper()
	var out ssf.StreamConfiguration
	want(t, n.do(t, "POST", "/ssf/streams", token, cfg), http.StatusCreated).decode(t, &out)
	return out
}

func pollCfg() ssf.StreamConfiguration {
	return ssf.StreamConfiguration{Delivery: &ssf.Delivery{Method: ssf.DeliveryPoll}}
}

// poll polls a stream once.
func (n *node) poll(t testing.TB, token, streamID string, req ssf.PollRequest) ssf.PollResponse {
	t.Helper()
	var out ssf.PollResponse
	want(t, n.do(t, "POST", "/ssf/streams/"+streamID+"/poll", token, req), http.StatusOK).decode(t, &out)
	return out
}

func ptr[T any](v T) *T { return &v }

// user creates a user with one live session and returns it and the
// session id.
func (h *harness) user(upn string) (store.User, string) {
	h.t.Helper()
	mail := upn
	id := uuid.NewString()
	u := store.User{ID: id, UserPrincipalName: upn, DisplayName: upn, Mail: &mail, AccountEnabled: true,
		CreatedDateTime: t0.Add(-time.Hour), BusinessPhones: []string{}}
	if err := h.st.CreateUser(h.ctx, u); err != nil {
		h.t.Fatalf("CreateUser: %v", err)
	}
	at := t0.Add(-30 * time.Minute)
	s := store.Session{ID: "sid-" + id[:8], UserID: id, CreatedAt: at, AuthTime: at, LastActiveAt: at,
		AMR: []string{"pwd"}, IP: "192.0.2.1", UserAgent: "test", ClientIDs: []string{"client-1"}}
	if err := h.st.CreateSession(h.ctx, s); err != nil {
		h.t.Fatalf("CreateSession: %v", err)
	}
	return u, s.ID
}

// revoke applies a revocation through the real producer
// (revocation.ApplyInTx), committing its outbox events.
func (h *harness) revoke(cause revocation.Cause, revID, reason string, userIDs ...string) {
	h.t.Helper()
	err := h.st.InTx(h.ctx, func(tx store.Tx) error {
		_, err := revocation.ApplyInTx(h.ctx, tx, revocation.Initiator{}, cause, userIDs, h.clock.Now(),
			revocation.Options{Reason: reason, RevocationID: revID})
		return err
	})
	if err != nil {
		h.t.Fatalf("revoke: %v", err)
	}
}

// endSession ends one session through the real producer (session.End).
func (h *harness) endSession(sid string, by session.Initiator) {
	h.t.Helper()
	svc := &session.Service{Store: h.st, Secrets: secret.NewHasher(masterKey), Now: h.clock.Now}
	if err := svc.End(h.ctx, sid, "logout", by); err != nil {
		h.t.Fatalf("end session: %v", err)
	}
}

// verifySET checks a compact SET's signature against the JWK Set and
// header, and returns its header and claims.
func (h *harness) verifySET(raw string) (jose.Header, ssf.SET) {
	h.t.Helper()
	tok, err := jwt.ParseSigned(raw, []jose.SignatureAlgorithm{jose.RS256})
	if err != nil {
		h.t.Fatalf("parse SET: %v", err)
	}
	hdr := tok.Headers[0]
	set, err := h.km.JWKS(h.ctx)
	if err != nil {
		h.t.Fatal(err)
	}
	ks := set.Key(hdr.KeyID)
	if len(ks) == 0 {
		h.t.Fatalf("SET kid %q is not in the JWK Set", hdr.KeyID)
	}
	var claims ssf.SET
	if err := tok.Claims(ks[0].Key, &claims); err != nil {
		h.t.Fatalf("SET signature: %v", err)
	}
	return hdr, claims
}

// eventType returns a SET's only event type.
func eventType(t testing.TB, s ssf.SET) string {
	t.Helper()
	typ, _, err := s.Event()
	if err != nil {
		t.Fatal(err)
	}
	return typ
}

func jsonOf(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func oauthToken(client, aud string, roles ...string) oauth.AccessToken {
	return oauth.AccessToken{Subject: "sp-" + client, Audience: aud, ClientID: client, AppOnly: true, Roles: roles}
}

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }
