package ssfserver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/vigil-idp/vigil/internal/store"
	"github.com/vigil-idp/vigil/ssf"
)

// readObject reads a JSON object body into both its members (to tell
// absent from present) and v.
func readObject(w http.ResponseWriter, r *http.Request, v any) (map[string]json.RawMessage, error) {
	var raw json.RawMessage
	if err := decodeBody(w, r, maxBody, &raw); err != nil {
		return nil, err
	}
	var members map[string]json.RawMessage
	if err := json.Unmarshal(raw, &members); err != nil || members == nil {
		return nil, badRequest("the body must be a JSON object")
	}
	if err := json.Unmarshal(raw, v); err != nil {
		var typ *json.UnmarshalTypeError
		if errors.As(err, &typ) {
			return nil, badRequest("member %q must be %s, not a JSON %s", typ.Field, jsonKind(typ.Type.Kind().String()), typ.Value)
		}
		return nil, badRequest("the body is not valid: %v", err)
	}
	return members, nil
}

// createStream is Create Stream (SSF 1.0 §8.1.1.1): 201 with the full
// configuration. Without delivery, the stream is polled.
func (s *Server) createStream(w http.ResponseWriter, r *http.Request, c caller) error {
	var in ssf.StreamConfiguration
	present, err := readObject(w, r, &in)
	if err != nil {
		return err
	}
	ctx := r.Context()
	now := s.now()
	st := &stream{ID: s.newID(), Receiver: c.receiver, Status: ssf.StatusEnabled, CreatedAt: now, UpdatedAt: now}
	if err := s.applyReceiverFields(ctx, st, in, present, true); err != nil {
		return err
	}
	if in.BackfillSeconds < 0 {
		return badRequest("vigil_backfill_seconds must not be negative")
	}
	st.BackfillSeconds = min(in.BackfillSeconds, int(positive(s.MaxBackfill, DefaultMaxBackfill)/time.Second))
	limit := positive(s.MaxStreamsPerReceiver, DefaultMaxStreamsPerReceiver)
	err = s.changeStreams(ctx, func(tx store.Tx, d *streamDoc) error {
		if d.count(c.receiver) >= limit {
			return &Error{Status: http.StatusConflict, Code: CodeConflict,
				Description: fmt.Sprintf("this receiver already has %d streams, the most allowed; delete one first", limit)}
		}
		last, err := tx.LastOutboxSeq(ctx)
		if err != nil {
			return err
		}
		st.StartSeq = last
		if st.BackfillSeconds > 0 {
			if err := s.backfill(ctx, tx, st, now.Add(-time.Duration(st.BackfillSeconds)*time.Second)); err != nil {
				return err
			}
		}
		d.Streams = append(d.Streams, st)
		return nil
	})
	if err != nil {
		return err
	}
	if st.BackfillSeconds > 0 && st.Delivery.Method == ssf.DeliveryPush {
		s.wakePush() // the backfill is due now
	}
	writeJSON(w, http.StatusCreated, s.config(st))
	return nil
}

