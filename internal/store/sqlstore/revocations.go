package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"

	"github.com/vigil-idp/vigil/internal/store"
)

var revocations = (&entity[store.Revocation]{
	name:  "revocation",
	table: "revocations",
	alias: "rv",
	cols: []string{
		"id", "status", "selector", "valid_from", "targeted", "revoked", "denied", "failed", "reason", "created_by",
		"created_at", "started_at", "completed_at", "idempotency_key", "created_by_id", "request_hash", "progress", "error",
	},
	sel: "rv.id, rv.status, rv.selector, rv.valid_from, rv.targeted, rv.revoked, rv.denied, rv.failed, rv.reason, " +
		"rv.created_by, rv.created_at, rv.started_at, rv.completed_at, rv.idempotency_key, rv.created_by_id, " +
		"rv.request_hash, rv.progress, rv.error",
	scan: func(sc scanner, extra ...any) (store.Revocation, error) {
		var r store.Revocation
		err := sc.Scan(append([]any{
			&r.ID, &r.Status, &r.Selector, timeDest{&r.ValidFrom}, &r.Targeted, &r.Revoked, &r.Denied, &r.Failed,
			&r.Reason, &r.CreatedBy, timeDest{&r.CreatedAt}, timePtrDest{&r.StartedAt}, timePtrDest{&r.CompletedAt},
			&r.IdempotencyKey, &r.CreatedByID, &r.RequestHash, &r.Progress, &r.Error,
		}, extra...)...)
		return r, err
	},
	values: func(t *txn, r store.Revocation) []any {
		if r.CreatedAt.IsZero() {
			r.CreatedAt = t.s.now()
		}
		d := t.s.d
		return []any{
			r.ID, r.Status, nullBlob(r.Selector), d.timeVal(r.ValidFrom), r.Targeted, r.Revoked, r.Denied, r.Failed,
			r.Reason, nullBlob(r.CreatedBy), d.timeVal(r.CreatedAt), d.timePtr(r.StartedAt), d.timePtr(r.CompletedAt),
			r.IdempotencyKey, r.CreatedByID, nullBlob(r.RequestHash), r.Progress, r.Error,
		}
	},
	id: func(r store.Revocation) string { return r.ID },
}).init()

// CreateRevocation inserts r. A zero CreatedAt is set to the store's
// clock. ErrConflict when the id is taken or, for a non-empty
// IdempotencyKey, when (CreatedByID, IdempotencyKey) is.
func (t *txn) CreateRevocation(ctx context.Context, r store.Revocation) error {
	err := revocations.create(ctx, t, r)
	if err == nil && t.tx != nil {
		t.created = append(t.created, r.ID)
	}
	return err
}

// GetRevocation returns a job, or ErrNotFound.
func (t *txn) GetRevocation(ctx context.Context, id string) (store.Revocation, error) {
	return revocations.get(ctx, t.rq(), "rv.id = $1", id)
}

// GetRevocationByIdempotencyKey returns the job createdByID created with a
// (non-empty) key, or ErrNotFound.
func (t *txn) GetRevocationByIdempotencyKey(ctx context.Context, createdByID, key string) (store.Revocation, error) {
	if key == "" {
		return store.Revocation{}, fmt.Errorf("sqlstore: get revocation by idempotency key: %w: empty key", store.ErrNotFound)
	}
	return revocations.get(ctx, t.rq(), "rv.created_by_id = $1 AND rv.idempotency_key = $2", createdByID, key)
}

// UpdateRevocation is the atomic read-modify-write of a job; it returns
// the job as stored.
func (t *txn) UpdateRevocation(ctx context.Context, id string, fn func(store.Revocation) (store.Revocation, error)) (store.Revocation, error) {
	return revocations.update(ctx, t, id, fn)
}

// ListRevocationsByStatus lists the jobs in a state, oldest (CreatedAt,
// then id) first.
func (t *txn) ListRevocationsByStatus(ctx context.Context, status string) ([]store.Revocation, error) {
	out, err := revocations.all(ctx, t.rq(), "WHERE rv.status = $1 ORDER BY rv.created_at, rv.id", status)
	if out == nil && err == nil {
		out = []store.Revocation{}
	}
	return out, err
}

var revocationResults = (&entity[store.RevocationResult]{
	name:  "revocation result",
	table: "revocation_results",
	alias: "rr",
	cols:  []string{"revocation_id", "user_id", "outcome", "detail", "at"},
	sel:   "rr.revocation_id, rr.user_id, rr.outcome, rr.detail, rr.at",
	scan: func(sc scanner, extra ...any) (store.RevocationResult, error) {
		var r store.RevocationResult
		err := sc.Scan(append([]any{&r.RevocationID, &r.UserID, &r.Outcome, &r.Detail, timeDest{&r.At}}, extra...)...)
		return r, err
	},
	values: func(t *txn, r store.RevocationResult) []any {
		if r.At.IsZero() {
			r.At = t.s.now()
		}
		return []any{r.RevocationID, r.UserID, r.Outcome, r.Detail, t.s.d.timeVal(r.At)}
	},
	id: func(r store.RevocationResult) string { return r.UserID },
	props: props(map[string]column{
		"id":      idCol("rr.user_id"), // the tie-breaker of every order
		"userId":  idCol("rr.user_id"),
		"outcome": idCol("rr.outcome"),
		"at":      timeCol("rr.at"),
	}),
}).init()

