package storetest

import (
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/vigil-idp/vigil/internal/store"
)

func deliveryID(d store.Delivery) string { return d.ID }

func delivery(n int, queue, key string) store.Delivery {
	return store.Delivery{
		ID: fmt.Sprintf("d%03d", n), Queue: queue, Key: key, EventSeq: int64(n), Payload: []byte("token"),
		NextAttemptAt: t0, CreatedAt: at(time.Duration(n) * time.Second),
	}
}

func claimIDs(t *testing.T, s store.Store, queue string, now time.Time, limit int) []string {
	t.Helper()
	ds, err := s.ClaimDeliveries(ctx, queue, now, time.Minute, limit)
	ok(t, err)
	for _, d := range ds {
		if d.LeaseUntil == nil || !d.LeaseUntil.Equal(stored(now.Add(time.Minute))) {
			t.Fatalf("claimed %s with lease %v", d.ID, d.LeaseUntil)
		}
	}
	return ids(ds, deliveryID)
}

func testDeliveries(t *testing.T, newStore func(t *testing.T) store.Store) {
	t.Run("Lifecycle", func(t *testing.T) {
		s := newStore(t)
		// Enqueued out of id order: claims follow enqueue order.
		ok(t, s.EnqueueDeliveries(ctx, delivery(3, "q", ""), delivery(1, "q", "alice"), delivery(2, "q", "alice"),
			delivery(4, "q", "bob"), delivery(5, "other", "")))
		later := delivery(6, "q", "")
		later.NextAttemptAt = at(time.Hour)
		ok(t, s.InTx(ctx, func(tx store.Tx) error { return tx.EnqueueDeliveries(ctx, later) }))
		isErr(t, "duplicate id", s.EnqueueDeliveries(ctx, delivery(1, "q", "")), store.ErrConflict)

		// alice's second waits for her first; 6 is not due yet.
		sameIDs(t, "first claim", claimIDs(t, s, "q", t0, 10), []string{"d003", "d001", "d004"})
		sameIDs(t, "everything leased", claimIDs(t, s, "q", at(time.Second), 10), nil)
		ok(t, s.CompleteDelivery(ctx, "d001", at(2*time.Second)))
		sameIDs(t, "alice's next", claimIDs(t, s, "q", at(3*time.Second), 10), []string{"d002"})

		// A failed attempt is retried when due; bob's lease runs out.
		ok(t, s.CompleteDelivery(ctx, "d003", at(4*time.Second)))
		ok(t, s.FailDelivery(ctx, "d002", at(4*time.Second), at(10*time.Minute), false, "503"))
		sameIDs(t, "bob after his lease ran out", claimIDs(t, s, "q", at(2*time.Minute), 10), []string{"d004"})
		ok(t, s.CompleteDelivery(ctx, "d004", at(3*time.Minute)))
		sameIDs(t, "alice's retry is due, 6 too", claimIDs(t, s, "q", at(2*time.Hour), 10), []string{"d002", "d006"})
		ok(t, s.CompleteDelivery(ctx, "d006", at(2*time.Hour)))
		ok(t, s.FailDelivery(ctx, "d002", at(2*time.Hour), t0, true, "gone"))
		isErr(t, "complete unknown", s.CompleteDelivery(ctx, "nope", t0), store.ErrNotFound)
		isErr(t, "fail unknown", s.FailDelivery(ctx, "nope", t0, t0, false, ""), store.ErrNotFound)

		page, err := s.ListDeliveries(ctx, "q", true, store.Query{})
		ok(t, err)
		dead := delivery(2, "q", "alice")
		dead.Attempts, dead.LastError, dead.NextAttemptAt, dead.DeadAt = 2, "gone", at(10*time.Minute), ptr(at(2*time.Hour))
		same(t, "dead deliveries", page.Items, []store.Delivery{dead})
		all := all(t, 2, func(q store.Query) (store.Page[store.Delivery], error) { return s.ListDeliveries(ctx, "q", false, q) }, store.Query{})
		sameIDs(t, "all of q by id", ids(all, deliveryID), []string{"d001", "d002", "d003", "d004", "d006"})

		ok(t, s.RetryDelivery(ctx, "d002", at(3*time.Hour)))
		isErr(t, "retry a live delivery", s.RetryDelivery(ctx, "d002", at(3*time.Hour)), store.ErrConflict)
		isErr(t, "retry unknown", s.RetryDelivery(ctx, "nope", t0), store.ErrNotFound)
		ds, err := s.ClaimDeliveries(ctx, "q", at(3*time.Hour), time.Minute, 10)
		ok(t, err)
		if len(ds) != 1 || ds[0].ID != "d002" || ds[0].Attempts != 0 || ds[0].DeadAt != nil || ds[0].LastError != "gone" {
			t.Fatalf("claim after retry: %+v", ds)
		}
		sameIDs(t, "other queue", claimIDs(t, s, "other", t0, 10), []string{"d005"})
	})

	t.Run("Purge", func(t *testing.T) {
		s := newStore(t)
		ok(t, s.EnqueueDeliveries(ctx, delivery(1, "q", ""), delivery(2, "q", ""), delivery(3, "q", ""),
			delivery(4, "other", ""), delivery(5, "q", "")))
		ok(t, s.CompleteDelivery(ctx, "d001", at(time.Hour)))
		ok(t, s.CompleteDelivery(ctx, "d002", at(3*time.Hour)))
		ok(t, s.FailDelivery(ctx, "d003", at(time.Hour), at(time.Hour), true, "dead"))
		ok(t, s.CompleteDelivery(ctx, "d004", at(time.Hour)))
		n, err := s.PurgeDeliveries(ctx, at(2*time.Hour), 1)
		ok(t, err)
		if n != 1 {
			t.Fatalf("PurgeDeliveries limit 1 = %d", n)
		}
		n, err = s.PurgeDeliveries(ctx, at(2*time.Hour), 10)
		ok(t, err)
		if n != 1 {
			t.Fatalf("PurgeDeliveries second call = %d, want the other one delivered before 2 h", n)
		}
		all := all(t, 10, func(q store.Query) (store.Page[store.Delivery], error) { return s.ListDeliveries(ctx, "q", false, q) }, store.Query{})
		sameIDs(t, "q after the purge: delivered later, dead and pending stay", ids(all, deliveryID), []string{"d002", "d003", "d005"})
		page, err := s.ListDeliveries(ctx, "other", false, store.Query{})
		ok(t, err)
		if len(page.Items) != 0 {
			t.Fatalf("other queue after the purge: %v", page.Items)
		}
	})

	t.Run("DeadReleasesKey", func(t *testing.T) {
		s := newStore(t)
		ok(t, s.EnqueueDeliveries(ctx, delivery(1, "q", "k"), delivery(2, "q", "k")))
		sameIDs(t, "first of k", claimIDs(t, s, "q", t0, 10), []string{"d001"})
		ok(t, s.FailDelivery(ctx, "d001", t0, t0, true, "dead"))
		sameIDs(t, "second of k after the first died", claimIDs(t, s, "q", t0, 10), []string{"d002"})
	})

	t.Run("ConcurrentClaimers", func(t *testing.T) {
		// Claimers race over one queue; each claims, completes what it got
		// and checks that no key is held twice at once. Every delivery must
		// be claimed exactly once.
		s := newStore(t)
		const n, keys = 120, 10
		var ds []store.Delivery
		for i := range n {
			key := fmt.Sprintf("k%d", i%keys)
			if i%4 == 0 {
				key = ""
			}
			ds = append(ds, delivery(i, "q", key))
		}
		ok(t, s.EnqueueDeliveries(ctx, ds...))
		var mu sync.Mutex
		claims := map[string]int{}
		inFlight := map[string]bool{}
		var order []string
		parallel(t, 8, 40, func(w, _ int) error {
			got, err := s.ClaimDeliveries(ctx, "q", at(time.Second), time.Hour, 3)
			if err != nil {
				return err
			}
			mu.Lock()
			for _, d := range got {
				claims[d.ID]++
				if d.Key != "" && inFlight[d.Key] {
					mu.Unlock()
					return fmt.Errorf("key %s claimed twice at once (%s)", d.Key, d.ID)
				}
				inFlight[d.Key] = d.Key != ""
				order = append(order, d.ID)
			}
			mu.Unlock()
			for _, d := range got {
				mu.Lock()
				inFlight[d.Key] = false
				mu.Unlock()
				if err := s.CompleteDelivery(ctx, d.ID, at(2*time.Second)); err != nil {
					return err
				}
			}
			return nil
		})
		// Whatever the racers left is claimable now.
		for {
			rest := claimIDs(t, s, "q", at(time.Second), 50)
			if len(rest) == 0 {
				break
			}
			for _, id := range rest {
				claims[id]++
				order = append(order, id)
				ok(t, s.CompleteDelivery(ctx, id, at(3*time.Second)))
			}
		}
		for _, d := range ds {
			if claims[d.ID] != 1 {
				t.Errorf("%s claimed %d times", d.ID, claims[d.ID])
			}
		}
		// Per key, deliveries went out in enqueue order.
		pos := map[string]int{}
		for i, id := range order {
			pos[id] = i
		}
		for k := range keys {
			var seq []int
			for i := k; i < n; i += keys {
				if i%4 != 0 {
					seq = append(seq, pos[fmt.Sprintf("d%03d", i)])
				}
			}
			if !slices.IsSorted(seq) {
				t.Errorf("key k%d went out of order: positions %v", k, seq)
			}
		}
	})
}
