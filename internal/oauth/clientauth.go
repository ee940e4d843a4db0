package oauth

import (
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/vigil-idp/vigil/internal/store"
)

// Client authentication methods (RFC 7591 §2, token_endpoint_auth_method).
const (
	AuthClientSecretBasic = "client_secret_basic"
	AuthClientSecretPost  = "client_secret_post"
	// AuthPrivateKeyJWT is a JWT signed with the client's registered key
	// (RFC 7523 §2.2, OpenID Connect Core §9).
	AuthPrivateKeyJWT = "private_key_jwt"
	// AuthNone is a public client that only names itself (RFC 7591 §2).
	AuthNone = "none"
)

// ClientStore is what client authentication reads; store.Store implements
// it.
type ClientStore interface {
	GetClientByAppID(ctx context.Context, appID string) (store.Client, error)
}

// Client is an authenticated client.
type Client struct {
	// Application is the client's app registration.
	Application store.Application
	// AuthMethod is how it authenticated: AuthClientSecretBasic,
	// AuthClientSecretPost, AuthPrivateKeyJWT, or AuthNone for a public
	// client.
	AuthMethod string
	// ServicePrincipalID is the id of the application's service principal
	// in the tenant, "" when it has none.
	ServicePrincipalID string
}

// dummySecretHash is compared against when the client does not exist or has
// no secret, so that every failed authentication costs the same hashing.
var dummySecretHash = make([]byte, 32)

// IsPublicClient reports whether app may act as a public client (RFC 6749
// §2.1), naming itself without authenticating for the grants that allow
// it: public client flows enabled (isFallbackPublicClient), or mobile and
// desktop or SPA redirect URIs registered (and then, unless public client
// flows are enabled, no secret or key registered).
func IsPublicClient(app store.Application) bool {
	return app.IsFallbackPublicClient || len(app.PublicClientRedirectURIs) > 0 || len(app.SPARedirectURIs) > 0
}

// authenticate authenticates a confidential client (see
// authenticateClient); public clients are refused.
func (s *Provider) authenticate(r *http.Request, form url.Values) (Client, error) {
	return s.authenticateClient(r, form, false)
}

// authenticateClient authenticates the client of a token request (RFC 6749
// §2.3.1): HTTP Basic with form-urlencoded id and secret, client_id and
// client_secret in the body, never both, or a client assertion (RFC 7523
// §2.2). A public client may send only its client_id when allowPublic is
// set (RFC 6749 §3.2.1, RFC 7009 §2.1).
func (s *Provider) authenticateClient(r *http.Request, form url.Values, allowPublic bool) (Client, error) {
	if form.Has("client_assertion") || form.Has("client_assertion_type") {
		return s.authenticateAssertion(r, form)
	}
	id, secret, method, err := clientCredentials(r, form)
	if err != nil {
		return Client{}, err
	}
	if method == AuthNone {
		return s.authenticatePublic(r.Context(), id, allowPublic)
	}
	c, ok, err := s.verifySecret(r.Context(), id, secret)
	if err != nil {
		return Client{}, errorf(CodeServerError, "client lookup failed").WithCause(err)
	}
	if !ok {
		return Client{}, errorf(CodeInvalidClient, "client authentication failed").
			WithCause(errors.New("unknown client_id " + truncate(id, 64) + ", or no active secret matches"))
	}
	return Client{Application: c.Application, AuthMethod: method, ServicePrincipalID: c.ServicePrincipalID}, nil
}

// withChallenge adds a Basic challenge (RFC 7617 §2: realm, charset) to an
// invalid_client error answered with 401, however the client tried to
// authenticate: RFC 6749 §5.2 requires it after a failed Basic attempt, and
// RFC 9110 §15.5.2 requires a WWW-Authenticate in every 401. Other errors
// are returned unchanged.
func (s *Provider) withChallenge(err error) error {
	var oe *Error
	if !errors.As(err, &oe) || oe.Code != CodeInvalidClient || oe.HTTPStatus() != http.StatusUnauthorized {
		return err
	}
	c := *oe
	c.challenge = "Basic realm=" + quote(s.Issuer) + `, charset="UTF-8"`
	return &c
}

