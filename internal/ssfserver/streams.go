package ssfserver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/vigil-idp/vigil/internal/store"
	"github.com/vigil-idp/vigil/ssf"
)

// SupportedEvents are the event types Vigil transmits (events_supported),
// CAEP 1.0 §3 and RISC 1.0 §2. Verification and stream-updated events
// (SSF 1.0 §8.1.4, §8.1.5) are sent on every stream regardless.
var SupportedEvents = []string{
	ssf.EventSessionRevoked,
	ssf.EventCredentialChange,
	ssf.EventTokenClaimsChange,
	ssf.EventAccountDisabled,
	ssf.EventAccountEnabled,
	ssf.EventAccountPurged,
}

// metaStreams is the store.Meta key of every stream configuration.
const metaStreams = "ssf:streams"

// maxDescription is where a description is truncated (SSF 1.0 §8.1.1
// allows it).
const maxDescription = 1000

// stream is one stream as stored: the receiver-supplied configuration, its
// status, its subject filter and bookkeeping.
type stream struct {
	ID       string `json:"id"`
	Receiver string `json:"receiver"` // the owner's client id; also the SETs' aud
	// EventsRequested is nil when the receiver named none (= every
	// supported type).
	EventsRequested []string     `json:"eventsRequested,omitempty"`
	Delivery        ssf.Delivery `json:"delivery"` // poll: EndpointURL ""
	Description     string       `json:"description,omitempty"`
	Status          string       `json:"status"`
	Reason          string       `json:"reason,omitempty"`
	// Removed lists subjects the receiver removed (default_subjects ALL:
	// every other subject is included); Added lists subjects it added.
	Removed []ssf.Subject `json:"removed,omitempty"`
	Added   []ssf.Subject `json:"added,omitempty"`
	// StartSeq: outbox events with a higher Seq are the stream's.
	StartSeq int64 `json:"startSeq"`
	// DropThrough: events with Seq ≤ DropThrough are dropped, not sent:
	// set to the last outbox Seq when the stream is disabled (what is
	// queued is dropped) and when it is enabled again (what happened
	// while it was disabled is dropped).
	DropThrough int64 `json:"dropThrough,omitempty"`
	// BackfillSeconds is the window of earlier events queued when the
	// stream was created (vigil_backfill_seconds).
	BackfillSeconds  int        `json:"backfillSeconds,omitempty"`
	CreatedAt        time.Time  `json:"createdAt"`
	UpdatedAt        time.Time  `json:"updatedAt"`
	LastVerification *time.Time `json:"lastVerification,omitempty"`
}

// streamDoc is the JSON under metaStreams.
type streamDoc struct {
	Streams []*stream `json:"streams"`
}

// find returns receiver's stream id, or nil (another receiver's stream is
// not found either).
func (d *streamDoc) find(id, receiver string) *stream {
	for _, st := range d.Streams {
		if st.ID == id && st.Receiver == receiver {
			return st
		}
	}
	return nil
}

func (d *streamDoc) byID(id string) *stream {
	for _, st := range d.Streams {
		if st.ID == id {
			return st
		}
	}
	return nil
}

func (d *streamDoc) count(receiver string) int {
	n := 0
	for _, st := range d.Streams {
		if st.Receiver == receiver {
			n++
		}
	}
	return n
}

