package vigilapi

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/vigil-idp/vigil/internal/authz"
	"github.com/vigil-idp/vigil/internal/clocktest"
	"github.com/vigil-idp/vigil/internal/directory"
	"github.com/vigil-idp/vigil/internal/revocation"
	"github.com/vigil-idp/vigil/internal/store"
	"github.com/vigil-idp/vigil/internal/store/sqlstore"
	"github.com/vigil-idp/vigil/internal/store/sqlstore/sqltest"
)

// Role template ids of the application administrators.
const (
	roleAppAdmin      = "9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3"
	roleCloudAppAdmin = "158c047a-c907-4556-b7ef-446551a6b5f7"
)

// The composition root's directory serves the application routes.
var _ AppSettings = (*directory.Service)(nil)

// newAppServer is newServer with the application settings routes, served
// by the directory on the same store.
func newAppServer(t testing.TB, st *sqlstore.Store) *server {
	c := clocktest.At(t0)
	return newServer(t, st, func(a *API) {
		// Each reading a microsecond later: audit records sort as written.
		a.AppSettings = &directory.Service{Store: st, Now: func() time.Time { return c.Advance(time.Microsecond) }}
	})
}

// publicJWK is a new EC P-256 public key as a JWK with kid, and its
// private half.
func publicJWK(t testing.TB, kid string) (string, *ecdsa.PrivateKey) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(jose.JSONWebKey{Key: &k.PublicKey, KeyID: kid})
	if err != nil {
		t.Fatal(err)
	}
	return string(b), k
}

func (s *server) oidcPath() string { return "/applications/" + s.app.AppID + "/oidc" }

// TestOIDCSettingsRoundTrip: the defaults, a PATCH of every member read
// back by object id and appId (any case), a PATCH changing one member
// leaving the others, nulls resetting them, an unknown application, and
// the audit record of each change.
func TestOIDCSettingsRoundTrip(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, st *sqlstore.Store) {
		s := newAppServer(t, st)
		tok := s.appTokenOf(t, authz.PermApplicationsReadWriteAll)

		resp, body := s.do(t, http.MethodGet, s.oidcPath(), tok, "")
		want(t, resp, body, http.StatusOK)
		const defaults = `{"post_logout_redirect_uris":[],"backchannel_logout_uri":null,"id_token_signed_response_alg":"RS256","jwks":null,"jwks_uri":null}`
		if strings.TrimSpace(string(body)) != defaults {
			t.Fatalf("defaults = %s", body)
		}

		jwk, _ := publicJWK(t, "k1")
		patch := `{"post_logout_redirect_uris":["https://rp.example/bye","http://127.0.0.1:8400/bye"],
			"backchannel_logout_uri":"https://rp.example/backchannel","id_token_signed_response_alg":"ES256",
			"jwks":{"keys":[` + jwk + `]}}`
		resp, body = s.do(t, http.MethodPatch, s.oidcPath(), tok, patch)
		want(t, resp, body, http.StatusOK)
		var got oidcSettings
		decode(t, body, &got)
		if !slices.Equal(got.PostLogoutRedirectURIs, []string{"https://rp.example/bye", "http://127.0.0.1:8400/bye"}) ||
			*got.BackchannelLogoutURI != "https://rp.example/backchannel" || got.IDTokenSignedResponseAlg != "ES256" ||
			got.JWKSURI != nil || string(got.JWKS) != `{"keys":[`+jwk+`]}` {
			t.Fatalf("after PATCH = %s", body)
		}
		for _, key := range []string{s.app.ID, s.app.AppID, strings.ToUpper(s.app.AppID)} {
			resp, again := s.do(t, http.MethodGet, "/applications/"+key+"/oidc", tok, "")
			want(t, resp, again, http.StatusOK)
			if string(again) != string(body) {
				t.Errorf("GET by %s = %s, want %s", key, again, body)
			}
		}
		stored, err := st.GetApplication(context.Background(), s.app.ID)
		if err != nil || stored.IDTokenSignedResponseAlg != "ES256" || len(stored.JWKS) == 0 || stored.DisplayName != "app" {
			t.Fatalf("stored = %+v, %v", stored, err)
		}

		// One member changes; the others stay.
		resp, body = s.do(t, http.MethodPatch, s.oidcPath(), tok, `{"id_token_signed_response_alg":"EdDSA"}`)
		want(t, resp, body, http.StatusOK)
		decode(t, body, &got)
		if got.IDTokenSignedResponseAlg != "EdDSA" || len(got.PostLogoutRedirectURIs) != 2 || got.JWKS == nil {
			t.Fatalf("after the second PATCH = %s", body)
		}
		// Nulls reset; jwks_uri replaces the key set in the same request.
		resp, body = s.do(t, http.MethodPatch, s.oidcPath(), tok, `{"post_logout_redirect_uris":null,"backchannel_logout_uri":null,
			"id_token_signed_response_alg":null,"jwks":null,"jwks_uri":"https://rp.example/jwks.json"}`)
		want(t, resp, body, http.StatusOK)
		if want := strings.Replace(defaults, `"jwks_uri":null`, `"jwks_uri":"https://rp.example/jwks.json"`, 1); strings.TrimSpace(string(body)) != want {
			t.Fatalf("after nulls = %s, want %s", body, want)
		}

		resp, body = s.do(t, http.MethodGet, "/applications/00000000-0000-4000-8000-00000000abcd/oidc", tok, "")
		want(t, resp, body, http.StatusNotFound)
		if code := errorCode(t, resp, body); code != codeNotFound {
			t.Errorf("unknown application: code %q", code)
		}
		resp, body = s.do(t, http.MethodPatch, "/applications/not-an-id/oidc", tok, `{"jwks_uri":null}`)
		want(t, resp, body, http.StatusNotFound)

		// Each change is one "Update application", by the caller, naming
		// what changed.
		page, err := st.ListAudit(context.Background(), store.Query{Top: 100})
		if err != nil {
			t.Fatal(err)
		}
		var changed []string
		for _, rec := range slices.Backward(page.Items) {
			if rec.ActivityDisplayName != directory.ActivityUpdateApplication {
				continue
			}
			var targets []struct {
				ID                 string                        `json:"id"`
				ModifiedProperties []revocation.ModifiedProperty `json:"modifiedProperties"`
			}
			decode(t, rec.TargetResources, &targets)
			if len(targets) != 1 || targets[0].ID != s.app.ID || rec.InitiatorAppID != s.app.AppID {
				t.Fatalf("audit record %+v", rec)
			}
			mods := targets[0].ModifiedProperties
			changed = append(changed, mods[len(mods)-1].NewValue)
		}
		wantChanged := []string{
			`"PostLogoutRedirectUris, BackchannelLogoutUri, IdTokenSignedResponseAlg, Jwks"`,
			`"IdTokenSignedResponseAlg"`,
			`"PostLogoutRedirectUris, BackchannelLogoutUri, IdTokenSignedResponseAlg, Jwks, JwksUri"`,
		}
		if !slices.Equal(changed, wantChanged) {
			t.Errorf("audited changes\n%q\nwant\n%q", changed, wantChanged)
		}
	})
}

