package storetest

import (
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/vigil-idp/vigil/internal/store"
)

func testTransactions(t *testing.T, newStore func(t *testing.T) store.Store) {
	t.Run("Commit", func(t *testing.T) {
		s := newStore(t)
		err := s.InTx(ctx, func(tx store.Tx) error {
			if err := tx.CreateUser(ctx, minimalUser(1, "a@example.com")); err != nil {
				return err
			}
			if err := tx.CreateGroup(ctx, minimalGroup(2, "g")); err != nil {
				return err
			}
			// The transaction reads its own writes.
			if _, err := tx.GetUserByUPN(ctx, "A@example.com"); err != nil {
				return fmt.Errorf("read own write: %w", err)
			}
			return tx.AddMember(ctx, id(2), id(1), store.KindUser)
		})
		ok(t, err)
		sameIDs(t, "members after commit", members(t, s, 2, false), idList(1))
	})

	t.Run("RollbackOnError", func(t *testing.T) {
		s := newStore(t)
		ok(t, s.CreateUser(ctx, minimalUser(1, "a@example.com")))
		err := s.InTx(ctx, func(tx store.Tx) error {
			if err := tx.CreateUser(ctx, minimalUser(2, "b@example.com")); err != nil {
				return err
			}
			if _, err := tx.UpdateUser(ctx, id(1), func(u store.User) (store.User, error) {
				u.DisplayName = "changed"
				return u, nil
			}); err != nil {
				return err
			}
			return errStop
		})
		if !errors.Is(err, errStop) {
			t.Fatalf("InTx returned %v, want fn's error", err)
		}
		_, err = s.GetUser(ctx, id(2))
		isErr(t, "user created in a rolled-back transaction", err, store.ErrNotFound)
		got, err := s.GetUser(ctx, id(1))
		ok(t, err)
		same(t, "user updated in a rolled-back transaction", got, minimalUser(1, "a@example.com"))
	})

	t.Run("FailureHalfway", func(t *testing.T) {
		s := newStore(t)
		ok(t, s.CreateUser(ctx, minimalUser(1, "a@example.com")))
		err := s.InTx(ctx, func(tx store.Tx) error {
			if err := tx.CreateUser(ctx, minimalUser(2, "b@example.com")); err != nil {
				return err
			}
			return tx.CreateUser(ctx, minimalUser(3, "A@EXAMPLE.COM")) // conflicts
		})
		isErr(t, "InTx", err, store.ErrConflict)
		n, err := s.CountUsers(ctx, store.Query{})
		ok(t, err)
		if n != 1 {
			t.Fatalf("%d users after a failed transaction, want 1", n)
		}
	})

	t.Run("PanicRollsBack", func(t *testing.T) {
		s := newStore(t)
		func() {
			defer func() {
				if recover() == nil {
					t.Error("panic in fn was swallowed")
				}
			}()
			_ = s.InTx(ctx, func(tx store.Tx) error {
				ok(t, tx.CreateUser(ctx, minimalUser(1, "a@example.com")))
				panic("boom")
			})
		}()
		_, err := s.GetUser(ctx, id(1))
		isErr(t, "user from a panicked transaction", err, store.ErrNotFound)
		// The store is still usable for writes.
		ok(t, s.CreateUser(ctx, minimalUser(2, "b@example.com")))
	})
}

