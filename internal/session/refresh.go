package session

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/vigil-idp/vigil/internal/secret"
	"github.com/vigil-idp/vigil/internal/store"
)

// RefreshTokenBytes is how many random bytes a refresh-token value carries
// (256 bits, base64url without padding: 43 characters).
const RefreshTokenBytes = 32

// Reasons written to RevokedReason by refresh-token operations.
const (
	ReasonReuse        = "refresh token reuse detected"
	ReasonClientRevoke = "revoked by the client (RFC 7009)"
)

// ErrWrongClient is joined to ErrTokenInvalid when a refresh token is
// presented by a client other than the one it was issued to (RFC 6749 §6,
// RFC 7009 §2.1).
var ErrWrongClient = errors.New("session: refresh token issued to another client")

// NewRefresh describes a refresh token to issue after an interactive grant
// (authorization code, device code, password).
type NewRefresh struct {
	UserID    string
	SessionID string // sid; "" only for tokens not tied to a session
	ClientID  string // appId
	Scopes    []string
	// Resource is the audience of the access tokens the token buys.
	Resource string
	// Capabilities are the client capabilities declared (e.g. "cp1").
	Capabilities []string
	// AuthTime is the interactive authentication the grant rests on.
	AuthTime time.Time
	// FamilyID is the family to start; "" makes a new one. Authorization
	// codes pre-assign one so that a replayed code can revoke it.
	FamilyID string
	// SPA marks tokens issued through a SPA redirect URI: their inactivity
	// window is the policy's SPARefreshTokenInactivity (24 h by default).
	SPA bool
}

// IssueRefreshToken creates the first refresh token of a family and returns
// its value (RefreshTokenBytes random bytes, base64url); only the keyed
// hash of the value is stored. It expires after the client's effective
// inactivity window (SPA or not).
func (s *Service) IssueRefreshToken(ctx context.Context, n NewRefresh) (string, store.RefreshToken, error) {
	if n.UserID == "" || n.ClientID == "" {
		return "", store.RefreshToken{}, errors.New("session: refresh token needs a user and a client")
	}
	p, err := s.EffectivePolicy(ctx, n.ClientID)
	if err != nil {
		return "", store.RefreshToken{}, err
	}
	window := p.RefreshTokenInactivity
	if n.SPA {
		window = p.SPARefreshTokenInactivity
	}
	value, err := secret.NewToken(RefreshTokenBytes)
	if err != nil {
		return "", store.RefreshToken{}, err
	}
	now := s.now()
	rt := store.RefreshToken{
		ID: s.newID(), Hash: s.Secrets.Hash(value), FamilyID: n.FamilyID, SessionID: n.SessionID,
		UserID: n.UserID, ClientID: n.ClientID, Scopes: slices.Clone(n.Scopes), Resource: n.Resource,
		Capabilities: slices.Clone(n.Capabilities), AuthTime: n.AuthTime.UTC().Truncate(time.Microsecond),
		CreatedAt: now, ExpiresAt: now.Add(window),
	}
	if rt.FamilyID == "" {
		rt.FamilyID = s.newID()
	}
	if rt.AuthTime.IsZero() {
		rt.AuthTime = now
	}
	if err := s.Store.CreateRefreshToken(ctx, rt); err != nil {
		return "", store.RefreshToken{}, fmt.Errorf("session: issue refresh token: %w", err)
	}
	return value, rt, nil
}

// Rotation is the outcome of a successful rotation.
type Rotation struct {
	// Old is the token presented, now marked used.
	Old store.RefreshToken
	// New is its child, and Value the child's secret value.
	New   store.RefreshToken
	Value string
	// User is the token's user as read in the rotation's transaction.
	User store.User
}

// RotateRefreshToken redeems a refresh token presented by clientID and
// rotates it; see Rotate.
func (s *Service) RotateRefreshToken(ctx context.Context, value, clientID string) (old store.RefreshToken, newValue string, child store.RefreshToken, err error) {
	r, err := s.Rotate(ctx, value, clientID, nil)
	if err != nil {
		return store.RefreshToken{}, "", store.RefreshToken{}, err
	}
	return r.Old, r.Value, r.New, nil
}

