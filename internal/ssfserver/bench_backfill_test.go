package ssfserver_test

import (
	"encoding/json"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/vigil-idp/vigil/internal/revocation"
	"github.com/vigil-idp/vigil/internal/store"
	"github.com/vigil-idp/vigil/internal/store/sqlstore"
	"github.com/vigil-idp/vigil/internal/store/sqlstore/sqltest"
	"github.com/vigil-idp/vigil/ssf"
)

// BenchmarkCreateStreamBackfill measures creating a stream whose backfill
// window holds VIGIL_BENCH_BACKFILL_EVENTS session-revoked events (default
// 10,000; a 100,000-user bulk revocation is 100,000): the creating
// transaction queues one SET per event. Metric: events/s.
//
//	VIGIL_BENCH_BACKFILL_EVENTS=100000 go test -run '^$' -bench CreateStreamBackfill -benchtime 1x ./internal/ssfserver
func BenchmarkCreateStreamBackfill(b *testing.B) {
	n := 10_000
	if v, err := strconv.Atoi(os.Getenv("VIGIL_BENCH_BACKFILL_EVENTS")); err == nil && v > 0 {
		n = v
	}
	run := func(b *testing.B, st *sqlstore.Store) {
		h := newHarness(b, st, nil)
		for start := 0; start < n; start += 1000 {
			var evs []store.OutboxEvent
			for range min(1000, n-start) {
				user := uuid.NewString()
				p, _ := json.Marshal(revocation.Event{Type: ssf.EventSessionRevoked, Txn: "rev-bench", RevocationID: "rev-bench",
					Subject: revocation.EventSubject{UserID: user}, InitiatingEntity: ssf.InitiatedByAdmin,
					EventTimestamp: h.clock.Now().Unix(), Body: json.RawMessage(`{}`)})
				evs = append(evs, store.OutboxEvent{ID: uuid.NewString(), Type: ssf.EventSessionRevoked, UserID: user,
					Payload: p, CreatedAt: h.clock.Now()})
			}
			if _, err := st.AppendOutbox(h.ctx, evs...); err != nil {
				b.Fatal(err)
			}
		}
		tok := h.manager("rp-bench")
		cfg := pollCfg()
		cfg.BackfillSeconds = 3600
		var took time.Duration
		for b.Loop() {
			start := time.Now()
			h.createStream(b, tok, cfg)
			took += time.Since(start)
		}
		b.ReportMetric(float64(n)*float64(b.N)/took.Seconds(), "events/s")
	}
	b.Run("sqlite", func(b *testing.B) { run(b, sqltest.SQLite(b)) })
	b.Run("postgres", func(b *testing.B) { run(b, sqltest.Postgres(b)) })
}
