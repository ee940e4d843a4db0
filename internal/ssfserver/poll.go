package ssfserver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/vigil-idp/vigil/internal/odata"
	"github.com/vigil-idp/vigil/internal/store"
	"github.com/vigil-idp/vigil/ssf"
)

// Poll request limits (RFC 8936 leaves them to the transmitter).
const (
	maxPollBody = 1 << 20
	maxPollAcks = 10000
	maxJTI      = 128
)

// poll is the poll endpoint of a stream (RFC 8936 §2.4, §2.5): it applies
// ack and setErrs, then answers up to maxEvents SETs. With
// returnImmediately false and nothing to send, it holds the request until
// a SET is available (woken by the store's outbox notifications, on any
// node), LongPollTimeout passes, or the server shuts down, and then
// answers {"sets": {}, "moreAvailable": false}. SETs handed out and not
// acknowledged within PollLease are handed out again.
func (s *Server) poll(w http.ResponseWriter, r *http.Request, c caller) error {
	id := r.PathValue("id")
	var req ssf.PollRequest
	if err := decodeBody(w, r, maxPollBody, &req); err != nil {
		return err
	}
	ctx := r.Context()
	d, err := s.streams(ctx)
	if err != nil {
		return err
	}
	st := d.find(id, c.receiver)
	if st == nil {
		return errNotFound(id)
	}
	if st.Delivery.Method != ssf.DeliveryPoll {
		return badRequest("stream %s uses push delivery; its SETs are not polled", id)
	}
	if req.MaxEvents != nil && *req.MaxEvents < 0 {
		return badRequest("maxEvents must not be negative")
	}
	if len(req.Ack)+len(req.SetErrs) > maxPollAcks {
		return badRequest("at most %d SETs may be acknowledged or reported in one poll", maxPollAcks)
	}
	if len(req.Ack)+len(req.SetErrs) > 0 {
		if err := s.acknowledge(ctx, st, req.Ack, req.SetErrs); err != nil {
			return err
		}
	}
	limit := positive(s.MaxPollEvents, DefaultMaxPollEvents)
	if req.MaxEvents != nil {
		limit = min(*req.MaxEvents, limit)
	}
	resp := ssf.PollResponse{Sets: map[string]string{}}
	if limit == 0 {
		writeJSON(w, http.StatusOK, resp)
		_ = http.NewResponseController(w).Flush()
		s.flushReceipts(ctx)
		return nil
	}

	s.init()
	wait, cancel := context.WithTimeout(ctx, positive(s.LongPollTimeout, DefaultLongPollTimeout))
	defer cancel()
	go func() {
		select {
		case <-s.closing:
			cancel()
		case <-wait.Done():
		}
	}()
	for {
		last, err := s.Store.LastOutboxSeq(ctx)
		if err != nil {
			return err
		}
		if err := s.catchUp(ctx, last); err != nil {
			return err
		}
		if d, err = s.streams(ctx); err != nil {
			return err
		}
		if st = d.find(id, c.receiver); st == nil {
			return errNotFound(id)
		}
		sets, more, err := s.handOut(ctx, st, limit)
		if err != nil {
			return err
		}
		if len(sets) > 0 || req.ReturnImmediately || wait.Err() != nil {
			resp.Sets, resp.MoreAvailable = sets, more
			writeJSON(w, http.StatusOK, resp)
			_ = http.NewResponseController(w).Flush() // the receiver has it; now the bookkeeping
			s.flushReceipts(ctx)
			return nil
		}
		s.waitOutbox(wait, last, s.recheck())
	}
}

// handOut leases up to limit of the stream's SETs (control ones first;
// events only while enabled), signs them and reports whether more are
// waiting.
func (s *Server) handOut(ctx context.Context, st *stream, limit int) (map[string]string, bool, error) {
	var out []store.Delivery
	var more bool
	lease := positive(s.PollLease, DefaultPollLease)
	err := s.Store.InTx(ctx, func(tx store.Tx) error {
		now := s.now()
		out, more = nil, false
		queues := []string{controlQueue(st.ID)}
		if st.Status == ssf.StatusEnabled {
			queues = append(queues, eventsQueue(st.ID))
		}
		dropped := map[string][]outcome{}
		claimed := 0
		for _, q := range queues {
			if claimed >= limit {
				break
			}
			ds, err := tx.ClaimDeliveries(ctx, q, now, lease, limit-claimed)
			if err != nil {
				return err
			}
			claimed += len(ds)
			for _, d := range ds {
				if q == eventsQueue(st.ID) && d.EventSeq <= st.DropThrough {
					if err := dropDelivery(ctx, tx, d, now, dropped); err != nil {
						return err
					}
					continue
				}
				out = append(out, d)
			}
		}
		if claimed >= limit { // is anything else waiting? claim one, put it back
			for _, q := range queues {
				probe, err := tx.ClaimDeliveries(ctx, q, now, lease, 1)
				if err != nil {
					return err
				}
				if len(probe) > 0 {
					more = true
					p := probe[0]
					if err := tx.FailDelivery(ctx, p.ID, now, p.NextAttemptAt, false, p.LastError); err != nil {
						return err
					}
					break
				}
			}
		}
		byRev := map[string][]outcome{}
		for _, d := range out {
			if q, err := decodeQueued(d); err == nil && q.RevocationID != "" {
				byRev[q.RevocationID] = append(byRev[q.RevocationID], outcomeDelivered)
			}
		}
		if err := countOutcomes(ctx, tx, st.ID, now, dropped); err != nil {
			return err
		}
		return countOutcomes(ctx, tx, st.ID, now, byRev)
	})
	if err != nil {
		return nil, false, fmt.Errorf("ssfserver: hand out SETs of %s: %w", st.ID, err)
	}
	sets := make(map[string]string, len(out))
	var revs []string
	for _, d := range out {
		q, err := decodeQueued(d)
		if err != nil {
			return nil, false, err
		}
		jws, err := s.sign(ctx, q)
		if err != nil {
			return nil, false, err
		}
		sets[d.ID] = jws
		if q.RevocationID != "" {
			revs = append(revs, q.RevocationID)
		}
	}
	s.markDirty(revs...)
	return sets, more, nil
}

