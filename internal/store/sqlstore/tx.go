package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/vigil-idp/vigil/internal/store"
)

// querier is what *sql.DB and *sql.Tx have in common.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// txn implements store.Tx. Inside InTx, tx is the open transaction and
// every method runs in it. At the Store level tx is nil: reads go to the
// read pool, and each write runs in a transaction of its own (in
// PostgreSQL a single-statement write is simply autocommitted).
type txn struct {
	s  *Store
	tx querier

	// appended is set once the transaction has appended to the outbox: it
	// holds the PostgreSQL outbox lock, has sent the notification, and
	// broadcasts in-process after it commits (outbox.go, notify.go).
	appended bool
	// created lists the revocations this transaction created, which
	// AddRevocationResults need not look up.
	created []string
	// touchedLookups is set once the transaction has written to the
	// tables the lookup cache reads (lookupcache.go).
	touchedLookups bool
}

// rq is where reads go.
func (t *txn) rq() querier {
	if t.tx != nil {
		return t.tx
	}
	if t.s.rstmts != nil {
		return poolQ{t.s.rstmts}
	}
	return t.s.rdb
}

// exec runs one writing statement.
func (t *txn) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if t.tx != nil {
		return t.tx.ExecContext(ctx, query, args...)
	}
	var res sql.Result
	run := func(q querier) (err error) {
		res, err = q.ExecContext(ctx, query, args...)
		return err
	}
	if t.s.batch != nil {
		return res, t.s.batch.do(ctx, run)
	}
	return res, t.s.retry(ctx, func() error { return run(t.s.wdb) })
}

// write runs fn in t's transaction, or at the Store level in a new write
// transaction (which may run fn again after a serialization failure).
func (t *txn) write(ctx context.Context, fn func(q querier) error) error {
	if t.tx != nil {
		return fn(t.tx)
	}
	return t.s.transact(ctx, t.s.d.writeTx, fn)
}

// InTx runs fn in one transaction, committed durably (SQLite syncs its
// WAL, PostgreSQL its commit record) before InTx returns nil, and rolled
// back when fn returns an error, which InTx returns unchanged (a panic in
// fn rolls back too and is re-raised).
//
// In PostgreSQL the transaction is SERIALIZABLE and is run again, up to
// WithMaxAttempts times with a short jittered pause, after a serialization
// failure or deadlock, so fn must be safe to repeat. In SQLite
// transactions never overlap (one write connection, BEGIN IMMEDIATE), so
// they are serializable by construction; concurrent ones share a group
// commit (see batch.go), which runs fn again when another transaction of
// its group fails.
//
// fn must do all its work through tx: calling the Store's own write methods
// from inside fn deadlocks in SQLite (they wait for the transaction fn is
// in) and runs outside the transaction in PostgreSQL.
func (s *Store) InTx(ctx context.Context, fn func(tx store.Tx) error) error {
	var last *txn // the run that committed, when InTx returns nil
	touched := false
	err := s.transact(ctx, s.d.inTx, func(q querier) error {
		last = &txn{s: s, tx: q}
		err := fn(last)
		touched = touched || last.touchedLookups
		return err
	})
	if touched {
		// Committed or not: a spurious invalidation costs a few reads.
		s.lookups.invalidate()
	}
	if err == nil && last.appended {
		s.hub.broadcast()
	}
	return err
}

// transact runs fn in a write transaction: batched in SQLite; in
// PostgreSQL on a pooled connection, retried when the database asks for it.
func (s *Store) transact(ctx context.Context, opts *sql.TxOptions, fn func(q querier) error) error {
	if s.batch != nil {
		return s.batch.do(ctx, fn)
	}
	return s.retry(ctx, func() (err error) {
		tx, err := s.wdb.BeginTx(ctx, opts)
		if err != nil {
			return fmt.Errorf("sqlstore: begin: %w", err)
		}
		defer func() {
			if p := recover(); p != nil {
				tx.Rollback()
				panic(p)
			}
		}()
		if err := fn(tx); err != nil {
			tx.Rollback()
			return err
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("sqlstore: commit: %w", err)
		}
		return nil
	})
}

// retry runs f until it succeeds, fails for a reason other than a
// serialization failure or deadlock, or has run s.attempts times.
func (s *Store) retry(ctx context.Context, f func() error) error {
	for attempt := 1; ; attempt++ {
		err := f()
		if err == nil || attempt >= s.attempts || s.d.code(err) != errRetry {
			return err
		}
		// Full jitter on an exponential base (1 ms, 2 ms, … ≤ 64 ms), which
		// spreads a herd of writers that collided on one row.
		base := min(time.Millisecond<<(attempt-1), 64*time.Millisecond)
		pause := rand.N(base) + 100*time.Microsecond
		s.log.Debug("sqlstore: retrying transaction", "attempt", attempt, "pause", pause, "err", err)
		t := time.NewTimer(pause)
		select {
		case <-ctx.Done():
			t.Stop()
			return err
		case <-t.C:
		}
	}
}

// classify wraps err from a write for op: unique violations become
// store.ErrConflict and foreign key violations store.ErrNotFound (the
// referenced group, user or principal does not exist); the driver error
// stays in the chain.
func (t *txn) classify(op string, err error) error {
	switch t.s.d.code(err) {
	case errUnique:
		return fmt.Errorf("sqlstore: %s: %w: %w", op, store.ErrConflict, err)
	case errForeignKey:
		return fmt.Errorf("sqlstore: %s: %w: %w", op, store.ErrNotFound, err)
	}
	return fmt.Errorf("sqlstore: %s: %w", op, err)
}

// affected turns a write that changed no row into store.ErrNotFound.
func affected(op string, res sql.Result, err error) error {
	return changedOr(op, res, err, store.ErrNotFound)
}

// changedOr turns a write that changed no row into none (wrapped with op):
// store.ErrNotFound, or store.ErrConflict for a refused compare-and-set.
func changedOr(op string, res sql.Result, err, none error) error {
	if err != nil {
		return fmt.Errorf("sqlstore: %s: %w", op, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("sqlstore: %s: %w", op, err)
	}
	if n == 0 {
		return fmt.Errorf("sqlstore: %s: %w", op, none)
	}
	return nil
}

// notFound maps sql.ErrNoRows to store.ErrNotFound.
func notFound(op string, err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("sqlstore: %s: %w", op, store.ErrNotFound)
	}
	return fmt.Errorf("sqlstore: %s: %w", op, err)
}