// TestOIDCSettingsBadRequests: every problem of a body in one 400, in the
// API's envelope; nothing is stored.
func TestOIDCSettingsBadRequests(t *testing.T) {
	s := newAppServer(t, sqltest.SQLite(t))
	tok := s.appTokenOf(t, authz.PermApplicationsReadWriteAll)
	jwk, priv := publicJWK(t, "k1")
	privJWK, _ := json.Marshal(jose.JSONWebKey{Key: priv, KeyID: "leaked"})
	for _, tc := range []struct {
		name, body string
		want       []string // parts of the message
	}{
		{"unknown member", `{"client_name":"x","jwks_uri":null}`, []string{`"client_name" is not a member of the settings`}},
		{"wrong types", `{"post_logout_redirect_uris":"https://rp.example","backchannel_logout_uri":1,"jwks":[],"id_token_signed_response_alg":true}`,
			[]string{"backchannel_logout_uri: must be a string or null", "id_token_signed_response_alg: must be a string or null",
				"jwks: must be a JWK Set object", "post_logout_redirect_uris: must be an array of strings or null"}},
		{"post-logout URIs", `{"post_logout_redirect_uris":["http://rp.example/bye","https://rp.example/#top","bye"]}`,
			[]string{`post_logout_redirect_uris[0] "http://rp.example/bye": must use https, or http on localhost or a loopback address`,
				`post_logout_redirect_uris[1] "https://rp.example/#top": must not contain a fragment`,
				`post_logout_redirect_uris[2] "bye": must be an absolute URI`}},
		{"back-channel URI", `{"backchannel_logout_uri":"http://rp.example/bc"}`, []string{`backchannel_logout_uri "http://rp.example/bc": must use https`}},
		{"algorithm", `{"id_token_signed_response_alg":"none"}`, []string{`id_token_signed_response_alg "none": must be one of RS256, ES256, EdDSA`}},
		{"private key", `{"jwks":{"keys":[` + string(privJWK) + `]}}`, []string{`jwks.keys[0] (kid "leaked"): holds private or secret key material ("d")`}},
		{"no kid", `{"jwks":{"keys":[` + strings.Replace(jwk, `"kid":"k1",`, "", 1) + `]}}`, []string{`jwks.keys[0]: has no "kid"`}},
		{"both key sources", `{"jwks":{"keys":[` + jwk + `]},"jwks_uri":"https://rp.example/jwks"}`, []string{"jwks and jwks_uri are mutually exclusive"}},
		{"jwks_uri over http", `{"jwks_uri":"http://rp.example/jwks"}`, []string{`jwks_uri "http://rp.example/jwks": must use https`}},
		{"every problem at once", `{"extra":1,"id_token_signed_response_alg":"HS256","backchannel_logout_uri":"ftp://x","jwks":{"keys":[]}}`,
			[]string{`"extra" is not a member`, `id_token_signed_response_alg "HS256"`, `backchannel_logout_uri "ftp://x"`, "jwks: the set holds no key"}},
		{"null body", `null`, []string{"must be a JSON object"}},
		{"not an object", `[1]`, []string{"not a valid JSON object"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := s.do(t, http.MethodPatch, s.oidcPath(), tok, tc.body)
			want(t, resp, body, http.StatusBadRequest)
			if code := errorCode(t, resp, body); code != codeBadRequest {
				t.Errorf("code %q", code)
			}
			msg := errorMessage(t, body)
			for _, w := range tc.want {
				if !strings.Contains(msg, w) {
					t.Errorf("message %q lacks %q", msg, w)
				}
			}
			if n := strings.Count(msg, "; ") + 1; len(tc.want) > 1 && n != len(tc.want) {
				t.Errorf("message lists %d problems, want %d: %s", n, len(tc.want), msg)
			}
		})
	}
	app, err := s.st.GetApplication(context.Background(), s.app.ID)
	if err != nil || len(app.PostLogoutRedirectURIs) != 0 || app.JWKS != nil || app.IDTokenSignedResponseAlg != "" || app.BackchannelLogoutURI != "" {
		t.Fatalf("a refused PATCH changed the application: %+v, %v", app, err)
	}
}