// Rotate redeems a refresh token (RFC 6749 §6) presented by clientID and
// rotates it (RFC 9700 §4.14.2). The token and its user are read and the
// validity rule applied first; then one transaction marks the token used
// (compare-and-set: of concurrent redemptions exactly one wins) and creates
// its child in the same family, with the same scopes (RFC 6749 §6 requires
// them identical), resource, capabilities, session and AuthTime, returned
// with its value. The child's inactivity window is the parent's, shortened
// to the current policy's RefreshTokenInactivity when that is lower (so SPA
// families keep their shorter window, and a tightened policy applies at the
// next rotation).
//
// Reading before writing keeps the write to one RotateRefreshToken (one
// statement in PostgreSQL), and only when that finds the token used or
// revoked does a transaction read it again. A revocation that commits in
// between is still caught: it revokes the token (the compare-and-set then
// fails and the token is read again inside the transaction) or, if it
// lands after the commit, it revokes the child too, or moves the user's
// signInSessionsValidFromDateTime past the child's AuthTime.
//
// check, when not nil, runs on a token that passed every validity check,
// before anything is written; its error is returned unchanged and the
// token stays unused (the refresh grant refuses a widened scope this way
// without burning the token).
//
// Errors: ErrTokenInvalid (unknown, wrong client — also ErrWrongClient —,
// revoked, expired, past RefreshTokenMaxAge, user deleted or disabled,
// AuthTime before the user's signInSessionsValidFromDateTime or
// refreshTokensValidFromDateTime); ErrTokenReused when the token was already
// used: the whole family is revoked and an audit record written, committed
// before the error is returned.
func (s *Service) Rotate(ctx context.Context, value, clientID string, check func(store.RefreshToken) error) (Rotation, error) {
	hash := s.Secrets.Hash(value)
	now := s.now()
	t, tokUser, err := s.Store.GetRefreshTokenWithUser(ctx, hash)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return Rotation{}, fmt.Errorf("%w: unknown refresh token", ErrTokenInvalid)
	case err != nil:
		return Rotation{}, fmt.Errorf("session: rotate refresh token: %w", err)
	case t.ClientID != clientID:
		return Rotation{}, fmt.Errorf("%w: %w", ErrTokenInvalid, ErrWrongClient)
	case t.UsedAt != nil:
		return Rotation{}, s.reuse(ctx, t, now)
	}
	p, err := s.EffectivePolicy(ctx, clientID)
	if err != nil {
		return Rotation{}, err
	}
	user, refusal, err := s.check(t, p, now, func() (store.User, error) { return tokUser, nil })
	if err != nil {
		return Rotation{}, fmt.Errorf("session: rotate refresh token: %w", err)
	}
	if refusal != nil {
		return Rotation{}, refusal
	}
	if err := s.checkIdle(ctx, t, p, now); err != nil {
		return Rotation{}, err
	}
	if check != nil {
		if err := check(t); err != nil {
			return Rotation{}, err
		}
	}
	newValue, err := secret.NewToken(RefreshTokenBytes)
	if err != nil {
		return Rotation{}, err
	}
	child := store.RefreshToken{
		ID: s.newID(), Hash: s.Secrets.Hash(newValue), FamilyID: t.FamilyID, ParentID: t.ID,
		SessionID: t.SessionID, UserID: t.UserID, ClientID: t.ClientID, Scopes: t.Scopes,
		Resource: t.Resource, Capabilities: t.Capabilities, AuthTime: t.AuthTime,
		CreatedAt: now, ExpiresAt: now.Add(min(t.ExpiresAt.Sub(t.CreatedAt), p.RefreshTokenInactivity)),
	}
	// The common case, one atomic write (a single statement in PostgreSQL):
	// the token is still unused and unrevoked. Every revocation of refresh
	// tokens here runs in a transaction, which this relies on (see
	// store.RefreshTokens.RotateRefreshToken and RevokeFamily).
	switch err := s.Store.RotateRefreshToken(ctx, t.ID, now, child); {
	case err == nil:
		used := now
		t.UsedAt = &used
		return Rotation{Old: t, New: child, Value: newValue, User: user}, nil
	case !errors.Is(err, store.ErrConflict):
		return Rotation{}, fmt.Errorf("session: rotate refresh token: %w", err)
	}
	// Used or revoked since it was read (or gone): find out which in one
	// transaction, and on reuse revoke the family.
	auditID := s.newID()
	var outcome error // the refusal to return once the transaction commits
	err = s.inTx(ctx, func(tx Tx) error {
		outcome = nil
		switch err := tx.MarkRefreshTokenUsed(ctx, t.ID, now); {
		case errors.Is(err, store.ErrConflict): // used or revoked since it was read
			cur, err := tx.GetRefreshTokenByHash(ctx, hash)
			switch {
			case errors.Is(err, store.ErrNotFound):
				outcome = fmt.Errorf("%w: refresh token vanished", ErrTokenInvalid)
				return nil
			case err != nil:
				return err
			case cur.UsedAt == nil:
				outcome = fmt.Errorf("%w: revoked (%s)", ErrTokenInvalid, cur.RevokedReason)
				return nil
			}
			outcome, err = s.reused(ctx, tx, cur, now, auditID)
			return err
		case errors.Is(err, store.ErrNotFound):
			outcome = fmt.Errorf("%w: refresh token vanished", ErrTokenInvalid)
			return nil
		case err != nil:
			return err
		}
		return tx.CreateRefreshToken(ctx, child)
	})
	if err != nil {
		return Rotation{}, fmt.Errorf("session: rotate refresh token: %w", err)
	}
	if outcome != nil {
		return Rotation{}, outcome
	}
	used := now
	t.UsedAt = &used
	return Rotation{Old: t, New: child, Value: newValue, User: user}, nil
}

