package ssfserver_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigil-idp/vigil/internal/revocation"
	"github.com/vigil-idp/vigil/internal/ssfserver"
	"github.com/vigil-idp/vigil/ssf"
)

// receiver is a push receiver (RFC 8935) on loopback that records every
// request and answers from a script (then 202).
type receiver struct {
	*httptest.Server
	mu     sync.Mutex
	script []scripted
	got    []pushed
	// decide, when set, answers instead of the script (nil: no opinion).
	decide func(set string) *scripted
}

type scripted struct {
	status int
	body   string
	header map[string]string
}

type pushed struct {
	set                                string
	contentType, accept, authorization string
	status                             int
}

func newReceiver(t testing.TB) *receiver {
	rx := &receiver{}
	rx.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var decided *scripted
		if rx.decide != nil {
			decided = rx.decide(string(b))
		}
		rx.mu.Lock()
		reply := scripted{status: http.StatusAccepted}
		if decided != nil {
			reply = *decided
		} else if len(rx.script) > 0 {
			reply, rx.script = rx.script[0], rx.script[1:]
		}
		rx.got = append(rx.got, pushed{set: string(b), contentType: r.Header.Get("Content-Type"), accept: r.Header.Get("Accept"),
			authorization: r.Header.Get("Authorization"), status: reply.status})
		rx.mu.Unlock()
		for k, v := range reply.header {
			w.Header().Set(k, v)
		}
		w.WriteHeader(reply.status)
		io.WriteString(w, reply.body)
	}))
	t.Cleanup(rx.Close)
	return rx
}

func (rx *receiver) answer(s ...scripted) {
	rx.mu.Lock()
	defer rx.mu.Unlock()
	rx.script = append(rx.script, s...)
}

func (rx *receiver) requests() []pushed {
	rx.mu.Lock()
	defer rx.mu.Unlock()
	return append([]pushed(nil), rx.got...)
}

func status(n int) scripted { return scripted{status: n} }

// push runs one dispatch and one push turn.
func (h *harness) push() {
	h.t.Helper()
	if _, err := h.srv.Pump(h.ctx); err != nil {
		h.t.Fatal(err)
	}
	if err := h.srv.PushOnce(h.ctx); err != nil {
		h.t.Fatal(err)
	}
}

func pushCfg(url string) ssf.StreamConfiguration {
	return ssf.StreamConfiguration{Delivery: &ssf.Delivery{Method: ssf.DeliveryPush, EndpointURL: url, AuthorizationHeader: "Bearer rx-secret"}}
}

