package session

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/vigil-idp/vigil/internal/store"
)

// ClientInfo describes the device a session was started from.
type ClientInfo struct {
	IP        string
	UserAgent string
	DeviceID  string
}

// Reasons written to RevokedReason and to events by this package.
const (
	ReasonIdleTimeout  = "idle timeout"
	ReasonUserDisabled = "user disabled or deleted"
	ReasonValidFrom    = "signed in before signInSessionsValidFromDateTime"
)

// Start creates an SSO session for a user who has just signed in
// interactively with the methods amr (RFC 8176 values, e.g. "pwd"): its
// CreatedAt, AuthTime and LastActiveAt are now. The error wraps
// store.ErrNotFound when the user does not exist.
func (s *Service) Start(ctx context.Context, userID string, amr []string, info ClientInfo) (store.Session, error) {
	now := s.now()
	sess := store.Session{
		ID: s.newID(), UserID: userID, CreatedAt: now, AuthTime: now, LastActiveAt: now,
		AMR: slices.Clone(amr), IP: info.IP, UserAgent: info.UserAgent, DeviceID: info.DeviceID,
	}
	if err := s.Store.CreateSession(ctx, sess); err != nil {
		return store.Session{}, fmt.Errorf("session: start for user %s: %w", userID, err)
	}
	return sess, nil
}

// Reauthenticated records a fresh interactive sign-in in a live session
// (prompt=login, max_age, sign-in frequency): AuthTime and LastActiveAt
// become now and AMR becomes amr. It returns ErrSessionEnded when the
// session is unknown or revoked.
func (s *Service) Reauthenticated(ctx context.Context, sid string, amr []string) (store.Session, error) {
	now := s.now()
	sess, err := s.Store.UpdateSession(ctx, sid, func(old store.Session) (store.Session, error) {
		if old.RevokedAt != nil {
			return old, fmt.Errorf("%w: session %s was revoked", ErrSessionEnded, sid)
		}
		old.AuthTime, old.LastActiveAt, old.AMR = now, now, slices.Clone(amr)
		return old, nil
	})
	if errors.Is(err, store.ErrNotFound) {
		return store.Session{}, fmt.Errorf("%w: session %s does not exist", ErrSessionEnded, sid)
	}
	if err != nil {
		return store.Session{}, fmt.Errorf("session: reauthenticate %s: %w", sid, err)
	}
	return sess, nil
}

// Check decides whether session sid may be used for clientID (an SSO hit at
// the authorization endpoint). It returns the session and its user, and:
//   - ErrSessionEnded when the session is unknown or revoked, its user is
//     deleted or disabled, it began (or was last authenticated) before the
//     user's signInSessionsValidFromDateTime, or it was unused longer than
//     the global idle timeout. A live session found in one of these states
//     is ended at once (End), so back-channel logout and CAEP events go out;
//   - ErrReauthRequired when the client's effective policy wants a fresh
//     interactive sign-in: sign-in frequency, every time (Entra allows
//     EveryTimeSkew), or a per-application idle timeout stricter than the
//     global one. The session itself stays live.
func (s *Service) Check(ctx context.Context, sid, clientID string) (store.Session, store.User, error) {
	sess, err := s.Store.GetSession(ctx, sid)
	if errors.Is(err, store.ErrNotFound) {
		return store.Session{}, store.User{}, fmt.Errorf("%w: session %s does not exist", ErrSessionEnded, sid)
	}
	if err != nil {
		return store.Session{}, store.User{}, fmt.Errorf("session: check %s: %w", sid, err)
	}
	if sess.RevokedAt != nil {
		return sess, store.User{}, fmt.Errorf("%w: session %s was revoked (%s)", ErrSessionEnded, sid, sess.RevokedReason)
	}
	user, err := s.Store.GetUser(ctx, sess.UserID)
	switch {
	case errors.Is(err, store.ErrNotFound), err == nil && !user.AccountEnabled:
		return sess, user, s.endLazily(ctx, sess, ReasonUserDisabled)
	case err != nil:
		return store.Session{}, store.User{}, fmt.Errorf("session: check %s: user: %w", sid, err)
	case sess.CreatedAt.Before(user.SignInSessionsValidFrom) || sess.AuthTime.Before(user.SignInSessionsValidFrom):
		return sess, user, s.endLazily(ctx, sess, ReasonValidFrom)
	}
	global, err := s.EffectivePolicy(ctx, "")
	if err != nil {
		return store.Session{}, store.User{}, err
	}
	p, err := s.EffectivePolicy(ctx, clientID)
	if err != nil {
		return store.Session{}, store.User{}, err
	}
	now := s.now()
	idle := now.Sub(sess.LastActiveAt)
	authAge := now.Sub(sess.AuthTime)
	switch {
	case global.IdleTimeout > 0 && idle >= global.IdleTimeout:
		return sess, user, s.endLazily(ctx, sess, ReasonIdleTimeout)
	case p.IdleTimeout > 0 && idle >= p.IdleTimeout:
		return sess, user, fmt.Errorf("%w: idle %s, the application's idle timeout is %s", ErrReauthRequired, FormatDuration(idle), FormatDuration(p.IdleTimeout))
	case p.SignInEveryTime && authAge > EveryTimeSkew:
		return sess, user, fmt.Errorf("%w: the application requires sign-in every time", ErrReauthRequired)
	case p.SignInFrequency > 0 && authAge >= p.SignInFrequency:
		return sess, user, fmt.Errorf("%w: last sign-in %s ago, sign-in frequency is %s", ErrReauthRequired, FormatDuration(authAge), FormatDuration(p.SignInFrequency))
	}
	return sess, user, nil
}

