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

var consents = (&entity[store.Consent]{
	name:  "consent",
	table: "consents",
	alias: "c",
	cols:  []string{"id", "client_id", "user_id", "user_key", "resource", "scopes", "created_at"},
	sel:   "c.id, c.client_id, c.user_id, c.resource, c.scopes, c.created_at",
	scan: func(sc scanner, extra ...any) (store.Consent, error) {
		var c store.Consent
		err := sc.Scan(append([]any{
			&c.ID, &c.ClientID, strDest{&c.UserID}, &c.Resource, listDest{&c.Scopes}, timeDest{&c.CreatedAt},
		}, extra...)...)
		return c, err
	},
	values: func(t *txn, c store.Consent) []any {
		if c.CreatedAt.IsZero() {
			c.CreatedAt = t.s.now()
		}
		return []any{c.ID, c.ClientID, nullStr(c.UserID), c.UserID, c.Resource, jsonList(c.Scopes), t.s.d.timeVal(c.CreatedAt)}
	},
	id: func(c store.Consent) string { return c.ID },
}).init()

// PutConsent creates the grant for (ClientID, UserID, Resource), or adds
// c.Scopes to the existing grant's (a set: new scopes are appended in
// c's order, present ones are kept where they are; the existing grant
// keeps its id and CreatedAt). A zero CreatedAt is set to the store's
// clock. ErrNotFound when UserID names no user; ErrConflict when c.ID
// belongs to another grant.
func (t *txn) PutConsent(ctx context.Context, c store.Consent) error {
	if c.ID == "" {
		return errors.New("sqlstore: put consent: empty id")
	}
	return t.write(ctx, func(q querier) error {
		// Two passes at most: when the INSERT finds that a concurrent
		// writer has just created the grant, merge into theirs.
		for range 2 {
			old, err := consents.get(ctx, q, "c.client_id = $1 AND c.user_key = $2 AND c.resource = $3"+t.s.d.forUpdate,
				c.ClientID, c.UserID, c.Resource)
			if errors.Is(err, store.ErrNotFound) {
				res, err := q.ExecContext(ctx, "INSERT INTO consents (id, client_id, user_id, user_key, resource, scopes, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)"+
					" ON CONFLICT (client_id, user_key, resource) DO NOTHING", consents.values(t, c)...)
				if err != nil {
					return t.classify("put consent", err)
				}
				if n, err := res.RowsAffected(); err != nil || n == 1 {
					return err
				}
				continue
			}
			if err != nil {
				return err
			}
			scopes := old.Scopes
			for _, s := range c.Scopes {
				if !slices.Contains(scopes, s) {
					scopes = append(scopes, s)
				}
			}
			if scopes == nil && c.Scopes != nil {
				scopes = []string{}
			}
			if _, err := q.ExecContext(ctx, "UPDATE consents SET scopes = $2 WHERE id = $1", old.ID, jsonList(scopes)); err != nil {
				return t.classify("put consent", err)
			}
			return nil
		}
		return fmt.Errorf("sqlstore: put consent: the grant vanished while being written")
	})
}

// ListConsents returns the grants of a client that apply to userID — the
// tenant-wide ones and, when userID is not "", the user's own — tenant-wide
// first, then by resource and id.
func (t *txn) ListConsents(ctx context.Context, clientID, userID string) ([]store.Consent, error) {
	out, err := consents.all(ctx, t.rq(),
		"WHERE c.client_id = $1 AND c.user_key IN ('', $2) ORDER BY c.user_key, c.resource, c.id", clientID, userID)
	if out == nil && err == nil {
		out = []store.Consent{}
	}
	return out, err
}

// DeleteConsent removes one grant by id, or returns ErrNotFound.
func (t *txn) DeleteConsent(ctx context.Context, id string) error {
	return consents.delete(ctx, t, id)
}

var policies = (&entity[store.Policy]{
	name:  "policy",
	table: "policies",
	alias: "p",
	cols:  []string{"scope", "document", "updated_at"},
	sel:   "p.scope, p.document, p.updated_at",
	scan: func(sc scanner, extra ...any) (store.Policy, error) {
		var p store.Policy
		err := sc.Scan(append([]any{&p.Scope, &p.Document, timeDest{&p.UpdatedAt}}, extra...)...)
		return p, err
	},
	values: func(t *txn, p store.Policy) []any {
		if p.UpdatedAt.IsZero() {
			p.UpdatedAt = t.s.now()
		}
		return []any{p.Scope, nonNil(p.Document), t.s.d.timeVal(p.UpdatedAt)}
	},
	id: func(p store.Policy) string { return p.Scope },
}).init()

// GetPolicy returns the policy of a scope, or ErrNotFound.
func (t *txn) GetPolicy(ctx context.Context, scope string) (store.Policy, error) {
	return policies.get(ctx, t.rq(), "p.scope = $1", scope)
}