// reuse handles a token found already used before any transaction: it
// revokes the family (and audits) in one, and returns the ErrTokenReused
// to report.
func (s *Service) reuse(ctx context.Context, t store.RefreshToken, now time.Time) error {
	auditID := s.newID()
	var outcome error
	err := s.inTx(ctx, func(tx Tx) (err error) {
		outcome, err = s.reused(ctx, tx, t, now, auditID)
		return err
	})
	if err != nil {
		return fmt.Errorf("session: revoke reused family: %w", err)
	}
	return outcome
}

// validate applies the validity rule to an unused token. It returns the
// token's user, and the ErrTokenInvalid to report (nil when the token
// works); err is a failure to read.
func (s *Service) validate(ctx context.Context, tx Tx, t store.RefreshToken, p Policy, now time.Time) (u store.User, refusal, err error) {
	return s.check(t, p, now, func() (store.User, error) { return tx.GetUser(ctx, t.UserID) })
}

// check is validate with the user read by getUser (already read with the
// token, or read now).
func (s *Service) check(t store.RefreshToken, p Policy, now time.Time, getUser func() (store.User, error)) (u store.User, refusal, err error) {
	switch {
	case t.RevokedAt != nil:
		return u, fmt.Errorf("%w: revoked (%s)", ErrTokenInvalid, t.RevokedReason), nil
	case !now.Before(t.ExpiresAt):
		return u, fmt.Errorf("%w: expired after inactivity", ErrTokenInvalid), nil
	case p.RefreshTokenMaxAge > 0 && now.Sub(t.AuthTime) >= p.RefreshTokenMaxAge:
		return u, fmt.Errorf("%w: older than the maximum age %s", ErrTokenInvalid, FormatDuration(p.RefreshTokenMaxAge)), nil
	// Sign-in frequency holds for refreshes too (as Entra's AADSTS70043):
	// a refresh token cannot outlive the sign-in it came from.
	case p.SignInFrequency > 0 && now.Sub(t.AuthTime) >= p.SignInFrequency:
		return u, fmt.Errorf("%w: last sign-in %s ago, the sign-in frequency is %s", ErrTokenInvalid,
			FormatDuration(now.Sub(t.AuthTime)), FormatDuration(p.SignInFrequency)), nil
	case p.SignInEveryTime && now.Sub(t.AuthTime) > EveryTimeSkew:
		return u, fmt.Errorf("%w: the application requires sign-in every time", ErrTokenInvalid), nil
	}
	u, err = getUser()
	switch {
	case errors.Is(err, store.ErrNotFound):
		return u, fmt.Errorf("%w: user %s no longer exists", ErrTokenInvalid, t.UserID), nil
	case err != nil:
		return u, nil, err
	case !u.AccountEnabled:
		return u, fmt.Errorf("%w: user %s is disabled", ErrTokenInvalid, t.UserID), nil
	case t.AuthTime.Before(u.SignInSessionsValidFrom) || t.AuthTime.Before(u.RefreshTokensValidFrom):
		return u, fmt.Errorf("%w: issued before the user's sessions were revoked", ErrTokenInvalid), nil
	}
	return u, nil, nil
}

// checkIdle applies the idle timeouts to a refresh of t, whose policy is
// p (the client's), when one is in force (otherwise it reads nothing). A
// refresh is not a use of the session by its user (LastActiveAt: a
// sign-in, an SSO hit, a grant), so it does not renew the session; but a
// session idle past the global timeout ends at its next refresh as it does
// at its next /authorize (its refresh tokens with it), and one idle past
// the client's own timeout refuses that client's refresh. Either way the
// refresh is ErrTokenInvalid.
func (s *Service) checkIdle(ctx context.Context, t store.RefreshToken, p Policy, now time.Time) error {
	if t.SessionID == "" {
		return nil
	}
	global, err := s.EffectivePolicy(ctx, "")
	if err != nil {
		return err
	}
	if global.IdleTimeout <= 0 && p.IdleTimeout <= 0 {
		return nil
	}
	sess, err := s.Store.GetSession(ctx, t.SessionID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return fmt.Errorf("%w: its session %s no longer exists", ErrTokenInvalid, t.SessionID)
	case err != nil:
		return fmt.Errorf("session: rotate refresh token: %w", err)
	case sess.RevokedAt != nil:
		return fmt.Errorf("%w: its session ended (%s)", ErrTokenInvalid, sess.RevokedReason)
	}
	idle := now.Sub(sess.LastActiveAt)
	switch {
	case global.IdleTimeout > 0 && idle >= global.IdleTimeout:
		if err := s.End(ctx, sess.ID, ReasonIdleTimeout, Initiator{}); err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		return fmt.Errorf("%w: its session was idle %s, the idle timeout is %s", ErrTokenInvalid, FormatDuration(idle), FormatDuration(global.IdleTimeout))
	case p.IdleTimeout > 0 && idle >= p.IdleTimeout:
		return fmt.Errorf("%w: its session was idle %s, the application's idle timeout is %s", ErrTokenInvalid, FormatDuration(idle), FormatDuration(p.IdleTimeout))
	}
	return nil
}

