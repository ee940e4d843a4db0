package session

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/vigil-idp/vigil/internal/revocation"
	"github.com/vigil-idp/vigil/internal/store"
)

// PolicyGlobal is the scope of the tenant-wide policy; every other scope is
// an application's appId.
const PolicyGlobal = store.PolicyGlobal

// Policy defaults and bounds. Entra's configurable token lifetimes and
// session controls are the model (entra-revocation.md §4.2, §5).
const (
	DefaultAccessTokenLifetime       = time.Hour
	DefaultCAEAccessTokenLifetime    = 24 * time.Hour
	DefaultRefreshTokenInactivity    = 90 * 24 * time.Hour
	DefaultSPARefreshTokenInactivity = 24 * time.Hour

	MinAccessTokenLifetime = 5 * time.Minute
	MaxAccessTokenLifetime = 24 * time.Hour
	// MaxCAEAccessTokenLifetime is Entra's CAE ceiling (28 hours).
	MaxCAEAccessTokenLifetime = 28 * time.Hour
	// MinRefreshTokenInactivity and MaxRefreshTokenInactivity are the
	// bounds of Entra's retired MaxInactiveTime (10 minutes to 90 days).
	MinRefreshTokenInactivity = 10 * time.Minute
	MaxRefreshTokenInactivity = 90 * 24 * time.Hour
	// MaxRefreshTokenMaxAge bounds the absolute refresh-token age (Entra's
	// retired MaxAgeSingleFactor: up to 365 days, or until revoked).
	MaxRefreshTokenMaxAge = 365 * 24 * time.Hour
	// MinSignInFrequency and MaxSignInFrequency are Entra's sign-in
	// frequency bounds (1 hour to 365 days, whole hours).
	MinSignInFrequency = time.Hour
	MaxSignInFrequency = 365 * 24 * time.Hour
	// MinIdleTimeout and MaxIdleTimeout are Microsoft 365's idle session
	// timeout bounds (5 to 1440 minutes, whole minutes).
	MinIdleTimeout = 5 * time.Minute
	MaxIdleTimeout = 1440 * time.Minute
	// EveryTimeSkew is how recent an authentication must be when the
	// sign-in frequency is "every time": Entra allows five minutes of clock
	// skew so users are not prompted more than once every five minutes.
	EveryTimeSkew = 5 * time.Minute
)

// DefaultPolicyCacheTTL is how long EffectivePolicy trusts its cached copy of
// the stored policies unless Service.PolicyCacheTTL says otherwise.
const DefaultPolicyCacheTTL = 5 * time.Second

// Policy is an effective session policy: the defaults, overlaid by the
// global policy, overlaid by the client application's.
type Policy struct {
	// AccessTokenLifetime is the lifetime of access tokens; default 1 h,
	// 5 min–24 h.
	AccessTokenLifetime time.Duration
	// CAEAccessTokenLifetime is the lifetime of access tokens for clients
	// that declared the cp1 capability (CAE, entra-revocation.md §4.2);
	// default 24 h, 5 min–28 h.
	CAEAccessTokenLifetime time.Duration
	// RefreshTokenInactivity is how long a refresh token works unused
	// (each rotation restarts it); default 90 days, 10 min–90 days.
	RefreshTokenInactivity time.Duration
	// SPARefreshTokenInactivity replaces RefreshTokenInactivity for tokens
	// issued through a SPA redirect URI; default 24 h.
	SPARefreshTokenInactivity time.Duration
	// RefreshTokenMaxAge bounds a refresh token's age counted from the
	// interactive authentication it descends from (AuthTime); 0 means
	// until revoked (Entra's default).
	RefreshTokenMaxAge time.Duration
	// SignInFrequency demands a fresh interactive sign-in once the last
	// one is this old, at /authorize and for refresh tokens (which carry
	// their sign-in's time); 0 means off. Whole hours, 1 h–365 days.
	SignInFrequency time.Duration
	// SignInEveryTime demands a fresh interactive sign-in on every
	// authorization (within EveryTimeSkew); refresh tokens then work only
	// within EveryTimeSkew of their sign-in.
	SignInEveryTime bool
	// IdleTimeout ends an SSO session unused this long; 0 means off. Whole
	// minutes, 5–1440.
	IdleTimeout time.Duration
}

// DefaultPolicy returns the policy in force when none is stored.
func DefaultPolicy() Policy {
	return Policy{
		AccessTokenLifetime:       DefaultAccessTokenLifetime,
		CAEAccessTokenLifetime:    DefaultCAEAccessTokenLifetime,
		RefreshTokenInactivity:    DefaultRefreshTokenInactivity,
		SPARefreshTokenInactivity: DefaultSPARefreshTokenInactivity,
	}
}

