package storetest

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/vigil-idp/vigil/internal/store"
)

func authCode(n, user int, created time.Time) store.AuthCode {
	return store.AuthCode{
		Hash: []byte(fmt.Sprintf("code-%d", n)), ClientID: id(900), UserID: id(user), SessionID: id(10),
		RedirectURI: "http://127.0.0.1:5000/callback", Scopes: []string{"openid", "User.Read"},
		Resource: "https://graph.microsoft.com", Nonce: "n-0S6_WzA2Mj", CodeChallenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
		CodeChallengeMethod: "S256", Claims: []byte(`{"access_token":{"xms_cc":{"values":["cp1"]}}}`),
		Capabilities: []string{"cp1"}, AuthTime: created.Add(-time.Minute), FamilyID: "family-" + id(n),
		CreatedAt: created, ExpiresAt: created.Add(10 * time.Minute),
	}
}

func deviceCode(n int, created time.Time) store.DeviceCode {
	return store.DeviceCode{
		Hash: []byte(fmt.Sprintf("device-%d", n)), UserCode: fmt.Sprintf("WDJB%04d", n), ClientID: id(900),
		Scopes: []string{"openid"}, Resource: "https://graph.microsoft.com", Capabilities: nil,
		CreatedAt: created, ExpiresAt: created.Add(15 * time.Minute), Interval: 5 * time.Second, Status: store.DevicePending,
	}
}

func testAuthCodes(t *testing.T, newStore func(t *testing.T) store.Store) {
	t.Run("Consume", func(t *testing.T) {
		s := newStore(t)
		withUsers(t, s, 1)
		c := authCode(30, 1, t0)
		ok(t, s.CreateAuthCode(ctx, c))
		bare := store.AuthCode{Hash: []byte{0, 0xff}, ClientID: "c", UserID: id(1), CreatedAt: t0, ExpiresAt: t0, AuthTime: t0}
		ok(t, s.CreateAuthCode(ctx, bare))
		isErr(t, "duplicate hash", s.CreateAuthCode(ctx, c), store.ErrConflict)
		isErr(t, "unknown user", s.CreateAuthCode(ctx, authCode(31, 9, t0)), store.ErrNotFound)

		got, err := s.ConsumeAuthCode(ctx, c.Hash, at(time.Minute))
		ok(t, err)
		c.UsedAt = ptr(at(time.Minute))
		same(t, "first consume", got, c)
		got, err = s.ConsumeAuthCode(ctx, c.Hash, at(2*time.Minute))
		isErr(t, "second consume", err, store.ErrConflict)
		same(t, "code returned with the conflict", got, c)
		got, err = s.ConsumeAuthCode(ctx, bare.Hash, t0)
		ok(t, err)
		bare.UsedAt = ptr(t0)
		same(t, "minimal code", got, bare)
		_, err = s.ConsumeAuthCode(ctx, []byte("nope"), t0)
		isErr(t, "unknown code", err, store.ErrNotFound)
	})

	t.Run("ConsumeConcurrently", func(t *testing.T) {
		s := newStore(t)
		withUsers(t, s, 1)
		ok(t, s.CreateAuthCode(ctx, authCode(30, 1, t0)))
		exactlyOnce(t, "redeemers of one code", func(w int) error {
			c, err := s.ConsumeAuthCode(ctx, []byte("code-30"), at(time.Duration(w)*time.Second))
			if errors.Is(err, store.ErrConflict) && c.FamilyID != "family-"+id(30) {
				return fmt.Errorf("a refused redemption named family %q (code %+v)", c.FamilyID, c)
			}
			return err
		})
	})

	t.Run("DeleteExpired", func(t *testing.T) {
		s := newStore(t)
		withUsers(t, s, 1)
		for n := range 5 {
			ok(t, s.CreateAuthCode(ctx, authCode(n, 1, at(time.Duration(n)*time.Hour)))) // expires 10 min later
		}
		n, err := s.DeleteExpiredAuthCodes(ctx, at(3*time.Hour), 10)
		ok(t, err)
		if n != 3 {
			t.Fatalf("deleted %d, want 3", n)
		}
		_, err = s.ConsumeAuthCode(ctx, []byte("code-2"), t0)
		isErr(t, "expired code", err, store.ErrNotFound)
		_, err = s.ConsumeAuthCode(ctx, []byte("code-3"), t0)
		ok(t, err)
	})
}

