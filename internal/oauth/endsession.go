package oauth

import (
	"context"
	"errors"
	"fmt"
	"net/url"

	"github.com/vigil-idp/vigil/internal/store"
)

// PathEndSession is the end_session_endpoint below the issuer (OpenID
// Connect RP-Initiated Logout 1.0 §2); internal/login serves it.
const PathEndSession = "/logout"

// EndSessionRequest is a validated RP-initiated logout request (OpenID
// Connect RP-Initiated Logout 1.0 §2).
type EndSessionRequest struct {
	// Client is the relying party, named by the id_token_hint's aud or
	// client_id; nil when neither was given.
	Client *store.Application
	// Hint is the verified id_token_hint; nil when absent or invalid
	// (then the user must confirm, §2: the OP "SHOULD ask the End-User").
	Hint *IDTokenHint
	// PostLogoutRedirectURI is a URI registered for Client, or "" (then
	// the OP shows its own signed-out page).
	PostLogoutRedirectURI string
	// State is echoed to PostLogoutRedirectURI.
	State string
}

// RedirectURL is where to send the user agent after logout (§3): the
// post-logout redirect URI with state, or "" for none.
func (r *EndSessionRequest) RedirectURL() string {
	if r.PostLogoutRedirectURI == "" {
		return ""
	}
	v := url.Values{}
	if r.State != "" {
		v.Set("state", r.State)
	}
	if len(v) == 0 {
		return r.PostLogoutRedirectURI
	}
	return appendQuery(r.PostLogoutRedirectURI, v)
}

// EndSessions validates RP-initiated logout requests. Build it as a struct
// literal; both fields are required.
type EndSessions struct {
	// Clients looks the relying party up.
	Clients AppReader
	// IDTokens verifies id_token_hint.
	IDTokens *IDTokens
}

// Parse validates the parameters (query of a GET or form of a POST). The
// hint never decides whose session ends (the session cookie does); an
// invalid hint is dropped, not fatal. Errors, which must be shown on a page
// and never redirected, are *Error (invalid_request): a client_id that
// contradicts the hint, an unknown client, or a post_logout_redirect_uri
// that is not registered exactly for the client (§2: "MUST have been
// previously registered").
func (e *EndSessions) Parse(ctx context.Context, params url.Values) (*EndSessionRequest, error) {
	for k, v := range params {
		if len(v) > 1 {
			return nil, errorf(CodeInvalidRequest, "parameter '%s' is repeated", truncate(k, 32))
		}
	}
	req := &EndSessionRequest{}
	if st := params.Get("state"); len(st) <= maxParamLen {
		req.State = st
	}
	clientID := params.Get("client_id")
	if raw := params.Get("id_token_hint"); raw != "" {
		h, err := e.IDTokens.VerifyHint(ctx, raw)
		switch {
		case errors.Is(err, ErrIDTokenHint):
			// Dropped: the user will be asked to confirm.
		case err != nil:
			return nil, fmt.Errorf("oauth: end session: %w", err)
		default:
			req.Hint = &h
			if clientID != "" && clientID != h.ClientID {
				return nil, errorf(CodeInvalidRequest, "client_id does not match the id_token_hint")
			}
			clientID = h.ClientID
		}
	}
	if clientID != "" {
		app, err := e.Clients.GetApplicationByAppID(ctx, clientID)
		switch {
		case errors.Is(err, store.ErrNotFound):
			return nil, errorf(CodeInvalidRequest, "unknown client_id '%s'", truncate(clientID, 64))
		case err != nil:
			return nil, fmt.Errorf("oauth: end session: client lookup: %w", err)
		}
		req.Client = &app
	}
	if uri := params.Get("post_logout_redirect_uri"); uri != "" {
		if req.Client == nil {
			return nil, errorf(CodeInvalidRequest, "post_logout_redirect_uri needs id_token_hint or client_id to identify the application")
		}
		if !MatchPostLogoutRedirectURI(req.Client.PostLogoutRedirectURIs, uri) {
			return nil, errorf(CodeInvalidRequest, "post_logout_redirect_uri is not registered for this application")
		}
		req.PostLogoutRedirectURI = uri
	}
	return req, nil
}
