package session

import (
	"encoding/json"
	"time"

	"github.com/vigil-idp/vigil/internal/store"
)

// EventSessionRevoked is the outbox event type written when sessions end:
// the CAEP 1.0 session-revoked event type (CAEP §3.1), so the SSF
// transmitter can send it as is. The back-channel logout worker
// (internal/oauth) turns each into logout tokens (OpenID Connect
// Back-Channel Logout 1.0 §2.4).
//
// store.OutboxEvent.UserID is the user; SessionID is the session when one
// session ended, "" when every session of the user did. Payload is a
// SessionRevoked.
const EventSessionRevoked = "https://schemas.openid.net/secevent/caep/event-type/session-revoked"

// SessionRevoked is the JSON payload of an EventSessionRevoked outbox event.
type SessionRevoked struct {
	// RevokedAt is when the sessions ended (the time written to their
	// RevokedAt).
	RevokedAt time.Time `json:"revokedAt"`
	// Reason is why, e.g. "logout", "idle timeout", "admin revocation".
	Reason string `json:"reason,omitempty"`
	// Sessions lists each ended session with the clients that received
	// tokens in it. A producer that revokes in bulk without listing them
	// leaves it empty; consumers then look up the user's sessions revoked
	// at RevokedAt.
	Sessions []EndedSession `json:"sessions,omitempty"`
	// InitiatedBy is who ended them (Graph directoryAudit initiatedBy
	// shape); absent for the system (idle timeout, lazy expiry).
	InitiatedBy json.RawMessage `json:"initiatedBy,omitempty"`
}

// EndedSession is one session in a SessionRevoked payload.
type EndedSession struct {
	ID        string   `json:"id"`
	ClientIDs []string `json:"clientIds,omitempty"`
}

// SessionRevokedEvent builds the outbox event for sessions of one user that
// ended at `at`. With exactly one session the event's SessionID is that
// session; with several (or none listed) it is "" (every session of the
// user). Producers outside this package (bulk user revocation) use it so
// the back-channel logout worker and the SSF transmitter understand them.
func SessionRevokedEvent(id, userID string, sessions []store.Session, at time.Time, reason string, by Initiator) store.OutboxEvent {
	p := SessionRevoked{RevokedAt: at.UTC(), Reason: reason, InitiatedBy: by.initiatedBy()}
	for _, s := range sessions {
		p.Sessions = append(p.Sessions, EndedSession{ID: s.ID, ClientIDs: s.ClientIDs})
	}
	body, _ := json.Marshal(p) // only strings, times and raw JSON
	ev := store.OutboxEvent{ID: id, Type: EventSessionRevoked, UserID: userID, Payload: body, CreatedAt: at.UTC()}
	if len(sessions) == 1 {
		ev.SessionID = sessions[0].ID
	}
	return ev
}

// Initiator is who caused a change, for audit records and events: a user
// (UserID set), an application (AppID set), or the system (neither).
type Initiator struct {
	UserID            string
	UserPrincipalName string
	// AppID is the client's appId; ServicePrincipalID its service
	// principal's object id, when known.
	AppID              string
	ServicePrincipalID string
	DisplayName        string
	IPAddress          string
}

// initiatedBy renders i as Graph's directoryAudit initiatedBy
// (auditActivityInitiator): {"user":{…}} or {"app":{…}}; nil for the
// system.
func (i Initiator) initiatedBy() json.RawMessage {
	var v any
	switch {
	case i.UserID != "":
		v = map[string]any{"user": map[string]any{
			"id": i.UserID, "displayName": nullable(i.DisplayName),
			"userPrincipalName": nullable(i.UserPrincipalName), "ipAddress": nullable(i.IPAddress),
		}}
	case i.AppID != "":
		v = map[string]any{"app": map[string]any{
			"appId": i.AppID, "displayName": nullable(i.DisplayName),
			"servicePrincipalId": nullable(i.ServicePrincipalID), "servicePrincipalName": nullable(i.DisplayName),
		}}
	default:
		return nil
	}
	b, _ := json.Marshal(v)
	return b
}

// nullable maps "" to JSON null, as Graph writes absent strings.
func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}
