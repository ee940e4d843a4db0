package ssfserver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/vigil-idp/vigil/internal/revocation"
	"github.com/vigil-idp/vigil/internal/store"
	"github.com/vigil-idp/vigil/ssf"
)

// dispatchBatch is how many outbox events one dispatch transaction reads.
const dispatchBatch = 200

// controlKey orders a stream's control SETs among themselves.
const controlKey = "stream"

// queued is the payload of one delivery: the SET's claims (iat is set when
// it is signed; jti is the delivery id) and what receipts need.
type queued struct {
	SET          ssf.SET `json:"set"`
	Type         string  `json:"type"`
	RevocationID string  `json:"rev,omitempty"`
}

func eventsQueue(streamID string) string  { return QueuePrefix + streamID }
func controlQueue(streamID string) string { return QueuePrefix + streamID + ":control" }

// Run runs the transmitter's workers until ctx ends: the dispatcher
// (outbox → stream queues, woken by the store's outbox notifications) and
// the push sender (RFC 8935, with retries). Several nodes may run it on
// one store.
func (s *Server) Run(ctx context.Context) {
	if err := s.check(); err != nil {
		s.logger().Error("ssfserver: not running", "err", err)
		return
	}
	s.init()
	var wg sync.WaitGroup
	wg.Go(func() { s.runDispatcher(ctx) })
	wg.Go(func() { s.runPush(ctx) })
	wg.Wait()
}

func (s *Server) runDispatcher(ctx context.Context) {
	for ctx.Err() == nil {
		if _, err := s.Pump(ctx); err != nil && ctx.Err() == nil {
			s.logger().ErrorContext(ctx, "ssfserver: dispatch", "err", err)
		}
		s.wakePush()
		s.flushReceipts(ctx)
		s.waitOutbox(ctx, s.dispatched.Load(), s.recheck())
	}
}

func (s *Server) recheck() time.Duration { return positive(s.Recheck, DefaultRecheck) }

// waitOutbox blocks until the outbox may hold an event after `after`, at
// most d, or until ctx ends.
func (s *Server) waitOutbox(ctx context.Context, after int64, d time.Duration) {
	wctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	if w, ok := s.Store.(store.OutboxWaiter); ok {
		_ = w.WaitOutbox(wctx, after)
		return
	}
	<-wctx.Done()
}

// Pump dispatches every outbox event past the cursor now and returns how
// many SETs it enqueued. It is safe on several nodes at once: a batch
// whose cursor move loses the compare-and-set is rolled back and the next
// batch starts from the winner's position.
func (s *Server) Pump(ctx context.Context) (int, error) {
	s.pumpMu.Lock()
	defer s.pumpMu.Unlock()
	return s.pumpLocked(ctx)
}

// catchUp makes sure every outbox event up to target has been dispatched
// (by this node or another), pumping if this node has not seen it yet.
func (s *Server) catchUp(ctx context.Context, target int64) error {
	if s.dispatched.Load() >= target {
		return nil
	}
	s.pumpMu.Lock()
	defer s.pumpMu.Unlock()
	if s.dispatched.Load() >= target {
		return nil
	}
	_, err := s.pumpLocked(ctx)
	return err
}

func (s *Server) pumpLocked(ctx context.Context) (int, error) {
	total := 0
	for {
		from, err := s.Store.GetCursor(ctx, Cursor)
		if err != nil {
			return total, fmt.Errorf("ssfserver: cursor: %w", err)
		}
		events, err := s.Store.ListOutbox(ctx, from, dispatchBatch)
		if err != nil {
			return total, fmt.Errorf("ssfserver: list outbox: %w", err)
		}
		if len(events) == 0 {
			s.noteDispatched(from)
			return total, nil
		}
		to := events[len(events)-1].Seq
		var n int
		var revs []string
		err = s.Store.InTx(ctx, func(tx store.Tx) error {
			d, err := loadStreams(ctx, tx)
			if err != nil {
				return err
			}
			ds, counts := s.plan(ctx, d, events, false)
			n, revs = len(ds), nil
			if len(ds) > 0 {
				if err := tx.EnqueueDeliveries(ctx, ds...); err != nil {
					return err
				}
			}
			for rev, byStream := range counts {
				revs = append(revs, rev)
				err := updateReceipts(ctx, tx, rev, func(doc *receiptDoc) {
					for sid, c := range byStream {
						rc := doc.stream(sid, c.Receiver)
						rc.Total += c.Total
						rc.Dropped += c.Dropped
					}
				})
				if err != nil {
					return err
				}
			}
			return tx.AdvanceCursor(ctx, Cursor, from, to)
		})
		switch {
		case errors.Is(err, store.ErrConflict): // another node dispatched them
			continue
		case err != nil:
			return total, fmt.Errorf("ssfserver: dispatch events %d..%d: %w", events[0].Seq, to, err)
		}
		s.noteDispatched(to)
		total += n
		s.markDirty(revs...)
		if len(events) < dispatchBatch {
			return total, nil // that was everything visible
		}
	}
}

