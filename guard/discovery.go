package guard

import (
	"context"
	"fmt"
	"net/http"
	"strings"
)

// providerMetadata is the part of the issuer's OpenID Provider metadata
// (OpenID Connect Discovery 1.0 §3) the guard uses.
type providerMetadata struct {
	Issuer                string `json:"issuer"`
	AuthorizationEndpoint string `json:"authorization_endpoint"`
	TokenEndpoint         string `json:"token_endpoint"`
	JWKSURI               string `json:"jwks_uri"`
}

// discoverProvider fetches <issuer>/.well-known/openid-configuration and
// checks that it names issuer (Discovery §4.3).
func discoverProvider(ctx context.Context, c *http.Client, issuer string) (providerMetadata, error) {
	var m providerMetadata
	u := strings.TrimSuffix(issuer, "/") + "/.well-known/openid-configuration"
	if err := doJSON(ctx, c, http.MethodGet, u, "", nil, &m); err != nil {
		return m, fmt.Errorf("guard: discovery: %w", err)
	}
	if m.Issuer != issuer {
		return m, fmt.Errorf("guard: discovery: %s names issuer %q, want %q", u, m.Issuer, issuer)
	}
	if m.JWKSURI == "" {
		return m, fmt.Errorf("guard: discovery: %s has no jwks_uri", u)
	}
	return m, nil
}