func loadStreams(ctx context.Context, m interface {
	GetMeta(context.Context, string) ([]byte, error)
}) (*streamDoc, error) {
	b, err := m.GetMeta(ctx, metaStreams)
	if errors.Is(err, store.ErrNotFound) || (err == nil && len(b) == 0) {
		return &streamDoc{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("ssfserver: read streams: %w", err)
	}
	var d streamDoc
	if err := json.Unmarshal(b, &d); err != nil {
		return nil, fmt.Errorf("ssfserver: decode streams: %w", err)
	}
	return &d, nil
}

// streams reads every stream.
func (s *Server) streams(ctx context.Context) (*streamDoc, error) { return loadStreams(ctx, s.Store) }

// changeStreams runs fn on the stored streams inside a transaction and
// writes them back when fn returns nil; fn may also use tx (to append
// outbox events). fn may run more than once (a serialization retry).
func (s *Server) changeStreams(ctx context.Context, fn func(tx store.Tx, d *streamDoc) error) error {
	return s.Store.InTx(ctx, func(tx store.Tx) error {
		d, err := loadStreams(ctx, tx)
		if err != nil {
			return err
		}
		if err := fn(tx, d); err != nil {
			return err
		}
		b, err := json.Marshal(d)
		if err != nil {
			return fmt.Errorf("ssfserver: encode streams: %w", err)
		}
		return tx.PutMeta(ctx, metaStreams, b)
	})
}

// delivered is events_delivered: requested ∩ supported, in
// SupportedEvents order (SSF 1.0 §8.1.1).
func delivered(requested []string) []string {
	if requested == nil {
		return slices.Clone(SupportedEvents)
	}
	var out []string
	for _, e := range SupportedEvents {
		if slices.Contains(requested, e) {
			out = append(out, e)
		}
	}
	return out
}

// config is the stream's full configuration as the receiver sees it.
func (s *Server) config(st *stream) ssf.StreamConfiguration {
	d := st.Delivery
	if d.Method == ssf.DeliveryPoll {
		d.EndpointURL = s.PollURL(st.ID)
	}
	return ssf.StreamConfiguration{
		StreamID:                st.ID,
		Issuer:                  s.Issuer,
		Audience:                ssf.Audience{st.Receiver},
		EventsSupported:         slices.Clone(SupportedEvents),
		EventsRequested:         st.EventsRequested,
		EventsDelivered:         delivered(st.EventsRequested),
		Delivery:                &d,
		MinVerificationInterval: int(s.minVerification() / time.Second),
		Description:             st.Description,
		BackfillSeconds:         st.BackfillSeconds,
	}
}

func (s *Server) minVerification() time.Duration {
	return positive(s.MinVerificationInterval, DefaultMinVerificationInterval)
}

// receiverFields are the members a receiver supplies (SSF 1.0 §8.1.1).
var receiverFields = []string{"events_requested", "delivery", "description"}

// transmitterFields are the members only the transmitter sets: a receiver
// may echo them in an update, unchanged (SSF 1.0 §8.1.1.3).
// vigil_backfill_seconds is the receiver's at creation only, and fixed
// afterwards like these.
var transmitterFields = []string{"iss", "aud", "events_supported", "events_delivered", "min_verification_interval", "inactivity_timeout", "vigil_backfill_seconds"}

// applyReceiverFields validates and copies the receiver-supplied members
// of in into st: those present in `present`, or all of them (absent ones
// reset to their defaults) when replace.
func (s *Server) applyReceiverFields(ctx context.Context, st *stream, in ssf.StreamConfiguration, present map[string]json.RawMessage, replace bool) error {
	has := func(k string) bool { _, ok := present[k]; return ok && string(present[k]) != "null" }
	if replace || has("events_requested") {
		req := in.EventsRequested
		if !has("events_requested") {
			req = nil
		} else if req == nil {
			req = []string{}
		}
		if req != nil && len(delivered(req)) == 0 {
			return badRequest("events_requested names no event type this transmitter supports; supported: %s",
				strings.Join(SupportedEvents, ", "))
		}
		st.EventsRequested = req
	}
	if replace || has("delivery") {
		d := ssf.Delivery{Method: ssf.DeliveryPoll}
		if has("delivery") {
			if in.Delivery == nil {
				return badRequest("delivery must be an object")
			}
			d = *in.Delivery
		}
		if err := s.checkDelivery(ctx, st.Receiver, &d); err != nil {
			return err
		}
		st.Delivery = d
	}
	if replace || has("description") {
		st.Description = in.Description
		if r := []rune(st.Description); len(r) > maxDescription {
			st.Description = string(r[:maxDescription])
		}
	}
	return nil
}

// checkTransmitterFields refuses an update that changes a member only the
// transmitter sets (SSF 1.0 §8.1.1.3: 400); echoing the current value is
// fine.
func (s *Server) checkTransmitterFields(st *stream, present map[string]json.RawMessage) error {
	cur, _ := json.Marshal(s.config(st))
	var curMap map[string]json.RawMessage
	_ = json.Unmarshal(cur, &curMap)
	for _, k := range transmitterFields {
		v, ok := present[k]
		if !ok || string(v) == "null" {
			continue
		}
		if !sameJSON(v, curMap[k]) {
			return badRequest("%s is set by the transmitter and cannot be changed", k)
		}
	}
	return nil
}

// sameJSON compares two JSON values semantically ("a" equals ["a"] for
// aud).
func sameJSON(a, b json.RawMessage) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	norm := func(v any) any {
		if s, ok := v.(string); ok {
			return []any{s}
		}
		return v
	}
	xa, _ := json.Marshal(norm(x))
	ya, _ := json.Marshal(norm(y))
	return string(xa) == string(ya)
}