// reused handles the presentation of an already used token: it revokes the
// family and, when that revoked anything, appends the audit record. It
// returns the ErrTokenReused to report.
func (s *Service) reused(ctx context.Context, tx Tx, t store.RefreshToken, now time.Time, auditID string) (outcome, err error) {
	n, err := tx.RevokeRefreshTokenFamily(ctx, t.FamilyID, now, ReasonReuse)
	if err != nil {
		return nil, err
	}
	if n > 0 {
		if err := tx.AppendAudit(ctx, reuseAudit(auditID, t, n, now)); err != nil {
			return nil, err
		}
		s.logger().WarnContext(ctx, "session: refresh token reuse detected; family revoked",
			"family", t.FamilyID, "user", t.UserID, "client", t.ClientID, "sid", t.SessionID, "revoked", n)
	}
	return fmt.Errorf("%w: family %s revoked", ErrTokenReused, t.FamilyID), nil
}

// LookupRefreshToken finds a refresh token by value for introspection
// (RFC 7662 §2.2) and reports whether it is active under the validity rule
// (unused, unrevoked, unexpired, its user enabled and not revoked since).
// An unknown value gives a zero token, false and no error.
func (s *Service) LookupRefreshToken(ctx context.Context, value string) (store.RefreshToken, bool, error) {
	t, u, err := s.Store.GetRefreshTokenWithUser(ctx, s.Secrets.Hash(value))
	if errors.Is(err, store.ErrNotFound) {
		return store.RefreshToken{}, false, nil
	}
	if err != nil {
		return store.RefreshToken{}, false, fmt.Errorf("session: look up refresh token: %w", err)
	}
	if t.UsedAt != nil {
		return t, false, nil
	}
	p, err := s.EffectivePolicy(ctx, t.ClientID)
	if err != nil {
		return store.RefreshToken{}, false, err
	}
	_, refusal, err := s.check(t, p, s.now(), func() (store.User, error) { return u, nil })
	if err != nil {
		return store.RefreshToken{}, false, fmt.Errorf("session: look up refresh token: %w", err)
	}
	return t, refusal == nil, nil
}

// RevokeRefreshTokenValue revokes a refresh token presented by clientID
// (RFC 7009 §2.1) together with its whole family: the RFC says the server
// SHOULD also invalidate the tokens issued from the same grant, and every
// token of a family descends from one grant. An unknown value is not an
// error (RFC 7009 §2.2); a token of another client gives ErrTokenInvalid
// joined with ErrWrongClient and revokes nothing.
func (s *Service) RevokeRefreshTokenValue(ctx context.Context, value, clientID string) error {
	t, err := s.Store.GetRefreshTokenByHash(ctx, s.Secrets.Hash(value))
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("session: revoke refresh token: %w", err)
	}
	if t.ClientID != clientID {
		return fmt.Errorf("%w: %w", ErrTokenInvalid, ErrWrongClient)
	}
	return s.RevokeFamily(ctx, t.FamilyID, ReasonClientRevoke)
}

// RevokeFamily revokes every unrevoked refresh token of a family, e.g. when
// an authorization code is replayed (RFC 6749 §4.1.2).
//
// It runs in a transaction (SERIALIZABLE in PostgreSQL), never as a
// statement of its own: a rotation racing it inserts a child the
// statement's snapshot would not see. In a transaction the revocation
// either commits first (the rotation's compare-and-set then fails) or
// finds the parent changed by the rotation and runs again, now seeing the
// child.
func (s *Service) RevokeFamily(ctx context.Context, familyID, reason string) error {
	now := s.now()
	err := s.inTx(ctx, func(tx Tx) error {
		_, err := tx.RevokeRefreshTokenFamily(ctx, familyID, now, reason)
		return err
	})
	if err != nil {
		return fmt.Errorf("session: revoke family %s: %w", familyID, err)
	}
	return nil
}
