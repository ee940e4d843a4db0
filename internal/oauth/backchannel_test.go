package oauth

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/google/uuid"

	"github.com/vigil-idp/vigil/internal/revocation"
	"github.com/vigil-idp/vigil/internal/session"
	"github.com/vigil-idp/vigil/internal/store"
)

// rp is a relying party's back-channel logout endpoint: it answers with
// the next status of its script (200 once the script is exhausted) and
// verifies every logout token it receives with go-oidc.
type rp struct {
	t        testing.TB
	srv      *httptest.Server
	verifier *oidc.IDTokenVerifier
	mu       sync.Mutex
	script   []int
	received []map[string]any // verified claims of the accepted tokens
	typs     []string
	calls    int
	accepted chan struct{} // one value per accepted token
}

func newRP(t testing.TB, d *sessionIDP, clientID string, script ...int) *rp {
	t.Helper()
	r := &rp{t: t, script: script, accepted: make(chan struct{}, 100)}
	ctx := oidc.ClientContext(context.Background(), d.http.Client())
	keys := oidc.NewRemoteKeySet(ctx, d.issuer+PathJWKS)
	r.verifier = oidc.NewVerifier(d.issuer, keys, &oidc.Config{ClientID: clientID, Now: d.clock.Now})
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *rp) serve(w http.ResponseWriter, req *http.Request) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls++
	status := http.StatusOK
	if len(r.script) > 0 {
		status, r.script = r.script[0], r.script[1:]
	}
	if status == http.StatusOK {
		raw := req.PostFormValue("logout_token")
		if req.Header.Get("Content-Type") != "application/x-www-form-urlencoded" {
			r.t.Errorf("Content-Type %q", req.Header.Get("Content-Type"))
		}
		tok, err := r.verifier.Verify(req.Context(), raw)
		if err != nil {
			r.t.Errorf("logout token does not verify: %v", err)
			http.Error(w, "bad token", http.StatusBadRequest)
			return
		}
		var c map[string]any
		if err := tok.Claims(&c); err != nil {
			r.t.Error(err)
		}
		_, typ := unverifiedClaims(r.t, raw)
		r.received = append(r.received, c)
		r.typs = append(r.typs, typ)
		r.accepted <- struct{}{}
	}
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
}

func (r *rp) got() ([]map[string]any, int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]map[string]any(nil), r.received...), r.calls
}

// rpApp registers a client whose backchannel_logout_uri is uri ("" for
// none).
func (d *sessionIDP) rpApp(t testing.TB, uri string) store.Application {
	t.Helper()
	a := store.Application{ID: uuid.NewString(), AppID: uuid.NewString(), DisplayName: "rp", BackchannelLogoutURI: uri,
		CreatedDateTime: time.Now().UTC()}
	if err := d.store.CreateApplication(context.Background(), a); err != nil {
		t.Fatal(err)
	}
	return a
}

func (d *sessionIDP) worker() *BackchannelLogout {
	return &BackchannelLogout{Issuer: d.issuer, Store: d.store, Signers: d.keys, Now: d.clock.Now, Client: d.http.Client()}
}

// setURI points an application's backchannel_logout_uri at uri.
func (d *sessionIDP) setURI(t testing.TB, a store.Application, uri string) {
	t.Helper()
	if _, err := d.store.UpdateApplication(context.Background(), a.ID, func(a store.Application) (store.Application, error) {
		a.BackchannelLogoutURI = uri
		return a, nil
	}); err != nil {
		t.Fatal(err)
	}
}