func (s *Server) noteDispatched(seq int64) {
	for {
		cur := s.dispatched.Load()
		if seq <= cur || s.dispatched.CompareAndSwap(cur, seq) {
			return
		}
	}
}

// backfill queues on st, a stream being created in tx, the SETs of the
// events created since `since` up to st.StartSeq (those after it are the
// dispatcher's), a page at a time. They count in no revocation's
// receipts: a receipt reports the streams that existed when the
// revocation happened.
func (s *Server) backfill(ctx context.Context, tx store.Tx, st *stream, since time.Time) error {
	from, err := tx.OutboxSeqBefore(ctx, since)
	if err != nil {
		return err
	}
	only := &streamDoc{Streams: []*stream{st}}
	for from < st.StartSeq {
		events, err := tx.ListOutbox(ctx, from, dispatchBatch)
		if err != nil {
			return fmt.Errorf("ssfserver: backfill: %w", err)
		}
		if len(events) == 0 {
			return nil
		}
		from = events[len(events)-1].Seq
		if i := slices.IndexFunc(events, func(e store.OutboxEvent) bool { return e.Seq > st.StartSeq }); i >= 0 {
			events = events[:i]
		}
		if ds, _ := s.plan(ctx, only, events, true); len(ds) > 0 {
			if err := tx.EnqueueDeliveries(ctx, ds...); err != nil {
				return fmt.Errorf("ssfserver: backfill: %w", err)
			}
		}
	}
	return nil
}

// plan returns the deliveries the events call for and the receipt counts
// per revocation and stream. A backfill plans events that are at or
// before each stream's StartSeq, and counts nothing.
func (s *Server) plan(ctx context.Context, d *streamDoc, events []store.OutboxEvent, backfill bool) ([]store.Delivery, map[string]map[string]*receiptCount) {
	now := s.now()
	var ds []store.Delivery
	counts := map[string]map[string]*receiptCount{}
	add := func(st *stream, queue, key string, ev store.OutboxEvent, q queued) {
		id := s.newID()
		q.SET.JTI = id
		payload, _ := json.Marshal(q)
		ds = append(ds, store.Delivery{ID: id, Queue: queue, Key: key, EventSeq: ev.Seq, Payload: payload,
			NextAttemptAt: now, CreatedAt: now})
	}
	for _, ev := range events {
		switch ev.Type {
		case ssf.EventVerification, ssf.EventStreamUpdated:
			var c controlEvent
			if err := json.Unmarshal(ev.Payload, &c); err != nil {
				s.logger().ErrorContext(ctx, "ssfserver: bad control event; skipped", "seq", ev.Seq, "err", err)
				continue
			}
			st := d.byID(c.StreamID)
			if st == nil {
				continue // deleted meanwhile
			}
			var body any = ssf.Verification{State: c.State}
			if ev.Type == ssf.EventStreamUpdated {
				body = ssf.StreamUpdated{Status: c.Status, Reason: c.Reason}
			}
			set, err := ssf.NewSET(s.Issuer, 0, "", ssf.Audience{st.Receiver}, ev.ID, ssf.OpaqueSubject(st.ID), ev.Type, body)
			if err != nil {
				continue
			}
			add(st, controlQueue(st.ID), controlKey, ev, queued{SET: set, Type: ev.Type})
			continue
		}
		if !slices.Contains(SupportedEvents, ev.Type) {
			continue // not an SSF event (e.g. a producer's private type)
		}
		var p revocation.Event
		if err := json.Unmarshal(ev.Payload, &p); err != nil || p.Subject.UserID == "" {
			s.logger().ErrorContext(ctx, "ssfserver: bad event payload; skipped", "seq", ev.Seq, "id", ev.ID, "err", err)
			continue
		}
		subject := s.subjectOf(p)
		body := eventBody(p)
		txn := p.RevocationID
		if txn == "" {
			txn = p.Txn
		}
		if txn == "" {
			txn = ev.ID
		}
		for _, st := range d.Streams {
			if (ev.Seq <= st.StartSeq) != backfill || !slices.Contains(delivered(st.EventsRequested), ev.Type) || s.excluded(st, p) {
				continue
			}
			// SSF 1.0 §8.1.2: a disabled stream does not hold events,
			// including those that happened while it was disabled.
			drop := st.Status == ssf.StatusDisabled || ev.Seq <= st.DropThrough
			rev := p.RevocationID
			if backfill {
				rev = "" // counted in no receipt
			}
			if rev != "" {
				byStream := counts[p.RevocationID]
				if byStream == nil {
					byStream = map[string]*receiptCount{}
					counts[p.RevocationID] = byStream
				}
				c := byStream[st.ID]
				if c == nil {
					c = &receiptCount{Receiver: st.Receiver}
					byStream[st.ID] = c
				}
				if drop {
					c.Dropped++
				} else {
					c.Total++
				}
			}
			if drop {
				continue
			}
			sub := subject
			set := ssf.SET{Issuer: s.Issuer, Audience: ssf.Audience{st.Receiver}, Txn: txn, SubID: &sub,
				Events: map[string]json.RawMessage{ev.Type: body}}
			add(st, eventsQueue(st.ID), p.Subject.UserID, ev, queued{SET: set, Type: ev.Type, RevocationID: rev})
		}
	}
	return ds, counts
}

