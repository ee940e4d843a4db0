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

func resultUser(r store.RevocationResult) string { return r.UserID }

func revocation(n int, by, key string) store.Revocation {
	return store.Revocation{
		ID: id(n), Status: store.RevocationPending, Selector: []byte(`{"filter":"department eq 'Sales'"}`),
		ValidFrom: at(time.Hour), Targeted: 3, Reason: "offboarding", CreatedBy: []byte(`{"app":{"appId":"x"}}`),
		CreatedAt: at(time.Duration(n) * time.Minute), IdempotencyKey: key, CreatedByID: by, RequestHash: []byte{1, 2, 3},
	}
}

func testRevocations(t *testing.T, newStore func(t *testing.T) store.Store) {
	t.Run("Jobs", func(t *testing.T) {
		s := newStore(t)
		a := revocation(1, "admin", "key-1")
		b := revocation(2, "admin", "")
		c := revocation(3, "other", "key-1") // same key, other initiator
		b.Selector, b.CreatedBy, b.RequestHash = nil, nil, nil
		for _, r := range []store.Revocation{a, b, c} {
			roundTrip(t, r, s.CreateRevocation, map[string]func(store.Revocation) (store.Revocation, error){
				"GetRevocation": func(r store.Revocation) (store.Revocation, error) { return s.GetRevocation(ctx, r.ID) },
			})
		}
		isErr(t, "duplicate id", s.CreateRevocation(ctx, revocation(1, "x", "")), store.ErrConflict)
		isErr(t, "reused idempotency key", s.CreateRevocation(ctx, revocation(4, "admin", "key-1")), store.ErrConflict)
		ok(t, s.CreateRevocation(ctx, revocation(5, "admin", ""))) // no key: no uniqueness
		got, err := s.GetRevocationByIdempotencyKey(ctx, "admin", "key-1")
		ok(t, err)
		same(t, "by idempotency key", got, a)
		_, err = s.GetRevocationByIdempotencyKey(ctx, "nobody", "key-1")
		isErr(t, "key of another initiator", err, store.ErrNotFound)
		_, err = s.GetRevocationByIdempotencyKey(ctx, "admin", "")
		isErr(t, "empty key", err, store.ErrNotFound)
		_, err = s.GetRevocation(ctx, id(9))
		isErr(t, "unknown job", err, store.ErrNotFound)

		got, err = s.UpdateRevocation(ctx, a.ID, func(r store.Revocation) (store.Revocation, error) {
			r.Status, r.StartedAt, r.Revoked, r.Progress = store.RevocationRunning, ptr(at(2*time.Hour)), 2, "cursor-1"
			return r, nil
		})
		ok(t, err)
		a.Status, a.StartedAt, a.Revoked, a.Progress = store.RevocationRunning, ptr(at(2*time.Hour)), 2, "cursor-1"
		same(t, "UpdateRevocation", got, a)
		_, err = s.UpdateRevocation(ctx, a.ID, func(r store.Revocation) (store.Revocation, error) { return r, errStop })
		isErr(t, "updater error", err, errStop)

		running, err := s.ListRevocationsByStatus(ctx, store.RevocationRunning)
		ok(t, err)
		same(t, "running jobs", running, []store.Revocation{a})
		pending, err := s.ListRevocationsByStatus(ctx, store.RevocationPending)
		ok(t, err)
		sameIDs(t, "pending jobs, oldest first", ids(pending, func(r store.Revocation) string { return r.ID }), idList(2, 3, 5))
	})

	t.Run("Results", func(t *testing.T) {
		s := newStore(t)
		ok(t, s.CreateRevocation(ctx, revocation(1, "admin", "")))
		ok(t, s.CreateRevocation(ctx, revocation(2, "admin", "")))
		res := func(rev, user int, outcome string) store.RevocationResult {
			return store.RevocationResult{RevocationID: id(rev), UserID: id(user), Outcome: outcome, Detail: outcome + " detail", At: at(time.Duration(user) * time.Second)}
		}
		ok(t, s.AddRevocationResults(ctx, res(1, 10, "revoked"), res(1, 11, "denied"), res(1, 12, "failed"), res(2, 10, "revoked")))
		// A retry replaces the failure; within one call the last one wins.
		ok(t, s.InTx(ctx, func(tx store.Tx) error {
			return tx.AddRevocationResults(ctx, res(1, 12, "failed"), res(1, 12, "revoked"), res(1, 13, "revoked"))
		}))
		ok(t, s.AddRevocationResults(ctx))
		isErr(t, "unknown job", s.AddRevocationResults(ctx, res(1, 14, "revoked"), res(9, 10, "revoked")), store.ErrNotFound)

		list := func(rev int, outcome string, top int, q store.Query) []store.RevocationResult {
			return all(t, top, func(q store.Query) (store.Page[store.RevocationResult], error) {
				return s.ListRevocationResults(ctx, id(rev), outcome, q)
			}, q)
		}
		same(t, "all results of job 1", list(1, "", 2, store.Query{}),
			[]store.RevocationResult{res(1, 10, "revoked"), res(1, 11, "denied"), res(1, 12, "revoked"), res(1, 13, "revoked")})
		sameIDs(t, "revoked in job 1", ids(list(1, "revoked", 1, store.Query{}), resultUser), idList(10, 12, 13))
		sameIDs(t, "denied in job 1", ids(list(1, "denied", 0, store.Query{}), resultUser), idList(11))
		sameIDs(t, "job 2", ids(list(2, "", 0, store.Query{}), resultUser), idList(10))
		sameIDs(t, "filtered and sorted", ids(list(1, "", 0, store.Query{Filter: filter(t, "outcome eq 'revoked'"), OrderBy: orderBy(t, "userId desc")}), resultUser), idList(13, 12, 10))

		// Bulk: more rows than one statement holds.
		var many []store.RevocationResult
		for u := 1000; u < 3500; u++ {
			many = append(many, res(2, u, "revoked"))
		}
		ok(t, s.AddRevocationResults(ctx, many...))
		if got := list(2, "revoked", 1000, store.Query{}); len(got) != 2501 {
			t.Fatalf("%d results after a bulk add of 2,500, want 2,501", len(got))
		}
	})

	t.Run("Receipts", func(t *testing.T) {
		s := newStore(t)
		ok(t, s.CreateRevocation(ctx, revocation(1, "admin", "")))
		b := store.Receipt{RevocationID: id(1), StreamID: "stream-b", Receiver: "https://rp.example.com", Status: "pending"}
		a := store.Receipt{RevocationID: id(1), StreamID: "stream-a", Receiver: "https://api.example.com", Status: "delivered", DeliveredAt: ptr(at(time.Second))}
		ok(t, s.PutReceipt(ctx, b))
		ok(t, s.PutReceipt(ctx, a))
		a.Status, a.AcknowledgedAt = "acknowledged", ptr(at(2*time.Second))
		ok(t, s.PutReceipt(ctx, a))
		got, err := s.ListReceipts(ctx, id(1))
		ok(t, err)
		same(t, "receipts by stream", got, []store.Receipt{a, b})
		got, err = s.ListReceipts(ctx, id(9))
		ok(t, err)
		same(t, "receipts of an unknown job", got, []store.Receipt{})
		isErr(t, "receipt of an unknown job", s.PutReceipt(ctx, store.Receipt{RevocationID: id(9), StreamID: "s", Status: "pending"}), store.ErrNotFound)
	})
}
