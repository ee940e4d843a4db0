package keys

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/vigil-idp/vigil/internal/store"
)

// MetaClaimPrefix prefixes the store.Meta keys that record which key
// succeeded which: "<prefix><alg>/<predecessor kid or "genesis">" holds the
// successor's kid. Writing the claim with PutMetaIfAbsent in the same
// transaction as the new key makes concurrent rotations create one key.
const MetaClaimPrefix = "keys.successor/"

// Rotate brings the key table up to date, and is safe to call from several
// nodes at once (each algorithm gets exactly one successor). For each
// configured algorithm it creates a key when there is none or none usable
// (signing at once), or a successor when the active key is RotationPeriod −
// PublishAhead old (signing PublishAhead later). It then deletes keys no
// longer needed to verify anything. Calling it again changes nothing.
func (m *Manager) Rotate(ctx context.Context) error {
	if err := m.validate(); err != nil {
		return err
	}
	var errs []error
	for _, alg := range m.algorithms() {
		if err := m.rotateAlg(ctx, alg); err != nil {
			errs = append(errs, err)
		}
	}
	snap, err := m.reload(ctx, true)
	if err != nil {
		return errors.Join(append(errs, err)...)
	}
	if err := m.prune(ctx, snap); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// Run calls Rotate every interval (0 means one hour) until ctx is done,
// logging failures. Run it in one goroutine per node.
func (m *Manager) Run(ctx context.Context, every time.Duration) {
	if every <= 0 {
		every = time.Hour
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := m.Rotate(ctx); err != nil && ctx.Err() == nil {
				m.logger().Error("keys: rotation failed", "err", err)
			}
		}
	}
}

// validate checks the configuration.
func (m *Manager) validate() error {
	var errs []error
	if m.Store == nil || m.Box == nil {
		errs = append(errs, errors.New("keys: Manager needs a Store and a Box"))
	}
	for _, alg := range m.algorithms() {
		if !slices.Contains(SupportedAlgorithms, alg) {
			errs = append(errs, fmt.Errorf("%w: %s", ErrAlgorithm, alg))
		}
	}
	if m.publishAhead() >= m.rotationPeriod() {
		errs = append(errs, fmt.Errorf("keys: PublishAhead (%s) must be shorter than RotationPeriod (%s)", m.publishAhead(), m.rotationPeriod()))
	}
	if m.cacheTTL() >= m.publishAhead() {
		errs = append(errs, fmt.Errorf("keys: CacheTTL (%s) must be shorter than PublishAhead (%s)", m.cacheTTL(), m.publishAhead()))
	}
	return errors.Join(errs...)
}

// plan is what rotation should do for one algorithm.
type plan struct {
	create    bool
	notBefore time.Time
	after     string // kid of the newest key, "" when there is none
}

// planFor decides, from the stored rows, whether alg needs a new key.
func (m *Manager) planFor(rows []store.SigningKey, alg jose.SignatureAlgorithm, now time.Time) plan {
	var newest *store.SigningKey
	for i := range rows {
		r := &rows[i]
		if r.Algorithm != string(alg) {
			continue
		}
		if newest == nil || r.NotBefore.After(newest.NotBefore) ||
			(r.NotBefore.Equal(newest.NotBefore) && (r.CreatedAt.After(newest.CreatedAt) ||
				r.CreatedAt.Equal(newest.CreatedAt) && r.ID > newest.ID)) {
			newest = r
		}
	}
	switch {
	case newest == nil:
		return plan{create: true, notBefore: now}
	case now.Before(newest.NotBefore): // a successor is already published
		return plan{}
	case !now.Before(newest.RetireAt): // nothing can sign: take over at once
		return plan{create: true, notBefore: now, after: newest.ID}
	case now.Sub(newest.NotBefore) >= m.rotationPeriod()-m.publishAhead():
		nb := now.Add(m.publishAhead())
		if nb.After(newest.RetireAt) {
			nb = newest.RetireAt
		}
		return plan{create: true, notBefore: nb, after: newest.ID}
	}
	return plan{}
}

