package graph

import (
	"context"

	"github.com/vigil-idp/vigil/internal/directory"
	"github.com/vigil-idp/vigil/internal/store"
)

// UserDirectory is what the /users endpoints need from the directory.
type UserDirectory interface {
	CreateUser(ctx context.Context, in directory.UserInput) (store.User, error)
	GetUser(ctx context.Context, idOrUPN string) (store.User, error)
	UpdateUser(ctx context.Context, idOrUPN string, in directory.UserInput) (store.User, error)
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
// not stored and always null.
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
		readOnly:    []string{"id", "createdDateTime", "signInSessionsValidFromDateTime"},
		unsupported: []string{"preferredLanguage"},
	}
}

// users is the /users collection
// (https://learn.microsoft.com/en-us/graph/api/resources/user: list, get by
// id or userPrincipalName, create, update, delete, $count).
func (a *API) users() resource[directory.UserInput, store.User] {
	d := a.Directory
	return resource[directory.UserInput, store.User]{
		entitySet: entitySet[store.User]{
			name: "users", schema: usersSchema, render: defaultsOf(userObject, userDefaults),
			list: d.ListUsers, count: d.CountUsers,
		},
		body:   userBody,
		id:     func(u store.User) string { return u.ID },
		create: d.CreateUser, get: d.GetUser, update: d.UpdateUser, remove: d.DeleteUser,
	}
}
