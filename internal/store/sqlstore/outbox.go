package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/vigil-idp/vigil/internal/store"
)

// The outbox is read by sequence number, and a reader that has seen Seq n
// asks for events after n: so no event may ever become visible below a Seq
// a reader was already given. Both dialects make Seq order commit order.
//
// SQLite has one writer: transactions commit in the order they run, and
// seq is an AUTOINCREMENT rowid.
//
// PostgreSQL commits concurrent transactions in any order, and a sequence
// hands out numbers at INSERT time, not at commit: a transaction holding
// seq 5 may commit after another's seq 6 was read, and a reader past 6
// would never see 5. So a transaction takes a transaction-scoped advisory
// lock (pg_advisory_xact_lock, one key per schema) before its first
// append, and holds it until it commits or rolls back: appenders draw and
// commit their seqs one transaction at a time. A reader that sees seq n
// committed sees every smaller seq that will ever commit, because the
// transaction that drew it ended before n was drawn, and PostgreSQL marks a
// transaction committed before it releases its locks. This is how
// PostgreSQL orders its own NOTIFY queue (async.c, PreCommit_Notify), and
// readers need no filter, so they never wait on unrelated transactions.
//
// The cost is that outbox appenders serialize from their first append to
// their commit; appending last in a transaction keeps that window to the
// commit itself. (Filtering rows below pg_snapshot_xmin of the reader's
// snapshot instead fails with a sequence — the transaction with the
// smaller xid may draw the larger seq — and, with seq derived from the
// xid, makes every event wait for every older writing transaction in the
// whole cluster, which the test suite showed to stall readers.)

// AppendOutbox appends events with multi-row INSERTs and returns their
// sequence numbers, in the order given. A zero CreatedAt is set to the
// store's clock. Event ids are the producer's to keep unique: the store
// does not index them. In PostgreSQL the
// first append of a transaction takes the outbox lock (see above) and
// sends a notification, delivered at commit, that wakes WaitOutbox on
// every node.
func (t *txn) AppendOutbox(ctx context.Context, events ...store.OutboxEvent) ([]int64, error) {
	if len(events) == 0 {
		return []int64{}, nil
	}
	for _, e := range events {
		if e.ID == "" {
			return nil, errors.New("sqlstore: append outbox: empty event id")
		}
	}
	var seqs []int64
	err := t.write(ctx, func(q querier) error {
		tt := t
		if t.tx == nil { // a transaction of its own: fresh per-transaction state
			tt = &txn{s: t.s, tx: q}
		}
		var err error
		seqs, err = tt.appendOutbox(ctx, q, events)
		return err
	})
	if err != nil {
		return nil, t.classify("append outbox", err)
	}
	if t.tx == nil {
		t.s.hub.broadcast() // committed
	}
	return seqs, nil
}

func (t *txn) appendOutbox(ctx context.Context, q querier, events []store.OutboxEvent) ([]int64, error) {
	if t.s.d == postgresDialect && !t.appended {
		if _, err := q.ExecContext(ctx, "SELECT pg_advisory_xact_lock($1), pg_notify($2, '')", t.s.outboxLock, t.s.channel); err != nil {
			return nil, err
		}
	}
	// Rows get increasing seqs in VALUES order, and no other transaction
	// appends meanwhile (one writer; the outbox lock), so the returned
	// seqs in ascending order are the events' in the order given.
	seqs := make([]int64, 0, len(events))
	err := t.insertMany(ctx, q, "INSERT INTO outbox (id, type, user_id, session_id, payload, created_at) VALUES ",
		" RETURNING seq", 6, len(events), func(i int, b *rowsBuilder) {
			e := events[i]
			if e.CreatedAt.IsZero() {
				e.CreatedAt = t.s.now()
			}
			b.row(e.ID, e.Type, e.UserID, e.SessionID, nullBlob(e.Payload), t.s.d.timeVal(e.CreatedAt))
		}, func(rows *sql.Rows) error {
			var seq int64
			err := rows.Scan(&seq)
			seqs = append(seqs, seq)
			return err
		})
	if err != nil {
		return nil, err
	}
	if len(seqs) != len(events) {
		return nil, fmt.Errorf("%d sequence numbers for %d events", len(seqs), len(events))
	}
	slices.Sort(seqs)
	t.appended = true
	return seqs, nil
}

// ListOutbox returns up to limit events with Seq > after, in Seq order;
// no event with a smaller Seq can commit later (see the top of this file).
// limit ≤ 0 means 100.
func (t *txn) ListOutbox(ctx context.Context, after int64, limit int) ([]store.OutboxEvent, error) {
	if limit <= 0 {
		limit = defaultTop
	}
	out := []store.OutboxEvent{}
	err := queryEach(ctx, t.rq(), "SELECT seq, id, type, user_id, session_id, payload, created_at FROM outbox WHERE seq > $1 ORDER BY seq LIMIT $2", []any{after, limit}, func(rows *sql.Rows) error {
		var e store.OutboxEvent
		if err := rows.Scan(&e.Seq, &e.ID, &e.Type, &e.UserID, &e.SessionID, &e.Payload, timeDest{&e.CreatedAt}); err != nil {
			return err
		}
		out = append(out, e)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("sqlstore: list outbox: %w", err)
	}
	return out, nil
}

// LastOutboxSeq returns the highest committed Seq (0 when there is none).
func (t *txn) LastOutboxSeq(ctx context.Context) (int64, error) {
	var seq int64
	if err := t.rq().QueryRowContext(ctx, "SELECT COALESCE(MAX(seq), 0) FROM outbox").Scan(&seq); err != nil {
		return 0, fmt.Errorf("sqlstore: last outbox seq: %w", err)
	}
	return seq, nil
}

// OutboxSeqBefore returns the highest Seq of an event created before t.
// It walks the primary key down from the newest event and stops at the
// first one older than t: no index on created_at (which every append
// would pay for) is needed for a recent t.
func (t *txn) OutboxSeqBefore(ctx context.Context, before time.Time) (int64, error) {
	var seq int64
	err := t.rq().QueryRowContext(ctx,
		"SELECT COALESCE((SELECT seq FROM outbox WHERE created_at < $1 ORDER BY seq DESC LIMIT 1), 0)",
		t.s.d.timeVal(before)).Scan(&seq)
	if err != nil {
		return 0, fmt.Errorf("sqlstore: outbox seq before: %w", err)
	}
	return seq, nil
}

// PurgeOutbox deletes events created before `before` whose Seq every
// cursor has passed (the lowest position; no cursor, nothing).
func (t *txn) PurgeOutbox(ctx context.Context, before time.Time, limit int) (int, error) {
	return t.deleteSome(ctx, "purge outbox", "outbox", "seq",
		"created_at < $1 AND seq <= (SELECT COALESCE(MIN(position), 0) FROM cursors)", before, limit)
}
