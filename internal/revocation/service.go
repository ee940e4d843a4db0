package revocation

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/vigil-idp/vigil/internal/authz"
	"github.com/vigil-idp/vigil/internal/store"
)

// Store is what the Service needs from a backend; store.Store satisfies
// it. Reads outside a transaction (dry runs, Get, Results) use its own
// methods; every write goes through InTx, and inside InTx only the tx is
// used (calling the Store's own methods there deadlocks SQLite).
type Store interface {
	InTx(ctx context.Context, fn func(tx store.Tx) error) error
	store.Users
	store.Groups
	store.Members
	store.RoleAssignments
	store.Sessions
	store.Revocations
}

// Defaults of the Service's tunables.
const (
	DefaultChunkSize    = 1000
	DefaultLease        = 30 * time.Second
	DefaultPollInterval = 2 * time.Second
)

// Service revokes access: single users (Graph revokeSignInSessions),
// single sessions, and bulk revocation jobs run by Run. Build it as a
// struct literal; only Store is required. Safe for concurrent use.
type Service struct {
	// Store is the backend. Required.
	Store Store
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// NewID returns the ids of new revocations and of the audit records
	// and events they write; nil means time-ordered (version 7) UUIDs,
	// which keep the store's indexes on them append-only.
	NewID func() string
	// Logger receives job progress and failures; nil discards.
	Logger *slog.Logger
	// ChunkSize is how many targets one job transaction covers; 0 means
	// DefaultChunkSize.
	ChunkSize int
	// WorkerID names this node's job worker across restarts: a worker
	// resumes the jobs it held before a crash at once, and another
	// worker's only after their lease expired. Empty means a random id
	// per Service (a restarted node then waits for its old leases).
	WorkerID string
	// Lease is how long a claimed job stays with its worker without
	// progress; 0 means DefaultLease. Each chunk renews it.
	Lease time.Duration
	// PollInterval is how often Run looks for jobs created on other
	// nodes; 0 means DefaultPollInterval. Jobs submitted to this Service
	// wake it at once.
	PollInterval time.Duration

	// afterChunk, when set (tests), runs after each committed chunk of a
	// job with the job's state.
	afterChunk func(r store.Revocation)
	// beforeChunk, when set (tests), runs before each chunk's transaction,
	// after its plan was prefetched.
	beforeChunk func()

	once   sync.Once
	wakeCh chan struct{}
	worker string
}

func (s *Service) init() {
	s.once.Do(func() {
		s.wakeCh = make(chan struct{}, 1)
		s.worker = s.WorkerID
		if s.worker == "" {
			s.worker = uuid.NewString()
		}
	})
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC()
	}
	return time.Now().UTC()
}

func (s *Service) newID() string {
	if s.NewID != nil {
		return s.NewID()
	}
	return newTimeOrderedID()
}

func (s *Service) logger() *slog.Logger {
	if s.Logger != nil {
		return s.Logger
	}
	return slog.New(slog.DiscardHandler)
}

func (s *Service) chunkSize() int {
	if s.ChunkSize > 0 {
		return s.ChunkSize
	}
	return DefaultChunkSize
}

func (s *Service) lease() time.Duration {
	if s.Lease > 0 {
		return s.Lease
	}
	return DefaultLease
}

// jobTx is what the Service does inside one transaction; store.Tx
// satisfies it.
type jobTx interface {
	Tx
	store.Users
	store.Groups
	store.Members
	store.RoleAssignments
	store.Revocations
}

// inTx runs fn in one transaction of the Store.
func (s *Service) inTx(ctx context.Context, fn func(tx jobTx) error) error {
	return s.Store.InTx(ctx, func(tx store.Tx) error { return fn(tx) })
}

// The store's own types satisfy what this package asks of them.
var (
	_ Store = store.Store(nil)
	_ jobTx = store.Tx(nil)
	_ Tx    = store.Tx(nil)
)

