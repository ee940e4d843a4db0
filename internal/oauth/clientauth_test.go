package oauth

import (
	"maps"
	"net/http"
	"net/url"
	"slices"
	"testing"

	"github.com/google/uuid"

	"github.com/vigil-idp/vigil/internal/authz"
	"github.com/vigil-idp/vigil/internal/store/sqlstore/sqltest"
)

// TestInvalidClientChallenge checks that every invalid_client answer of
// the token, introspection, revocation and device authorization endpoints
// is a 401 with a Basic challenge (RFC 6749 §5.2, RFC 9110 §15.5.2),
// whether the client used Basic, the body, another scheme or nothing.
func TestInvalidClientChallenge(t *testing.T) {
	d := newSessionIDP(t, sqltest.SQLite(t))
	d.server.Device = &DeviceFlow{Issuer: d.issuer, Codes: d.store, Secrets: d.hasher, Sessions: d.sessions,
		Tokens: d.server.Grants[GrantRefreshToken].(*RefreshGrant).Tokens, Now: d.clock.Now}
	d.server.Grants[GrantDeviceCode] = d.server.Device
	mux := d.http.Config.Handler.(*http.ServeMux)
	mux.HandleFunc("POST "+PathDeviceAuthorization, d.server.serveDeviceAuthorization)

	conf := d.newApp(t, "confidential-secret-0123456789abcdefghijk")
	pub := d.publicApp(t)
	confID := conf.application.AppID
	params := map[string]url.Values{
		PathToken:               {"grant_type": {GrantClientCredentials}, "scope": {authz.GraphResource + DefaultScopeSuffix}},
		PathIntrospect:          {"token": {"x"}},
		PathRevoke:              {"token": {"x"}},
		PathDeviceAuthorization: {"scope": {"openid"}},
	}
	cases := []struct {
		name string
		auth string
		vals url.Values
		// only lists the endpoints the case applies to; nil means all
		// (revocation and device authorization accept public clients).
		only []string
	}{
		{name: "no credentials"},
		{name: "basic, wrong secret", auth: basic(confID, "wrong")},
		{name: "basic, unknown client, empty password", auth: basic(uuid.NewString(), "")},
		{name: "basic, confidential client, empty password", auth: basic(confID, "")},
		{name: "basic, public client, empty password", auth: basic(pub.AppID, ""), only: []string{PathToken, PathIntrospect}},
		{name: "basic, malformed", auth: "Basic !!!"},
		{name: "bearer scheme", auth: "Bearer abc"},
		{name: "body, wrong secret", vals: url.Values{"client_id": {confID}, "client_secret": {"wrong"}}},
		{name: "body, unknown client", vals: url.Values{"client_id": {uuid.NewString()}}},
		{name: "body, confidential client without secret", vals: url.Values{"client_id": {confID}}},
		{name: "body, empty client_secret", vals: url.Values{"client_id": {confID}, "client_secret": {""}}},
		{name: "client assertion of the wrong type", vals: url.Values{"client_assertion_type": {"urn:x"}, "client_assertion": {"a.b.c"}}},
	}
	for _, path := range []string{PathToken, PathIntrospect, PathRevoke, PathDeviceAuthorization} {
		t.Run(path, func(t *testing.T) {
			var fc []formCase
			for _, tc := range cases {
				if tc.only != nil && !slices.Contains(tc.only, path) {
					continue
				}
				vals := url.Values{}
				maps.Copy(vals, params[path])
				maps.Copy(vals, tc.vals)
				fc = append(fc, formCase{tc.name, tc.auth, vals, http.StatusUnauthorized, CodeInvalidClient})
			}
			checkFormErrors(t, d, path, fc)
		})
	}
}
