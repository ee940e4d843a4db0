package login

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/vigil-idp/vigil/internal/oauth"
	"github.com/vigil-idp/vigil/internal/secret"
	"github.com/vigil-idp/vigil/internal/session"
	"github.com/vigil-idp/vigil/internal/store"
)

// Throttling defaults, after Entra's smart lockout (10 failures, then a
// lockout that starts at a minute): failures count within Window; from
// SlowAfter failures on each wrong answer is delayed (doubling from
// SlowDelay up to MaxDelay); at LockAfter failures the account is locked
// for LockFor.
const (
	DefaultThrottleWindow = 15 * time.Minute
	DefaultSlowAfter      = 3
	DefaultSlowDelay      = 500 * time.Millisecond
	DefaultMaxDelay       = 4 * time.Second
	DefaultLockAfter      = 10
	DefaultLockFor        = 5 * time.Minute
)

// Audit vocabulary of a lockout (Graph directoryAudit).
const (
	AuditActivityLockout = "Account locked after repeated failed sign-ins"
	AuditCategory        = "UserManagement"
	AuditService         = "Authentication"
)

// UserLookup reads users by sign-in name; store.Store implements it.
type UserLookup interface {
	GetUserByUPN(ctx context.Context, upn string) (store.User, error)
}

// AuditWriter appends audit records; store.Store implements it.
type AuditWriter interface {
	AppendAudit(ctx context.Context, records ...store.AuditRecord) error
}

// Passwords verifies user names and passwords (argon2id, internal/secret)
// with throttling and lockout, for the sign-in form and the password
// grant: it implements oauth.PasswordVerifier. Unknown users cost the same
// argon2id work as known ones and are throttled and locked the same way,
// so no answer reveals whether an account exists; a disabled account is
// reported only after its correct password. Build it as a struct literal;
// Users and Throttles are required.
//
// Failures of existing users are counted in the store (shared by every
// node). Failures of unknown user names are counted in memory: with
// several nodes, an attacker spreading guesses over them sees such a name
// lock a little later than a real one.
type Passwords struct {
	// Users finds users by userPrincipalName.
	Users UserLookup
	// Throttles counts failures of existing users.
	Throttles store.SignInThrottles
	// Audit, when set, records lockouts.
	Audit AuditWriter
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Sleep waits before a slowed-down answer; nil means a timer that
	// stops when ctx is done. Tests inject a recorder.
	Sleep func(ctx context.Context, d time.Duration)
	// Logger receives lockouts and store failures; nil discards.
	Logger *slog.Logger
	// MaxConcurrent bounds simultaneous argon2id verifications (each
	// uses the hash's memory, 64 MiB by default); 0 means GOMAXPROCS.
	MaxConcurrent int
	// Window, SlowAfter, SlowDelay, MaxDelay, LockAfter and LockFor
	// override the Default… throttling constants when positive.
	Window    time.Duration
	SlowAfter int
	SlowDelay time.Duration
	MaxDelay  time.Duration
	LockAfter int
	LockFor   time.Duration

	once    sync.Once
	slots   chan struct{}
	dummy   string // argon2id hash verified for unknown users
	dummyMu sync.Mutex
	unknown map[string]store.SignInThrottle // lower-cased name → counter
}

var _ oauth.PasswordVerifier = (*Passwords)(nil)

func (p *Passwords) now() time.Time {
	if p.Now != nil {
		return p.Now().UTC()
	}
	return time.Now().UTC()
}

func (p *Passwords) init() {
	p.once.Do(func() {
		n := p.MaxConcurrent
		if n <= 0 {
			n = runtime.GOMAXPROCS(0)
		}
		p.slots = make(chan struct{}, n)
		p.unknown = map[string]store.SignInThrottle{}
		// A hash with the default parameters: unknown users then cost
		// what a typical user costs.
		h, err := secret.HashPassword(uuid.NewString(), secret.DefaultArgon2)
		if err == nil {
			p.dummy = h
		}
	})
}

func orInt(v, d int) int {
	if v > 0 {
		return v
	}
	return d
}

func orDur(v, d time.Duration) time.Duration {
	if v > 0 {
		return v
	}
	return d
}

// VerifyPassword implements oauth.PasswordVerifier.
func (p *Passwords) VerifyPassword(ctx context.Context, username, password string, info session.ClientInfo) (store.User, error) {
	p.init()
	name := strings.TrimSpace(username)
	if name == "" || len(name) > 256 || len(password) > 256 {
		return store.User{}, oauth.ErrInvalidCredentials
	}
	user, err := p.Users.GetUserByUPN(ctx, name)
	known := err == nil
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return store.User{}, fmt.Errorf("login: look up user: %w", err)
	}
	now := p.now()
	th, err := p.throttle(ctx, known, user.ID, name)
	if err != nil {
		return store.User{}, err
	}
	if th.LockedUntil != nil && now.Before(*th.LockedUntil) {
		return store.User{}, fmt.Errorf("%w (until %s)", oauth.ErrAccountLocked, th.LockedUntil.Format(time.RFC3339))
	}
	hash := p.dummy
	if known && user.PasswordHash != "" {
		hash = user.PasswordHash
	}
	ok, err := p.verify(ctx, hash, password)
	if err != nil {
		return store.User{}, err
	}
	if ok && known && user.PasswordHash != "" {
		if err := p.Throttles.ResetSignInThrottle(ctx, user.ID); err != nil {
			return store.User{}, fmt.Errorf("login: reset throttle: %w", err)
		}
		if !user.AccountEnabled {
			return store.User{}, oauth.ErrAccountDisabled
		}
		return user, nil
	}
	th, err = p.recordFailure(ctx, known, user, name, now, info)
	if err != nil {
		return store.User{}, err
	}
	if d := p.delay(th.Failures); d > 0 {
		p.sleep(ctx, d)
	}
	return store.User{}, oauth.ErrInvalidCredentials
}

