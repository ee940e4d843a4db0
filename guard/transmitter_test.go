package guard

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/vigil-idp/vigil/ssf"
)

// testIssuer is a test-local identity provider and SSF transmitter built
// from the public ssf wire types: OpenID discovery, a token endpoint
// (client credentials), a JWKS (an ES256 access-token key and an RS256 SET
// key), SSF metadata, stream create/delete/status, long poll (RFC 8936)
// and push (RFC 8935). Tests drive it: mint tokens, emit events, break it.
type testIssuer struct {
	t   *testing.T
	srv *httptest.Server
	url string
	now func() time.Time

	atKey, setKey jose.JSONWebKey // private keys

	jwksFetches atomic.Int64
	// jwksGate, when set, holds every JWKS request until it is closed.
	jwksGate chan struct{}

	mu      sync.Mutex
	streams map[string]*testStream
	nextID  int
	wake    chan struct{} // closed and replaced on every event
	acks    map[string]bool
	setErrs map[string]ssf.SETError
	// pollStatus, when not 0, is how every poll is answered (a broken
	// transmitter).
	pollStatus int
	status     string // every stream's status
	pushResp   []int  // status of every push, in order
	// onAck, when set, runs for every acknowledged jti as the ack arrives.
	onAck   func(jti string)
	created int
}

type testStream struct {
	cfg     ssf.StreamConfiguration
	pending []string          // jtis, in order
	sets    map[string]string // jti → compact SET
}

const (
	testClientID     = "receiver-app"
	testClientSecret = "s3cret"
	testAudience     = "api://orders"
)

func newTestIssuer(t *testing.T, now func() time.Time) *testIssuer {
	t.Helper()
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	rk, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	ti := &testIssuer{
		t: t, now: now,
		atKey:   jose.JSONWebKey{Key: ec, KeyID: "at-1", Algorithm: "ES256", Use: "sig"},
		setKey:  jose.JSONWebKey{Key: rk, KeyID: "set-1", Algorithm: "RS256", Use: "sig"},
		streams: map[string]*testStream{}, wake: make(chan struct{}),
		acks: map[string]bool{}, setErrs: map[string]ssf.SETError{}, status: ssf.StatusEnabled,
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", ti.discovery)
	mux.HandleFunc("POST /token", ti.token)
	mux.HandleFunc("GET /jwks", ti.jwks)
	mux.HandleFunc("GET /.well-known/ssf-configuration", ti.ssfMetadata)
	mux.HandleFunc("POST /ssf/streams", ti.authed(ti.createStream))
	mux.HandleFunc("DELETE /ssf/streams", ti.authed(ti.deleteStream))
	mux.HandleFunc("GET /ssf/status", ti.authed(ti.streamStatus))
	mux.HandleFunc("POST /ssf/streams/{id}/poll", ti.authed(ti.poll))
	ti.srv = httptest.NewServer(mux)
	ti.url = ti.srv.URL
	t.Cleanup(ti.close)
	return ti
}

// close wakes every long poll and stops the server.
func (ti *testIssuer) close() {
	ti.mu.Lock()
	close(ti.wake)
	ti.wake = make(chan struct{})
	ti.mu.Unlock()
	ti.srv.CloseClientConnections()
	ti.srv.Close()
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func (ti *testIssuer) discovery(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, 200, map[string]string{
		"issuer": ti.url, "authorization_endpoint": ti.url + "/authorize",
		"token_endpoint": ti.url + "/token", "jwks_uri": ti.url + "/jwks",
	})
}

func (ti *testIssuer) token(w http.ResponseWriter, r *http.Request) {
	id, secret, ok := r.BasicAuth()
	if !ok {
		_ = r.ParseForm()
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	if id != testClientID || secret != testClientSecret {
		writeJSON(w, 401, map[string]string{"error": "invalid_client"})
		return
	}
	writeJSON(w, 200, map[string]any{"access_token": "stream-token", "token_type": "Bearer", "expires_in": 3600})
}

func (ti *testIssuer) jwks(w http.ResponseWriter, _ *http.Request) {
	ti.jwksFetches.Add(1)
	ti.mu.Lock()
	gate := ti.jwksGate
	keys := jose.JSONWebKeySet{Keys: []jose.JSONWebKey{ti.atKey.Public(), ti.setKey.Public()}}
	ti.mu.Unlock()
	if gate != nil {
		<-gate
	}
	writeJSON(w, 200, keys)
}

func (ti *testIssuer) ssfMetadata(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, 200, ssf.TransmitterMetadata{
		SpecVersion: ssf.SpecVersion10, Issuer: ti.url, JWKSURI: ti.url + "/jwks",
		DeliveryMethodsSupported: []string{ssf.DeliveryPush, ssf.DeliveryPoll},
		ConfigurationEndpoint:    ti.url + "/ssf/streams", StatusEndpoint: ti.url + "/ssf/status",
		AuthorizationSchemes: []ssf.AuthorizationScheme{{SpecURN: ssf.SchemeOAuth}},
		DefaultSubjects:      ssf.DefaultSubjectsAll,
	})
}

func (ti *testIssuer) authed(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer stream-token" {
			writeJSON(w, 401, ssf.SETError{Err: ssf.SETErrAuthenticationFailed, Description: "bearer token required"})
			return
		}
		h(w, r)
	}
}

