package vigilapi

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"

	"github.com/vigil-idp/vigil/internal/authz"
	"github.com/vigil-idp/vigil/internal/directory"
	"github.com/vigil-idp/vigil/internal/store"
)

// An application's OpenID Connect client settings (Vigil API), the
// registration metadata Graph's application resource has no place for:
//
//	GET   /applications/{id|appId}/oidc   the settings
//	PATCH /applications/{id|appId}/oidc   change the members present; null resets one
//
// The resource names its members as OpenID Connect Dynamic Client
// Registration 1.0 §2 does (post_logout_redirect_uris: RP-Initiated Logout
// 1.0 §3.1; backchannel_logout_uri: Back-Channel Logout 1.0 §2.2):
//
//	{"post_logout_redirect_uris": ["…"],
//	 "backchannel_logout_uri": "…" | null,
//	 "id_token_signed_response_alg": "RS256" | "ES256" | "EdDSA",
//	 "jwks": {"keys": […]} | null,
//	 "jwks_uri": "…" | null}
//
// id_token_signed_response_alg shows the algorithm in force (RS256 when
// none is registered). A PATCH body holds any of these members; an unknown
// member is refused, and every problem of a body is reported at once in a
// 400 (directory.OIDCSettingsInput has the rules: https or loopback http
// URIs without fragments, public signing keys usable for private_key_jwt
// with a kid, jwks or jwks_uri but not both). The change is audited
// ("Update application") and counts from the next token request.

// appAdminRoles may read and change applications' settings with the
// delegated scope: Global, Application and Cloud Application
// Administrators (Entra's roles that manage app registrations).
var appAdminRoles = []string{
	"62e90394-69f5-4237-9190-012177145e10", // Global Administrator
	"9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3", // Application Administrator
	"158c047a-c907-4556-b7ef-446551a6b5f7", // Cloud Application Administrator
}

var (
	appsReadPermission  = permission{names: []string{authz.PermApplicationsReadAll, authz.PermApplicationsReadWriteAll}, adminRoles: appAdminRoles}
	appsWritePermission = permission{names: []string{authz.PermApplicationsReadWriteAll}, adminRoles: appAdminRoles}
)

// AppSettings reads applications and changes their OpenID Connect client
// settings; *directory.Service satisfies it. Both take an object id or an
// appId and answer a missing application with a directory.KindNotFound
// error.
type AppSettings interface {
	GetApplication(ctx context.Context, idOrAppID string) (store.Application, error)
	UpdateOIDCSettings(ctx context.Context, idOrAppID string, in directory.OIDCSettingsInput) (store.Application, error)
}

func (a *API) applicationRoutes() []route {
	return []route{
		{method: http.MethodGet, pattern: "/applications/{key}/oidc", perm: appsReadPermission, h: a.getOIDCSettings},
		{method: http.MethodPatch, pattern: "/applications/{key}/oidc", perm: appsWritePermission, h: a.patchOIDCSettings},
	}
}

// oidcSettings is the JSON of the resource.
type oidcSettings struct {
	PostLogoutRedirectURIs   []string        `json:"post_logout_redirect_uris"`
	BackchannelLogoutURI     *string         `json:"backchannel_logout_uri"`
	IDTokenSignedResponseAlg string          `json:"id_token_signed_response_alg"`
	JWKS                     json.RawMessage `json:"jwks"`
	JWKSURI                  *string         `json:"jwks_uri"`
}

func settingsOf(app store.Application) oidcSettings {
	orNull := func(s string) *string {
		if s == "" {
			return nil
		}
		return &s
	}
	out := oidcSettings{
		PostLogoutRedirectURIs:   slices.Clone(app.PostLogoutRedirectURIs),
		BackchannelLogoutURI:     orNull(app.BackchannelLogoutURI),
		IDTokenSignedResponseAlg: app.IDTokenSignedResponseAlg,
		JWKSURI:                  orNull(app.JWKSURI),
	}
	if out.PostLogoutRedirectURIs == nil {
		out.PostLogoutRedirectURIs = []string{}
	}
	if out.IDTokenSignedResponseAlg == "" {
		out.IDTokenSignedResponseAlg = directory.DefaultIDTokenSignedResponseAlg
	}
	if len(app.JWKS) > 0 {
		out.JWKS = json.RawMessage(app.JWKS)
	}
	return out
}

func (a *API) getOIDCSettings(w http.ResponseWriter, r *http.Request, _ *authz.Principal) error {
	app, err := a.AppSettings.GetApplication(r.Context(), applicationKey(r))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, settingsOf(app))
	return nil
}

func (a *API) patchOIDCSettings(w http.ResponseWriter, r *http.Request, p *authz.Principal) error {
	var members map[string]json.RawMessage
	if err := decodeJSON(r, &members); err != nil {
		return err
	}
	if members == nil {
		return badRequest("The request body must be a JSON object, not null.")
	}
	in, problems := oidcSettingsInput(members)
	if err := in.Validate(problems...); err != nil {
		return err
	}
	ini, err := a.initiator(r, p)
	if err != nil {
		return err
	}
	app, err := a.AppSettings.UpdateOIDCSettings(directory.WithInitiator(r.Context(), ini), applicationKey(r), in)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, settingsOf(app))
	return nil
}

// applicationKey is the path's object id or appId, lower-cased: ids
// compare without regard to case.
func applicationKey(r *http.Request) string { return strings.ToLower(r.PathValue("key")) }

// oidcSettingsInput reads a PATCH body's members into the directory's
// input, returning the problems of members it cannot read (unknown ones,
// wrong JSON types), by member name.
func oidcSettingsInput(members map[string]json.RawMessage) (directory.OIDCSettingsInput, []string) {
	var in directory.OIDCSettingsInput
	var problems []string
	str := func(name string, dst *directory.Optional[string], raw json.RawMessage) {
		if *dst = readOptional[string](raw); !dst.Set {
			problems = append(problems, name+": must be a string or null")
		}
	}
	for _, name := range slices.Sorted(maps.Keys(members)) {
		raw := members[name]
		switch name {
		case "post_logout_redirect_uris":
			if in.PostLogoutRedirectURIs = readOptional[[]string](raw); !in.PostLogoutRedirectURIs.Set {
				problems = append(problems, name+": must be an array of strings or null")
			}
		case "backchannel_logout_uri":
			str(name, &in.BackchannelLogoutURI, raw)
		case "id_token_signed_response_alg":
			str(name, &in.IDTokenSignedResponseAlg, raw)
		case "jwks_uri":
			str(name, &in.JWKSURI, raw)
		case "jwks":
			switch trimmed := bytes.TrimSpace(raw); {
			case string(trimmed) == "null":
				in.JWKS = directory.Null[json.RawMessage]()
			case len(trimmed) > 0 && trimmed[0] == '{':
				in.JWKS = directory.Some(json.RawMessage(trimmed))
			default:
				problems = append(problems, `jwks: must be a JWK Set object, {"keys":[…]}, or null`)
			}
		default:
			problems = append(problems, fmt.Sprintf("%q is not a member of the settings (post_logout_redirect_uris, "+
				"backchannel_logout_uri, id_token_signed_response_alg, jwks, jwks_uri)", name))
		}
	}
	return in, problems
}

// readOptional decodes a member that may be null; Set is false when the
// JSON does not fit T.
func readOptional[T any](raw json.RawMessage) directory.Optional[T] {
	if string(bytes.TrimSpace(raw)) == "null" {
		return directory.Null[T]()
	}
	var v T
	if err := json.Unmarshal(raw, &v); err != nil {
		return directory.Optional[T]{}
	}
	return directory.Some(v)
}
