package revocation

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/vigil-idp/vigil/internal/store"
)

// errLostLease means another worker holds the job now.
var errLostLease = errors.New("revocation: job lease lost")

// errNotClaimable means the job is finished or leased to another worker.
var errNotClaimable = errors.New("revocation: job not claimable")

func (s *Service) wake() {
	select {
	case s.wakeCh <- struct{}{}:
	default:
	}
}

// Run is the job worker: until ctx ends it claims pending jobs, and
// running jobs whose worker stopped (lease expired, or held by this
// WorkerID before a restart), and runs each to completion (see Work). It
// wakes when a job is submitted to this Service and every PollInterval for
// jobs submitted on other nodes. Several workers, in one process or on
// many nodes sharing a store, may run at once: a job is claimed by a
// compare-and-set on its status and lease, and each chunk commits only if
// its worker still holds the lease, so no target is processed twice.
func (s *Service) Run(ctx context.Context) {
	s.init()
	poll := s.PollInterval
	if poll <= 0 {
		poll = DefaultPollInterval
	}
	t := time.NewTimer(poll)
	defer t.Stop()
	for {
		if err := s.Work(ctx); err != nil && ctx.Err() == nil {
			s.logger().ErrorContext(ctx, "revocation: worker", "err", err)
		}
		t.Reset(poll)
		select {
		case <-ctx.Done():
			return
		case <-s.wakeCh:
		case <-t.C:
		}
	}
}

// Work claims and runs claimable jobs one after another and returns when
// none is left, ctx ends (the job in progress stays leased to this worker
// and resumes from its last committed chunk), or the store fails. A job
// that cannot proceed (its selector no longer parses, a chunk fails) is
// marked failed with the error and Work goes on.
func (s *Service) Work(ctx context.Context) error {
	s.init()
	for {
		job, err := s.claimNext(ctx)
		if err != nil || job == nil {
			return err
		}
		if err := s.runJob(ctx, *job); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return err
		}
	}
}

// claimNext claims the oldest claimable job, or returns nil.
func (s *Service) claimNext(ctx context.Context) (*store.Revocation, error) {
	var jobs []store.Revocation
	for _, st := range []string{store.RevocationRunning, store.RevocationPending} {
		js, err := s.Store.ListRevocationsByStatus(ctx, st)
		if err != nil {
			return nil, fmt.Errorf("revocation: list jobs: %w", err)
		}
		jobs = append(jobs, js...)
	}
	slices.SortFunc(jobs, func(a, b store.Revocation) int { return a.CreatedAt.Compare(b.CreatedAt) })
	now := s.now()
	for _, j := range jobs {
		if !s.claimable(j, now) {
			continue
		}
		r, err := s.claim(ctx, j.ID)
		if errors.Is(err, errNotClaimable) {
			continue
		}
		if err != nil {
			return nil, err
		}
		return &r, nil
	}
	return nil, nil
}

// claimable reports whether this worker may take j at now.
func (s *Service) claimable(j store.Revocation, now time.Time) bool {
	switch j.Status {
	case store.RevocationPending:
		return true
	case store.RevocationRunning:
		p := decodeProgress(j.Progress)
		return p.Owner == s.worker || !now.Before(p.LeaseUntil)
	}
	return false
}

// claim takes job id by compare-and-set: it must still be claimable when
// the update runs. The first claim sets StartedAt and ValidFrom (T of
// every user in the job).
func (s *Service) claim(ctx context.Context, id string) (store.Revocation, error) {
	var out store.Revocation
	err := s.inTx(ctx, func(tx jobTx) error {
		var err error
		out, err = tx.UpdateRevocation(ctx, id, func(r store.Revocation) (store.Revocation, error) {
			now := s.now().Truncate(time.Microsecond)
			if !s.claimable(r, now) {
				return r, errNotClaimable
			}
			p := decodeProgress(r.Progress)
			p.Owner, p.LeaseUntil = s.worker, now.Add(s.lease())
			r.Progress = p.String()
			if r.Status == store.RevocationPending {
				r.Status, r.StartedAt, r.ValidFrom = store.RevocationRunning, &now, now
			}
			return r, nil
		})
		return err
	})
	if err != nil && !errors.Is(err, errNotClaimable) {
		err = fmt.Errorf("revocation: claim %s: %w", id, err)
	}
	return out, err
}

// runJob runs a claimed job chunk by chunk until it completes, the lease
// is lost, or ctx ends.
func (s *Service) runJob(ctx context.Context, job store.Revocation) error {
	var spec jobSpec
	if err := json.Unmarshal(job.Selector, &spec); err != nil {
		return s.fail(ctx, job.ID, fmt.Errorf("bad selector: %w", err))
	}
	src, err := sourceOf(spec)
	if err != nil {
		return s.fail(ctx, job.ID, err)
	}
	log := s.logger().With("revocation", job.ID)
	log.InfoContext(ctx, "revocation: job running", "targeted", job.Targeted)
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		r, err := s.chunk(ctx, job.ID, spec, src)
		switch {
		case errors.Is(err, errLostLease):
			log.InfoContext(ctx, "revocation: job taken over by another worker")
			return nil
		case err != nil && ctx.Err() != nil:
			return ctx.Err()
		case err != nil:
			return s.fail(ctx, job.ID, err)
		}
		if s.afterChunk != nil {
			s.afterChunk(r)
		}
		if r.Status != store.RevocationRunning {
			log.InfoContext(ctx, "revocation: job completed", "revoked", r.Revoked, "denied", r.Denied, "failed", r.Failed)
			return nil
		}
	}
}

