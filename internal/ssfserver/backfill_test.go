package ssfserver_test

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vigil-idp/vigil/internal/revocation"
	"github.com/vigil-idp/vigil/internal/ssfserver"
	"github.com/vigil-idp/vigil/ssf"
)

// drain polls a stream with returnImmediately until nothing is left,
// acknowledging everything, and returns each SET's event type by user.
func (h *harness) drain(t *testing.T, tok, id string) map[string][]string {
	t.Helper()
	got := map[string][]string{}
	var ack []string
	for range 100 {
		r := h.poll(t, tok, id, ssf.PollRequest{MaxEvents: ptr(3), ReturnImmediately: true, Ack: ack})
		for _, raw := range r.Sets {
			_, set := h.verifySET(raw)
			got[h.subOf(raw)] = append(got[h.subOf(raw)], eventType(t, set))
		}
		ack = jtisOf(r.Sets)
		if len(r.Sets) == 0 {
			return got
		}
	}
	t.Fatal("the stream never ran dry")
	return nil
}

// TestCreateStreamBackfill: a stream created with vigil_backfill_seconds
// gets the events of that window that happened before it existed (of its
// requested types, once each, ahead of later ones), which count in no
// receipt; without it, a stream gets only later events.
func TestCreateStreamBackfill(t *testing.T) {
	each(t, nil, func(t *testing.T, h *harness) {
		old := h.manager("rp-old")
		oldID := h.createStream(t, old, pollCfg()).StreamID

		a, _ := h.user("a@contoso.com")
		b, _ := h.user("b@contoso.com")
		c, _ := h.user("c@contoso.com")
		h.revoke(revocation.CauseAdminRevoke, "rev-a", "", a.ID) // t0
		h.clock.Advance(30 * time.Minute)
		h.revoke(revocation.CauseAdminRevoke, "rev-b", "", b.ID) // t0+30m
		h.revoke(revocation.CauseAccountDisabled, "", "", c.ID)
		h.clock.Advance(5 * time.Minute)

		tok := h.manager("rp-new")
		cfg := pollCfg()
		cfg.BackfillSeconds = 900 // since t0+20m: b and c, not a
		created := h.createStream(t, tok, cfg)
		if created.BackfillSeconds != 900 {
			t.Fatalf("vigil_backfill_seconds answered %d, want 900", created.BackfillSeconds)
		}
		none := h.createStream(t, tok, pollCfg()) // no backfill
		onlyDisabled := pollCfg()
		onlyDisabled.EventsRequested = []string{ssf.EventAccountDisabled}
		onlyDisabled.BackfillSeconds = 3600 // a, b and c, but only c's type
		disabled := h.createStream(t, tok, onlyDisabled)

		d, _ := h.user("d@contoso.com")
		h.revoke(revocation.CauseAdminRevoke, "rev-d", "", d.ID) // after creation

		got := h.drain(t, tok, created.StreamID)
		want := map[string][]string{
			b.ID: {ssf.EventSessionRevoked},
			c.ID: {ssf.EventAccountDisabled, ssf.EventSessionRevoked},
			d.ID: {ssf.EventSessionRevoked},
		}
		for u, types := range want {
			if !slices.Equal(got[u], types) {
				t.Errorf("backfilled stream, user %s: events %v, want %v", u, got[u], types)
			}
		}
		if len(got[a.ID]) != 0 {
			t.Errorf("an event older than the window was backfilled: %v", got[a.ID])
		}
		if got := h.drain(t, tok, none.StreamID); len(got) != 1 || len(got[d.ID]) != 1 {
			t.Errorf("stream without backfill got %v, want only d's event", got)
		}
		if got := h.drain(t, tok, disabled.StreamID); len(got) != 1 || !slices.Equal(got[c.ID], []string{ssf.EventAccountDisabled}) {
			t.Errorf("stream of account-disabled only got %v, want c's account-disabled", got)
		}

		// rev-b's receipt names the stream that existed when it happened,
		// not those that got it as a backfill.
		rs, _, err := h.srv.Receipts(h.ctx, "rev-b")
		if err != nil {
			t.Fatal(err)
		}
		if len(rs) != 1 || rs[0].StreamID != oldID {
			t.Errorf("receipts of rev-b = %+v, want only stream %s", rs, oldID)
		}
	})
}

func TestCreateStreamBackfillBounds(t *testing.T) {
	each(t, nil, func(t *testing.T, h *harness) {
		tok := h.manager("rp-1")
		cfg := pollCfg()
		cfg.BackfillSeconds = 10_000_000
		created := h.createStream(t, tok, cfg)
		if wantMax := int(ssfserver.DefaultMaxBackfill / time.Second); created.BackfillSeconds != wantMax {
			t.Errorf("vigil_backfill_seconds 10,000,000 answered %d, want the maximum %d", created.BackfillSeconds, wantMax)
		}
		r := want(t, h.do(t, "POST", "/ssf/streams", tok, map[string]any{"delivery": map[string]any{"method": ssf.DeliveryPoll}, "vigil_backfill_seconds": -1}), http.StatusBadRequest)
		if !strings.Contains(string(r.body), "vigil_backfill_seconds") {
			t.Errorf("negative backfill: %s", r)
		}
		// Fixed after creation: echoing it is fine, changing it is not.
		want(t, h.do(t, "PATCH", "/ssf/streams", tok, map[string]any{"stream_id": created.StreamID, "vigil_backfill_seconds": created.BackfillSeconds, "description": "x"}), http.StatusOK)
		want(t, h.do(t, "PATCH", "/ssf/streams", tok, map[string]any{"stream_id": created.StreamID, "vigil_backfill_seconds": 60}), http.StatusBadRequest)
	})
}

// TestCreateStreamBackfillPages: a backfill longer than one page of the
// outbox is queued whole.
func TestCreateStreamBackfillPages(t *testing.T) {
	each(t, nil, func(t *testing.T, h *harness) {
		var ids []string
		for i := range 450 {
			u, _ := h.user(fmt.Sprintf("p%d@contoso.com", i))
			ids = append(ids, u.ID)
		}
		h.revoke(revocation.CauseAdminRevoke, "rev-p", "", ids...)
		tok := h.manager("rp-1")
		cfg := pollCfg()
		cfg.BackfillSeconds = 60
		id := h.createStream(t, tok, cfg).StreamID
		got := 0
		var ack []string
		for {
			r := h.poll(t, tok, id, ssf.PollRequest{MaxEvents: ptr(100), ReturnImmediately: true, Ack: ack})
			if len(r.Sets) == 0 {
				break
			}
			got += len(r.Sets)
			ack = jtisOf(r.Sets)
		}
		if got != len(ids) {
			t.Errorf("backfilled %d SETs, want %d", got, len(ids))
		}
	})
}