func testDeviceCodes(t *testing.T, newStore func(t *testing.T) store.Store) {
	t.Run("Lifecycle", func(t *testing.T) {
		s := newStore(t)
		withUsers(t, s, 1)
		d := deviceCode(40, t0)
		roundTrip(t, d, s.CreateDeviceCode, map[string]func(store.DeviceCode) (store.DeviceCode, error){
			"GetDeviceCodeByUserCode": func(d store.DeviceCode) (store.DeviceCode, error) { return s.GetDeviceCodeByUserCode(ctx, d.UserCode) },
		})
		other := deviceCode(41, t0)
		other.UserCode = d.UserCode
		isErr(t, "duplicate user code", s.CreateDeviceCode(ctx, other), store.ErrConflict)
		isErr(t, "duplicate hash", s.CreateDeviceCode(ctx, deviceCode(40, t0)), store.ErrConflict)
		_, err := s.GetDeviceCodeByUserCode(ctx, "NOPE")
		isErr(t, "unknown user code", err, store.ErrNotFound)

		// Poll (slow_down), then approve.
		got, err := s.UpdateDeviceCode(ctx, d.Hash, func(x store.DeviceCode) (store.DeviceCode, error) {
			x.LastPolledAt, x.Interval = ptr(at(time.Second)), x.Interval+5*time.Second
			return x, nil
		})
		ok(t, err)
		d.LastPolledAt, d.Interval = ptr(at(time.Second)), 10*time.Second
		same(t, "after a poll", got, d)
		got, err = s.UpdateDeviceCode(ctx, d.Hash, func(x store.DeviceCode) (store.DeviceCode, error) {
			x.Status, x.UserID, x.SessionID, x.AuthTime = store.DeviceApproved, id(1), id(10), at(time.Minute)
			return x, nil
		})
		ok(t, err)
		d.Status, d.UserID, d.SessionID, d.AuthTime = store.DeviceApproved, id(1), id(10), at(time.Minute)
		same(t, "after approval", got, d)
		_, err = s.UpdateDeviceCode(ctx, d.Hash, func(x store.DeviceCode) (store.DeviceCode, error) {
			x.UserID = id(9)
			return x, nil
		})
		isErr(t, "approval by an unknown user", err, store.ErrNotFound)
		_, err = s.UpdateDeviceCode(ctx, d.Hash, func(x store.DeviceCode) (store.DeviceCode, error) { return x, errStop })
		isErr(t, "updater error", err, errStop)
		_, err = s.UpdateDeviceCode(ctx, []byte("nope"), func(x store.DeviceCode) (store.DeviceCode, error) { return x, nil })
		isErr(t, "update unknown", err, store.ErrNotFound)
		got, err = s.GetDeviceCodeByUserCode(ctx, d.UserCode)
		ok(t, err)
		same(t, "after refused updates", got, d)
	})

	t.Run("DeleteExpired", func(t *testing.T) {
		s := newStore(t)
		for n := range 4 {
			ok(t, s.CreateDeviceCode(ctx, deviceCode(n, at(time.Duration(n)*time.Hour))))
		}
		n, err := s.DeleteExpiredDeviceCodes(ctx, at(2*time.Hour), 1)
		ok(t, err)
		if n != 1 {
			t.Fatalf("deleted %d, want the limit 1", n)
		}
		n, err = s.DeleteExpiredDeviceCodes(ctx, at(2*time.Hour), 10)
		ok(t, err)
		if n != 1 {
			t.Fatalf("deleted %d, want 1 more", n)
		}
		_, err = s.GetDeviceCodeByUserCode(ctx, deviceCode(2, t0).UserCode)
		ok(t, err)
	})
}

func testClientAssertionIDs(t *testing.T, newStore func(t *testing.T) store.Store) {
	t.Run("OncePerLifetime", func(t *testing.T) {
		s := newStore(t)
		a, b := []byte("digest-a"), []byte("digest-b")
		ok(t, s.UseClientAssertionID(ctx, a, at(time.Hour), t0))
		isErr(t, "replay while live", s.UseClientAssertionID(ctx, a, at(2*time.Hour), at(30*time.Minute)), store.ErrConflict)
		ok(t, s.UseClientAssertionID(ctx, b, at(time.Hour), t0))
		// Once expired the key may be used again (and lives anew).
		ok(t, s.UseClientAssertionID(ctx, a, at(3*time.Hour), at(time.Hour)))
		isErr(t, "replay of the renewed key", s.UseClientAssertionID(ctx, a, at(4*time.Hour), at(2*time.Hour)), store.ErrConflict)

		n, err := s.DeleteExpiredClientAssertionIDs(ctx, at(2*time.Hour), 10)
		ok(t, err)
		if n != 1 { // b; a lives until 3h
			t.Fatalf("deleted %d expired keys, want 1", n)
		}
		isErr(t, "a still recorded", s.UseClientAssertionID(ctx, a, at(4*time.Hour), at(2*time.Hour)), store.ErrConflict)
		ok(t, s.UseClientAssertionID(ctx, b, at(4*time.Hour), at(2*time.Hour)))
	})

	t.Run("Concurrently", func(t *testing.T) {
		s := newStore(t)
		exactlyOnce(t, "uses of one assertion id", func(int) error {
			return s.UseClientAssertionID(ctx, []byte("same"), at(time.Hour), t0)
		})
	})
}
