package authz

import (
	"context"
	"slices"
	"strings"
	"time"
)

// PrincipalKind says whether a token acts for an application alone or for a
// signed-in user.
type PrincipalKind int

// Principal kinds.
const (
	// AppOnly tokens come from client_credentials; permissions are in Roles.
	AppOnly PrincipalKind = iota + 1
	// Delegated tokens act for a user; permissions are in Scopes, bounded
	// by the user's directory roles (RoleTemplateIDs).
	Delegated
)

// Principal is the verified caller of an API request.
type Principal struct {
	Kind            PrincipalKind
	ClientID        string    // appid / azp / client_id
	ObjectID        string    // oid: the user (delegated) or service principal (app-only)
	TenantID        string    // tid
	Roles           []string  // application permissions (roles claim)
	Scopes          []string  // delegated scopes (scp claim, split)
	RoleTemplateIDs []string  // directory roles (wids claim)
	SessionID       string    // sid (delegated only)
	TokenID         string    // jti
	IssuedAt        time.Time // iat
	Capabilities    []string  // xms_cc: client capabilities, e.g. "cp1" (claims challenges understood)
}

// CAECapable reports whether the token declared the client capability
// cp1 (xms_cc, case-insensitive): its client handles claims challenges,
// so a revoked token is answered with one (continuous access evaluation).
func (p *Principal) CAECapable() bool {
	return p != nil && slices.ContainsFunc(p.Capabilities, func(c string) bool { return strings.EqualFold(c, "cp1") })
}

// HasRole reports whether an app-only principal holds any of the named
// application permissions.
func (p *Principal) HasRole(names ...string) bool {
	if p == nil || p.Kind != AppOnly {
		return false
	}
	for _, n := range names {
		if slices.Contains(p.Roles, n) {
			return true
		}
	}
	return false
}

// HasScope reports whether a delegated principal holds any of the named
// delegated scopes.
func (p *Principal) HasScope(names ...string) bool {
	if p == nil || p.Kind != Delegated {
		return false
	}
	for _, n := range names {
		if slices.Contains(p.Scopes, n) {
			return true
		}
	}
	return false
}

type principalKey struct{}

// WithPrincipal returns a context carrying p.
func WithPrincipal(ctx context.Context, p *Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// FromContext returns the principal set by WithPrincipal, if any.
func FromContext(ctx context.Context) (*Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(*Principal)
	return p, ok && p != nil
}
