package oauth

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/google/uuid"

	"github.com/vigil-idp/vigil/internal/session"
	"github.com/vigil-idp/vigil/internal/store"
)

// Back-channel logout (OpenID Connect Back-Channel Logout 1.0).
const (
	// LogoutTokenType is the typ header of logout tokens (§2.4).
	LogoutTokenType = "logout+jwt"
	// BackchannelLogoutEvent is the member of the events claim (§2.4).
	BackchannelLogoutEvent = "http://schemas.openid.net/event/backchannel-logout"
	// BackchannelQueue is the store.Deliveries queue of logout tokens.
	BackchannelQueue = "backchannel-logout"
	// BackchannelCursor is the store.Cursors name of the worker's outbox
	// position.
	BackchannelCursor = "backchannel-logout"
	// LogoutTokenLifetime is how long a logout token is valid; the
	// specification recommends at most two minutes (§2.4).
	LogoutTokenLifetime = 2 * time.Minute
)

// Defaults of BackchannelLogout's tuning fields.
const (
	DefaultBackchannelPoll        = time.Second
	DefaultBackchannelAttempts    = 8
	DefaultBackchannelBackoff     = 5 * time.Second
	DefaultBackchannelMaxBackoff  = time.Hour
	DefaultBackchannelLease       = time.Minute
	DefaultBackchannelTimeout     = 10 * time.Second
	DefaultBackchannelConcurrency = 8
	backchannelBatch              = 100
)

// BackchannelStore is what the back-channel logout worker reads and
// writes; store.Store implements it. Inside InTx it needs store.Deliveries
// and store.Cursors.
type BackchannelStore interface {
	ListOutbox(ctx context.Context, after int64, limit int) ([]store.OutboxEvent, error)
	GetCursor(ctx context.Context, name string) (int64, error)
	ClaimDeliveries(ctx context.Context, queue string, now time.Time, lease time.Duration, limit int) ([]store.Delivery, error)
	CompleteDelivery(ctx context.Context, id string, at time.Time) error
	FailDelivery(ctx context.Context, id string, at time.Time, next time.Time, dead bool, lastErr string) error
	GetApplicationByAppID(ctx context.Context, appID string) (store.Application, error)
	ListSessionsOfUser(ctx context.Context, userID string, includeRevoked bool) ([]store.Session, error)
	InTx(ctx context.Context, fn func(tx store.Tx) error) error
}

// backchannelTx is what the worker does in one transaction.
type backchannelTx interface {
	store.Deliveries
	store.Cursors
}

// BackchannelLogout is the worker that notifies relying parties when
// sessions end (OpenID Connect Back-Channel Logout 1.0). It reads
// session.EventSessionRevoked events from the outbox by cursor and, for
// each ended session and each client that received tokens in it and
// registered a backchannel_logout_uri, enqueues a durable delivery (the
// enqueue and the cursor move commit together, so each event is enqueued
// once even with several nodes). It then POSTs each due delivery as
// logout_token=<JWT> (§2.5), signed RS256 with typ logout+jwt and claims
// iss, aud (the client), iat, exp (iat + LogoutTokenLifetime), jti, sid,
// sub and events — never nonce (§2.4). Deliveries are leased
// (store.Deliveries.ClaimDeliveries), so nodes never send the same one at
// once; a failure is retried with exponential backoff (Backoff doubling
// per attempt, capped at MaxBackoff) until MaxAttempts, then marked dead. A
// 4xx other than 408 and 429 is final at once: the relying party refused
// the token (§2.8), and sending it again would not help.
//
// Build it as a struct literal; Issuer, Store and Signers are required.
type BackchannelLogout struct {
	// Issuer is the iss claim.
	Issuer string
	// Store holds the outbox, cursors, deliveries, applications and
	// sessions.
	Store BackchannelStore
	// Signers supplies the RS256 key.
	Signers Signers
	// Client sends the logout requests; nil means a client with
	// DefaultBackchannelTimeout that does not follow redirects.
	Client *http.Client
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// NewID returns delivery ids (the jti); nil means random UUIDs.
	NewID func() string
	// Logger receives delivery failures; nil discards them.
	Logger *slog.Logger
	// Poll is how often Run looks for work; 0 means
	// DefaultBackchannelPoll.
	Poll time.Duration
	// Wake, when not nil, makes Run look for work at once (e.g. on a
	// PostgreSQL NOTIFY).
	Wake <-chan struct{}
	// MaxAttempts bounds the attempts per delivery; 0 means
	// DefaultBackchannelAttempts.
	MaxAttempts int
	// Backoff is the delay after the first failure; 0 means
	// DefaultBackchannelBackoff.
	Backoff time.Duration
	// MaxBackoff caps the delay; 0 means DefaultBackchannelMaxBackoff.
	MaxBackoff time.Duration
	// Lease is how long a claimed delivery is reserved for this node; 0
	// means DefaultBackchannelLease. It must exceed the client timeout.
	Lease time.Duration
	// Concurrency bounds parallel requests; 0 means
	// DefaultBackchannelConcurrency.
	Concurrency int

	clientOnce sync.Once
	client     *http.Client
}

