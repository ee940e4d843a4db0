package graph

import (
	"context"
	"slices"

	"github.com/vigil-idp/vigil/internal/authz"
	"github.com/vigil-idp/vigil/internal/directory"
	"github.com/vigil-idp/vigil/internal/odata"
	"github.com/vigil-idp/vigil/internal/store"
)

// UserDirectory is what the /users endpoints need from the directory.
type UserDirectory interface {
	CreateUser(ctx context.Context, in directory.UserInput) (store.User, error)
	GetUser(ctx context.Context, idOrUPN string) (store.User, error)
	UpdateUser(ctx context.Context, idOrUPN string, in directory.UserInput) (store.User, error)
	ChangeOwnPassword(ctx context.Context, userID, current, next string) error
	DeleteUser(ctx context.Context, idOrUPN string) error
	ListUsers(ctx context.Context, q store.Query) (store.Page[store.User], error)
	CountUsers(ctx context.Context, q store.Query) (int, error)
}

// userDefaults are the properties Graph returns for a user without $select
// (https://learn.microsoft.com/en-us/graph/api/user-get, reference §3.1).
var userDefaults = []string{
	"businessPhones", "displayName", "givenName", "jobTitle", "mail", "mobilePhone",
	"officeLocation", "preferredLanguage", "surname", "userPrincipalName", "id",
}

// userObject renders every property of a user Vigil returns; the defaults
// first, in Graph's order, then those available only with $select.
// passwordProfile is write-only and never rendered. preferredLanguage is
// not stored and always null. refreshTokensValidFromDateTime is the
// property the beta invalidateAllRefreshTokens moves (reference §1.6; the
// v1.0 user page listed it too, read-only and $select only).
func userObject(u store.User) object {
	return object{
		{"businessPhones", emptyIfNil(u.BusinessPhones)},
		{"displayName", u.DisplayName},
		{"givenName", u.GivenName},
		{"jobTitle", u.JobTitle},
		{"mail", u.Mail},
		{"mobilePhone", u.MobilePhone},
		{"officeLocation", u.OfficeLocation},
		{"preferredLanguage", nil},
		{"surname", u.Surname},
		{"userPrincipalName", u.UserPrincipalName},
		{"id", u.ID},
		{"accountEnabled", u.AccountEnabled},
		{"createdDateTime", dateTime(u.CreatedDateTime)},
		{"department", u.Department},
		{"mailNickname", u.MailNickname},
		{"signInSessionsValidFromDateTime", dateTime(u.SignInSessionsValidFrom)},
		{"refreshTokensValidFromDateTime", dateTime(u.RefreshTokensValidFrom)},
	}
}

// userBody is the body of POST /users and PATCH /users/{id}.
func userBody(in *directory.UserInput) bodyType {
	var (
		password directory.Optional[string]
		force    directory.Optional[bool]
	)
	profile := bodyType{
		name: "microsoft.graph.passwordProfile",
		fields: map[string]field{
			"password":                      optString(&password),
			"forceChangePasswordNextSignIn": optBool(&force),
		},
		unsupported: []string{"forceChangePasswordNextSignInWithMfa"},
	}
	return bodyType{
		name: "microsoft.graph.user",
		fields: map[string]field{
			"accountEnabled":    optBool(&in.AccountEnabled),
			"displayName":       optString(&in.DisplayName),
			"userPrincipalName": optString(&in.UserPrincipalName),
			"mailNickname":      optString(&in.MailNickname),
			"givenName":         optString(&in.GivenName),
			"surname":           optString(&in.Surname),
			"mail":              optString(&in.Mail),
			"jobTitle":          optString(&in.JobTitle),
			"department":        optString(&in.Department),
			"officeLocation":    optString(&in.OfficeLocation),
			"mobilePhone":       optString(&in.MobilePhone),
			"businessPhones":    optStrings(&in.BusinessPhones),
			"passwordProfile": nested(profile,
				func() {
					in.PasswordProfile = directory.Some(directory.PasswordProfile{
						Password:                      password.Value,
						ForceChangePasswordNextSignIn: force.Value,
					})
				},
				func() { in.PasswordProfile = directory.Null[directory.PasswordProfile]() }),
		},
		readOnly:    []string{"id", "createdDateTime", "signInSessionsValidFromDateTime", "refreshTokensValidFromDateTime"},
		unsupported: []string{"preferredLanguage"},
	}
}

