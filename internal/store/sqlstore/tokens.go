package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/vigil-idp/vigil/internal/store"
)

var refreshTokens = (&entity[store.RefreshToken]{
	name:  "refresh token",
	table: "refresh_tokens",
	alias: "rt",
	cols: []string{
		"id", "hash", "family_id", "parent_id", "session_id", "user_id", "client_id", "scopes", "resource",
		"capabilities", "auth_time", "created_at", "expires_at", "used_at", "revoked_at", "revoked_reason",
	},
	sel: "rt.id, rt.hash, rt.family_id, rt.parent_id, rt.session_id, rt.user_id, rt.client_id, rt.scopes, " +
		"rt.resource, rt.capabilities, rt.auth_time, rt.created_at, rt.expires_at, rt.used_at, rt.revoked_at, rt.revoked_reason",
	scan: func(sc scanner, extra ...any) (store.RefreshToken, error) {
		var r store.RefreshToken
		err := sc.Scan(append([]any{
			&r.ID, &r.Hash, &r.FamilyID, &r.ParentID, strDest{&r.SessionID}, &r.UserID, &r.ClientID, listDest{&r.Scopes},
			&r.Resource, listDest{&r.Capabilities}, timeDest{&r.AuthTime}, timeDest{&r.CreatedAt}, timeDest{&r.ExpiresAt},
			timePtrDest{&r.UsedAt}, timePtrDest{&r.RevokedAt}, &r.RevokedReason,
		}, extra...)...)
		return r, err
	},
	values: func(t *txn, r store.RefreshToken) []any {
		if r.CreatedAt.IsZero() {
			r.CreatedAt = t.s.now()
		}
		d := t.s.d
		return []any{
			r.ID, nonNil(r.Hash), r.FamilyID, r.ParentID, nullStr(r.SessionID), r.UserID, r.ClientID, jsonList(r.Scopes),
			r.Resource, jsonList(r.Capabilities), d.timeVal(r.AuthTime), d.timeVal(r.CreatedAt), d.timeVal(r.ExpiresAt),
			d.timePtr(r.UsedAt), d.timePtr(r.RevokedAt), r.RevokedReason,
		}
	},
	id: func(r store.RefreshToken) string { return r.ID },
}).init()

// CreateRefreshToken inserts r. A zero CreatedAt is set to the store's
// clock. ErrConflict on a duplicate id or hash; ErrNotFound when the user
// does not exist.
func (t *txn) CreateRefreshToken(ctx context.Context, r store.RefreshToken) error {
	if len(r.Hash) == 0 {
		return errors.New("sqlstore: create refresh token: empty hash")
	}
	return refreshTokens.create(ctx, t, r)
}

// GetRefreshTokenByHash finds a token by the hash of its value, or
// ErrNotFound.
func (t *txn) GetRefreshTokenByHash(ctx context.Context, hash []byte) (store.RefreshToken, error) {
	return refreshTokens.get(ctx, t.rq(), "rt.hash = $1", nonNil(hash))
}

// tokenWithUserSQL reads a token and its user in one query.
var tokenWithUserSQL = "SELECT " + refreshTokens.sel + ", " + users.sel +
	" FROM refresh_tokens rt JOIN users u ON u.id = rt.user_id WHERE rt.hash = $1"

// GetRefreshTokenWithUser returns the token with this hash and its user,
// or ErrNotFound.
func (t *txn) GetRefreshTokenWithUser(ctx context.Context, hash []byte) (store.RefreshToken, store.User, error) {
	row := t.rq().QueryRowContext(ctx, tokenWithUserSQL, nonNil(hash))
	var u store.User
	// Each entity scans its own columns; the row is scanned once, with
	// both lists of destinations.
	tok, err := refreshTokens.scan(scanFunc(func(tokDest ...any) error {
		var err error
		u, err = users.scan(scanFunc(func(userDest ...any) error {
			return row.Scan(append(tokDest, userDest...)...)
		}))
		return err
	}))
	if err != nil {
		return store.RefreshToken{}, store.User{}, notFound("get refresh token with user", err)
	}
	return tok, u, nil
}

