package sqlstore_test

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/vigil-idp/vigil/internal/store"
	"github.com/vigil-idp/vigil/internal/store/sqlstore"
	"github.com/vigil-idp/vigil/internal/store/sqlstore/sqltest"
)

// slowPoll makes sure a waiter that wakes up in time was woken, not polled.
var slowPoll = sqlstore.WithOutboxPollInterval(time.Hour)

func outboxEvent(id string) store.OutboxEvent {
	return store.OutboxEvent{ID: id, Type: "test", UserID: "u", CreatedAt: time.Now()}
}

// waitAsync runs WaitOutbox(after) in the background.
func waitAsync(ctx context.Context, s *sqlstore.Store, after int64) <-chan error {
	done := make(chan error, 1)
	go func() { done <- s.WaitOutbox(ctx, after) }()
	return done
}

func expectWake(t *testing.T, done <-chan error, within time.Duration) {
	t.Helper()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("WaitOutbox: %v", err)
		}
	case <-time.After(within):
		t.Fatalf("WaitOutbox still waiting after %v", within)
	}
}

func TestWaitOutboxInProcess(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, s *sqlstore.Store) {
		c, cancel := context.WithCancel(ctx)
		defer cancel()
		done := waitAsync(c, s, 0)
		time.Sleep(20 * time.Millisecond) // let it subscribe and find nothing
		seqs, err := s.AppendOutbox(ctx, outboxEvent("e1"))
		if err != nil {
			t.Fatal(err)
		}
		expectWake(t, done, 5*time.Second)

		// Already past: returns at once. An InTx append wakes too.
		expectWake(t, waitAsync(c, s, 0), 5*time.Second)
		done = waitAsync(c, s, seqs[0])
		time.Sleep(20 * time.Millisecond)
		if err := s.InTx(ctx, func(tx store.Tx) error {
			_, err := tx.AppendOutbox(ctx, outboxEvent("e2"))
			return err
		}); err != nil {
			t.Fatal(err)
		}
		expectWake(t, done, 5*time.Second)

		// A rolled-back append wakes nobody; the context ends the wait.
		last, err := s.LastOutboxSeq(ctx)
		if err != nil {
			t.Fatal(err)
		}
		short, stop := context.WithTimeout(ctx, 200*time.Millisecond)
		defer stop()
		done = waitAsync(short, s, last)
		_ = s.InTx(ctx, func(tx store.Tx) error {
			if _, err := tx.AppendOutbox(ctx, outboxEvent("e3")); err != nil {
				return err
			}
			return errors.New("roll back")
		})
		if err := <-done; !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("WaitOutbox after a rolled-back append: %v, want the deadline", err)
		}
	}, slowPoll)
}

func TestWaitOutboxPolls(t *testing.T) {
	// Without notifications (another process on the same SQLite file
	// cannot broadcast to this one), the poll finds the event.
	dsn := "sqlite://" + t.TempDir() + "/v.db"
	a, err := sqlstore.Open(ctx, dsn, quiet, sqlstore.WithOutboxPollInterval(20*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := sqlstore.Open(ctx, dsn, quiet)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	done := waitAsync(ctx, a, 0)
	if _, err := b.AppendOutbox(ctx, outboxEvent("e1")); err != nil {
		t.Fatal(err)
	}
	expectWake(t, done, 5*time.Second)
}

// TestWaitOutboxAcrossNodes has two stores on one PostgreSQL schema: an
// append on one wakes a waiter on the other through LISTEN/NOTIFY, also
// after the listener's connection was killed.
func TestWaitOutboxAcrossNodes(t *testing.T) {
	dsn := sqltest.PostgresDSN(t)
	open := func() *sqlstore.Store {
		s, err := sqlstore.Open(ctx, dsn, quiet, slowPoll, sqlstore.WithMaxOpenConns(4))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
	a, b := open(), open()
	admin, err := sql.Open("pgx", os.Getenv(sqltest.EnvPostgresDSN))
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	// listener returns the pid of b's listening connection once it listens.
	listener := func(not int) int {
		t.Helper()
		for range 500 {
			var pid int
			err := admin.QueryRowContext(ctx, `SELECT pid FROM pg_stat_activity
				WHERE application_name = 'vigil-outbox-listener' AND query LIKE '%' || $1 || '%' AND pid <> $2`,
				b.OutboxChannel(), not).Scan(&pid)
			if err == nil {
				return pid
			}
			if !errors.Is(err, sql.ErrNoRows) {
				t.Fatal(err)
			}
			time.Sleep(10 * time.Millisecond)
		}
		t.Fatal("b's outbox listener never started listening")
		return 0
	}

	c, cancel := context.WithCancel(ctx)
	defer cancel()
	done := waitAsync(c, b, 0)
	pid := listener(0)
	if _, err := a.AppendOutbox(ctx, outboxEvent("e1")); err != nil {
		t.Fatal(err)
	}
	expectWake(t, done, 10*time.Second)

	if _, err := admin.ExecContext(ctx, "SELECT pg_terminate_backend($1)", pid); err != nil {
		t.Fatal(err)
	}
	listener(pid) // reconnected
	last, err := b.LastOutboxSeq(ctx)
	if err != nil {
		t.Fatal(err)
	}
	done = waitAsync(c, b, last)
	time.Sleep(20 * time.Millisecond)
	if err := a.InTx(ctx, func(tx store.Tx) error {
		_, err := tx.AppendOutbox(ctx, outboxEvent("e2"), outboxEvent("e3"))
		return err
	}); err != nil {
		t.Fatal(err)
	}
	expectWake(t, done, 10*time.Second)
}