// fail marks a job failed with cause; it returns nil when that worked, so
// the worker goes on to the next job.
func (s *Service) fail(ctx context.Context, id string, cause error) error {
	s.logger().ErrorContext(ctx, "revocation: job failed", "revocation", id, "err", cause)
	err := s.inTx(ctx, func(tx jobTx) error {
		_, err := tx.UpdateRevocation(ctx, id, func(r store.Revocation) (store.Revocation, error) {
			if r.Status != store.RevocationRunning || decodeProgress(r.Progress).Owner != s.worker {
				return r, errLostLease
			}
			now := s.now().Truncate(time.Microsecond)
			r.Status, r.Error, r.CompletedAt = store.RevocationFailed, cause.Error(), &now
			return r, nil
		})
		return err
	})
	if errors.Is(err, errLostLease) {
		return nil
	}
	return err
}

// chunk processes the next ChunkSize targets of a job in one transaction:
// targets read from the cursor, authorized, revoked (ApplyInTx), their
// results recorded, and the counters, cursor and lease advanced. It
// returns the job as committed.
func (s *Service) chunk(ctx context.Context, id string, spec jobSpec, src source) (store.Revocation, error) {
	var out store.Revocation
	err := s.inTx(ctx, func(tx jobTx) error {
		cur, err := tx.GetRevocation(ctx, id)
		if err != nil {
			return fmt.Errorf("revocation: get job: %w", err)
		}
		p := decodeProgress(cur.Progress)
		if cur.Status != store.RevocationRunning || p.Owner != s.worker {
			return errLostLease
		}
		b, err := src.next(ctx, tx, p.Cursor, s.chunkSize())
		if err != nil {
			return err
		}
		results, err := s.process(ctx, tx, cur, spec.Initiator, b)
		if err != nil {
			return err
		}
		if err := tx.AddRevocationResults(ctx, results...); err != nil {
			return fmt.Errorf("revocation: results: %w", err)
		}
		out, err = tx.UpdateRevocation(ctx, id, func(r store.Revocation) (store.Revocation, error) {
			now := s.now().Truncate(time.Microsecond)
			for _, res := range results {
				count(&r, res.Outcome)
			}
			q := decodeProgress(r.Progress)
			q.Cursor, q.LeaseUntil = b.next, now.Add(s.lease())
			r.Progress = q.String()
			if b.done {
				r.Status, r.CompletedAt = store.RevocationCompleted, &now
				r.Targeted = r.Revoked + r.Denied + r.Failed
			}
			return r, nil
		})
		return err
	})
	return out, err
}

// process authorizes and revokes one batch of job's targets inside tx and
// returns their results.
func (s *Service) process(ctx context.Context, tx jobTx, job store.Revocation, in Initiator, b batch) ([]store.RevocationResult, error) {
	at := job.ValidFrom
	opts := Options{Reason: job.Reason, RevocationID: job.ID}
	results := make([]store.RevocationResult, 0, len(b.users)+len(b.sessions)+len(b.missing))
	result := func(target, outcome, detail string) {
		results = append(results, store.RevocationResult{RevocationID: job.ID, UserID: target, Outcome: outcome, Detail: detail, At: at})
	}
	for _, id := range b.missing {
		result(id, OutcomeFailed, b.missingDetail)
	}
	allowed := make([]store.User, 0, len(b.users))
	for _, u := range b.users {
		d, err := authorize(ctx, tx, in, u.ID)
		if err != nil {
			return nil, err
		}
		if !d.Allowed {
			result(u.ID, OutcomeDenied, d.Reason)
			continue
		}
		allowed = append(allowed, u)
	}
	prev, err := applyUsers(ctx, tx, in, CauseAdminRevoke, allowed, at, opts)
	if err != nil {
		return nil, err
	}
	for _, u := range allowed {
		if _, ok := prev[u.ID]; ok {
			result(u.ID, OutcomeRevoked, "")
		} else {
			result(u.ID, OutcomeFailed, "user not found")
		}
	}
	for _, sess := range b.sessions {
		d, err := authorize(ctx, tx, in, sess.UserID)
		if err != nil {
			return nil, err
		}
		if !d.Allowed {
			result(sess.ID, OutcomeDenied, d.Reason)
			continue
		}
		res, err := revokeSessionInTx(ctx, tx, in, sess, at, opts)
		if err != nil {
			return nil, err
		}
		results = append(results, res)
	}
	return results, nil
}
