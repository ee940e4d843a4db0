package cli

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

// expiryMargin: a token that expires sooner than this is renewed first.
const expiryMargin = time.Minute

// metadata is the part of the server's OpenID discovery document the CLI
// uses.
type metadata struct {
	Issuer                      string `json:"issuer"`
	TokenEndpoint               string `json:"token_endpoint"`
	DeviceAuthorizationEndpoint string `json:"device_authorization_endpoint"`
	RevocationEndpoint          string `json:"revocation_endpoint"`
}

// discover reads <url>/.well-known/openid-configuration.
func (c *Client) discover(ctx context.Context) (*metadata, error) {
	resp, err := c.do(ctx, request{method: http.MethodGet, path: "/.well-known/openid-configuration", anonymous: true})
	if err != nil {
		if statusOf(err) != 0 {
			return nil, failf("%s is not a Vigil server: its discovery document answered %v", c.base, err)
		}
		return nil, err
	}
	var md metadata
	if err := json.Unmarshal(resp.body, &md); err != nil || md.TokenEndpoint == "" {
		return nil, failf("%s is not a Vigil server: no token_endpoint in its discovery document", c.base)
	}
	return &md, nil
}

// credentials picks the caller's credentials: VIGIL_CLIENT_ID and
// VIGIL_CLIENT_SECRET, else the cached login for the server.
func (s *state) credentials(ctx context.Context, c *Client) (credentials, error) {
	id, secret := s.env.Getenv("VIGIL_CLIENT_ID"), s.env.Getenv("VIGIL_CLIENT_SECRET")
	switch {
	case id != "" && secret != "":
		return &appCredentials{client: c, id: id, secret: secret, source: "VIGIL_CLIENT_ID and VIGIL_CLIENT_SECRET"}, nil
	case id != "" || secret != "":
		return nil, usagef("set both VIGIL_CLIENT_ID and VIGIL_CLIENT_SECRET, or neither")
	}
	cache, err := s.cache()
	if err != nil {
		return nil, err
	}
	f, err := cache.load()
	if err != nil {
		return nil, err
	}
	key := c.base.String()
	l := f.Logins[key]
	if l == nil {
		return nil, authf("not signed in to %s: run `vigil login`, or set VIGIL_CLIENT_ID and VIGIL_CLIENT_SECRET", key)
	}
	if l.Kind == loginApp {
		return &appCredentials{client: c, id: l.ClientID, secret: l.ClientSecret, tokenURL: l.TokenEndpoint,
			source: "the login of application " + l.ClientID, tokens: l.Tokens}, nil
	}
	return &userCredentials{client: c, cache: cache, key: key, login: l, stale: map[string]bool{}}, nil
}

func (s *state) cache() (*tokenCache, error) {
	dir, err := s.env.configDir()
	if err != nil {
		return nil, err
	}
	return &tokenCache{dir: dir}, nil
}

// oauthContext makes x/oauth2 use the client's HTTP client.
func (c *Client) oauthContext(ctx context.Context) context.Context {
	return context.WithValue(ctx, oauth2.HTTPClient, c.http)
}

// appCredentials gets app-only tokens with the client credentials grant,
// one per resource, kept in memory until they near expiry.
type appCredentials struct {
	client   *Client
	id       string
	secret   string
	tokenURL string // "" means discover it
	source   string // named in errors

	mu     sync.Mutex
	tokens map[string]*oauth2.Token
}

func (a *appCredentials) token(ctx context.Context, r resource) (string, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if t := a.tokens[r.audience]; usable(t, a.client.now()) {
		return t.AccessToken, nil
	}
	if a.tokenURL == "" {
		md, err := a.client.discover(ctx)
		if err != nil {
			return "", err
		}
		a.tokenURL = md.TokenEndpoint
	}
	cfg := clientcredentials.Config{ClientID: a.id, ClientSecret: a.secret, TokenURL: a.tokenURL,
		Scopes: []string{r.scope()}, AuthStyle: oauth2.AuthStyleInHeader}
	t, err := cfg.Token(a.client.oauthContext(ctx))
	if err != nil {
		return "", a.client.tokenError(err, fmt.Sprintf("the server refused %s", a.source),
			"check the client id and secret, and that the application may call "+r.audience)
	}
	if a.tokens == nil {
		a.tokens = map[string]*oauth2.Token{}
	}
	a.tokens[r.audience] = t
	return t.AccessToken, nil
}

func (a *appCredentials) invalidate(r resource) {
	a.mu.Lock()
	defer a.mu.Unlock()
	delete(a.tokens, r.audience)
}

