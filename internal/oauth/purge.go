package oauth

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/vigil-idp/vigil/internal/retention"
)

// Defaults of CodePurger.
const (
	// DefaultCodeRetention keeps expired codes this long, so that a late
	// replay of a used authorization code is still recognised (and its
	// tokens revoked, RFC 6749 §4.1.2) rather than answered as unknown.
	DefaultCodeRetention = 24 * time.Hour
	// DefaultPurgeBatch bounds the rows one statement deletes.
	DefaultPurgeBatch = 1000
)

// ExpiredCodeStore deletes expired authorization and device codes;
// store.Store implements it.
type ExpiredCodeStore interface {
	DeleteExpiredAuthCodes(ctx context.Context, before time.Time, limit int) (int, error)
	DeleteExpiredDeviceCodes(ctx context.Context, before time.Time, limit int) (int, error)
}

// ExpiredAssertionStore deletes expired client assertion ids;
// store.Store implements it.
type ExpiredAssertionStore interface {
	DeleteExpiredClientAssertionIDs(ctx context.Context, before time.Time, limit int) (int, error)
}

// CodePurger deletes authorization codes and device codes that expired
// more than Retention ago, in batches, so the tables (and the space of user
// codes, which are unique) do not fill up. Any node may run it; deletes are
// idempotent. Build it as a struct literal; Codes is required.
type CodePurger struct {
	// Codes is the store.
	Codes ExpiredCodeStore
	// Assertions, when set, also loses the client assertion ids that
	// expired (no retention: an expired assertion is refused anyway).
	Assertions ExpiredAssertionStore
	// Retention is how long expired codes are kept; 0 means
	// DefaultCodeRetention.
	Retention time.Duration
	// Batch bounds each delete; 0 means DefaultPurgeBatch.
	Batch int
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Logger receives failures; nil discards.
	Logger *slog.Logger
}

// Purge deletes every code expired before now − Retention, batch by batch,
// and returns how many of each it deleted.
func (p *CodePurger) Purge(ctx context.Context) (authCodes, deviceCodes int, err error) {
	now := time.Now()
	if p.Now != nil {
		now = p.Now()
	}
	before := now.Add(-firstPositive(p.Retention, DefaultCodeRetention)).UTC()
	batch := p.Batch
	if batch <= 0 {
		batch = DefaultPurgeBatch
	}
	for _, step := range []struct {
		del   func(context.Context, time.Time, int) (int, error)
		total *int
	}{{p.Codes.DeleteExpiredAuthCodes, &authCodes}, {p.Codes.DeleteExpiredDeviceCodes, &deviceCodes}} {
		if *step.total, err = retention.Sweep(ctx, step.del, before, batch); err != nil {
			return authCodes, deviceCodes, fmt.Errorf("oauth: purge expired codes: %w", err)
		}
	}
	if p.Assertions != nil {
		if _, err := retention.Sweep(ctx, p.Assertions.DeleteExpiredClientAssertionIDs, now.UTC(), batch); err != nil {
			return authCodes, deviceCodes, fmt.Errorf("oauth: purge expired client assertion ids: %w", err)
		}
	}
	return authCodes, deviceCodes, nil
}

// Run purges every interval until ctx is done.
func (p *CodePurger) Run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if _, _, err := p.Purge(ctx); err != nil && ctx.Err() == nil && p.Logger != nil {
			p.Logger.Error("oauth: purge expired codes", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