// endLazily ends a session found unusable and returns the ErrSessionEnded
// to report (or the failure to end it).
func (s *Service) endLazily(ctx context.Context, sess store.Session, reason string) error {
	if err := s.End(ctx, sess.ID, reason, Initiator{}); err != nil {
		return err
	}
	return fmt.Errorf("%w: session %s: %s", ErrSessionEnded, sess.ID, reason)
}

// Touch records use of a session by clientID: LastActiveAt becomes now and
// clientID joins ClientIDs (the clients back-channel logout notifies). It
// returns ErrSessionEnded when the session does not exist.
func (s *Service) Touch(ctx context.Context, sid, clientID string) error {
	err := s.Store.TouchSession(ctx, sid, s.now(), clientID)
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("%w: session %s does not exist", ErrSessionEnded, sid)
	}
	if err != nil {
		return fmt.Errorf("session: touch %s: %w", sid, err)
	}
	return nil
}

// End ends a session (logout, admin revocation of one session, or a
// session found expired): in one transaction it marks the session revoked,
// revokes every refresh token of the session, and appends an
// EventSessionRevoked outbox event, from which the back-channel logout
// worker notifies the session's clients (OpenID Connect Back-Channel Logout
// 1.0) and the SSF transmitter sends CAEP session-revoked (the payload is
// internal/revocation's Event, as for administrative revocations). Ending a session
// that already ended does nothing. The error wraps store.ErrNotFound for an
// unknown session.
func (s *Service) End(ctx context.Context, sid, reason string, by Initiator) error {
	now := s.now()
	eventID := s.newID()
	err := s.inTx(ctx, func(tx Tx) error {
		sess, err := tx.GetSession(ctx, sid)
		if err != nil {
			return err
		}
		revoked, err := tx.RevokeSession(ctx, sid, now, reason)
		if err != nil || !revoked {
			return err
		}
		if _, err := tx.RevokeRefreshTokensOfSession(ctx, sid, now, reason); err != nil {
			return err
		}
		u, err := tx.GetUser(ctx, sess.UserID)
		if err != nil && !errors.Is(err, store.ErrNotFound) { // a deleted user's session ends too
			return err
		}
		_, err = tx.AppendOutbox(ctx, endedEvent(eventID, u, sess, now, reason, by))
		return err
	})
	if err != nil {
		return fmt.Errorf("session: end %s: %w", sid, err)
	}
	return nil
}

// AccessActive applies the validity rule to a verified delegated access
// token (RFC 9068) of userID in session sid (may be "") issued at iat: it
// reports false when the user is deleted or disabled, iat is before the
// user's signInSessionsValidFromDateTime, or the session was revoked or no
// longer exists. Introspection (RFC 7662) calls it so a revoked user's
// access token is inactive at once, although it has not expired.
func (s *Service) AccessActive(ctx context.Context, userID, sid string, iat time.Time) (bool, error) {
	a, err := s.CheckAccess(ctx, userID, sid, iat)
	return a.Active, err
}

// Access is the verdict of CheckAccess on a delegated access token.
type Access struct {
	Active bool
	// ValidFrom, for a token no longer active, is when a new token must
	// be issued at or after (whole seconds, rounded up: tokens carry iat
	// in seconds): the user's signInSessionsValidFromDateTime, or when the
	// token's session ended. Zero for a deleted or disabled user, whom no
	// new token helps.
	ValidFrom time.Time
}

// CheckAccess is AccessActive with the time a replacement token must be
// issued from, for the claims challenge of continuous access evaluation.
func (s *Service) CheckAccess(ctx context.Context, userID, sid string, iat time.Time) (Access, error) {
	u, err := s.Store.GetUser(ctx, userID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return Access{}, nil
	case err != nil:
		return Access{}, fmt.Errorf("session: access token user: %w", err)
	case !u.AccountEnabled:
		return Access{}, nil
	case iat.Before(u.SignInSessionsValidFrom):
		return Access{ValidFrom: TokenValidFrom(u.SignInSessionsValidFrom)}, nil
	case sid == "":
		return Access{Active: true}, nil
	}
	sess, err := s.Store.GetSession(ctx, sid)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return Access{ValidFrom: TokenValidFrom(s.now())}, nil
	case err != nil:
		return Access{}, fmt.Errorf("session: access token session: %w", err)
	case sess.UserID != userID:
		return Access{}, nil
	case sess.RevokedAt != nil:
		return Access{ValidFrom: TokenValidFrom(*sess.RevokedAt)}, nil
	}
	return Access{Active: true}, nil
}

// TokenValidFrom is the earliest iat an access token may carry to be good
// after sessions were revoked at t: access tokens carry iat in whole
// seconds and one whose iat is before t is refused, so it is t rounded up
// to the second. The token service issues no iat below it, and a claims
// challenge asks for a token not before it.
func TokenValidFrom(t time.Time) time.Time {
	if s := t.Truncate(time.Second); !s.Equal(t) {
		return s.Add(time.Second)
	}
	return t
}
