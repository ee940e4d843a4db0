package graph

import (
	"context"
	"net/http"

	"github.com/vigil-idp/vigil/internal/directory"
	"github.com/vigil-idp/vigil/internal/store"
)

// MembershipDirectory is what the membership endpoints need from the
// directory.
type MembershipDirectory interface {
	AddMember(ctx context.Context, groupID, memberID string) error
	RemoveMember(ctx context.Context, groupID, memberID string) error
	ListMembers(ctx context.Context, groupID string, transitive bool, q store.Query) (store.Page[store.DirectoryObject], error)
	CountMembers(ctx context.Context, groupID string, transitive bool) (int, error)
	ListMemberOf(ctx context.Context, objectID string, transitive bool, q store.Query) (store.Page[directory.MemberOfObject], error)
}

// Graph type names, as @odata.type values and type-cast segments.
const (
	typeUser             = "microsoft.graph.user"
	typeGroup            = "microsoft.graph.group"
	typeServicePrincipal = "microsoft.graph.servicePrincipal"
	typeDirectoryRole    = "microsoft.graph.directoryRole"
)

// typed renders an item of a directoryObject list: the @odata.type
// annotation, then the item's properties (reference §3.4).
func typed(typeName string, o object) object {
	return o.with(property{"@odata.type", "#" + typeName})
}

// directoryObject renders a member: a user, group or service principal
// with its @odata.type and the selection (or its type's defaults).
func directoryObject(o store.DirectoryObject, sel []string) object {
	switch {
	case o.User != nil:
		return typed(typeUser, project(userObject(*o.User), userDefaults, sel))
	case o.Group != nil:
		return typed(typeGroup, project(groupObject(*o.Group), groupDefaults, sel))
	case o.ServicePrincipal != nil:
		return typed(typeServicePrincipal, project(servicePrincipalObject(*o.ServicePrincipal), servicePrincipalDefaults, sel))
	}
	return object{{"@odata.type", "#microsoft.graph.directoryObject"}, {"id", o.ID()}}
}

// memberOfObject renders an entry of memberOf: a group or a directory role.
func memberOfObject(o directory.MemberOfObject, sel []string) object {
	if o.Role != nil {
		return typed(typeDirectoryRole, project(directoryRoleObject(*o.Role), directoryRoleDefaults, sel))
	}
	if o.Group != nil {
		return typed(typeGroup, project(groupObject(*o.Group), groupDefaults, sel))
	}
	return object{{"@odata.type", "#microsoft.graph.directoryObject"}}
}

// members is the /groups/{id}/members or /transitiveMembers collection.
func (a *API) members(groupID string, transitive bool) entitySet[store.DirectoryObject] {
	list := func(ctx context.Context, q store.Query) (store.Page[store.DirectoryObject], error) {
		return a.Directory.ListMembers(ctx, groupID, transitive, q)
	}
	es := entitySet[store.DirectoryObject]{
		name:   "directoryObjects",
		schema: memberSchema,
		list:   list,
		render: func(_ context.Context, o store.DirectoryObject, sel []string) (object, error) {
			return directoryObject(o, sel), nil
		},
	}
	es.count = func(ctx context.Context, q store.Query) (int, error) {
		if q.Filter != nil || len(q.Search) > 0 {
			return (entitySet[store.DirectoryObject]{list: list}).countAll(ctx, q)
		}
		return a.Directory.CountMembers(ctx, groupID, transitive)
	}
	return es
}

// castMembers is the members collection behind an OData type cast,
// /members/microsoft.graph.user or /microsoft.graph.group: only items of
// that type, rendered without @odata.type (the context names the type).
func (a *API) castMembers(groupID string, transitive bool, kind store.ObjectKind) entitySet[store.DirectoryObject] {
	es := a.members(groupID, transitive)
	es.count = nil
	es.keep = func(o store.DirectoryObject) bool { return o.Kind == kind }
	switch kind {
	case store.KindUser:
		es.name, es.schema = "users", usersSchema
		es.render = func(_ context.Context, o store.DirectoryObject, sel []string) (object, error) {
			return project(userObject(*o.User), userDefaults, sel), nil
		}
	default:
		es.name, es.schema = "groups", groupsSchema
		es.render = func(_ context.Context, o store.DirectoryObject, sel []string) (object, error) {
			return project(groupObject(*o.Group), groupDefaults, sel), nil
		}
	}
	return es
}

