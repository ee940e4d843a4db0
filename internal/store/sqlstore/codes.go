package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/vigil-idp/vigil/internal/store"
)

// Authorization and device codes are keyed by the hash of the code.
func blobKey(id string) any { return []byte(id) }

var authCodes = (&entity[store.AuthCode]{
	name:  "authorization code",
	table: "auth_codes",
	alias: "ac",
	cols: []string{
		"hash", "client_id", "user_id", "session_id", "redirect_uri", "scopes", "resource", "nonce", "code_challenge",
		"code_challenge_method", "claims", "capabilities", "auth_time", "family_id", "created_at", "expires_at", "used_at",
	},
	sel: "ac.hash, ac.client_id, ac.user_id, ac.session_id, ac.redirect_uri, ac.scopes, ac.resource, ac.nonce, " +
		"ac.code_challenge, ac.code_challenge_method, ac.claims, ac.capabilities, ac.auth_time, ac.family_id, " +
		"ac.created_at, ac.expires_at, ac.used_at",
	scan: func(sc scanner, extra ...any) (store.AuthCode, error) {
		var c store.AuthCode
		err := sc.Scan(append([]any{
			&c.Hash, &c.ClientID, &c.UserID, &c.SessionID, &c.RedirectURI, listDest{&c.Scopes}, &c.Resource, &c.Nonce,
			&c.CodeChallenge, &c.CodeChallengeMethod, &c.Claims, listDest{&c.Capabilities}, timeDest{&c.AuthTime},
			&c.FamilyID, timeDest{&c.CreatedAt}, timeDest{&c.ExpiresAt}, timePtrDest{&c.UsedAt},
		}, extra...)...)
		return c, err
	},
	values: func(t *txn, c store.AuthCode) []any {
		if c.CreatedAt.IsZero() {
			c.CreatedAt = t.s.now()
		}
		d := t.s.d
		return []any{
			c.Hash, c.ClientID, c.UserID, c.SessionID, c.RedirectURI, jsonList(c.Scopes), c.Resource, c.Nonce,
			c.CodeChallenge, c.CodeChallengeMethod, nullBlob(c.Claims), jsonList(c.Capabilities), d.timeVal(c.AuthTime),
			c.FamilyID, d.timeVal(c.CreatedAt), d.timeVal(c.ExpiresAt), d.timePtr(c.UsedAt),
		}
	},
	id:     func(c store.AuthCode) string { return string(c.Hash) },
	keyArg: blobKey,
}).init()

// CreateAuthCode inserts c. A zero CreatedAt is set to the store's clock.
// ErrConflict on a duplicate hash; ErrNotFound when the user does not
// exist.
func (t *txn) CreateAuthCode(ctx context.Context, c store.AuthCode) error {
	return authCodes.create(ctx, t, c)
}

// ConsumeAuthCode sets UsedAt = at with one conditional UPDATE, so of
// concurrent callers exactly one consumes the code, and returns the code
// as stored. A code already used comes back (with its first UsedAt)
// together with ErrConflict; ErrNotFound when there is none.
func (t *txn) ConsumeAuthCode(ctx context.Context, hash []byte, at time.Time) (store.AuthCode, error) {
	var out store.AuthCode
	err := t.write(ctx, func(q querier) error {
		c, err := authCodes.scan(q.QueryRowContext(ctx,
			"UPDATE auth_codes SET used_at = $2 WHERE hash = $1 AND used_at IS NULL RETURNING "+authCodes.returning,
			nonNil(hash), t.s.d.timeVal(at)))
		switch {
		case err == nil:
			out = c
			return nil
		case !errors.Is(err, sql.ErrNoRows):
			return fmt.Errorf("sqlstore: consume authorization code: %w", err)
		}
		if out, err = authCodes.get(ctx, q, "ac.hash = $1", nonNil(hash)); err != nil {
			return fmt.Errorf("sqlstore: consume authorization code: %w", err)
		}
		return fmt.Errorf("sqlstore: consume authorization code: %w: already used", store.ErrConflict)
	})
	if err != nil && !errors.Is(err, store.ErrConflict) {
		return store.AuthCode{}, err
	}
	return out, err
}

// DeleteExpiredAuthCodes removes at most limit codes that expired before
// `before`, used or not, and returns how many.
func (t *txn) DeleteExpiredAuthCodes(ctx context.Context, before time.Time, limit int) (int, error) {
	return t.deleteSome(ctx, "delete expired authorization codes", "auth_codes", "hash", "expires_at < $1", before, limit)
}

