package oauth

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/vigil-idp/vigil/internal/store"
	"github.com/vigil-idp/vigil/internal/store/sqlstore"
	"github.com/vigil-idp/vigil/internal/store/sqlstore/sqltest"
)

// TestCodePurger: codes expired longer ago than the retention go, in
// batches; younger ones, expired or not, stay.
func TestCodePurger(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, st *sqlstore.Store) {
		ctx := context.Background()
		now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
		u := store.User{ID: uuid.NewString(), UserPrincipalName: "p@vigil.test", DisplayName: "P", AccountEnabled: true, CreatedDateTime: now}
		if err := st.CreateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
		expiries := []time.Duration{-72 * time.Hour, -48 * time.Hour, -25 * time.Hour, -time.Hour, time.Minute}
		for i, e := range expiries {
			if err := st.CreateAuthCode(ctx, store.AuthCode{Hash: []byte{byte(i), 1}, ClientID: "c", UserID: u.ID, SessionID: "s",
				RedirectURI: "http://127.0.0.1/cb", FamilyID: "f", CreatedAt: now.Add(e - time.Minute), ExpiresAt: now.Add(e)}); err != nil {
				t.Fatal(err)
			}
			if err := st.CreateDeviceCode(ctx, store.DeviceCode{Hash: []byte{byte(i), 2}, UserCode: "BCDFGHJ" + string(userCodeAlphabet[i]),
				ClientID: "c", CreatedAt: now.Add(e - time.Minute), ExpiresAt: now.Add(e), Interval: 5 * time.Second, Status: store.DevicePending}); err != nil {
				t.Fatal(err)
			}
		}
		for i, e := range []time.Duration{-3 * time.Hour, -time.Minute, -time.Second, time.Minute} {
			if err := st.UseClientAssertionID(ctx, []byte{byte(i), 3}, now.Add(e), now.Add(e-time.Hour)); err != nil {
				t.Fatal(err)
			}
		}
		p := &CodePurger{Codes: st, Assertions: st, Batch: 2, Now: func() time.Time { return now }}
		a, d, err := p.Purge(ctx)
		if err != nil || a != 3 || d != 3 {
			t.Fatalf("purged %d auth codes, %d device codes, %v", a, d, err)
		}
		for i := range expiries {
			_, err := st.ConsumeAuthCode(ctx, []byte{byte(i), 1}, now)
			_, derr := st.GetDeviceCodeByUserCode(ctx, "BCDFGHJ"+string(userCodeAlphabet[i]))
			gone := i < 3
			if gone != errors.Is(err, store.ErrNotFound) || gone != errors.Is(derr, store.ErrNotFound) {
				t.Errorf("code %d (expiry %v): auth %v, device %v", i, expiries[i], err, derr)
			}
		}
		if a, d, err := p.Purge(ctx); err != nil || a != 0 || d != 0 {
			t.Fatalf("second purge: %d %d %v", a, d, err)
		}
		// Expired assertion ids went (no retention), so their keys are
		// free; the live one stays.
		if n, err := st.DeleteExpiredClientAssertionIDs(ctx, now, 10); err != nil || n != 0 {
			t.Errorf("expired assertion ids left: %d %v", n, err)
		}
		if err := st.UseClientAssertionID(ctx, []byte{3, 3}, now.Add(time.Hour), now); !errors.Is(err, store.ErrConflict) {
			t.Errorf("the live assertion id was purged: %v", err)
		}
	})
}
