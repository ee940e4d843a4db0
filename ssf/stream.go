package ssf

// Delivery method URNs (SSF 1.0 §6.1.1; RFC 8935, RFC 8936).
const (
	// DeliveryPush is push delivery (RFC 8935): the transmitter POSTs each
	// SET to the receiver's endpoint_url.
	DeliveryPush = "urn:ietf:rfc:8935"
	// DeliveryPoll is poll delivery (RFC 8936): the receiver POSTs to the
	// transmitter's endpoint_url and gets SETs back.
	DeliveryPoll = "urn:ietf:rfc:8936"
)

// Stream statuses (SSF 1.0 §8.1.2).
const (
	// StatusEnabled: the transmitter delivers events.
	StatusEnabled = "enabled"
	// StatusPaused: the transmitter delivers nothing but holds events and
	// delivers them when the stream is enabled again.
	StatusPaused = "paused"
	// StatusDisabled: the transmitter delivers nothing and drops events.
	StatusDisabled = "disabled"
)

// StreamConfiguration is an event stream's configuration (SSF 1.0 §8.1.1),
// the body of the configuration endpoint's requests and responses. A
// receiver supplies Delivery (for push; optional for poll),
// EventsRequested and Description; the transmitter supplies the rest and
// answers with every member set (EventsDelivered ⊆ EventsSupported ∩
// EventsRequested).
type StreamConfiguration struct {
	// StreamID ("stream_id", transmitter-supplied, REQUIRED) identifies
	// the stream; URL-safe characters only.
	StreamID string `json:"stream_id,omitempty"`
	// Issuer ("iss", transmitter-supplied, REQUIRED) is the SETs' iss;
	// the receiver checks it equals the metadata issuer.
	Issuer string `json:"iss,omitempty"`
	// Audience ("aud", transmitter-supplied, REQUIRED) is the SETs' aud;
	// it cannot be updated.
	Audience Audience `json:"aud,omitempty"`
	// EventsSupported ("events_supported", transmitter-supplied) lists
	// the event type URIs the transmitter can send on this stream.
	EventsSupported []string `json:"events_supported,omitempty"`
	// EventsRequested ("events_requested", receiver-supplied) lists the
	// event type URIs the receiver wants; unknown ones are ignored.
	EventsRequested []string `json:"events_requested,omitempty"`
	// EventsDelivered ("events_delivered", transmitter-supplied,
	// REQUIRED) lists the event types the transmitter sends; receivers
	// rely on it.
	EventsDelivered []string `json:"events_delivered,omitempty"`
	// Delivery ("delivery", REQUIRED) says how SETs travel.
	Delivery *Delivery `json:"delivery,omitempty"`
	// MinVerificationInterval ("min_verification_interval",
	// transmitter-supplied) is the least number of seconds between two
	// verification requests; faster ones get 429.
	MinVerificationInterval int `json:"min_verification_interval,omitempty"`
	// Description ("description", receiver-supplied) is free text.
	Description string `json:"description,omitempty"`
	// InactivityTimeout ("inactivity_timeout", transmitter-supplied) is
	// how many seconds without receiver activity (a management call or,
	// for poll, a poll) the transmitter waits before it may pause,
	// disable or delete the stream.
	InactivityTimeout int `json:"inactivity_timeout,omitempty"`
	// BackfillSeconds ("vigil_backfill_seconds", a Vigil extension) is
	// set by the receiver when it creates a stream: the transmitter then
	// queues on the new stream, ahead of anything later, the events of
	// the requested types that happened in the last BackfillSeconds
	// seconds, so a receiver that starts afresh (a resource server's
	// revocation table after a restart) learns what was revoked while
	// tokens issued before may still be valid. The transmitter answers
	// with the window it used (it may shorten it; absent or 0: no
	// backfill). It cannot be changed after creation.
	BackfillSeconds int `json:"vigil_backfill_seconds,omitempty"`
}

// Delivery is a stream's "delivery" member (SSF 1.0 §8.1.1): Method is
// DeliveryPush or DeliveryPoll. For push, EndpointURL is the receiver's
// URL and AuthorizationHeader, when set, is sent as the Authorization
// header of every push; for poll, the transmitter supplies EndpointURL.
type Delivery struct {
	Method              string `json:"method"`
	EndpointURL         string `json:"endpoint_url,omitempty"`
	AuthorizationHeader string `json:"authorization_header,omitempty"`
}

// StreamStatus is the body of the status endpoint (SSF 1.0 §8.1.2):
// Status is StatusEnabled, StatusPaused or StatusDisabled; Reason is an
// optional explanation.
type StreamStatus struct {
	StreamID string `json:"stream_id"`
	Status   string `json:"status"`
	Reason   string `json:"reason,omitempty"`
}

// AddSubjectRequest is the body of the add-subject endpoint (SSF 1.0
// §8.1.3.2): the receiver asks for events about Subject. Verified, when
// set, says whether the receiver verified the subject.
type AddSubjectRequest struct {
	StreamID string  `json:"stream_id"`
	Subject  Subject `json:"subject"`
	Verified *bool   `json:"verified,omitempty"`
}

// RemoveSubjectRequest is the body of the remove-subject endpoint (SSF
// 1.0 §8.1.3.3). The transmitter may keep sending the subject's events for
// a while, and receivers must accept them.
type RemoveSubjectRequest struct {
	StreamID string  `json:"stream_id"`
	Subject  Subject `json:"subject"`
}

// VerificationRequest is the body of the verification endpoint (SSF 1.0
// §8.1.4.2): the transmitter answers 204 and sends an EventVerification
// SET whose payload echoes State.
type VerificationRequest struct {
	StreamID string `json:"stream_id"`
	State    string `json:"state,omitempty"`
}
