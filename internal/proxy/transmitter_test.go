package proxy

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"golang.org/x/oauth2"

	"github.com/vigil-idp/vigil/guard"
	"github.com/vigil-idp/vigil/internal/authz"
	"github.com/vigil-idp/vigil/internal/keys"
	"github.com/vigil-idp/vigil/internal/oauth"
	"github.com/vigil-idp/vigil/internal/revocation"
	"github.com/vigil-idp/vigil/internal/secret"
	"github.com/vigil-idp/vigil/internal/session"
	"github.com/vigil-idp/vigil/internal/ssfserver"
	"github.com/vigil-idp/vigil/internal/store"
	"github.com/vigil-idp/vigil/internal/store/sqlstore"
	"github.com/vigil-idp/vigil/internal/store/sqlstore/sqltest"
)

// transmitter is Vigil's real SSF transmitter (internal/ssfserver) on a
// store, with the node's signing keys and access tokens, served on
// loopback, plus the OpenID discovery and JWKS a guard reads. It is the
// transmitter without the rest of the server, so guard's interoperability
// runs on SQLite and PostgreSQL (sqltest.Each) and revocations go through
// the real producers (revocation.ApplyInTx, session.Service.End).
type transmitter struct {
	t      *testing.T
	ctx    context.Context
	st     *sqlstore.Store
	issuer string
	tokens *oauth.AccessTokens
	secret *secret.Hasher
}

func newTransmitter(t *testing.T, st *sqlstore.Store) *transmitter {
	t.Helper()
	ctx := context.Background()
	master := make([]byte, 32)
	_, _ = rand.Read(master)
	box, err := secret.NewBox(master)
	if err != nil {
		t.Fatal(err)
	}
	km := &keys.Manager{Store: st, Box: box}
	if err := km.Ensure(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := st.PutMetaIfAbsent(ctx, oauth.MetaTenantID, []byte("00000000-0000-0000-0000-00000000cafe")); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	iss := "http://" + ln.Addr().String()
	srv := &ssfserver.Server{Issuer: iss, Store: st, Signers: km, InsecureAllowLoopbackPush: true,
		Auth: &oauth.Verifier{Issuer: iss, Audiences: []string{authz.VigilResource}, Keys: km}}
	mux := http.NewServeMux()
	srv.Mount(mux)
	mux.HandleFunc("GET /jwks", func(w http.ResponseWriter, r *http.Request) {
		set, err := km.JWKS(r.Context())
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		_ = json.NewEncoder(w).Encode(set)
	})
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, _ *http.Request) {
		_ = json.NewEncoder(w).Encode(map[string]string{"issuer": iss, "jwks_uri": iss + "/jwks",
			"authorization_endpoint": iss + "/authorize", "token_endpoint": iss + "/token"})
	})
	hs := &http.Server{Handler: mux}
	go func() { _ = hs.Serve(ln) }()
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); srv.Run(rctx) }()
	t.Cleanup(func() {
		srv.Shutdown()
		cancel()
		<-done
		_ = hs.Close()
	})
	return &transmitter{t: t, ctx: ctx, st: st, issuer: iss, secret: secret.NewHasher(master),
		tokens: &oauth.AccessTokens{Issuer: iss, Signers: km, Meta: st}}
}

// receiverToken is an app-only token for the Vigil API with ssf.manage.
func (tr *transmitter) receiverToken() string {
	tok, _, err := tr.tokens.Issue(tr.ctx, oauth.AccessToken{Subject: "sp-receiver", Audience: authz.VigilResource,
		ClientID: "receiver", AppOnly: true, Roles: []string{authz.PermSSFManage}})
	if err != nil {
		tr.t.Fatal(err)
	}
	return tok
}

// user creates a user with one session and returns a delegated Graph
// token of that session.
func (tr *transmitter) user() (id, sid, token string) {
	id, sid = uuid.NewString(), uuid.NewString()
	now := time.Now()
	if err := tr.st.CreateUser(tr.ctx, store.User{ID: id, UserPrincipalName: id + "@vigil.test", DisplayName: id,
		AccountEnabled: true, CreatedDateTime: now.Add(-time.Hour), BusinessPhones: []string{}}); err != nil {
		tr.t.Fatal(err)
	}
	at := now.Add(-time.Minute)
	if err := tr.st.CreateSession(tr.ctx, store.Session{ID: sid, UserID: id, CreatedAt: at, AuthTime: at, LastActiveAt: at,
		AMR: []string{"pwd"}, ClientIDs: []string{"client-1"}}); err != nil {
		tr.t.Fatal(err)
	}
	return id, sid, tr.token(id, sid)
}