func TestPushRetriesDeadLettersReplay(t *testing.T) {
	each(t, func(s *ssfserver.Server) {
		s.MaxAttempts, s.Backoff, s.MaxBackoff = 3, 10*time.Second, time.Hour
	}, func(t *testing.T, h *harness) {
		rx := newReceiver(t)
		tok := h.manager("rp-1")
		id := h.createStream(t, tok, pushCfg(rx.URL+"/events")).StreamID

		// Retried with exponential backoff on the injected clock.
		u1, _ := h.user("one@contoso.com")
		rx.answer(status(503), status(503))
		h.revoke(revocation.CauseAdminRevoke, "rev-1", "", u1.ID)
		h.push()
		if n := len(rx.requests()); n != 1 {
			t.Fatalf("%d pushes, want 1", n)
		}
		h.push() // not due yet
		h.clock.Advance(10 * time.Second)
		h.push() // second attempt, 503
		h.clock.Advance(19 * time.Second)
		h.push() // due at +20 s: not yet
		if n := len(rx.requests()); n != 2 {
			t.Fatalf("%d pushes after 29 s, want 2 (backoff 10 s, then 20 s)", n)
		}
		h.clock.Advance(time.Second)
		h.push()
		got := rx.requests()
		if len(got) != 3 || got[2].status != 202 {
			t.Fatalf("pushes = %+v", got)
		}
		var jti string
		for i, p := range got {
			if p.contentType != ssf.SETMediaType || p.accept != "application/json" || p.authorization != "Bearer rx-secret" {
				t.Errorf("push %d headers: %+v", i, p)
			}
			_, set := h.verifySET(p.set)
			if i > 0 && set.JTI != jti {
				t.Errorf("retry %d has jti %s, want the same %s", i, set.JTI, jti)
			}
			jti = set.JTI
			if set.SubID.User.Sub != u1.ID || set.Txn != "rev-1" || !set.Audience.Contains("rp-1") {
				t.Errorf("pushed SET = %s", jsonOf(set))
			}
		}
		h.push()
		if n := len(rx.requests()); n != 3 {
			t.Errorf("a delivered SET was pushed again (%d pushes)", n)
		}

		// Dead after MaxAttempts, listed, replayable.
		u2, _ := h.user("two@contoso.com")
		rx.answer(status(500), status(502), status(504))
		h.revoke(revocation.CauseAdminRevoke, "rev-2", "", u2.ID)
		h.push()
		h.clock.Advance(10 * time.Second)
		h.push()
		h.clock.Advance(20 * time.Second)
		h.push()
		h.clock.Advance(time.Hour)
		h.push()
		if n := len(rx.requests()); n != 6 {
			t.Fatalf("%d pushes, want 6 (3 + 3 attempts, then dead)", n)
		}
		var dl ssfserver.DeadLetterPage
		want(t, h.do(t, "GET", "/ssf/streams/"+id+"/deadletters", h.token("rp-1", "ssf.read"), nil), 200).decode(t, &dl)
		if len(dl.DeadLetters) != 1 || dl.DeadLetters[0].Attempts != 3 || !strings.Contains(dl.DeadLetters[0].LastError, "504") ||
			dl.DeadLetters[0].RevocationID != "rev-2" || !dl.DeadLetters[0].DeadAt.Equal(h.clock.Now().Add(-time.Hour)) {
			t.Fatalf("dead letters = %s", jsonOf(dl))
		}
		var rr ssfserver.ReplayResponse
		tok = h.manager("rp-1") // the first one expired
		want(t, h.do(t, "POST", "/ssf/streams/"+id+"/deadletters/replay", tok, nil), 200).decode(t, &rr)
		if rr.Replayed != 1 {
			t.Fatalf("replayed %d", rr.Replayed)
		}
		h.push()
		if got := rx.requests(); len(got) != 7 || got[6].status != 202 || h.subOf(got[6].set) != u2.ID {
			t.Fatalf("after replay: %+v", got[len(got)-1])
		}
		want(t, h.do(t, "GET", "/ssf/streams/"+id+"/deadletters", tok, nil), 200).decode(t, &dl)
		if len(dl.DeadLetters) != 0 {
			t.Errorf("dead letters after replay = %s", jsonOf(dl))
		}

		// 400 with an RFC 8935 error: dead at once.
		u3, _ := h.user("three@contoso.com")
		rx.answer(scripted{status: 400, body: `{"err":"invalid_audience","description":"not me"}`,
			header: map[string]string{"Content-Type": "application/json"}})
		h.revoke(revocation.CauseAdminRevoke, "rev-3", "", u3.ID)
		h.push()
		h.clock.Advance(time.Hour)
		h.push()
		tok = h.manager("rp-1")
		if n := len(rx.requests()); n != 8 {
			t.Fatalf("%d pushes, want 8 (a refused SET is not retried)", n)
		}
		want(t, h.do(t, "GET", "/ssf/streams/"+id+"/deadletters", tok, nil), 200).decode(t, &dl)
		if len(dl.DeadLetters) != 1 || dl.DeadLetters[0].Attempts != 1 || !strings.Contains(dl.DeadLetters[0].LastError, "invalid_audience: not me") {
			t.Errorf("dead letters = %s", jsonOf(dl))
		}
	})
}

