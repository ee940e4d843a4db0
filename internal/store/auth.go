package store

import (
	"context"
	"time"
)

// This file holds the aggregates of the token service (sign-in sessions,
// refresh tokens, authorization and device codes, consents, session
// policies, sign-in throttling); all are part of Tx. Everything here that
// names a user is removed with the user (DeleteUser).
//
// Bulk methods take a slice of ids; a backend may split it into chunks (of
// at most 500 ids in sqlstore), one set-based statement each, all in the
// caller's transaction. Optional values: a "" SessionID, UserID or
// DeviceCode.UserID, a nil *time.Time and a zero DeviceCode.AuthTime mean
// "unset" and round-trip as written.

// Session is an SSO sign-in session; its id is the sid claim.
type Session struct {
	ID        string
	UserID    string
	CreatedAt time.Time
	AuthTime  time.Time // last interactive authentication (auth_time)
	// LastActiveAt is the last use of the session by its user: a sign-in,
	// an SSO hit at /authorize, a device or password grant. Refresh-token
	// redemptions do not count: an application refreshing in the
	// background must not keep an idle session alive (the idle timeout
	// measures the user's absence), and the refresh path stays one write.
	LastActiveAt time.Time
	AMR          []string // authentication methods, e.g. ["pwd"]
	IP           string
	UserAgent    string
	DeviceID     string
	ClientIDs    []string // appIds that received tokens in this session
	// RevokedAt is nil while the session is live.
	RevokedAt     *time.Time
	RevokedReason string
}

// Sessions stores SSO sessions.
type Sessions interface {
	// CreateSession inserts s; ErrConflict when the id is taken;
	// ErrNotFound when the user does not exist. A zero CreatedAt is set
	// from the store's clock.
	CreateSession(ctx context.Context, s Session) error
	// GetSession returns a session (live or revoked), or ErrNotFound.
	GetSession(ctx context.Context, id string) (Session, error)
	// TouchSession sets LastActiveAt to at (never backwards) and adds
	// clientID (when not "") to ClientIDs as a set (appended once),
	// atomically. It touches revoked sessions too. ErrNotFound when absent.
	TouchSession(ctx context.Context, id string, at time.Time, clientID string) error
	// UpdateSession is the atomic read-modify-write of a session.
	UpdateSession(ctx context.Context, id string, fn func(Session) (Session, error)) (Session, error)
	// ListSessionsOfUser lists a user's sessions, newest (CreatedAt, then
	// id) first; revoked ones only when includeRevoked.
	ListSessionsOfUser(ctx context.Context, userID string, includeRevoked bool) ([]Session, error)
	// RevokeSession marks one live session revoked; it reports false
	// (changing nothing) when it was already revoked and ErrNotFound when
	// absent.
	RevokeSession(ctx context.Context, id string, at time.Time, reason string) (bool, error)
	// RevokeSessionsOfUsers marks every live session of the users revoked
	// and returns how many it revoked (bulk: set-based, per chunk of ids).
	RevokeSessionsOfUsers(ctx context.Context, userIDs []string, at time.Time, reason string) (int, error)
}

// RefreshToken is one refresh token. Only a keyed hash of its secret value
// is stored. Tokens form families: each rotation creates a child in the
// same family, and reuse of a used token revokes the whole family
// (RFC 9700 §4.14.2).
type RefreshToken struct {
	ID           string
	Hash         []byte // keyed hash of the token value; unique
	FamilyID     string
	ParentID     string // "" for the first of a family
	SessionID    string // sid; "" only for tokens not tied to a session
	UserID       string
	ClientID     string // appId
	Scopes       []string
	Resource     string   // audience the access tokens are for
	Capabilities []string // client capabilities declared (e.g. "cp1")
	AuthTime     time.Time
	CreatedAt    time.Time
	// ExpiresAt is when this token stops working if unused (inactivity),
	// bounded by the family's absolute limit.
	ExpiresAt time.Time
	// UsedAt is set when the token was exchanged (rotated); a second use
	// is reuse.
	UsedAt        *time.Time
	RevokedAt     *time.Time
	RevokedReason string
}