// users is the /users collection
// (https://learn.microsoft.com/en-us/graph/api/resources/user: list, get by
// id or userPrincipalName, create, update, delete, $count).
//
// Delegated updates and deletes go through checkUserWrite (guards.go); a
// caller whose only user-reading permission is User.ReadBasic.All reads
// basic profiles (renderUser, usersQuerySchema).
func (a *API) users() resource[directory.UserInput, store.User] {
	d := a.Directory
	g := guardedUsers{a}
	return resource[directory.UserInput, store.User]{
		entitySet: entitySet[store.User]{
			name: "users", schema: usersSchema, schemaFor: usersQuerySchema, render: renderUser,
			list: d.ListUsers, count: d.CountUsers,
		},
		body:   userBody,
		id:     func(u store.User) string { return u.ID },
		create: d.CreateUser, get: d.GetUser, update: g.update, remove: g.remove,
	}
}

// userBasicProperties are the basic profile User.ReadBasic.All reads of
// other users: "displayName, givenName, id, mail, photo,
// securityIdentifier, surname, userPrincipalName"
// (https://learn.microsoft.com/en-us/graph/permissions-reference#userreadbasicall),
// less the two Vigil does not store.
var userBasicProperties = []string{"displayName", "givenName", "id", "mail", "surname", "userPrincipalName"}

// basicProfileOnly reports whether p reads users through User.ReadBasic.All
// alone: a delegated token holding it and no other permission of usersRead.
func basicProfileOnly(p *authz.Principal) bool {
	if p == nil || p.Kind != authz.Delegated || !p.HasScope(pUserReadBasicAll) {
		return false
	}
	full := slices.DeleteFunc(slices.Clone(usersRead.Delegated), func(s string) bool { return s == pUserReadBasicAll })
	return !p.HasScope(full...)
}

// renderUser renders a user with the selection applied. For a
// basicProfileOnly caller, properties outside userBasicProperties are
// null (collections empty), except on the caller's own user.
func renderUser(ctx context.Context, u store.User, sel []string) (object, error) {
	o := project(userObject(u), userDefaults, sel)
	p, _ := authz.FromContext(ctx)
	if !basicProfileOnly(p) || p.ObjectID == u.ID {
		return o, nil
	}
	for i, prop := range o {
		switch {
		case slices.Contains(userBasicProperties, prop.name):
		case prop.name == "businessPhones":
			o[i].value = []string{}
		default:
			o[i].value = nil
		}
	}
	return o, nil
}

// usersBasicSchema is usersSchema in which only userBasicProperties can be
// filtered, sorted and searched; the others can still be selected (and are
// rendered null).
var usersBasicSchema = func() odata.Schema {
	s := odata.Schema{Name: usersSchema.Name, Props: make(map[string]odata.Prop, len(usersSchema.Props))}
	for name, p := range usersSchema.Props {
		if !slices.Contains(userBasicProperties, name) {
			p = selectOnly(p.Type)
		}
		s.Props[name] = p
	}
	return s
}()

// usersQuerySchema is the schema of a /users query for the caller in ctx:
// usersBasicSchema for a basicProfileOnly caller, so that $filter,
// $orderby and $search cannot reveal what renderUser hides.
func usersQuerySchema(ctx context.Context) odata.Schema {
	if p, _ := authz.FromContext(ctx); basicProfileOnly(p) {
		return usersBasicSchema
	}
	return usersSchema
}
