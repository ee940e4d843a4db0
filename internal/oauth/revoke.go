package oauth

import (
	"context"
	"errors"
	"net/http"

	"github.com/vigil-idp/vigil/internal/session"
)

// PathRevoke is the revocation endpoint below the issuer (RFC 7009 §2).
const PathRevoke = "/revoke"

// CodeUnsupportedTokenType is RFC 7009 §2.2.1's unsupported_token_type.
const CodeUnsupportedTokenType = "unsupported_token_type"

// RefreshRevoker revokes refresh tokens by value; *session.Service
// implements it.
type RefreshRevoker interface {
	// RevokeRefreshTokenValue revokes the token and its family; unknown
	// values are not an error; another client's token gives an error
	// matching session.ErrWrongClient.
	RevokeRefreshTokenValue(ctx context.Context, value, clientID string) error
}

// Revocation is the token revocation endpoint (RFC 7009), mounted at
// <issuer>/revoke. Build it as a struct literal; every field is required,
// and Provider must be the one serving the token endpoint.
//
// The client authenticates as at the token endpoint; a public client by its
// client_id alone (RFC 7009 §2.1 lets public clients revoke their tokens). token_type_hint is only a hint: every token is
// recognised by its shape (RFC 7009 §2.1).
//
//   - A refresh token is revoked with its whole family: RFC 7009 §2.1 says
//     revoking a refresh token SHOULD also invalidate the tokens issued
//     from the same grant, and every token of a family descends from one
//     grant. A token of another client is refused (unauthorized_client) and
//     stays valid.
//   - A valid Vigil access token gets 400 unsupported_token_type (RFC 7009
//     §2.2.1): access tokens are short-lived JWTs that resource servers
//     verify offline, so Vigil does not keep a per-token deny list; revoke
//     the refresh token, or end the session, instead.
//   - Anything unknown, malformed or already invalid gets 200 (RFC 7009
//     §2.2), as does a successful revocation.
type Revocation struct {
	// Provider authenticates clients and supplies the issuer, clock,
	// logger and body limit.
	Provider *Provider
	// Verifier recognises Vigil access tokens.
	Verifier *Verifier
	// Sessions revokes refresh tokens.
	Sessions RefreshRevoker
}

// Mount registers POST <issuer>/revoke on mux. Provider.Mount calls it when
// Provider.Revocation is set; call it yourself only otherwise.
func (v *Revocation) Mount(mux *http.ServeMux) {
	if v.Provider == nil || v.Verifier == nil || v.Sessions == nil {
		panic("oauth: Revocation needs Provider, Verifier and Sessions")
	}
	mountPost(mux, v.Provider, PathRevoke, v.serve)
}

func (v *Revocation) serve(w http.ResponseWriter, r *http.Request) (any, error) {
	form, client, err := tokenForm(w, r, v.Provider, true)
	if err != nil {
		return nil, err
	}
	tok := form.Get("token")
	if looksLikeJWT(tok) {
		if _, err := v.Verifier.Verify(r.Context(), tok); err != nil {
			var be *BearerError
			if errors.As(err, &be) {
				return nil, nil // not a valid Vigil access token: nothing to revoke
			}
			return nil, errorf(CodeServerError, "cannot check the token").WithCause(err)
		}
		return nil, errorf(CodeUnsupportedTokenType, "access tokens cannot be revoked; they expire on their own. Revoke the refresh token instead")
	}
	err = v.Sessions.RevokeRefreshTokenValue(r.Context(), tok, client.Application.AppID)
	switch {
	case errors.Is(err, session.ErrWrongClient):
		return nil, errorf(CodeUnauthorizedClient, "the token was not issued to this client").WithCause(err)
	case err != nil:
		return nil, errorf(CodeServerError, "cannot revoke the token").WithCause(err)
	}
	return nil, nil
}