// RefreshTokens stores refresh tokens.
type RefreshTokens interface {
	// CreateRefreshToken inserts t; ErrConflict on a duplicate id or hash;
	// ErrNotFound when the user does not exist. A zero CreatedAt is set
	// from the store's clock. The SessionID need not name a stored session.
	CreateRefreshToken(ctx context.Context, t RefreshToken) error
	// GetRefreshTokenByHash finds a token by the hash of its value, or
	// ErrNotFound.
	GetRefreshTokenByHash(ctx context.Context, hash []byte) (RefreshToken, error)
	// GetRefreshTokenWithUser is GetRefreshTokenByHash and the token's user
	// in one query (a token goes with its user); ErrNotFound when no token
	// has this hash.
	GetRefreshTokenWithUser(ctx context.Context, hash []byte) (RefreshToken, User, error)
	// MarkRefreshTokenUsed sets UsedAt = at only when the token is neither
	// used nor revoked, atomically (compare-and-set). It returns
	// ErrConflict when the token was already used or revoked — the caller
	// treats that as reuse — and ErrNotFound when absent.
	MarkRefreshTokenUsed(ctx context.Context, id string, at time.Time) error
	// RotateRefreshToken is MarkRefreshTokenUsed(parentID, at) and
	// CreateRefreshToken(child), atomically (in PostgreSQL one statement:
	// one round trip). It returns ErrConflict, having written nothing, when
	// the parent is not an unused, unrevoked token (used, revoked or
	// absent: the caller reads it again to tell). A revocation of refresh
	// tokens racing it must run in InTx (see the PostgreSQL implementation):
	// then either no child is written or the revocation revokes it.
	RotateRefreshToken(ctx context.Context, parentID string, at time.Time, child RefreshToken) error
	// RevokeRefreshToken revokes one token (RFC 7009); no error when it was
	// already revoked (its first RevokedAt and reason stay); ErrNotFound
	// when absent.
	RevokeRefreshToken(ctx context.Context, id string, at time.Time, reason string) error
	// RevokeRefreshTokenFamily revokes every unrevoked token of a family.
	RevokeRefreshTokenFamily(ctx context.Context, familyID string, at time.Time, reason string) (int, error)
	// RevokeRefreshTokensOfSession revokes every unrevoked token of a sid.
	RevokeRefreshTokensOfSession(ctx context.Context, sessionID string, at time.Time, reason string) (int, error)
	// RevokeRefreshTokensOfUsers revokes every unrevoked token of the users
	// and returns how many (bulk: set-based, per chunk of ids).
	RevokeRefreshTokensOfUsers(ctx context.Context, userIDs []string, at time.Time, reason string) (int, error)
	// DeleteExpiredRefreshTokens removes tokens that expired or were
	// revoked before the given time, at most limit rows; it returns how
	// many it removed.
	DeleteExpiredRefreshTokens(ctx context.Context, before time.Time, limit int) (int, error)
}

// AuthCode is an authorization code (RFC 6749 §4.1). Only a keyed hash of
// the code is stored. Codes are invalidated, not deleted, so a replay is
// detected and the tokens issued from it are revoked (RFC 6749 §4.1.2).
type AuthCode struct {
	Hash                []byte // primary key
	ClientID            string
	UserID              string
	SessionID           string
	RedirectURI         string
	Scopes              []string
	Resource            string
	Nonce               string
	CodeChallenge       string
	CodeChallengeMethod string // "S256" or "plain"
	Claims              []byte // the OIDC claims request parameter (JSON), if any
	Capabilities        []string
	AuthTime            time.Time
	FamilyID            string // refresh family issued from this code
	CreatedAt           time.Time
	ExpiresAt           time.Time
	UsedAt              *time.Time
}

// AuthCodes stores authorization codes.
type AuthCodes interface {
	// CreateAuthCode inserts c; ErrConflict on a duplicate hash;
	// ErrNotFound when the user does not exist.
	CreateAuthCode(ctx context.Context, c AuthCode) error
	// ConsumeAuthCode sets UsedAt = at when unused and returns the code,
	// atomically (compare-and-set: of concurrent callers exactly one
	// succeeds). When it was already used it returns the code (with the
	// first UsedAt) AND ErrConflict, so the caller can revoke its family;
	// ErrNotFound when absent. It does not check ExpiresAt.
	ConsumeAuthCode(ctx context.Context, hash []byte, at time.Time) (AuthCode, error)
	// DeleteExpiredAuthCodes removes codes that expired before the given
	// time, at most limit rows.
	DeleteExpiredAuthCodes(ctx context.Context, before time.Time, limit int) (int, error)
}

// Device authorization states (RFC 8628).
const (
	DevicePending  = "pending"
	DeviceApproved = "approved"
	DeviceDenied   = "denied"
	DeviceConsumed = "consumed"
)

// DeviceCode is a device authorization grant in progress (RFC 8628). Only a
// keyed hash of the device code is stored; the user code is short and
// stored as typed (normalised, upper case, no dash).
type DeviceCode struct {
	Hash         []byte // primary key: keyed hash of device_code
	UserCode     string // unique
	ClientID     string
	Scopes       []string
	Resource     string
	Capabilities []string
	CreatedAt    time.Time
	ExpiresAt    time.Time
	Interval     time.Duration // current polling interval (slow_down adds 5 s)
	LastPolledAt *time.Time
	Status       string // DevicePending, …
	UserID       string // set on approval
	SessionID    string
	AuthTime     time.Time
}

