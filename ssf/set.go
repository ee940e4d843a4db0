package ssf

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
)

// Security Event Token media types (RFC 8417 §2.3, §7.2).
const (
	// SETType is the JOSE "typ" header of every SET Vigil signs; SSF 1.0
	// §4.1.1 requires it (explicit typing, RFC 8725 §3.11).
	SETType = "secevent+jwt"
	// SETMediaType is the Content-Type of a pushed SET (RFC 8935 §2).
	SETMediaType = "application/secevent+jwt"
)

// SET is the claims set of a Security Event Token (RFC 8417 §2.2) as
// profiled by SSF 1.0 §4.1: no "sub" (the subject is SubID, RFC 9493 §4),
// no "exp", and exactly one event (SSF 1.0 §4.1.6; the CAEP
// interoperability profile makes it a MUST).
type SET struct {
	// Issuer ("iss", REQUIRED) equals the transmitter metadata's issuer
	// and the stream's iss (SSF 1.0 §4.1.2).
	Issuer string `json:"iss"`
	// IssuedAt ("iat", REQUIRED) is a NumericDate (seconds since the
	// epoch).
	IssuedAt int64 `json:"iat"`
	// JTI ("jti", REQUIRED) is unique per SET; receivers deduplicate and
	// acknowledge by it (RFC 8936 §2.4).
	JTI string `json:"jti"`
	// Audience ("aud") is the stream's aud (SSF 1.0 §4.1.4).
	Audience Audience `json:"aud,omitempty"`
	// Txn ("txn", RFC 8417 §2.2) names the underlying cause; SETs with
	// one cause share it (SSF 1.0 §4.1.3).
	Txn string `json:"txn,omitempty"`
	// TOE ("toe", RFC 8417 §2.2) is when the event happened, if known;
	// CAEP events carry event_timestamp instead.
	TOE int64 `json:"toe,omitempty"`
	// SubID ("sub_id", RFC 9493 §4) is the principal subject; SSF 1.0
	// §4.1.5 requires it on every event.
	SubID *Subject `json:"sub_id,omitempty"`
	// Events ("events", REQUIRED) maps each event type URI to its payload
	// (e.g. SessionRevoked, CredentialChange, Verification).
	Events map[string]json.RawMessage `json:"events"`
}

// ErrNotOneEvent is returned by SET.Event when the events claim does not
// hold exactly one event (SSF 1.0 §4.1.6).
var ErrNotOneEvent = errors.New("ssf: SET must hold exactly one event")

// Event returns the SET's only event: its type URI and raw payload. It
// returns ErrNotOneEvent when Events has zero or several members.
func (s SET) Event() (typ string, payload json.RawMessage, err error) {
	if len(s.Events) != 1 {
		return "", nil, fmt.Errorf("%w (it holds %d)", ErrNotOneEvent, len(s.Events))
	}
	for k, v := range s.Events {
		typ, payload = k, v
	}
	return typ, payload, nil
}

// NewSET returns a SET holding the one event typ with payload body (any
// value that marshals to a JSON object, e.g. SessionRevoked{…}).
func NewSET(iss string, iat int64, jti string, aud Audience, txn string, subID Subject, typ string, body any) (SET, error) {
	b, err := json.Marshal(body)
	if err != nil {
		return SET{}, fmt.Errorf("ssf: marshal %s payload: %w", typ, err)
	}
	if len(b) == 0 || b[0] != '{' {
		return SET{}, fmt.Errorf("ssf: %s payload must be a JSON object, not %s", typ, b)
	}
	return SET{Issuer: iss, IssuedAt: iat, JTI: jti, Audience: aud, Txn: txn, SubID: &subID,
		Events: map[string]json.RawMessage{typ: b}}, nil
}

// Audience is an "aud" value: RFC 7519 §4.1.3 lets it be one string or an
// array of strings. It marshals as a string when it holds exactly one
// value and as an array otherwise; it unmarshals either form.
type Audience []string

// MarshalJSON writes one audience as a string, several as an array.
func (a Audience) MarshalJSON() ([]byte, error) {
	if len(a) == 1 {
		return json.Marshal(a[0])
	}
	return json.Marshal([]string(a))
}

// UnmarshalJSON accepts a string or an array of strings.
func (a *Audience) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*a = Audience{s}
		return nil
	}
	var ss []string
	if err := json.Unmarshal(b, &ss); err != nil {
		return fmt.Errorf("ssf: aud must be a string or an array of strings: %w", err)
	}
	*a = ss
	return nil
}

// Contains reports whether aud is one of a's values.
func (a Audience) Contains(aud string) bool {
	for _, v := range a {
		if v == aud {
			return true
		}
	}
	return false
}
