package guard

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/vigil-idp/vigil/ssf"
)

// Results of a SET, for vigil_guard_events_total.
const (
	resultApplied  = "applied"
	resultIgnored  = "ignored"
	resultRejected = "rejected"
)

// knownEvents are the event types counted under their own label; any
// other is counted as "other", so a transmitter cannot grow the metric.
var knownEvents = append(slices.Clone(EventsRequested), ssf.EventVerification, ssf.EventStreamUpdated)

// receive verifies and applies a batch of SETs (jti → compact SET) in
// the order they were issued, and returns the jtis to acknowledge (the
// applied ones) and the setErrs of the others (RFC 8936 §2.4).
func (g *Guard) receive(ctx context.Context, info *streamInfo, sets map[string]string) ([]string, map[string]ssf.SETError) {
	type item struct {
		jti string
		set *ssf.SET
	}
	var acks []string
	var errs map[string]ssf.SETError
	reject := func(jti string, e *ssf.SETError) {
		if errs == nil {
			errs = map[string]ssf.SETError{}
		}
		errs[jti] = *e
		g.log.Warn("guard: SET refused", "jti", jti, "err", e.Err, "description", e.Description)
	}
	items := make([]item, 0, len(sets))
	for jti, raw := range sets {
		set, e := g.verifySET(ctx, info, raw)
		if e == errKeysUnavailable {
			// Neither acknowledged nor refused: the transmitter hands
			// it out again once its lease runs out.
			g.log.Warn("guard: SET left for later: the transmitter's keys are unavailable", "jti", jti)
			continue
		}
		if e == nil && set.JTI != jti {
			e = &ssf.SETError{Err: ssf.SETErrInvalidRequest, Description: "jti does not match the poll response key"}
		}
		if e != nil {
			g.m.events.WithLabelValues("unknown", resultRejected).Inc()
			reject(jti, e)
			continue
		}
		items = append(items, item{jti, set})
	}
	// Apply in issue order, so account-disabled then account-enabled of
	// one user ends enabled, whatever order the JSON object had.
	slices.SortFunc(items, func(a, b item) int {
		return cmp.Or(cmp.Compare(a.set.IssuedAt, b.set.IssuedAt), cmp.Compare(a.jti, b.jti))
	})
	for _, it := range items {
		if e := g.applySET(info, it.set); e != nil {
			reject(it.jti, e)
			continue
		}
		acks = append(acks, it.jti)
	}
	return acks, errs
}

// errKeysUnavailable is verifySET's answer when the transmitter's JWKS
// cannot be fetched: the SET may be fine, so it is neither applied nor
// refused.
var errKeysUnavailable = &ssf.SETError{Err: "temporarily_unavailable", Description: "the transmitter's JWKS cannot be fetched"}

// verifySET checks a SET as SSF 1.0 §4.1 profiles it: typ secevent+jwt,
// an allowed algorithm, the signature by a key of the transmitter's JWKS,
// iss the transmitter, aud the stream's, a jti and exactly one event. The
// error is the RFC 8935 §2.3 error to report.
func (g *Guard) verifySET(ctx context.Context, info *streamInfo, raw string) (*ssf.SET, *ssf.SETError) {
	bad := func(code, format string, args ...any) (*ssf.SET, *ssf.SETError) {
		return nil, &ssf.SETError{Err: code, Description: fmt.Sprintf(format, args...)}
	}
	h, err := peekHeader(raw)
	if err != nil {
		return bad(ssf.SETErrInvalidRequest, "%v", err)
	}
	if !typIs(h.Typ, ssf.SETType) {
		return bad(ssf.SETErrInvalidRequest, "typ %q, want %q", h.Typ, ssf.SETType)
	}
	if !g.algAllowed(h.Alg) {
		return bad(ssf.SETErrInvalidRequest, "alg %q is not allowed", h.Alg)
	}
	jws, err := jose.ParseSignedCompact(raw, g.algs)
	if err != nil {
		return bad(ssf.SETErrInvalidRequest, "%v", err)
	}
	payload, _, ferr := info.keys.verify(ctx, jws)
	if ferr != nil && ferr.Kind == KindUnavailable {
		return nil, errKeysUnavailable
	}
	if ferr != nil {
		return bad(ssf.SETErrInvalidKey, "%s", ferr.Kind)
	}
	var set ssf.SET
	if err := json.Unmarshal(payload, &set); err != nil {
		return bad(ssf.SETErrInvalidRequest, "claims: %v", err)
	}
	switch {
	case set.Issuer != info.issuer:
		return bad(ssf.SETErrInvalidIssuer, "iss %q, want %q", set.Issuer, info.issuer)
	case !audienceOverlaps(set.Audience, info.aud):
		return bad(ssf.SETErrInvalidAudience, "aud %q is not the stream's %q", []string(set.Audience), []string(info.aud))
	case set.JTI == "":
		return bad(ssf.SETErrInvalidRequest, "SET lacks jti")
	}
	if _, _, err := set.Event(); err != nil {
		return bad(ssf.SETErrInvalidRequest, "%v", err)
	}
	return &set, nil
}

func audienceOverlaps(got, want ssf.Audience) bool {
	for _, a := range want {
		if got.Contains(a) {
			return true
		}
	}
	return false
}

