package revocation

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/vigil-idp/vigil/internal/store"
)

// Tx is what ApplyInTx needs of a transaction; store.Tx satisfies it.
type Tx interface {
	GetUser(ctx context.Context, id string) (store.User, error)
	store.UserRevocation
	store.Sessions
	store.RefreshTokens
	store.Audit
	store.Outbox
}

// causeAudit is the audit vocabulary of a cause acting on users.
type causeAudit struct {
	activity, selfActivity, operation string
	movesT                            bool
	// stamp: the move of T is also logged on its own, as a revocation is
	// ("Update StsRefreshTokenValidFrom Timestamp"), as Entra does after a
	// password change or reset (reference entra-revocation.md §7).
	stamp bool
}

// stampAudit is the causeAudit of the record of a move of T alone.
var stampAudit = causeAudit{activity: ActivityRevokeSessions, operation: "Update", movesT: true}

var causeAudits = map[Cause]causeAudit{
	CauseAdminRevoke:     {activity: ActivityRevokeSessions, operation: "Update", movesT: true},
	CauseSelfRevoke:      {activity: ActivityRevokeSessions, operation: "Update", movesT: true},
	CauseAccountDisabled: {activity: "Disable account", operation: "Update", movesT: true},
	CauseAccountEnabled:  {activity: "Enable account", operation: "Update"},
	CauseUserDeleted:     {activity: "Delete user", operation: "Delete", movesT: true},
	CausePasswordChanged: {activity: "Reset user password", selfActivity: "Change user password", operation: "Update", movesT: true, stamp: true},
}

// sessionReason is the RevokedReason written on sessions and refresh
// tokens.
var sessionReason = map[Cause]string{
	CauseAdminRevoke:     "admin revocation",
	CauseSelfRevoke:      "user revocation",
	CauseAccountDisabled: "account disabled",
	CauseUserDeleted:     "user deleted",
	CausePasswordChanged: "password changed",
	CauseSessionRevoked:  "session revoked",
}

// ApplyInTx takes access away from users inside the caller's transaction;
// it is the one place the effect of a revocation happens. For each user
// that exists (unknown ids are skipped and absent from the result):
//
//   - signInSessionsValidFromDateTime (T) = max(T, at): it never moves
//     backwards; refreshTokensValidFromDateTime too when
//     opts.RefreshTokensToo or the cause is CausePasswordChanged;
//   - every live SSO session and unrevoked refresh token is revoked at at;
//   - one audit record (Graph directoryAudit shape; activity by cause, see
//     Cause; targetResources[0].modifiedProperties holds
//     StsRefreshTokensValidFrom old/new, plus AccountEnabled for a disable
//     or enable; correlationId is opts.RevocationID or opts.CorrelationID);
//     a password change adds a second, "Update StsRefreshTokenValidFrom
//     Timestamp" with the move of T alone, as Entra logs one after it;
//   - the outbox events of the cause (see Cause and Event).
//
// CauseAccountEnabled only audits and emits RISC account-enabled. For
// CauseUserDeleted, call it before deleting the user, in the same
// transaction. at is truncated to the microsecond (what the store keeps).
// It returns each user's previous T. It authorizes nothing: the caller
// has. Any error leaves the transaction to be rolled back by the caller;
// nothing is partially applied once the transaction aborts.
func ApplyInTx(ctx context.Context, tx Tx, in Initiator, cause Cause, userIDs []string, at time.Time, opts Options) (map[string]time.Time, error) {
	if _, ok := causeAudits[cause]; !ok {
		return nil, fmt.Errorf("revocation: apply: cause %v does not act on users", cause)
	}
	users := make([]store.User, 0, len(userIDs))
	seen := make(map[string]bool, len(userIDs))
	for _, id := range userIDs {
		if seen[id] {
			continue
		}
		seen[id] = true
		u, err := tx.GetUser(ctx, id)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("revocation: apply: %w", err)
		}
		users = append(users, u)
	}
	return applyUsers(ctx, tx, in, cause, users, at, opts)
}

// newTimeOrderedID returns a version 7 UUID: a GUID like any other, whose
// leading bits are the time, so the ids of audit records, events and
// revocations written together sort together and the store's indexes on
// them grow at one end instead of at random pages (measured: about half of
// a bulk revocation's time at 100,000 users).
func newTimeOrderedID() string { return uuid.Must(uuid.NewV7()).String() }

// applyUsers is ApplyInTx for users already read in tx.
func applyUsers(ctx context.Context, tx Tx, in Initiator, cause Cause, users []store.User, at time.Time, opts Options) (map[string]time.Time, error) {
	ended := map[string][]EndedSession{}
	if cause == CauseUserDeleted {
		// The user's session rows go with the user: list them now for the
		// back-channel logout of their clients.
		for _, u := range users {
			ss, err := tx.ListSessionsOfUser(ctx, u.ID, false)
			if err != nil {
				return nil, fmt.Errorf("revocation: apply: sessions of %s: %w", u.ID, err)
			}
			for _, s := range ss {
				ended[u.ID] = append(ended[u.ID], EndedSession{ID: s.ID, ClientIDs: s.ClientIDs})
			}
		}
	}
	e, err := render(in, cause, users, at, opts, ended)
	if err != nil {
		return nil, err
	}
	return e.write(ctx, tx)
}

// effects are the writes of one cause on some users: the users, and their
// audit records and outbox events rendered ahead of the transaction with
// each user's T as it was read (records[i] and events[i] are users[i]'s).
// write corrects what changed since.
type effects struct {
	ec      *eventCtx
	ca      causeAudit
	users   []store.User
	records []store.AuditRecord
	stamps  []store.AuditRecord // with ca.stamp: the record of T's move alone
	events  [][]store.OutboxEvent
	refresh bool // move refreshTokensValidFrom too
}

