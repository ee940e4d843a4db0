package oauth

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/vigil-idp/vigil/internal/authz"
)

// AppRoleStore is what the client_credentials grant reads (the client's
// service principal comes with its authentication); store.Store
// implements it.
type AppRoleStore interface {
	AppRoleIDsOnResource(ctx context.Context, principalID, resourceAppID string) ([]string, error)
}

// DefaultScopeSuffix ends the only scope client_credentials accepts,
// "<resource>/.default" (Entra's convention): all application permissions
// granted to the client on that resource.
const DefaultScopeSuffix = "/.default"

// ClientCredentials is the client credentials grant (RFC 6749 §4.4) for
// confidential applications. Its access token's roles are the application
// permissions (app role assignments) the client's service principal holds on
// the requested resource, and its lifetime is the access-token lifetime of
// the client's effective session policy (the global policy overlaid by the
// application's), as for delegated tokens; the CAE-capable lifetime never
// applies to app-only tokens. Build it as a struct literal; Directory and
// Tokens are required.
type ClientCredentials struct {
	// Directory looks up app role assignments.
	Directory AppRoleStore
	// Tokens issues the access tokens.
	Tokens *AccessTokens
	// Policies reads the client's effective session policy (cached by
	// *session.Service). Production wiring must set it; nil leaves the
	// lifetime to Tokens (DefaultAccessTokenLifetime unless set there),
	// which tests that do not care about policies rely on.
	Policies PolicyReader
}

// Token implements Grant (RFC 6749 §4.4.2, §4.4.3).
func (g *ClientCredentials) Token(ctx context.Context, req *TokenRequest) (*TokenResponse, error) {
	scopes, err := parseScope(req.Form.Get("scope"))
	if err != nil {
		return nil, err
	}
	res, err := defaultScopeResource(scopes)
	if err != nil {
		return nil, err
	}
	appID, spID := req.Client.Application.AppID, req.Client.ServicePrincipalID
	if spID == "" {
		return nil, errorf(CodeUnauthorizedClient, "application %s has no service principal in this tenant", appID)
	}
	roles, err := g.roles(ctx, spID, res)
	if err != nil {
		return nil, errorf(CodeServerError, "permission lookup failed").WithCause(err)
	}
	var lifetime time.Duration
	if g.Policies != nil {
		policy, err := g.Policies.EffectivePolicy(ctx, appID)
		if err != nil {
			return nil, errorf(CodeServerError, "policy lookup failed").WithCause(err)
		}
		lifetime = policy.AccessTokenLifetime
	}
	tok, life, err := g.Tokens.Issue(ctx, AccessToken{
		Subject:  spID,
		Audience: res.Audience,
		ClientID: appID,
		AppOnly:  true,
		Roles:    roles,
		Lifetime: lifetime,
	})
	if err != nil {
		return nil, errorf(CodeServerError, "cannot issue the token").WithCause(err)
	}
	secs := int64(life.Seconds())
	return &TokenResponse{AccessToken: tok, TokenType: "Bearer", ExpiresIn: secs, ExtExpiresIn: secs}, nil
}

// roles returns the sorted names of the permissions of res that the
// service principal principalID holds, read in one query on every request
// (a removed grant stops counting at once). A resource without a service
// principal grants nothing; assignments of unknown app role ids are skipped.
func (g *ClientCredentials) roles(ctx context.Context, principalID string, res authz.Resource) ([]string, error) {
	ids, err := g.Directory.AppRoleIDsOnResource(ctx, principalID, res.AppID)
	if err != nil {
		return nil, err
	}
	var roles []string
	for _, id := range ids {
		if p, ok := res.PermissionByAppRoleID(id); ok {
			roles = append(roles, p.Name)
		}
	}
	slices.Sort(roles)
	return slices.Compact(roles), nil
}

// parseScope splits a scope parameter into scope tokens (RFC 6749 §3.3:
// space-delimited, each 1*( %x21 / %x23-5B / %x5D-7E )). Runs of spaces are
// tolerated; any other character is invalid_scope.
func parseScope(s string) ([]string, error) {
	var out []string
	for _, tok := range strings.Split(s, " ") {
		if tok == "" {
			continue
		}
		for i := 0; i < len(tok); i++ {
			if c := tok[i]; c < 0x21 || c > 0x7e || c == '"' || c == '\\' {
				return nil, errorf(CodeInvalidScope, "scope contains an invalid character")
			}
		}
		out = append(out, tok)
	}
	return out, nil
}

// defaultScopeResource checks that scopes is exactly one
// "<resource>/.default", the resource named by its application ID URI or
// appId, and returns that resource.
func defaultScopeResource(scopes []string) (authz.Resource, error) {
	switch {
	case len(scopes) == 0:
		return authz.Resource{}, errorf(CodeInvalidScope, "scope is required: use <resource>/.default, e.g. %s%s", authz.GraphResource, DefaultScopeSuffix)
	case len(scopes) > 1:
		return authz.Resource{}, errorf(CodeInvalidScope, "client_credentials takes exactly one scope, <resource>/.default")
	}
	id, ok := strings.CutSuffix(scopes[0], DefaultScopeSuffix)
	if !ok {
		return authz.Resource{}, errorf(CodeInvalidScope, "scope '%s' is not <resource>/.default", truncate(scopes[0], 64))
	}
	res, ok := authz.ResourceByIdentifier(id)
	if !ok {
		return authz.Resource{}, errorf(CodeInvalidScope, "unknown resource '%s'", truncate(id, 64))
	}
	return res, nil
}