// applySET applies the SET's event to the revocation table (or to the
// stream's health for stream-updated). Times are whole seconds: a
// revocation at event_timestamp t gives validFrom t+1, because a token
// whose iat is t may have been issued just before the revocation (the
// safe side: one issued in the same second just after it is refused too,
// for under a second, as Vigil's introspection does).
func (g *Guard) applySET(info *streamInfo, set *ssf.SET) *ssf.SETError {
	typ, payload, _ := set.Event()
	label := "other"
	if slices.Contains(knownEvents, typ) {
		label = eventLabel(typ)
	}
	result, e := g.apply(info, set, typ, payload)
	if e != nil {
		g.m.events.WithLabelValues(label, resultRejected).Inc()
		return e
	}
	g.m.events.WithLabelValues(label, result).Inc()
	now := g.now()
	g.m.lastEvent.Set(float64(now.UnixNano()) / 1e9)
	if set.IssuedAt > 0 {
		g.m.lag.Observe(max(0, now.Sub(time.Unix(set.IssuedAt, 0)).Seconds()))
	}
	return nil
}

func (g *Guard) apply(info *streamInfo, set *ssf.SET, typ string, payload json.RawMessage) (string, *ssf.SETError) {
	switch typ {
	case ssf.EventVerification:
		return resultApplied, nil
	case ssf.EventStreamUpdated:
		var su ssf.StreamUpdated
		if err := json.Unmarshal(payload, &su); err != nil {
			return "", &ssf.SETError{Err: ssf.SETErrInvalidRequest, Description: "stream-updated payload: " + err.Error()}
		}
		g.health.setEnabled(g.now(), su.Status == ssf.StatusEnabled)
		g.log.Warn("guard: the transmitter changed the stream's status", "stream_id", info.id, "status", su.Status, "reason", su.Reason)
		return resultApplied, nil
	}
	if !slices.Contains(EventsRequested, typ) {
		return resultIgnored, nil
	}
	var body struct {
		ssf.CAEPCommon
		Subject *ssf.Subject `json:"subject"` // legacy in-event subject
	}
	if err := json.Unmarshal(payload, &body); err != nil {
		return "", &ssf.SETError{Err: ssf.SETErrInvalidRequest, Description: "event payload: " + err.Error()}
	}
	subj := set.SubID
	if subj == nil {
		subj = body.Subject
	}
	if subj == nil {
		return "", &ssf.SETError{Err: ssf.SETErrInvalidRequest, Description: "SET lacks sub_id"}
	}
	oid, sid, err := g.subjectIDs(info, subj)
	if err != nil {
		return "", &ssf.SETError{Err: ssf.SETErrInvalidRequest, Description: err.Error()}
	}
	at := cmp.Or(body.EventTimestamp, set.TOE, set.IssuedAt)
	if typ == ssf.EventSessionRevoked && sid != "" {
		g.table.revokeSession(sid, at)
		return resultApplied, nil
	}
	if oid == "" {
		return "", &ssf.SETError{Err: ssf.SETErrInvalidRequest, Description: "sub_id names no user"}
	}
	switch typ {
	case ssf.EventSessionRevoked, ssf.EventCredentialChange, ssf.EventTokenClaimsChange:
		g.table.revokeUser(oid, at+1)
	case ssf.EventAccountDisabled, ssf.EventAccountPurged:
		g.table.disableUser(oid, at+1)
	case ssf.EventAccountEnabled:
		g.table.enableUser(oid)
	}
	return resultApplied, nil
}

// subjectIDs maps a sub_id (RFC 9493, SSF 1.0 §3) to the user's object id
// (the oid of its tokens) and a session id: a complex subject's user and
// session members, or a simple user subject. Vigil sends a complex
// subject whose user is iss_sub (its issuer, the object id) and, when one
// session ended, whose session is opaque (the sid). A user is accepted as
// iss_sub of the token issuer or the transmitter, opaque (the object id),
// or aliases holding one of those; other formats (email, phone…) cannot
// be matched to a token and are refused, so the transmitter's receipt
// shows the revocation was not enforced here.
func (g *Guard) subjectIDs(info *streamInfo, s *ssf.Subject) (oid, sid string, err error) {
	if s.Format != ssf.FormatComplex {
		oid, err = g.userID(info, s)
		return oid, "", err
	}
	if s.User != nil {
		if oid, err = g.userID(info, s.User); err != nil {
			return "", "", err
		}
	}
	if s.Session != nil {
		if s.Session.Format != ssf.FormatOpaque || s.Session.ID == "" {
			return "", "", fmt.Errorf("session subject format %q is not opaque", s.Session.Format)
		}
		sid = s.Session.ID
	}
	if oid == "" && sid == "" {
		return "", "", fmt.Errorf("complex subject has neither user nor session")
	}
	return oid, sid, nil
}

func (g *Guard) userID(info *streamInfo, s *ssf.Subject) (string, error) {
	switch s.Format {
	case ssf.FormatIssSub:
		if s.Iss != g.cfg.Issuer && s.Iss != info.issuer {
			return "", fmt.Errorf("iss_sub subject of issuer %q, not %q", s.Iss, g.cfg.Issuer)
		}
		if s.Sub != "" {
			return s.Sub, nil
		}
	case ssf.FormatOpaque:
		if s.ID != "" {
			return s.ID, nil
		}
	case ssf.FormatAliases:
		for i := range s.Identifiers {
			if id, err := g.userID(info, &s.Identifiers[i]); err == nil {
				return id, nil
			}
		}
	}
	return "", fmt.Errorf("user subject format %q cannot be matched to a token's oid", s.Format)
}
