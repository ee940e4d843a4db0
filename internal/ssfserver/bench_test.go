package ssfserver_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/vigil-idp/vigil/internal/revocation"
	"github.com/vigil-idp/vigil/internal/ssfserver"
	"github.com/vigil-idp/vigil/internal/store/sqlstore"
	"github.com/vigil-idp/vigil/internal/store/sqlstore/sqltest"
	"github.com/vigil-idp/vigil/ssf"
)

// BenchmarkOutboxToPoll measures propagation latency inside the
// transmitter: from the durable commit of a revocation
// (revocation.ApplyInTx returned, when the revoke API answers) to a
// receiver holding a long poll having the SET, as a guard does (long
// poll, ack in the next poll). Metrics: p50 and p99 in ms.
func BenchmarkOutboxToPoll(b *testing.B) {
	run := func(b *testing.B, st *sqlstore.Store) {
		h := newHarness(b, st, func(s *ssfserver.Server) { s.Recheck = time.Hour })
		tok := h.manager("rp-bench")
		id := h.createStream(b, tok, pollCfg()).StreamID
		const pool = 50
		var users []string
		for i := range pool {
			u, _ := h.user(fmt.Sprintf("b%03d@contoso.com", i))
			users = append(users, u.ID)
		}
		got := make(chan time.Time, 16)
		stop := make(chan struct{})
		go func() { // the receiver
			var ack []string
			for {
				select {
				case <-stop:
					return
				default:
				}
				pr, err := pollOnce(h.base, tok, id, ssf.PollRequest{Ack: ack})
				if err != nil {
					continue // the server is closing
				}
				now := time.Now()
				ack = jtisOf(pr.Sets)
				for range pr.Sets {
					got <- now
				}
			}
		}()
		defer close(stop)
		lat := make([]time.Duration, 0, b.N)
		for i := 0; b.Loop(); i++ {
			h.revoke(revocation.CauseAdminRevoke, "", "", users[i%pool])
			committed := time.Now() // the revoke API would answer now
			lat = append(lat, (<-got).Sub(committed))
		}
		b.StopTimer()
		slices.Sort(lat)
		q := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))]) / float64(time.Millisecond) }
		b.ReportMetric(q(0.5), "p50-ms")
		b.ReportMetric(q(0.99), "p99-ms")
	}
	b.Run("sqlite", func(b *testing.B) { run(b, sqltest.SQLite(b)) })
	b.Run("postgres", func(b *testing.B) { run(b, sqltest.Postgres(b)) })
}

// pollOnce is a poll that reports errors instead of failing the test (for
// goroutines that outlive it).
func pollOnce(base, token, streamID string, req ssf.PollRequest) (ssf.PollResponse, error) {
	var out ssf.PollResponse
	body, _ := json.Marshal(req)
	hr, _ := http.NewRequest("POST", base+"/ssf/streams/"+streamID+"/poll", bytes.NewReader(body))
	hr.Header.Set("Authorization", "Bearer "+token)
	hr.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(hr)
	if err != nil {
		return out, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		return out, fmt.Errorf("poll: %s", resp.Status)
	}
	return out, json.NewDecoder(resp.Body).Decode(&out)
}