// TestPushOrderPerSubject: a user's second SET waits until the first is
// delivered; other users' SETs are not held back.
func TestPushOrderPerSubject(t *testing.T) {
	each(t, func(s *ssfserver.Server) { s.Backoff = 10 * time.Second }, func(t *testing.T, h *harness) {
		rx := newReceiver(t)
		tok := h.manager("rp-1")
		h.createStream(t, tok, pushCfg(rx.URL))
		u, _ := h.user("ordered@contoso.com")
		other, _ := h.user("other@contoso.com")
		failed := false
		var mu sync.Mutex
		rx.decide = func(raw string) *scripted { // the user's first SET fails once
			mu.Lock()
			defer mu.Unlock()
			if _, ok := rawClaims(t, raw)["events"].(map[string]any)[ssf.EventAccountDisabled]; ok && !failed {
				failed = true
				return &scripted{status: 503}
			}
			return nil
		}
		h.revoke(revocation.CauseAccountDisabled, "rev-1", "", u.ID) // account-disabled, then session-revoked
		h.revoke(revocation.CauseAdminRevoke, "rev-2", "", other.ID)
		h.push()
		var types []string
		for _, p := range rx.requests() {
			_, set := h.verifySET(p.set)
			types = append(types, set.SubID.User.Sub[:4]+" "+eventType(t, set))
		}
		wantFirst := []string{u.ID[:4] + " " + ssf.EventAccountDisabled, other.ID[:4] + " " + ssf.EventSessionRevoked}
		if len(types) != 2 || !containsAll(types, wantFirst) {
			t.Fatalf("first turn pushed %v, want %v (the user's second SET waits)", types, wantFirst)
		}
		h.clock.Advance(10 * time.Second)
		h.push()
		got := rx.requests()
		if len(got) != 4 {
			t.Fatalf("%d pushes, want 4", len(got))
		}
		_, third := h.verifySET(got[2].set)
		_, fourth := h.verifySET(got[3].set)
		if got[2].status != 202 || got[3].status != 202 {
			t.Errorf("statuses %d, %d", got[2].status, got[3].status)
		}
		if eventType(t, third) != ssf.EventAccountDisabled || eventType(t, fourth) != ssf.EventSessionRevoked {
			t.Errorf("order after the retry: %s, %s", eventType(t, third), eventType(t, fourth))
		}
	})
}

func containsAll(got, want []string) bool {
	for _, w := range want {
		found := false
		for _, g := range got {
			found = found || g == w
		}
		if !found {
			return false
		}
	}
	return true
}

// TestPushNoRedirectsNoLoopback: a redirect is a failure (never
// followed), and an endpoint that stops being allowed is refused at send
// time.
func TestPushNoRedirectsNoLoopback(t *testing.T) {
	each(t, func(s *ssfserver.Server) { s.MaxAttempts = 2 }, func(t *testing.T, h *harness) {
		target := newReceiver(t)
		rx := newReceiver(t)
		rx.answer(scripted{status: 307, header: map[string]string{"Location": target.URL}})
		tok := h.manager("rp-1")
		id := h.createStream(t, tok, pushCfg(rx.URL)).StreamID
		u, _ := h.user("r@contoso.com")
		h.revoke(revocation.CauseAdminRevoke, "rev-1", "", u.ID)
		h.push()
		if len(rx.requests()) != 1 || len(target.requests()) != 0 {
			t.Fatalf("redirect followed: receiver %d, target %d", len(rx.requests()), len(target.requests()))
		}
		// Without the loopback switch the endpoint is refused when sending.
		h.srv.InsecureAllowLoopbackPush = false
		h.clock.Advance(time.Hour)
		h.push()
		if len(rx.requests()) != 1 {
			t.Errorf("pushed to loopback without InsecureAllowLoopbackPush")
		}
		tok = h.manager("rp-1")
		var dl ssfserver.DeadLetterPage
		want(t, h.do(t, "GET", "/ssf/streams/"+id+"/deadletters", tok, nil), 200).decode(t, &dl)
		if len(dl.DeadLetters) != 1 || !strings.Contains(dl.DeadLetters[0].LastError, "loopback") {
			t.Errorf("dead letters = %s", jsonOf(dl))
		}
	})
}
