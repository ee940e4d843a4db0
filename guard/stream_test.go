package guard

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/vigil-idp/vigil/ssf"
)

const (
	userA = "5d1e8a3c-2b4f-4c6d-8e9f-0a1b2c3d4e5f"
	userB = "6e2f9b4d-3c5a-4d7e-9fa0-1b2c3d4e5f60"
	sessA = "0f9e8d7c-6b5a-4938-8271-605f4e3d2c1b"
	sessB = "1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d"
)

// TestStreamEvents drives every event type through a long-polled stream
// and checks the verdicts, and that each SET is acknowledged only once
// it is applied.
func TestStreamEvents(t *testing.T) {
	clock := newFakeClock()
	ti := newTestIssuer(t, clock.Now)
	g := startGuard(t, ti, clock, nil)
	ctx := context.Background()
	now := clock.Now()
	issued := now.Add(-time.Minute)
	tokA := ti.mint(ti.claims(userA, sessA, issued))
	tokA2 := ti.mint(ti.claims(userA, sessB, issued))
	tokB := ti.mint(ti.claims(userB, sessB, issued))
	fresh := ti.mint(ti.claims(userA, sessB, now.Add(time.Second))) // issued after the revocations below

	// An ack must find the SET already applied.
	var mu sync.Mutex
	appliedAtAck := map[string]bool{}
	probe := map[string]func() bool{}
	ti.locked(func(ti *testIssuer) {
		ti.onAck = func(jti string) {
			mu.Lock()
			defer mu.Unlock()
			if p := probe[jti]; p != nil {
				appliedAtAck[jti] = p()
			}
		}
	})
	user := ti.userSubject
	session := func(oid, sid string) ssf.Subject {
		s := ti.userSubject(oid)
		sess := ssf.OpaqueSubject(sid)
		s.Session = &sess
		return s
	}
	caep := ssf.CAEPCommon{EventTimestamp: now.Unix(), InitiatingEntity: ssf.InitiatedByAdmin, ReasonAdmin: map[string]string{"en": "test"}}
	type check struct {
		token string
		want  Kind
	}
	steps := []struct {
		name    string
		subject ssf.Subject
		typ     string
		body    any
		checks  []check
	}{
		{"session-revoked of one session", session(userA, sessA), ssf.EventSessionRevoked, ssf.SessionRevoked{CAEPCommon: caep},
			[]check{{tokA, KindSessionRevoked}, {tokA2, 0}, {tokB, 0}}},
		{"session-revoked of the user", user(userA), ssf.EventSessionRevoked, ssf.SessionRevoked{CAEPCommon: caep},
			[]check{{tokA2, KindRevoked}, {fresh, 0}, {tokB, 0}}},
		{"credential-change", user(userB), ssf.EventCredentialChange,
			ssf.CredentialChange{CAEPCommon: caep, CredentialType: ssf.CredentialPassword, ChangeType: ssf.ChangeUpdate},
			[]check{{tokB, KindRevoked}}},
		{"account-disabled", user(userA), ssf.EventAccountDisabled, ssf.AccountDisabled{Reason: ssf.DisabledHijacking},
			[]check{{fresh, KindUserDisabled}}},
		{"account-enabled", user(userA), ssf.EventAccountEnabled, ssf.AccountEnabled{},
			[]check{{tokA2, KindRevoked}}},
		{"account-purged (simple iss_sub subject)", ssf.IssSubSubject(ti.url, userB), ssf.EventAccountPurged, ssf.AccountPurged{},
			[]check{{tokB, KindUserDisabled}}},
	}
	verdict := func(tok string) Kind { _, err := g.Verify(ctx, tok); return kindOf(err) }
	for i, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			jti := "set-" + string(rune('a'+i))
			first := st.checks[0]
			mu.Lock()
			probe[jti] = func() bool { return verdict(first.token) == first.want }
			mu.Unlock()
			ti.emit(jti, ti.set(jti, st.subject, st.typ, st.body))
			waitFor(t, 5*time.Second, "the ack of "+jti, func() bool { return ti.acked(jti) })
			mu.Lock()
			ok := appliedAtAck[jti]
			mu.Unlock()
			if !ok {
				t.Errorf("%s was acknowledged before it was applied", jti)
			}
			for _, c := range st.checks {
				if got := verdict(c.token); got != c.want {
					t.Errorf("verdict %v, want %v", got, c.want)
				}
			}
		})
	}
	// account-enabled keeps validFrom: a token issued after it stands.
	if got := verdict(ti.mint(ti.claims(userA, sessB, now.Add(2*time.Second)))); got != 0 {
		t.Errorf("token issued after re-enabling: %v", got)
	}
	if u, s := g.table.size(); u != 2 || s != 1 {
		t.Errorf("table has %d users and %d sessions, want 2 and 1", u, s)
	}
}

