package sqlstore

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/vigil-idp/vigil/internal/store"
)

// GetCursor returns a consumer's position in the outbox (0 when unset).
func (t *txn) GetCursor(ctx context.Context, name string) (int64, error) {
	var pos int64
	err := t.rq().QueryRowContext(ctx, "SELECT position FROM cursors WHERE name = $1", name).Scan(&pos)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("sqlstore: get cursor: %w", err)
	}
	return pos, nil
}

// AdvanceCursor moves a consumer from `from` to `to` with one conditional
// statement (an unset cursor is at 0): of concurrent callers with the same
// `from` exactly one succeeds; the others get ErrConflict.
func (t *txn) AdvanceCursor(ctx context.Context, name string, from, to int64) error {
	query, args := "UPDATE cursors SET position = $3 WHERE name = $1 AND position = $2", []any{name, from, to}
	if from == 0 { // the row may not exist yet
		query, args = `INSERT INTO cursors (name, position) VALUES ($1, $2)
			ON CONFLICT (name) DO UPDATE SET position = excluded.position WHERE cursors.position = 0`, []any{name, to}
	}
	n, err := t.count(ctx, "advance cursor", query, args...)
	if err != nil {
		return err
	}
	if n == 0 {
		return fmt.Errorf("sqlstore: advance cursor %s: %w: not at %d", name, store.ErrConflict, from)
	}
	return nil
}

var deliveries = (&entity[store.Delivery]{
	name:  "delivery",
	table: "deliveries",
	alias: "dl",
	cols: []string{
		"id", "queue", "order_key", "event_seq", "payload", "attempts", "next_attempt_at", "lease_until",
		"delivered_at", "dead_at", "last_error", "created_at",
	},
	sel: "dl.id, dl.queue, dl.order_key, dl.event_seq, dl.payload, dl.attempts, dl.next_attempt_at, dl.lease_until, " +
		"dl.delivered_at, dl.dead_at, dl.last_error, dl.created_at",
	scan: func(sc scanner, extra ...any) (store.Delivery, error) {
		var d store.Delivery
		err := sc.Scan(append([]any{
			&d.ID, &d.Queue, &d.Key, &d.EventSeq, &d.Payload, &d.Attempts, timeDest{&d.NextAttemptAt},
			timePtrDest{&d.LeaseUntil}, timePtrDest{&d.DeliveredAt}, timePtrDest{&d.DeadAt}, &d.LastError,
			timeDest{&d.CreatedAt},
		}, extra...)...)
		return d, err
	},
	values: func(t *txn, d store.Delivery) []any {
		if d.CreatedAt.IsZero() {
			d.CreatedAt = t.s.now()
		}
		dd := t.s.d
		return []any{
			d.ID, d.Queue, d.Key, d.EventSeq, nullBlob(d.Payload), d.Attempts, dd.timeVal(d.NextAttemptAt),
			dd.timePtr(d.LeaseUntil), dd.timePtr(d.DeliveredAt), dd.timePtr(d.DeadAt), d.LastError,
			dd.timeVal(d.CreatedAt),
		}
	},
	id: func(d store.Delivery) string { return d.ID },
	props: props(map[string]column{
		"id":            idCol("dl.id"),
		"key":           idCol("dl.order_key"),
		"createdAt":     timeCol("dl.created_at"),
		"nextAttemptAt": timeCol("dl.next_attempt_at"),
	}),
}).init()

// EnqueueDeliveries inserts deliveries with multi-row INSERTs, in the order
// given, which is the order ClaimDeliveries hands them out in. A zero
// CreatedAt is set to the store's clock. ErrConflict when an id is taken.
func (t *txn) EnqueueDeliveries(ctx context.Context, ds ...store.Delivery) error {
	for _, d := range ds {
		if d.ID == "" {
			return errors.New("sqlstore: enqueue deliveries: empty id")
		}
	}
	cols := deliveries.cols
	err := t.write(ctx, func(q querier) error {
		return t.insertMany(ctx, q, "INSERT INTO deliveries ("+joinCols(cols)+") VALUES ", "", len(cols), len(ds),
			func(i int, b *rowsBuilder) { b.row(deliveries.values(t, ds[i])...) }, nil)
	})
	if err != nil {
		return t.classify("enqueue deliveries", err)
	}
	return nil
}