// dropDelivery marks a delivery queued before its stream was disabled
// dead, as dropped (SSF 1.0 §8.1.2: a disabled stream does not hold
// events), and notes it for the receipts.
func dropDelivery(ctx context.Context, tx store.Tx, d store.Delivery, now time.Time, byRev map[string][]outcome) error {
	if err := tx.FailDelivery(ctx, d.ID, now, now, true, droppedError); err != nil {
		return err
	}
	if q, err := decodeQueued(d); err == nil && q.RevocationID != "" {
		byRev[q.RevocationID] = append(byRev[q.RevocationID], outcomeDropped)
	}
	return nil
}

// droppedError is the LastError of SETs dropped because their stream was
// disabled.
const droppedError = "dropped: the stream was disabled"

// acknowledge applies a poll's ack (delivered and acknowledged) and
// setErrs (dead, with the receiver's error) atomically. Every jti must be
// one of the stream's SETs, else nothing is applied and the answer is 400;
// acknowledging again, or acknowledging a dead SET, changes nothing.
func (s *Server) acknowledge(ctx context.Context, st *stream, acks []string, setErrs map[string]ssf.SETError) error {
	ids := make([]string, 0, len(acks)+len(setErrs))
	seen := map[string]bool{}
	for _, id := range acks {
		if !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	for id, e := range setErrs {
		if seen[id] {
			return badRequest("SET %q is both acknowledged and reported in setErrs", id)
		}
		if e.Err == "" {
			return badRequest("setErrs[%q].err is required", id)
		}
		seen[id] = true
		ids = append(ids, id)
	}
	for _, id := range ids {
		if !validJTI(id) {
			return badRequest("%q is not a jti this transmitter issued", truncate(id, 64))
		}
	}
	byRev := map[string][]outcome{}
	var revs []string
	err := s.Store.InTx(ctx, func(tx store.Tx) error {
		clear(byRev)
		now := s.now()
		found, err := findDeliveries(ctx, tx, []string{eventsQueue(st.ID), controlQueue(st.ID)}, ids)
		if err != nil {
			return err
		}
		var unknown []string
		for _, id := range ids {
			if _, ok := found[id]; !ok {
				unknown = append(unknown, id)
			}
		}
		if len(unknown) > 0 {
			if len(unknown) > 5 {
				unknown = append(unknown[:5], "…")
			}
			return badRequest("unknown jti on this stream: %s", strings.Join(unknown, ", "))
		}
		for _, id := range ids {
			d := found[id]
			if d.DeliveredAt != nil || d.DeadAt != nil {
				continue
			}
			o := outcomeAcked
			if e, ok := setErrs[id]; ok {
				o = outcomeFailed
				err = tx.FailDelivery(ctx, id, now, now, true, truncate("receiver: "+e.Error(), 500))
			} else {
				err = tx.CompleteDelivery(ctx, id, now)
			}
			if err != nil {
				return err
			}
			if q, err := decodeQueued(d); err == nil && q.RevocationID != "" {
				byRev[q.RevocationID] = append(byRev[q.RevocationID], o)
			}
		}
		return countOutcomes(ctx, tx, st.ID, now, byRev)
	})
	if err != nil {
		return err
	}
	for rev := range byRev {
		revs = append(revs, rev)
	}
	s.markDirty(revs...)
	return nil
}

// deliveryLister is store.Deliveries.ListDeliveries.
type deliveryLister interface {
	ListDeliveries(ctx context.Context, queue string, deadOnly bool, q store.Query) (store.Page[store.Delivery], error)
}

// findDeliveries returns the deliveries of the queues whose ids are
// listed, by id.
func findDeliveries(ctx context.Context, tx deliveryLister, queues, ids []string) (map[string]store.Delivery, error) {
	found := map[string]store.Delivery{}
	const chunk = 100
	for i := 0; i < len(ids); i += chunk {
		part := ids[i:min(i+chunk, len(ids))]
		vals := make([]odata.Literal, len(part))
		for j, id := range part {
			vals[j] = odata.Literal{Kind: odata.LitString, Value: id}
		}
		for _, q := range queues {
			page, err := tx.ListDeliveries(ctx, q, false, store.Query{Filter: &odata.In{Prop: "id", Values: vals}, Top: len(part)})
			if err != nil {
				return nil, err
			}
			for _, d := range page.Items {
				found[d.ID] = d
			}
		}
	}
	return found, nil
}

// validJTI reports whether id looks like a jti Vigil issues (letters,
// digits, '-', '_', '.'), so arbitrary strings never reach the store.
func validJTI(id string) bool {
	if id == "" || len(id) > maxJTI {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

var errBadPayload = errors.New("ssfserver: bad delivery payload")

func decodeQueued(d store.Delivery) (queued, error) {
	var q queued
	if err := json.Unmarshal(d.Payload, &q); err != nil {
		return q, fmt.Errorf("%w %s: %v", errBadPayload, d.ID, err)
	}
	return q, nil
}