func TestBackchannelLogout(t *testing.T) {
	eachIDP(t, func(t *testing.T, d *sessionIDP) {
		ctx := context.Background()
		withURI := d.rpApp(t, "")
		relying := newRP(t, d, withURI.AppID)
		d.setURI(t, withURI, relying.srv.URL+"/logout")
		without := d.rpApp(t, "")
		u := d.user(t)
		s, _ := d.signIn(t, u, withURI.AppID, nil)
		if err := d.sessions.Touch(ctx, s.ID, without.AppID); err != nil {
			t.Fatal(err)
		}
		w := d.worker()
		if enq, att, err := w.Step(ctx); err != nil || enq != 0 || att != 0 {
			t.Fatalf("idle step: %d %d %v", enq, att, err)
		}
		if err := d.sessions.End(ctx, s.ID, "logout", session.Initiator{UserID: u.ID}); err != nil {
			t.Fatal(err)
		}
		enq, att, err := w.Step(ctx)
		if err != nil || enq != 1 || att != 1 {
			t.Fatalf("step after End: enqueued %d attempted %d: %v", enq, att, err)
		}
		got, _ := relying.got()
		if len(got) != 1 {
			t.Fatalf("the RP received %d logout tokens", len(got))
		}
		c := got[0]
		events, _ := c["events"].(map[string]any)
		if _, ok := events[BackchannelLogoutEvent]; !ok || c["sid"] != s.ID || c["sub"] != u.ID || c["iss"] != d.issuer ||
			c["aud"] != withURI.AppID || c["jti"] == "" || c["nonce"] != nil || c["exp"].(float64)-c["iat"].(float64) != LogoutTokenLifetime.Seconds() {
			t.Errorf("logout token claims = %v", c)
		}
		if relying.typs[0] != LogoutTokenType {
			t.Errorf("typ = %q", relying.typs[0])
		}
		if enq, att, err := w.Step(ctx); err != nil || enq != 0 || att != 0 {
			t.Fatalf("a second step did work again: %d %d %v", enq, att, err)
		}
		page, err := d.store.ListDeliveries(ctx, BackchannelQueue, false, store.Query{})
		if err != nil || len(page.Items) != 1 || page.Items[0].DeliveredAt == nil {
			t.Fatalf("deliveries = %+v, %v", page.Items, err)
		}
	})
}

func TestBackchannelRetries(t *testing.T) {
	eachIDP(t, func(t *testing.T, d *sessionIDP) {
		ctx := context.Background()
		a := d.rpApp(t, "")
		relying := newRP(t, d, a.AppID, 500, 503)
		d.setURI(t, a, relying.srv.URL)
		u := d.user(t)
		s, _ := d.signIn(t, u, a.AppID, nil)
		if err := d.sessions.End(ctx, s.ID, "logout", session.Initiator{}); err != nil {
			t.Fatal(err)
		}
		w := d.worker()
		w.Backoff = 10 * time.Second
		step := func(wantAttempts int) {
			t.Helper()
			if _, att, err := w.Step(ctx); err != nil || att != wantAttempts {
				t.Fatalf("attempted %d (%v), want %d", att, err, wantAttempts)
			}
		}
		step(1) // 500
		step(0) // not due yet
		d.clock.Advance(10 * time.Second)
		step(1) // 503; the next delay doubles
		d.clock.Advance(10 * time.Second)
		step(0)
		d.clock.Advance(10 * time.Second)
		step(1) // 200
		got, calls := relying.got()
		if len(got) != 1 || calls != 3 {
			t.Fatalf("%d tokens accepted in %d calls", len(got), calls)
		}
		page, _ := d.store.ListDeliveries(ctx, BackchannelQueue, false, store.Query{})
		if len(page.Items) != 1 || page.Items[0].Attempts != 2 || page.Items[0].DeliveredAt == nil {
			t.Errorf("delivery = %+v", page.Items)
		}
	})
}

