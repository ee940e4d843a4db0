package revocation

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/vigil-idp/vigil/internal/authz"
	"github.com/vigil-idp/vigil/ssf"
)

// Sentinel errors; test with errors.Is. Every error the Service returns for
// a caller's mistake is an *Error wrapping one of them, whose message is
// safe to show to the caller.
var (
	// ErrNotFound: the user, session, group or revocation does not exist.
	ErrNotFound = errors.New("revocation: not found")
	// ErrForbidden: the initiator may not revoke this target
	// (authz.CanActOnUser refused; the message gives its reason).
	ErrForbidden = errors.New("revocation: forbidden")
	// ErrInvalid: the request is malformed (no selector or several, a bad
	// filter, too many ids, …).
	ErrInvalid = errors.New("revocation: invalid request")
	// ErrIdempotencyConflict: an Idempotency-Key was reused with a
	// different request body.
	ErrIdempotencyConflict = errors.New("revocation: idempotency key reused with a different request")
)

// Error is a refusal the caller can act on: Kind is one of the sentinel
// errors above and Message a sentence safe to show to the API caller.
type Error struct {
	Kind    error
	Message string
}

func (e *Error) Error() string { return e.Message }

// Unwrap returns Kind, so errors.Is(err, ErrForbidden) works.
func (e *Error) Unwrap() error { return e.Kind }

func refuse(kind error, format string, args ...any) *Error {
	return &Error{Kind: kind, Message: fmt.Sprintf(format, args...)}
}

type initiatorKey struct{}

// WithInitiator returns a context whose writes (directory changes,
// session policies) are attributed to in: the audit record's initiatedBy,
// and the initiating_entity of the events they cause. The HTTP layers set
// it per request.
func WithInitiator(ctx context.Context, in Initiator) context.Context {
	return context.WithValue(ctx, initiatorKey{}, in)
}

// InitiatorFrom returns who makes the writes done with ctx: the Initiator
// of WithInitiator; else the principal of authz.WithPrincipal (with no
// display names); else the system.
func InitiatorFrom(ctx context.Context) Initiator {
	if in, ok := ctx.Value(initiatorKey{}).(Initiator); ok {
		return in
	}
	if p, ok := authz.FromContext(ctx); ok {
		return Initiator{Principal: p}
	}
	return Initiator{}
}

// Initiator is who asked for a revocation or a directory change: it is
// authorized (Principal) and recorded (audit initiatedBy, the revocation's
// createdBy, the CAEP initiating_entity).
type Initiator struct {
	// Principal is the verified caller; nil means the system (a policy,
	// a background job, the server itself), which is always allowed.
	Principal *authz.Principal
	// UserPrincipalName and DisplayName describe a delegated caller (the
	// signed-in user) in audit records (Graph userIdentity).
	UserPrincipalName string
	DisplayName       string
	// AppDisplayName is the client application's display name (Graph
	// appIdentity.displayName).
	AppDisplayName string
	// IPAddress is the caller's address, recorded for a delegated caller.
	IPAddress string
}

// ObjectID is the initiator's object id: the signed-in user (delegated) or
// the application's service principal (app-only); "system" for the system.
// Idempotency keys are scoped to it.
func (in Initiator) ObjectID() string {
	if in.Principal == nil {
		return "system"
	}
	if in.Principal.ObjectID != "" {
		return in.Principal.ObjectID
	}
	return in.Principal.ClientID
}

// acts reports whether in acts on their own account.
func (in Initiator) self(userID string) bool {
	p := in.Principal
	return p != nil && p.Kind == authz.Delegated && p.ObjectID != "" && strings.EqualFold(p.ObjectID, userID)
}

// entity is the CAEP initiating_entity (CAEP 1.0 §2) of an action by in on
// userID: the user themself, an administrator (a signed-in admin or an
// application holding an admin permission), or the system.
func (in Initiator) entity(userID string) ssf.InitiatingEntity {
	switch {
	case in.Principal == nil:
		return ssf.InitiatedBySystem
	case in.self(userID):
		return ssf.InitiatedByUser
	}
	return ssf.InitiatedByAdmin
}

// Cause says why access is taken away; it selects the outbox event type,
// the audit activity, and whether T moves.
type Cause int

