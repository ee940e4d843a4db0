package sqlstore

import (
	"context"

	"github.com/vigil-idp/vigil/internal/store"
)

var signingKeys = (&entity[store.SigningKey]{
	name:  "signing key",
	table: "signing_keys",
	alias: "k",
	cols:  []string{"id", "algorithm", "key_use", "private_key", "public_jwk", "created_at", "not_before", "retire_at", "expire_at"},
	sel:   "k.id, k.algorithm, k.key_use, k.private_key, k.public_jwk, k.created_at, k.not_before, k.retire_at, k.expire_at",
	scan: func(sc scanner, extra ...any) (store.SigningKey, error) {
		var k store.SigningKey
		err := sc.Scan(append([]any{
			&k.ID, &k.Algorithm, &k.Use, &k.PrivateKey, &k.PublicJWK, timeDest{&k.CreatedAt},
			timeDest{&k.NotBefore}, timeDest{&k.RetireAt}, timeDest{&k.ExpireAt},
		}, extra...)...)
		return k, err
	},
	values: func(t *txn, k store.SigningKey) []any {
		if k.CreatedAt.IsZero() {
			k.CreatedAt = t.s.now()
		}
		d := t.s.d
		return []any{
			k.ID, k.Algorithm, k.Use, nullBlob(k.PrivateKey), nullBlob(k.PublicJWK), d.timeVal(k.CreatedAt),
			d.nullTime(k.NotBefore), d.nullTime(k.RetireAt), d.nullTime(k.ExpireAt),
		}
	},
	id: func(k store.SigningKey) string { return k.ID },
}).init()

// CreateSigningKey inserts k. A zero CreatedAt is set to the store's clock.
// ErrConflict when the kid is taken.
func (t *txn) CreateSigningKey(ctx context.Context, k store.SigningKey) error {
	return signingKeys.create(ctx, t, k)
}

// ListSigningKeys returns every stored key, oldest (by CreatedAt, then kid)
// first.
func (t *txn) ListSigningKeys(ctx context.Context) ([]store.SigningKey, error) {
	return signingKeys.all(ctx, t.rq(), "ORDER BY k.created_at, k.id")
}

// DeleteSigningKey removes a key, or returns ErrNotFound.
func (t *txn) DeleteSigningKey(ctx context.Context, id string) error {
	return signingKeys.delete(ctx, t, id)
}