// eventBody is the event's SET payload with the CAEP 1.0 §2 common
// claims (event_timestamp, initiating_entity, reason_admin) filled from
// the outbox event where the payload lacks them, RISC events included
// (receivers ignore members they do not know, RFC 8417 §2.2).
func eventBody(p revocation.Event) json.RawMessage {
	var m map[string]json.RawMessage
	if len(p.Body) == 0 || json.Unmarshal(p.Body, &m) != nil || m == nil {
		m = map[string]json.RawMessage{}
	}
	fill := func(k string, v any, empty bool) {
		if _, ok := m[k]; !ok && !empty {
			m[k], _ = json.Marshal(v)
		}
	}
	fill("event_timestamp", p.EventTimestamp, p.EventTimestamp == 0)
	fill("initiating_entity", p.InitiatingEntity, p.InitiatingEntity == "")
	fill("reason_admin", p.ReasonAdmin, len(p.ReasonAdmin) == 0)
	b, _ := json.Marshal(m)
	return b
}

// subjectOf is the sub_id of an event: a complex subject (SSF 1.0 §3.2)
// whose user is iss_sub (the issuer and the user's object id, which is the
// sub and oid of the user's tokens), plus session (opaque sid) when one
// session is concerned.
func (s *Server) subjectOf(p revocation.Event) ssf.Subject {
	user := ssf.IssSubSubject(s.Issuer, p.Subject.UserID)
	sub := ssf.Subject{Format: ssf.FormatComplex, User: &user}
	if p.Subject.SessionID != "" {
		sess := ssf.OpaqueSubject(p.Subject.SessionID)
		sub.Session = &sess
	}
	return sub
}

// excluded reports whether the receiver removed the event's subject: a
// removed subject excludes the event when it matches the event's subject
// written with any of the user's identifiers (iss_sub, the object id as
// opaque, mail and userPrincipalName as email, acct: URI).
func (s *Server) excluded(st *stream, p revocation.Event) bool {
	if len(st.Removed) == 0 {
		return false
	}
	ids := []ssf.Subject{ssf.IssSubSubject(s.Issuer, p.Subject.UserID), ssf.OpaqueSubject(p.Subject.UserID)}
	if p.Subject.Email != "" {
		ids = append(ids, ssf.EmailSubject(p.Subject.Email))
	}
	if upn := p.Subject.UserPrincipalName; upn != "" {
		ids = append(ids, ssf.EmailSubject(upn), ssf.AccountSubject("acct:"+upn))
	}
	for _, f := range st.Removed {
		for _, id := range ids {
			ev := ssf.Subject{Format: ssf.FormatComplex, User: &id}
			if p.Subject.SessionID != "" {
				sess := ssf.OpaqueSubject(p.Subject.SessionID)
				ev.Session = &sess
			}
			if f.Matches(ev) {
				return true
			}
		}
	}
	return false
}

// sign signs a queued SET now (RS256, typ secevent+jwt, kid: RFC 8417
// §2.3, CAEP interoperability profile §2.6).
func (s *Server) sign(ctx context.Context, q queued) (string, error) {
	signer, err := s.Signers.Signer(ctx, jose.RS256)
	if err != nil {
		return "", fmt.Errorf("ssfserver: SET signer: %w", err)
	}
	set := q.SET
	set.IssuedAt = s.now().Unix()
	return signer.Sign(ssf.SETType, set)
}
