package revocation

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/vigil-idp/vigil/internal/odata"
	"github.com/vigil-idp/vigil/internal/store"
)

// Limits of a bulk request.
const (
	// MaxTargetIDs bounds userIds and sessionIds.
	MaxTargetIDs = 100_000
	// MaxReasonLength bounds reason, in bytes.
	MaxReasonLength = 1024
	// DryRunSampleSize is how many users a dry run shows.
	DryRunSampleSize = 20
)

// Request is the body of POST /vigil/v1/revocations: exactly one selector
// (UserIDs, Filter, GroupID with optional Transitive, or SessionIDs), plus
// an optional Reason and DryRun.
type Request struct {
	// UserIDs name users by object id or, as Graph's /users/{id |
	// userPrincipalName} does, by userPrincipalName.
	UserIDs    []string
	Filter     string // OData $filter on users, checked against UserFilterSchema
	GroupID    string
	Transitive bool // with GroupID: nested members too
	SessionIDs []string
	Reason     string
	DryRun     bool
}

// DryRun is the answer to a dry run: how many targets the request selects
// now and a sample of their users (at most DryRunSampleSize). Nothing is
// changed and nothing is authorized per target.
type DryRun struct {
	Targeted int
	Sample   []store.User
}

// jobSpec is a job's stored selector (store.Revocation.Selector): the
// request's selector as the API spells it, and the initiator, whose
// authority the worker checks per target.
type jobSpec struct {
	UserIDs    []string  `json:"userIds,omitempty"`
	Filter     string    `json:"filter,omitempty"`
	GroupID    string    `json:"groupId,omitempty"`
	Transitive bool      `json:"transitive,omitempty"`
	SessionIDs []string  `json:"sessionIds,omitempty"`
	Initiator  Initiator `json:"initiator"`
}

// progress is a job's stored Progress: the source cursor and the lease.
type progress struct {
	Cursor     string    `json:"cursor,omitempty"`
	Owner      string    `json:"owner,omitempty"`
	LeaseUntil time.Time `json:"leaseUntil"`
}

func decodeProgress(s string) progress {
	var p progress
	if s != "" {
		_ = json.Unmarshal([]byte(s), &p) // a bad value restarts the lease, not the job's identity
	}
	return p
}

func (p progress) String() string {
	b, _ := json.Marshal(p)
	return string(b)
}

// validate checks req and returns its stored selector.
func validate(in Initiator, req Request) (jobSpec, error) {
	n := 0
	for _, set := range []bool{len(req.UserIDs) > 0, req.Filter != "", req.GroupID != "", len(req.SessionIDs) > 0} {
		if set {
			n++
		}
	}
	switch {
	case n == 0:
		return jobSpec{}, refuse(ErrInvalid, "The request names no targets: give one of userIds, filter, groupId or sessionIds.")
	case n > 1:
		return jobSpec{}, refuse(ErrInvalid, "Give exactly one of userIds, filter, groupId or sessionIds.")
	case req.Transitive && req.GroupID == "":
		return jobSpec{}, refuse(ErrInvalid, "transitive applies only with groupId.")
	case len(req.Reason) > MaxReasonLength:
		return jobSpec{}, refuse(ErrInvalid, "reason is longer than %d bytes.", MaxReasonLength)
	}
	spec := jobSpec{Filter: req.Filter, GroupID: req.GroupID, Transitive: req.Transitive, Initiator: in}
	var err error
	if spec.UserIDs, err = distinctIDs("userIds", req.UserIDs); err != nil {
		return jobSpec{}, err
	}
	if spec.SessionIDs, err = distinctIDs("sessionIds", req.SessionIDs); err != nil {
		return jobSpec{}, err
	}
	if req.Filter != "" {
		if _, err := parseUserFilter(req.Filter); err != nil {
			return jobSpec{}, err
		}
	}
	return spec, nil
}

// distinctIDs checks a list of ids and drops repeats (keeping the first).
func distinctIDs(name string, ids []string) ([]string, error) {
	if len(ids) > MaxTargetIDs {
		return nil, refuse(ErrInvalid, "%s lists %d ids; at most %d are allowed per request.", name, len(ids), MaxTargetIDs)
	}
	seen := make(map[string]bool, len(ids))
	var out []string
	for _, id := range ids {
		id = strings.TrimSpace(id)
		if id == "" {
			return nil, refuse(ErrInvalid, "%s contains an empty id.", name)
		}
		if c := odata.CanonicalGUID(id); !seen[c] {
			seen[c] = true
			out = append(out, c)
		}
	}
	return out, nil
}

