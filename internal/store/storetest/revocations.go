package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/vigil-idp/vigil/internal/store"
)

func testUserRevocation(t *testing.T, newStore func(t *testing.T) store.Store) {
	s := newStore(t)
	withUsers(t, s, 1, 2)
	late := minimalUser(3, "late@example.com")
	late.SignInSessionsValidFrom, late.RefreshTokensValidFrom = at(10*time.Hour), at(10*time.Hour)
	ok(t, s.CreateUser(ctx, late))

	prev, err := s.AdvanceSignInSessionsValidFrom(ctx, []string{id(1), id(3), id(9), id(1)}, at(5*time.Hour), false)
	ok(t, err)
	same(t, "previous values", prev, map[string]time.Time{id(1): {}, id(3): stored(at(10 * time.Hour))})
	check := func(n int, signIn, refresh time.Time) {
		t.Helper()
		u, err := s.GetUser(ctx, id(n))
		ok(t, err)
		if !u.SignInSessionsValidFrom.Equal(stored(signIn)) || !u.RefreshTokensValidFrom.Equal(stored(refresh)) {
			t.Errorf("user %d: signIn %v refresh %v; want %v %v", n, u.SignInSessionsValidFrom, u.RefreshTokensValidFrom, signIn, refresh)
		}
	}
	check(1, at(5*time.Hour), time.Time{})
	check(2, time.Time{}, time.Time{})
	check(3, at(10*time.Hour), at(10*time.Hour)) // never backwards

	ok(t, s.InTx(ctx, func(tx store.Tx) error {
		prev, err = tx.AdvanceSignInSessionsValidFrom(ctx, []string{id(1), id(2), id(3)}, at(6*time.Hour), true)
		return err
	}))
	same(t, "previous values in a transaction", prev,
		map[string]time.Time{id(1): stored(at(5 * time.Hour)), id(2): {}, id(3): stored(at(10 * time.Hour))})
	check(1, at(6*time.Hour), at(6*time.Hour))
	check(2, at(6*time.Hour), at(6*time.Hour))
	check(3, at(10*time.Hour), at(10*time.Hour))

	prev, err = s.AdvanceSignInSessionsValidFrom(ctx, nil, t0, true)
	ok(t, err)
	if len(prev) != 0 {
		t.Fatalf("no ids: %v", prev)
	}

	// More ids than one chunk.
	var uids []string
	ok(t, s.InTx(ctx, func(tx store.Tx) error {
		for n := 100; n < 1300; n++ {
			if err := tx.CreateUser(ctx, minimalUser(n, fmt.Sprintf("u%d@example.com", n))); err != nil {
				return err
			}
			uids = append(uids, id(n))
		}
		return nil
	}))
	prev, err = s.AdvanceSignInSessionsValidFrom(ctx, uids, at(7*time.Hour), false)
	ok(t, err)
	if len(prev) != len(uids) {
		t.Fatalf("%d previous values for %d users", len(prev), len(uids))
	}
	check(1299, at(7*time.Hour), time.Time{})
}