func TestBackchannelDeadLetters(t *testing.T) {
	eachIDP(t, func(t *testing.T, d *sessionIDP) {
		ctx := context.Background()
		down := d.rpApp(t, "")
		downRP := newRP(t, d, down.AppID, 503, 503, 503, 503)
		d.setURI(t, down, downRP.srv.URL)
		refusing := d.rpApp(t, "")
		refusingRP := newRP(t, d, refusing.AppID, 400)
		d.setURI(t, refusing, refusingRP.srv.URL)
		u := d.user(t)
		s, _ := d.signIn(t, u, down.AppID, nil)
		if err := d.sessions.Touch(ctx, s.ID, refusing.AppID); err != nil {
			t.Fatal(err)
		}
		if err := d.sessions.End(ctx, s.ID, "logout", session.Initiator{}); err != nil {
			t.Fatal(err)
		}
		w := d.worker()
		w.MaxAttempts, w.Backoff = 3, time.Second
		for range 5 {
			if _, _, err := w.Step(ctx); err != nil {
				t.Fatal(err)
			}
			d.clock.Advance(time.Minute)
		}
		dead, err := d.store.ListDeliveries(ctx, BackchannelQueue, true, store.Query{})
		if err != nil || len(dead.Items) != 2 {
			t.Fatalf("dead deliveries = %+v, %v", dead.Items, err)
		}
		_, downCalls := downRP.got()
		_, refusedCalls := refusingRP.got()
		if downCalls != 3 || refusedCalls != 1 {
			t.Errorf("calls: unavailable RP %d (want MaxAttempts 3), refusing RP %d (want 1)", downCalls, refusedCalls)
		}
	})
}

func TestBackchannelBulkEventAndNodes(t *testing.T) {
	eachIDP(t, func(t *testing.T, d *sessionIDP) {
		ctx := context.Background()
		a := d.rpApp(t, "")
		relying := newRP(t, d, a.AppID)
		d.setURI(t, a, relying.srv.URL)
		u := d.user(t)
		s1, _ := d.signIn(t, u, a.AppID, nil)
		s2, _ := d.signIn(t, u, a.AppID, nil)
		// An administrator's revocation (revokeSignInSessions), whose event
		// does not list the sessions.
		if err := d.store.InTx(ctx, func(tx store.Tx) error {
			_, err := revocation.ApplyInTx(ctx, tx, revocation.Initiator{}, revocation.CauseAdminRevoke, []string{u.ID}, d.clock.Now().UTC(), revocation.Options{})
			return err
		}); err != nil {
			t.Fatal(err)
		}
		// Two nodes step at once: each logout token is still sent once.
		var wg sync.WaitGroup
		for range 2 {
			w := d.worker()
			wg.Go(func() {
				if _, _, err := w.Step(ctx); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		got, calls := relying.got()
		if len(got) != 2 || calls != 2 {
			t.Fatalf("%d tokens in %d calls, want 2 (one per session)", len(got), calls)
		}
		sids := map[any]bool{got[0]["sid"]: true, got[1]["sid"]: true}
		if !sids[s1.ID] || !sids[s2.ID] {
			t.Errorf("sids = %v", sids)
		}
	})
}

func TestBackchannelRunWakesOnOutbox(t *testing.T) {
	eachIDP(t, func(t *testing.T, d *sessionIDP) {
		ctx, cancel := context.WithCancel(context.Background())
		a := d.rpApp(t, "")
		relying := newRP(t, d, a.AppID)
		d.setURI(t, a, relying.srv.URL)
		w := d.worker()
		w.Poll = time.Hour // only the wake-up can make it look
		wake, stop := d.store.OutboxNotify()
		defer stop()
		w.Wake = wake
		done := make(chan struct{})
		go func() { defer close(done); w.Run(ctx) }()
		u := d.user(t)
		s, _ := d.signIn(t, u, a.AppID, nil)
		if err := d.sessions.End(ctx, s.ID, "logout", session.Initiator{UserID: u.ID}); err != nil {
			t.Fatal(err)
		}
		select {
		case <-relying.accepted:
		case <-time.After(30 * time.Second):
			t.Fatal("no logout token within 30 s of the outbox event")
		}
		cancel()
		<-done
	})
}

func TestBackchannelBackoff(t *testing.T) {
	w := &BackchannelLogout{Backoff: 5 * time.Second, MaxBackoff: time.Minute}
	for attempts, want := range []time.Duration{5 * time.Second, 10 * time.Second, 20 * time.Second, 40 * time.Second, time.Minute, time.Minute} {
		if got := w.backoff(attempts); got != want {
			t.Errorf("backoff(%d) = %v, want %v", attempts, got, want)
		}
	}
	if got := (&BackchannelLogout{}).backoff(100); got != DefaultBackchannelMaxBackoff {
		t.Errorf("backoff(100) = %v", got)
	}
}
