package oauth

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/google/uuid"

	"github.com/vigil-idp/vigil/internal/keys"
	"github.com/vigil-idp/vigil/internal/session"
	"github.com/vigil-idp/vigil/internal/store"
)

// MetaTenantID is the store.Meta key holding the tenant id (a GUID), written
// once at bootstrap; it is the tid claim of every token.
const MetaTenantID = "tenant_id"

// DefaultAccessTokenLifetime is the lifetime of access tokens unless
// AccessTokens.Lifetime says otherwise (Entra's default is 60–90 minutes).
const DefaultAccessTokenLifetime = time.Hour

// Signers hands out the key that signs now; *keys.Manager implements it.
type Signers interface {
	Signer(ctx context.Context, alg jose.SignatureAlgorithm) (*keys.Signer, error)
}

// MetaReader reads store.Meta; store.Store implements it.
type MetaReader interface {
	GetMeta(ctx context.Context, key string) ([]byte, error)
}

// AccessToken describes the access token to issue. The issuer, times, jti
// and tenant are added by AccessTokens.Issue.
type AccessToken struct {
	// Subject is the object id of the user (delegated) or of the client's
	// service principal (app-only); it becomes sub and oid.
	Subject string
	// Audience is the resource's audience, e.g. authz.GraphResource.
	Audience string
	// ClientID is the client's appId: client_id (RFC 9068 §2.2), appid and
	// azp (Entra).
	ClientID string
	// AppOnly marks a token without a user (idtyp "app"); otherwise the
	// token is delegated (idtyp "user").
	AppOnly bool
	// Roles are application permissions (roles claim, RFC 9068 §7.2.1.1).
	Roles []string
	// Scopes are delegated permissions (scp claim, space-separated).
	Scopes []string
	// RoleTemplateIDs are the user's directory roles (wids claim).
	RoleTemplateIDs []string
	// SessionID is the SSO session (sid), delegated tokens only.
	SessionID string
	// ClientCapabilities are the client's declared capabilities (xms_cc),
	// e.g. "cp1".
	ClientCapabilities []string
	// Lifetime overrides AccessTokens.Lifetime when positive.
	Lifetime time.Duration
	// ValidFrom is the user's signInSessionsValidFromDateTime (delegated
	// tokens). Tokens carry iat in whole seconds and a token whose iat is
	// before it is refused everywhere, so a token issued in the same
	// second as a revocation, after it, gets iat = ValidFrom rounded up to
	// the second (less than a second ahead of the clock, within every
	// verifier's skew) instead of being born revoked.
	ValidFrom time.Time
}

// AccessTokens issues JWT access tokens (RFC 9068), signed ES256. Build it as
// a struct literal; Issuer, Signers and Meta are required. It is safe for
// concurrent use and must not be copied after first use.
type AccessTokens struct {
	// Issuer is the iss claim: the server's issuer URL.
	Issuer string
	// Signers supplies the ES256 signing key.
	Signers Signers
	// Meta supplies the tenant id (MetaTenantID), read once.
	Meta MetaReader
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Lifetime is the default token lifetime; 0 means
	// DefaultAccessTokenLifetime.
	Lifetime time.Duration

	tenant tenantCache
}

// Issue signs the token t describes and returns it with its lifetime (the
// expires_in of RFC 6749 §5.1).
func (a *AccessTokens) Issue(ctx context.Context, t AccessToken) (string, time.Duration, error) {
	if a.Issuer == "" || a.Signers == nil || a.Meta == nil {
		return "", 0, errors.New("oauth: AccessTokens needs an Issuer, Signers and Meta")
	}
	if t.Subject == "" || t.Audience == "" || t.ClientID == "" {
		return "", 0, errors.New("oauth: access token needs a subject, an audience and a client id")
	}
	tid, err := a.tenant.get(ctx, a.Meta)
	if err != nil {
		return "", 0, err
	}
	now := time.Now()
	if a.Now != nil {
		now = a.Now()
	}
	life := firstPositive(t.Lifetime, a.Lifetime, DefaultAccessTokenLifetime)
	exp := now.Add(life)
	iat := now
	if vf := session.TokenValidFrom(t.ValidFrom); vf.After(now) {
		iat = vf // the user's sessions were revoked in this second
	}
	c := accessClaims{
		Issuer:    a.Issuer,
		Subject:   t.Subject,
		Audience:  jwt.Audience{t.Audience},
		Expiry:    jwt.NewNumericDate(exp),
		NotBefore: jwt.NewNumericDate(now),
		IssuedAt:  jwt.NewNumericDate(iat),
		ID:        uuid.NewString(),
		ClientID:  t.ClientID,
		AppID:     t.ClientID,
		AZP:       t.ClientID,
		OID:       t.Subject,
		TID:       tid,
		Roles:     t.Roles,
		Scope:     strings.Join(t.Scopes, " "),
		WIDs:      t.RoleTemplateIDs,
		SID:       t.SessionID,
		IDType:    "user",
		Version:   "2.0",
		XMSCC:     t.ClientCapabilities,
	}
	if t.AppOnly {
		c.IDType, c.Scope, c.SID = "app", "", ""
	}
	s, err := a.Signers.Signer(ctx, jose.ES256)
	if err != nil {
		return "", 0, fmt.Errorf("oauth: access token signer: %w", err)
	}
	tok, err := s.Sign(AccessTokenType, c)
	if err != nil {
		return "", 0, fmt.Errorf("oauth: sign access token: %w", err)
	}
	return tok, life, nil
}

// tenantCache holds the tenant id once read. The zero value is ready; it
// must not be copied after first use.
type tenantCache struct {
	mu sync.Mutex
	id string
}

// get returns the tenant id, reading it from meta until it is found.
func (c *tenantCache) get(ctx context.Context, meta MetaReader) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.id != "" {
		return c.id, nil
	}
	v, err := meta.GetMeta(ctx, MetaTenantID)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return "", fmt.Errorf("oauth: tenant id (meta %q) is not set; was the store bootstrapped?: %w", MetaTenantID, err)
		}
		return "", fmt.Errorf("oauth: read tenant id: %w", err)
	}
	c.id = string(v)
	return c.id, nil
}

// firstPositive returns the first positive duration.
func firstPositive(ds ...time.Duration) time.Duration {
	for _, d := range ds {
		if d > 0 {
			return d
		}
	}
	return 0
}