// logoutDelivery is the payload of one queued logout token: where to send
// it and what it says. The token itself is signed at each attempt, so its
// iat and exp are fresh; its jti is the delivery id.
type logoutDelivery struct {
	ClientID  string `json:"clientId"`
	URI       string `json:"uri"`
	Subject   string `json:"sub"`
	SessionID string `json:"sid"`
	EventID   string `json:"eventId"`
}

// logoutClaims is the claims set of a logout token (§2.4).
type logoutClaims struct {
	Issuer   string                     `json:"iss"`
	Audience string                     `json:"aud"`
	IssuedAt *jwt.NumericDate           `json:"iat"`
	Expiry   *jwt.NumericDate           `json:"exp"`
	ID       string                     `json:"jti"`
	Subject  string                     `json:"sub,omitempty"`
	SID      string                     `json:"sid,omitempty"`
	Events   map[string]json.RawMessage `json:"events"`
}

// Run enqueues and delivers until ctx is done, looking for work every Poll
// (or on Wake). Failures are logged and retried at the next turn.
func (b *BackchannelLogout) Run(ctx context.Context) {
	t := time.NewTicker(firstPositive(b.Poll, DefaultBackchannelPoll))
	defer t.Stop()
	for {
		if _, _, err := b.Step(ctx); err != nil && ctx.Err() == nil {
			b.logger().ErrorContext(ctx, "oauth: back-channel logout", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-b.Wake:
		}
	}
}

// Step does one turn: it enqueues the deliveries of every new outbox event,
// then attempts the due deliveries once. It returns how many deliveries it
// enqueued and attempted.
func (b *BackchannelLogout) Step(ctx context.Context) (enqueued, attempted int, err error) {
	if b.Issuer == "" || b.Store == nil || b.Signers == nil {
		return 0, 0, errors.New("oauth: BackchannelLogout needs Issuer, Store and Signers")
	}
	enqueued, err = b.pump(ctx)
	if err != nil {
		return enqueued, 0, err
	}
	attempted, err = b.deliver(ctx)
	return enqueued, attempted, err
}

// pump moves outbox events past the cursor into the delivery queue.
func (b *BackchannelLogout) pump(ctx context.Context) (int, error) {
	total := 0
	for {
		from, err := b.Store.GetCursor(ctx, BackchannelCursor)
		if err != nil {
			return total, fmt.Errorf("oauth: back-channel cursor: %w", err)
		}
		events, err := b.Store.ListOutbox(ctx, from, backchannelBatch)
		if err != nil || len(events) == 0 {
			return total, err
		}
		var ds []store.Delivery
		for _, ev := range events {
			more, err := b.deliveriesFor(ctx, ev)
			if err != nil {
				return total, err
			}
			ds = append(ds, more...)
		}
		to := events[len(events)-1].Seq
		err = b.Store.InTx(ctx, func(tx store.Tx) error {
			t, ok := tx.(backchannelTx)
			if !ok {
				return fmt.Errorf("oauth: the store's transaction (%T) lacks deliveries and cursors", tx)
			}
			if len(ds) > 0 {
				if err := t.EnqueueDeliveries(ctx, ds...); err != nil {
					return err
				}
			}
			return t.AdvanceCursor(ctx, BackchannelCursor, from, to)
		})
		switch {
		case errors.Is(err, store.ErrConflict): // another node enqueued them
			continue
		case err != nil:
			return total, fmt.Errorf("oauth: enqueue logout tokens: %w", err)
		}
		total += len(ds)
	}
}

// deliveriesFor returns the deliveries an outbox event calls for: one per
// ended session and client with a backchannel_logout_uri.
func (b *BackchannelLogout) deliveriesFor(ctx context.Context, ev store.OutboxEvent) ([]store.Delivery, error) {
	if ev.Type != session.EventSessionRevoked || ev.UserID == "" {
		return nil, nil
	}
	var p session.SessionRevoked
	if err := json.Unmarshal(ev.Payload, &p); err != nil {
		b.logger().ErrorContext(ctx, "oauth: back-channel logout: bad event payload; skipped", "seq", ev.Seq, "err", err)
		return nil, nil
	}
	ended := p.Sessions
	if len(ended) == 0 { // a bulk revocation that did not list them
		all, err := b.Store.ListSessionsOfUser(ctx, ev.UserID, true)
		if err != nil {
			return nil, fmt.Errorf("oauth: sessions of %s: %w", ev.UserID, err)
		}
		for _, s := range all {
			if s.RevokedAt != nil && s.RevokedAt.Equal(p.RevokedAt) && (ev.SessionID == "" || ev.SessionID == s.ID) {
				ended = append(ended, session.EndedSession{ID: s.ID, ClientIDs: s.ClientIDs})
			}
		}
	}
	now := b.now()
	var ds []store.Delivery
	uris := map[string]string{}
	for _, s := range ended {
		for _, clientID := range s.ClientIDs {
			uri, ok := uris[clientID]
			if !ok {
				app, err := b.Store.GetApplicationByAppID(ctx, clientID)
				switch {
				case errors.Is(err, store.ErrNotFound):
				case err != nil:
					return nil, fmt.Errorf("oauth: application %s: %w", clientID, err)
				default:
					uri = app.BackchannelLogoutURI
				}
				uris[clientID] = uri
			}
			if uri == "" {
				continue
			}
			payload, _ := json.Marshal(logoutDelivery{ClientID: clientID, URI: uri, Subject: ev.UserID, SessionID: s.ID, EventID: ev.ID})
			ds = append(ds, store.Delivery{
				ID: b.newID(), Queue: BackchannelQueue, EventSeq: ev.Seq, Payload: payload,
				NextAttemptAt: now, CreatedAt: now,
			})
		}
	}
	return ds, nil
}

// deliver attempts the due deliveries, Concurrency at a time, until none
// is due.
func (b *BackchannelLogout) deliver(ctx context.Context) (int, error) {
	n := cmp.Or(max(b.Concurrency, 0), DefaultBackchannelConcurrency)
	total := 0
	for {
		ds, err := b.Store.ClaimDeliveries(ctx, BackchannelQueue, b.now(), firstPositive(b.Lease, DefaultBackchannelLease), n)
		if err != nil {
			return total, fmt.Errorf("oauth: claim logout deliveries: %w", err)
		}
		if len(ds) == 0 {
			return total, nil
		}
		errs := make([]error, len(ds))
		var wg sync.WaitGroup
		for i, d := range ds {
			wg.Go(func() { errs[i] = b.attempt(ctx, d) })
		}
		wg.Wait()
		total += len(ds)
		if err := errors.Join(errs...); err != nil {
			return total, err
		}
		if len(ds) < n {
			return total, nil
		}
	}
}

// attempt sends one delivery and records the outcome; the error is a
// failure to record it (the store), not of the relying party.
func (b *BackchannelLogout) attempt(ctx context.Context, d store.Delivery) error {
	var ld logoutDelivery
	if err := json.Unmarshal(d.Payload, &ld); err != nil {
		return b.Store.FailDelivery(ctx, d.ID, b.now(), b.now(), true, "bad payload: "+err.Error())
	}
	final, sendErr := b.send(ctx, d.ID, ld)
	now := b.now()
	if sendErr == nil {
		return b.Store.CompleteDelivery(ctx, d.ID, now)
	}
	dead := final || d.Attempts+1 >= cmp.Or(b.MaxAttempts, DefaultBackchannelAttempts)
	next := now.Add(b.backoff(d.Attempts))
	b.logger().WarnContext(ctx, "oauth: back-channel logout delivery failed", "delivery", d.ID, "client", ld.ClientID,
		"uri", ld.URI, "attempt", d.Attempts+1, "dead", dead, "err", sendErr)
	return b.Store.FailDelivery(ctx, d.ID, now, next, dead, truncate(sendErr.Error(), 500))
}

// backoff is the delay after the attempts-th failure (0-based): Backoff
// doubling each time, capped at MaxBackoff.
func (b *BackchannelLogout) backoff(attempts int) time.Duration {
	d, limit := firstPositive(b.Backoff, DefaultBackchannelBackoff), firstPositive(b.MaxBackoff, DefaultBackchannelMaxBackoff)
	for range attempts {
		if d >= limit/2 {
			return limit
		}
		d *= 2
	}
	return min(d, limit)
}

// send signs and POSTs one logout token (§2.5). final reports a refusal
// that retrying cannot cure.
func (b *BackchannelLogout) send(ctx context.Context, jti string, ld logoutDelivery) (final bool, err error) {
	tok, err := b.LogoutToken(ctx, jti, ld.ClientID, ld.Subject, ld.SessionID)
	if err != nil {
		return false, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, ld.URI, strings.NewReader(url.Values{"logout_token": {tok}}.Encode()))
	if err != nil {
		return true, fmt.Errorf("bad backchannel_logout_uri: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := b.httpClient().Do(req)
	if err != nil {
		return false, err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	switch s := resp.StatusCode; {
	case s >= 200 && s < 300:
		return false, nil
	case s >= 400 && s < 500 && s != http.StatusRequestTimeout && s != http.StatusTooManyRequests:
		return true, fmt.Errorf("relying party refused the logout token: %s: %s", resp.Status, body)
	default:
		return false, fmt.Errorf("relying party answered %s: %s", resp.Status, body)
	}
}

// LogoutToken signs a logout token (§2.4) for client aud about user sub's
// session sid, with the given jti, valid for LogoutTokenLifetime.
func (b *BackchannelLogout) LogoutToken(ctx context.Context, jti, aud, sub, sid string) (string, error) {
	s, err := b.Signers.Signer(ctx, jose.RS256)
	if err != nil {
		return "", fmt.Errorf("oauth: logout token signer: %w", err)
	}
	now := b.now()
	return s.Sign(LogoutTokenType, logoutClaims{
		Issuer: b.Issuer, Audience: aud, IssuedAt: jwt.NewNumericDate(now),
		Expiry: jwt.NewNumericDate(now.Add(LogoutTokenLifetime)), ID: jti, Subject: sub, SID: sid,
		Events: map[string]json.RawMessage{BackchannelLogoutEvent: json.RawMessage("{}")},
	})
}

func (b *BackchannelLogout) httpClient() *http.Client {
	if b.Client != nil {
		return b.Client
	}
	b.clientOnce.Do(func() {
		b.client = &http.Client{
			Timeout: DefaultBackchannelTimeout,
			CheckRedirect: func(*http.Request, []*http.Request) error {
				return http.ErrUseLastResponse // a redirect is not a 200 (§2.8)
			},
		}
	})
	return b.client
}

func (b *BackchannelLogout) now() time.Time {
	if b.Now != nil {
		return b.Now().UTC()
	}
	return time.Now().UTC()
}

func (b *BackchannelLogout) newID() string {
	if b.NewID != nil {
		return b.NewID()
	}
	return uuid.NewString()
}

func (b *BackchannelLogout) logger() *slog.Logger {
	if b.Logger != nil {
		return b.Logger
	}
	return slog.New(slog.DiscardHandler)
}