// userCredentials serves the tokens of a device-code login, refreshing
// them with their refresh token under the cache lock.
type userCredentials struct {
	client *Client
	cache  *tokenCache
	key    string

	mu    sync.Mutex
	login *login
	stale map[string]bool // tokens the server refused
}

func (u *userCredentials) token(ctx context.Context, r resource) (string, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if t := u.login.Tokens[r.audience]; !u.stale[r.audience] && usable(t, u.client.now()) {
		return t.AccessToken, nil
	}
	if t := u.login.Tokens[r.audience]; t == nil || t.RefreshToken == "" {
		return "", authf("your login to %s has no token for the %s API (%s): run `vigil login --resource %s`, or set VIGIL_CLIENT_ID and VIGIL_CLIENT_SECRET",
			u.key, r.name, r.audience, r.name)
	}
	var tok *oauth2.Token
	err := u.cache.update(func(f *cacheFile) error {
		l := f.Logins[u.key]
		if l == nil || l.Kind != loginUser || l.Tokens[r.audience] == nil {
			return authf("you were signed out of %s: run `vigil login`", u.key)
		}
		cur := l.Tokens[r.audience]
		// Another process may have refreshed it while we waited.
		if usable(cur, u.client.now()) && cur.AccessToken != u.login.Tokens[r.audience].AccessToken {
			tok = cur
			u.login = l
			return nil
		}
		cfg := oauth2.Config{ClientID: l.ClientID, Endpoint: oauth2.Endpoint{TokenURL: l.TokenEndpoint, AuthStyle: oauth2.AuthStyleInParams}}
		old := &oauth2.Token{RefreshToken: cur.RefreshToken, Expiry: time.Unix(1, 0)}
		t, err := cfg.TokenSource(u.client.oauthContext(ctx), old).Token()
		if err != nil {
			return u.client.tokenError(err, "your login to "+u.key+" has expired or was revoked", "run `vigil login` again")
		}
		if t.RefreshToken == "" {
			t.RefreshToken = cur.RefreshToken
		}
		l.Tokens[r.audience] = t
		u.login, tok = l, t
		return nil
	})
	if err != nil {
		return "", err
	}
	delete(u.stale, r.audience)
	return tok.AccessToken, nil
}

func (u *userCredentials) invalidate(r resource) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.stale[r.audience] = true
}

// usable reports whether t can be sent for at least expiryMargin more.
func usable(t *oauth2.Token, now time.Time) bool {
	if t == nil || t.AccessToken == "" {
		return false
	}
	return t.Expiry.IsZero() || t.Expiry.After(now.Add(expiryMargin))
}

// tokenError turns a failed token request into a one-line error: an OAuth
// error answer is KindAuth (what was refused, and what to do); anything
// else means the server could not be reached.
func (c *Client) tokenError(err error, what, todo string) error {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		if re.Response != nil && re.Response.StatusCode >= 500 {
			return failf("%s: the token endpoint answered %d (see the server log)", what, re.Response.StatusCode)
		}
		code := re.ErrorCode
		if code == "" && re.Response != nil {
			code = re.Response.Status
		}
		if re.ErrorDescription != "" {
			code += ": " + strings.TrimSuffix(oneLine(re.ErrorDescription), ".")
		}
		return authf("%s (%s): %s", what, code, todo)
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		return c.unreachable(err)
	}
	return failf("%s: %v", what, err)
}

// claims are the access or ID token claims `vigil whoami` shows.
type claims struct {
	Audience          any      `json:"aud"`
	ObjectID          string   `json:"oid"`
	Subject           string   `json:"sub"`
	TenantID          string   `json:"tid"`
	UPN               string   `json:"upn"`
	PreferredUsername string   `json:"preferred_username"`
	Name              string   `json:"name"`
	ClientID          string   `json:"client_id"`
	AppID             string   `json:"appid"`
	Roles             []string `json:"roles"`
	Scope             string   `json:"scp"`
	WIDs              []string `json:"wids"`
	SessionID         string   `json:"sid"`
	IssuedAt          int64    `json:"iat"`
	Expiry            int64    `json:"exp"`
}

// decodeClaims reads a JWT's claims without verifying it: the CLI shows
// what its own cache holds; the server verifies tokens.
func decodeClaims(jwt string) (claims, error) {
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		return claims{}, errors.New("not a JWT")
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return claims{}, fmt.Errorf("JWT payload: %w", err)
	}
	var c claims
	if err := json.Unmarshal(raw, &c); err != nil {
		return claims{}, fmt.Errorf("JWT payload: %w", err)
	}
	return c, nil
}
