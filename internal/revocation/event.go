package revocation

import (
	"encoding/json"
	"time"

	"github.com/vigil-idp/vigil/internal/store"
	"github.com/vigil-idp/vigil/ssf"
)

// Event is the JSON payload of every outbox event this package appends
// (store.OutboxEvent.Payload; the event's Type, UserID and SessionID
// columns repeat Type, Subject.UserID and Subject.SessionID). It carries
// what the SSF transmitter needs to build a Security Event Token (RFC 8417,
// OpenID SSF 1.0 §4) for any stream, without reading anything else:
//
//   - the SET's "events" claim is {Type: Body}; Body is the event payload
//     exactly as CAEP 1.0 / RISC 1.0 define it (ssf.SessionRevoked,
//     ssf.CredentialChange, ssf.AccountDisabled, …), without the legacy
//     in-event subject;
//   - "sub_id" is built from Subject in the stream's format (iss_sub with
//     the transmitter's issuer and Subject.UserID, email, or a complex
//     subject {user, session});
//   - "txn" is Txn, shared by the events of one cause (a disable emits
//     account-disabled and session-revoked with the same Txn, as SSF 1.0
//     §4.1.3 allows).
//
// RevokedAt, Reason and Sessions make the payload a superset of
// internal/session's SessionRevoked, so the back-channel logout worker
// reads session-revoked events from either producer.
type Event struct {
	// Type is the event type URI (ssf.Event…).
	Type string `json:"type"`
	// Txn is the SET txn: the revocation id or correlation id.
	Txn string `json:"txn"`
	// RevocationID is the revocation resource, when there is one.
	RevocationID string `json:"revocationId,omitempty"`
	// Cause is Cause.String().
	Cause string `json:"cause"`
	// Subject names the user (and session) the event is about.
	Subject EventSubject `json:"subject"`
	// InitiatingEntity, EventTimestamp (seconds since the epoch) and
	// ReasonAdmin ({"en": reason}) as in CAEP 1.0 §2; for CAEP types Body
	// carries them too.
	InitiatingEntity ssf.InitiatingEntity `json:"initiatingEntity"`
	EventTimestamp   int64                `json:"eventTimestamp"`
	ReasonAdmin      map[string]string    `json:"reasonAdmin,omitempty"`
	// Body is the SET event payload (the value under events[Type]).
	Body json.RawMessage `json:"event,omitempty"`

	// RevokedAt is when sessions and tokens were revoked (the time
	// written to their RevokedAt), to the microsecond; absent from events
	// that revoke nothing (token-claims-change).
	RevokedAt time.Time `json:"revokedAt,omitzero"`
	// Reason is the administrator's reason (as session.SessionRevoked).
	Reason string `json:"reason,omitempty"`
	// Sessions lists the ended sessions when they are known: for a
	// single-session revocation and for a deleted user (whose rows are
	// gone afterwards); otherwise consumers look up the user's sessions
	// revoked at RevokedAt.
	Sessions []EndedSession `json:"sessions,omitempty"`
	// InitiatedBy is Graph's auditActivityInitiator of who ended the
	// sessions, when the producer includes it (internal/session does).
	// This package leaves it out: the audit record with the same
	// correlation id (Txn) names the initiator, and repeating 200 bytes on
	// every event of a bulk revocation costs.
	InitiatedBy json.RawMessage `json:"initiatedBy,omitempty"`
}

// EventSubject identifies the subject of an Event.
type EventSubject struct {
	UserID            string `json:"userId"` // oid / sub
	UserPrincipalName string `json:"userPrincipalName,omitempty"`
	Email             string `json:"email,omitempty"` // the user's mail, when set
	SessionID         string `json:"sessionId,omitempty"`
}

// EndedSession is one session in Event.Sessions (JSON as
// session.EndedSession).
type EndedSession struct {
	ID        string   `json:"id"`
	ClientIDs []string `json:"clientIds,omitempty"`
}

// eventCtx is what every event of one call shares.
type eventCtx struct {
	txn, revocationID, reason string
	cause                     Cause
	in                        Initiator
	initiatedBy               json.RawMessage // of in, for audit records
	at                        time.Time
	newID                     func() string
	bodies                    map[string]json.RawMessage // by type and entity
}

