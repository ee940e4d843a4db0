package oauth

import (
	"slices"
	"strings"

	"github.com/vigil-idp/vigil/internal/authz"
)

// OpenID Connect scopes (OpenID Connect Core 1.0 §3.1.2.1, §5.4, §11). Graph
// lists them among its own delegated permissions, so they are consented as
// Graph permissions.
const (
	ScopeOpenID        = "openid"
	ScopeProfile       = "profile"
	ScopeEmail         = "email"
	ScopeOfflineAccess = "offline_access"
)

// oidcScopes are the scopes that name no resource, in the order they are
// written back.
var oidcScopes = []string{ScopeOpenID, ScopeProfile, ScopeEmail, ScopeOfflineAccess}

// Scopes is a parsed delegated scope request or grant (RFC 6749 §3.3) in
// Entra's form: permissions of exactly one resource API, named
// "<resource>/<permission>" or bare (then of the request's resource, Graph
// unless the resource parameter says otherwise), or "<resource>/.default"
// (every permission already consented), plus the OpenID Connect scopes.
// The zero value asks for nothing.
type Scopes struct {
	// Resource is the one resource the access token is for.
	Resource authz.Resource
	// Permissions are delegated permission names of Resource, spelled as
	// the catalogue spells them, sorted, without duplicates and without
	// the OpenID Connect scopes.
	Permissions []string
	// Default is set when "<resource>/.default" was asked for: the
	// permissions are the ones consented (Entra's static consent).
	Default bool
	// OpenID, Profile, Email and OfflineAccess are the OpenID Connect
	// scopes.
	OpenID, Profile, Email, OfflineAccess bool
}

// ParseScopes parses a scope parameter (RFC 6749 §3.3) of a delegated
// request: the authorization endpoint, and the device code, password and
// refresh_token grants. resource is the RFC 8707 resource parameter ("" when
// absent); when present it must name a built-in resource, and every
// resource-qualified scope must belong to it. Failures are invalid_scope
// (or invalid_target for a bad resource, RFC 8707 §2).
func ParseScopes(scope, resource string) (Scopes, error) {
	toks, err := parseScope(scope)
	if err != nil {
		return Scopes{}, err
	}
	var s Scopes
	fixed := false // the resource is decided
	if resource != "" {
		res, ok := authz.ResourceByIdentifier(resource)
		if !ok {
			return Scopes{}, errorf(CodeInvalidTarget, "unknown resource '%s'", truncate(resource, 64))
		}
		s.Resource, fixed = res, true
	}
	var bare []string
	for _, tok := range toks {
		if s.setOIDC(tok) {
			continue
		}
		i := strings.LastIndexByte(tok, '/')
		if i < 0 {
			bare = append(bare, tok)
			continue
		}
		res, ok := authz.ResourceByIdentifier(tok[:i])
		if !ok {
			return Scopes{}, errorf(CodeInvalidScope, "scope '%s' names an unknown resource", truncate(tok, 96))
		}
		if fixed && res.AppID != s.Resource.AppID {
			return Scopes{}, errorf(CodeInvalidScope, "scopes of more than one resource were requested (%s and %s); ask for one resource per request",
				s.Resource.Audience, res.Audience)
		}
		s.Resource, fixed = res, true
		name := tok[i+1:]
		if name == ".default" {
			s.Default = true
			continue
		}
		if s.setOIDC(name) {
			continue
		}
		if err := s.addPermission(name); err != nil {
			return Scopes{}, err
		}
	}
	if !fixed {
		s.Resource = authz.Graph()
	}
	for _, name := range bare {
		if err := s.addPermission(name); err != nil {
			return Scopes{}, err
		}
	}
	if s.Default && len(s.Permissions) > 0 {
		return Scopes{}, errorf(CodeInvalidScope, "%s%s cannot be combined with other permissions of the same resource",
			s.Resource.Audience, DefaultScopeSuffix)
	}
	slices.Sort(s.Permissions)
	s.Permissions = slices.Compact(s.Permissions)
	return s, nil
}

// setOIDC records an OpenID Connect scope; it reports false for others.
// The names are compared exactly (OpenID Connect Core §3.1.2.1).
func (s *Scopes) setOIDC(tok string) bool {
	switch tok {
	case ScopeOpenID:
		s.OpenID = true
	case ScopeProfile:
		s.Profile = true
	case ScopeEmail:
		s.Email = true
	case ScopeOfflineAccess:
		s.OfflineAccess = true
	default:
		return false
	}
	return true
}

// addPermission adds a delegated permission of s.Resource by name.
func (s *Scopes) addPermission(name string) error {
	p, ok := s.Resource.PermissionByName(name)
	if !ok || p.ScopeID == "" {
		return errorf(CodeInvalidScope, "%s has no delegated permission '%s'", s.Resource.DisplayName, truncate(name, 64))
	}
	s.Permissions = append(s.Permissions, p.Name)
	return nil
}

// Empty reports whether nothing at all is asked for.
func (s Scopes) Empty() bool {
	return len(s.Permissions) == 0 && !s.Default && !s.OpenID && !s.Profile && !s.Email && !s.OfflineAccess
}

// OIDC returns the OpenID Connect scopes set, in a fixed order.
func (s Scopes) OIDC() []string {
	set := []bool{s.OpenID, s.Profile, s.Email, s.OfflineAccess}
	var out []string
	for i, on := range set {
		if on {
			out = append(out, oidcScopes[i])
		}
	}
	return out
}

// SCP returns the scp claim of the access token (space-separated by
// AccessTokens.Issue): the permissions, and for Graph also openid, profile
// and email, which Graph lists among its permissions (userinfo needs
// openid). offline_access is never in scp, as in Entra.
func (s Scopes) SCP() []string {
	out := slices.Clone(s.Permissions)
	if s.Resource.AppID == authz.GraphAppID {
		for _, o := range []struct {
			on   bool
			name string
		}{{s.OpenID, ScopeOpenID}, {s.Profile, ScopeProfile}, {s.Email, ScopeEmail}} {
			if o.on {
				out = append(out, o.name)
			}
		}
	}
	return out
}

// List returns the scopes in their canonical, resource-qualified form
// (e.g. "https://graph.microsoft.com/User.Read openid offline_access"
// split): the scope of the token response (RFC 6749 §5.1) and the form
// stored with codes and refresh tokens. ParseScopes(strings.Join(l, " "),
// "") gives s back, except that Default is resolved to permissions.
func (s Scopes) List() []string {
	out := make([]string, 0, len(s.Permissions)+4)
	for _, p := range s.Permissions {
		out = append(out, s.Resource.Audience+"/"+p)
	}
	return append(out, s.OIDC()...)
}

// String is List joined by spaces.
func (s Scopes) String() string { return strings.Join(s.List(), " ") }

// Covers reports whether every scope of o is also in s, for the same
// resource: a refresh request may narrow the scopes, never widen them
// (RFC 6749 §6).
func (s Scopes) Covers(o Scopes) bool {
	if len(o.Permissions) > 0 && o.Resource.AppID != s.Resource.AppID {
		return false
	}
	for _, p := range o.Permissions {
		if !slices.Contains(s.Permissions, p) {
			return false
		}
	}
	return (!o.OpenID || s.OpenID) && (!o.Profile || s.Profile) && (!o.Email || s.Email) &&
		(!o.OfflineAccess || s.OfflineAccess)
}
