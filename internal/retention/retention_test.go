package retention_test

import (
	"context"
	"errors"
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

// TestPurgeCodes: codes expired longer ago than the grace go, in batches;
// younger ones, expired or not, stay; expired client assertion ids go at
// once, live ones stay.
func TestPurgeCodes(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, st *sqlstore.Store) {
		ctx := context.Background()
		u := store.User{ID: "0f9e8d7c-6b5a-4938-8271-605f4e3d2c1b", UserPrincipalName: "p@vigil.test", DisplayName: "P",
			AccountEnabled: true, CreatedDateTime: now, BusinessPhones: []string{}}
		must(t, st.CreateUser(ctx, u))
		const letters = "KLMNP"
		expiries := []time.Duration{-72 * time.Hour, -48 * time.Hour, -25 * time.Hour, -time.Hour, time.Minute}
		for i, e := range expiries {
			must(t, st.CreateAuthCode(ctx, store.AuthCode{Hash: []byte{byte(i), 1}, ClientID: "c", UserID: u.ID, SessionID: "s",
				RedirectURI: "http://127.0.0.1/cb", FamilyID: "f", CreatedAt: now.Add(e - time.Minute), ExpiresAt: now.Add(e)}))
			must(t, st.CreateDeviceCode(ctx, store.DeviceCode{Hash: []byte{byte(i), 2}, UserCode: "BCDFGHJ" + string(letters[i]),
				ClientID: "c", CreatedAt: now.Add(e - time.Minute), ExpiresAt: now.Add(e), Interval: 5 * time.Second, Status: store.DevicePending}))
		}
		for i, e := range []time.Duration{-3 * time.Hour, -time.Minute, -time.Second, time.Minute} {
			must(t, st.UseClientAssertionID(ctx, []byte{byte(i), 3}, now.Add(e), now.Add(e-time.Hour)))
		}
		p := &retention.Purger{Store: st, Batch: 2, Now: func() time.Time { return now }}
		c, err := p.Purge(ctx)
		if err != nil || c.AuthCodes != 3 || c.DeviceCodes != 3 || c.AssertionIDs != 3 {
			t.Fatalf("purged %+v, %v; want 3 auth codes, 3 device codes, 3 assertion ids", c, err)
		}
		for i := range expiries {
			_, err := st.ConsumeAuthCode(ctx, []byte{byte(i), 1}, now)
			_, derr := st.GetDeviceCodeByUserCode(ctx, "BCDFGHJ"+string(letters[i]))
			gone := i < 3
			if gone != errors.Is(err, store.ErrNotFound) || gone != errors.Is(derr, store.ErrNotFound) {
				t.Errorf("code %d (expiry %v): auth %v, device %v", i, expiries[i], err, derr)
			}
		}
		if c, err := p.Purge(ctx); err != nil || c != (retention.Counts{}) {
			t.Fatalf("second purge: %+v %v", c, err)
		}
		if n, err := st.DeleteExpiredClientAssertionIDs(ctx, now, 10); err != nil || n != 0 {
			t.Errorf("expired assertion ids left: %d %v", n, err)
		}
		if err := st.UseClientAssertionID(ctx, []byte{3, 3}, now.Add(time.Hour), now); !errors.Is(err, store.ErrConflict) {
			t.Errorf("the live assertion id was purged: %v", err)
		}
	})
}
