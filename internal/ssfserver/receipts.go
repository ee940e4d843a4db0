package ssfserver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/vigil-idp/vigil/internal/store"
	"github.com/vigil-idp/vigil/ssf"
)

// Receipt statuses beyond store.Receipt's pending, delivered,
// acknowledged and failed: a stream that should receive a revocation but
// is paused, disabled or was deleted says so instead of looking pending.
const (
	ReceiptPending      = "pending"
	ReceiptDelivered    = "delivered"
	ReceiptAcknowledged = "acknowledged"
	ReceiptFailed       = "failed"
	ReceiptFailing      = "failing"
	ReceiptPaused       = "paused"
	ReceiptDisabled     = "disabled"
	ReceiptDeleted      = "deleted"
)

// metaReceipts prefixes the store.Meta key of a revocation's receipt
// counters.
const metaReceipts = "ssf:receipts:"

// receiptDoc counts, per stream, a revocation's SETs: enqueued (Total),
// acknowledged, failed (dead) and dropped (the stream was disabled). It is
// updated in the transactions that enqueue, acknowledge and fail SETs, so
// the counts are exact.
type receiptDoc struct {
	Streams map[string]*receiptCount `json:"streams"`
}

type receiptCount struct {
	Receiver string `json:"receiver"`
	Total    int    `json:"total"`
	Acked    int    `json:"acked"`
	Failed   int    `json:"failed"`
	Dropped  int    `json:"dropped,omitempty"`
	Failing  int    `json:"failing,omitempty"` // pushes being retried
	// DeliveredAt is when the stream was first handed one of the SETs
	// (poll) or first answered a push; AcknowledgedAt when the last
	// outstanding one was acknowledged.
	DeliveredAt    *time.Time `json:"deliveredAt,omitempty"`
	AcknowledgedAt *time.Time `json:"acknowledgedAt,omitempty"`
}

func (d *receiptDoc) stream(id, receiver string) *receiptCount {
	if d.Streams == nil {
		d.Streams = map[string]*receiptCount{}
	}
	c := d.Streams[id]
	if c == nil {
		c = &receiptCount{Receiver: receiver}
		d.Streams[id] = c
	}
	return c
}

type metaRW interface {
	GetMeta(ctx context.Context, key string) ([]byte, error)
	PutMeta(ctx context.Context, key string, value []byte) error
}