// verify runs argon2id within the concurrency bound.
func (p *Passwords) verify(ctx context.Context, hash, password string) (bool, error) {
	if hash == "" {
		return false, errors.New("login: no reference password hash")
	}
	select {
	case p.slots <- struct{}{}:
	case <-ctx.Done():
		return false, ctx.Err()
	}
	defer func() { <-p.slots }()
	err := secret.VerifyPassword(hash, password)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, secret.ErrMismatch):
		return false, nil
	}
	// A stored hash that does not parse counts as a wrong password.
	p.logger().Warn("login: unreadable password hash", "err", err)
	return false, nil
}

// throttle returns the current counter of a user or an unknown name.
func (p *Passwords) throttle(ctx context.Context, known bool, userID, name string) (store.SignInThrottle, error) {
	if known {
		th, err := p.Throttles.GetSignInThrottle(ctx, userID)
		if err != nil {
			return store.SignInThrottle{}, fmt.Errorf("login: read throttle: %w", err)
		}
		return th, nil
	}
	p.dummyMu.Lock()
	defer p.dummyMu.Unlock()
	return p.unknown[strings.ToLower(name)], nil
}

// recordFailure counts a failure, locking at LockAfter, and audits the
// lockout of an existing user.
func (p *Passwords) recordFailure(ctx context.Context, known bool, user store.User, name string, now time.Time, info session.ClientInfo) (store.SignInThrottle, error) {
	window, lockAfter, lockFor := orDur(p.Window, DefaultThrottleWindow), orInt(p.LockAfter, DefaultLockAfter), orDur(p.LockFor, DefaultLockFor)
	if !known {
		return p.recordUnknown(strings.ToLower(name), now, window, lockAfter, lockFor), nil
	}
	th, err := p.Throttles.RecordSignInFailure(ctx, user.ID, now, window, lockAfter, lockFor)
	if err != nil {
		return store.SignInThrottle{}, fmt.Errorf("login: record failure: %w", err)
	}
	// This failure locked the account (the first lock, or a new one after
	// a lock ran out within the window).
	if th.Failures >= lockAfter && th.LockedUntil != nil && th.LockedUntil.After(now.Add(lockFor-time.Second)) {
		p.logger().Warn("login: account locked", "user", user.ID, "until", th.LockedUntil, "ip", info.IP)
		if p.Audit != nil {
			if err := p.Audit.AppendAudit(ctx, lockoutAudit(user, th, info, now)); err != nil {
				p.logger().Error("login: audit lockout", "err", err)
			}
		}
	}
	return th, nil
}

// recordUnknown is RecordSignInFailure for names that are no user, in
// memory. Expired counters are dropped as the map is touched.
func (p *Passwords) recordUnknown(key string, now time.Time, window time.Duration, lockAfter int, lockFor time.Duration) store.SignInThrottle {
	p.dummyMu.Lock()
	defer p.dummyMu.Unlock()
	if len(p.unknown) > 10_000 {
		for k, t := range p.unknown {
			if now.Sub(t.FirstFailAt) > window && (t.LockedUntil == nil || now.After(*t.LockedUntil)) {
				delete(p.unknown, k)
			}
		}
	}
	th := p.unknown[key]
	if th.Failures == 0 || now.Sub(th.FirstFailAt) > window {
		th = store.SignInThrottle{UserID: key, FirstFailAt: now}
	}
	th.Failures++
	if th.Failures >= lockAfter {
		until := now.Add(lockFor)
		th.LockedUntil = &until
	}
	p.unknown[key] = th
	return th
}

// delay is the slow-down after the n-th failure.
func (p *Passwords) delay(n int) time.Duration {
	after := orInt(p.SlowAfter, DefaultSlowAfter)
	if n < after {
		return 0
	}
	d, maxD := orDur(p.SlowDelay, DefaultSlowDelay), orDur(p.MaxDelay, DefaultMaxDelay)
	for i := after; i < n && d < maxD; i++ {
		d *= 2
	}
	return min(d, maxD)
}

func (p *Passwords) sleep(ctx context.Context, d time.Duration) {
	if p.Sleep != nil {
		p.Sleep(ctx, d)
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

func (p *Passwords) logger() *slog.Logger {
	if p.Logger != nil {
		return p.Logger
	}
	return slog.New(slog.DiscardHandler)
}

// lockoutAudit is the directoryAudit record of a lockout.
func lockoutAudit(u store.User, th store.SignInThrottle, info session.ClientInfo, now time.Time) store.AuditRecord {
	target, _ := json.Marshal([]map[string]any{{
		"id": u.ID, "displayName": u.DisplayName, "type": "User", "userPrincipalName": u.UserPrincipalName,
		"modifiedProperties": []any{}, "groupType": nil,
	}})
	details, _ := json.Marshal([]map[string]string{
		{"key": "FailedSignIns", "value": strconv.Itoa(th.Failures)},
		{"key": "LockedUntil", "value": th.LockedUntil.UTC().Format(time.RFC3339)},
		{"key": "IPAddress", "value": info.IP},
	})
	return store.AuditRecord{
		ID: uuid.NewString(), ActivityDateTime: now, ActivityDisplayName: AuditActivityLockout, Category: AuditCategory,
		CorrelationID: uuid.NewString(), OperationType: "Update", Result: "success",
		ResultReason: "too many failed sign-ins", LoggedByService: AuditService,
		TargetResources: target, AdditionalDetails: details, TargetIDs: []string{u.ID},
	}
}