// userByKey finds a user by id, or by userPrincipalName when the key is not
// GUID-shaped (Graph's /users/{id | userPrincipalName}).
func userByKey(ctx context.Context, tx store.Users, key string) (store.User, error) {
	var (
		u   store.User
		err error
	)
	if _, perr := uuid.Parse(key); perr == nil && len(key) == 36 {
		u, err = tx.GetUser(ctx, key)
	} else {
		u, err = tx.GetUserByUPN(ctx, key)
	}
	if errors.Is(err, store.ErrNotFound) {
		return store.User{}, refuse(ErrNotFound, "Resource '%s' does not exist or one of its queried reference-property objects are not present.", key)
	}
	if err != nil {
		return store.User{}, fmt.Errorf("revocation: get user: %w", err)
	}
	return u, nil
}

// factsReader is where authorization reads a target's facts: a
// transaction, or the store's read pool.
type factsReader interface {
	EffectiveRoleIDs(ctx context.Context, userID string) ([]string, error)
	ListMemberOf(ctx context.Context, memberID string, transitive bool, q store.Query) (store.Page[store.Group], error)
}

// facts reads authz target facts (authz.TargetFacts).
type facts struct{ r factsReader }

func (f facts) EffectiveRoles(ctx context.Context, userID string) ([]string, error) {
	return f.r.EffectiveRoleIDs(ctx, userID)
}

func (f facts) IsRoleAssignableGroupMember(ctx context.Context, userID string) (bool, error) {
	q := store.Query{Top: 500}
	for {
		p, err := f.r.ListMemberOf(ctx, userID, false, q)
		if err != nil {
			return false, err
		}
		for _, g := range p.Items {
			if g.IsAssignableToRole {
				return true, nil
			}
		}
		if p.Next == "" {
			return false, nil
		}
		q.Cursor = p.Next
	}
}

// authorize decides whether in may revoke the sessions of userID, reading
// the target's facts from r only when needed. The system is always
// allowed.
func authorize(ctx context.Context, r factsReader, in Initiator, userID string) (authz.Decision, error) {
	if in.Principal == nil {
		return authz.Decision{Allowed: true, Reason: "allowed: the system"}, nil
	}
	d, err := authz.CanActOnUserID(ctx, facts{r}, in.Principal, authz.ActionRevokeSessions, userID)
	if err != nil {
		return authz.Decision{}, fmt.Errorf("revocation: authorize: %w", err)
	}
	return d, nil
}

// createdBy renders the initiator as the revocation's createdBy (Graph
// auditActivityInitiator shape, like the audit record's initiatedBy).
func createdBy(in Initiator) []byte { return in.InitiatedBy() }

// RevokeUser is Graph's revokeSignInSessions
// (https://learn.microsoft.com/en-us/graph/api/user-revokesigninsessions)
// for one user, addressed by id or userPrincipalName: authorized with
// authz.CanActOnUser (ActionRevokeSessions), then in one transaction, which
// is durable when RevokeUser returns: ApplyInTx (CauseSelfRevoke when the
// caller is the user, else CauseAdminRevoke) and a completed revocation
// resource with one "revoked" result, which it returns. Errors: ErrNotFound
// (unknown user), ErrForbidden (message: the reason).
//
// The user and the facts authorization needs are read, and the audit
// record and event rendered, before the transaction, from the store's read
// pool, so SQLite's single writer does only the writes: a revocation racing a role change is decided on the
// roles of a few milliseconds earlier, as a request that came a little
// sooner would have been.
func (s *Service) RevokeUser(ctx context.Context, in Initiator, idOrUPN string, opts Options) (store.Revocation, error) {
	u, err := userByKey(ctx, s.Store, idOrUPN)
	if err != nil {
		return store.Revocation{}, err
	}
	d, err := authorize(ctx, s.Store, in, u.ID)
	if err != nil {
		return store.Revocation{}, err
	}
	if !d.Allowed {
		return store.Revocation{}, refuse(ErrForbidden, "%s", d.Reason)
	}
	cause := CauseAdminRevoke
	if in.self(u.ID) {
		cause = CauseSelfRevoke
	}
	now := s.now().Truncate(time.Microsecond)
	id := s.newID()
	sel, _ := json.Marshal(jobSpec{UserIDs: []string{u.ID}, Initiator: in})
	out := store.Revocation{
		ID: id, Status: store.RevocationCompleted, Selector: sel, ValidFrom: now,
		Targeted: 1, Revoked: 1, Reason: opts.Reason, CreatedBy: createdBy(in), CreatedByID: in.ObjectID(),
		CreatedAt: now, StartedAt: &now, CompletedAt: &now,
	}
	opts.RevocationID, opts.NewID = id, s.newID
	e, err := render(in, cause, []store.User{u}, now, opts, nil)
	if err != nil {
		return store.Revocation{}, err
	}
	err = s.inTx(ctx, func(tx jobTx) error {
		prev, err := e.write(ctx, tx)
		if err != nil {
			return err
		}
		if len(prev) == 0 { // deleted since it was read
			return refuse(ErrNotFound, "Resource '%s' does not exist or one of its queried reference-property objects are not present.", idOrUPN)
		}
		if err := tx.CreateRevocation(ctx, out); err != nil {
			return fmt.Errorf("revocation: create: %w", err)
		}
		return tx.AddRevocationResults(ctx, store.RevocationResult{RevocationID: id, UserID: u.ID, Outcome: OutcomeRevoked, At: now})
	})
	if err != nil {
		return store.Revocation{}, err
	}
	return out, nil
}

