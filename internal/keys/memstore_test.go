package keys

import (
	"context"
	"fmt"
	"slices"
	"sync"

	"github.com/vigil-idp/vigil/internal/store"
)

// memStore is an in-memory Store whose transactions run one at a time, as
// SQLite's do. Only the SigningKeys and Meta parts of store.Tx are
// implemented; the embedded nil store.Tx makes any other call panic.
type memStore struct {
	mu   sync.Mutex
	data memData
	// listErr, when set, fails ListSigningKeys outside transactions.
	listErr error
}

type memData struct {
	store.Tx
	keys []store.SigningKey
	meta map[string][]byte
}

func newMemStore() *memStore { return &memStore{data: memData{meta: map[string][]byte{}}} }

func (s *memStore) ListSigningKeys(ctx context.Context) ([]store.SigningKey, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.listErr != nil {
		return nil, s.listErr
	}
	return s.data.ListSigningKeys(ctx)
}

func (s *memStore) DeleteSigningKey(ctx context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.data.DeleteSigningKey(ctx, id)
}

func (s *memStore) InTx(ctx context.Context, fn func(tx store.Tx) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	tx := &memData{keys: slices.Clone(s.data.keys), meta: map[string][]byte{}}
	for k, v := range s.data.meta {
		tx.meta[k] = v
	}
	if err := fn(tx); err != nil {
		return err
	}
	s.data.keys, s.data.meta = tx.keys, tx.meta
	return nil
}

// update rewrites the stored rows (to simulate tampering).
func (s *memStore) update(fn func([]store.SigningKey)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	fn(s.data.keys)
}

func (d *memData) CreateSigningKey(_ context.Context, k store.SigningKey) error {
	if slices.ContainsFunc(d.keys, func(o store.SigningKey) bool { return o.ID == k.ID }) {
		return fmt.Errorf("mem: key %s: %w", k.ID, store.ErrConflict)
	}
	d.keys = append(d.keys, k)
	return nil
}

func (d *memData) ListSigningKeys(context.Context) ([]store.SigningKey, error) {
	return slices.Clone(d.keys), nil
}

func (d *memData) DeleteSigningKey(_ context.Context, id string) error {
	i := slices.IndexFunc(d.keys, func(o store.SigningKey) bool { return o.ID == id })
	if i < 0 {
		return fmt.Errorf("mem: key %s: %w", id, store.ErrNotFound)
	}
	d.keys = slices.Delete(d.keys, i, i+1)
	return nil
}

func (d *memData) GetMeta(_ context.Context, key string) ([]byte, error) {
	v, ok := d.meta[key]
	if !ok {
		return nil, fmt.Errorf("mem: meta %s: %w", key, store.ErrNotFound)
	}
	return v, nil
}

func (d *memData) PutMeta(_ context.Context, key string, value []byte) error {
	d.meta[key] = value
	return nil
}

func (d *memData) PutMetaIfAbsent(_ context.Context, key string, value []byte) (bool, error) {
	if _, ok := d.meta[key]; ok {
		return false, nil
	}
	d.meta[key] = value
	return true, nil
}
