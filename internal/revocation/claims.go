package revocation

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/vigil-idp/vigil/internal/store"
	"github.com/vigil-idp/vigil/ssf"
)

// ClaimsTx is what AppendClaimsChangeInTx needs of a transaction;
// store.Tx satisfies it.
type ClaimsTx interface {
	GetUser(ctx context.Context, id string) (store.User, error)
	store.Outbox
}

// ClaimsChange is the new value of the token claims of one user that a
// directory write changed: Claims maps each changed claim name to its new
// value (e.g. {"wids": [role template ids]}), as CAEP 1.0 §3.2 "claims".
type ClaimsChange struct {
	UserID string
	Claims map[string]any
}

// AppendClaimsChangeInTx appends, inside the caller's transaction, one
// CAEP token-claims-change outbox event (Event, Cause
// CauseClaimsChanged) per change whose user exists and whose Claims is not
// empty: the subject is the user, event_timestamp is at (seconds),
// initiating_entity is in's, txn is correlationID (the audit record's
// correlation id; one is generated when empty), and the SET body is
// ssf.TokenClaimsChange{claims: Claims}. Several changes of one user are
// merged (later values win). Unknown users are skipped.
//
// Unlike ApplyInTx it takes nothing away: T does not move and no session
// or refresh token is revoked. It writes no audit record either: the
// directory write that changed the claims is audited by the caller, with
// correlationID. It authorizes nothing. Any error leaves the transaction
// to be rolled back by the caller.
func AppendClaimsChangeInTx(ctx context.Context, tx ClaimsTx, in Initiator, changes []ClaimsChange, at time.Time, correlationID string) error {
	opts := Options{CorrelationID: correlationID}
	ec := &eventCtx{txn: opts.txn(), cause: CauseClaimsChanged, in: in, at: at.UTC().Truncate(time.Microsecond), newID: opts.newID}
	var order []string
	merged := map[string]map[string]any{}
	for _, c := range changes {
		if len(c.Claims) == 0 {
			continue
		}
		m, ok := merged[c.UserID]
		if !ok {
			m = map[string]any{}
			merged[c.UserID] = m
			order = append(order, c.UserID)
		}
		for k, v := range c.Claims {
			m[k] = v
		}
	}
	events := make([]store.OutboxEvent, 0, len(order))
	for _, id := range order {
		u, err := tx.GetUser(ctx, id)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return fmt.Errorf("revocation: claims change: %w", err)
		}
		body, err := json.Marshal(ssf.TokenClaimsChange{
			CAEPCommon: ssf.CAEPCommon{EventTimestamp: ec.at.Unix(), InitiatingEntity: in.entity(u.ID)},
			Claims:     merged[id],
		})
		if err != nil {
			return fmt.Errorf("revocation: claims change of %s: %w", u.ID, err)
		}
		ev := ec.event(ssf.EventTokenClaimsChange, u, "", nil, body)
		events = append(events, ev)
	}
	if len(events) == 0 {
		return nil
	}
	if _, err := tx.AppendOutbox(ctx, events...); err != nil {
		return fmt.Errorf("revocation: claims change: outbox: %w", err)
	}
	return nil
}