// readStreams is Read Stream (SSF 1.0 §8.1.1.2): one stream by stream_id,
// or every stream of the receiver as an array.
func (s *Server) readStreams(w http.ResponseWriter, r *http.Request, c caller) error {
	d, err := s.streams(r.Context())
	if err != nil {
		return err
	}
	if id := r.URL.Query().Get("stream_id"); id != "" {
		st := d.find(id, c.receiver)
		if st == nil {
			return errNotFound(id)
		}
		writeJSON(w, http.StatusOK, s.config(st))
		return nil
	}
	out := []ssf.StreamConfiguration{}
	for _, st := range d.Streams {
		if st.Receiver == c.receiver {
			out = append(out, s.config(st))
		}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) updateStream(w http.ResponseWriter, r *http.Request, c caller) error {
	return s.changeConfig(w, r, c, false)
}

func (s *Server) replaceStream(w http.ResponseWriter, r *http.Request, c caller) error {
	return s.changeConfig(w, r, c, true)
}

// changeConfig is Update Stream (PATCH, SSF 1.0 §8.1.1.3: only the
// members present change) and Replace Stream (PUT, §8.1.1.4: absent
// receiver-supplied members are reset). Transmitter-supplied members may
// be echoed but not changed.
func (s *Server) changeConfig(w http.ResponseWriter, r *http.Request, c caller, replace bool) error {
	var in ssf.StreamConfiguration
	present, err := readObject(w, r, &in)
	if err != nil {
		return err
	}
	if in.StreamID == "" {
		return badRequest("stream_id is required")
	}
	ctx := r.Context()
	var out ssf.StreamConfiguration
	err = s.changeStreams(ctx, func(_ store.Tx, d *streamDoc) error {
		st := d.find(in.StreamID, c.receiver)
		if st == nil {
			return errNotFound(in.StreamID)
		}
		if err := s.checkTransmitterFields(st, present); err != nil {
			return err
		}
		next := *st
		if err := s.applyReceiverFields(ctx, &next, in, present, replace); err != nil {
			return err
		}
		next.UpdatedAt = s.now()
		*st = next
		out = s.config(st)
		return nil
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// deleteStream is Delete Stream (SSF 1.0 §8.1.1.5): 204. Its queued SETs
// stay in the store but are never delivered.
func (s *Server) deleteStream(w http.ResponseWriter, r *http.Request, c caller) error {
	id := r.URL.Query().Get("stream_id")
	if id == "" {
		return badRequest("the stream_id query parameter is required")
	}
	err := s.changeStreams(r.Context(), func(_ store.Tx, d *streamDoc) error {
		i := slices.IndexFunc(d.Streams, func(st *stream) bool { return st.ID == id && st.Receiver == c.receiver })
		if i < 0 {
			return errNotFound(id)
		}
		d.Streams = slices.Delete(d.Streams, i, i+1)
		return nil
	})
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// readStatus is Read Stream Status (SSF 1.0 §8.1.2.1).
func (s *Server) readStatus(w http.ResponseWriter, r *http.Request, c caller) error {
	id := r.URL.Query().Get("stream_id")
	if id == "" {
		return badRequest("the stream_id query parameter is required")
	}
	d, err := s.streams(r.Context())
	if err != nil {
		return err
	}
	st := d.find(id, c.receiver)
	if st == nil {
		return errNotFound(id)
	}
	writeJSON(w, http.StatusOK, ssf.StreamStatus{StreamID: st.ID, Status: st.Status, Reason: st.Reason})
	return nil
}

// updateStatus is Update Stream Status (SSF 1.0 §8.1.2.2) by the
// receiver: 200 with the new status. No stream-updated event is sent (the
// receiver made the change).
func (s *Server) updateStatus(w http.ResponseWriter, r *http.Request, c caller) error {
	var in ssf.StreamStatus
	if _, err := readObject(w, r, &in); err != nil {
		return err
	}
	if in.StreamID == "" {
		return badRequest("stream_id is required")
	}
	out, err := s.setStatus(r.Context(), in.StreamID, c.receiver, in.Status, in.Reason, false)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// SetStreamStatus changes a stream's status on the transmitter's
// initiative (an administrator, a policy): it sends the receiver a
// stream-updated event (SSF 1.0 §8.1.5) on the stream's control queue,
// which is delivered even when the stream is paused or disabled, so the
// receiver hears of it before delivery stops. The error wraps
// store.ErrNotFound for an unknown stream.
func (s *Server) SetStreamStatus(ctx context.Context, streamID, status, reason string) error {
	_, err := s.setStatus(ctx, streamID, "", status, reason, true)
	var e *Error
	if errors.As(err, &e) && e.Status == http.StatusNotFound {
		return fmt.Errorf("ssfserver: stream %s: %w", streamID, store.ErrNotFound)
	}
	return err
}

// setStatus moves a stream (of receiver; any receiver when "") to status.
// Going to disabled drops the events queued so far. When byTransmitter,
// a stream-updated event is appended in the same transaction.
func (s *Server) setStatus(ctx context.Context, id, receiver, status, reason string, byTransmitter bool) (ssf.StreamStatus, error) {
	switch status {
	case ssf.StatusEnabled, ssf.StatusPaused, ssf.StatusDisabled:
	default:
		return ssf.StreamStatus{}, badRequest("status must be %q, %q or %q", ssf.StatusEnabled, ssf.StatusPaused, ssf.StatusDisabled)
	}
	if len(reason) > maxDescription {
		return ssf.StreamStatus{}, badRequest("reason is longer than %d bytes", maxDescription)
	}
	var out ssf.StreamStatus
	err := s.changeStreams(ctx, func(tx store.Tx, d *streamDoc) error {
		st := d.byID(id)
		if st == nil || (receiver != "" && st.Receiver != receiver) {
			return errNotFound(id)
		}
		// Entering disabled drops what is queued; leaving it drops what
		// happened meanwhile and is not dispatched yet: every event up to
		// now is dropped (at dispatch or when claimed).
		if (status == ssf.StatusDisabled) != (st.Status == ssf.StatusDisabled) {
			last, err := tx.LastOutboxSeq(ctx)
			if err != nil {
				return err
			}
			st.DropThrough = last
		}
		st.Status, st.Reason, st.UpdatedAt = status, reason, s.now()
		out = ssf.StreamStatus{StreamID: st.ID, Status: st.Status, Reason: st.Reason}
		if byTransmitter {
			return s.appendControl(ctx, tx, ssf.EventStreamUpdated, controlEvent{StreamID: st.ID, Status: status, Reason: reason})
		}
		return nil
	})
	return out, err
}

// controlEvent is the outbox payload of the SSF events about one stream
// (verification, stream-updated); the dispatcher sends it to that stream
// only.
type controlEvent struct {
	StreamID string `json:"streamId"`
	State    string `json:"state,omitempty"`
	Status   string `json:"status,omitempty"`
	Reason   string `json:"reason,omitempty"`
}

func (s *Server) appendControl(ctx context.Context, tx store.Tx, typ string, ev controlEvent) error {
	b, _ := json.Marshal(ev)
	_, err := tx.AppendOutbox(ctx, store.OutboxEvent{ID: s.newID(), Type: typ, Payload: b, CreatedAt: s.now()})
	return err
}

// Limits on subject lists.
const (
	maxAdded   = 1000
	maxRemoved = 10000
)

// addSubject is Add Subject (SSF 1.0 §8.1.3.2): 200 with an empty body,
// whether or not the subject exists (answering otherwise would reveal
// accounts). With default_subjects ALL it undoes an earlier removal.
func (s *Server) addSubject(w http.ResponseWriter, r *http.Request, c caller) error {
	var in ssf.AddSubjectRequest
	present, err := readObject(w, r, &in)
	if err != nil {
		return err
	}
	if err := s.changeSubjects(r, c, in.StreamID, in.Subject, present, true); err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

// removeSubject is Remove Subject (SSF 1.0 §8.1.3.3): 204; events about
// the subject stop (those already queued are still delivered).
func (s *Server) removeSubject(w http.ResponseWriter, r *http.Request, c caller) error {
	var in ssf.RemoveSubjectRequest
	present, err := readObject(w, r, &in)
	if err != nil {
		return err
	}
	if err := s.changeSubjects(r, c, in.StreamID, in.Subject, present, false); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// changeSubjects moves a subject to a stream's Added list (add) or its
// Removed list, taking it off the other.
func (s *Server) changeSubjects(r *http.Request, c caller, streamID string, sub ssf.Subject, present map[string]json.RawMessage, add bool) error {
	if err := checkSubjectRequest(streamID, sub, present); err != nil {
		return err
	}
	return s.changeStreams(r.Context(), func(_ store.Tx, d *streamDoc) error {
		st := d.find(streamID, c.receiver)
		if st == nil {
			return errNotFound(streamID)
		}
		to, from, limit := &st.Removed, &st.Added, maxRemoved
		if add {
			to, from, limit = &st.Added, &st.Removed, maxAdded
		}
		*from = slices.DeleteFunc(*from, sub.Equal)
		if !slices.ContainsFunc(*to, sub.Equal) {
			if len(*to) >= limit {
				return &Error{Status: http.StatusTooManyRequests, Code: CodeTooManyRequests,
					Description: fmt.Sprintf("a stream may list at most %d such subjects", limit)}
			}
			*to = append(*to, sub)
		}
		st.UpdatedAt = s.now()
		return nil
	})
}

func checkSubjectRequest(streamID string, sub ssf.Subject, present map[string]json.RawMessage) error {
	if streamID == "" {
		return badRequest("stream_id is required")
	}
	if _, ok := present["subject"]; !ok {
		return badRequest("subject is required")
	}
	if err := checkSubject(sub, false); err != nil {
		return badRequest("subject: %v", err)
	}
	return nil
}

// checkSubject validates a subject identifier (RFC 9493 §3, SSF 1.0 §3):
// a known format with its required members.
func checkSubject(s ssf.Subject, inner bool) error {
	need := func(ok bool, members string) error {
		if !ok {
			return fmt.Errorf("format %q needs %s", s.Format, members)
		}
		return nil
	}
	switch s.Format {
	case ssf.FormatEmail:
		return need(s.Email != "", "email")
	case ssf.FormatIssSub:
		return need(s.Iss != "" && s.Sub != "", "iss and sub")
	case ssf.FormatOpaque:
		return need(s.ID != "", "id")
	case ssf.FormatAccount:
		return need(len(s.URI) > 5 && s.URI[:5] == "acct:", `uri (an "acct:" URI)`)
	case ssf.FormatPhoneNumber:
		return need(s.PhoneNumber != "", "phone_number")
	case ssf.FormatDID:
		return need(s.URL != "", "url")
	case ssf.FormatURI:
		return need(s.URI != "", "uri")
	case ssf.FormatJWTID:
		return need(s.Iss != "" && s.JTI != "", "iss and jti")
	case ssf.FormatSAMLAssertionID:
		return need(s.Issuer != "" && s.AssertionID != "", "issuer and assertion_id")
	case ssf.FormatAliases:
		if len(s.Identifiers) == 0 {
			return need(false, "identifiers")
		}
		for _, id := range s.Identifiers {
			if id.Format == ssf.FormatAliases || id.Format == ssf.FormatComplex {
				return fmt.Errorf("aliases identifiers must be simple subjects")
			}
			if err := checkSubject(id, true); err != nil {
				return err
			}
		}
		return nil
	case ssf.FormatComplex:
		if inner {
			return fmt.Errorf("a complex subject's members must be simple subjects")
		}
		n := 0
		for _, m := range []*ssf.Subject{s.User, s.Device, s.Session, s.Application, s.Tenant, s.OrgUnit, s.Group} {
			if m == nil {
				continue
			}
			n++
			if err := checkSubject(*m, true); err != nil {
				return err
			}
		}
		return need(n > 0, "at least one member (user, device, session, application, tenant, org_unit, group)")
	case "":
		return fmt.Errorf("format is required")
	}
	return fmt.Errorf("format %q is not supported", s.Format)
}

// maxState bounds a verification state.
const maxState = 1024

// verify is Verification (SSF 1.0 §8.1.4.2): 204, and a verification
// event carrying state goes out on the stream's control queue. Requests
// closer together than min_verification_interval get 429.
func (s *Server) verify(w http.ResponseWriter, r *http.Request, c caller) error {
	var in ssf.VerificationRequest
	if _, err := readObject(w, r, &in); err != nil {
		return err
	}
	if in.StreamID == "" {
		return badRequest("stream_id is required")
	}
	if len(in.State) > maxState {
		return badRequest("state is longer than %d bytes", maxState)
	}
	ctx := r.Context()
	err := s.changeStreams(ctx, func(tx store.Tx, d *streamDoc) error {
		st := d.find(in.StreamID, c.receiver)
		if st == nil {
			return errNotFound(in.StreamID)
		}
		now := s.now()
		if st.LastVerification != nil {
			if wait := st.LastVerification.Add(s.minVerification()).Sub(now); wait > 0 {
				return &Error{Status: http.StatusTooManyRequests, Code: CodeTooManyRequests, RetryAfter: wait,
					Description: fmt.Sprintf("verification requests must be at least %v apart (min_verification_interval)", s.minVerification())}
			}
		}
		st.LastVerification = &now
		return s.appendControl(ctx, tx, ssf.EventVerification, controlEvent{StreamID: st.ID, State: in.State})
	})
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
