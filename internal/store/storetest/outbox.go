package storetest

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/vigil-idp/vigil/internal/store"
)

func event(n int) store.OutboxEvent {
	return store.OutboxEvent{
		ID: fmt.Sprintf("evt-%d", n), Type: "https://schemas.openid.net/secevent/caep/event-type/session-revoked",
		UserID: id(1), SessionID: id(10), Payload: []byte(`{"n":` + fmt.Sprint(n) + `}`), CreatedAt: at(time.Duration(n) * time.Second),
	}
}

// readAll lists the outbox from after until it has no more, in pages of
// limit.
func readAll(t *testing.T, s store.Store, after int64, limit int) []store.OutboxEvent {
	t.Helper()
	var out []store.OutboxEvent
	for {
		page, err := s.ListOutbox(ctx, after, limit)
		ok(t, err)
		if len(page) > limit {
			t.Fatalf("ListOutbox returned %d events with limit %d", len(page), limit)
		}
		if len(page) == 0 {
			return out
		}
		out = append(out, page...)
		after = page[len(page)-1].Seq
	}
}

func testOutbox(t *testing.T, newStore func(t *testing.T) store.Store) {
	t.Run("AppendAndList", func(t *testing.T) {
		s := newStore(t)
		last, err := s.LastOutboxSeq(ctx)
		ok(t, err)
		if last != 0 {
			t.Fatalf("LastOutboxSeq of an empty outbox = %d", last)
		}
		bare := store.OutboxEvent{ID: "evt-bare", Type: "backchannel-logout", CreatedAt: t0}
		seqs1, err := s.AppendOutbox(ctx, event(1), event(2), bare)
		ok(t, err)
		var seqs2 []int64
		ok(t, s.InTx(ctx, func(tx store.Tx) error {
			a, err := tx.AppendOutbox(ctx, event(3))
			if err != nil {
				return err
			}
			b, err := tx.AppendOutbox(ctx, event(4), event(5))
			seqs2 = append(a, b...)
			return err
		}))
		seqs := append(seqs1, seqs2...)
		if !slices.IsSorted(seqs) || slices.Compact(slices.Clone(seqs))[0] <= 0 || len(slices.Compact(slices.Clone(seqs))) != 6 {
			t.Fatalf("sequence numbers %v: want positive and strictly increasing", seqs)
		}
		seqs3, err := s.AppendOutbox(ctx)
		ok(t, err)
		if len(seqs3) != 0 {
			t.Fatalf("AppendOutbox() = %v", seqs3)
		}

		want := []store.OutboxEvent{event(1), event(2), bare, event(3), event(4), event(5)}
		for i := range want {
			want[i].Seq = seqs[i]
		}
		same(t, "everything in pages of 4", readAll(t, s, 0, 4), want)
		same(t, "after the third", readAll(t, s, seqs[2], 100), want[3:])
		page, err := s.ListOutbox(ctx, seqs[5], 10)
		ok(t, err)
		if len(page) != 0 {
			t.Fatalf("events after the last: %v", page)
		}
		last, err = s.LastOutboxSeq(ctx)
		ok(t, err)
		if last != seqs[5] {
			t.Fatalf("LastOutboxSeq = %d, want %d", last, seqs[5])
		}
	})

	t.Run("SeqBefore", func(t *testing.T) {
		s := newStore(t)
		before := func(q store.Outbox, d time.Duration) int64 {
			t.Helper()
			seq, err := q.OutboxSeqBefore(ctx, at(d))
			ok(t, err)
			return seq
		}
		if got := before(s, time.Hour); got != 0 {
			t.Fatalf("OutboxSeqBefore of an empty outbox = %d", got)
		}
		seqs, err := s.AppendOutbox(ctx, event(1), event(2), event(3), event(4), event(5))
		ok(t, err)
		for _, c := range []struct {
			d    time.Duration
			want int64
		}{
			{0, 0},
			{time.Second, 0}, // event 1 was created at 1 s: not before
			{time.Second + time.Microsecond, seqs[0]},
			{3 * time.Second, seqs[1]},
			{3*time.Second + time.Millisecond, seqs[2]},
			{time.Hour, seqs[4]},
		} {
			if got := before(s, c.d); got != c.want {
				t.Errorf("OutboxSeqBefore(t0+%v) = %d, want %d", c.d, got, c.want)
			}
		}
		ok(t, s.InTx(ctx, func(tx store.Tx) error {
			if got := before(tx, 3*time.Second); got != seqs[1] {
				t.Errorf("in a transaction: OutboxSeqBefore(t0+3s) = %d, want %d", got, seqs[1])
			}
			return nil
		}))
		same(t, "events from t0+3s", readAll(t, s, before(s, 3*time.Second), 10)[0].ID, "evt-3")
	})

	t.Run("Purge", func(t *testing.T) {
		s := newStore(t)
		seqs, err := s.AppendOutbox(ctx, event(3600), event(7200), event(10800), event(14400), event(18000))
		ok(t, err)
		purge := func(before time.Duration, limit int) int {
			t.Helper()
			n, err := s.PurgeOutbox(ctx, at(before), limit)
			ok(t, err)
			return n
		}
		if n := purge(10*time.Hour, 10); n != 0 {
			t.Fatalf("purged %d events no consumer has read (no cursor)", n)
		}
		ok(t, s.AdvanceCursor(ctx, "a", 0, seqs[3]))
		ok(t, s.AdvanceCursor(ctx, "b", 0, seqs[2])) // the slowest consumer
		if n := purge(4*time.Hour+30*time.Minute, 1); n != 1 {
			t.Fatalf("purge with limit 1 = %d", n)
		}
		if n := purge(4*time.Hour+30*time.Minute, 10); n != 2 {
			t.Fatalf("purge = %d, want 2 more (seq ≤ the slowest cursor; the fourth is older but unread by b)", n)
		}
		same(t, "what is left", ids(readAll(t, s, 0, 10), func(e store.OutboxEvent) string { return e.ID }), []string{"evt-14400", "evt-18000"})
		last, err := s.LastOutboxSeq(ctx)
		ok(t, err)
		if last != seqs[4] {
			t.Fatalf("LastOutboxSeq after a purge = %d, want %d", last, seqs[4])
		}
	})

	t.Run("RolledBackAppendsNothing", func(t *testing.T) {
		s := newStore(t)
		err := s.InTx(ctx, func(tx store.Tx) error {
			if _, err := tx.AppendOutbox(ctx, event(1)); err != nil {
				return err
			}
			return errStop
		})
		isErr(t, "InTx", err, errStop)
		seqs, err := s.AppendOutbox(ctx, event(2))
		ok(t, err)
		got := readAll(t, s, 0, 10)
		if len(got) != 1 || got[0].ID != "evt-2" || got[0].Seq != seqs[0] {
			t.Fatalf("outbox after a rolled-back append: %+v", got)
		}
	})

	t.Run("HiddenBehindOpenTransaction", func(t *testing.T) {
		// A transaction that appended first and is still open hides what a
		// later one appended and committed: its own, smaller Seq may still
		// appear. (With one writer at a time the later append simply waits.)
		s := newStore(t)
		appended, release, done := make(chan int64, 1), make(chan struct{}), make(chan error, 1)
		var releaseOnce sync.Once
		defer releaseOnce.Do(func() { close(release) }) // on failure too, so the store can close
		go func() {
			done <- s.InTx(ctx, func(tx store.Tx) error {
				seqs, err := tx.AppendOutbox(ctx, event(1))
				if err != nil {
					return err
				}
				appended <- seqs[0]
				<-release
				return nil
			})
		}()
		var first int64
		select {
		case first = <-appended:
		case err := <-done:
			t.Fatalf("first transaction: %v", err)
		}
		later := make(chan []int64, 1)
		go func() {
			seqs, err := s.AppendOutbox(ctx, event(2))
			if err != nil {
				t.Error(err)
			}
			later <- seqs
		}()
		var second []int64
		select { // where writers overlap, the second commits while the first is open
		case second = <-later:
		case <-time.After(300 * time.Millisecond):
		}
		if got := readAll(t, s, 0, 10); len(got) != 0 {
			t.Fatalf("events visible while an earlier appender is open: %+v", got)
		}
		releaseOnce.Do(func() { close(release) })
		ok(t, <-done)
		if second == nil {
			second = <-later
		}
		got := readAll(t, s, 0, 10)
		if len(got) != 2 || got[0].Seq != first || got[1].Seq != second[0] || first >= second[0] {
			t.Fatalf("after both committed: %+v (seqs %d, %v)", got, first, second)
		}
	})

	t.Run("ConcurrentAppendersNeverSkipped", func(t *testing.T) {
		// Appenders commit in random order (random pauses inside their
		// transactions) while a reader follows the outbox by Seq: it must
		// see every committed event exactly once, in Seq order. A store
		// whose Seq order differs from visibility order fails this.
		s := newStore(t)
		const workers, per = 6, 15
		var mu sync.Mutex
		var committed []int64
		stop := make(chan struct{})
		var seen []int64
		readerDone := make(chan error, 1)
		go func() {
			var after int64
			stopping := false
			for {
				page, err := s.ListOutbox(ctx, after, 7)
				if err != nil {
					readerDone <- err
					return
				}
				for _, e := range page {
					seen = append(seen, e.Seq)
					after = e.Seq
				}
				if len(page) > 0 {
					continue
				}
				if stopping {
					// An empty page read after stop: everything
					// committed before stop has been seen.
					readerDone <- nil
					return
				}
				select {
				case <-stop:
					stopping = true // one more read: the last commit may be newer than that page
				default:
					time.Sleep(200 * time.Microsecond)
				}
			}
		}()
		parallel(t, workers, per, func(w, i int) error {
			var seqs []int64
			err := s.InTx(ctx, func(tx store.Tx) error {
				var err error
				evs := []store.OutboxEvent{event(1000 + w*per + i)}
				if i%3 == 0 {
					evs = append(evs, event(5000+w*per+i))
				}
				if seqs, err = tx.AppendOutbox(ctx, evs...); err != nil {
					return err
				}
				time.Sleep(time.Duration(rand.N(3000)) * time.Microsecond)
				if i%7 == 6 {
					return errStop // rolled back: its seqs never appear
				}
				return nil
			})
			if errors.Is(err, errStop) {
				return nil
			}
			mu.Lock()
			committed = append(committed, seqs...)
			mu.Unlock()
			return err
		})
		// Let the reader drain what was committed, then stop it.
		for range 2000 {
			last, err := s.LastOutboxSeq(ctx)
			ok(t, err)
			if last == slices.Max(committed) {
				break
			}
			time.Sleep(time.Millisecond)
		}
		close(stop)
		ok(t, <-readerDone)
		slices.Sort(committed)
		if !slices.Equal(seen, committed) {
			t.Fatalf("the reader saw %d events, %d committed; first difference at %d", len(seen), len(committed), firstDiff(seen, committed))
		}
	})
}