// scanFunc is a scanner made of a function.
type scanFunc func(dest ...any) error

func (f scanFunc) Scan(dest ...any) error { return f(dest...) }

// markUsedSQL is the compare-and-set that uses a refresh token ($1 its id,
// $2 the time): it changes the row only while it is unused and unrevoked.
const markUsedSQL = "UPDATE refresh_tokens SET used_at = $2 WHERE id = $1 AND used_at IS NULL AND revoked_at IS NULL"

// MarkRefreshTokenUsed sets UsedAt = at with one conditional UPDATE (the
// compare-and-set: of concurrent callers exactly one changes the row). It
// returns ErrConflict when the token was already used or revoked and
// ErrNotFound when it does not exist.
func (t *txn) MarkRefreshTokenUsed(ctx context.Context, id string, at time.Time) error {
	const op = "mark refresh token used"
	return t.write(ctx, func(q querier) error {
		used, err := t.changeOne(ctx, q, op, "refresh_tokens", id, markUsedSQL, t.s.d.timeVal(at))
		if err == nil && !used {
			err = fmt.Errorf("sqlstore: %s: %w: already used or revoked", op, store.ErrConflict)
		}
		return err
	})
}

// rotateSQL is PostgreSQL's rotation: the compare-and-set and the child's
// insert in one statement, one round trip. The casts type the SELECT list
// as the columns (an INSERT … SELECT does not infer them).
//
// At the Store level it runs as a statement of its own, at READ
// COMMITTED. That is enough because every revocation of refresh tokens
// runs in a SERIALIZABLE transaction (InTx) that updates the parent too
// (the parent is unrevoked: used tokens are revoked with their family,
// session or user): if the revocation touches the parent first, the
// compare-and-set, re-evaluated on the revoked row, fails and no child is
// written; if the rotation commits first, the revocation either sees the
// child in its snapshot or finds the parent changed since its snapshot
// and fails with a serialization error, and InTx runs it again, now seeing
// the child.
var rotateSQL = `WITH used AS (` + markUsedSQL + ` RETURNING id)
	INSERT INTO refresh_tokens (` + joinCols(refreshTokens.cols) + `)
	SELECT $3::text, $4::bytea, $5::text, $6::text, $7::text, $8::text, $9::text, $10::jsonb, $11::text,
		$12::jsonb, $13::timestamptz, $14::timestamptz, $15::timestamptz, $16::timestamptz, $17::timestamptz, $18::text
	FROM used`