// checkDelivery validates a delivery member: poll (the transmitter's
// endpoint; any receiver-supplied URL or header is dropped) or push (the
// receiver's URL, which must pass pushURLAllowed).
func (s *Server) checkDelivery(ctx context.Context, receiver string, d *ssf.Delivery) error {
	switch d.Method {
	case ssf.DeliveryPoll:
		*d = ssf.Delivery{Method: ssf.DeliveryPoll}
		return nil
	case ssf.DeliveryPush:
		if d.EndpointURL == "" {
			return badRequest("delivery.endpoint_url is required for push delivery (%s)", ssf.DeliveryPush)
		}
		if strings.ContainsAny(d.AuthorizationHeader, "\r\n") {
			return badRequest("delivery.authorization_header must be one line")
		}
		return s.pushURLAllowed(ctx, receiver, d.EndpointURL)
	case "":
		return badRequest("delivery.method is required: %s (push) or %s (poll)", ssf.DeliveryPush, ssf.DeliveryPoll)
	}
	return badRequest("delivery.method %q is not supported: use %s (push) or %s (poll)", d.Method, ssf.DeliveryPush, ssf.DeliveryPoll)
}

// isLoopbackHost reports whether host (without port) names this machine:
// localhost, 127.0.0.0/8 or ::1.
func isLoopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// pushURLAllowed applies the SSRF rules to a push endpoint: with
// InsecureAllowLoopbackPush a loopback URL (http or https) is allowed;
// otherwise the URL must be https, must not name a non-public address
// literally, and must start with one of the receiver's allowed prefixes.
// (Names are resolved, and non-public addresses refused, when connecting.)
func (s *Server) pushURLAllowed(ctx context.Context, receiver, raw string) error {
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() || u.Host == "" || u.Opaque != "" {
		return badRequest("delivery.endpoint_url %q is not an absolute URL", raw)
	}
	if u.User != nil || u.Fragment != "" {
		return badRequest("delivery.endpoint_url must not carry user information or a fragment")
	}
	host := u.Hostname()
	if isLoopbackHost(host) {
		if s.InsecureAllowLoopbackPush && (u.Scheme == "http" || u.Scheme == "https") {
			return nil
		}
		return badRequest("delivery.endpoint_url %q is a loopback address, refused (the server does not run with --insecure-allow-loopback-push)", raw)
	}
	if u.Scheme != "https" {
		return badRequest("delivery.endpoint_url must be an https URL")
	}
	if ip := net.ParseIP(host); ip != nil && !publicIP(ip) {
		return badRequest("delivery.endpoint_url %q names a private, link-local or otherwise non-public address", raw)
	}
	var allowed []string
	if s.PushAllowList != nil {
		if allowed, err = s.PushAllowList.AllowedPushURLs(ctx, receiver); err != nil {
			return internal(err)
		}
	}
	for _, prefix := range allowed {
		if prefixAllows(prefix, u) {
			return nil
		}
	}
	return &Error{Status: 400, Code: ssf.SETErrAccessDenied,
		Description: fmt.Sprintf("delivery.endpoint_url %q is not on this receiver's push allow-list", raw)}
}

// prefixAllows reports whether u starts with the allow-list entry prefix,
// which must name at least a scheme and a host; scheme and host compare
// case-insensitively, the path as written.
func prefixAllows(prefix string, u *url.URL) bool {
	p, err := url.Parse(prefix)
	if err != nil || p.Scheme == "" || p.Host == "" {
		return false
	}
	if !strings.EqualFold(p.Scheme, u.Scheme) || !strings.EqualFold(p.Host, u.Host) {
		return false
	}
	return strings.HasPrefix(u.EscapedPath(), p.EscapedPath())
}

// publicIP reports whether ip is a globally routable unicast address.
func publicIP(ip net.IP) bool {
	return !(ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() ||
		ip.IsInterfaceLocalMulticast() || ip.IsMulticast() || ip.IsUnspecified() || isCGNAT(ip))
}

// isCGNAT reports 100.64.0.0/10 (RFC 6598), used inside cloud networks.
func isCGNAT(ip net.IP) bool {
	v4 := ip.To4()
	return v4 != nil && v4[0] == 100 && v4[1]&0xc0 == 64
}
