package session

import (
	"encoding/json"
	"time"

	"github.com/vigil-idp/vigil/internal/revocation"
	"github.com/vigil-idp/vigil/internal/store"
	"github.com/vigil-idp/vigil/ssf"
)

// EventSessionRevoked is the outbox event type written when sessions end:
// CAEP 1.0 session-revoked (CAEP §3.1). End writes it, and so does
// internal/revocation for administrative revocations; both write the
// payload revocation.Event, which the SSF transmitter turns into a SET. The
// back-channel logout worker (internal/oauth) reads the part of it that
// SessionRevoked describes.
//
// store.OutboxEvent.UserID is the user; SessionID is the session when one
// session ended, "" when every session of the user did.
const EventSessionRevoked = ssf.EventSessionRevoked

// SessionRevoked is the part of an EventSessionRevoked payload
// (revocation.Event) that says which sessions ended.
type SessionRevoked struct {
	// RevokedAt is when the sessions ended (the time written to their
	// RevokedAt).
	RevokedAt time.Time `json:"revokedAt"`
	// Reason is why, e.g. "logout", "idle timeout", "admin revocation".
	Reason string `json:"reason,omitempty"`
	// Sessions lists each ended session with the clients that received
	// tokens in it. Bulk producers may leave it empty; consumers then look
	// up the user's sessions revoked at RevokedAt.
	Sessions []EndedSession `json:"sessions,omitempty"`
}

// EndedSession is one session in a SessionRevoked payload.
type EndedSession = revocation.EndedSession

// endedEvent builds the outbox event of session sess of user u ending at
// `at`: CAEP session-revoked with a session subject, in the payload shape
// of internal/revocation (revocation.Event), its txn the event id.
func endedEvent(id string, u store.User, sess store.Session, at time.Time, reason string, by Initiator) store.OutboxEvent {
	entity := ssf.InitiatedBySystem
	switch {
	case by.UserID != "" && by.UserID == u.ID:
		entity = ssf.InitiatedByUser
	case by.UserID != "" || by.AppID != "":
		entity = ssf.InitiatedByAdmin
	case reason == ReasonIdleTimeout:
		entity = ssf.InitiatedByPolicy
	}
	var reasonAdmin map[string]string
	if reason != "" {
		reasonAdmin = map[string]string{"en": reason}
	}
	body, _ := json.Marshal(ssf.SessionRevoked{CAEPCommon: ssf.CAEPCommon{
		EventTimestamp: at.Unix(), InitiatingEntity: entity, ReasonAdmin: reasonAdmin}})
	subject := revocation.EventSubject{UserID: sess.UserID, UserPrincipalName: u.UserPrincipalName, SessionID: sess.ID}
	if u.Mail != nil {
		subject.Email = *u.Mail
	}
	p := revocation.Event{
		Type: EventSessionRevoked, Txn: id, Cause: revocation.CauseSessionRevoked.String(), Subject: subject,
		InitiatingEntity: entity, EventTimestamp: at.Unix(), ReasonAdmin: reasonAdmin, Body: body,
		RevokedAt: at.UTC(), Reason: reason, Sessions: []EndedSession{{ID: sess.ID, ClientIDs: sess.ClientIDs}},
		InitiatedBy: by.initiatedBy(),
	}
	payload, _ := json.Marshal(p) // strings, times, maps and raw JSON only
	return store.OutboxEvent{ID: id, Type: EventSessionRevoked, UserID: sess.UserID, SessionID: sess.ID, Payload: payload, CreatedAt: at.UTC()}
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
