package guard

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/vigil-idp/vigil/ssf"
)

// startPushGuard runs a guard whose stream pushes to its PushHandler,
// served by a test server.
func startPushGuard(t *testing.T, ti *testIssuer, clock *fakeClock, mutate func(*Config)) *Guard {
	t.Helper()
	var h http.Handler = http.NotFoundHandler()
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.ServeHTTP(w, r) }))
	t.Cleanup(recv.Close)
	var g *Guard
	g = startGuardWith(t, ti, clock, func(c *Config) {
		c.Stream.PushURL = recv.URL + "/ssf/push"
		if mutate != nil {
			mutate(c)
		}
	}, func(gg *Guard) {
		mux := http.NewServeMux()
		mux.Handle("/ssf/push", gg.PushHandler())
		h = mux
	})
	return g
}

func TestPush(t *testing.T) {
	clock := newFakeClock()
	ti := newTestIssuer(t, clock.Now)
	g := startPushGuard(t, ti, clock, nil)
	cfg := ti.pushStream()
	if cfg.Delivery.Method != ssf.DeliveryPush || cfg.Delivery.AuthorizationHeader == "" {
		t.Fatalf("push stream created as %+v", cfg.Delivery)
	}
	tok := ti.mint(ti.claims(userA, sessA, clock.Now().Add(-time.Minute)))
	revoke := ti.set("push-1", ti.userSubject(userA), ssf.EventSessionRevoked,
		ssf.SessionRevoked{CAEPCommon: ssf.CAEPCommon{EventTimestamp: clock.Now().Unix()}})
	ti.emit("push-1", revoke)
	// The push answers only once the SET is applied: no waiting.
	if _, err := g.Verify(context.Background(), tok); kindOf(err) != KindRevoked {
		t.Fatalf("after the push: %v, want revoked", err)
	}
	ti.locked(func(ti *testIssuer) {
		if len(ti.pushResp) != 1 || ti.pushResp[0] != http.StatusAccepted {
			t.Errorf("push answered %v, want [202]", ti.pushResp)
		}
	})

	otherRSA, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	forgedSET, _ := ssf.NewSET(ti.url, clock.Now().Unix(), "forged", ssf.Audience{testClientID}, "t", ti.userSubject(userB),
		ssf.EventAccountDisabled, ssf.AccountDisabled{})
	wrongAud, _ := ssf.NewSET(ti.url, clock.Now().Unix(), "aud", ssf.Audience{"other"}, "t", ti.userSubject(userB),
		ssf.EventAccountDisabled, ssf.AccountDisabled{})
	auth := cfg.Delivery.AuthorizationHeader
	cases := []struct {
		name   string
		auth   string
		set    string
		status int
		err    string
	}{
		{"replayed jti", auth, revoke, 400, ssf.SETErrInvalidRequest},
		{"no Authorization", "", ti.set("p2", ti.userSubject(userB), ssf.EventAccountDisabled, ssf.AccountDisabled{}), 401, ssf.SETErrAuthenticationFailed},
		{"wrong Authorization", "Bearer guess", ti.set("p3", ti.userSubject(userB), ssf.EventAccountDisabled, ssf.AccountDisabled{}), 401, ssf.SETErrAuthenticationFailed},
		{"forged signature", auth, sign(t, jose.JSONWebKey{Key: otherRSA, KeyID: "set-1"}, jose.RS256, ssf.SETType, forgedSET), 400, ssf.SETErrInvalidKey},
		{"wrong aud", auth, sign(t, ti.setKey, jose.RS256, ssf.SETType, wrongAud), 400, ssf.SETErrInvalidAudience},
		{"not a SET", auth, "garbage", 400, ssf.SETErrInvalidRequest},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			status, body := ti.push(cfg.Delivery.EndpointURL, c.auth, c.set)
			var e ssf.SETError
			if err := json.Unmarshal([]byte(body), &e); err != nil {
				t.Fatalf("body %q: %v", body, err)
			}
			if status != c.status || e.Err != c.err || e.Description == "" {
				t.Fatalf("push: %d %+v, want %d %q with a description", status, e, c.status, c.err)
			}
		})
	}
	tokB := ti.mint(ti.claims(userB, sessB, clock.Now().Add(-time.Minute)))
	if _, err := g.Verify(context.Background(), tokB); err != nil {
		t.Fatalf("a refused push changed the table: %v", err)
	}
	resp, err := http.Get(cfg.Delivery.EndpointURL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET: %d, want 405", resp.StatusCode)
	}
}

// TestPushHeartbeat: a push stream the transmitter pauses, or cannot be
// asked about, is down.
func TestPushHeartbeat(t *testing.T) {
	clock := newFakeClock()
	ti := newTestIssuer(t, clock.Now)
	g := startPushGuard(t, ti, clock, func(c *Config) { c.Stream.HeartbeatInterval = 2 * time.Millisecond })
	ti.locked(func(ti *testIssuer) { ti.status = ssf.StatusPaused })
	waitFor(t, 5*time.Second, "paused to mark the stream down", func() bool { return g.health.downSince.Load() != 0 })
	ti.locked(func(ti *testIssuer) { ti.status = ssf.StatusEnabled })
	waitFor(t, 5*time.Second, "enabled to mark it up", func() bool { return g.health.downSince.Load() == 0 })
}

func TestReplayCacheIsBounded(t *testing.T) {
	c := newReplayCache(3)
	for _, j := range []string{"a", "b", "c"} {
		if !c.add(j) {
			t.Fatalf("%s refused", j)
		}
	}
	if c.add("a") {
		t.Fatal("replayed a accepted")
	}
	c.add("d") // evicts a
	if !c.add("a") {
		t.Fatal("a still remembered beyond the bound")
	}
	if len(c.seen) != 3 {
		t.Fatalf("%d jtis remembered, bound 3", len(c.seen))
	}
}
