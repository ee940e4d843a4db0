package oauth

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/vigil-idp/vigil/internal/authz"
)

// discoveryMaxAge is the Cache-Control max-age of the discovery documents.
const discoveryMaxAge = time.Hour

// Metadata is the provider metadata (OpenID Connect Discovery 1.0 §3,
// RFC 8414 §2). It lists only what works: today the token endpoint with
// client_credentials. Fields appear in this order on the wire.
type Metadata struct {
	Issuer                            string   `json:"issuer"`
	TokenEndpoint                     string   `json:"token_endpoint"`
	JWKSURI                           string   `json:"jwks_uri"`
	GrantTypesSupported               []string `json:"grant_types_supported"`
	TokenEndpointAuthMethodsSupported []string `json:"token_endpoint_auth_methods_supported"`
	// ResponseTypesSupported is required by both specifications; it is
	// empty while there is no authorization endpoint.
	ResponseTypesSupported           []string `json:"response_types_supported"`
	SubjectTypesSupported            []string `json:"subject_types_supported"`
	IDTokenSigningAlgValuesSupported []string `json:"id_token_signing_alg_values_supported"`
	ScopesSupported                  []string `json:"scopes_supported"`
	ClaimsSupported                  []string `json:"claims_supported"`
	// RequestURIParameterSupported defaults to true in OpenID Connect
	// Discovery, so it is stated.
	RequestURIParameterSupported bool `json:"request_uri_parameter_supported"`
}

// Metadata returns the server's provider metadata.
func (s *Provider) Metadata() Metadata {
	var scopes []string
	for _, r := range authz.Resources() {
		scopes = append(scopes, r.Audience+"/.default")
	}
	return Metadata{
		Issuer:                            s.Issuer,
		TokenEndpoint:                     s.endpoint(PathToken),
		JWKSURI:                           s.endpoint(PathJWKS),
		GrantTypesSupported:               slices.Sorted(maps.Keys(s.Grants)),
		TokenEndpointAuthMethodsSupported: []string{AuthClientSecretBasic, AuthClientSecretPost},
		ResponseTypesSupported:            []string{},
		SubjectTypesSupported:             []string{"public"},
		IDTokenSigningAlgValuesSupported:  []string{string(jose.RS256)},
		ScopesSupported:                   scopes,
		ClaimsSupported: []string{"iss", "sub", "aud", "exp", "nbf", "iat", "jti", "client_id",
			"appid", "azp", "oid", "tid", "roles", "idtyp", "ver"},
	}
}

// discovery serves OpenID Connect Discovery 1.0 §4 and RFC 8414 §3.
func (s *Provider) discovery(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, "application/json", discoveryMaxAge, s.Metadata())
}

// jwks serves the JWK Set (RFC 7517 §5) named by jwks_uri.
func (s *Provider) jwks(w http.ResponseWriter, r *http.Request) {
	set, err := s.Keys.JWKS(r.Context())
	if err != nil {
		s.logger().Error("oauth: JWK Set unavailable", "err", err)
		w.Header().Set("Cache-Control", "no-store")
		http.Error(w, "JWK Set unavailable", http.StatusServiceUnavailable)
		return
	}
	maxAge := s.JWKSMaxAge
	if maxAge <= 0 {
		maxAge = time.Hour
	}
	writeJSON(w, "application/jwk-set+json", maxAge, set)
}

// writeJSON writes a cacheable public JSON document.
func writeJSON(w http.ResponseWriter, contentType string, maxAge time.Duration, v any) {
	body, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", contentType)
	h.Set("Cache-Control", fmt.Sprintf("public, max-age=%d", int(maxAge.Seconds())))
	_, _ = w.Write(append(body, '\n'))
}