func firstDiff(a, b []int64) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

func testCursors(t *testing.T, newStore func(t *testing.T) store.Store) {
	s := newStore(t)
	pos, err := s.GetCursor(ctx, "ssf:a")
	ok(t, err)
	if pos != 0 {
		t.Fatalf("unset cursor at %d", pos)
	}
	isErr(t, "advance an unset cursor from 5", s.AdvanceCursor(ctx, "ssf:a", 5, 9), store.ErrConflict)
	ok(t, s.AdvanceCursor(ctx, "ssf:a", 0, 10))
	isErr(t, "advance from a stale position", s.AdvanceCursor(ctx, "ssf:a", 0, 12), store.ErrConflict)
	ok(t, s.AdvanceCursor(ctx, "ssf:a", 10, 20))
	ok(t, s.InTx(ctx, func(tx store.Tx) error { return tx.AdvanceCursor(ctx, "ssf:b", 0, 3) }))
	for name, want := range map[string]int64{"ssf:a": 20, "ssf:b": 3} {
		pos, err := s.GetCursor(ctx, name)
		ok(t, err)
		if pos != want {
			t.Errorf("cursor %s at %d, want %d", name, pos, want)
		}
	}

	// Nodes racing to advance one cursor: every step is won exactly once,
	// so the cursor ends at the number of steps taken.
	const workers, steps = 8, 40
	var mu sync.Mutex
	wins := 0
	parallel(t, workers, steps, func(_, _ int) error {
		from, err := s.GetCursor(ctx, "race")
		if err != nil {
			return err
		}
		err = s.AdvanceCursor(ctx, "race", from, from+1)
		if errors.Is(err, store.ErrConflict) {
			return nil
		}
		mu.Lock()
		wins++
		mu.Unlock()
		return err
	})
	pos, err = s.GetCursor(ctx, "race")
	ok(t, err)
	if pos != int64(wins) || wins == 0 {
		t.Fatalf("cursor at %d after %d successful advances", pos, wins)
	}
}