// DeviceCodes stores device authorization grants.
type DeviceCodes interface {
	// CreateDeviceCode inserts d; ErrConflict on a duplicate hash or user
	// code; ErrNotFound when UserID is set and names no user.
	CreateDeviceCode(ctx context.Context, d DeviceCode) error
	// GetDeviceCodeByUserCode returns a grant by user code, or ErrNotFound.
	GetDeviceCodeByUserCode(ctx context.Context, userCode string) (DeviceCode, error)
	// UpdateDeviceCode is the atomic read-modify-write of a grant found by
	// the hash of its device code.
	UpdateDeviceCode(ctx context.Context, hash []byte, fn func(DeviceCode) (DeviceCode, error)) (DeviceCode, error)
	// DeleteExpiredDeviceCodes removes grants that expired before the given
	// time, at most limit rows.
	DeleteExpiredDeviceCodes(ctx context.Context, before time.Time, limit int) (int, error)
}

// ClientAssertionIDs remembers the client assertions (private_key_jwt,
// RFC 7523) already used, for every node sharing the store: a jti is
// accepted once (RFC 7523 §3).
type ClientAssertionIDs interface {
	// UseClientAssertionID records key (a digest of the client id and the
	// jti) until expiresAt. ErrConflict, recording nothing, when key is
	// recorded and not expired at now: the assertion is a replay.
	UseClientAssertionID(ctx context.Context, key []byte, expiresAt, now time.Time) error
	// DeleteExpiredClientAssertionIDs removes keys that expired before the
	// given time, at most limit rows.
	DeleteExpiredClientAssertionIDs(ctx context.Context, before time.Time, limit int) (int, error)
}

// Consent is a delegated-permission grant (Graph oauth2PermissionGrant): a
// client may obtain Scopes of Resource for one user (UserID) or for every
// user (UserID "" = AllPrincipals, admin consent).
type Consent struct {
	ID        string
	ClientID  string // appId of the client
	UserID    string // "" for tenant-wide admin consent
	Resource  string // resource appId
	Scopes    []string
	CreatedAt time.Time
}

// Consents stores delegated-permission grants.
type Consents interface {
	// PutConsent creates the grant for (ClientID, UserID, Resource) or adds
	// c.Scopes to the existing one (scopes are a set: new ones are appended
	// in order; the existing grant keeps its ID and CreatedAt).
	// ErrNotFound when UserID names no user; ErrConflict when c.ID is
	// another grant's.
	PutConsent(ctx context.Context, c Consent) error
	// ListConsents returns the grants of a client that apply to userID: its
	// own and the tenant-wide ones (userID "" lists only tenant-wide),
	// tenant-wide first, then by Resource and ID.
	ListConsents(ctx context.Context, clientID, userID string) ([]Consent, error)
	// DeleteConsent removes one grant by id, or returns ErrNotFound.
	DeleteConsent(ctx context.Context, id string) error
}

// PolicyGlobal is the scope of the tenant-wide session policy.
const PolicyGlobal = "global"

// Policy is a session policy document for a scope: PolicyGlobal or an
// application's appId. The document is JSON owned by internal/session.
type Policy struct {
	Scope     string
	Document  []byte
	UpdatedAt time.Time
}

// Policies stores session policies.
type Policies interface {
	// GetPolicy returns the policy of a scope, or ErrNotFound.
	GetPolicy(ctx context.Context, scope string) (Policy, error)
	// PutPolicy creates or replaces the policy of p.Scope. A zero
	// UpdatedAt is set from the store's clock.
	PutPolicy(ctx context.Context, p Policy) error
	// DeletePolicy removes a scope's policy, or returns ErrNotFound.
	DeletePolicy(ctx context.Context, scope string) error
	// ListPolicies returns every stored policy, ordered by scope.
	ListPolicies(ctx context.Context) ([]Policy, error)
}

// SignInThrottle counts a user's recent failed sign-ins.
type SignInThrottle struct {
	UserID      string
	Failures    int
	FirstFailAt time.Time
	LockedUntil *time.Time
}

// SignInThrottles stores failed sign-in counters.
type SignInThrottles interface {
	// GetSignInThrottle returns the counter, or a zero value (with UserID
	// set) when there is none.
	GetSignInThrottle(ctx context.Context, userID string) (SignInThrottle, error)
	// RecordSignInFailure atomically increments the counter (restarting it
	// at 1 with FirstFailAt = at when FirstFailAt is before at-window),
	// sets LockedUntil = at+lockFor when the count reaches lockAfter, and
	// returns the result. A lock in force (LockedUntil after at) is neither
	// extended nor cleared; an expired one is cleared, or renewed when the
	// count is still at or above lockAfter. Concurrent failures are never
	// lost. ErrNotFound when the user does not exist.
	RecordSignInFailure(ctx context.Context, userID string, at time.Time, window time.Duration, lockAfter int, lockFor time.Duration) (SignInThrottle, error)
	// ResetSignInThrottle clears the counter after a successful sign-in (no
	// error when there is none).
	ResetSignInThrottle(ctx context.Context, userID string) error
}