// TestStreamSetErrs checks that SETs the guard cannot verify or map are
// reported in setErrs with RFC 8935 codes, never acknowledged.
func TestStreamSetErrs(t *testing.T) {
	clock := newFakeClock()
	ti := newTestIssuer(t, clock.Now)
	startGuard(t, ti, clock, nil)
	otherRSA, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	body := ssf.SessionRevoked{CAEPCommon: ssf.CAEPCommon{EventTimestamp: clock.Now().Unix()}}
	setWith := func(jti string, f func(s *ssf.SET)) ssf.SET {
		s, err := ssf.NewSET(ti.url, clock.Now().Unix(), jti, ssf.Audience{testClientID}, "txn", ti.userSubject(userA), ssf.EventSessionRevoked, body)
		if err != nil {
			t.Fatal(err)
		}
		if f != nil {
			f(&s)
		}
		return s
	}
	cases := []struct {
		jti     string
		compact string
		want    string
	}{
		{"forged", sign(t, jose.JSONWebKey{Key: otherRSA, KeyID: "set-1"}, jose.RS256, ssf.SETType, setWith("forged", nil)), ssf.SETErrInvalidKey},
		{"wrong-aud", sign(t, ti.setKey, jose.RS256, ssf.SETType, setWith("wrong-aud", func(s *ssf.SET) { s.Audience = ssf.Audience{"someone-else"} })), ssf.SETErrInvalidAudience},
		{"wrong-iss", sign(t, ti.setKey, jose.RS256, ssf.SETType, setWith("wrong-iss", func(s *ssf.SET) { s.Issuer = "https://evil.example" })), ssf.SETErrInvalidIssuer},
		{"typ-jwt", sign(t, ti.setKey, jose.RS256, "JWT", setWith("typ-jwt", nil)), ssf.SETErrInvalidRequest},
		{"email-subject", sign(t, ti.setKey, jose.RS256, ssf.SETType, setWith("email-subject", func(s *ssf.SET) {
			e := ssf.EmailSubject("ada@example.com")
			s.SubID = &e
		})), ssf.SETErrInvalidRequest},
		{"two-events", sign(t, ti.setKey, jose.RS256, ssf.SETType, setWith("two-events", func(s *ssf.SET) {
			s.Events[ssf.EventCredentialChange] = []byte(`{}`)
		})), ssf.SETErrInvalidRequest},
		{"no-subject", sign(t, ti.setKey, jose.RS256, ssf.SETType, setWith("no-subject", func(s *ssf.SET) { s.SubID = nil })), ssf.SETErrInvalidRequest},
		{"jti-mismatch", ti.set("other-jti", ti.userSubject(userA), ssf.EventSessionRevoked, body), ssf.SETErrInvalidRequest},
	}
	for _, c := range cases {
		t.Run(c.jti, func(t *testing.T) {
			ti.emit(c.jti, c.compact)
			waitFor(t, 5*time.Second, "the setErr of "+c.jti, func() bool { _, ok := ti.setErr(c.jti); return ok })
			e, _ := ti.setErr(c.jti)
			if e.Err != c.want || e.Description == "" {
				t.Errorf("setErr %+v, want err %q with a description", e, c.want)
			}
			if ti.acked(c.jti) {
				t.Errorf("%s was acknowledged", c.jti)
			}
		})
	}
}

func TestStreamFailClosed(t *testing.T) {
	clock := newFakeClock()
	ti := newTestIssuer(t, clock.Now)
	g := startGuard(t, ti, clock, func(c *Config) { c.FailClosedAfter = time.Minute })
	ctx := context.Background()
	tok := ti.mint(ti.claims(userA, sessA, clock.Now()))
	if _, err := g.Verify(ctx, tok); err != nil {
		t.Fatal(err)
	}
	// The transmitter breaks; the guard notices at its next poll.
	ti.locked(func(ti *testIssuer) { ti.pollStatus = 500 })
	ti.emit("wake", ti.set("wake", ti.userSubject(userB), ssf.EventAccountEnabled, ssf.AccountEnabled{}))
	waitFor(t, 5*time.Second, "the stream to be marked down", func() bool { return g.health.downSince.Load() != 0 })
	if _, err := g.Verify(ctx, tok); err != nil {
		t.Fatalf("refused before FailClosedAfter: %v", err)
	}
	clock.Advance(61 * time.Second)
	if _, err := g.Verify(ctx, tok); kindOf(err) != KindStreamDown {
		t.Fatalf("after 61 s down: %v, want stream down", err)
	}
	// It recovers, and so does the guard.
	ti.locked(func(ti *testIssuer) { ti.pollStatus = 0 })
	waitFor(t, 5*time.Second, "the stream to be up again", func() bool { return g.health.downSince.Load() == 0 })
	if _, err := g.Verify(ctx, tok); err != nil {
		t.Fatalf("after recovery: %v", err)
	}
	// stream-updated: paused means events are held, so the stream is down.
	streamSub := ssf.OpaqueSubject("stream-1")
	ti.emit("paused", ti.set("paused", streamSub, ssf.EventStreamUpdated, ssf.StreamUpdated{Status: ssf.StatusPaused}))
	waitFor(t, 5*time.Second, "paused to mark the stream down", func() bool { return g.health.downSince.Load() != 0 })
	clock.Advance(61 * time.Second)
	if _, err := g.Verify(ctx, tok); kindOf(err) != KindStreamDown {
		t.Fatalf("paused for 61 s: %v, want stream down", err)
	}
	ti.emit("enabled", ti.set("enabled", streamSub, ssf.EventStreamUpdated, ssf.StreamUpdated{Status: ssf.StatusEnabled}))
	waitFor(t, 5*time.Second, "enabled to mark the stream up", func() bool { return g.health.downSince.Load() == 0 })
}