// RevokeSession ends one SSO session (DELETE /vigil/v1/sessions/{sid}):
// authorized as a revocation of its user's sessions (a user may end their
// own), then in one transaction: the session and its refresh tokens are
// revoked (T does not move), one audit record ("Revoke sign-in session", a
// Vigil activity: Entra has none) and one CAEP session-revoked event with
// a session subject are written, and a completed revocation resource is
// created and returned. Ending a session that already ended records a
// revocation that revoked nothing (Revoked 0, Failed 1 with the detail
// "session already ended"). Errors: ErrNotFound, ErrForbidden.
func (s *Service) RevokeSession(ctx context.Context, in Initiator, sid string, opts Options) (store.Revocation, error) {
	sess, err := s.Store.GetSession(ctx, sid)
	if errors.Is(err, store.ErrNotFound) {
		return store.Revocation{}, refuse(ErrNotFound, "Session '%s' does not exist.", sid)
	}
	if err != nil {
		return store.Revocation{}, fmt.Errorf("revocation: get session: %w", err)
	}
	d, err := authorize(ctx, s.Store, in, sess.UserID)
	if err != nil {
		return store.Revocation{}, err
	}
	if !d.Allowed {
		return store.Revocation{}, refuse(ErrForbidden, "%s", d.Reason)
	}
	now := s.now().Truncate(time.Microsecond)
	id := s.newID()
	sel, _ := json.Marshal(jobSpec{SessionIDs: []string{sid}, Initiator: in})
	var out store.Revocation
	opts.RevocationID, opts.NewID = id, s.newID
	err = s.inTx(ctx, func(tx jobTx) error {
		res, err := revokeSessionInTx(ctx, tx, in, sess, now, opts)
		if errors.Is(err, store.ErrNotFound) { // deleted since it was read
			return refuse(ErrNotFound, "Session '%s' does not exist.", sid)
		}
		if err != nil {
			return err
		}
		out = store.Revocation{
			ID: id, Status: store.RevocationCompleted, Selector: sel, ValidFrom: now, Targeted: 1,
			Reason: opts.Reason, CreatedBy: createdBy(in), CreatedByID: in.ObjectID(),
			CreatedAt: now, StartedAt: &now, CompletedAt: &now,
		}
		count(&out, res.Outcome)
		if err := tx.CreateRevocation(ctx, out); err != nil {
			return fmt.Errorf("revocation: create: %w", err)
		}
		return tx.AddRevocationResults(ctx, res)
	})
	return out, err
}