var deviceCodes = (&entity[store.DeviceCode]{
	name:  "device code",
	table: "device_codes",
	alias: "dc",
	cols: []string{
		"hash", "user_code", "client_id", "scopes", "resource", "capabilities", "created_at", "expires_at",
		"interval_ns", "last_polled_at", "status", "user_id", "session_id", "auth_time",
	},
	sel: "dc.hash, dc.user_code, dc.client_id, dc.scopes, dc.resource, dc.capabilities, dc.created_at, dc.expires_at, " +
		"dc.interval_ns, dc.last_polled_at, dc.status, dc.user_id, dc.session_id, dc.auth_time",
	scan: func(sc scanner, extra ...any) (store.DeviceCode, error) {
		var c store.DeviceCode
		var interval int64
		err := sc.Scan(append([]any{
			&c.Hash, &c.UserCode, &c.ClientID, listDest{&c.Scopes}, &c.Resource, listDest{&c.Capabilities},
			timeDest{&c.CreatedAt}, timeDest{&c.ExpiresAt}, &interval, timePtrDest{&c.LastPolledAt}, &c.Status,
			strDest{&c.UserID}, &c.SessionID, timeDest{&c.AuthTime},
		}, extra...)...)
		c.Interval = time.Duration(interval)
		return c, err
	},
	values: func(t *txn, c store.DeviceCode) []any {
		if c.CreatedAt.IsZero() {
			c.CreatedAt = t.s.now()
		}
		d := t.s.d
		return []any{
			c.Hash, c.UserCode, c.ClientID, jsonList(c.Scopes), c.Resource, jsonList(c.Capabilities),
			d.timeVal(c.CreatedAt), d.timeVal(c.ExpiresAt), int64(c.Interval), d.timePtr(c.LastPolledAt), c.Status,
			nullStr(c.UserID), c.SessionID, d.nullTime(c.AuthTime),
		}
	},
	id:     func(c store.DeviceCode) string { return string(c.Hash) },
	keyArg: blobKey,
}).init()

// CreateDeviceCode inserts c. A zero CreatedAt is set to the store's
// clock. ErrConflict on a duplicate hash or user code; ErrNotFound when
// UserID is set and names no user.
func (t *txn) CreateDeviceCode(ctx context.Context, c store.DeviceCode) error {
	return deviceCodes.create(ctx, t, c)
}

// GetDeviceCodeByUserCode returns a grant by its user code (compared as
// written), or ErrNotFound.
func (t *txn) GetDeviceCodeByUserCode(ctx context.Context, userCode string) (store.DeviceCode, error) {
	return deviceCodes.get(ctx, t.rq(), "dc.user_code = $1", userCode)
}

// UpdateDeviceCode is the atomic read-modify-write of a grant found by the
// hash of its device code; fn must not change Hash. ErrConflict when the
// new user code is taken; ErrNotFound when the grant does not exist or fn
// sets a UserID that names no user.
func (t *txn) UpdateDeviceCode(ctx context.Context, hash []byte, fn func(store.DeviceCode) (store.DeviceCode, error)) (store.DeviceCode, error) {
	return deviceCodes.update(ctx, t, string(hash), fn)
}

// DeleteExpiredDeviceCodes removes at most limit grants that expired before
// `before`, and returns how many.
func (t *txn) DeleteExpiredDeviceCodes(ctx context.Context, before time.Time, limit int) (int, error) {
	return t.deleteSome(ctx, "delete expired device codes", "device_codes", "hash", "expires_at < $1", before, limit)
}

// UseClientAssertionID records key until expiresAt; ErrConflict when it is
// recorded and live at now (an expired record is reused).
func (t *txn) UseClientAssertionID(ctx context.Context, key []byte, expiresAt, now time.Time) error {
	const op = "use client assertion id"
	if len(key) == 0 {
		return fmt.Errorf("sqlstore: %s: empty key", op)
	}
	d := t.s.d
	res, err := t.exec(ctx, `INSERT INTO client_assertion_ids (id, expires_at) VALUES ($1, $2)
		ON CONFLICT (id) DO UPDATE SET expires_at = excluded.expires_at WHERE client_assertion_ids.expires_at <= $3`,
		key, d.timeVal(expiresAt), d.timeVal(now))
	return changedOr(op, res, err, errAssertionUsed)
}

// errAssertionUsed is UseClientAssertionID's refusal of a replay.
var errAssertionUsed = fmt.Errorf("%w: already used", store.ErrConflict)

// DeleteExpiredClientAssertionIDs removes at most limit keys that expired
// before `before`, and returns how many.
func (t *txn) DeleteExpiredClientAssertionIDs(ctx context.Context, before time.Time, limit int) (int, error) {
	return t.deleteSome(ctx, "delete expired client assertion ids", "client_assertion_ids", "id", "expires_at < $1", before, limit)
}