// TestStreamRecreated: a stream the transmitter forgot (404) is created
// again and events flow on the new one.
func TestStreamRecreated(t *testing.T) {
	clock := newFakeClock()
	ti := newTestIssuer(t, clock.Now)
	g := startGuard(t, ti, clock, nil)
	ti.locked(func(ti *testIssuer) {
		clear(ti.streams)
		close(ti.wake) // end the poll in flight: it now finds no stream
		ti.wake = make(chan struct{})
	})
	waitFor(t, 5*time.Second, "a new stream", func() bool { return ti.streamCount() == 1 && g.stream.Load().id != "stream-1" })
	tok := ti.mint(ti.claims(userA, sessA, clock.Now().Add(-time.Minute)))
	ti.emit("after", ti.set("after", ti.userSubject(userA), ssf.EventSessionRevoked,
		ssf.SessionRevoked{CAEPCommon: ssf.CAEPCommon{EventTimestamp: clock.Now().Unix()}}))
	waitFor(t, 5*time.Second, "the revocation on the new stream", func() bool {
		_, err := g.Verify(context.Background(), tok)
		return kindOf(err) == KindRevoked
	})
}

func TestRunDeletesStreamOnExit(t *testing.T) {
	clock := newFakeClock()
	ti := newTestIssuer(t, clock.Now)
	g, err := New(Config{Issuer: ti.url, Audiences: []string{testAudience}, Now: clock.Now, Logger: discard,
		Stream: &Stream{ClientID: testClientID, ClientSecret: testClientSecret}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- g.Run(ctx) }()
	<-g.Ready()
	if ti.streamCount() != 1 {
		t.Fatalf("%d streams, want 1", ti.streamCount())
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if n := ti.streamCount(); n != 0 {
		t.Fatalf("%d streams left after Run returned, want 0", n)
	}
}

func TestRunWrongCredentials(t *testing.T) {
	clock := newFakeClock()
	ti := newTestIssuer(t, clock.Now)
	g, err := New(Config{Issuer: ti.url, Audiences: []string{testAudience}, Now: clock.Now, Logger: discard,
		Stream: &Stream{ClientID: testClientID, ClientSecret: "wrong"}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err = g.Run(ctx)
	if err == nil || !strings.Contains(err.Error(), "credentials") {
		t.Fatalf("Run with a wrong secret: %v, want a credentials error at once", err)
	}
}

func TestPrune(t *testing.T) {
	clock := newFakeClock()
	ti := newTestIssuer(t, clock.Now)
	g := newVerifier(t, ti, clock, func(c *Config) { c.MaxTokenLifetime = time.Hour })
	now := clock.Now().Unix()
	g.table.revokeUser(userA, now)
	g.table.disableUser("u-x", now)
	g.table.revokeSession(sessA, now)
	g.table.revokeUser(userB, now+600)
	clock.Advance(time.Hour + DefaultSkew) // entries at now are still needed…
	if n := g.prune(); n != 0 {
		t.Fatalf("pruned %d entries a token could still need", n)
	}
	clock.Advance(time.Second) // …and no longer
	if n := g.prune(); n != 3 {
		t.Fatalf("pruned %d entries, want 3", n)
	}
	if u, s := g.table.size(); u != 1 || s != 0 {
		t.Fatalf("table has %d users, %d sessions after pruning, want 1, 0", u, s)
	}
}

// TestStreamAsksForBackfill: the guard creates its stream asking for the
// revocations of the longest token lifetime (plus skew) before it, each
// time it creates one.
func TestStreamAsksForBackfill(t *testing.T) {
	clock := newFakeClock()
	ti := newTestIssuer(t, clock.Now)
	g := startGuard(t, ti, clock, func(c *Config) { c.MaxTokenLifetime = 2 * time.Hour; c.Skew = 10 * time.Second })
	want := 2*3600 + 10
	ti.locked(func(ti *testIssuer) {
		for id, st := range ti.streams {
			if st.cfg.BackfillSeconds != want {
				t.Errorf("stream %s asked for vigil_backfill_seconds %d, want %d", id, st.cfg.BackfillSeconds, want)
			}
		}
	})
	if got := g.stream.Load().config.BackfillSeconds; got != want {
		t.Errorf("established stream's backfill = %d, want %d", got, want)
	}
}
