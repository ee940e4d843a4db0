package ssfserver_test

import (
	"testing"
	"time"

	"github.com/vigil-idp/vigil/internal/revocation"
	"github.com/vigil-idp/vigil/internal/ssfserver"
	"github.com/vigil-idp/vigil/internal/store"
	"github.com/vigil-idp/vigil/ssf"
)

// receipts returns a revocation's receipts by stream id.
func (h *harness) receipts(rev string) (map[string]store.Receipt, *time.Time) {
	h.t.Helper()
	rs, at, err := h.srv.Receipts(h.ctx, rev)
	if err != nil {
		h.t.Fatal(err)
	}
	out := map[string]store.Receipt{}
	for _, r := range rs {
		out[r.StreamID] = r
	}
	return out, at
}

func wantReceipt(t testing.TB, got map[string]store.Receipt, stream, receiver, status string, delivered, acked *time.Time) {
	t.Helper()
	r, ok := got[stream]
	if !ok {
		t.Errorf("no receipt for stream %s (%s)", stream, receiver)
		return
	}
	eq := func(a, b *time.Time) bool { return (a == nil) == (b == nil) && (a == nil || a.Equal(*b)) }
	if r.Receiver != receiver || r.Status != status || !eq(r.DeliveredAt, delivered) || !eq(r.AcknowledgedAt, acked) {
		t.Errorf("receipt of %s = %+v; want receiver %s, status %s, delivered %v, acknowledged %v", stream, r, receiver, status, delivered, acked)
	}
}

