package sqlstore

import (
	"context"
	"fmt"
	"hash/fnv"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
)

// Outbox wake-ups. The outbox table is the truth; notifications only say
// "look again", so a missed one delays a reader (until its next poll) and
// never loses an event.
//
//   - In this process, every committed transaction that appended to the
//     outbox broadcasts to the Store's subscribers right after its commit
//     (both dialects).
//   - In PostgreSQL, such a transaction also runs pg_notify on a channel
//     named after the schema; PostgreSQL delivers it at commit, to every
//     node. Each Store keeps one dedicated connection LISTENing (opened on
//     the first subscription), reconnects with backoff when it is lost,
//     and broadcasts once after every (re)connect, since notifications sent
//     meanwhile are gone.
//
// The same connection LISTENs on the lookup cache's channel, which
// triggers notify when applications, secrets, service principals, app role
// assignments, directory role assignments, groups or group memberships
// change (lookupcache.go).
//
// PostgreSQL serializes the commits of notifying transactions (a brief
// lock at commit); outbox appenders are serialized anyway (outbox.go) and
// notify once per transaction.

// outboxHub fans wake-ups out to in-process subscribers.
type outboxHub struct {
	mu   sync.Mutex
	subs map[chan struct{}]struct{}
	// start runs once, on the first subscription (the PostgreSQL
	// listener); nil in SQLite.
	start func()
	once  sync.Once
}

// subscribe returns a channel that receives a value after any later
// broadcast (coalesced: one buffered value), and the function that
// unsubscribes it.
func (h *outboxHub) subscribe() (<-chan struct{}, func()) {
	if h.start != nil {
		h.once.Do(h.start)
	}
	ch := make(chan struct{}, 1)
	h.mu.Lock()
	if h.subs == nil {
		h.subs = map[chan struct{}]struct{}{}
	}
	h.subs[ch] = struct{}{}
	h.mu.Unlock()
	return ch, func() {
		h.mu.Lock()
		delete(h.subs, ch)
		h.mu.Unlock()
	}
}

// broadcast wakes every subscriber without blocking.
func (h *outboxHub) broadcast() {
	h.mu.Lock()
	defer h.mu.Unlock()
	for ch := range h.subs {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
}

// OutboxNotify returns a channel that receives a value whenever the outbox
// may have grown (coalesced: a slow reader finds one value however many
// wake-ups it missed) and the function that stops the subscription. A
// value is a hint, not a promise: the reader lists the outbox from its
// cursor, and polls on a timer as well, since a wake-up can be lost (a
// dropped PostgreSQL connection).
func (s *Store) OutboxNotify() (<-chan struct{}, func()) {
	return s.hub.subscribe()
}

// WaitOutbox blocks until ListOutbox would return an event with Seq >
// after, or ctx ends (it then returns ctx's error). It looks at the outbox
// when woken by a notification and every WithOutboxPollInterval.
func (s *Store) WaitOutbox(ctx context.Context, after int64) error {
	wake, stop := s.OutboxNotify() // before looking, so no wake-up falls between
	defer stop()
	timer := time.NewTimer(s.poll)
	defer timer.Stop()
	for {
		last, err := s.LastOutboxSeq(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return fmt.Errorf("sqlstore: wait outbox: %w", err)
		}
		if last > after {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-wake:
		case <-timer.C:
		}
		timer.Reset(s.poll)
	}
}

// outboxChannel returns the PostgreSQL notification channel and the
// advisory lock key of a schema's outbox: stores in different schemas of
// one database neither wake nor wait for each other.
func outboxChannel(schema string) (channel string, lock int64) {
	h := fnv.New64a()
	h.Write([]byte("vigil.sqlstore.outbox:" + schema))
	sum := h.Sum64()
	return fmt.Sprintf("vigil_outbox_%016x", sum), int64(sum)
}

// listener LISTENs on the outbox channel until ctx ends, reconnecting with
// backoff (100 ms doubling to 5 s) whenever the connection fails.
func (s *Store) listener(ctx context.Context, cfg *pgx.ConnConfig) {
	const minBackoff, maxBackoff = 100 * time.Millisecond, 5 * time.Second
	backoff := minBackoff
	for {
		listening, err := s.listenOnce(ctx, cfg)
		if ctx.Err() != nil {
			return
		}
		if listening {
			backoff = minBackoff
		}
		s.log.Warn("sqlstore: outbox listener disconnected; reconnecting", "err", err, "in", backoff)
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		backoff = min(2*backoff, maxBackoff)
	}
}

// listenOnce connects, LISTENs and broadcasts every notification until the
// connection fails or ctx ends; listening reports whether it got as far as
// listening.
func (s *Store) listenOnce(ctx context.Context, cfg *pgx.ConnConfig) (listening bool, err error) {
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return false, err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	listen := "LISTEN " + pgx.Identifier{s.lookupsChannel}.Sanitize() + "; LISTEN " + pgx.Identifier{s.channel}.Sanitize()
	if _, err := conn.Exec(ctx, listen); err != nil {
		return false, err
	}
	// The lookup cache is usable only while changes can reach it
	// (lookupcache.go); what changed while not listening is dropped.
	s.lookups.setUsable(true)
	defer s.lookups.setUsable(false)
	s.hub.broadcast() // whatever was notified while not listening
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return true, err
		}
		if n.Channel == s.lookupsChannel {
			s.lookups.invalidate()
			continue
		}
		s.hub.broadcast()
	}
}
