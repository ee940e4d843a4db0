package sqlstore

import (
	"context"
	"fmt"
	"time"

	"github.com/vigil-idp/vigil/internal/store"
)

var sessions = (&entity[store.Session]{
	name:  "session",
	table: "sessions",
	alias: "se",
	cols: []string{
		"id", "user_id", "created_at", "auth_time", "last_active_at", "amr", "ip", "user_agent", "device_id",
		"client_ids", "revoked_at", "revoked_reason",
	},
	sel: "se.id, se.user_id, se.created_at, se.auth_time, se.last_active_at, se.amr, se.ip, se.user_agent, " +
		"se.device_id, se.client_ids, se.revoked_at, se.revoked_reason",
	scan: func(sc scanner, extra ...any) (store.Session, error) {
		var s store.Session
		err := sc.Scan(append([]any{
			&s.ID, &s.UserID, timeDest{&s.CreatedAt}, timeDest{&s.AuthTime}, timeDest{&s.LastActiveAt},
			listDest{&s.AMR}, &s.IP, &s.UserAgent, &s.DeviceID, listDest{&s.ClientIDs},
			timePtrDest{&s.RevokedAt}, &s.RevokedReason,
		}, extra...)...)
		return s, err
	},
	values: func(t *txn, s store.Session) []any {
		if s.CreatedAt.IsZero() {
			s.CreatedAt = t.s.now()
		}
		d := t.s.d
		return []any{
			s.ID, s.UserID, d.timeVal(s.CreatedAt), d.timeVal(s.AuthTime), d.timeVal(s.LastActiveAt),
			jsonList(s.AMR), s.IP, s.UserAgent, s.DeviceID, jsonList(s.ClientIDs),
			d.timePtr(s.RevokedAt), s.RevokedReason,
		}
	},
	id: func(s store.Session) string { return s.ID },
}).init()

// CreateSession inserts s. A zero CreatedAt is set to the store's clock.
// ErrConflict when the id is taken; ErrNotFound when the user does not
// exist.
func (t *txn) CreateSession(ctx context.Context, s store.Session) error {
	return sessions.create(ctx, t, s)
}

// GetSession returns a session, live or revoked, or ErrNotFound.
func (t *txn) GetSession(ctx context.Context, id string) (store.Session, error) {
	return sessions.get(ctx, t.rq(), "se.id = $1", id)
}

// TouchSession moves LastActiveAt forward to at (never backwards) and adds
// clientID, unless "" or present, to ClientIDs, in one statement.
// ErrNotFound when the session does not exist.
func (t *txn) TouchSession(ctx context.Context, id string, at time.Time, clientID string) error {
	d := t.s.d
	res, err := t.exec(ctx, `UPDATE sessions SET
		last_active_at = CASE WHEN last_active_at < $2 THEN $2 ELSE last_active_at END,
		client_ids = CASE WHEN $3 = '' THEN client_ids ELSE `+d.addToSet("client_ids", "$3")+` END
		WHERE id = $1`, id, d.timeVal(at), clientID)
	return affected("touch session", res, err)
}

// UpdateSession is the atomic read-modify-write of a session; it returns
// the session as stored.
func (t *txn) UpdateSession(ctx context.Context, id string, fn func(store.Session) (store.Session, error)) (store.Session, error) {
	return sessions.update(ctx, t, id, fn)
}

// ListSessionsOfUser lists a user's sessions, newest (CreatedAt, then id)
// first; revoked ones only when includeRevoked. An unknown user has none.
func (t *txn) ListSessionsOfUser(ctx context.Context, userID string, includeRevoked bool) ([]store.Session, error) {
	out, err := sessions.all(ctx, t.rq(),
		"WHERE se.user_id = $1 AND ($2 OR se.revoked_at IS NULL) ORDER BY se.created_at DESC, se.id DESC",
		userID, includeRevoked)
	if out == nil && err == nil {
		out = []store.Session{}
	}
	return out, err
}

// RevokeSession marks one live session revoked at `at` for reason. It
// reports false when the session was already revoked (leaving its
// revocation as it was) and ErrNotFound when it does not exist.
func (t *txn) RevokeSession(ctx context.Context, id string, at time.Time, reason string) (bool, error) {
	var revoked bool
	err := t.write(ctx, func(q querier) (err error) {
		revoked, err = t.changeOne(ctx, q, "revoke session", "sessions", id,
			"UPDATE sessions SET revoked_at = $2, revoked_reason = $3 WHERE id = $1 AND revoked_at IS NULL", t.s.d.timeVal(at), reason)
		return err
	})
	return revoked, err
}

// RevokeSessionsOfUsers marks every live session of the users revoked and
// returns how many it revoked: one statement per chunk of at most 500 ids.
func (t *txn) RevokeSessionsOfUsers(ctx context.Context, userIDs []string, at time.Time, reason string) (int, error) {
	return t.updateByIDs(ctx, "revoke sessions of users",
		"UPDATE sessions SET revoked_at = $2, revoked_reason = $3 WHERE revoked_at IS NULL AND %s",
		"user_id", userIDs, t.s.d.timeVal(at), reason)
}

// changeOne runs update, a conditional UPDATE of the row of table whose id
// is id ($1), in q's transaction, and reports whether it changed the row.
// When it changed nothing it tells "condition false" (false, nil) from "no
// such row" (ErrNotFound) by looking the row up.
func (t *txn) changeOne(ctx context.Context, q querier, op, table, id, update string, args ...any) (bool, error) {
	res, err := q.ExecContext(ctx, update, append([]any{id}, args...)...)
	if err != nil {
		return false, fmt.Errorf("sqlstore: %s: %w", op, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("sqlstore: %s: %w", op, err)
	}
	if n > 0 {
		return true, nil
	}
	var one int
	if err := q.QueryRowContext(ctx, "SELECT 1 FROM "+table+" WHERE id = $1", id).Scan(&one); err != nil {
		return false, notFound(op, err)
	}
	return false, nil
}
