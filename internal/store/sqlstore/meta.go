package sqlstore

import (
	"context"
	"fmt"
)

// GetMeta returns the value under key (never nil), or ErrNotFound.
func (t *txn) GetMeta(ctx context.Context, key string) ([]byte, error) {
	var v []byte
	if err := t.rq().QueryRowContext(ctx, "SELECT value FROM meta WHERE key = $1", key).Scan(&v); err != nil {
		return nil, notFound("get meta "+key, err)
	}
	if v == nil {
		v = []byte{}
	}
	return v, nil
}

// PutMeta sets the value under key, replacing any earlier one.
func (t *txn) PutMeta(ctx context.Context, key string, value []byte) error {
	_, err := t.exec(ctx, "INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
		key, nonNil(value))
	if err != nil {
		return fmt.Errorf("sqlstore: put meta %s: %w", key, err)
	}
	return nil
}

// PutMetaIfAbsent sets the value only when the key is unset and reports
// whether it wrote. Of several concurrent callers exactly one writes.
func (t *txn) PutMetaIfAbsent(ctx context.Context, key string, value []byte) (bool, error) {
	res, err := t.exec(ctx, "INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING", key, nonNil(value))
	if err != nil {
		return false, fmt.Errorf("sqlstore: put meta %s: %w", key, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("sqlstore: put meta %s: %w", key, err)
	}
	return n == 1, nil
}

func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}
