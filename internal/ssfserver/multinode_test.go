package ssfserver_test

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/vigil-idp/vigil/internal/keys"
	"github.com/vigil-idp/vigil/internal/revocation"
	"github.com/vigil-idp/vigil/internal/secret"
	"github.com/vigil-idp/vigil/internal/ssfserver"
	"github.com/vigil-idp/vigil/internal/store/sqlstore"
	"github.com/vigil-idp/vigil/internal/store/sqlstore/sqltest"
	"github.com/vigil-idp/vigil/ssf"
)

// twoNodes opens two stores on one PostgreSQL schema (two nodes) whose
// only wake-ups are LISTEN/NOTIFY (their timer polls, and the servers'
// Recheck, are an hour), and runs both transmitters' workers.
func twoNodes(t *testing.T) (*harness, *node) {
	dsn := sqltest.PostgresDSN(t)
	open := func() *sqlstore.Store {
		st, err := sqlstore.Open(context.Background(), dsn, sqlstore.WithLogger(slog.New(slog.DiscardHandler)),
			sqlstore.WithOutboxPollInterval(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		return st
	}
	cfg := func(s *ssfserver.Server) { s.Recheck, s.LongPollTimeout = time.Hour, 20*time.Second }
	h := newHarness(t, open(), cfg)
	stB := open()
	box, _ := secret.NewBox(masterKey)
	b := h.newNode(stB, &keys.Manager{Store: stB, Box: box, Now: h.clock.Now}, cfg)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { h.srv.Run(ctx) })
	wg.Go(func() { b.srv.Run(ctx) })
	t.Cleanup(func() { cancel(); wg.Wait() })
	return h, b
}

// TestTwoNodesLongPoll: a revocation committed through node A reaches a
// long poll held by node B at once.
func TestTwoNodesLongPoll(t *testing.T) {
	h, b := twoNodes(t)
	tok := h.manager("rp-1")
	id := h.createStream(t, tok, pollCfg()).StreamID
	u, _ := h.user("far@contoso.com")

	done := make(chan ssf.PollResponse, 1)
	go func() {
		r := b.do(t, "POST", "/ssf/streams/"+id+"/poll", tok, ssf.PollRequest{})
		var pr ssf.PollResponse
		_ = jsonUnmarshal(r.body, &pr)
		done <- pr
	}()
	time.Sleep(200 * time.Millisecond)
	h.revoke(revocation.CauseAdminRevoke, "rev-1", "", u.ID) // through node A's store
	appended := time.Now()
	select {
	case r := <-done:
		if len(r.Sets) != 1 {
			t.Fatalf("node B answered %+v", r)
		}
		for _, raw := range r.Sets {
			if h.subOf(raw) != u.ID {
				t.Errorf("SET about %s", h.subOf(raw))
			}
		}
		t.Logf("node B's long poll answered %v after node A's commit", time.Since(appended))
	case <-time.After(5 * time.Second):
		t.Fatal("node B's long poll was not woken by node A's event")
	}
}

// TestTwoNodesExactlyOnce: with both nodes dispatching, every event is
// queued once: polling through either node yields each SET once.
func TestTwoNodesExactlyOnce(t *testing.T) {
	h, b := twoNodes(t)
	tok := h.manager("rp-1")
	id := h.createStream(t, tok, pollCfg()).StreamID
	var ids []string
	for i := range 40 {
		u, _ := h.user(fmt.Sprintf("n%02d@contoso.com", i))
		ids = append(ids, u.ID)
	}
	for i := 0; i < len(ids); i += 8 {
		h.revoke(revocation.CauseAdminRevoke, fmt.Sprintf("rev-%d", i), "", ids[i:i+8]...)
	}
	seen := map[string]int{}
	var ack []string
	deadline := time.Now().Add(10 * time.Second)
	for n := 0; len(seen) < len(ids) && time.Now().Before(deadline); n++ {
		via := h.node
		if n%2 == 1 {
			via = b
		}
		r := via.poll(t, tok, id, ssf.PollRequest{MaxEvents: ptr(7), Ack: ack, ReturnImmediately: true})
		ack = jtisOf(r.Sets)
		for _, raw := range r.Sets {
			seen[h.subOf(raw)]++
		}
	}
	for _, u := range ids {
		if seen[u] != 1 {
			t.Errorf("user %s: %d SETs, want 1", u, seen[u])
		}
	}
}