// memberRoute is one of the member list routes of a group.
type memberRoute struct {
	transitive bool
	cast       store.ObjectKind // "" when there is no type cast
	count      bool             // the /$count segment
}

// memberList serves GET /groups/{id}/members, /transitiveMembers, their
// type casts and their /$count segments
// (https://learn.microsoft.com/en-us/graph/api/group-list-members,
// group-list-transitivemembers; reference §3.4). A type cast, like Graph,
// needs an advanced query (ConsistencyLevel: eventual and $count=true);
// /$count needs ConsistencyLevel: eventual.
func (a *API) memberList(m memberRoute) handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		groupID := r.PathValue("id")
		es := a.members(groupID, m.transitive)
		if m.cast != "" {
			es = a.castMembers(groupID, m.transitive, m.cast)
		}
		// Answer 404 for a missing group before looking at the query.
		if _, err := a.Directory.GetGroup(r.Context(), groupID); err != nil {
			return err
		}
		if m.count {
			return countEntities(w, r, es)
		}
		if m.cast != "" {
			if err := requireAdvanced(r); err != nil {
				return err
			}
		}
		return listEntities(a, w, r, es)
	}
}

// requireAdvanced refuses a request that is not an advanced query.
func requireAdvanced(r *http.Request) error {
	o, err := parseOptions(r, knownOptions...)
	if err != nil {
		return err
	}
	count, err := o.countRequested()
	if err != nil {
		return err
	}
	if !o.eventual || !count {
		return unsupportedQuery("Unsupported Query. An OData type cast needs an advanced query: send the header 'ConsistencyLevel: eventual' and $count=true.")
	}
	return nil
}

// memberOf serves GET /users/{id}/memberOf, /transitiveMemberOf and
// /groups/{id}/memberOf: the groups and directory roles the object belongs
// to (https://learn.microsoft.com/en-us/graph/api/user-list-memberof).
func (a *API) memberOf(transitive bool) handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		id := r.PathValue("id")
		return listEntities(a, w, r, entitySet[directory.MemberOfObject]{
			name:   "directoryObjects",
			schema: memberOfSchema,
			list: func(ctx context.Context, q store.Query) (store.Page[directory.MemberOfObject], error) {
				return a.Directory.ListMemberOf(ctx, id, transitive, q)
			},
			render: func(_ context.Context, o directory.MemberOfObject, sel []string) (object, error) {
				return memberOfObject(o, sel), nil
			},
		})
	}
}

// addMember is POST /groups/{id}/members/$ref with
// {"@odata.id": "https://graph.microsoft.com/v1.0/directoryObjects/{id}"};
// 204 on success (https://learn.microsoft.com/en-us/graph/api/group-post-members).
// Here and in removeMember, checkMembershipWrite (guards.go) decides what
// the group needs: more for a role-assignable one.
func (a *API) addMember(w http.ResponseWriter, r *http.Request) error {
	var ref directory.Optional[string]
	if err := noOptions(r); err != nil {
		return err
	}
	body := bodyType{name: "microsoft.graph.directoryObject", fields: map[string]field{"@odata.id": optString(&ref)}}
	if err := a.readJSON(r, body); err != nil {
		return err
	}
	if err := required(ref, "@odata.id"); err != nil {
		return err
	}
	memberID, ok := parseReference(ref.Value)
	if !ok {
		return badRequest("Invalid object identifier '%s'.", ref.Value)
	}
	if err := a.checkMembershipWrite(r.Context(), r.PathValue("id")); err != nil {
		return err
	}
	if err := a.Directory.AddMember(r.Context(), r.PathValue("id"), memberID); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// removeMember is DELETE /groups/{id}/members/{memberId}/$ref; 204 on
// success (https://learn.microsoft.com/en-us/graph/api/group-delete-members).
func (a *API) removeMember(w http.ResponseWriter, r *http.Request) error {
	if err := noOptions(r); err != nil {
		return err
	}
	if err := a.checkMembershipWrite(r.Context(), r.PathValue("id")); err != nil {
		return err
	}
	if err := a.Directory.RemoveMember(r.Context(), r.PathValue("id"), r.PathValue("memberId")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
