package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// AdvanceSignInSessionsValidFrom sets signInSessionsValidFromDateTime to
// max(current, at) for each listed user (never backwards) and, when
// refreshTokensToo, refreshTokensValidFromDateTime the same way. It returns
// each existing user's previous signInSessionsValidFromDateTime (the zero
// time when it was unset); unknown ids are absent from the map. Set-based,
// per chunk of at most 500 ids: in PostgreSQL one UPDATE … FROM (the old
// rows) … RETURNING the old value; in SQLite, whose RETURNING
// sees only new values, a SELECT and an UPDATE in the same write
// transaction (no other writer can come between them).
func (t *txn) AdvanceSignInSessionsValidFrom(ctx context.Context, userIDs []string, at time.Time, refreshTokensToo bool) (map[string]time.Time, error) {
	d := t.s.d
	set := `sign_in_sessions_valid_from = CASE WHEN sign_in_sessions_valid_from IS NULL OR sign_in_sessions_valid_from < $2
			THEN $2 ELSE sign_in_sessions_valid_from END,
		refresh_tokens_valid_from = CASE WHEN $3 AND (refresh_tokens_valid_from IS NULL OR refresh_tokens_valid_from < $2)
			THEN ` + d.timeParam("$2") + ` ELSE refresh_tokens_valid_from END`
	// Read committed (a write of its own) must lock the rows it reads the
	// old values from; InTx is serializable, where a concurrent change to
	// them fails the UPDATE (and InTx runs again), so it reads them plainly.
	lock := " FOR UPDATE"
	if t.tx != nil {
		lock = ""
	}
	// The statements for a chunk of n ids (one id: plain equality).
	pgUpdate := func(n int) string {
		return `UPDATE users SET ` + set + `
		FROM (SELECT id AS old_id, sign_in_sessions_valid_from AS prev FROM users WHERE ` + d.inIDsN("id", "$1", n) + lock + `) o
		WHERE users.id = o.old_id RETURNING users.id, o.prev`
	}
	liteSelect := func(n int) string {
		return `SELECT id, sign_in_sessions_valid_from FROM users WHERE ` + d.inIDsN("id", "$1", n)
	}
	liteUpdate := func(n int) string { return `UPDATE users SET ` + set + ` WHERE ` + d.inIDsN("id", "$1", n) }

	prev := make(map[string]time.Time, len(userIDs))
	scanPrev := func(rows *sql.Rows) error {
		var id string
		var old time.Time
		if err := rows.Scan(&id, timeDest{&old}); err != nil {
			return err
		}
		prev[id] = old
		return nil
	}
	err := t.write(ctx, func(q querier) error {
		clear(prev) // the write may run again after a serialization failure
		return chunks(userIDs, func(chunk []string) error {
			ids, n := d.idsArgN(chunk), len(chunk)
			if d == postgresDialect {
				return queryEach(ctx, q, pgUpdate(n), []any{ids, d.timeVal(at), refreshTokensToo}, scanPrev)
			}
			if err := queryEach(ctx, q, liteSelect(n), []any{ids}, scanPrev); err != nil {
				return err
			}
			_, err := q.ExecContext(ctx, liteUpdate(n), ids, d.timeVal(at), refreshTokensToo)
			return err
		})
	})
	if err != nil {
		return nil, fmt.Errorf("sqlstore: advance signInSessionsValidFrom: %w", err)
	}
	return prev, nil
}
