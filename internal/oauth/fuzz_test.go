package oauth

import (
	"context"
	"errors"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/vigil-idp/vigil/internal/secret"
	"github.com/vigil-idp/vigil/internal/store"
)

// memApps is an in-memory application table for fuzzing the request
// parsers without a database.
type memApps map[string]store.Application

func (m memApps) GetApplicationByAppID(_ context.Context, id string) (store.Application, error) {
	if a, ok := m[id]; ok {
		return a, nil
	}
	return store.Application{}, store.ErrNotFound
}

func (m memApps) GetClientByAppID(ctx context.Context, id string) (store.Client, error) {
	a, err := m.GetApplicationByAppID(ctx, id)
	return store.Client{Application: a}, err
}

var fuzzApps = memApps{
	"app": testRedirectApp,
	"rp": store.Application{AppID: "rp", WebRedirectURIs: []string{"https://rp.example/cb"},
		PostLogoutRedirectURIs: []string{"https://rp.example/bye"}},
}

// FuzzAuthorizeParse: Parse never panics; an error is redirectable only
// for a known client and a registered redirect URI; an accepted request
// has a resource, and PKCE S256 when the redirect is a public client's.
func FuzzAuthorizeParse(f *testing.F) {
	for _, q := range []string{
		"client_id=app&redirect_uri=http%3A%2F%2F127.0.0.1%3A5%2Fcallback&response_type=code&scope=openid&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256",
		"client_id=rp&redirect_uri=https%3A%2F%2Frp.example%2Fcb&response_type=code&scope=User.Read&prompt=none&max_age=0",
		"client_id=rp&redirect_uri=https%3A%2F%2Frp.example%2Fcb&response_type=token&state=x&response_mode=form_post",
		"client_id=rp&redirect_uri=https%3A%2F%2Fevil.example%2Fcb&response_type=code",
		"client_id=rp&redirect_uri=https%3A%2F%2Frp.example%2Fcb&response_type=code&scope=openid&claims=%7B%7D&claims=x",
		"client_id=rp&client_id=app", "", "%zz",
	} {
		f.Add(q)
	}
	a := &Authorizer{Issuer: "https://vigil.example", Clients: fuzzApps, Secrets: secret.NewHasher(make([]byte, 32))}
	f.Fuzz(func(t *testing.T, query string) {
		params, err := url.ParseQuery(query)
		if err != nil {
			return
		}
		req, err := a.Parse(context.Background(), params)
		if err != nil {
			var ae *AuthorizeError
			if !errors.As(err, &ae) {
				t.Fatalf("not an AuthorizeError: %v", err)
			}
			if ae.Redirectable() {
				app, known := fuzzApps[params.Get("client_id")]
				if _, ok := MatchRedirectURI(app, ae.Request.RedirectURI); !known || !ok || len(params["redirect_uri"]) != 1 {
					t.Fatalf("redirectable error to %q for client %q", ae.Request.RedirectURI, params.Get("client_id"))
				}
			}
			return
		}
		if req.Scopes.Resource.AppID == "" || req.Scopes.Empty() {
			t.Fatal("accepted without scopes")
		}
		if req.RedirectKind.Public() && req.CodeChallengeMethod != PKCES256 {
			t.Fatalf("public client accepted with PKCE method %q", req.CodeChallengeMethod)
		}
	})
}

// FuzzEndSessionParse: no panic; a post-logout redirect URI is only ever
// one registered exactly for the named client.
func FuzzEndSessionParse(f *testing.F) {
	for _, q := range []string{"client_id=rp&post_logout_redirect_uri=https%3A%2F%2Frp.example%2Fbye&state=s",
		"post_logout_redirect_uri=https%3A%2F%2Frp.example%2Fbye", "id_token_hint=a.b.c&client_id=rp", "client_id=nobody"} {
		f.Add(q)
	}
	e := &EndSessions{Clients: fuzzApps, IDTokens: &IDTokens{Issuer: "https://vigil.example", Keys: newStaticKeys(f)}}
	f.Fuzz(func(t *testing.T, query string) {
		params, err := url.ParseQuery(query)
		if err != nil {
			return
		}
		req, err := e.Parse(context.Background(), params)
		if err != nil {
			var oe *Error
			if !errors.As(err, &oe) || oe.Code != CodeInvalidRequest {
				t.Fatalf("unexpected error %v", err)
			}
			return
		}
		if req.PostLogoutRedirectURI != "" && (req.Client == nil || !slices.Contains(req.Client.PostLogoutRedirectURIs, req.PostLogoutRedirectURI)) {
			t.Fatalf("redirect to %q not registered", req.PostLogoutRedirectURI)
		}
	})
}

// FuzzClientAssertion: whatever the bytes, an assertion without a
// registered key's signature authenticates nobody, and the failure is
// invalid_client (never a panic or a server error).
func FuzzClientAssertion(f *testing.F) {
	f.Add("eyJhbGciOiJub25lIn0.eyJpc3MiOiJycCIsInN1YiI6InJwIn0.")
	f.Add("eyJhbGciOiJIUzI1NiJ9.eyJpc3MiOiJycCIsInN1YiI6InJwIn0.c2ln")
	f.Add("a.b.c")
	f.Add("")
	p := &Provider{Issuer: "https://vigil.example", Clients: fuzzApps, Now: func() time.Time { return time.Unix(1_800_000_000, 0) }}
	ca := &ClientAssertions{Keys: &RegisteredKeys{}}
	f.Fuzz(func(t *testing.T, raw string) {
		app, err := ca.verify(context.Background(), p, raw, "")
		var oe *Error
		if err == nil || !errors.As(err, &oe) || oe.Code != CodeInvalidClient {
			t.Fatalf("assertion %q: app %q err %v", raw, app.Application.AppID, err)
		}
	})
}

// FuzzParsePrompt: accepted prompts never combine none with another value.
func FuzzParsePrompt(f *testing.F) {
	for _, s := range []string{"none", "login consent", "none login", "select_account  login", "\tnone"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := parsePrompt(s)
		if err == nil && p.None && (p.Login || p.Consent || p.SelectAccount) {
			t.Fatalf("%q: %+v", s, p)
		}
	})
}
