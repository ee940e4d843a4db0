package store

import (
	"context"
	"time"
)

// This file holds the durable event machinery: the audit log, the outbox
// (the single source of every event), per-consumer cursors and delivery
// queues, bulk revocation timestamps, and revocation jobs; all are part of
// Tx. Bulk appends take any number of items and
// write them set-based (multi-row statements), in the caller's
// transaction.

// AuditRecord is one directory audit entry (Graph directoryAudit). The
// nested Graph objects are stored as JSON; the ids that $filter needs are
// stored beside them.
type AuditRecord struct {
	ID                  string
	ActivityDateTime    time.Time
	ActivityDisplayName string // e.g. "Update StsRefreshTokenValidFrom Timestamp"
	Category            string // e.g. "UserManagement"
	CorrelationID       string
	OperationType       string // Add, Update, Delete, …
	Result              string // success, failure
	ResultReason        string
	LoggedByService     string   // "Core Directory"
	InitiatedBy         []byte   // JSON: {"user":{…}} or {"app":{…}}
	TargetResources     []byte   // JSON array of targetResource
	AdditionalDetails   []byte   // JSON array of {key,value}
	InitiatorUserID     string   // for $filter initiatedBy/user/id
	InitiatorAppID      string   // for $filter initiatedBy/app/appId
	TargetIDs           []string // for $filter targetResources/any(t: t/id eq …)
}

// Audit stores the audit log. Records are immutable.
type Audit interface {
	// AppendAudit inserts records (bulk). A zero ActivityDateTime is set
	// from the store's clock; ErrConflict when an id is taken.
	AppendAudit(ctx context.Context, records ...AuditRecord) error
	// ListAudit pages records newest first (activityDateTime desc, then id
	// desc) unless q.OrderBy names another order; q.Filter supports
	// activityDateTime (ge/le/gt/lt/eq), activityDisplayName, category and
	// result (compared case-insensitively, as other Graph strings),
	// id, correlationId, initiatedBy/user/id and initiatedBy/app/appId
	// (eq, ne, in), and targetResources/any(t: t/id eq '…'), combined
	// with and/or/not.
	ListAudit(ctx context.Context, q Query) (Page[AuditRecord], error)
}

// OutboxEvent is one event in the outbox. Seq is assigned by the store and
// strictly increases in commit-visible order (see Outbox.ListOutbox); it is
// positive but need not be dense or start at 1 (gaps are normal).
type OutboxEvent struct {
	Seq       int64
	ID        string // unique event id (used as the SET jti / txn)
	Type      string // e.g. a CAEP or RISC event type URI, or "backchannel-logout"
	UserID    string
	SessionID string
	Payload   []byte // JSON, owned by the producer
	CreatedAt time.Time
}

// Outbox is the append-only event log written in the same transaction as
// the change it describes. To keep Seq in commit order a backend may let
// only one appending transaction run at a time, from its first append to
// its commit (sqlstore does on PostgreSQL; SQLite has one writer anyway):
// append last in a transaction.
type Outbox interface {
	// AppendOutbox appends events (bulk) and returns their sequence
	// numbers, in the order given. A zero CreatedAt is set from the
	// store's clock. Event ids are the producer's to keep unique (random
	// UUIDs): the store does not check them.
	AppendOutbox(ctx context.Context, events ...OutboxEvent) ([]int64, error)
	// ListOutbox returns up to limit events (limit ≤ 0: 100) with Seq >
	// after, in Seq order.
	// It never returns an event while an event with a smaller Seq may still
	// become visible (an uncommitted concurrent transaction), so a reader
	// that remembers the last Seq it saw never misses one.
	ListOutbox(ctx context.Context, after int64, limit int) ([]OutboxEvent, error)
	// LastOutboxSeq returns the highest Seq ListOutbox can return now (0
	// when there is none).
	LastOutboxSeq(ctx context.Context) (int64, error)
	// OutboxSeqBefore returns the highest Seq of an event created before
	// t (0 when there is none): ListOutbox(OutboxSeqBefore(t), …) starts
	// at the events created at or after t. Seqs follow commit order and
	// CreatedAt the producer's clock, so near t the two may disagree by
	// the events of concurrent transactions; callers use it for a window
	// with margin (a new SSF stream's backfill). Its cost grows with the
	// number of events created since t, not with the outbox.
	OutboxSeqBefore(ctx context.Context, t time.Time) (int64, error)
	// PurgeOutbox deletes at most limit events created before `before`
	// that every consumer has read: whose Seq is at or below every
	// cursor's position (store.Cursors; none when there is no cursor). It
	// returns how many it deleted.
	PurgeOutbox(ctx context.Context, before time.Time, limit int) (int, error)
}