// AccessLifetime is the access-token lifetime for a client with the given
// capabilities: the CAE lifetime when they include cp1 (case-insensitive).
func (p Policy) AccessLifetime(capabilities []string) time.Duration {
	for _, c := range capabilities {
		if strings.EqualFold(c, "cp1") {
			return p.CAEAccessTokenLifetime
		}
	}
	return p.AccessTokenLifetime
}

// Frequency is a sign-in frequency setting: EveryTime, or Every > 0, or
// neither (off).
type Frequency struct {
	EveryTime bool
	Every     time.Duration
}

// Settings is the policy document stored for one scope. A nil field is
// inherited (from the global policy, then the defaults); a set field
// overrides. Its JSON form is the Vigil API's body (see MarshalJSON).
type Settings struct {
	AccessTokenLifetime       *time.Duration
	CAEAccessTokenLifetime    *time.Duration
	RefreshTokenInactivity    *time.Duration
	SPARefreshTokenInactivity *time.Duration
	// RefreshTokenMaxAge: 0 means until revoked.
	RefreshTokenMaxAge *time.Duration
	SignInFrequency    *Frequency
	// IdleTimeout: 0 means off.
	IdleTimeout *time.Duration
}

// Apply returns p overlaid by the fields s sets.
func (s Settings) Apply(p Policy) Policy {
	set := func(dst *time.Duration, v *time.Duration) {
		if v != nil {
			*dst = *v
		}
	}
	set(&p.AccessTokenLifetime, s.AccessTokenLifetime)
	set(&p.CAEAccessTokenLifetime, s.CAEAccessTokenLifetime)
	set(&p.RefreshTokenInactivity, s.RefreshTokenInactivity)
	set(&p.SPARefreshTokenInactivity, s.SPARefreshTokenInactivity)
	set(&p.RefreshTokenMaxAge, s.RefreshTokenMaxAge)
	set(&p.IdleTimeout, s.IdleTimeout)
	if f := s.SignInFrequency; f != nil {
		p.SignInEveryTime, p.SignInFrequency = f.EveryTime, f.Every
		if f.EveryTime {
			p.SignInFrequency = 0
		}
	}
	return p
}

// Validate reports every out-of-range field at once, each error wrapping
// ErrInvalidPolicy and naming the field by its JSON name.
func (s Settings) Validate() error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w: %s %s", ErrInvalidPolicy, field, fmt.Sprintf(format, args...)))
	}
	between := func(field string, v *time.Duration, lo, hi time.Duration) {
		if v != nil && (*v < lo || *v > hi) {
			bad(field, "must be between %s and %s, not %s", FormatDuration(lo), FormatDuration(hi), FormatDuration(*v))
		}
	}
	between(jsonAccessTokenLifetime, s.AccessTokenLifetime, MinAccessTokenLifetime, MaxAccessTokenLifetime)
	between(jsonCAEAccessTokenLifetime, s.CAEAccessTokenLifetime, MinAccessTokenLifetime, MaxCAEAccessTokenLifetime)
	between(jsonRefreshTokenInactivity, s.RefreshTokenInactivity, MinRefreshTokenInactivity, MaxRefreshTokenInactivity)
	between(jsonSPARefreshTokenInactivity, s.SPARefreshTokenInactivity, MinRefreshTokenInactivity, MaxRefreshTokenInactivity)
	if v := s.RefreshTokenMaxAge; v != nil && *v != 0 {
		between(jsonRefreshTokenMaxAge, v, MinRefreshTokenInactivity, MaxRefreshTokenMaxAge)
	}
	if f := s.SignInFrequency; f != nil && !f.EveryTime && f.Every != 0 {
		between(jsonSignInFrequency, &f.Every, MinSignInFrequency, MaxSignInFrequency)
		if f.Every%time.Hour != 0 {
			bad(jsonSignInFrequency, "must be whole hours, not %s", FormatDuration(f.Every))
		}
	}
	if v := s.IdleTimeout; v != nil && *v != 0 {
		between(jsonIdleTimeout, v, MinIdleTimeout, MaxIdleTimeout)
		if *v%time.Minute != 0 {
			bad(jsonIdleTimeout, "must be whole minutes, not %s", FormatDuration(*v))
		}
	}
	return errors.Join(errs...)
}