func (tr *transmitter) token(id, sid string) string {
	tok, _, err := tr.tokens.Issue(tr.ctx, oauth.AccessToken{Subject: id, Audience: authz.GraphResource, ClientID: "client-1",
		SessionID: sid, Scopes: []string{"User.Read"}})
	if err != nil {
		tr.t.Fatal(err)
	}
	return tok
}

// apply commits a revocation of users through revocation.ApplyInTx.
func (tr *transmitter) apply(cause revocation.Cause, users ...string) {
	err := tr.st.InTx(tr.ctx, func(tx store.Tx) error {
		_, err := revocation.ApplyInTx(tr.ctx, tx, revocation.Initiator{}, cause, users, time.Now(),
			revocation.Options{Reason: "test", RevocationID: uuid.NewString()})
		return err
	})
	if err != nil {
		tr.t.Fatal(err)
	}
}

// TestGuardWithVigilTransmitter runs guard (long poll and push) against
// Vigil's transmitter: a user revocation, one ended session and a
// disabled account each reach the guard, and nothing else is refused.
func TestGuardWithVigilTransmitter(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, st *sqlstore.Store) {
		tr := newTransmitter(t, st)
		for _, mode := range []string{"poll", "push"} {
			t.Run(mode, func(t *testing.T) {
				g := tr.startGuard(t, mode == "push")
				ctx := context.Background()
				kind := func(tok string) guard.Kind { return verifyKind(t, g, tok) }
				a, _, tokA := tr.user()
				b, sidB, tokB := tr.user()
				tokB2 := tr.token(b, uuid.NewString()) // another session of b
				c, _, tokC := tr.user()
				_, _, tokD := tr.user()
				for _, tok := range []string{tokA, tokB, tokB2, tokC, tokD} {
					if k := kind(tok); k != 0 {
						t.Fatalf("before any revocation: %v", k)
					}
				}
				tr.apply(revocation.CauseAdminRevoke, a)
				waitFor(t, 5*time.Second, "a's revocation", func() bool { return kind(tokA) == guard.KindRevoked })
				svc := &session.Service{Store: st, Secrets: tr.secret}
				if err := svc.End(ctx, sidB, "logout", session.Initiator{}); err != nil {
					t.Fatal(err)
				}
				waitFor(t, 5*time.Second, "b's session end", func() bool { return kind(tokB) == guard.KindSessionRevoked })
				tr.apply(revocation.CauseAccountDisabled, c)
				waitFor(t, 5*time.Second, "c's disabling", func() bool { return kind(tokC) == guard.KindUserDisabled })
				if k := kind(tokB2); k != 0 {
					t.Errorf("b's other session: %v", k)
				}
				if k := kind(tokD); k != 0 {
					t.Errorf("an untouched user: %v", k)
				}
			})
		}
	})
}

// startGuard runs a guard streaming from tr until the test ends; with
// push, its PushHandler is served on loopback.
func (tr *transmitter) startGuard(t *testing.T, push bool) *guard.Guard {
	t.Helper()
	g, _ := tr.startGuardTimed(t, push)
	return g
}

// startGuardTimed is startGuard that also returns when SETs last reached
// the guard (Unix nanoseconds): a poll answer's headers, or a push.
func (tr *transmitter) startGuardTimed(t *testing.T, push bool) (*guard.Guard, *atomic.Int64) {
	t.Helper()
	arrived := &atomic.Int64{}
	stream := &guard.Stream{TokenSource: oauth2.StaticTokenSource(&oauth2.Token{AccessToken: tr.receiverToken()}),
		RetryMin: time.Millisecond, RetryMax: 50 * time.Millisecond}
	var h http.Handler = http.NotFoundHandler()
	if push {
		recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			arrived.Store(time.Now().UnixNano())
			h.ServeHTTP(w, r)
		}))
		t.Cleanup(recv.Close)
		stream.PushURL = recv.URL + "/push"
	}
	client := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		resp, err := http.DefaultTransport.RoundTrip(r)
		if strings.HasSuffix(r.URL.Path, "/poll") {
			arrived.Store(time.Now().UnixNano())
		}
		return resp, err
	})}
	g, err := guard.New(guard.Config{Issuer: tr.issuer, Audiences: []string{authz.GraphResource}, Stream: stream,
		HTTPClient: client, Logger: discard})
	if err != nil {
		t.Fatal(err)
	}
	h = g.PushHandler()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- g.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("guard Run: %v", err)
		}
	})
	select {
	case <-g.Ready():
	case err := <-done:
		t.Fatalf("guard Run: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("stream not established within 10 s")
	}
	return g, arrived
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