// requestHash identifies a request body for Idempotency-Key reuse checks:
// the same selector, reason and dry-run flag hash the same however the
// JSON was spelled.
func requestHash(req Request) []byte {
	b, _ := json.Marshal(struct {
		UserIDs    []string `json:"u"`
		Filter     string   `json:"f"`
		GroupID    string   `json:"g"`
		Transitive bool     `json:"t"`
		SessionIDs []string `json:"s"`
		Reason     string   `json:"r"`
	}{req.UserIDs, req.Filter, req.GroupID, req.Transitive, req.SessionIDs, req.Reason})
	h := sha256.Sum256(b)
	return h[:]
}

// Submit starts a bulk revocation (POST /vigil/v1/revocations). It
// validates req (ErrInvalid; ErrNotFound for an unknown group) and then:
//
//   - with req.DryRun, answers how many targets the selector picks now and
//     a sample, changing nothing (no job, idempotency key ignored);
//   - with an idempotencyKey already used by the same initiator, returns
//     that job when the request is the same (selector and reason), and
//     ErrIdempotencyConflict when it differs;
//   - otherwise creates a pending job, which Run executes: per target,
//     authorization (a denied target is recorded as "denied" with the
//     reason), then ApplyInTx, in chunks of ChunkSize targets per
//     transaction. Unknown user or session ids are recorded as "failed".
//
// Targeted is the number of targets the selector picks at submission; when
// the job completes it is the number processed (revoked + denied +
// failed), which differs only if the directory changed meanwhile.
func (s *Service) Submit(ctx context.Context, in Initiator, req Request, idempotencyKey string) (*store.Revocation, *DryRun, error) {
	s.init()
	spec, err := validate(in, req)
	if err != nil {
		return nil, nil, err
	}
	if spec.GroupID != "" {
		if _, err := s.Store.GetGroup(ctx, spec.GroupID); errors.Is(err, store.ErrNotFound) {
			return nil, nil, refuse(ErrNotFound, "Resource '%s' does not exist or one of its queried reference-property objects are not present.", spec.GroupID)
		} else if err != nil {
			return nil, nil, fmt.Errorf("revocation: get group: %w", err)
		}
	}
	if req.DryRun {
		d, err := s.dryRun(ctx, spec)
		if err != nil {
			return nil, nil, err
		}
		return nil, &d, nil
	}
	hash := requestHash(req)
	byID := in.ObjectID()
	if idempotencyKey != "" {
		if r, err := s.byKey(ctx, byID, idempotencyKey, hash); r != nil || err != nil {
			return r, nil, err
		}
	}
	targeted, err := s.count(ctx, spec)
	if err != nil {
		return nil, nil, err
	}
	sel, _ := json.Marshal(spec)
	now := s.now().Truncate(time.Microsecond)
	job := store.Revocation{
		ID: s.newID(), Status: store.RevocationPending, Selector: sel, Targeted: targeted, Reason: req.Reason,
		CreatedBy: createdBy(in), CreatedByID: byID, CreatedAt: now,
		IdempotencyKey: idempotencyKey, RequestHash: hash,
	}
	err = s.inTx(ctx, func(tx jobTx) error { return tx.CreateRevocation(ctx, job) })
	if errors.Is(err, store.ErrConflict) && idempotencyKey != "" {
		// Another request with the same key won the race.
		r, err := s.byKey(ctx, byID, idempotencyKey, hash)
		if r == nil && err == nil {
			err = fmt.Errorf("revocation: idempotency key conflict without a job")
		}
		return r, nil, err
	}
	if err != nil {
		return nil, nil, fmt.Errorf("revocation: create job: %w", err)
	}
	s.wake()
	return &job, nil, nil
}

