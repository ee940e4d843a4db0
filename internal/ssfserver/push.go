package ssfserver

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"sync"
	"syscall"
	"time"

	"github.com/vigil-idp/vigil/internal/store"
	"github.com/vigil-idp/vigil/ssf"
)

func (s *Server) wakePush() {
	s.init()
	select {
	case s.pushWake <- struct{}{}:
	default:
	}
}

// runPush sends due push deliveries whenever the dispatcher has run and
// every Recheck (retries falling due), until ctx ends.
func (s *Server) runPush(ctx context.Context) {
	t := time.NewTicker(s.recheck())
	defer t.Stop()
	for {
		if err := s.PushOnce(ctx); err != nil && ctx.Err() == nil {
			s.logger().ErrorContext(ctx, "ssfserver: push", "err", err)
		}
		s.flushReceipts(ctx)
		select {
		case <-ctx.Done():
			return
		case <-s.pushWake:
		case <-t.C:
		}
	}
}

// PushOnce attempts every due push delivery once (RFC 8935): for each
// push stream, its control SETs and, while it is enabled, its event SETs,
// in order per subject, PushConcurrency requests at a time. The error
// reports store failures, not receivers'.
func (s *Server) PushOnce(ctx context.Context) error {
	d, err := s.streams(ctx)
	if err != nil {
		return err
	}
	sem := make(chan struct{}, positive(s.PushConcurrency, DefaultPushConcurrency))
	var wg sync.WaitGroup
	var mu sync.Mutex
	var errs []error
	for _, st := range d.Streams {
		if st.Delivery.Method != ssf.DeliveryPush {
			continue
		}
		wg.Go(func() {
			if err := s.pushStream(ctx, st, sem); err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

func (s *Server) pushLease() time.Duration { return 2*s.pushTimeout() + 5*time.Second }
func (s *Server) pushTimeout() time.Duration {
	return positive(s.PushTimeout, DefaultPushTimeout)
}

// pushStream sends one stream's due deliveries until none is due: each
// claimed batch is sent concurrently, and its outcomes are recorded in one
// transaction (so a bulk revocation's receipt counters are written once
// per batch, not once per SET).
func (s *Server) pushStream(ctx context.Context, st *stream, sem chan struct{}) error {
	queues := []string{controlQueue(st.ID)}
	if st.Status == ssf.StatusEnabled {
		queues = append(queues, eventsQueue(st.ID))
	}
	batch := cap(sem)
	for _, q := range queues {
		for ctx.Err() == nil {
			ds, err := s.Store.ClaimDeliveries(ctx, q, s.now(), s.pushLease(), batch)
			if err != nil {
				return fmt.Errorf("ssfserver: claim %s: %w", q, err)
			}
			if len(ds) == 0 {
				break
			}
			results := make([]pushResult, len(ds))
			var wg sync.WaitGroup
			for i, d := range ds {
				sem <- struct{}{}
				wg.Go(func() {
					defer func() { <-sem }()
					results[i] = s.attempt(ctx, st, q == eventsQueue(st.ID), d)
				})
			}
			wg.Wait()
			if err := s.record(ctx, st, results); err != nil {
				return err
			}
		}
	}
	return nil
}

// pushResult is the outcome of one push attempt: acked (delivered),
// failed or dropped (dead), or retry (-1: due again at next).
type pushResult struct {
	d       store.Delivery
	rev     string
	o       outcome
	next    time.Time
	lastErr string
}

const outcomeRetry outcome = -1

// attempt pushes one SET: 2xx (RFC 8935 §2.2: 202) → delivered and
// acknowledged; 400 (§2.3) → dead at once with the receiver's {err,
// description}; anything else → retried after Backoff doubling per
// attempt (jittered), dead after MaxAttempts.
func (s *Server) attempt(ctx context.Context, st *stream, events bool, d store.Delivery) pushResult {
	now := s.now()
	q, err := decodeQueued(d)
	if err != nil {
		return pushResult{d: d, o: outcomeFailed, lastErr: err.Error()}
	}
	if events && d.EventSeq <= st.DropThrough {
		return pushResult{d: d, rev: q.RevocationID, o: outcomeDropped, lastErr: droppedError}
	}
	final, sendErr := s.send(ctx, st, q)
	if sendErr == nil {
		return pushResult{d: d, rev: q.RevocationID, o: outcomeAcked}
	}
	dead := final || d.Attempts+1 >= positive(s.MaxAttempts, DefaultMaxAttempts)
	s.logger().WarnContext(ctx, "ssfserver: push failed", "stream", st.ID, "jti", d.ID, "attempt", d.Attempts+1,
		"dead", dead, "err", sendErr)
	r := pushResult{d: d, rev: q.RevocationID, o: outcomeRetry, next: now.Add(s.backoff(d.Attempts)),
		lastErr: truncate(sendErr.Error(), 500)}
	if dead {
		r.o = outcomeFailed
	}
	return r
}

// record writes a batch's outcomes and their receipt counts in one
// transaction.
func (s *Server) record(ctx context.Context, st *stream, results []pushResult) error {
	var revs []string
	err := s.Store.InTx(ctx, func(tx store.Tx) error {
		at := s.now()
		revs = revs[:0]
		byRev := map[string][]outcome{}
		for _, r := range results {
			var err error
			if r.o == outcomeAcked {
				err = tx.CompleteDelivery(ctx, r.d.ID, at)
			} else {
				next := r.next
				if r.o != outcomeRetry {
					next = at
				}
				err = tx.FailDelivery(ctx, r.d.ID, at, next, r.o != outcomeRetry, r.lastErr)
			}
			if err != nil {
				return err
			}
			if r.rev == "" {
				continue
			}
			switch {
			case r.o == outcomeRetry && r.d.Attempts == 0: // starts failing
				byRev[r.rev] = append(byRev[r.rev], outcomeFailing)
			case r.o != outcomeRetry && r.d.Attempts > 0: // was failing
				byRev[r.rev] = append(byRev[r.rev], outcomeRecovered, r.o)
			case r.o != outcomeRetry:
				byRev[r.rev] = append(byRev[r.rev], r.o)
			}
			revs = append(revs, r.rev)
		}
		return countOutcomes(ctx, tx, st.ID, at, byRev)
	})
	if err != nil {
		return fmt.Errorf("ssfserver: record pushes of stream %s: %w", st.ID, err)
	}
	s.markDirty(revs...)
	return nil
}

// backoff is the delay after the attempts-th failure (0-based): Backoff
// doubling each time, capped at MaxBackoff, then jittered.
func (s *Server) backoff(attempts int) time.Duration {
	d, limit := positive(s.Backoff, DefaultBackoff), positive(s.MaxBackoff, DefaultMaxBackoff)
	for range attempts {
		if d >= limit/2 {
			d = limit
			break
		}
		d *= 2
	}
	d = min(d, limit)
	if s.Jitter != nil {
		return s.Jitter(d)
	}
	return d/2 + rand.N(d/2+1)
}

// send signs and POSTs one SET (RFC 8935 §2). final reports a failure
// that retrying cannot cure (the receiver answered 400, the endpoint is no
// longer allowed).
func (s *Server) send(ctx context.Context, st *stream, q queued) (final bool, err error) {
	if err := s.pushURLAllowed(ctx, st.Receiver, st.Delivery.EndpointURL); err != nil {
		return true, err
	}
	jws, err := s.sign(ctx, q)
	if err != nil {
		return false, err
	}
	rctx, cancel := context.WithTimeout(ctx, s.pushTimeout())
	defer cancel()
	req, err := http.NewRequestWithContext(rctx, http.MethodPost, st.Delivery.EndpointURL, bytes.NewReader([]byte(jws)))
	if err != nil {
		return true, err
	}
	req.Header.Set("Content-Type", ssf.SETMediaType)
	req.Header.Set("Accept", "application/json")
	if h := st.Delivery.AuthorizationHeader; h != "" {
		req.Header.Set("Authorization", h)
	}
	resp, err := s.httpClient().Do(req)
	if err != nil {
		return false, err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		return false, nil
	case resp.StatusCode == http.StatusBadRequest:
		var e ssf.SETError
		if json.Unmarshal(body, &e) == nil && e.Err != "" {
			return true, fmt.Errorf("receiver refused the SET: %w", e)
		}
		return true, fmt.Errorf("receiver answered 400: %s", truncate(string(body), 200))
	}
	return false, fmt.Errorf("receiver answered %s: %s", resp.Status, truncate(string(body), 200))
}

// httpClient is Client, or the default: PushTimeout, no proxy, no
// redirects, and connections only to public addresses (plus loopback
// with InsecureAllowLoopbackPush), checked after name resolution.
func (s *Server) httpClient() *http.Client {
	if s.Client != nil {
		return s.Client
	}
	s.clientOnce.Do(func() {
		dialer := &net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second, Control: s.dialControl}
		tr := &http.Transport{
			Proxy:                 nil, // a proxy would hide the address actually reached
			DialContext:           dialer.DialContext,
			ForceAttemptHTTP2:     true,
			MaxIdleConns:          100,
			MaxIdleConnsPerHost:   8,
			IdleConnTimeout:       90 * time.Second,
			TLSHandshakeTimeout:   5 * time.Second,
			ExpectContinueTimeout: time.Second,
		}
		s.client = &http.Client{
			Transport: tr,
			Timeout:   s.pushTimeout(),
			CheckRedirect: func(*http.Request, []*http.Request) error {
				return http.ErrUseLastResponse // a redirect is a failure, never followed
			},
		}
	})
	return s.client
}

// errRefusedAddress: the push endpoint resolved to an address the SSRF
// rules forbid.
var errRefusedAddress = errors.New("ssfserver: refused to connect to a non-public address")

// dialControl runs after name resolution, before connecting: it refuses
// non-public addresses (loopback allowed with InsecureAllowLoopbackPush).
func (s *Server) dialControl(_, address string, _ syscall.RawConn) error {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return err
	}
	ip := net.ParseIP(host)
	if ip == nil {
		return fmt.Errorf("%w: %s", errRefusedAddress, address)
	}
	if ip.IsLoopback() && s.InsecureAllowLoopbackPush {
		return nil
	}
	if !publicIP(ip) {
		return fmt.Errorf("%w: %s", errRefusedAddress, address)
	}
	return nil
}