// counter reads the number kept in a user's JobTitle.
func counter(t *testing.T, u store.User) int {
	t.Helper()
	if u.JobTitle == nil {
		return 0
	}
	n, err := strconv.Atoi(*u.JobTitle)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func bump(u store.User) (store.User, error) {
	n := 0
	if u.JobTitle != nil {
		var err error
		if n, err = strconv.Atoi(*u.JobTitle); err != nil {
			return u, err
		}
	}
	u.JobTitle = ptr(strconv.Itoa(n + 1))
	return u, nil
}

// parallel runs fn(worker, i) for n workers × per iterations, reporting
// errors on t.
func parallel(t *testing.T, n, per int, fn func(w, i int) error) {
	t.Helper()
	var wg sync.WaitGroup
	for w := range n {
		wg.Go(func() {
			for i := range per {
				if err := fn(w, i); err != nil {
					t.Errorf("worker %d, step %d: %v", w, i, err)
					return
				}
			}
		})
	}
	wg.Wait()
}

// exactlyOnce runs try from 16 workers at once and fails t unless exactly
// one succeeds and the others get ErrConflict (what says whose attempts,
// for the message). try may refine what counts as the conflict it expects
// by returning another error.
func exactlyOnce(t *testing.T, what string, try func(w int) error) {
	t.Helper()
	const n = 16
	var wins, conflicts atomic.Int32
	parallel(t, n, 1, func(w, _ int) error {
		switch err := try(w); {
		case err == nil:
			wins.Add(1)
		case errors.Is(err, store.ErrConflict):
			conflicts.Add(1)
		default:
			return err
		}
		return nil
	})
	if wins.Load() != 1 || conflicts.Load() != n-1 {
		t.Fatalf("%d successes and %d conflicts among %d %s", wins.Load(), conflicts.Load(), n, what)
	}
}

func testConcurrency(t *testing.T, newStore func(t *testing.T) store.Store) {
	const workers = 16

	t.Run("Creates", func(t *testing.T) {
		s := newStore(t)
		const per = 20
		parallel(t, workers, per, func(w, i int) error {
			n := 1 + w*per + i
			return s.CreateUser(ctx, minimalUser(n, fmt.Sprintf("user%d@example.com", n)))
		})
		n, err := s.CountUsers(ctx, store.Query{})
		ok(t, err)
		if n != workers*per {
			t.Fatalf("%d users, want %d", n, workers*per)
		}
	})

	t.Run("SameUPN", func(t *testing.T) {
		s := newStore(t)
		var mu sync.Mutex
		created := 0
		parallel(t, workers, 1, func(w, _ int) error {
			err := s.CreateUser(ctx, minimalUser(w+1, fmt.Sprintf("SAME%d@example.com", w%2)))
			if errors.Is(err, store.ErrConflict) {
				return nil
			}
			mu.Lock()
			created++
			mu.Unlock()
			return err
		})
		if created != 2 {
			t.Fatalf("%d users created for two UPNs", created)
		}
	})

	t.Run("UpdateLosesNothing", func(t *testing.T) {
		s := newStore(t)
		ok(t, s.CreateUser(ctx, minimalUser(1, "hot@example.com")))
		const per = 10
		parallel(t, workers, per, func(_, _ int) error {
			_, err := s.UpdateUser(ctx, id(1), bump)
			return err
		})
		u, err := s.GetUser(ctx, id(1))
		ok(t, err)
		if got := counter(t, u); got != workers*per {
			t.Fatalf("counter = %d after %d increments", got, workers*per)
		}
	})

	t.Run("InTxLosesNothing", func(t *testing.T) {
		s := newStore(t)
		ok(t, s.CreateUser(ctx, minimalUser(1, "hot@example.com")))
		ok(t, s.CreateUser(ctx, minimalUser(2, "log@example.com")))
		const txWorkers, per = 8, 5
		parallel(t, txWorkers, per, func(_, _ int) error {
			return s.InTx(ctx, func(tx store.Tx) error {
				// Read one row, write another based on it: the shape of
				// check-then-act code.
				hot, err := tx.GetUser(ctx, id(1))
				if err != nil {
					return err
				}
				if _, err := tx.UpdateUser(ctx, id(1), bump); err != nil {
					return err
				}
				_, err = tx.UpdateUser(ctx, id(2), func(u store.User) (store.User, error) {
					u.DisplayName = strconv.Itoa(counter(t, hot) + 1)
					return u, nil
				})
				return err
			})
		})
		hot, err := s.GetUser(ctx, id(1))
		ok(t, err)
		log, err := s.GetUser(ctx, id(2))
		ok(t, err)
		if got := counter(t, hot); got != txWorkers*per || log.DisplayName != strconv.Itoa(got) {
			t.Fatalf("counter = %d, last seen %s, after %d transactions", got, log.DisplayName, txWorkers*per)
		}
	})
}