// JSON names of the Settings fields (the Vigil API's policy body).
const (
	jsonAccessTokenLifetime       = "accessTokenLifetime"
	jsonCAEAccessTokenLifetime    = "caeAccessTokenLifetime"
	jsonRefreshTokenInactivity    = "refreshTokenMaxInactiveTime"
	jsonSPARefreshTokenInactivity = "spaRefreshTokenMaxInactiveTime"
	jsonRefreshTokenMaxAge        = "refreshTokenMaxAge"
	jsonSignInFrequency           = "signInFrequency"
	jsonIdleTimeout               = "idleSessionTimeout"
)

// Keyword values of the JSON form.
const (
	valueOff          = "off"
	valueEveryTime    = "everyTime"
	valueUntilRevoked = "untilRevoked"
)

// settingsJSON is the wire form: every field an optional string.
type settingsJSON struct {
	AccessTokenLifetime       *string `json:"accessTokenLifetime,omitempty"`
	CAEAccessTokenLifetime    *string `json:"caeAccessTokenLifetime,omitempty"`
	RefreshTokenInactivity    *string `json:"refreshTokenMaxInactiveTime,omitempty"`
	SPARefreshTokenInactivity *string `json:"spaRefreshTokenMaxInactiveTime,omitempty"`
	RefreshTokenMaxAge        *string `json:"refreshTokenMaxAge,omitempty"`
	SignInFrequency           *string `json:"signInFrequency,omitempty"`
	IdleTimeout               *string `json:"idleSessionTimeout,omitempty"`
}

// MarshalJSON writes the policy document: an object whose members are the
// fields that are set, each an ISO 8601 duration ("PT1H", "P90D") or a
// keyword: signInFrequency "everyTime" or "off", idleSessionTimeout "off",
// refreshTokenMaxAge "untilRevoked". Members: accessTokenLifetime,
// caeAccessTokenLifetime, refreshTokenMaxInactiveTime,
// spaRefreshTokenMaxInactiveTime, refreshTokenMaxAge, signInFrequency,
// idleSessionTimeout.
func (s Settings) MarshalJSON() ([]byte, error) {
	dur := func(d *time.Duration, zero string) *string {
		if d == nil {
			return nil
		}
		v := FormatDuration(*d)
		if *d == 0 && zero != "" {
			v = zero
		}
		return &v
	}
	w := settingsJSON{
		AccessTokenLifetime:       dur(s.AccessTokenLifetime, ""),
		CAEAccessTokenLifetime:    dur(s.CAEAccessTokenLifetime, ""),
		RefreshTokenInactivity:    dur(s.RefreshTokenInactivity, ""),
		SPARefreshTokenInactivity: dur(s.SPARefreshTokenInactivity, ""),
		RefreshTokenMaxAge:        dur(s.RefreshTokenMaxAge, valueUntilRevoked),
		IdleTimeout:               dur(s.IdleTimeout, valueOff),
	}
	if f := s.SignInFrequency; f != nil {
		v := valueOff
		switch {
		case f.EveryTime:
			v = valueEveryTime
		case f.Every > 0:
			v = FormatDuration(f.Every)
		}
		w.SignInFrequency = &v
	}
	return json.Marshal(w)
}

