package oauth

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"time"

	"github.com/vigil-idp/vigil/internal/authz"
)

// discoveryMaxAge is the Cache-Control max-age of the discovery documents.
const discoveryMaxAge = time.Hour

// Metadata is the provider metadata (OpenID Connect Discovery 1.0 §3,
// RFC 8414 §2). It lists only what works: the optional endpoints appear
// when the Provider mounts them. Fields appear in this order on the wire.
type Metadata struct {
	Issuer                            string   `json:"issuer"`
	AuthorizationEndpoint             string   `json:"authorization_endpoint,omitempty"`
	TokenEndpoint                     string   `json:"token_endpoint"`
	UserInfoEndpoint                  string   `json:"userinfo_endpoint,omitempty"`
	JWKSURI                           string   `json:"jwks_uri"`
	DeviceAuthorizationEndpoint       string   `json:"device_authorization_endpoint,omitempty"`
	IntrospectionEndpoint             string   `json:"introspection_endpoint,omitempty"`
	RevocationEndpoint                string   `json:"revocation_endpoint,omitempty"`
	EndSessionEndpoint                string   `json:"end_session_endpoint,omitempty"`
	GrantTypesSupported               []string `json:"grant_types_supported"`
	TokenEndpointAuthMethodsSupported []string `json:"token_endpoint_auth_methods_supported"`
	// TokenEndpointAuthSigningAlgValuesSupported lists the client
	// assertion algorithms (RFC 8414 §2) when private_key_jwt is on.
	TokenEndpointAuthSigningAlgValuesSupported []string `json:"token_endpoint_auth_signing_alg_values_supported,omitempty"`
	IntrospectionEndpointAuthMethodsSupported  []string `json:"introspection_endpoint_auth_methods_supported,omitempty"`
	// IntrospectionEndpointAuthSigningAlgValuesSupported lists the same
	// algorithms, which RFC 8414 §2 requires when private_key_jwt is among
	// the introspection endpoint's methods.
	IntrospectionEndpointAuthSigningAlgValuesSupported []string `json:"introspection_endpoint_auth_signing_alg_values_supported,omitempty"`
	RevocationEndpointAuthMethodsSupported             []string `json:"revocation_endpoint_auth_methods_supported,omitempty"`
	// RevocationEndpointAuthSigningAlgValuesSupported: likewise for the
	// revocation endpoint (RFC 8414 §2).
	RevocationEndpointAuthSigningAlgValuesSupported []string `json:"revocation_endpoint_auth_signing_alg_values_supported,omitempty"`
	// ResponseTypesSupported is required by both specifications; it is
	// empty while there is no authorization endpoint.
	ResponseTypesSupported            []string `json:"response_types_supported"`
	ResponseModesSupported            []string `json:"response_modes_supported,omitempty"`
	CodeChallengeMethodsSupported     []string `json:"code_challenge_methods_supported,omitempty"`
	PromptValuesSupported             []string `json:"prompt_values_supported,omitempty"`
	SubjectTypesSupported             []string `json:"subject_types_supported"`
	IDTokenSigningAlgValuesSupported  []string `json:"id_token_signing_alg_values_supported"`
	ScopesSupported                   []string `json:"scopes_supported"`
	ClaimsSupported                   []string `json:"claims_supported"`
	ClaimsParameterSupported          bool     `json:"claims_parameter_supported"`
	AuthorizationResponseISSSupported bool     `json:"authorization_response_iss_parameter_supported,omitempty"`
	BackchannelLogoutSupported        bool     `json:"backchannel_logout_supported"`
	BackchannelLogoutSessionSupported bool     `json:"backchannel_logout_session_supported"`
	FrontchannelLogoutSupported       bool     `json:"frontchannel_logout_supported"`
	RequestParameterSupported         bool     `json:"request_parameter_supported"`
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
	authMethods := []string{AuthClientSecretBasic, AuthClientSecretPost}
	var assertionAlgs []string
	if s.Assertions != nil {
		authMethods = append(authMethods, AuthPrivateKeyJWT)
		for _, a := range AssertionAlgorithms {
			assertionAlgs = append(assertionAlgs, string(a))
		}
	}
	clientAuth := authMethods
	if slices.ContainsFunc(slices.Collect(maps.Values(s.Grants)), func(g Grant) bool {
		pg, ok := g.(PublicGrant)
		return ok && pg.AllowsPublicClients()
	}) {
		authMethods = append(slices.Clone(authMethods), AuthNone)
	}
	m := Metadata{
		Issuer:                            s.Issuer,
		TokenEndpoint:                     s.endpoint(PathToken),
		JWKSURI:                           s.endpoint(PathJWKS),
		GrantTypesSupported:               slices.Sorted(maps.Keys(s.Grants)),
		TokenEndpointAuthMethodsSupported: authMethods,
		TokenEndpointAuthSigningAlgValuesSupported: assertionAlgs,
		ResponseTypesSupported:                     []string{},
		SubjectTypesSupported:                      []string{"public"},
		IDTokenSigningAlgValuesSupported:           []string{string(DefaultIDTokenAlgorithm)},
		ScopesSupported:                            scopes,
		ClaimsSupported: []string{"iss", "sub", "aud", "exp", "nbf", "iat", "jti", "client_id",
			"appid", "azp", "oid", "tid", "roles", "idtyp", "ver"},
	}
	if s.Authorization != nil {
		m.AuthorizationEndpoint = s.endpoint(PathAuthorize)
		m.ResponseTypesSupported = []string{"code"}
		m.ResponseModesSupported = []string{ResponseModeQuery, ResponseModeFragment, ResponseModeFormPost}
		m.CodeChallengeMethodsSupported = []string{PKCES256} // plain is refused (RFC 9700 §2.1.1)
		m.PromptValuesSupported = []string{"none", "login", "consent", "select_account"}
		m.AuthorizationResponseISSSupported = true
		m.ClaimsParameterSupported = true
		m.ScopesSupported = append([]string{ScopeOpenID, ScopeProfile, ScopeEmail, ScopeOfflineAccess}, scopes...)
		m.ClaimsSupported = append(m.ClaimsSupported, "auth_time", "nonce", "sid", "amr", "at_hash", "name",
			"given_name", "family_name", "preferred_username", "email", "scp", "wids", "xms_cc")
	}
	if s.UserInfo != nil {
		m.UserInfoEndpoint = s.endpoint(PathUserInfo)
	}
	if s.Device != nil {
		m.DeviceAuthorizationEndpoint = s.endpoint(PathDeviceAuthorization)
	}
	if s.Introspection != nil {
		m.IntrospectionEndpoint = s.endpoint(PathIntrospect)
		m.IntrospectionEndpointAuthMethodsSupported = clientAuth
		m.IntrospectionEndpointAuthSigningAlgValuesSupported = assertionAlgs
	}
	if s.Revocation != nil {
		m.RevocationEndpoint = s.endpoint(PathRevoke)
		m.RevocationEndpointAuthMethodsSupported = clientAuth
		m.RevocationEndpointAuthSigningAlgValuesSupported = assertionAlgs
	}
	if s.EndSession != nil {
		m.EndSessionEndpoint = s.endpoint(PathEndSession)
	}
	if s.IDTokens != nil {
		m.IDTokenSigningAlgValuesSupported = nil
		for _, a := range s.IDTokens.SupportedAlgorithms() {
			m.IDTokenSigningAlgValuesSupported = append(m.IDTokenSigningAlgValuesSupported, string(a))
		}
	}
	m.BackchannelLogoutSupported = s.BackchannelLogout
	m.BackchannelLogoutSessionSupported = s.BackchannelLogout
	return m
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