func (c *eventCtx) reasonAdmin() map[string]string {
	if c.reason == "" {
		return nil
	}
	return map[string]string{"en": c.reason}
}

// event builds one outbox event of type typ about u (and session sid, when
// not "") whose SET payload is body.
func (c *eventCtx) event(typ string, u store.User, sid string, ended []EndedSession, body json.RawMessage) store.OutboxEvent {
	subj := EventSubject{UserID: u.ID, UserPrincipalName: u.UserPrincipalName, SessionID: sid}
	if u.Mail != nil {
		subj.Email = *u.Mail
	}
	p := Event{
		Type: typ, Txn: c.txn, RevocationID: c.revocationID, Cause: c.cause.String(), Subject: subj,
		InitiatingEntity: c.in.entity(u.ID), EventTimestamp: c.at.Unix(), ReasonAdmin: c.reasonAdmin(),
		Reason: c.reason, Sessions: ended,
	}
	if c.cause != CauseClaimsChanged {
		p.RevokedAt = c.at
	}
	return store.OutboxEvent{ID: c.newID(), Type: typ, UserID: u.ID, SessionID: sid, Payload: marshalEvent(p, body), CreatedAt: c.at}
}

// marshalEvent renders p with body as its Body. body is JSON this package
// marshalled, so it is appended as it is (json.Marshal would re-validate
// and compact it for every event).
func marshalEvent(p Event, body json.RawMessage) []byte {
	b, _ := json.Marshal(p) // strings, numbers and times; Body empty, so omitted
	b = append(b[:len(b)-1], `,"event":`...)
	b = append(b, body...)
	return append(b, '}')
}

// body returns the SET payload of an event of type typ about userID. The
// payloads of one call differ only by initiating entity, so each is
// marshalled once.
func (c *eventCtx) body(typ, userID string) json.RawMessage {
	entity := c.in.entity(userID)
	key := typ + " " + string(entity)
	if b, ok := c.bodies[key]; ok {
		return b
	}
	common := ssf.CAEPCommon{EventTimestamp: c.at.Unix(), InitiatingEntity: entity, ReasonAdmin: c.reasonAdmin()}
	var v any
	switch typ {
	case ssf.EventAccountDisabled:
		v = ssf.AccountDisabled{}
	case ssf.EventAccountEnabled:
		v = ssf.AccountEnabled{}
	case ssf.EventAccountPurged:
		v = ssf.AccountPurged{}
	case ssf.EventCredentialChange:
		v = ssf.CredentialChange{CAEPCommon: common, CredentialType: ssf.CredentialPassword, ChangeType: ssf.ChangeUpdate}
	default:
		v = ssf.SessionRevoked{CAEPCommon: common}
	}
	b, _ := json.Marshal(v) // ssf types: strings, ints, maps of strings
	if c.bodies == nil {
		c.bodies = map[string]json.RawMessage{}
	}
	c.bodies[key] = b
	return b
}

// events returns the outbox events of c.cause for user u: the cause's own
// event and, when sessions were revoked as a consequence, a CAEP
// session-revoked sharing its txn.
func (c *eventCtx) events(u store.User, ended []EndedSession) []store.OutboxEvent {
	own := func(typ string) store.OutboxEvent { return c.event(typ, u, "", nil, c.body(typ, u.ID)) }
	revoked := c.event(ssf.EventSessionRevoked, u, "", ended, c.body(ssf.EventSessionRevoked, u.ID))
	switch c.cause {
	case CauseAccountDisabled:
		return []store.OutboxEvent{own(ssf.EventAccountDisabled), revoked}
	case CauseAccountEnabled:
		return []store.OutboxEvent{own(ssf.EventAccountEnabled)}
	case CauseUserDeleted:
		return []store.OutboxEvent{own(ssf.EventAccountPurged), revoked}
	case CausePasswordChanged:
		return []store.OutboxEvent{own(ssf.EventCredentialChange), revoked}
	}
	return []store.OutboxEvent{revoked}
}

// sessionEvent is the CAEP session-revoked of one ended session.
func (c *eventCtx) sessionEvent(u store.User, s store.Session) store.OutboxEvent {
	ended := []EndedSession{{ID: s.ID, ClientIDs: s.ClientIDs}}
	return c.event(ssf.EventSessionRevoked, u, s.ID, ended, c.body(ssf.EventSessionRevoked, u.ID))
}
