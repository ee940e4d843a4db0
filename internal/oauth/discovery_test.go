package oauth

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"

	"github.com/go-jose/go-jose/v4"

	"github.com/vigil-idp/vigil/internal/secret"
	"github.com/vigil-idp/vigil/internal/session"
	"github.com/vigil-idp/vigil/internal/store/sqlstore/sqltest"
)

// fullProvider is a Provider with every optional endpoint, as the
// composition root wires it.
func fullProvider(t *testing.T, issuer string) *Provider {
	t.Helper()
	st := sqltest.SQLite(t)
	sessions := &session.Service{Store: st, Secrets: secret.NewHasher(make([]byte, 32))}
	device := &DeviceFlow{Issuer: issuer}
	p := &Provider{
		Issuer: issuer, Clients: st, Secrets: secret.NewHasher(make([]byte, 32)), Keys: newStaticKeys(t),
		Grants: map[string]Grant{
			GrantClientCredentials: &ClientCredentials{}, GrantAuthorizationCode: &AuthorizationCode{},
			GrantRefreshToken: &RefreshGrant{}, GrantDeviceCode: device, GrantPassword: &PasswordGrant{},
		},
		Authorization:     http.NotFoundHandler(),
		EndSession:        http.NotFoundHandler(),
		UserInfo:          &UserInfo{Verifier: &Verifier{}, Users: st, States: sessions},
		Device:            device,
		BackchannelLogout: true,
		Assertions:        &ClientAssertions{Keys: &RegisteredKeys{}},
		IDTokens:          &IDTokens{Algorithms: []jose.SignatureAlgorithm{jose.RS256, jose.ES256, jose.EdDSA}},
	}
	p.Introspection = &Introspection{Provider: p, Verifier: &Verifier{}, States: sessions}
	p.Revocation = &Revocation{Provider: p, Verifier: &Verifier{}, Sessions: sessions}
	return p
}

// TestDiscoveryFullGolden: with every endpoint mounted, discovery names
// each of them and what they support; each named endpoint answers.
func TestDiscoveryFullGolden(t *testing.T) {
	p := fullProvider(t, "https://vigil.example")
	mux := http.NewServeMux()
	p.Mount(mux)
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, PathOpenIDConfiguration, nil))
	golden(t, "discovery_full.golden", rec.Body.Bytes())

	var m Metadata
	if err := json.Unmarshal(rec.Body.Bytes(), &m); err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(m.TokenEndpointAuthMethodsSupported, AuthNone) || slices.Contains(m.IntrospectionEndpointAuthMethodsSupported, AuthNone) ||
		!slices.Equal(m.CodeChallengeMethodsSupported, []string{PKCES256}) || !m.ClaimsParameterSupported {
		t.Fatalf("metadata %+v", m)
	}
	// RFC 8414 §2: an endpoint that lists private_key_jwt publishes the
	// algorithms it accepts, the same for every endpoint.
	for _, ep := range []struct {
		name          string
		methods, algs []string
	}{
		{"token", m.TokenEndpointAuthMethodsSupported, m.TokenEndpointAuthSigningAlgValuesSupported},
		{"introspection", m.IntrospectionEndpointAuthMethodsSupported, m.IntrospectionEndpointAuthSigningAlgValuesSupported},
		{"revocation", m.RevocationEndpointAuthMethodsSupported, m.RevocationEndpointAuthSigningAlgValuesSupported},
	} {
		if !slices.Contains(ep.methods, AuthPrivateKeyJWT) || len(ep.algs) == 0 ||
			!slices.Equal(ep.algs, m.TokenEndpointAuthSigningAlgValuesSupported) {
			t.Errorf("%s endpoint: methods %v, signing algorithms %v", ep.name, ep.methods, ep.algs)
		}
	}
	for _, ep := range []struct{ method, url string }{
		{http.MethodGet, m.AuthorizationEndpoint}, {http.MethodPost, m.TokenEndpoint}, {http.MethodGet, m.UserInfoEndpoint},
		{http.MethodGet, m.JWKSURI}, {http.MethodPost, m.DeviceAuthorizationEndpoint}, {http.MethodPost, m.IntrospectionEndpoint},
		{http.MethodPost, m.RevocationEndpoint}, {http.MethodGet, m.EndSessionEndpoint},
	} {
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, httptest.NewRequest(ep.method, ep.url, nil))
		if _, pattern := mux.Handler(httptest.NewRequest(ep.method, ep.url, nil)); pattern == "" {
			t.Errorf("%s %s is advertised but not mounted", ep.method, ep.url)
		}
	}
}

// TestProviderCheckOptional: optional endpoints are checked at Mount.
func TestProviderCheckOptional(t *testing.T) {
	for name, edit := range map[string]func(p *Provider){
		"device without its grant":    func(p *Provider) { delete(p.Grants, GrantDeviceCode) },
		"userinfo without a verifier": func(p *Provider) { p.UserInfo = &UserInfo{} },
		"introspection of another provider": func(p *Provider) {
			p.Introspection = &Introspection{Provider: &Provider{}, Verifier: &Verifier{}, States: p.Introspection.States}
		},
		"assertions without keys": func(p *Provider) { p.Assertions = &ClientAssertions{} },
	} {
		t.Run(name, func(t *testing.T) {
			p := fullProvider(t, "https://vigil.example")
			edit(p)
			if p.check() == nil {
				t.Fatal("check passed")
			}
		})
	}
}