// byKey returns the job created with (byID, key) when its request hash
// matches, ErrIdempotencyConflict when it does not, and nil, nil when
// there is none.
func (s *Service) byKey(ctx context.Context, byID, key string, hash []byte) (*store.Revocation, error) {
	r, err := s.Store.GetRevocationByIdempotencyKey(ctx, byID, key)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("revocation: idempotency key: %w", err)
	case string(r.RequestHash) != string(hash):
		return nil, refuse(ErrIdempotencyConflict, "The Idempotency-Key '%s' was already used for revocation '%s' with a different request.", key, r.ID)
	}
	return &r, nil
}

// count returns how many targets spec selects now.
func (s *Service) count(ctx context.Context, spec jobSpec) (int, error) {
	switch {
	case len(spec.UserIDs) > 0:
		return len(spec.UserIDs), nil
	case len(spec.SessionIDs) > 0:
		return len(spec.SessionIDs), nil
	case spec.Filter != "":
		e, err := parseUserFilter(spec.Filter)
		if err != nil {
			return 0, err
		}
		n, err := s.Store.CountUsers(ctx, store.Query{Filter: e})
		if err != nil {
			return 0, fmt.Errorf("revocation: count users: %w", err)
		}
		return n, nil
	case spec.Transitive:
		ids, err := s.Store.TransitiveMemberUserIDs(ctx, spec.GroupID)
		if err != nil {
			return 0, fmt.Errorf("revocation: group members: %w", err)
		}
		return len(ids), nil
	}
	n := 0
	q := store.Query{Top: 1000}
	for {
		p, err := s.Store.ListMembers(ctx, spec.GroupID, false, q)
		if err != nil {
			return 0, fmt.Errorf("revocation: group members: %w", err)
		}
		for _, m := range p.Items {
			if m.User != nil {
				n++
			}
		}
		if p.Next == "" {
			return n, nil
		}
		q.Cursor = p.Next
	}
}

// dryRun counts spec's targets and samples their users, reading outside
// any transaction.
func (s *Service) dryRun(ctx context.Context, spec jobSpec) (DryRun, error) {
	n, err := s.count(ctx, spec)
	if err != nil {
		return DryRun{}, err
	}
	d := DryRun{Targeted: n, Sample: []store.User{}}
	switch {
	case len(spec.UserIDs) > 0:
		ids := spec.UserIDs[:min(len(spec.UserIDs), DryRunSampleSize)]
		us, err := usersByID(ctx, s.Store, ids)
		if err != nil {
			return DryRun{}, err
		}
		for _, id := range ids {
			if u, ok := us[id]; ok {
				d.Sample = append(d.Sample, u)
			}
		}
	case spec.Filter != "":
		e, _ := parseUserFilter(spec.Filter)
		p, err := s.Store.ListUsers(ctx, store.Query{Filter: e, Top: DryRunSampleSize})
		if err != nil {
			return DryRun{}, fmt.Errorf("revocation: list users: %w", err)
		}
		d.Sample = append(d.Sample, p.Items...)
	case spec.GroupID != "":
		p, err := s.Store.ListMembers(ctx, spec.GroupID, spec.Transitive, store.Query{Top: 4 * DryRunSampleSize})
		if err != nil {
			return DryRun{}, fmt.Errorf("revocation: list members: %w", err)
		}
		for _, m := range p.Items {
			if m.User != nil && len(d.Sample) < DryRunSampleSize {
				d.Sample = append(d.Sample, *m.User)
			}
		}
	case len(spec.SessionIDs) > 0:
		seen := map[string]bool{}
		for _, sid := range spec.SessionIDs[:min(len(spec.SessionIDs), DryRunSampleSize)] {
			sess, err := s.Store.GetSession(ctx, sid)
			if errors.Is(err, store.ErrNotFound) {
				continue
			}
			if err != nil {
				return DryRun{}, fmt.Errorf("revocation: get session: %w", err)
			}
			if seen[sess.UserID] {
				continue
			}
			seen[sess.UserID] = true
			u, err := s.Store.GetUser(ctx, sess.UserID)
			if err == nil {
				d.Sample = append(d.Sample, u)
			} else if !errors.Is(err, store.ErrNotFound) {
				return DryRun{}, fmt.Errorf("revocation: get user: %w", err)
			}
		}
	}
	return d, nil
}

// count adds one outcome to r's counters.
func count(r *store.Revocation, outcome string) {
	switch outcome {
	case OutcomeRevoked:
		r.Revoked++
	case OutcomeDenied:
		r.Denied++
	default:
		r.Failed++
	}
}