// OutboxWaiter is an optional ability of a Store (sqlstore has it): waking
// outbox readers when events are appended, on this node and others. It is
// not part of Tx. Readers still poll: a wake-up is a hint that may be lost
// or early, never the truth.
type OutboxWaiter interface {
	// WaitOutbox blocks until ListOutbox would return an event with Seq >
	// after, or ctx ends (returning ctx's error).
	WaitOutbox(ctx context.Context, after int64) error
}

// Cursors stores named read positions in the outbox (one per consumer).
type Cursors interface {
	// GetCursor returns a consumer's position (0 when unset).
	GetCursor(ctx context.Context, name string) (int64, error)
	// AdvanceCursor moves a consumer from `from` to `to` atomically; it
	// returns ErrConflict when the stored position is no longer `from`
	// (another node advanced it first).
	AdvanceCursor(ctx context.Context, name string, from, to int64) error
}

// Delivery is one outgoing message in a durable queue (back-channel logout
// tokens, SSF push deliveries). Queue names the consumer (e.g.
// "backchannel" or "ssf:<streamId>"); Key orders deliveries per subject.
type Delivery struct {
	ID            string
	Queue         string
	Key           string // ordering key (e.g. the subject); "" for none
	EventSeq      int64
	Payload       []byte
	Attempts      int
	NextAttemptAt time.Time
	LeaseUntil    *time.Time
	DeliveredAt   *time.Time
	DeadAt        *time.Time // set after the last allowed attempt failed
	LastError     string
	CreatedAt     time.Time
}

// Deliveries stores durable delivery queues.
type Deliveries interface {
	// EnqueueDeliveries inserts deliveries (bulk), in the order given,
	// which is the order they are claimed in. A zero CreatedAt is set from
	// the store's clock; ErrConflict when an id is taken.
	EnqueueDeliveries(ctx context.Context, ds ...Delivery) error
	// ClaimDeliveries leases up to limit due deliveries of a queue
	// (NextAttemptAt <= now, not delivered, not dead, lease expired),
	// oldest (first enqueued) first, at most one per Key at a time and
	// never one whose Key has an older pending delivery (neither delivered
	// nor dead: a dead delivery stops holding its Key back), setting
	// LeaseUntil = now+lease. Concurrent claimers never get the same
	// delivery. Key "" means unordered.
	ClaimDeliveries(ctx context.Context, queue string, now time.Time, lease time.Duration, limit int) ([]Delivery, error)
	// CompleteDelivery marks a delivery delivered and ends its lease;
	// ErrNotFound when absent.
	CompleteDelivery(ctx context.Context, id string, at time.Time) error
	// FailDelivery records a failed attempt: Attempts+1, LastError, the
	// lease ended, and either NextAttemptAt = next or, when dead,
	// DeadAt = at. ErrNotFound when absent.
	FailDelivery(ctx context.Context, id string, at time.Time, next time.Time, dead bool, lastErr string) error
	// ListDeliveries pages a queue's deliveries (by id unless q.OrderBy
	// says otherwise); dead only when deadOnly.
	ListDeliveries(ctx context.Context, queue string, deadOnly bool, q Query) (Page[Delivery], error)
	// RetryDelivery makes a dead delivery due again at `at` (DeadAt
	// cleared, Attempts reset to 0); ErrNotFound when absent, ErrConflict
	// when it is not dead.
	RetryDelivery(ctx context.Context, id string, at time.Time) error
	// PurgeDeliveries deletes at most limit deliveries delivered before
	// `before` (dead ones stay, for the dead-letter lists, and so do
	// pending ones) and returns how many it deleted.
	PurgeDeliveries(ctx context.Context, before time.Time, limit int) (int, error)
}

