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
	in := spec.Initiator
	next := s.prefetch(ctx, job, in, src, decodeProgress(job.Progress).Cursor)
	for {
		var pre prefetched
		select {
		case pre = <-next:
		case <-ctx.Done():
			return ctx.Err()
		}
		next = nil
		if pre.err == nil && !pre.pl.b.done {
			next = s.prefetch(ctx, job, in, src, pre.pl.b.next)
		}
		if s.beforeChunk != nil {
			s.beforeChunk()
		}
		r, err := s.chunk(ctx, job, in, src, pre.pl) // a failed prefetch is redone in the transaction
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
		if err := ctx.Err(); err != nil {
			return err
		}
		if next == nil {
			next = s.prefetch(ctx, job, in, src, decodeProgress(r.Progress).Cursor)
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

// plan is one chunk of a job prepared for its transaction: targets read
// and authorized, the results of missing and denied ones, and the effects
// of revoking the allowed users rendered.
type plan struct {
	cursor   string // the job cursor the chunk starts at
	b        batch
	results  []store.RevocationResult // missing and denied targets
	effects  *effects                 // on the allowed users
	sessions []store.Session          // allowed sessions, ended in the transaction
}

// prepare reads the chunk of job's targets at cursor from r (a transaction
// or the store's read pool) and plans it.
func (s *Service) prepare(ctx context.Context, r reader, job store.Revocation, in Initiator, src source, cursor string) (*plan, error) {
	b, err := src.next(ctx, r, cursor, s.chunkSize())
	if err != nil {
		return nil, err
	}
	at := job.ValidFrom
	pl := &plan{cursor: cursor, b: b, results: make([]store.RevocationResult, 0, len(b.missing))}
	result := func(target, outcome, detail string) {
		pl.results = append(pl.results, store.RevocationResult{RevocationID: job.ID, UserID: target, Outcome: outcome, Detail: detail, At: at})
	}
	for _, id := range b.missing {
		result(id, OutcomeFailed, b.missingDetail)
	}
	allowed := make([]store.User, 0, len(b.users))
	for _, u := range b.users {
		d, err := authorize(ctx, r, in, u.ID)
		if err != nil {
			return nil, err
		}
		if !d.Allowed {
			result(u.ID, OutcomeDenied, d.Reason)
			continue
		}
		allowed = append(allowed, u)
	}
	for _, sess := range b.sessions {
		d, err := authorize(ctx, r, in, sess.UserID)
		if err != nil {
			return nil, err
		}
		if !d.Allowed {
			result(sess.ID, OutcomeDenied, "session of user "+sess.UserID+": "+d.Reason)
			continue
		}
		pl.sessions = append(pl.sessions, sess)
	}
	pl.effects, err = render(in, CauseAdminRevoke, allowed, at, s.jobOptions(job), nil)
	return pl, err
}

// jobOptions are the options of a job's revocations.
func (s *Service) jobOptions(job store.Revocation) Options {
	return Options{Reason: job.Reason, RevocationID: job.ID, NewID: s.newID}
}

// prefetched is a plan prepared ahead, outside any transaction.
type prefetched struct {
	pl  *plan
	err error
}

// prefetch prepares the chunk at cursor from the store's read pool in the
// background, while the previous chunk's transaction writes. Its targets
// follow the previous chunk's in the source's order, so that transaction
// does not change what it reads; the chunk's own transaction corrects for
// anything else that changed meanwhile (see effects.write).
func (s *Service) prefetch(ctx context.Context, job store.Revocation, in Initiator, src source, cursor string) <-chan prefetched {
	ch := make(chan prefetched, 1)
	go func() {
		pl, err := s.prepare(ctx, s.Store, job, in, src, cursor)
		ch <- prefetched{pl, err}
	}()
	return ch
}

// chunk runs one chunk of a job in one transaction: the prepared plan pre
// when it starts at the job's cursor, else a plan prepared in the
// transaction; the allowed targets revoked, every result recorded, and the
// counters, cursor and lease advanced. It returns the job as committed.
func (s *Service) chunk(ctx context.Context, job store.Revocation, in Initiator, src source, pre *plan) (store.Revocation, error) {
	var out store.Revocation
	err := s.inTx(ctx, func(tx jobTx) error {
		cur, err := tx.GetRevocation(ctx, job.ID)
		if err != nil {
			return fmt.Errorf("revocation: get job: %w", err)
		}
		p := decodeProgress(cur.Progress)
		if cur.Status != store.RevocationRunning || p.Owner != s.worker {
			return errLostLease
		}
		pl := pre
		if pl == nil || pl.cursor != p.Cursor {
			if pl, err = s.prepare(ctx, tx, cur, in, src, p.Cursor); err != nil {
				return err
			}
		}
		results, err := s.commit(ctx, tx, cur, in, pl)
		if err != nil {
			return err
		}
		if err := tx.AddRevocationResults(ctx, results...); err != nil {
			return fmt.Errorf("revocation: results: %w", err)
		}
		out, err = tx.UpdateRevocation(ctx, job.ID, func(r store.Revocation) (store.Revocation, error) {
			now := s.now().Truncate(time.Microsecond)
			for _, res := range results {
				count(&r, res.Outcome)
			}
			q := decodeProgress(r.Progress)
			q.Cursor, q.LeaseUntil = pl.b.next, now.Add(s.lease())
			r.Progress = q.String()
			if pl.b.done {
				r.Status, r.CompletedAt = store.RevocationCompleted, &now
				r.Targeted = r.Revoked + r.Denied + r.Failed
			}
			return r, nil
		})
		return err
	})
	return out, err
}

// commit writes a plan's revocations in tx and returns the results of all
// its targets.
func (s *Service) commit(ctx context.Context, tx jobTx, job store.Revocation, in Initiator, pl *plan) ([]store.RevocationResult, error) {
	results := slices.Clone(pl.results)
	prev, err := pl.effects.write(ctx, tx)
	if err != nil {
		return nil, err
	}
	for _, u := range pl.effects.users {
		r := store.RevocationResult{RevocationID: job.ID, UserID: u.ID, Outcome: OutcomeRevoked, At: job.ValidFrom}
		if _, ok := prev[u.ID]; !ok {
			r.Outcome, r.Detail = OutcomeFailed, "user not found"
		}
		results = append(results, r)
	}
	opts := s.jobOptions(job)
	for _, sess := range pl.sessions {
		res, err := revokeSessionInTx(ctx, tx, in, sess, job.ValidFrom, opts)
		if errors.Is(err, store.ErrNotFound) { // deleted since it was read
			res = store.RevocationResult{RevocationID: job.ID, UserID: sess.ID, Outcome: OutcomeFailed, Detail: "session not found", At: job.ValidFrom}
		} else if err != nil {
			return nil, err
		}
		results = append(results, res)
	}
	return results, nil
}