// UnmarshalJSON reads the form MarshalJSON writes. Absent and null members
// are inherited; unknown members, and values that are not durations or the
// member's keywords, are errors wrapping ErrInvalidPolicy, all reported at
// once. It does not check ranges: call Validate.
func (s *Settings) UnmarshalJSON(b []byte) error {
	var w settingsJSON
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&w); err != nil {
		return fmt.Errorf("%w: %s", ErrInvalidPolicy, strings.TrimPrefix(err.Error(), "json: "))
	}
	var errs []error
	dur := func(field string, v *string, zero string) *time.Duration {
		if v == nil {
			return nil
		}
		if zero != "" && *v == zero {
			d := time.Duration(0)
			return &d
		}
		d, err := ParseDuration(*v)
		if err != nil {
			hint := ""
			if zero != "" {
				hint = fmt.Sprintf(" or %q", zero)
			}
			errs = append(errs, fmt.Errorf("%w: %s: %w%s", ErrInvalidPolicy, field, err, hint))
			return nil
		}
		return &d
	}
	out := Settings{
		AccessTokenLifetime:       dur(jsonAccessTokenLifetime, w.AccessTokenLifetime, ""),
		CAEAccessTokenLifetime:    dur(jsonCAEAccessTokenLifetime, w.CAEAccessTokenLifetime, ""),
		RefreshTokenInactivity:    dur(jsonRefreshTokenInactivity, w.RefreshTokenInactivity, ""),
		SPARefreshTokenInactivity: dur(jsonSPARefreshTokenInactivity, w.SPARefreshTokenInactivity, ""),
		RefreshTokenMaxAge:        dur(jsonRefreshTokenMaxAge, w.RefreshTokenMaxAge, valueUntilRevoked),
		IdleTimeout:               dur(jsonIdleTimeout, w.IdleTimeout, valueOff),
	}
	if v := w.SignInFrequency; v != nil {
		switch *v {
		case valueEveryTime:
			out.SignInFrequency = &Frequency{EveryTime: true}
		case valueOff:
			out.SignInFrequency = &Frequency{}
		default:
			d, err := ParseDuration(*v)
			if err != nil {
				errs = append(errs, fmt.Errorf("%w: %s: %w, %q or %q", ErrInvalidPolicy, jsonSignInFrequency, err, valueEveryTime, valueOff))
			} else {
				out.SignInFrequency = &Frequency{Every: d}
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	*s = out
	return nil
}

// ScopedPolicy is the stored policy of one scope.
type ScopedPolicy struct {
	// Scope is PolicyGlobal or an application's appId.
	Scope     string
	Settings  Settings
	UpdatedAt time.Time
}

// CheckScope reports whether scope names the global policy or an appId (a
// GUID); the error wraps ErrInvalidPolicy.
func CheckScope(scope string) error {
	if scope == PolicyGlobal {
		return nil
	}
	if _, err := uuid.Parse(scope); err != nil || len(scope) != 36 {
		return fmt.Errorf("%w: scope %q is neither %q nor an application id (GUID)", ErrInvalidPolicy, scope, PolicyGlobal)
	}
	return nil
}

// GetPolicy returns the policy stored for scope; the error wraps
// store.ErrNotFound when there is none.
func (s *Service) GetPolicy(ctx context.Context, scope string) (ScopedPolicy, error) {
	if err := CheckScope(scope); err != nil {
		return ScopedPolicy{}, err
	}
	p, err := s.Store.GetPolicy(ctx, scope)
	if err != nil {
		return ScopedPolicy{}, fmt.Errorf("session: get policy %s: %w", scope, err)
	}
	return decodePolicy(p)
}

// PutPolicy validates set and stores it as the policy of scope, replacing
// any earlier one; validation errors wrap ErrInvalidPolicy.
func (s *Service) PutPolicy(ctx context.Context, scope string, set Settings) (ScopedPolicy, error) {
	if err := errors.Join(CheckScope(scope), set.Validate()); err != nil {
		return ScopedPolicy{}, err
	}
	doc, err := json.Marshal(set)
	if err != nil {
		return ScopedPolicy{}, fmt.Errorf("session: encode policy: %w", err)
	}
	p := store.Policy{Scope: scope, Document: doc, UpdatedAt: s.now()}
	err = s.Store.InTx(ctx, func(tx store.Tx) error {
		old, err := tx.GetPolicy(ctx, scope)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		if err := tx.PutPolicy(ctx, p); err != nil {
			return err
		}
		if old.Scope == "" {
			return s.auditPolicy(ctx, tx, AuditActivityAddPolicy, "Add", scope, nil, doc)
		}
		return s.auditPolicy(ctx, tx, AuditActivityUpdatePolicy, "Update", scope, old.Document, doc)
	})
	if err != nil {
		return ScopedPolicy{}, fmt.Errorf("session: put policy %s: %w", scope, err)
	}
	s.invalidatePolicies()
	return ScopedPolicy{Scope: scope, Settings: set, UpdatedAt: p.UpdatedAt}, nil
}

// DeletePolicy removes the policy of scope, so it inherits again; the error
// wraps store.ErrNotFound when there was none.
func (s *Service) DeletePolicy(ctx context.Context, scope string) error {
	if err := CheckScope(scope); err != nil {
		return err
	}
	err := s.Store.InTx(ctx, func(tx store.Tx) error {
		old, err := tx.GetPolicy(ctx, scope)
		if err != nil {
			return err
		}
		if err := tx.DeletePolicy(ctx, scope); err != nil {
			return err
		}
		return s.auditPolicy(ctx, tx, AuditActivityDeletePolicy, "Delete", scope, old.Document, nil)
	})
	if err != nil {
		return fmt.Errorf("session: delete policy %s: %w", scope, err)
	}
	s.invalidatePolicies()
	return nil
}

// ListPolicies returns every stored policy ordered by scope.
func (s *Service) ListPolicies(ctx context.Context) ([]ScopedPolicy, error) {
	ps, err := s.Store.ListPolicies(ctx)
	if err != nil {
		return nil, fmt.Errorf("session: list policies: %w", err)
	}
	out := make([]ScopedPolicy, 0, len(ps))
	for _, p := range ps {
		sp, err := decodePolicy(p)
		if err != nil {
			return nil, err
		}
		out = append(out, sp)
	}
	return out, nil
}

// EffectivePolicy returns the policy for a client: the defaults overlaid by
// the global policy and then by the client's (clientID "" gives the global
// one). It reads a cache refreshed every PolicyCacheTTL.
func (s *Service) EffectivePolicy(ctx context.Context, clientID string) (Policy, error) {
	c, err := s.policies(ctx)
	if err != nil {
		return Policy{}, err
	}
	p := c.global.Apply(DefaultPolicy())
	if app, ok := c.apps[clientID]; ok && clientID != "" {
		p = app.Apply(p)
	}
	return p, nil
}

// decodePolicy turns a stored row into a ScopedPolicy.
func decodePolicy(p store.Policy) (ScopedPolicy, error) {
	var set Settings
	if err := json.Unmarshal(p.Document, &set); err != nil {
		return ScopedPolicy{}, fmt.Errorf("session: stored policy %s: %w", p.Scope, err)
	}
	return ScopedPolicy{Scope: p.Scope, Settings: set, UpdatedAt: p.UpdatedAt}, nil
}

// policyCache is one load of the policy table.
type policyCache struct {
	loadedAt time.Time
	global   Settings
	apps     map[string]Settings
}

func (s *Service) policyCacheTTL() time.Duration {
	if s.PolicyCacheTTL == 0 {
		return DefaultPolicyCacheTTL
	}
	return s.PolicyCacheTTL
}

// policies returns the cached policy table, reloading it when stale. Two
// concurrent reloads are harmless (both read the same table), so the lock
// is not held across the query; a load that raced a local change is used
// once but not kept.
func (s *Service) policies(ctx context.Context) (*policyCache, error) {
	now := time.Now()
	s.mu.Lock()
	c, gen := s.cache, s.cacheGen
	s.mu.Unlock()
	if c != nil && now.Sub(c.loadedAt) < s.policyCacheTTL() {
		return c, nil
	}
	ps, err := s.ListPolicies(ctx)
	if err != nil {
		return nil, err
	}
	c = &policyCache{loadedAt: now, apps: make(map[string]Settings, len(ps))}
	for _, p := range ps {
		if p.Scope == PolicyGlobal {
			c.global = p.Settings
		} else {
			c.apps[p.Scope] = p.Settings
		}
	}
	s.mu.Lock()
	if s.cacheGen == gen { // no local change while loading
		s.cache = c
	}
	s.mu.Unlock()
	return c, nil
}

// invalidatePolicies drops the cache after a local change.
func (s *Service) invalidatePolicies() {
	s.mu.Lock()
	s.cache = nil
	s.cacheGen++
	s.mu.Unlock()
}

// Audit vocabulary of session policy writes: Entra's policy activities
// (category Policy, logged by Core Directory); the target is the policy,
// named by its scope, and its PolicyDetail is the settings document
// before and after.
const (
	AuditActivityAddPolicy    = "Add policy"
	AuditActivityUpdatePolicy = "Update policy"
	AuditActivityDeletePolicy = "Delete policy"
	AuditCategoryPolicy       = "Policy"
	auditTargetPolicy         = "Policy"
	auditPropPolicyDetail     = "PolicyDetail"
)

// auditPolicy appends the audit record of a policy write in tx,
// attributed to ctx's initiator (revocation.WithInitiator); oldDoc and
// newDoc are the settings documents (nil when absent).
func (s *Service) auditPolicy(ctx context.Context, tx store.Audit, activity, op, scope string, oldDoc, newDoc []byte) error {
	value := func(doc []byte) string {
		if doc == nil {
			return "[]"
		}
		return revocation.JSONValue(string(doc))
	}
	name := "Session policy of application " + scope
	if scope == PolicyGlobal {
		name = "Global session policy"
	}
	e := revocation.AuditEntry{
		At: s.now(), Activity: activity, Category: AuditCategoryPolicy, OperationType: op,
		CorrelationID: s.newID(), Initiator: revocation.InitiatorFrom(ctx),
		Targets: []revocation.AuditTarget{{ID: scope, DisplayName: name, Type: auditTargetPolicy,
			ModifiedProperties: []revocation.ModifiedProperty{{DisplayName: auditPropPolicyDetail, OldValue: value(oldDoc), NewValue: value(newDoc)}}}},
	}
	if err := tx.AppendAudit(ctx, e.Record(s.newID())); err != nil {
		return fmt.Errorf("audit %s: %w", activity, err)
	}
	return nil
}
