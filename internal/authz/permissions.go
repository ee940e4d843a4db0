package authz

import "strings"

// Permission is one permission a resource API exposes: an application
// permission (an app role, granted by an appRoleAssignment and carried in the
// roles claim), a delegated permission (an oauth2PermissionScope, consented
// and carried in the scp claim), or both under one name, as Graph does
// (https://learn.microsoft.com/en-us/graph/permissions-overview).
type Permission struct {
	// Name is the permission value as it appears in roles, scp and scope
	// parameters, e.g. "User.Read.All".
	Name string
	// AppRoleID is the id of the application permission (appRole), or ""
	// when the permission cannot be granted to an application.
	AppRoleID string
	// ScopeID is the id of the delegated permission
	// (oauth2PermissionScope), or "" when it cannot be delegated.
	ScopeID string
	// AdminConsentRequired says whether the delegated permission needs an
	// administrator's consent. Application permissions always do.
	AdminConsentRequired bool
	// Description is the admin consent display text.
	Description string
}

// Resource is a resource API (an audience of access tokens) and the catalogue
// of permissions it exposes. Graph and Vigil are built in. The zero value has
// no permissions. Resource values are safe to copy and to use concurrently.
type Resource struct {
	// AppID is the appId of the resource's service principal; it is also
	// accepted as the resource part of a scope ("<appId>/.default").
	AppID string
	// Audience is the aud claim of the resource's access tokens and its
	// application ID URI ("<audience>/.default").
	Audience string
	// DisplayName is the service principal's display name.
	DisplayName string

	perms   []Permission
	byName  map[string]int // lower-cased name → index
	byRole  map[string]int // lower-cased app role id → index
	byScope map[string]int // lower-cased scope id → index
}

// newResource indexes perms. It panics on a duplicate name or id: the
// catalogues are compile-time tables, and a duplicate is a programming error.
func newResource(appID, audience, displayName string, perms []Permission) Resource {
	r := Resource{
		AppID:       appID,
		Audience:    audience,
		DisplayName: displayName,
		perms:       perms,
		byName:      make(map[string]int, len(perms)),
		byRole:      make(map[string]int, len(perms)),
		byScope:     make(map[string]int, len(perms)),
	}
	add := func(m map[string]int, key string, i int) {
		if key == "" {
			return
		}
		key = strings.ToLower(key)
		if _, dup := m[key]; dup {
			panic("authz: duplicate permission key " + key + " in " + displayName)
		}
		m[key] = i
	}
	for i, p := range perms {
		add(r.byName, p.Name, i)
		add(r.byRole, p.AppRoleID, i)
		add(r.byScope, p.ScopeID, i)
	}
	return r
}

// Permissions returns a copy of the resource's permission catalogue, in a
// fixed order.
func (r Resource) Permissions() []Permission {
	out := make([]Permission, len(r.perms))
	copy(out, r.perms)
	return out
}

// PermissionByName looks a permission up by name, case-insensitively (Graph
// compares permission values without regard to case).
func (r Resource) PermissionByName(name string) (Permission, bool) {
	return r.lookup(r.byName, name)
}

// PermissionByAppRoleID looks a permission up by its application permission
// (appRole) id, the appRoleId of an appRoleAssignment.
func (r Resource) PermissionByAppRoleID(id string) (Permission, bool) {
	return r.lookup(r.byRole, id)
}

// PermissionByScopeID looks a permission up by its delegated permission
// (oauth2PermissionScope) id.
func (r Resource) PermissionByScopeID(id string) (Permission, bool) {
	return r.lookup(r.byScope, id)
}

func (r Resource) lookup(m map[string]int, key string) (Permission, bool) {
	if key == "" {
		return Permission{}, false
	}
	i, ok := m[strings.ToLower(key)]
	if !ok {
		return Permission{}, false
	}
	return r.perms[i], true
}

// Resources returns every built-in resource API: Graph, then Vigil.
func Resources() []Resource {
	return []Resource{graph, vigil}
}

// ResourceByIdentifier finds a built-in resource by the resource part of a
// scope or by an audience: its appId or its application ID URI, compared
// case-insensitively, with one trailing slash ignored (Entra accepts
// "https://graph.microsoft.com/" as well).
func ResourceByIdentifier(id string) (Resource, bool) {
	id = strings.TrimSuffix(id, "/")
	if id == "" {
		return Resource{}, false
	}
	for _, r := range Resources() {
		if strings.EqualFold(id, r.AppID) || strings.EqualFold(id, r.Audience) {
			return r, true
		}
	}
	return Resource{}, false
}