// revokeSessionInTx ends one session of an existing user: session and
// refresh tokens revoked, audit, event. It returns the session's result
// (keyed by session id, see Results).
func revokeSessionInTx(ctx context.Context, tx jobTx, in Initiator, sess store.Session, at time.Time, opts Options) (store.RevocationResult, error) {
	res := store.RevocationResult{RevocationID: opts.RevocationID, UserID: sess.ID, At: at}
	reason := sessionReason[CauseSessionRevoked]
	revoked, err := tx.RevokeSession(ctx, sess.ID, at, reason)
	if err != nil {
		return res, fmt.Errorf("revocation: revoke session: %w", err)
	}
	if !revoked {
		res.Outcome, res.Detail = OutcomeFailed, "session already ended"
		return res, nil
	}
	if _, err := tx.RevokeRefreshTokensOfSession(ctx, sess.ID, at, reason); err != nil {
		return res, fmt.Errorf("revocation: revoke session tokens: %w", err)
	}
	u, err := tx.GetUser(ctx, sess.UserID)
	if err != nil {
		return res, fmt.Errorf("revocation: session user: %w", err)
	}
	ec := &eventCtx{
		txn: opts.txn(), revocationID: opts.RevocationID, reason: opts.Reason, cause: CauseSessionRevoked,
		in: in, initiatedBy: in.InitiatedBy(), at: at, newID: opts.newID,
	}
	details := []KeyValue{{Key: "SessionId", Value: sess.ID}}
	if opts.Reason != "" {
		details = append(details, KeyValue{Key: "Reason", Value: opts.Reason})
	}
	entry := AuditEntry{
		At: at, Activity: ActivityRevokeSession, Category: CategoryUserManagement, OperationType: "Update",
		CorrelationID: ec.txn, Initiator: in, Details: details,
		Targets: []AuditTarget{{ID: u.ID, DisplayName: u.DisplayName, Type: TargetUser, UserPrincipalName: u.UserPrincipalName}},
	}
	if err := tx.AppendAudit(ctx, entry.Record(opts.newID())); err != nil {
		return res, fmt.Errorf("revocation: audit: %w", err)
	}
	if _, err := tx.AppendOutbox(ctx, ec.sessionEvent(u, sess)); err != nil {
		return res, fmt.Errorf("revocation: outbox: %w", err)
	}
	res.Outcome, res.Detail = OutcomeRevoked, "session of user "+u.ID
	return res, nil
}

// ActivityRevokeSession is the audit activity of ending one session. Entra
// has no such activity; Vigil files it under UserManagement like
// revocations.
const ActivityRevokeSession = "Revoke sign-in session"

// Result outcomes (store.RevocationResult.Outcome).
const (
	OutcomeRevoked = "revoked"
	OutcomeDenied  = "denied"
	OutcomeFailed  = "failed"
)

// Get returns a revocation and its receipts (one per SSF stream; empty
// until the SSF transmitter fills them). ErrNotFound for an unknown id.
func (s *Service) Get(ctx context.Context, id string) (store.Revocation, []store.Receipt, error) {
	r, err := s.Store.GetRevocation(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return r, nil, refuse(ErrNotFound, "Revocation '%s' does not exist.", id)
	}
	if err != nil {
		return r, nil, fmt.Errorf("revocation: get: %w", err)
	}
	rs, err := s.Store.ListReceipts(ctx, id)
	if err != nil {
		return r, nil, fmt.Errorf("revocation: receipts: %w", err)
	}
	return r, rs, nil
}

// Results pages a revocation's per-target outcomes (outcome "" for all,
// else OutcomeRevoked, OutcomeDenied or OutcomeFailed). A target is a user
// (UserID is the user id) except in a sessionIds job or RevokeSession,
// where it is a session (UserID holds the session id and Detail names the
// user). ErrNotFound for an unknown revocation.
func (s *Service) Results(ctx context.Context, id, outcome string, q store.Query) (store.Page[store.RevocationResult], error) {
	switch outcome {
	case "", OutcomeRevoked, OutcomeDenied, OutcomeFailed:
	default:
		return store.Page[store.RevocationResult]{}, refuse(ErrInvalid, "Unknown outcome '%s': use revoked, denied or failed.", outcome)
	}
	if _, err := s.Store.GetRevocation(ctx, id); errors.Is(err, store.ErrNotFound) {
		return store.Page[store.RevocationResult]{}, refuse(ErrNotFound, "Revocation '%s' does not exist.", id)
	} else if err != nil {
		return store.Page[store.RevocationResult]{}, fmt.Errorf("revocation: get: %w", err)
	}
	p, err := s.Store.ListRevocationResults(ctx, id, outcome, q)
	if errors.Is(err, store.ErrBadCursor) {
		return p, refuse(ErrInvalid, "The $skiptoken value is invalid.")
	}
	if err != nil {
		return p, fmt.Errorf("revocation: results: %w", err)
	}
	return p, nil
}