func TestReceiptsAndEffectiveAt(t *testing.T) {
	each(t, nil, func(t *testing.T, h *harness) {
		rx := newReceiver(t)
		poller := h.createStream(t, h.manager("rp-poll"), pollCfg()).StreamID
		pusher := h.createStream(t, h.manager("rp-push"), pushCfg(rx.URL)).StreamID
		paused := h.createStream(t, h.manager("rp-paused"), pollCfg()).StreamID
		disabled := h.createStream(t, h.manager("rp-off"), pollCfg()).StreamID
		narrow := h.createStream(t, h.manager("rp-narrow"), ssf.StreamConfiguration{EventsRequested: []string{ssf.EventAccountPurged}}).StreamID
		want(t, h.do(t, "POST", "/ssf/status", h.manager("rp-paused"), ssf.StreamStatus{StreamID: paused, Status: ssf.StatusPaused}), 200)
		want(t, h.do(t, "POST", "/ssf/status", h.manager("rp-off"), ssf.StreamStatus{StreamID: disabled, Status: ssf.StatusDisabled}), 200)

		u, _ := h.user("gone@contoso.com")
		h.job("rev-1")
		h.revoke(revocation.CauseAdminRevoke, "rev-1", "Offboarding", u.ID)

		// Right after the commit: every stream that should receive it has a
		// receipt (Receipts dispatches first); the narrow stream, which did
		// not ask for session-revoked, has none.
		got, at := h.receipts("rev-1")
		if len(got) != 4 || at != nil {
			t.Fatalf("receipts = %+v, effectiveAt %v", got, at)
		}
		wantReceipt(t, got, poller, "rp-poll", ssfserver.ReceiptPending, nil, nil)
		wantReceipt(t, got, pusher, "rp-push", ssfserver.ReceiptPending, nil, nil)
		wantReceipt(t, got, paused, "rp-paused", ssfserver.ReceiptPaused, nil, nil)
		wantReceipt(t, got, disabled, "rp-off", ssfserver.ReceiptDisabled, nil, nil)
		if _, ok := got[narrow]; ok {
			t.Error("a stream that did not request the event has a receipt")
		}

		// Poll: delivered when handed out, acknowledged on ack.
		h.clock.Advance(time.Second)
		t2 := h.clock.Now()
		r := h.poll(t, h.token("rp-poll", "ssf.read"), poller, ssf.PollRequest{ReturnImmediately: true})
		got, _ = h.receipts("rev-1")
		wantReceipt(t, got, poller, "rp-poll", ssfserver.ReceiptDelivered, &t2, nil)

		// Push: delivered and acknowledged by the 202.
		h.clock.Advance(time.Second)
		t3 := h.clock.Now()
		h.push()
		got, _ = h.receipts("rev-1")
		wantReceipt(t, got, pusher, "rp-push", ssfserver.ReceiptAcknowledged, &t3, &t3)

		h.clock.Advance(time.Second)
		t4 := h.clock.Now()
		h.poll(t, h.token("rp-poll", "ssf.read"), poller, ssf.PollRequest{MaxEvents: ptr(0), Ack: jtisOf(r.Sets)})
		got, at = h.receipts("rev-1")
		wantReceipt(t, got, poller, "rp-poll", ssfserver.ReceiptAcknowledged, &t2, &t4)
		if at != nil {
			t.Errorf("effectiveAt = %v while a paused and a disabled stream have not acknowledged", at)
		}

		// A revocation that only healthy streams should receive becomes
		// effective when the last of them acknowledges.
		for _, c := range []struct{ client, id string }{{"rp-paused", paused}, {"rp-off", disabled}} {
			want(t, h.do(t, "DELETE", "/ssf/streams?stream_id="+c.id, h.manager(c.client), nil), 204)
		}
		got, _ = h.receipts("rev-1")
		wantReceipt(t, got, paused, "rp-paused", ssfserver.ReceiptDeleted, nil, nil)

		v, _ := h.user("second@contoso.com")
		rx.answer(status(503))
		h.revoke(revocation.CauseAccountDisabled, "rev-2", "", v.ID) // two SETs per stream
		h.push()                                                     // first SET fails
		got, at = h.receipts("rev-2")
		wantReceipt(t, got, pusher, "rp-push", ssfserver.ReceiptFailing, nil, nil)
		h.clock.Advance(time.Minute)
		t5 := h.clock.Now()
		h.push()
		h.push()
		got, _ = h.receipts("rev-2")
		wantReceipt(t, got, pusher, "rp-push", ssfserver.ReceiptAcknowledged, &t5, &t5)
		var jtis []string
		for range 2 { // one SET per poll: the two concern one user, in order
			r := h.poll(t, h.token("rp-poll", "ssf.read"), poller, ssf.PollRequest{ReturnImmediately: true, Ack: jtis})
			jtis = jtisOf(r.Sets)
			if len(jtis) != 1 {
				t.Fatalf("poll: %d SETs", len(jtis))
			}
			h.clock.Advance(time.Second)
			if got, at = h.receipts("rev-2"); at != nil {
				t.Errorf("effectiveAt %v with SETs unacknowledged", at)
			}
		}
		t6 := h.clock.Now()
		h.poll(t, h.token("rp-poll", "ssf.read"), poller, ssf.PollRequest{MaxEvents: ptr(0), Ack: jtis})
		got, at = h.receipts("rev-2")
		wantReceipt(t, got, poller, "rp-poll", ssfserver.ReceiptAcknowledged, ptr(t6.Add(-2*time.Second)), &t6)
		if at == nil || !at.Equal(t6) {
			t.Errorf("effectiveAt = %v, want %v (the last acknowledgement)", at, t6)
		}
		// The revocation resource's receipts (store.Revocations) match.
		for _, rev := range []string{"rev-1"} {
			stored, err := h.st.ListReceipts(h.ctx, rev)
			if err != nil {
				t.Fatal(err)
			}
			live, _, _ := h.srv.Receipts(h.ctx, rev)
			if jsonOf(stored) != jsonOf(live) {
				t.Errorf("stored receipts of %s = %s\nwant %s", rev, jsonOf(stored), jsonOf(live))
			}
		}
		if got, at := h.receipts("rev-unknown"); len(got) != 0 || at != nil {
			t.Errorf("unknown revocation: %v, %v", got, at)
		}

		// A receiver's setErrs make the receipt failed.
		w, _ := h.user("third@contoso.com")
		h.revoke(revocation.CauseAdminRevoke, "rev-3", "", w.ID)
		r = h.poll(t, h.token("rp-poll", "ssf.read"), poller, ssf.PollRequest{ReturnImmediately: true})
		errs := map[string]ssf.SETError{}
		for jti := range r.Sets {
			errs[jti] = ssf.SETError{Err: ssf.SETErrInvalidKey}
		}
		h.poll(t, h.token("rp-poll", "ssf.read"), poller, ssf.PollRequest{MaxEvents: ptr(0), SetErrs: errs})
		got, _ = h.receipts("rev-3")
		if got[poller].Status != ssfserver.ReceiptFailed {
			t.Errorf("receipt after setErrs = %+v", got[poller])
		}
	})
}

// job creates the revocation resource receipts belong to.
func (h *harness) job(id string) {
	h.t.Helper()
	err := h.st.CreateRevocation(h.ctx, store.Revocation{ID: id, Status: store.RevocationCompleted, Selector: []byte(`{}`),
		CreatedBy: []byte(`{}`), CreatedByID: "system", CreatedAt: h.clock.Now()})
	if err != nil {
		h.t.Fatalf("CreateRevocation: %v", err)
	}
}
