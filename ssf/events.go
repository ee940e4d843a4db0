package ssf

// Event type URIs: the keys of a SET's "events" claim (RFC 8417 §2.2).
const (
	// CAEPBase is the prefix of CAEP 1.0 event type URIs.
	CAEPBase = "https://schemas.openid.net/secevent/caep/event-type/"
	// RISCBase is the prefix of RISC 1.0 event type URIs.
	RISCBase = "https://schemas.openid.net/secevent/risc/event-type/"

	// EventSessionRevoked (CAEP 1.0 §3.1): the session named by the
	// subject was revoked; a complex subject with only "user" means every
	// session of that user. Payload: SessionRevoked.
	EventSessionRevoked = CAEPBase + "session-revoked"
	// EventTokenClaimsChange (CAEP 1.0 §3.2): claims of tokens issued to
	// the subject changed (e.g. roles, groups). Payload: TokenClaimsChange.
	EventTokenClaimsChange = CAEPBase + "token-claims-change"
	// EventCredentialChange (CAEP 1.0 §3.3): a credential of the subject
	// was created, revoked, updated or deleted. Payload: CredentialChange.
	EventCredentialChange = CAEPBase + "credential-change"

	// EventAccountDisabled (RISC 1.0 §2.3): the account was disabled and
	// may be enabled again. Payload: AccountDisabled.
	EventAccountDisabled = RISCBase + "account-disabled"
	// EventAccountEnabled (RISC 1.0 §2.4): the account was enabled.
	// Payload: AccountEnabled.
	EventAccountEnabled = RISCBase + "account-enabled"
	// EventAccountPurged (RISC 1.0 §2.2): the account was permanently
	// deleted. Payload: AccountPurged.
	EventAccountPurged = RISCBase + "account-purged"
)

// InitiatingEntity says what caused a CAEP event (CAEP 1.0 §2,
// "initiating_entity").
type InitiatingEntity string

// Initiating entities defined by CAEP 1.0 §2.
const (
	// InitiatedByAdmin: an administrator acted.
	InitiatedByAdmin InitiatingEntity = "admin"
	// InitiatedByUser: the end user acted.
	InitiatedByUser InitiatingEntity = "user"
	// InitiatedByPolicy: a policy evaluation caused it.
	InitiatedByPolicy InitiatingEntity = "policy"
	// InitiatedBySystem: a system or platform process caused it.
	InitiatedBySystem InitiatingEntity = "system"
)

// CAEPCommon holds the optional claims every CAEP 1.0 event may carry
// (CAEP 1.0 §2). Reasons map a BCP 47 language tag to text, e.g.
// {"en": "Offboarding"}.
type CAEPCommon struct {
	// EventTimestamp is when the event happened, in seconds since the
	// epoch (NumericDate).
	EventTimestamp int64 `json:"event_timestamp,omitempty"`
	// InitiatingEntity is what caused the event.
	InitiatingEntity InitiatingEntity `json:"initiating_entity,omitempty"`
	// ReasonAdmin is a reason meant for administrators.
	ReasonAdmin map[string]string `json:"reason_admin,omitempty"`
	// ReasonUser is a reason that may be shown to the end user.
	ReasonUser map[string]string `json:"reason_user,omitempty"`
}

// SessionRevoked is the payload of EventSessionRevoked (CAEP 1.0 §3.1),
// which defines no members beyond the common ones; event_timestamp is the
// time of revocation.
type SessionRevoked struct {
	CAEPCommon
}

// Credential types of CredentialChange (CAEP 1.0 §3.3.1,
// "credential_type"); transmitters and receivers may agree on others.
const (
	CredentialPassword      = "password"
	CredentialPIN           = "pin"
	CredentialX509          = "x509"
	CredentialFIDO2Platform = "fido2-platform"
	CredentialFIDO2Roaming  = "fido2-roaming"
	CredentialFIDOU2F       = "fido-u2f"
	CredentialVerifiable    = "verifiable-credential"
	CredentialPhoneVoice    = "phone-voice"
	CredentialPhoneSMS      = "phone-sms"
	CredentialApp           = "app"
)

// Change types of CredentialChange (CAEP 1.0 §3.3.1, "change_type").
const (
	ChangeCreate = "create"
	ChangeRevoke = "revoke"
	ChangeUpdate = "update"
	ChangeDelete = "delete"
)

// CredentialChange is the payload of EventCredentialChange (CAEP 1.0
// §3.3). CredentialType and ChangeType are required.
type CredentialChange struct {
	CAEPCommon
	CredentialType string `json:"credential_type"`
	ChangeType     string `json:"change_type"`
	FriendlyName   string `json:"friendly_name,omitempty"`
	X509Issuer     string `json:"x509_issuer,omitempty"`
	X509Serial     string `json:"x509_serial,omitempty"`
	FIDO2AAGUID    string `json:"fido2_aaguid,omitempty"`
}

// TokenClaimsChange is the payload of EventTokenClaimsChange (CAEP 1.0
// §3.2): Claims (required) holds the new values of the changed claims.
type TokenClaimsChange struct {
	CAEPCommon
	Claims map[string]any `json:"claims"`
}

// Reasons of AccountDisabled (RISC 1.0 §2.3, "reason").
const (
	// DisabledHijacking: the account was disabled because it was
	// hijacked.
	DisabledHijacking = "hijacking"
	// DisabledBulkAccount: the account was disabled because it was
	// created in bulk (e.g. by a spammer).
	DisabledBulkAccount = "bulk-account"
)

// AccountDisabled is the payload of EventAccountDisabled (RISC 1.0 §2.3);
// Reason is optional (DisabledHijacking or DisabledBulkAccount).
type AccountDisabled struct {
	Reason string `json:"reason,omitempty"`
}

// AccountEnabled is the payload of EventAccountEnabled (RISC 1.0 §2.4),
// which defines no members: it marshals to {}.
type AccountEnabled struct{}

// AccountPurged is the payload of EventAccountPurged (RISC 1.0 §2.2),
// which defines no members: it marshals to {}.
type AccountPurged struct{}

// SSF 1.0 event types (SSF 1.0 §8.1.4 and §8.1.5): events about the stream
// itself. Their sub_id is the opaque stream id (OpaqueSubject(streamID)).
const (
	// SSFBase is the prefix of SSF 1.0 event type URIs.
	SSFBase = "https://schemas.openid.net/secevent/ssf/event-type/"

	// EventVerification (SSF 1.0 §8.1.4.1): a verification event,
	// requested by the receiver or sent unprompted. Payload: Verification.
	EventVerification = SSFBase + "verification"
	// EventStreamUpdated (SSF 1.0 §8.1.5): the transmitter changed the
	// stream's status. Payload: StreamUpdated.
	EventStreamUpdated = SSFBase + "stream-updated"
)

// Verification is the payload of EventVerification (SSF 1.0 §8.1.4.1):
// State echoes the receiver's verification request, when it gave one.
type Verification struct {
	State string `json:"state,omitempty"`
}

// StreamUpdated is the payload of EventStreamUpdated (SSF 1.0 §8.1.5):
// the stream's new Status (StatusEnabled, StatusPaused, StatusDisabled)
// and an optional Reason.
type StreamUpdated struct {
	Status string `json:"status"`
	Reason string `json:"reason,omitempty"`
}
