package graph

import (
	"context"

	"github.com/vigil-idp/vigil/internal/directory"
	"github.com/vigil-idp/vigil/internal/store"
)

// GroupDirectory is what the /groups endpoints need from the directory.
type GroupDirectory interface {
	CreateGroup(ctx context.Context, in directory.GroupInput) (store.Group, error)
	GetGroup(ctx context.Context, id string) (store.Group, error)
	UpdateGroup(ctx context.Context, id string, in directory.GroupInput) (store.Group, error)
	DeleteGroup(ctx context.Context, id string) error
	ListGroups(ctx context.Context, q store.Query) (store.Page[store.Group], error)
	CountGroups(ctx context.Context, q store.Query) (int, error)
}

// groupDefaults are the properties of Graph's default group response
// (https://learn.microsoft.com/en-us/graph/api/group-get) that Vigil
// stores, in Graph's order.
var groupDefaults = []string{
	"id", "createdDateTime", "description", "displayName", "groupTypes",
	"isAssignableToRole", "mailEnabled", "mailNickname", "securityEnabled",
}

// groupObject renders a group.
func groupObject(g store.Group) object {
	return object{
		{"id", g.ID},
		{"createdDateTime", dateTime(g.CreatedDateTime)},
		{"description", g.Description},
		{"displayName", g.DisplayName},
		{"groupTypes", emptyIfNil(g.GroupTypes)},
		{"isAssignableToRole", g.IsAssignableToRole},
		{"mailEnabled", g.MailEnabled},
		{"mailNickname", g.MailNickname},
		{"securityEnabled", g.SecurityEnabled},
	}
}

// groupBody is the body of POST /groups and PATCH /groups/{id}.
func groupBody(in *directory.GroupInput) bodyType {
	return bodyType{
		name: "microsoft.graph.group",
		fields: map[string]field{
			"displayName":        optString(&in.DisplayName),
			"description":        optString(&in.Description),
			"mailNickname":       optString(&in.MailNickname),
			"securityEnabled":    optBool(&in.SecurityEnabled),
			"mailEnabled":        optBool(&in.MailEnabled),
			"isAssignableToRole": optBool(&in.IsAssignableToRole),
			"groupTypes":         optStrings(&in.GroupTypes),
		},
		readOnly:    []string{"id", "createdDateTime"},
		unsupported: []string{"visibility", "mail", "membershipRule", "membershipRuleProcessingState", "preferredLanguage", "classification"},
	}
}

// groups is the /groups collection
// (https://learn.microsoft.com/en-us/graph/api/resources/group: list, get,
// create, update, delete, $count). Creation goes through checkGroupWrite
// (guards.go): a role-assignable group needs more than an ordinary one.
func (a *API) groups() resource[directory.GroupInput, store.Group] {
	d := a.Directory
	return resource[directory.GroupInput, store.Group]{
		entitySet: entitySet[store.Group]{
			name: "groups", schema: groupsSchema, render: defaultsOf(groupObject, groupDefaults),
			list: d.ListGroups, count: d.CountGroups,
		},
		body:   groupBody,
		id:     func(g store.Group) string { return g.ID },
		create: a.createGroup, get: d.GetGroup, update: d.UpdateGroup, remove: d.DeleteGroup,
	}
}
