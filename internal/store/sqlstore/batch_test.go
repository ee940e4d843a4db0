package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/vigil-idp/vigil/internal/store"
)

func testStore(t *testing.T) *Store {
	t.Helper()
	s, err := Open(context.Background(), "sqlite://"+filepath.Join(t.TempDir(), "vigil.db"),
		WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// queueBehind starts a transaction that holds the writer until release is
// closed, so that everything queued meanwhile shares the next batch.
func queueBehind(t *testing.T, s *Store) (release chan struct{}, wait func()) {
	t.Helper()
	release, started, finished := make(chan struct{}), make(chan struct{}), make(chan error, 1)
	go func() {
		finished <- s.InTx(context.Background(), func(tx store.Tx) error {
			close(started)
			<-release
			return tx.PutMeta(context.Background(), "blocker", []byte("x"))
		})
	}()
	<-started
	return release, func() {
		if err := <-finished; err != nil {
			t.Errorf("blocking transaction: %v", err)
		}
	}
}

type outcome struct {
	name string
	err  error
	pnc  any
}

// enqueue runs fn as a transaction in its own goroutine and returns how it
// ended; it waits until the transaction is queued.
func enqueue(s *Store, ctx context.Context, name string, fn func(tx store.Tx) error) <-chan outcome {
	out := make(chan outcome, 1)
	go func() {
		o := outcome{name: name}
		defer func() {
			o.pnc = recover()
			out <- o
		}()
		o.err = s.InTx(ctx, fn)
	}()
	return out
}

// waitQueued waits until n transactions wait for the next batch.
func waitQueued(t *testing.T, s *Store, n int) {
	t.Helper()
	for s.batch.queued() < n {
		runtime.Gosched()
	}
}

func TestBatchIsolatesFailures(t *testing.T) {
	s := testStore(t)
	bg := context.Background()
	put := func(key string) func(tx store.Tx) error {
		return func(tx store.Tx) error { return tx.PutMeta(bg, key, []byte(key)) }
	}
	errOwn := errors.New("own failure")
	release, wait := queueBehind(t, s)
	canceled, cancel := context.WithCancel(bg)
	outs := []<-chan outcome{
		enqueue(s, bg, "ok1", put("ok1")),
		enqueue(s, bg, "fails", func(tx store.Tx) error {
			if err := put("fails")(tx); err != nil {
				return err
			}
			return errOwn
		}),
		enqueue(s, bg, "panics", func(tx store.Tx) error {
			if err := put("panics")(tx); err != nil {
				return err
			}
			panic("boom")
		}),
		enqueue(s, bg, "conflict", func(tx store.Tx) error {
			if err := tx.CreateUser(bg, store.User{ID: "u1", UserPrincipalName: "a@x", DisplayName: "a"}); err != nil {
				return err
			}
			return tx.CreateUser(bg, store.User{ID: "u2", UserPrincipalName: "A@X", DisplayName: "b"})
		}),
		enqueue(s, canceled, "canceled", put("canceled")),
		enqueue(s, bg, "ok2", put("ok2")),
	}
	waitQueued(t, s, len(outs))
	cancel()
	close(release)
	wait()
	got := map[string]outcome{}
	for _, o := range outs {
		r := <-o
		got[r.name] = r
	}
	if got["ok1"].err != nil || got["ok2"].err != nil {
		t.Errorf("good transactions failed: %v, %v", got["ok1"].err, got["ok2"].err)
	}
	if !errors.Is(got["fails"].err, errOwn) {
		t.Errorf("failing transaction returned %v", got["fails"].err)
	}
	if got["panics"].pnc != "boom" {
		t.Errorf("panic not re-raised in its goroutine: %v", got["panics"].pnc)
	}
	if !errors.Is(got["conflict"].err, store.ErrConflict) {
		t.Errorf("conflicting transaction returned %v", got["conflict"].err)
	}
	if got["canceled"].err == nil {
		t.Errorf("transaction canceled while queued ran")
	}
	for key, present := range map[string]bool{"ok1": true, "ok2": true, "blocker": true, "fails": false, "panics": false, "canceled": false} {
		_, err := s.GetMeta(bg, key)
		if present != (err == nil) {
			t.Errorf("%s: present %v, GetMeta error %v", key, present, err)
		}
	}
	if _, err := s.GetUser(bg, "u1"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("first write of the conflicting transaction survived: %v", err)
	}
}

// TestBatchAbortFailsEveryone: when the shared transaction itself is lost,
// no member of the batch may be told it committed.
func TestBatchAbortFailsEveryone(t *testing.T) {
	s := testStore(t)
	bg := context.Background()
	release, wait := queueBehind(t, s)
	first := enqueue(s, bg, "first", func(tx store.Tx) error { return tx.PutMeta(bg, "first", nil) })
	waitQueued(t, s, 1)
	saboteur := enqueue(s, bg, "saboteur", func(tx store.Tx) error {
		// What SQLite does by itself on SQLITE_FULL or an I/O error.
		_, err := tx.(*txn).tx.ExecContext(bg, "ROLLBACK")
		return err
	})
	waitQueued(t, s, 2)
	close(release)
	wait()
	for _, o := range []outcome{<-first, <-saboteur} {
		if o.err == nil {
			t.Errorf("%s: reported success in an aborted batch", o.name)
		}
	}
	if _, err := s.GetMeta(bg, "first"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("write of an aborted batch is visible: %v", err)
	}
	// The store recovers.
	if err := s.PutMeta(bg, "after", []byte("x")); err != nil {
		t.Fatal(err)
	}
}

// TestBatchRunsEachWriterOnce: a batch whose writers all succeed runs each
// of them once (no savepoints); when one fails, the others run again, each
// in a savepoint, and still commit exactly once.
func TestBatchRunsEachWriterOnce(t *testing.T) {
	s := testStore(t)
	bg := context.Background()
	for _, failing := range []bool{false, true} {
		runs := make([]int, 4) // written by the writer goroutine only
		release, wait := queueBehind(t, s)
		var outs []<-chan outcome
		for i := range runs {
			key := fmt.Sprintf("once-%v-%d", failing, i)
			outs = append(outs, enqueue(s, bg, key, func(tx store.Tx) error {
				runs[i]++
				if err := tx.PutMeta(bg, key, []byte{byte(runs[i])}); err != nil {
					return err
				}
				if failing && i == 2 {
					return errors.New("fails")
				}
				return nil
			}))
			waitQueued(t, s, i+1)
		}
		close(release)
		wait()
		for i, o := range outs {
			r := <-o
			if (r.err != nil) != (failing && i == 2) {
				t.Fatalf("failing=%v: writer %d returned %v", failing, i, r.err)
			}
		}
		for i, n := range runs {
			want := 1
			if failing && i <= 2 { // up to the failure, then again in savepoints
				want = 2
			}
			if n != want {
				t.Errorf("failing=%v: writer %d ran %d times, want %d", failing, i, n, want)
			}
			v, err := s.GetMeta(bg, fmt.Sprintf("once-%v-%d", failing, i))
			switch {
			case failing && i == 2:
				if !errors.Is(err, store.ErrNotFound) {
					t.Errorf("the failed writer's write is visible: %v", err)
				}
			case err != nil || len(v) != 1 || int(v[0]) != n:
				t.Errorf("failing=%v: writer %d's write = %v, %v (want its last run's)", failing, i, v, err)
			}
		}
	}
}
