package retention_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/vigil-idp/vigil/internal/retention"
	"github.com/vigil-idp/vigil/internal/store"
	"github.com/vigil-idp/vigil/internal/store/sqlstore"
	"github.com/vigil-idp/vigil/internal/store/sqlstore/sqltest"
)

var now = time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)

func ago(d time.Duration) time.Time { return now.Add(-d) }
func ptr[T any](v T) *T             { return &v }
func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
func day(n float64) time.Duration { return time.Duration(n * float64(24*time.Hour)) }

// TestPurge: one Purge on a real store deletes exactly the spent rows:
// refresh tokens expired or revoked past the grace, outbox events past the
// retention that every cursor has passed, deliveries delivered past the
// retention; a retention below the floor is raised to it. Batches of one
// make Sweep loop.
func TestPurge(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, st *sqlstore.Store) {
		ctx := context.Background()
		must(t, st.CreateUser(ctx, store.User{ID: "5d1e8a3c-2b4f-4c6d-8e9f-0a1b2c3d4e5f", UserPrincipalName: "ada@vigil.local",
			DisplayName: "Ada", AccountEnabled: true, CreatedDateTime: ago(day(30)), BusinessPhones: []string{}}))
		token := func(id string, expires time.Time, used, revoked *time.Time) {
			must(t, st.CreateRefreshToken(ctx, store.RefreshToken{ID: id, Hash: []byte(id), FamilyID: "f", UserID: "5d1e8a3c-2b4f-4c6d-8e9f-0a1b2c3d4e5f",
				ClientID: "c", Resource: "r", AuthTime: ago(day(20)), CreatedAt: ago(day(20)), ExpiresAt: expires, UsedAt: used, RevokedAt: revoked}))
		}
		token("expired", ago(day(2)), nil, nil)
		token("revoked-long-ago", now.Add(day(30)), nil, ptr(ago(day(2))))
		token("revoked-lately", now.Add(day(30)), nil, ptr(ago(time.Hour)))
		token("used", now.Add(day(30)), ptr(ago(day(3))), nil) // kept for reuse detection until it expires
		token("live", now.Add(day(30)), nil, nil)

		var events []store.OutboxEvent
		for i, age := range []time.Duration{day(10), day(9), day(4), day(1)} {
			events = append(events, store.OutboxEvent{ID: fmt.Sprintf("e%d", i), Type: "t", UserID: "u", CreatedAt: ago(age)})
		}
		seqs, err := st.AppendOutbox(ctx, events...)
		must(t, err)
		must(t, st.AdvanceCursor(ctx, "fast", 0, seqs[3]))
		must(t, st.AdvanceCursor(ctx, "slow", 0, seqs[1])) // has not read e2 (4 days old)

		for i := range 4 {
			must(t, st.EnqueueDeliveries(ctx, store.Delivery{ID: fmt.Sprintf("d%d", i), Queue: "q", EventSeq: int64(i),
				NextAttemptAt: ago(day(11)), CreatedAt: ago(day(11))}))
		}
		must(t, st.CompleteDelivery(ctx, "d0", ago(day(10))))
		must(t, st.CompleteDelivery(ctx, "d1", ago(day(2)))) // inside the 72 h floor
		must(t, st.FailDelivery(ctx, "d2", ago(day(10)), ago(day(10)), true, "dead"))

		p := &retention.Purger{Store: st, EventRetention: time.Hour, Batch: 1, Now: func() time.Time { return now }}
		c, err := p.Purge(ctx)
		must(t, err)
		if want := (retention.Counts{RefreshTokens: 2, OutboxEvents: 2, Deliveries: 1}); c != want {
			t.Errorf("Purge = %+v, want %+v", c, want)
		}
		for id, want := range map[string]bool{"expired": false, "revoked-long-ago": false, "revoked-lately": true, "used": true, "live": true} {
			_, err := st.GetRefreshTokenByHash(ctx, []byte(id))
			if got := err == nil; got != want {
				t.Errorf("refresh token %s kept = %v, want %v (%v)", id, got, want, err)
			}
		}
		left, err := st.ListOutbox(ctx, 0, 10)
		must(t, err)
		var ids []string
		for _, e := range left {
			ids = append(ids, e.ID)
		}
		if !slices.Equal(ids, []string{"e2", "e3"}) {
			t.Errorf("outbox after the purge %v, want e2 (unread by slow) and e3", ids)
		}
		page, err := st.ListDeliveries(ctx, "q", false, store.Query{})
		must(t, err)
		ids = nil
		for _, d := range page.Items {
			ids = append(ids, d.ID)
		}
		if !slices.Equal(ids, []string{"d1", "d2", "d3"}) {
			t.Errorf("deliveries after the purge %v, want d1 (delivered 2 days ago), d2 (dead), d3 (pending)", ids)
		}
		if c, err := p.Purge(ctx); err != nil || c != (retention.Counts{}) {
			t.Errorf("a second Purge = %+v, %v; want nothing", c, err)
		}
	})
}