func (ti *testIssuer) createStream(w http.ResponseWriter, r *http.Request) {
	var req ssf.StreamConfiguration
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil || req.Delivery == nil {
		writeJSON(w, 400, ssf.SETError{Err: ssf.SETErrInvalidRequest, Description: "bad stream configuration"})
		return
	}
	ti.mu.Lock()
	defer ti.mu.Unlock()
	ti.nextID++
	ti.created++
	id := fmt.Sprintf("stream-%d", ti.nextID)
	cfg := req
	cfg.StreamID, cfg.Issuer, cfg.Audience = id, ti.url, ssf.Audience{testClientID}
	cfg.EventsSupported = EventsRequested
	cfg.EventsDelivered = req.EventsRequested
	if req.Delivery.Method == ssf.DeliveryPoll {
		cfg.Delivery = &ssf.Delivery{Method: ssf.DeliveryPoll, EndpointURL: ti.url + "/ssf/streams/" + id + "/poll"}
	}
	ti.streams[id] = &testStream{cfg: cfg, sets: map[string]string{}}
	writeJSON(w, 201, cfg)
}

// byQuery returns the stream named by ?stream_id=, or answers 404. The
// caller holds ti.mu.
func (ti *testIssuer) byQuery(w http.ResponseWriter, r *http.Request) (string, bool) {
	id := r.URL.Query().Get("stream_id")
	if ti.streams[id] == nil {
		writeJSON(w, 404, ssf.SETError{Err: "not_found", Description: "no stream"})
		return "", false
	}
	return id, true
}

func (ti *testIssuer) deleteStream(w http.ResponseWriter, r *http.Request) {
	ti.mu.Lock()
	defer ti.mu.Unlock()
	if id, ok := ti.byQuery(w, r); ok {
		delete(ti.streams, id)
		w.WriteHeader(204)
	}
}

func (ti *testIssuer) streamStatus(w http.ResponseWriter, r *http.Request) {
	ti.mu.Lock()
	defer ti.mu.Unlock()
	if id, ok := ti.byQuery(w, r); ok {
		writeJSON(w, 200, ssf.StreamStatus{StreamID: id, Status: ti.status})
	}
}

// poll applies acks and setErrs, then answers the pending SETs, holding
// the request (long poll) while there are none.
func (ti *testIssuer) poll(w http.ResponseWriter, r *http.Request) {
	var req ssf.PollRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		writeJSON(w, 400, ssf.SETError{Err: ssf.SETErrInvalidRequest, Description: err.Error()})
		return
	}
	id := r.PathValue("id")
	timeout := time.NewTimer(10 * time.Second)
	defer timeout.Stop()
	for {
		ti.mu.Lock()
		if ti.pollStatus != 0 {
			st := ti.pollStatus
			ti.mu.Unlock()
			writeJSON(w, st, ssf.SETError{Err: "server_error", Description: "broken on purpose"})
			return
		}
		s := ti.streams[id]
		if s == nil {
			ti.mu.Unlock()
			writeJSON(w, 404, ssf.SETError{Err: "not_found", Description: "no stream"})
			return
		}
		for _, jti := range req.Ack {
			ti.acks[jti] = true
			s.drop(jti)
			if ti.onAck != nil {
				ti.onAck(jti)
			}
		}
		for jti, e := range req.SetErrs {
			ti.setErrs[jti] = e
			s.drop(jti)
		}
		req.Ack, req.SetErrs = nil, nil
		if len(s.pending) > 0 || req.ReturnImmediately {
			resp := ssf.PollResponse{Sets: map[string]string{}}
			for _, jti := range s.pending {
				resp.Sets[jti] = s.sets[jti]
			}
			ti.mu.Unlock()
			writeJSON(w, 200, resp)
			return
		}
		wake := ti.wake
		ti.mu.Unlock()
		select {
		case <-wake:
		case <-timeout.C:
			writeJSON(w, 200, ssf.PollResponse{Sets: map[string]string{}})
			return
		case <-r.Context().Done():
			return
		}
	}
}

func (s *testStream) drop(jti string) {
	delete(s.sets, jti)
	for i, p := range s.pending {
		if p == jti {
			s.pending = append(s.pending[:i], s.pending[i+1:]...)
			return
		}
	}
}