// Causes. Audit activity names are Entra's (reference
// entra-revocation.md §7 and
// https://learn.microsoft.com/en-us/entra/identity/monitoring-health/reference-audit-activities).
const (
	// CauseAdminRevoke: revokeSignInSessions by an administrator or an
	// application, or a bulk revocation. CAEP session-revoked (user
	// subject); audit "Update StsRefreshTokenValidFrom Timestamp".
	CauseAdminRevoke Cause = iota + 1
	// CauseSelfRevoke: a user revoked their own sessions (/me). As
	// CauseAdminRevoke, with initiating_entity "user".
	CauseSelfRevoke
	// CauseAccountDisabled: accountEnabled went true → false. RISC
	// account-disabled plus CAEP session-revoked; audit "Disable account"
	// (§7: "disabling the account logs Disable account plus Update user";
	// the directory writes the "Update user").
	CauseAccountDisabled
	// CauseAccountEnabled: accountEnabled went false → true. RISC
	// account-enabled; audit "Enable account"; nothing is revoked and T
	// does not move.
	CauseAccountEnabled
	// CauseUserDeleted: the user is being deleted (call ApplyInTx before
	// the delete, in the same transaction). RISC account-purged plus CAEP
	// session-revoked; audit "Delete user".
	CauseUserDeleted
	// CausePasswordChanged: a password was set or reset. CAEP
	// credential-change (password, update) plus CAEP session-revoked;
	// audit "Reset user password" by someone else, "Change user password"
	// by the user themself (§7: a password change moves the timestamp).
	// refreshTokensValidFromDateTime moves too.
	CausePasswordChanged
	// CauseSessionRevoked: one session ended (RevokeSession, a sessionIds
	// bulk job). CAEP session-revoked with a session subject; T does not
	// move. Not accepted by ApplyInTx, which acts on users.
	CauseSessionRevoked
	// CauseClaimsChanged: a directory write changed the claims of a
	// user's tokens (directory roles, group memberships). CAEP
	// token-claims-change (AppendClaimsChangeInTx); nothing is revoked, T
	// does not move, and the directory write carries the audit record.
	// Not accepted by ApplyInTx.
	CauseClaimsChanged
)

var causeNames = map[Cause]string{
	CauseAdminRevoke:     "adminRevoke",
	CauseSelfRevoke:      "selfRevoke",
	CauseAccountDisabled: "accountDisabled",
	CauseAccountEnabled:  "accountEnabled",
	CauseUserDeleted:     "userDeleted",
	CausePasswordChanged: "passwordChanged",
	CauseSessionRevoked:  "sessionRevoked",
	CauseClaimsChanged:   "claimsChanged",
}

// String is the cause's name in outbox payloads ("adminRevoke", …).
func (c Cause) String() string {
	if n, ok := causeNames[c]; ok {
		return n
	}
	return fmt.Sprintf("cause(%d)", int(c))
}

// Options tune one revocation.
type Options struct {
	// Reason is the administrator's reason, recorded on the revocation,
	// in the audit record and as the CAEP reason_admin ({"en": Reason}).
	Reason string
	// RevocationID is the revocation resource the effect belongs to; it is
	// the audit correlationId and the SET txn of the events.
	RevocationID string
	// RefreshTokensToo also moves refreshTokensValidFromDateTime (beta
	// invalidateAllRefreshTokens). A password change always does.
	RefreshTokensToo bool
	// CorrelationID is the audit correlationId and event txn when there
	// is no RevocationID (e.g. the request id of a directory change); when
	// both are empty one is generated per call.
	CorrelationID string
	// NewID returns the ids of the audit records and events written (and
	// a generated correlation id); nil means time-ordered (version 7)
	// UUIDs, which keep the store's indexes on them append-only. Tests
	// pass a predictable one.
	NewID func() string
}

// newID returns the next record or event id.
func (o Options) newID() string {
	if o.NewID != nil {
		return o.NewID()
	}
	return newTimeOrderedID()
}

// txn is the correlation id / SET txn of one call.
func (o Options) txn() string {
	switch {
	case o.RevocationID != "":
		return o.RevocationID
	case o.CorrelationID != "":
		return o.CorrelationID
	}
	return o.newID()
}