// ClaimDeliveries leases up to limit deliveries of a queue that are due
// (NextAttemptAt ≤ now), neither delivered nor dead, and not leased (or
// whose lease has run out), in the order they were enqueued, setting
// LeaseUntil = now+lease. A delivery with a Key is claimable only when no
// delivery of the same queue and Key enqueued before it is still pending
// (neither delivered nor dead, leased or not), so one Key has at most one
// delivery in flight and they go out in order; a dead delivery no longer
// holds its Key back. Concurrent claimers never get the same delivery: in
// PostgreSQL the candidates are locked FOR UPDATE SKIP LOCKED, in SQLite
// write transactions never overlap.
func (t *txn) ClaimDeliveries(ctx context.Context, queue string, now time.Time, lease time.Duration, limit int) ([]store.Delivery, error) {
	if limit <= 0 {
		return []store.Delivery{}, nil
	}
	d := t.s.d
	query := `UPDATE deliveries SET lease_until = $3 WHERE id IN (
		SELECT c.id FROM deliveries c
		WHERE c.queue = $1 AND c.delivered_at IS NULL AND c.dead_at IS NULL AND c.next_attempt_at <= $2
			AND (c.lease_until IS NULL OR c.lease_until <= $2)
			AND (c.order_key = '' OR NOT EXISTS (SELECT 1 FROM deliveries o
				WHERE o.queue = c.queue AND o.order_key = c.order_key AND o.ord < c.ord
					AND o.delivered_at IS NULL AND o.dead_at IS NULL))
		ORDER BY c.ord LIMIT $4` + d.skipLocked + `)
		RETURNING ` + deliveries.returning + `, ord`
	type claimed struct {
		ord int64
		d   store.Delivery
	}
	var got []claimed
	err := t.write(ctx, func(q querier) error {
		got = got[:0]
		return queryEach(ctx, q, query, []any{queue, d.timeVal(now), d.timeVal(now.Add(lease)), limit}, func(rows *sql.Rows) error {
			var c claimed
			var err error
			c.d, err = deliveries.scan(rows, &c.ord)
			got = append(got, c)
			return err
		})
	})
	if err != nil {
		return nil, fmt.Errorf("sqlstore: claim deliveries: %w", err)
	}
	slices.SortFunc(got, func(a, b claimed) int { return cmp.Compare(a.ord, b.ord) }) // RETURNING has no order
	out := make([]store.Delivery, len(got))
	for i, c := range got {
		out[i] = c.d
	}
	return out, nil
}

// CompleteDelivery marks a delivery delivered at `at` and ends its lease.
// ErrNotFound when it does not exist.
func (t *txn) CompleteDelivery(ctx context.Context, id string, at time.Time) error {
	res, err := t.exec(ctx, "UPDATE deliveries SET delivered_at = $2, lease_until = NULL WHERE id = $1", id, t.s.d.timeVal(at))
	return affected("complete delivery", res, err)
}

// FailDelivery records a failed attempt: Attempts+1, LastError, the lease
// ended, and either NextAttemptAt = next or, when dead, DeadAt = at.
// ErrNotFound when the delivery does not exist.
func (t *txn) FailDelivery(ctx context.Context, id string, at time.Time, next time.Time, dead bool, lastErr string) error {
	d := t.s.d
	res, err := t.exec(ctx, `UPDATE deliveries SET attempts = attempts + 1, last_error = $2, lease_until = NULL,
		next_attempt_at = CASE WHEN $3 THEN next_attempt_at ELSE `+d.timeParam("$4")+` END,
		dead_at = CASE WHEN $3 THEN `+d.timeParam("$5")+` ELSE NULL END
		WHERE id = $1`, id, lastErr, dead, d.timeVal(next), d.timeVal(at))
	return affected("fail delivery", res, err)
}

// ListDeliveries answers one page of a queue's deliveries (only the dead
// ones when deadOnly), by id unless q.OrderBy says otherwise. Filterable
// and sortable: id, key, createdAt, nextAttemptAt.
func (t *txn) ListDeliveries(ctx context.Context, queue string, deadOnly bool, q store.Query) (store.Page[store.Delivery], error) {
	return deliveries.list(ctx, t, func(b *sqlBuilder) {
		b.WriteString("dl.queue = " + b.arg(queue))
		if deadOnly {
			b.WriteString(" AND dl.dead_at IS NOT NULL")
		}
	}, q)
}

// RetryDelivery makes a dead delivery due again at `at`: DeadAt cleared,
// Attempts back to 0 (LastError stays). ErrNotFound when it does not exist,
// ErrConflict when it is not dead.
func (t *txn) RetryDelivery(ctx context.Context, id string, at time.Time) error {
	const op = "retry delivery"
	return t.write(ctx, func(q querier) error {
		retried, err := t.changeOne(ctx, q, op, "deliveries", id, `UPDATE deliveries
			SET dead_at = NULL, attempts = 0, next_attempt_at = $2, lease_until = NULL
			WHERE id = $1 AND dead_at IS NOT NULL`, t.s.d.timeVal(at))
		if err == nil && !retried {
			err = fmt.Errorf("sqlstore: %s %s: %w: not dead", op, id, store.ErrConflict)
		}
		return err
	})
}

// PurgeDeliveries deletes deliveries delivered before `before`.
func (t *txn) PurgeDeliveries(ctx context.Context, before time.Time, limit int) (int, error) {
	return t.deleteSome(ctx, "purge deliveries", "deliveries", "ord", "delivered_at < $1", before, limit)
}
