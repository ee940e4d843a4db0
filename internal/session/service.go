package session

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/vigil-idp/vigil/internal/secret"
	"github.com/vigil-idp/vigil/internal/store"
)

// Errors callers branch on with errors.Is. Each is wrapped with detail for
// logs; the detail is never meant for clients.
var (
	// ErrSessionEnded means the SSO session no longer works: revoked,
	// idle-timed-out, its user disabled or deleted, or created before the
	// user's signInSessionsValidFromDateTime. The user must sign in again
	// (OIDC Core §3.1.2.6 login_required for prompt=none).
	ErrSessionEnded = errors.New("session: session ended")
	// ErrReauthRequired means the session is live but the effective policy
	// (sign-in frequency, every-time, or a stricter per-application idle
	// timeout) demands a fresh interactive sign-in; call Reauthenticated
	// once the user has signed in.
	ErrReauthRequired = errors.New("session: re-authentication required")
	// ErrTokenInvalid means a refresh token is unknown, expired (inactivity
	// or absolute age), revoked, issued before the user's
	// signInSessionsValidFromDateTime, issued to another client, or its
	// user is disabled or deleted: RFC 6749 §5.2 invalid_grant.
	ErrTokenInvalid = errors.New("session: refresh token invalid")
	// ErrTokenReused means a refresh token that was already rotated was
	// presented again (RFC 9700 §4.14.2): its whole family has been revoked
	// and an audit record written. Also invalid_grant on the wire.
	ErrTokenReused = errors.New("session: refresh token reused")
	// ErrInvalidPolicy wraps every policy validation failure; the message
	// names each bad field.
	ErrInvalidPolicy = errors.New("session: invalid policy")
)

// Tx is what the service does inside one transaction: read users, and the
// token-service aggregates. store.Tx satisfies it.
type Tx interface {
	GetUser(ctx context.Context, id string) (store.User, error)
	store.Sessions
	store.RefreshTokens
	store.Policies
	store.Audit
	store.Outbox
}

// Store is what the service needs from a storage backend; store.Store
// satisfies it. InTx gives one transaction (see store.Store.InTx): fn may run
// more than once on a serialization failure, so the service keeps no state
// across attempts.
type Store interface {
	Tx
	InTx(ctx context.Context, fn func(tx store.Tx) error) error
}

// Service manages sessions, refresh tokens and policies. Build it as a
// struct literal: Store and Secrets are required. A Service is safe for
// concurrent use and must not be copied after first use.
type Service struct {
	// Store is the backend. Required.
	Store Store
	// Secrets makes the keyed hashes of refresh-token values. Required.
	Secrets *secret.Hasher
	// Now is the clock; nil means time.Now. Times are stored in UTC, to the
	// microsecond.
	Now func() time.Time
	// NewID returns new session, token and event ids; nil means random
	// (v4) UUIDs.
	NewID func() string
	// Logger receives audit-worthy events and private causes; nil
	// discards.
	Logger *slog.Logger
	// PolicyCacheTTL bounds how long EffectivePolicy trusts its in-memory
	// copy of the stored policies, so a change made on another node takes
	// effect within it; 0 means DefaultPolicyCacheTTL, negative disables
	// the cache. Changes made through this Service apply at once.
	PolicyCacheTTL time.Duration

	mu       sync.Mutex
	cache    *policyCache // nil until first load or after a local change
	cacheGen uint64       // bumped by every local change
}

// now returns the current time in UTC truncated to the microsecond, the
// precision both SQL dialects store, so a time read back compares equal to
// the one written.
func (s *Service) now() time.Time {
	t := time.Now()
	if s.Now != nil {
		t = s.Now()
	}
	return t.UTC().Truncate(time.Microsecond)
}

func (s *Service) newID() string {
	if s.NewID != nil {
		return s.NewID()
	}
	return uuid.NewString()
}

func (s *Service) logger() *slog.Logger {
	if s.Logger != nil {
		return s.Logger
	}
	return slog.New(slog.DiscardHandler)
}

// inTx runs fn in one transaction with the session view of tx.
func (s *Service) inTx(ctx context.Context, fn func(tx Tx) error) error {
	return s.Store.InTx(ctx, func(tx store.Tx) error {
		t, ok := tx.(Tx)
		if !ok {
			return fmt.Errorf("session: the store's transaction (%T) lacks the session aggregates", tx)
		}
		return fn(t)
	})
}