// clientCredentials finds the client's id and secret and the method used.
func clientCredentials(r *http.Request, form url.Values) (id, secret, method string, err error) {
	auths := r.Header.Values("Authorization")
	if len(auths) > 1 {
		return "", "", "", errorf(CodeInvalidRequest, "more than one Authorization header")
	}
	if len(auths) == 1 && isBasic(auths[0]) {
		id, secret, err := parseBasic(auths[0])
		if err != nil {
			return "", "", AuthClientSecretBasic, err
		}
		if form.Has("client_secret") {
			return "", "", AuthClientSecretBasic, errorf(CodeInvalidRequest, "use one client authentication method, not both Basic and client_secret")
		}
		if form.Has("client_id") && form.Get("client_id") != id {
			return "", "", AuthClientSecretBasic, errorf(CodeInvalidRequest, "client_id does not match the Authorization header")
		}
		if secret == "" {
			// A public client that authenticates "with an empty
			// password", as many OAuth libraries do for them.
			return id, "", AuthNone, nil
		}
		return id, secret, AuthClientSecretBasic, nil
	}
	id, secret = form.Get("client_id"), form.Get("client_secret")
	switch {
	case id == "":
		return "", "", "", errorf(CodeInvalidClient, "client authentication is required")
	case secret == "" && form.Has("client_secret"):
		return "", "", "", errorf(CodeInvalidClient, "empty client_secret")
	case secret == "":
		return id, "", AuthNone, nil
	}
	return id, secret, AuthClientSecretPost, nil
}

// authenticatePublic accepts a client that sent only its client_id when it
// is a public client and the grant allows public clients.
func (s *Provider) authenticatePublic(ctx context.Context, id string, allowPublic bool) (Client, error) {
	c, err := s.Clients.GetClientByAppID(ctx, id)
	app := c.Application
	switch {
	case errors.Is(err, store.ErrNotFound):
		return Client{}, errorf(CodeInvalidClient, "client authentication failed").WithCause(errors.New("unknown client_id " + truncate(id, 64)))
	case err != nil:
		return Client{}, errorf(CodeServerError, "client lookup failed").WithCause(err)
	case !IsPublicClient(app):
		return Client{}, errorf(CodeInvalidClient, "client %s is confidential: it must authenticate (client_secret or client_assertion)", truncate(id, 64))
	case !allowPublic:
		return Client{}, errorf(CodeInvalidClient, "this grant requires client authentication; public clients cannot use it")
	}
	if !app.IsFallbackPublicClient {
		// An application that registered credentials must use them,
		// unless public client flows are enabled (as in Entra).
		if len(c.Secrets) > 0 || len(app.JWKS) > 0 || app.JWKSURI != "" {
			return Client{}, errorf(CodeInvalidClient, "client %s registered credentials: it must authenticate with them", truncate(id, 64))
		}
	}
	return Client{Application: app, AuthMethod: AuthNone, ServicePrincipalID: c.ServicePrincipalID}, nil
}

func isBasic(h string) bool {
	scheme, _, _ := strings.Cut(strings.TrimLeft(h, " "), " ")
	return strings.EqualFold(scheme, "Basic")
}

// parseBasic decodes "Basic base64(urlencode(id) ':' urlencode(secret))"
// (RFC 7617 §2 with RFC 6749 §2.3.1's form-urlencoding of both parts).
func parseBasic(h string) (id, secret string, err error) {
	_, cred, _ := strings.Cut(strings.TrimLeft(h, " "), " ")
	cred = strings.Trim(cred, " ")
	raw, decErr := base64.StdEncoding.DecodeString(cred)
	if decErr != nil {
		return "", "", errorf(CodeInvalidClient, "malformed Basic credentials").WithCause(decErr)
	}
	rawID, rawSecret, ok := strings.Cut(string(raw), ":")
	if !ok {
		return "", "", errorf(CodeInvalidClient, "malformed Basic credentials: no colon")
	}
	if id, err = url.QueryUnescape(rawID); err == nil {
		secret, err = url.QueryUnescape(rawSecret)
	}
	if err != nil { // no cause: the bad escape would quote part of the secret
		return "", "", errorf(CodeInvalidClient, "malformed Basic credentials: bad form-urlencoding")
	}
	if id == "" {
		return "", "", errorf(CodeInvalidClient, "Basic credentials need a client id")
	}
	return id, secret, nil
}

// verifySecret reports whether secret is an active (between its start and
// end) password credential of the application with this appId. It hashes
// the secret against every credential, or once against a dummy when there
// is none, so the work does not reveal whether the client exists.
func (s *Provider) verifySecret(ctx context.Context, appID, secret string) (store.Client, bool, error) {
	c, err := s.Clients.GetClientByAppID(ctx, appID)
	if errors.Is(err, store.ErrNotFound) {
		s.Secrets.Equal(dummySecretHash, secret)
		return store.Client{}, false, nil
	}
	if err != nil {
		return store.Client{}, false, err
	}
	if len(c.Secrets) == 0 {
		s.Secrets.Equal(dummySecretHash, secret)
		return store.Client{}, false, nil
	}
	now := s.now()
	matched := false
	for _, pc := range c.Secrets {
		active := !now.Before(pc.StartDateTime) && now.Before(pc.EndDateTime)
		if s.Secrets.Equal(pc.SecretHash, secret) && active {
			matched = true
		}
	}
	if !matched {
		return store.Client{}, false, nil
	}
	return c, true, nil
}