// TestOIDCSettingsAuthorization: app-only callers need the application
// permission (Read.All reads only); delegated callers need the scope and
// the role of a Global, Application or Cloud Application Administrator.
func TestOIDCSettingsAuthorization(t *testing.T) {
	s := newAppServer(t, sqltest.SQLite(t))
	rw, ro := authz.PermApplicationsReadWriteAll, authz.PermApplicationsReadAll
	for _, tc := range []struct {
		name       string
		token      string
		get, patch int
	}{
		{"app with ReadWrite", s.appToken(t, authz.VigilResource, rw), 200, 200},
		{"app with Read", s.appToken(t, authz.VigilResource, ro), 200, 403},
		{"app with another Vigil permission", s.appToken(t, authz.VigilResource, authz.PermPoliciesReadWriteAll), 403, 403},
		{"app with the permission as a scope", s.appToken(t, authz.VigilResource), 403, 403},
		{"Graph token", s.appToken(t, authz.GraphResource, rw), 401, 401},
		{"Global Administrator with ReadWrite", s.userToken(t, []string{rw}, roleGlobalAdmin), 200, 200},
		{"Application Administrator with ReadWrite", s.userToken(t, []string{rw}, roleAppAdmin), 200, 200},
		{"Cloud Application Administrator with ReadWrite", s.userToken(t, []string{rw}, roleCloudAppAdmin), 200, 200},
		{"Cloud Application Administrator with Read", s.userToken(t, []string{ro}, roleCloudAppAdmin), 200, 403},
		{"user with ReadWrite, no role", s.userToken(t, []string{rw}), 403, 403},
		{"User Administrator with ReadWrite", s.userToken(t, []string{rw}, roleUserAdmin), 403, 403},
		{"Global Reader with Read", s.userToken(t, []string{ro}, roleGlobalReader), 403, 403},
		{"Global Administrator without the scope", s.userToken(t, []string{authz.PermPoliciesReadWriteAll}, roleGlobalAdmin), 403, 403},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := s.do(t, http.MethodGet, s.oidcPath(), tc.token, "")
			if resp.StatusCode != tc.get {
				t.Errorf("GET: %d, want %d: %s", resp.StatusCode, tc.get, body)
			}
			resp, body = s.do(t, http.MethodPatch, s.oidcPath(), tc.token, `{"backchannel_logout_uri":"https://rp.example/bc"}`)
			if resp.StatusCode != tc.patch {
				t.Errorf("PATCH: %d, want %d: %s", resp.StatusCode, tc.patch, body)
			}
			if resp.StatusCode == 403 && errorCode(t, resp, body) != codeAccessDenied {
				t.Errorf("403 with code %s", body)
			}
		})
	}
	resp, body := s.do(t, http.MethodPut, s.oidcPath(), s.appToken(t, authz.VigilResource, rw), `{}`)
	want(t, resp, body, http.StatusMethodNotAllowed)
	if allow := resp.Header.Get("Allow"); allow != "GET, PATCH" {
		t.Errorf("Allow = %q", allow)
	}
}
