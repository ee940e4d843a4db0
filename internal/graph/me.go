package graph

import (
	"net/http"
	"slices"

	"github.com/vigil-idp/vigil/internal/authz"
	"github.com/vigil-idp/vigil/internal/directory"
)

// The /me routes act on the signed-in user of a delegated token
// (https://learn.microsoft.com/en-us/graph/api/user-get: "Calling the /me
// endpoint requires a signed-in user and therefore a delegated permission.
// Application permissions are not supported"). Their access is marked me,
// so an app-only token is answered 400 BadRequest "/me request is only
// valid with delegated authentication flow.", as Graph answers.

// selfServiceProperties are the user properties a member may change about
// themselves with no directory role: of Entra's default member permissions
// on their own account ("Change their own password", "Manage their own
// mobile phone number", "Manage their own photo";
// https://learn.microsoft.com/en-us/entra/fundamentals/users-default-permissions#compare-member-and-guest-default-permissions),
// the only one that is a property PATCH /me can set in Vigil. Passwords
// change through a password flow, not PATCH; Vigil stores no photo. Every
// other property (accountEnabled, userPrincipalName, displayName, jobTitle,
// department, officeLocation, businessPhones, passwordProfile…) is managed
// by administrators, so changing it through /me needs what PATCH
// /users/{id} needs.
var selfServiceProperties = []string{"mobilePhone"}

// asMe runs h, a handler of a /users/{id} route, for the signed-in user:
// it sets the {id} path value to the token's oid. The route's access (me)
// has already refused any principal that is not delegated.
func asMe(h handler) handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		p, ok := authz.FromContext(r.Context())
		if !ok {
			return forbidden()
		}
		r.SetPathValue("id", p.ObjectID)
		return h(w, r)
	}
}

// updateMe is PATCH /me
// (https://learn.microsoft.com/en-us/graph/api/user-update): 204 on
// success. A body that sets only selfServiceProperties needs nothing more
// than the route's access; any other property needs what PATCH /users/{id}
// needs (usersWrite, and checkUserWrite for sensitive properties), so an
// administrator may update their own profile through /me as through
// /users.
func (a *API) updateMe(w http.ResponseWriter, r *http.Request) error {
	p, ok := authz.FromContext(r.Context())
	if !ok {
		return forbidden()
	}
	if err := noOptions(r); err != nil {
		return err
	}
	var (
		in  directory.UserInput
		set []string
	)
	if err := a.readJSON(r, userBody(&in).recording(&set)); err != nil {
		return err
	}
	ctx := r.Context()
	if slices.ContainsFunc(set, func(name string) bool { return !slices.Contains(selfServiceProperties, name) }) {
		if err := usersWrite.check(p); err != nil {
			return err
		}
		if err := a.checkUserWrite(ctx, p.ObjectID, &in); err != nil {
			return err
		}
	}
	if _, err := a.Directory.UpdateUser(ctx, p.ObjectID, in); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// changePassword is user: changePassword (POST /me/changePassword,
// https://learn.microsoft.com/en-us/graph/api/user-changepassword): the
// signed-in user proves their current password and sets a new one; 204.
// Like any password change it revokes the user's sessions, this request's
// token included.
func (a *API) changePassword(w http.ResponseWriter, r *http.Request) error {
	p, ok := authz.FromContext(r.Context())
	if !ok {
		return forbidden()
	}
	var current, next directory.Optional[string]
	err := a.readJSON(r, bodyType{name: "microsoft.graph.changePassword", fields: map[string]field{
		"currentPassword": optString(&current), "newPassword": optString(&next),
	}})
	if err != nil {
		return err
	}
	if err := a.Directory.ChangeOwnPassword(r.Context(), p.ObjectID, current.Value, next.Value); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