func loadReceipts(ctx context.Context, m interface {
	GetMeta(context.Context, string) ([]byte, error)
}, rev string) (*receiptDoc, error) {
	b, err := m.GetMeta(ctx, metaReceipts+rev)
	if errors.Is(err, store.ErrNotFound) {
		return &receiptDoc{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("ssfserver: read receipts of %s: %w", rev, err)
	}
	var d receiptDoc
	if err := json.Unmarshal(b, &d); err != nil {
		return nil, fmt.Errorf("ssfserver: decode receipts of %s: %w", rev, err)
	}
	return &d, nil
}

// updateReceipts applies fn to a revocation's counters inside tx.
func updateReceipts(ctx context.Context, tx metaRW, rev string, fn func(*receiptDoc)) error {
	d, err := loadReceipts(ctx, tx, rev)
	if err != nil {
		return err
	}
	fn(d)
	b, _ := json.Marshal(d)
	return tx.PutMeta(ctx, metaReceipts+rev, b)
}

// outcome is one delivery's change, for counting.
type outcome int

const (
	outcomeDelivered outcome = iota // handed out or pushed, not acknowledged
	outcomeAcked
	outcomeFailed
	outcomeDropped
	outcomeReplayed  // a dead one made due again
	outcomeUndropped // a dropped one made due again
	outcomeFailing   // a push failed and will be retried
	outcomeRecovered // a push that had failed ended (delivered or dead)
)

// countOutcomes updates the counters of the deliveries' revocations in tx.
func countOutcomes(ctx context.Context, tx metaRW, streamID string, at time.Time, byRev map[string][]outcome) error {
	for rev, outs := range byRev {
		err := updateReceipts(ctx, tx, rev, func(d *receiptDoc) {
			c := d.stream(streamID, "")
			for _, o := range outs {
				switch o {
				case outcomeAcked:
					c.Acked++
				case outcomeFailed:
					c.Failed++
				case outcomeDropped:
					c.Dropped++
					c.Total--
				case outcomeReplayed:
					c.Failed--
				case outcomeUndropped:
					c.Dropped--
					c.Total++
				case outcomeFailing:
					c.Failing++
				case outcomeRecovered:
					c.Failing--
				}
				if (o == outcomeDelivered || o == outcomeAcked) && c.DeliveredAt == nil {
					c.DeliveredAt = &at
				}
			}
			if c.Total > 0 && c.Acked >= c.Total {
				c.AcknowledgedAt = &at
			}
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// Receipts returns, for a revocation, one receipt per stream that should
// receive its events (SSF streams whose configuration and subjects select
// them, including paused, disabled, failing and deleted ones, with that
// status), ordered by stream id, and effectiveAt: when the last of them
// acknowledged everything, or nil while any has not (or when no stream
// should receive it). It first dispatches any outbox event not yet
// dispatched, so a just-committed revocation already has its receipts.
//
// A receipt's status is the first that applies of: acknowledged (every
// SET acknowledged: poll ack or push 202), failed (a SET is dead: refused,
// retries exhausted, or reported in setErrs), deleted, disabled, paused
// (the stream's state), failing (a push is being retried), delivered
// (handed out or pushed, not all acknowledged), pending.
func (s *Server) Receipts(ctx context.Context, revocationID string) ([]store.Receipt, *time.Time, error) {
	last, err := s.Store.LastOutboxSeq(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("ssfserver: receipts: %w", err)
	}
	if err := s.catchUp(ctx, last); err != nil {
		return nil, nil, err
	}
	doc, err := loadReceipts(ctx, s.Store, revocationID)
	if err != nil {
		return nil, nil, err
	}
	streams, err := s.streams(ctx)
	if err != nil {
		return nil, nil, err
	}
	rs := receiptsOf(revocationID, doc, streams)
	if w, ok := s.Store.(ReceiptWriter); ok && len(rs) > 0 {
		s.syncReceipts(ctx, w, revocationID, rs)
	}
	return rs, effectiveAt(rs), nil
}

func receiptsOf(rev string, doc *receiptDoc, streams *streamDoc) []store.Receipt {
	ids := make([]string, 0, len(doc.Streams))
	for id := range doc.Streams {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	out := make([]store.Receipt, 0, len(ids))
	for _, id := range ids {
		c := doc.Streams[id]
		r := store.Receipt{RevocationID: rev, StreamID: id, Receiver: c.Receiver, DeliveredAt: c.DeliveredAt}
		st := streams.byID(id)
		switch {
		case c.Total > 0 && c.Acked >= c.Total && c.Dropped == 0:
			r.Status, r.AcknowledgedAt = ReceiptAcknowledged, c.AcknowledgedAt
		case c.Failed > 0:
			r.Status = ReceiptFailed
		case st == nil:
			r.Status = ReceiptDeleted
		case st.Status == ssf.StatusDisabled || c.Dropped > 0:
			r.Status = ReceiptDisabled
		case st.Status == ssf.StatusPaused:
			r.Status = ReceiptPaused
		case c.Failing > 0:
			r.Status = ReceiptFailing
		case c.DeliveredAt != nil:
			r.Status = ReceiptDelivered
		default:
			r.Status = ReceiptPending
		}
		out = append(out, r)
	}
	return out
}

// effectiveAt is the latest acknowledgement when every receipt is
// acknowledged; nil otherwise or when there are none.
func effectiveAt(rs []store.Receipt) *time.Time {
	var at *time.Time
	for _, r := range rs {
		if r.Status != ReceiptAcknowledged || r.AcknowledgedAt == nil {
			return nil
		}
		if at == nil || r.AcknowledgedAt.After(*at) {
			at = r.AcknowledgedAt
		}
	}
	return at
}

// markDirty notes revocations whose counters changed; flushReceipts
// mirrors them later, off the delivery path.
func (s *Server) markDirty(revs ...string) {
	if len(revs) == 0 {
		return
	}
	s.dirtyMu.Lock()
	defer s.dirtyMu.Unlock()
	if s.dirty == nil {
		s.dirty = map[string]bool{}
	}
	for _, r := range revs {
		s.dirty[r] = true
	}
}

// flushReceipts mirrors the receipts of every revocation marked dirty.
func (s *Server) flushReceipts(ctx context.Context) {
	s.dirtyMu.Lock()
	revs := make([]string, 0, len(s.dirty))
	for r := range s.dirty {
		revs = append(revs, r)
	}
	clear(s.dirty)
	s.dirtyMu.Unlock()
	s.mirrorReceipts(ctx, revs...)
}

// mirrorReceipts brings the store's receipts of revs (store.Revocations,
// read by the revocation resource) in line with Receipts, writing only
// those that changed. It runs after every change of the counters and on
// every Receipts call, so a receipt missed by a crash is written at the
// next look. Failures are logged: Receipts, which reads the counters,
// stays right. A revocation without a job (ErrNotFound) is skipped.
func (s *Server) mirrorReceipts(ctx context.Context, revs ...string) {
	w, ok := s.Store.(ReceiptWriter)
	if !ok || len(revs) == 0 {
		return
	}
	streams, err := s.streams(ctx)
	if err != nil {
		s.logger().WarnContext(ctx, "ssfserver: mirror receipts", "err", err)
		return
	}
	slices.Sort(revs)
	for _, rev := range slices.Compact(revs) {
		doc, err := loadReceipts(ctx, s.Store, rev)
		if err != nil {
			s.logger().WarnContext(ctx, "ssfserver: mirror receipts", "revocation", rev, "err", err)
			continue
		}
		s.syncReceipts(ctx, w, rev, receiptsOf(rev, doc, streams))
	}
}

func (s *Server) syncReceipts(ctx context.Context, w ReceiptWriter, rev string, want []store.Receipt) {
	have, err := w.ListReceipts(ctx, rev)
	if err != nil {
		s.logger().WarnContext(ctx, "ssfserver: list receipts", "revocation", rev, "err", err)
		return
	}
	stored := map[string]store.Receipt{}
	for _, r := range have {
		stored[r.StreamID] = r
	}
	for _, r := range want {
		if old, ok := stored[r.StreamID]; ok && sameReceipt(old, r) {
			continue
		}
		err := w.PutReceipt(ctx, r)
		if errors.Is(err, store.ErrNotFound) {
			return // no revocation job (e.g. a producer's own txn)
		}
		if err != nil {
			s.logger().WarnContext(ctx, "ssfserver: mirror receipt", "revocation", rev, "stream", r.StreamID,
				"err", strings.TrimSpace(err.Error()))
		}
	}
}

func sameReceipt(a, b store.Receipt) bool {
	eq := func(x, y *time.Time) bool { return (x == nil) == (y == nil) && (x == nil || x.Equal(*y)) }
	return a.Receiver == b.Receiver && a.Status == b.Status && eq(a.DeliveredAt, b.DeliveredAt) && eq(a.AcknowledgedAt, b.AcknowledgedAt)
}