// RotateRefreshToken marks parentID used and inserts child atomically.
// ErrConflict (nothing written) when the parent is used, revoked or absent.
func (t *txn) RotateRefreshToken(ctx context.Context, parentID string, at time.Time, child store.RefreshToken) error {
	const op = "rotate refresh token"
	if child.ID == "" {
		return fmt.Errorf("sqlstore: %s: child has an empty id", op)
	}
	d := t.s.d
	if d == postgresDialect && t.tx == nil {
		res, err := t.exec(ctx, rotateSQL, append([]any{parentID, d.timeVal(at)}, refreshTokens.values(t, child)...)...)
		if err != nil {
			return t.classify(op, err)
		}
		return changedOr(op, res, nil, errParentGone)
	}
	// A refused compare-and-set wrote nothing, so it is not an error of the
	// write (which would make a SQLite group commit run its batch again):
	// it is reported after.
	refused := false
	err := t.write(ctx, func(q querier) error {
		refused = false
		res, err := q.ExecContext(ctx, markUsedSQL, parentID, d.timeVal(at))
		if err != nil {
			return fmt.Errorf("sqlstore: %s: %w", op, err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return fmt.Errorf("sqlstore: %s: %w", op, err)
		} else if n == 0 {
			refused = true
			return nil
		}
		if _, err := q.ExecContext(ctx, refreshTokens.insertSQL, refreshTokens.values(t, child)...); err != nil {
			return t.classify(op, err)
		}
		return nil
	})
	if err == nil && refused {
		err = fmt.Errorf("sqlstore: %s: %w: parent used, revoked or absent", op, store.ErrConflict)
	}
	return err
}

// RevokeRefreshToken revokes one token; a token already revoked keeps its
// first revocation time and reason. ErrNotFound when it does not exist.
func (t *txn) RevokeRefreshToken(ctx context.Context, id string, at time.Time, reason string) error {
	res, err := t.exec(ctx, `UPDATE refresh_tokens SET
		revoked_reason = CASE WHEN revoked_at IS NULL THEN $3 ELSE revoked_reason END,
		revoked_at = COALESCE(revoked_at, $2)
		WHERE id = $1`, id, t.s.d.timeVal(at), reason)
	return affected("revoke refresh token", res, err)
}

// RevokeRefreshTokenFamily revokes every unrevoked token of a family and
// returns how many.
func (t *txn) RevokeRefreshTokenFamily(ctx context.Context, familyID string, at time.Time, reason string) (int, error) {
	return t.count(ctx, "revoke refresh token family",
		"UPDATE refresh_tokens SET revoked_at = $2, revoked_reason = $3 WHERE family_id = $1 AND revoked_at IS NULL",
		familyID, t.s.d.timeVal(at), reason)
}

// RevokeRefreshTokensOfSession revokes every unrevoked token of a session
// and returns how many.
func (t *txn) RevokeRefreshTokensOfSession(ctx context.Context, sessionID string, at time.Time, reason string) (int, error) {
	return t.count(ctx, "revoke refresh tokens of session",
		"UPDATE refresh_tokens SET revoked_at = $2, revoked_reason = $3 WHERE session_id = $1 AND revoked_at IS NULL",
		sessionID, t.s.d.timeVal(at), reason)
}

// RevokeRefreshTokensOfUsers revokes every unrevoked token of the users and
// returns how many: one statement per chunk of at most 500 ids.
func (t *txn) RevokeRefreshTokensOfUsers(ctx context.Context, userIDs []string, at time.Time, reason string) (int, error) {
	return t.updateByIDs(ctx, "revoke refresh tokens of users",
		"UPDATE refresh_tokens SET revoked_at = $2, revoked_reason = $3 WHERE revoked_at IS NULL AND %s",
		"user_id", userIDs, t.s.d.timeVal(at), reason)
}

// DeleteExpiredRefreshTokens removes at most limit tokens that expired, or
// were revoked, before `before`, and returns how many.
func (t *txn) DeleteExpiredRefreshTokens(ctx context.Context, before time.Time, limit int) (int, error) {
	return t.deleteSome(ctx, "delete expired refresh tokens", "refresh_tokens", "id",
		"expires_at < $1 OR revoked_at < $1", before, limit)
}

// count runs one writing statement and returns the rows it changed.
func (t *txn) count(ctx context.Context, op, query string, args ...any) (int, error) {
	res, err := t.exec(ctx, query, args...)
	if err != nil {
		return 0, fmt.Errorf("sqlstore: %s: %w", op, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("sqlstore: %s: %w", op, err)
	}
	return int(n), nil
}

// deleteSome deletes at most limit rows of table matching cond, which
// compares timestamps with $1 (before); key is the table's primary key.
func (t *txn) deleteSome(ctx context.Context, op, table, key, cond string, before time.Time, limit int) (int, error) {
	if limit <= 0 {
		return 0, nil
	}
	return t.count(ctx, op, "DELETE FROM "+table+" WHERE "+key+" IN (SELECT "+key+" FROM "+table+" WHERE "+cond+" LIMIT $2)",
		t.s.d.timeVal(before), limit)
}

// errParentGone is RotateRefreshToken's refused compare-and-set, built
// once: rotation is the refresh grant's hot path.
var errParentGone = fmt.Errorf("%w: parent used, revoked or absent", store.ErrConflict)