// AddRevocationResults inserts per-target outcomes with multi-row upserts:
// a repeated (RevocationID, UserID), in this call or an earlier one,
// replaces the earlier outcome (within one call the last one wins). A zero
// At is set to the store's clock. ErrNotFound when a RevocationID names no
// job (checked once per call, not per row).
func (t *txn) AddRevocationResults(ctx context.Context, rs ...store.RevocationResult) error {
	if len(rs) == 0 {
		return nil
	}
	type key struct{ rev, user string }
	last := make(map[key]int, len(rs)) // the index of the outcome that wins
	seen := map[string]bool{}
	var jobs []string
	for i, r := range rs {
		if !seen[r.RevocationID] {
			seen[r.RevocationID] = true
			jobs = append(jobs, r.RevocationID)
		}
		last[key{r.RevocationID, r.UserID}] = i
	}
	rows := make([]store.RevocationResult, 0, len(rs))
	for i, r := range rs {
		if last[key{r.RevocationID, r.UserID}] == i {
			rows = append(rows, r)
		}
	}
	d := t.s.d
	cols := revocationResults.cols
	err := t.write(ctx, func(q querier) error {
		// Jobs created earlier in this transaction are known to exist.
		if unknown := slices.DeleteFunc(slices.Clone(jobs), func(id string) bool { return slices.Contains(t.created, id) }); len(unknown) > 0 {
			var n int
			if err := q.QueryRowContext(ctx, "SELECT count(*) FROM revocations WHERE "+d.inIDs("id", "$1"), d.idsArg(unknown)).Scan(&n); err != nil {
				return err
			}
			if n != len(unknown) {
				return fmt.Errorf("%w: unknown revocation among %q", store.ErrNotFound, unknown)
			}
		}
		return t.insertMany(ctx, q, "INSERT INTO revocation_results ("+joinCols(cols)+") VALUES ",
			" ON CONFLICT (revocation_id, user_id) DO UPDATE SET outcome = excluded.outcome, detail = excluded.detail, at = excluded.at",
			len(cols), len(rows), func(i int, b *rowsBuilder) { b.row(revocationResults.values(t, rows[i])...) }, nil)
	})
	if err != nil {
		return t.classify("add revocation results", err)
	}
	return nil
}

// ListRevocationResults pages a job's outcomes (all of them when outcome
// is ""), by user id unless q.OrderBy says otherwise; q.Filter may use
// userId, outcome and at.
func (t *txn) ListRevocationResults(ctx context.Context, revocationID, outcome string, q store.Query) (store.Page[store.RevocationResult], error) {
	return revocationResults.list(ctx, t, func(b *sqlBuilder) {
		b.WriteString("rr.revocation_id = " + b.arg(revocationID))
		if outcome != "" {
			b.WriteString(" AND rr.outcome = " + b.arg(outcome))
		}
	}, q)
}

// PutReceipt creates or replaces the receipt of (RevocationID, StreamID).
// ErrNotFound when the job does not exist.
func (t *txn) PutReceipt(ctx context.Context, r store.Receipt) error {
	if r.RevocationID == "" || r.StreamID == "" {
		return errors.New("sqlstore: put receipt: empty revocation or stream id")
	}
	d := t.s.d
	_, err := t.exec(ctx, `INSERT INTO receipts (revocation_id, stream_id, receiver, status, delivered_at, acknowledged_at)
		VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (revocation_id, stream_id) DO UPDATE SET receiver = excluded.receiver,
		status = excluded.status, delivered_at = excluded.delivered_at, acknowledged_at = excluded.acknowledged_at`,
		r.RevocationID, r.StreamID, r.Receiver, r.Status, d.timePtr(r.DeliveredAt), d.timePtr(r.AcknowledgedAt))
	if err != nil {
		return t.classify("put receipt", err)
	}
	return nil
}

// ListReceipts lists a job's receipts ordered by stream id.
func (t *txn) ListReceipts(ctx context.Context, revocationID string) ([]store.Receipt, error) {
	out := []store.Receipt{}
	err := queryEach(ctx, t.rq(), `SELECT revocation_id, stream_id, receiver, status, delivered_at, acknowledged_at
		FROM receipts WHERE revocation_id = $1 ORDER BY stream_id`, []any{revocationID}, func(rows *sql.Rows) error {
		var r store.Receipt
		err := rows.Scan(&r.RevocationID, &r.StreamID, &r.Receiver, &r.Status, timePtrDest{&r.DeliveredAt}, timePtrDest{&r.AcknowledgedAt})
		out = append(out, r)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("sqlstore: list receipts: %w", err)
	}
	return out, nil
}
