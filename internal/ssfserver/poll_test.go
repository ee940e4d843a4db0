package ssfserver_test

import (
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/vigil-idp/vigil/internal/revocation"
	"github.com/vigil-idp/vigil/internal/ssfserver"
	"github.com/vigil-idp/vigil/ssf"
)

// subOf returns the user sub of a SET's sub_id.
func (h *harness) subOf(raw string) string {
	_, set := h.verifySET(raw)
	if set.SubID == nil || set.SubID.User == nil {
		h.t.Fatalf("SET without a user subject: %s", jsonOf(set))
	}
	return set.SubID.User.Sub
}

func jtisOf(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func TestPollAckMaxEventsMoreAvailable(t *testing.T) {
	each(t, nil, func(t *testing.T, h *harness) {
		tok := h.manager("rp-1")
		id := h.createStream(t, tok, pollCfg()).StreamID
		var ids []string
		for i := range 5 {
			u, _ := h.user(fmt.Sprintf("u%d@contoso.com", i))
			ids = append(ids, u.ID)
		}
		h.revoke(revocation.CauseAdminRevoke, "rev-bulk", "", ids...)

		got := map[string]bool{}
		var ack []string
		for i, wantN := range []int{2, 2, 1} {
			r := h.poll(t, tok, id, ssf.PollRequest{MaxEvents: ptr(2), ReturnImmediately: true, Ack: ack})
			if len(r.Sets) != wantN || r.MoreAvailable != (i < 2) {
				t.Fatalf("poll %d: %d SETs, moreAvailable %v; want %d, %v", i, len(r.Sets), r.MoreAvailable, wantN, i < 2)
			}
			ack = jtisOf(r.Sets)
			for _, raw := range r.Sets {
				got[h.subOf(raw)] = true
			}
		}
		for _, u := range ids {
			if !got[u] {
				t.Errorf("no SET for user %s", u)
			}
		}
		// Ack only (maxEvents 0) answers nothing, and nothing is left.
		if r := h.poll(t, tok, id, ssf.PollRequest{MaxEvents: ptr(0), Ack: ack}); len(r.Sets) != 0 || r.MoreAvailable {
			t.Errorf("ack-only poll = %+v", r)
		}
		if r := h.poll(t, tok, id, ssf.PollRequest{ReturnImmediately: true}); len(r.Sets) != 0 {
			t.Errorf("after acking everything: %d SETs", len(r.Sets))
		}
	})
}

func TestPollRedeliveryAndSetErrs(t *testing.T) {
	each(t, nil, func(t *testing.T, h *harness) {
		tok := h.manager("rp-1")
		id := h.createStream(t, tok, pollCfg()).StreamID
		a, _ := h.user("a@contoso.com")
		b, _ := h.user("b@contoso.com")
		h.revoke(revocation.CauseAdminRevoke, "rev-1", "", a.ID, b.ID)

		first := h.poll(t, tok, id, ssf.PollRequest{ReturnImmediately: true})
		if len(first.Sets) != 2 {
			t.Fatalf("first poll: %d SETs", len(first.Sets))
		}
		// Not acknowledged: nothing new until the lease runs out, then the
		// same SETs (same jti) again.
		if r := h.poll(t, tok, id, ssf.PollRequest{ReturnImmediately: true}); len(r.Sets) != 0 {
			t.Errorf("within the lease: %d SETs", len(r.Sets))
		}
		h.clock.Advance(ssfserver.DefaultPollLease + time.Second)
		again := h.poll(t, tok, id, ssf.PollRequest{ReturnImmediately: true})
		if !slices.Equal(jtisOf(again.Sets), jtisOf(first.Sets)) {
			t.Fatalf("redelivered %v, want %v", jtisOf(again.Sets), jtisOf(first.Sets))
		}
		jtis := jtisOf(again.Sets)

		// Bad acks change nothing.
		for _, c := range []struct {
			name string
			body any
			says string
		}{
			{"unknown jti", ssf.PollRequest{Ack: []string{jtis[0], "ffffffffffffffffffffffffffffffff"}}, "unknown jti"},
			{"jti of another stream", ssf.PollRequest{Ack: []string{jtis[0], "not a jti!"}}, "not a jti"},
			{"ack and setErr", ssf.PollRequest{Ack: []string{jtis[0]}, SetErrs: map[string]ssf.SETError{jtis[0]: {Err: "invalid_key"}}}, "both"},
			{"setErr without err", ssf.PollRequest{SetErrs: map[string]ssf.SETError{jtis[0]: {}}}, "err is required"},
			{"negative maxEvents", ssf.PollRequest{MaxEvents: ptr(-1)}, "negative"},
			{"not JSON", `{"ack": [`, "not valid JSON"},
			{"ack not an array", `{"ack": "x"}`, `"ack" must be an array`},
		} {
			t.Run(c.name, func(t *testing.T) {
				e := assertErr(t, want(t, h.do(t, "POST", "/ssf/streams/"+id+"/poll", tok, c.body), 400), ssf.SETErrInvalidRequest)
				if !strings.Contains(e.Description, c.says) {
					t.Errorf("description %q does not say %q", e.Description, c.says)
				}
			})
		}
		big := `{"ack":["` + strings.Repeat("a", 1<<20) + `"]}`
		assertErr(t, want(t, h.do(t, "POST", "/ssf/streams/"+id+"/poll", tok, big), 413), ssfserver.CodeTooLarge)

		// Ack one, report the other as an error: neither comes back; the
		// reported one is a dead letter, replayable.
		r := h.poll(t, tok, id, ssf.PollRequest{Ack: jtis[:1], SetErrs: map[string]ssf.SETError{
			jtis[1]: {Err: ssf.SETErrInvalidKey, Description: "kid unknown"}}, ReturnImmediately: true})
		if len(r.Sets) != 0 {
			t.Errorf("after ack and setErrs: %d SETs", len(r.Sets))
		}
		// Acknowledging again is harmless.
		h.poll(t, tok, id, ssf.PollRequest{Ack: jtis[:1], ReturnImmediately: true})
		h.clock.Advance(ssfserver.DefaultPollLease + time.Second)
		if r := h.poll(t, tok, id, ssf.PollRequest{ReturnImmediately: true}); len(r.Sets) != 0 {
			t.Errorf("after the lease: %d SETs, want none", len(r.Sets))
		}
		var dl ssfserver.DeadLetterPage
		want(t, h.do(t, "GET", "/ssf/streams/"+id+"/deadletters", tok, nil), 200).decode(t, &dl)
		if len(dl.DeadLetters) != 1 || dl.DeadLetters[0].JTI != jtis[1] || dl.DeadLetters[0].LastError != "receiver: invalid_key: kid unknown" ||
			dl.DeadLetters[0].Type != ssf.EventSessionRevoked || dl.DeadLetters[0].RevocationID != "rev-1" {
			t.Fatalf("dead letters = %s", jsonOf(dl))
		}
		var rr ssfserver.ReplayResponse
		want(t, h.do(t, "POST", "/ssf/streams/"+id+"/deadletters/replay", tok, ssfserver.ReplayRequest{JTIs: jtis[1:]}), 200).decode(t, &rr)
		if rr.Replayed != 1 {
			t.Errorf("replayed %d", rr.Replayed)
		}
		r = h.poll(t, tok, id, ssf.PollRequest{ReturnImmediately: true})
		if !slices.Equal(jtisOf(r.Sets), jtis[1:]) {
			t.Errorf("after replay: %v, want %v", jtisOf(r.Sets), jtis[1:])
		}
	})
}

func TestPollOnPushStream(t *testing.T) {
	each(t, nil, func(t *testing.T, h *harness) {
		tok := h.manager("rp-1")
		id := h.createStream(t, tok, ssf.StreamConfiguration{Delivery: &ssf.Delivery{Method: ssf.DeliveryPush, EndpointURL: "http://127.0.0.1:9/x"}}).StreamID
		e := assertErr(t, want(t, h.do(t, "POST", "/ssf/streams/"+id+"/poll", tok, ssf.PollRequest{}), 400), ssf.SETErrInvalidRequest)
		if !strings.Contains(e.Description, "push") {
			t.Errorf("description = %q", e.Description)
		}
	})
}

// TestLongPoll holds a poll and appends an event: the poll answers as soon
// as the event exists, woken by the store (Recheck is an hour, so nothing
// else could wake it), far before LongPollTimeout.
func TestLongPoll(t *testing.T) {
	each(t, func(s *ssfserver.Server) {
		s.LongPollTimeout = 20 * time.Second
		s.Recheck = time.Hour
	}, func(t *testing.T, h *harness) {
		tok := h.manager("rp-1")
		id := h.createStream(t, tok, pollCfg()).StreamID
		u, _ := h.user("late@contoso.com")

		type result struct {
			r       ssf.PollResponse
			elapsed time.Duration
		}
		done := make(chan result, 1)
		start := time.Now()
		go func() {
			r := h.do(t, "POST", "/ssf/streams/"+id+"/poll", tok, ssf.PollRequest{})
			var pr ssf.PollResponse
			if r.status == 200 {
				_ = jsonUnmarshal(r.body, &pr)
			}
			done <- result{pr, time.Since(start)}
		}()
		time.Sleep(200 * time.Millisecond) // let the poll start waiting
		select {
		case res := <-done:
			t.Fatalf("the poll answered before any event: %+v", res.r)
		default:
		}
		h.revoke(revocation.CauseAdminRevoke, "rev-late", "", u.ID)
		appended := time.Now()
		select {
		case res := <-done:
			if len(res.r.Sets) != 1 {
				t.Fatalf("long poll answered %+v", res.r)
			}
			for _, raw := range res.r.Sets {
				if h.subOf(raw) != u.ID {
					t.Errorf("SET about %s", h.subOf(raw))
				}
			}
			t.Logf("answered %v after the append", time.Since(appended))
		case <-time.After(5 * time.Second):
			t.Fatal("the long poll did not answer within 5 s of the event")
		}
	})
}

func TestLongPollTimeoutAndShutdown(t *testing.T) {
	each(t, func(s *ssfserver.Server) { s.LongPollTimeout = 300 * time.Millisecond }, func(t *testing.T, h *harness) {
		tok := h.manager("rp-1")
		id := h.createStream(t, tok, pollCfg()).StreamID
		start := time.Now()
		r := h.poll(t, tok, id, ssf.PollRequest{})
		if d := time.Since(start); len(r.Sets) != 0 || r.MoreAvailable || d < 300*time.Millisecond || d > 5*time.Second {
			t.Errorf("timed-out poll = %+v after %v", r, d)
		}
		// Shutdown ends a held poll at once.
		h.srv.LongPollTimeout = time.Minute
		done := make(chan time.Duration, 1)
		go func() {
			s := time.Now()
			h.poll(t, tok, id, ssf.PollRequest{})
			done <- time.Since(s)
		}()
		time.Sleep(100 * time.Millisecond)
		h.srv.Shutdown()
		select {
		case d := <-done:
			t.Logf("shutdown ended the poll after %v", d)
		case <-time.After(5 * time.Second):
			t.Fatal("Shutdown did not end the long poll")
		}
	})
}

func TestPausedHoldsDisabledDrops(t *testing.T) {
	each(t, nil, func(t *testing.T, h *harness) {
		tok := h.manager("rp-1")
		id := h.createStream(t, tok, pollCfg()).StreamID
		setStatus := func(status string) {
			want(t, h.do(t, "POST", "/ssf/status", tok, ssf.StreamStatus{StreamID: id, Status: status}), 200)
		}
		pollSubs := func() []string {
			r := h.poll(t, tok, id, ssf.PollRequest{ReturnImmediately: true})
			var subs []string
			for _, raw := range r.Sets {
				subs = append(subs, h.subOf(raw))
			}
			h.poll(t, tok, id, ssf.PollRequest{MaxEvents: ptr(0), Ack: jtisOf(r.Sets)})
			return subs
		}
		u1, _ := h.user("held@contoso.com")
		u2, _ := h.user("dropped@contoso.com")
		u3, _ := h.user("pending@contoso.com")

		setStatus(ssf.StatusPaused)
		h.revoke(revocation.CauseAdminRevoke, "rev-1", "", u1.ID)
		if got := pollSubs(); len(got) != 0 {
			t.Errorf("paused stream delivered %v", got)
		}
		setStatus(ssf.StatusEnabled)
		if got := pollSubs(); !slices.Equal(got, []string{u1.ID}) {
			t.Errorf("after resuming: %v, want the held SET of %s", got, u1.ID)
		}

		setStatus(ssf.StatusDisabled)
		h.revoke(revocation.CauseAdminRevoke, "rev-2", "", u2.ID)
		setStatus(ssf.StatusEnabled)
		if got := pollSubs(); len(got) != 0 {
			t.Errorf("events of a disabled stream were held: %v", got)
		}

		// Queued before the stream was disabled, then dropped.
		h.revoke(revocation.CauseAdminRevoke, "rev-3", "", u3.ID)
		if _, err := h.srv.Pump(h.ctx); err != nil {
			t.Fatal(err)
		}
		setStatus(ssf.StatusDisabled)
		setStatus(ssf.StatusEnabled)
		if got := pollSubs(); len(got) != 0 {
			t.Errorf("SETs queued before disabling were delivered: %v", got)
		}
		var dl ssfserver.DeadLetterPage
		want(t, h.do(t, "GET", "/ssf/streams/"+id+"/deadletters", tok, nil), 200).decode(t, &dl)
		if len(dl.DeadLetters) != 1 || dl.DeadLetters[0].RevocationID != "rev-3" || !strings.HasPrefix(dl.DeadLetters[0].LastError, "dropped") {
			t.Errorf("dead letters = %s", jsonOf(dl))
		}
		// Later events flow again.
		h.revoke(revocation.CauseAdminRevoke, "rev-4", "", u2.ID)
		if got := pollSubs(); !slices.Equal(got, []string{u2.ID}) {
			t.Errorf("after re-enabling: %v", got)
		}
	})
}

// TestStreamUpdated: a transmitter-initiated pause sends stream-updated,
// delivered although the stream is paused; events wait.
func TestStreamUpdated(t *testing.T) {
	each(t, nil, func(t *testing.T, h *harness) {
		tok := h.manager("rp-1")
		id := h.createStream(t, tok, pollCfg()).StreamID
		u, _ := h.user("x@contoso.com")
		if err := h.srv.SetStreamStatus(h.ctx, id, ssf.StatusPaused, "receiver unreachable"); err != nil {
			t.Fatal(err)
		}
		h.revoke(revocation.CauseAdminRevoke, "rev-1", "", u.ID)
		r := h.poll(t, tok, id, ssf.PollRequest{ReturnImmediately: true})
		if len(r.Sets) != 1 {
			t.Fatalf("paused stream: %d SETs, want the stream-updated one", len(r.Sets))
		}
		for _, raw := range r.Sets {
			_, set := h.verifySET(raw)
			typ, body, _ := set.Event()
			var su ssf.StreamUpdated
			_ = jsonUnmarshal(body, &su)
			if typ != ssf.EventStreamUpdated || su != (ssf.StreamUpdated{Status: "paused", Reason: "receiver unreachable"}) ||
				!set.SubID.Equal(ssf.OpaqueSubject(id)) {
				t.Errorf("stream-updated SET = %s", jsonOf(set))
			}
		}
		if err := h.srv.SetStreamStatus(h.ctx, id, ssf.StatusEnabled, ""); err != nil {
			t.Fatal(err)
		}
		r = h.poll(t, tok, id, ssf.PollRequest{ReturnImmediately: true, Ack: jtisOf(r.Sets)})
		var types []string
		for _, raw := range r.Sets {
			_, set := h.verifySET(raw)
			types = append(types, eventType(t, set))
		}
		sort.Strings(types)
		if !slices.Equal(types, []string{ssf.EventSessionRevoked, ssf.EventStreamUpdated}) {
			t.Errorf("after re-enabling: %v", types)
		}
		if err := h.srv.SetStreamStatus(h.ctx, "nope", ssf.StatusPaused, ""); err == nil {
			t.Error("SetStreamStatus of an unknown stream succeeded")
		}
	})
}

func TestRemovedSubjects(t *testing.T) {
	each(t, nil, func(t *testing.T, h *harness) {
		tok := h.manager("rp-1")
		id := h.createStream(t, tok, pollCfg()).StreamID
		alice, _ := h.user("alice@contoso.com")
		bob, _ := h.user("bob@contoso.com")
		want(t, h.do(t, "POST", "/ssf/subjects/remove", tok, ssf.RemoveSubjectRequest{StreamID: id,
			Subject: ssf.EmailSubject("Alice@Contoso.com")}), http.StatusNoContent)
		h.revoke(revocation.CauseAdminRevoke, "rev-1", "", alice.ID, bob.ID)
		r := h.poll(t, tok, id, ssf.PollRequest{ReturnImmediately: true})
		if len(r.Sets) != 1 {
			t.Fatalf("%d SETs, want bob's only", len(r.Sets))
		}
		for _, raw := range r.Sets {
			if h.subOf(raw) != bob.ID {
				t.Errorf("SET about a removed subject")
			}
		}
		want(t, h.do(t, "POST", "/ssf/subjects/add", tok, ssf.AddSubjectRequest{StreamID: id,
			Subject: ssf.EmailSubject("alice@contoso.com")}), http.StatusOK)
		h.revoke(revocation.CauseAdminRevoke, "rev-2", "", alice.ID)
		r = h.poll(t, tok, id, ssf.PollRequest{ReturnImmediately: true, Ack: jtisOf(r.Sets)})
		if len(r.Sets) != 1 {
			t.Fatalf("%d SETs after adding alice back", len(r.Sets))
		}
		for _, raw := range r.Sets {
			if h.subOf(raw) != alice.ID {
				t.Errorf("SET about %s, want alice", h.subOf(raw))
			}
		}
	})
}