// render prepares the effects of cause on users at `at`; ended lists the
// sessions to name in session-revoked events, by user.
func render(in Initiator, cause Cause, users []store.User, at time.Time, opts Options, ended map[string][]EndedSession) (*effects, error) {
	ca, ok := causeAudits[cause]
	if !ok {
		return nil, fmt.Errorf("revocation: apply: cause %v does not act on users", cause)
	}
	at = at.UTC().Truncate(time.Microsecond)
	e := &effects{
		ec: &eventCtx{
			txn: opts.txn(), revocationID: opts.RevocationID, reason: opts.Reason, cause: cause,
			in: in, initiatedBy: in.InitiatedBy(), at: at, newID: opts.newID,
		},
		ca: ca, users: users,
		records: make([]store.AuditRecord, len(users)),
		stamps:  make([]store.AuditRecord, len(users)),
		events:  make([][]store.OutboxEvent, len(users)),
		refresh: opts.RefreshTokensToo || cause == CausePasswordChanged,
	}
	for i, u := range users {
		e.records[i] = userAudit(e.ec, ca, u, u.SignInSessionsValidFrom).Record(opts.newID())
		if ca.stamp {
			e.stamps[i] = userAudit(e.ec, stampAudit, u, u.SignInSessionsValidFrom).Record(opts.newID())
		}
		e.events[i] = e.ec.events(u, ended[u.ID])
	}
	return e, nil
}

// write applies e in tx: T advanced, sessions and refresh tokens revoked,
// then the rendered records and events appended, except those of users
// deleted since they were read, and with the audit record re-rendered for
// a user whose T changed since. It returns each remaining user's previous
// T. e itself is not changed, so a retried transaction may write it again.
func (e *effects) write(ctx context.Context, tx Tx) (map[string]time.Time, error) {
	prev := make(map[string]time.Time, len(e.users))
	if len(e.users) == 0 {
		return prev, nil
	}
	at := e.ec.at
	if e.ca.movesT {
		ids := make([]string, len(e.users))
		for i, u := range e.users {
			ids[i] = u.ID
		}
		var err error
		if prev, err = tx.AdvanceSignInSessionsValidFrom(ctx, ids, at, e.refresh); err != nil {
			return nil, fmt.Errorf("revocation: apply: advance validFrom: %w", err)
		}
		reason := sessionReason[e.ec.cause]
		if _, err := tx.RevokeSessionsOfUsers(ctx, ids, at, reason); err != nil {
			return nil, fmt.Errorf("revocation: apply: revoke sessions: %w", err)
		}
		if _, err := tx.RevokeRefreshTokensOfUsers(ctx, ids, at, reason); err != nil {
			return nil, fmt.Errorf("revocation: apply: revoke refresh tokens: %w", err)
		}
	} else {
		for _, u := range e.users {
			prev[u.ID] = u.SignInSessionsValidFrom
		}
	}
	records := make([]store.AuditRecord, 0, len(e.users))
	events := make([]store.OutboxEvent, 0, 2*len(e.users))
	for i, u := range e.users {
		old, ok := prev[u.ID]
		if !ok {
			continue // deleted since it was read
		}
		r := e.records[i]
		moved := !old.Equal(u.SignInSessionsValidFrom) // since it was read
		if moved {
			r = userAudit(e.ec, e.ca, u, old).Record(r.ID)
		}
		records = append(records, r)
		if e.ca.stamp {
			st := e.stamps[i]
			if moved {
				st = userAudit(e.ec, stampAudit, u, old).Record(st.ID)
			}
			records = append(records, st)
		}
		events = append(events, e.events[i]...)
	}
	if err := tx.AppendAudit(ctx, records...); err != nil {
		return nil, fmt.Errorf("revocation: apply: audit: %w", err)
	}
	if _, err := tx.AppendOutbox(ctx, events...); err != nil {
		return nil, fmt.Errorf("revocation: apply: outbox: %w", err)
	}
	return prev, nil
}

// userAudit is the audit entry of cause on u, whose T was old.
func userAudit(ec *eventCtx, ca causeAudit, u store.User, old time.Time) AuditEntry {
	activity := ca.activity
	if ca.selfActivity != "" && ec.in.self(u.ID) {
		activity = ca.selfActivity
	}
	var mods []ModifiedProperty
	switch ec.cause {
	case CauseAccountDisabled:
		mods = append(mods, ModifiedProperty{DisplayName: "AccountEnabled", OldValue: JSONValue(true), NewValue: JSONValue(false)})
	case CauseAccountEnabled:
		mods = append(mods, ModifiedProperty{DisplayName: "AccountEnabled", OldValue: JSONValue(false), NewValue: JSONValue(true)})
	}
	if ca.movesT {
		newT := old
		if ec.at.After(old) {
			newT = ec.at
		}
		mods = append(mods, ModifiedProperty{DisplayName: PropStsRefreshTokensValidFrom, OldValue: JSONValue(old), NewValue: JSONValue(newT)})
	}
	var details []KeyValue
	if ec.reason != "" {
		details = append(details, KeyValue{Key: "Reason", Value: ec.reason})
	}
	if ec.revocationID != "" {
		details = append(details, KeyValue{Key: "RevocationId", Value: ec.revocationID})
	}
	return AuditEntry{
		At: ec.at, Activity: activity, Category: CategoryUserManagement, OperationType: ca.operation,
		CorrelationID: ec.txn, Initiator: ec.in, Details: details, initiatedBy: ec.initiatedBy,
		Targets: []AuditTarget{{ID: u.ID, DisplayName: u.DisplayName, Type: TargetUser, UserPrincipalName: u.UserPrincipalName, ModifiedProperties: mods}},
	}
}