// rotateAlg creates the key planFor asks for, claiming the slot in the same
// transaction.
func (m *Manager) rotateAlg(ctx context.Context, alg jose.SignatureAlgorithm) error {
	rows, err := m.Store.ListSigningKeys(ctx)
	if err != nil {
		return fmt.Errorf("keys: list signing keys: %w", err)
	}
	if !m.planFor(rows, alg, m.now()).create {
		return nil
	}
	// Generate outside the transaction: RSA generation is slow and the
	// transaction may be retried.
	k, err := newSealedKey(m.Box, alg)
	if err != nil {
		return err
	}
	var created *store.SigningKey
	err = m.Store.InTx(ctx, func(tx store.Tx) error {
		created = nil
		rows, err := tx.ListSigningKeys(ctx)
		if err != nil {
			return fmt.Errorf("keys: list signing keys: %w", err)
		}
		now := m.now()
		p := m.planFor(rows, alg, now)
		if !p.create {
			return nil
		}
		won, err := m.claim(ctx, tx, alg, p.after, k.kid)
		if err != nil || !won {
			return err
		}
		retire := p.notBefore.Add(2 * m.rotationPeriod())
		row := store.SigningKey{
			ID:         k.kid,
			Algorithm:  string(alg),
			Use:        "sig",
			PrivateKey: k.sealed,
			PublicJWK:  k.publicJWK,
			CreatedAt:  now,
			NotBefore:  p.notBefore,
			RetireAt:   retire,
			ExpireAt:   retire.Add(m.maxTokenLifetime() + Leeway),
		}
		if err := tx.CreateSigningKey(ctx, row); err != nil {
			return fmt.Errorf("keys: create signing key: %w", err)
		}
		created = &row
		return nil
	})
	if err != nil {
		return fmt.Errorf("keys: rotate %s: %w", alg, err)
	}
	if created != nil {
		m.logger().Info("keys: created signing key", "kid", created.ID, "alg", created.Algorithm,
			"not_before", created.NotBefore, "retire_at", created.RetireAt)
	}
	return nil
}

// claim records kid as the successor of after (or as the first key of alg).
// It reports false when another node already claimed the slot with a key
// that exists; a claim whose key is gone (deleted by hand) is taken over.
func (m *Manager) claim(ctx context.Context, tx store.Tx, alg jose.SignatureAlgorithm, after, kid string) (bool, error) {
	if after == "" {
		after = "genesis"
	}
	name := MetaClaimPrefix + string(alg) + "/" + after
	won, err := tx.PutMetaIfAbsent(ctx, name, []byte(kid))
	if err != nil || won {
		return won, wrapMeta(err)
	}
	holder, err := tx.GetMeta(ctx, name)
	if err != nil {
		return false, wrapMeta(err)
	}
	rows, err := tx.ListSigningKeys(ctx)
	if err != nil {
		return false, fmt.Errorf("keys: list signing keys: %w", err)
	}
	if slices.ContainsFunc(rows, func(r store.SigningKey) bool { return r.ID == string(holder) }) {
		return false, nil
	}
	m.logger().Warn("keys: taking over a claim whose key is missing", "claim", name, "missing_kid", string(holder))
	return true, wrapMeta(tx.PutMeta(ctx, name, []byte(kid)))
}

func wrapMeta(err error) error {
	if err != nil {
		return fmt.Errorf("keys: rotation claim: %w", err)
	}
	return nil
}

// prune deletes keys whose publication has ended, except the newest key of
// each algorithm (it anchors the next claim). Keys another node deleted
// first are ignored.
func (m *Manager) prune(ctx context.Context, snap *snapshot) error {
	now := m.now()
	newest := map[jose.SignatureAlgorithm]*entry{}
	for _, e := range snap.entries {
		newest[e.alg] = e // entries are sorted, so the last one wins
	}
	var errs []error
	for _, e := range snap.entries {
		if e == newest[e.alg] || now.Before(snap.publishUntil[e.row.ID]) {
			continue
		}
		err := m.Store.DeleteSigningKey(ctx, e.row.ID)
		switch {
		case err == nil:
			m.logger().Info("keys: deleted expired signing key", "kid", e.row.ID, "alg", e.row.Algorithm)
		case !errors.Is(err, store.ErrNotFound):
			errs = append(errs, fmt.Errorf("keys: delete signing key %s: %w", e.row.ID, err))
		}
	}
	return errors.Join(errs...)
}
