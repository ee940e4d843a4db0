package sqlstore_test

import (
	"fmt"
	"math/rand/v2"
	"os"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/vigil-idp/vigil/internal/store"
	"github.com/vigil-idp/vigil/internal/store/sqlstore"
	"github.com/vigil-idp/vigil/internal/store/sqlstore/sqltest"
)

// BenchmarkBulkRevocationPrimitives runs the store side of one chunk of a
// bulk revocation (issue 4): for 1,000 users, each with a live session and
// refresh token, in one InTx — AdvanceSignInSessionsValidFrom,
// RevokeSessionsOfUsers, RevokeRefreshTokensOfUsers, 1,000 audit records
// and 1,000 outbox events. Every op is a fresh chunk of users, so
//
//	VIGIL_TEST_POSTGRES_DSN=postgres://postgres@127.0.0.1:5432/test?sslmode=disable \
//	  go test -run '^$' -bench BulkRevocationPrimitives -benchtime 100x ./internal/store/sqlstore/
//
// revokes 100,000 users, as the target does; ms/chunk is the time
// of one chunk, users/s the rate, and advance/revoke/audit/outbox/commit-ms
// the share of each step. Audit and event ids are time-ordered (v7) UUIDs,
// as internal/revocation makes them, so their index inserts append;
// VIGIL_BENCH_UUID4=1 uses random (v4) UUIDs instead, whose inserts land
// all over the B-tree (markedly slower).
func BenchmarkBulkRevocationPrimitives(b *testing.B) {
	const chunk = 1000
	for _, fx := range []struct {
		name string
		open func(testing.TB, ...sqlstore.Option) *sqlstore.Store
	}{{"sqlite", sqltest.SQLite}, {"postgres", sqltest.Postgres}} {
		b.Run(fx.name, func(b *testing.B) {
			s := fx.open(b)
			rng := rand.New(rand.NewPCG(3, 4))
			ids := make([][]string, b.N)
			t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
			for i := range b.N {
				us := make([]store.User, chunk)
				for j := range us {
					us[j] = benchUser(rng, i*chunk+j)
					ids[i] = append(ids[i], us[j].ID)
				}
				if err := s.InsertUsers(ctx, us); err != nil {
					b.Fatal(err)
				}
				if err := s.InsertSessionsAndTokens(ctx, ids[i], t0); err != nil {
					b.Fatal(err)
				}
			}
			if err := s.Analyze(ctx); err != nil {
				b.Fatal(err)
			}
			newID := func() string { return uuid.Must(uuid.NewV7()).String() }
			if os.Getenv("VIGIL_BENCH_UUID4") != "" {
				newID = uuid.NewString
			}
			initiator := []byte(`{"app":{"appId":"` + uuid.NewString() + `","displayName":"bulk revoker","servicePrincipalId":"` + uuid.NewString() + `"}}`)
			var steps [5]time.Duration // per step, for the report
			b.ResetTimer()
			start := time.Now()
			for i := range b.N {
				now := t0.Add(time.Duration(i+1) * time.Second)
				audit := make([]store.AuditRecord, chunk)
				events := make([]store.OutboxEvent, chunk)
				for j, uid := range ids[i] {
					audit[j] = store.AuditRecord{
						ID: newID(), ActivityDateTime: now, ActivityDisplayName: "Update StsRefreshTokenValidFrom Timestamp",
						Category: "UserManagement", CorrelationID: "job-" + fmt.Sprint(i), OperationType: "Update", Result: "success",
						LoggedByService: "Core Directory", InitiatedBy: initiator, InitiatorAppID: "bulk",
						TargetResources: []byte(`[{"id":"` + uid + `","type":"User","userPrincipalName":"user@example.com",` +
							`"modifiedProperties":[{"displayName":"StsRefreshTokensValidFrom","oldValue":"[]","newValue":"[\"` +
							now.Format(time.RFC3339) + `\"]"}]}]`),
						TargetIDs: []string{uid},
					}
					events[j] = store.OutboxEvent{
						ID: newID(), Type: "https://schemas.openid.net/secevent/caep/event-type/session-revoked", UserID: uid,
						Payload:   []byte(`{"subject":{"format":"opaque","id":"` + uid + `"},"event_timestamp":` + fmt.Sprint(now.Unix()) + `,"reason_admin":{"en":"bulk"}}`),
						CreatedAt: now,
					}
				}
				var t1, t2, t3, t4 time.Time
				t0 := time.Now()
				err := s.InTx(ctx, func(tx store.Tx) error {
					prev, err := tx.AdvanceSignInSessionsValidFrom(ctx, ids[i], now, false)
					if err != nil || len(prev) != chunk {
						return fmt.Errorf("advance: %d users, %v", len(prev), err)
					}
					t1 = time.Now()
					if n, err := tx.RevokeSessionsOfUsers(ctx, ids[i], now, "bulk"); err != nil || n != chunk {
						return fmt.Errorf("sessions: %d, %v", n, err)
					}
					if n, err := tx.RevokeRefreshTokensOfUsers(ctx, ids[i], now, "bulk"); err != nil || n != chunk {
						return fmt.Errorf("tokens: %d, %v", n, err)
					}
					t2 = time.Now()
					if err := tx.AppendAudit(ctx, audit...); err != nil {
						return err
					}
					t3 = time.Now()
					_, err = tx.AppendOutbox(ctx, events...)
					t4 = time.Now()
					return err
				})
				if err != nil {
					b.Fatal(err)
				}
				steps[0] += t1.Sub(t0)
				steps[1] += t2.Sub(t1)
				steps[2] += t3.Sub(t2)
				steps[3] += t4.Sub(t3)
				steps[4] += time.Since(t4)
			}
			elapsed := time.Since(start)
			for k, name := range []string{"advance", "revoke", "audit", "outbox", "commit"} {
				b.ReportMetric(float64(steps[k].Microseconds())/1000/float64(b.N), name+"-ms")
			}
			b.ReportMetric(float64(elapsed.Milliseconds())/float64(b.N), "ms/chunk")
			b.ReportMetric(float64(b.N*chunk)/elapsed.Seconds(), "users/s")
		})
	}
}
