package retention

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"time"
)

// Defaults of Purger.
const (
	// DefaultTokenGrace keeps an expired or revoked refresh token a day,
	// so that a late presentation is still answered as revoked.
	DefaultTokenGrace = 24 * time.Hour
	// DefaultCodeGrace keeps expired authorization and device codes a
	// day, so that a late replay of a used authorization code is still
	// recognised (and its tokens revoked, RFC 6749 §4.1.2) rather than
	// answered as unknown.
	DefaultCodeGrace = 24 * time.Hour
	// DefaultEventRetention keeps spent events and deliveries a week.
	DefaultEventRetention = 7 * 24 * time.Hour
	// MinEventRetention is the shortest EventRetention allowed: more than
	// the 48 h an SSF stream may backfill.
	MinEventRetention = 72 * time.Hour
	// DefaultBatch bounds the rows one statement deletes.
	DefaultBatch = 1000
)

// Store deletes spent rows; store.Store implements it.
type Store interface {
	DeleteExpiredRefreshTokens(ctx context.Context, before time.Time, limit int) (int, error)
	DeleteExpiredAuthCodes(ctx context.Context, before time.Time, limit int) (int, error)
	DeleteExpiredDeviceCodes(ctx context.Context, before time.Time, limit int) (int, error)
	DeleteExpiredClientAssertionIDs(ctx context.Context, before time.Time, limit int) (int, error)
	PurgeOutbox(ctx context.Context, before time.Time, limit int) (int, error)
	PurgeDeliveries(ctx context.Context, before time.Time, limit int) (int, error)
}

// Purger deletes spent rows (see the package documentation). Build it as
// a struct literal; Store is required.
type Purger struct {
	Store Store
	// TokenGrace: 0 means DefaultTokenGrace.
	TokenGrace time.Duration
	// CodeGrace: 0 means DefaultCodeGrace.
	CodeGrace time.Duration
	// EventRetention: 0 means DefaultEventRetention; less than
	// MinEventRetention is raised to it.
	EventRetention time.Duration
	// Batch: 0 means DefaultBatch.
	Batch int
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Logger receives failures and what was deleted; nil discards.
	Logger *slog.Logger
}

// Counts is what one Purge deleted.
type Counts struct {
	RefreshTokens, AuthCodes, DeviceCodes, AssertionIDs, OutboxEvents, Deliveries int
}

// Purge deletes every spent row now, batch by batch.
func (p *Purger) Purge(ctx context.Context) (Counts, error) {
	now := time.Now()
	if p.Now != nil {
		now = p.Now()
	}
	now = now.UTC()
	grace := cmp.Or(max(p.TokenGrace, 0), DefaultTokenGrace)
	codes := cmp.Or(max(p.CodeGrace, 0), DefaultCodeGrace)
	keep := max(cmp.Or(max(p.EventRetention, 0), DefaultEventRetention), MinEventRetention)
	var c Counts
	for _, step := range []struct {
		what   string
		del    func(context.Context, time.Time, int) (int, error)
		before time.Time
		total  *int
	}{
		{"refresh tokens", p.Store.DeleteExpiredRefreshTokens, now.Add(-grace), &c.RefreshTokens},
		{"authorization codes", p.Store.DeleteExpiredAuthCodes, now.Add(-codes), &c.AuthCodes},
		{"device codes", p.Store.DeleteExpiredDeviceCodes, now.Add(-codes), &c.DeviceCodes},
		// An expired assertion is refused anyway: no grace.
		{"client assertion ids", p.Store.DeleteExpiredClientAssertionIDs, now, &c.AssertionIDs},
		{"outbox events", p.Store.PurgeOutbox, now.Add(-keep), &c.OutboxEvents},
		{"deliveries", p.Store.PurgeDeliveries, now.Add(-keep), &c.Deliveries},
	} {
		n, err := Sweep(ctx, step.del, step.before, p.Batch)
		*step.total = n
		if err != nil {
			return c, fmt.Errorf("retention: purge %s: %w", step.what, err)
		}
	}
	return c, nil
}

// Sweep calls del(before, batch) until it deletes less than a batch, and
// returns the total; batch ≤ 0 means DefaultBatch.
func Sweep(ctx context.Context, del func(context.Context, time.Time, int) (int, error), before time.Time, batch int) (int, error) {
	if batch <= 0 {
		batch = DefaultBatch
	}
	total := 0
	for {
		n, err := del(ctx, before, batch)
		total += n
		if err != nil || n < batch {
			return total, err
		}
		if err := ctx.Err(); err != nil {
			return total, err
		}
	}
}

// Run purges every interval until ctx is done.
func (p *Purger) Run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		c, err := p.Purge(ctx)
		switch {
		case err != nil && ctx.Err() == nil:
			p.logger().Error("retention: purge", "err", err)
		case c != Counts{}:
			p.logger().Info("retention: purged", "refresh_tokens", c.RefreshTokens, "auth_codes", c.AuthCodes,
				"device_codes", c.DeviceCodes, "client_assertion_ids", c.AssertionIDs, "outbox_events", c.OutboxEvents,
				"deliveries", c.Deliveries)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (p *Purger) logger() *slog.Logger {
	if p.Logger != nil {
		return p.Logger
	}
	return slog.New(slog.DiscardHandler)
}