// PutPolicy creates or replaces the policy of p.Scope. A zero UpdatedAt is
// set to the store's clock.
func (t *txn) PutPolicy(ctx context.Context, p store.Policy) error {
	if p.Scope == "" {
		return errors.New("sqlstore: put policy: empty scope")
	}
	_, err := t.exec(ctx, "INSERT INTO policies (scope, document, updated_at) VALUES ($1, $2, $3)"+
		" ON CONFLICT (scope) DO UPDATE SET document = excluded.document, updated_at = excluded.updated_at",
		policies.values(t, p)...)
	if err != nil {
		return fmt.Errorf("sqlstore: put policy: %w", err)
	}
	return nil
}

// DeletePolicy removes a scope's policy, or returns ErrNotFound.
func (t *txn) DeletePolicy(ctx context.Context, scope string) error {
	return policies.delete(ctx, t, scope)
}

// ListPolicies returns every stored policy, ordered by scope.
func (t *txn) ListPolicies(ctx context.Context) ([]store.Policy, error) {
	out, err := policies.all(ctx, t.rq(), "ORDER BY p.scope")
	if out == nil && err == nil {
		out = []store.Policy{}
	}
	return out, err
}

// GetSignInThrottle returns a user's failed sign-in counter, or a zero
// counter with UserID set when there is none.
func (t *txn) GetSignInThrottle(ctx context.Context, userID string) (store.SignInThrottle, error) {
	th := store.SignInThrottle{UserID: userID}
	err := t.rq().QueryRowContext(ctx, "SELECT failures, first_fail_at, locked_until FROM sign_in_throttles WHERE user_id = $1", userID).
		Scan(&th.Failures, timeDest{&th.FirstFailAt}, timePtrDest{&th.LockedUntil})
	if errors.Is(err, sql.ErrNoRows) {
		return store.SignInThrottle{UserID: userID}, nil
	}
	if err != nil {
		return store.SignInThrottle{}, fmt.Errorf("sqlstore: get sign-in throttle: %w", err)
	}
	return th, nil
}

// RecordSignInFailure counts one failed sign-in at `at` in one statement (an
// upsert, so concurrent failures are never lost):
//
//   - the count restarts at 1, with FirstFailAt = at, when the stored
//     FirstFailAt is before at-window; otherwise it grows by one;
//   - a lock still in force (LockedUntil after at) is kept as it is;
//     otherwise, when the new count reaches lockAfter, LockedUntil becomes
//     at+lockFor, and else an expired lock is cleared. So once lockAfter
//     failures are counted within the window, every further failure after
//     a lock has run out locks again.
//
// ErrNotFound when the user does not exist.
func (t *txn) RecordSignInFailure(ctx context.Context, userID string, at time.Time, window time.Duration, lockAfter int, lockFor time.Duration) (store.SignInThrottle, error) {
	d := t.s.d
	restart := "st.first_fail_at < " + d.timeParam("$3")
	count := "(CASE WHEN " + restart + " THEN 1 ELSE st.failures + 1 END)"
	th := store.SignInThrottle{UserID: userID}
	err := t.write(ctx, func(q querier) error {
		return q.QueryRowContext(ctx, `INSERT INTO sign_in_throttles AS st (user_id, failures, first_fail_at, locked_until)
			VALUES ($1, 1, `+d.timeParam("$2")+`, CASE WHEN 1 >= $4 THEN `+d.timeParam("$5")+` ELSE NULL END)
			ON CONFLICT (user_id) DO UPDATE SET
				failures = `+count+`,
				first_fail_at = CASE WHEN `+restart+` THEN `+d.timeParam("$2")+` ELSE st.first_fail_at END,
				locked_until = CASE
					WHEN st.locked_until > `+d.timeParam("$2")+` THEN st.locked_until
					WHEN `+count+` >= $4 THEN `+d.timeParam("$5")+`
					ELSE NULL END
			RETURNING failures, first_fail_at, locked_until`,
			userID, d.timeVal(at), d.timeVal(at.Add(-window)), lockAfter, d.timeVal(at.Add(lockFor)),
		).Scan(&th.Failures, timeDest{&th.FirstFailAt}, timePtrDest{&th.LockedUntil})
	})
	if err != nil {
		return store.SignInThrottle{}, t.classify("record sign-in failure", err)
	}
	return th, nil
}

// ResetSignInThrottle clears a user's counter; no error when there is none.
func (t *txn) ResetSignInThrottle(ctx context.Context, userID string) error {
	if _, err := t.exec(ctx, "DELETE FROM sign_in_throttles WHERE user_id = $1", userID); err != nil {
		return fmt.Errorf("sqlstore: reset sign-in throttle: %w", err)
	}
	return nil
}