// sign signs claims as a JWS with key, typ and kid (kid "" keeps the
// key's).
func sign(t testing.TB, key jose.JSONWebKey, alg jose.SignatureAlgorithm, typ string, claims any) string {
	t.Helper()
	opts := (&jose.SignerOptions{}).WithType(jose.ContentType(typ))
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: key}, opts)
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	jws, err := s.Sign(b)
	if err != nil {
		t.Fatal(err)
	}
	out, err := jws.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// claims returns the claims of a valid access token of user oid in
// session sid, issued at iat.
func (ti *testIssuer) claims(oid, sid string, iat time.Time) map[string]any {
	return map[string]any{
		"iss": ti.url, "sub": oid, "oid": oid, "sid": sid, "aud": testAudience, "tid": "tenant-1",
		"iat": iat.Unix(), "nbf": iat.Unix(), "exp": iat.Add(time.Hour).Unix(), "jti": "at-" + oid,
		"client_id": "client-app", "scp": "Orders.Read Orders.Write", "idtyp": "user", "upn": "ada@example.com",
	}
}

// mint signs claims as an access token (ES256, typ at+jwt).
func (ti *testIssuer) mint(claims map[string]any) string {
	return sign(ti.t, ti.atKey, jose.ES256, "at+jwt", claims)
}

// set signs a SET of one event about subject.
func (ti *testIssuer) set(jti string, subject ssf.Subject, typ string, body any) string {
	s, err := ssf.NewSET(ti.url, ti.now().Unix(), jti, ssf.Audience{testClientID}, "txn-"+jti, subject, typ, body)
	if err != nil {
		ti.t.Fatal(err)
	}
	return sign(ti.t, ti.setKey, jose.RS256, ssf.SETType, s)
}

// userSubject is the complex subject Vigil sends for a user.
func (ti *testIssuer) userSubject(oid string) ssf.Subject {
	u := ssf.IssSubSubject(ti.url, oid)
	return ssf.Subject{Format: ssf.FormatComplex, User: &u}
}

// emit delivers a compact SET to every stream: queued for poll streams,
// POSTed to push streams (the push answers are recorded).
func (ti *testIssuer) emit(jti, compact string) {
	ti.mu.Lock()
	var push []ssf.StreamConfiguration
	for _, s := range ti.streams {
		if s.cfg.Delivery.Method == ssf.DeliveryPush {
			push = append(push, s.cfg)
			continue
		}
		s.sets[jti] = compact
		s.pending = append(s.pending, jti)
	}
	close(ti.wake)
	ti.wake = make(chan struct{})
	ti.mu.Unlock()
	for _, cfg := range push {
		ti.recordPush(ti.push(cfg.Delivery.EndpointURL, cfg.Delivery.AuthorizationHeader, compact))
	}
}

// push POSTs one SET as RFC 8935 says and returns the status and body.
func (ti *testIssuer) push(url, auth, compact string) (int, string) {
	req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(compact))
	req.Header.Set("Content-Type", ssf.SETMediaType)
	req.Header.Set("Accept", "application/json")
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		ti.t.Errorf("push: %v", err)
		return 0, ""
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func (ti *testIssuer) recordPush(status int, _ string) {
	ti.mu.Lock()
	ti.pushResp = append(ti.pushResp, status)
	ti.mu.Unlock()
}

func (ti *testIssuer) acked(jti string) bool {
	ti.mu.Lock()
	defer ti.mu.Unlock()
	return ti.acks[jti]
}

func (ti *testIssuer) setErr(jti string) (ssf.SETError, bool) {
	ti.mu.Lock()
	defer ti.mu.Unlock()
	e, ok := ti.setErrs[jti]
	return e, ok
}

func (ti *testIssuer) streamCount() int {
	ti.mu.Lock()
	defer ti.mu.Unlock()
	return len(ti.streams)
}

func (ti *testIssuer) pushStream() ssf.StreamConfiguration {
	ti.mu.Lock()
	defer ti.mu.Unlock()
	for _, s := range ti.streams {
		if s.cfg.Delivery.Method == ssf.DeliveryPush {
			return s.cfg
		}
	}
	ti.t.Fatal("no push stream")
	return ssf.StreamConfiguration{}
}

func (ti *testIssuer) locked(f func(ti *testIssuer)) {
	ti.mu.Lock()
	f(ti)
	ti.mu.Unlock()
}

// fakeClock is a settable clock.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{t: time.Unix(1_800_000_000, 0)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// waitFor waits until cond holds, failing the test after timeout. It
// polls every 200 µs: it waits on a condition, it does not sleep a guess.
func waitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(200 * time.Microsecond)
	}
}