// Revocation job states.
const (
	RevocationPending   = "pending"
	RevocationRunning   = "running"
	RevocationCompleted = "completed"
	RevocationFailed    = "failed"
)

// Revocation is a revocation job: the resource behind
// /vigil/v1/revocations/{id}.
type Revocation struct {
	ID             string
	Status         string
	Selector       []byte // JSON: the request's target selector
	ValidFrom      time.Time
	Targeted       int
	Revoked        int
	Denied         int
	Failed         int
	Reason         string
	CreatedBy      []byte // JSON: the initiator (user or app)
	CreatedAt      time.Time
	StartedAt      *time.Time
	CompletedAt    *time.Time
	IdempotencyKey string // "" when none; unique per CreatedByID
	CreatedByID    string // object id of the initiator
	RequestHash    []byte // hash of the request body, to detect key reuse
	Progress       string // opaque resume cursor of the job
	Error          string
}

// RevocationResult is the outcome for one target of a revocation.
type RevocationResult struct {
	RevocationID string
	UserID       string
	Outcome      string // "revoked", "denied", "failed"
	Detail       string
	At           time.Time
}

// Receipt records when one SSF stream received and acknowledged a
// revocation's event.
type Receipt struct {
	RevocationID   string
	StreamID       string
	Receiver       string
	Status         string // "pending", "delivered", "acknowledged", "failed"
	DeliveredAt    *time.Time
	AcknowledgedAt *time.Time
}

// Revocations stores revocation jobs, their per-target results and
// receipts.
type Revocations interface {
	// CreateRevocation inserts r; ErrConflict when the id or, for a
	// non-empty IdempotencyKey, (CreatedByID, IdempotencyKey) is taken. A
	// zero CreatedAt is set from the store's clock.
	CreateRevocation(ctx context.Context, r Revocation) error
	// GetRevocation returns a job, or ErrNotFound.
	GetRevocation(ctx context.Context, id string) (Revocation, error)
	// GetRevocationByIdempotencyKey returns the job an initiator created
	// with a key, or ErrNotFound.
	GetRevocationByIdempotencyKey(ctx context.Context, createdByID, key string) (Revocation, error)
	// UpdateRevocation is the atomic read-modify-write of a job.
	UpdateRevocation(ctx context.Context, id string, fn func(Revocation) (Revocation, error)) (Revocation, error)
	// ListRevocationsByStatus lists jobs in a state (for resuming), oldest
	// (CreatedAt, then ID) first.
	ListRevocationsByStatus(ctx context.Context, status string) ([]Revocation, error)
	// AddRevocationResults inserts per-target outcomes (bulk); a repeated
	// (RevocationID, UserID) replaces the earlier outcome (within one call
	// the last wins). A zero At is set from the store's clock; ErrNotFound
	// when a RevocationID names no job.
	AddRevocationResults(ctx context.Context, rs ...RevocationResult) error
	// ListRevocationResults pages a job's outcomes ("" outcome = all), by
	// UserID unless q.OrderBy says otherwise; q.Filter may use userId,
	// outcome and at.
	ListRevocationResults(ctx context.Context, revocationID, outcome string, q Query) (Page[RevocationResult], error)
	// PutReceipt creates or replaces the receipt of (RevocationID,
	// StreamID); ErrNotFound when the job does not exist.
	PutReceipt(ctx context.Context, r Receipt) error
	// ListReceipts lists a job's receipts ordered by stream id.
	ListReceipts(ctx context.Context, revocationID string) ([]Receipt, error)
}

// UserRevocation moves users' revocation timestamps in bulk.
type UserRevocation interface {
	// AdvanceSignInSessionsValidFrom sets signInSessionsValidFromDateTime
	// to max(current, at) for each listed user — it never moves backwards
	// — and, when refreshTokensToo, refreshTokensValidFromDateTime the same
	// way. It returns each existing user's previous
	// signInSessionsValidFromDateTime (zero when unset); unknown ids are
	// absent from the map. Bulk: set-based, per chunk of ids.
	AdvanceSignInSessionsValidFrom(ctx context.Context, userIDs []string, at time.Time, refreshTokensToo bool) (map[string]time.Time, error)
}
