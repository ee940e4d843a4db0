package guard

import (
	"context"
	"encoding/json"
	"time"
)

// Identity is the verified caller of a request: the claims of its access
// token (RFC 9068 §2.2, with Entra's oid, tid, sid, scp, roles and xms_cc).
// Handlers get it with FromContext. An Identity may be shared between
// requests presenting the same token: treat it as read-only.
type Identity struct {
	// ObjectID is the oid claim: the user's (or, for app-only tokens, the
	// service principal's) object id; the sub claim when oid is absent.
	// The revocation table is keyed by it.
	ObjectID string
	// Subject is the sub claim.
	Subject string
	// SessionID is the sid claim: the SSO session, delegated tokens only.
	SessionID string
	// TenantID is the tid claim.
	TenantID string
	// ClientID is the client_id claim (RFC 9068), else azp, else appid.
	ClientID string
	// UPN is the upn claim, else preferred_username, else email; "" when
	// the token carries none.
	UPN string
	// Scopes are the delegated scopes (scp, space-separated in the token).
	Scopes []string
	// Roles are the application permissions or app roles (roles).
	Roles []string
	// AppOnly reports an app-only token (idtyp "app", or neither scp nor
	// sid on a token whose oid is its subject's service principal).
	AppOnly bool
	// ClientCapabilities is the xms_cc claim, e.g. ["cp1"].
	ClientCapabilities []string
	// IssuedAt, ExpiresAt are iat and exp.
	IssuedAt, ExpiresAt time.Time
	// Claims is the token's payload, for claims not listed here.
	Claims json.RawMessage

	iat, exp int64
	oid, sid tableKey
	cp1      bool
}

// HasScope reports whether s is one of the delegated scopes.
func (id *Identity) HasScope(s string) bool { return contains(id.Scopes, s) }

// HasRole reports whether r is one of the roles.
func (id *Identity) HasRole(r string) bool { return contains(id.Roles, r) }

func contains(ss []string, s string) bool {
	for _, v := range ss {
		if v == s {
			return true
		}
	}
	return false
}

type ctxKey struct{}

// NewContext returns ctx carrying id; Middleware does this for every
// request it lets through.
func NewContext(ctx context.Context, id *Identity) context.Context {
	return context.WithValue(ctx, ctxKey{}, id)
}

// FromContext returns the identity Middleware verified for this request.
func FromContext(ctx context.Context) (*Identity, bool) {
	id, ok := ctx.Value(ctxKey{}).(*Identity)
	return id, ok && id != nil
}
