package graph

import (
	"context"

	"github.com/vigil-idp/vigil/internal/authz"
	"github.com/vigil-idp/vigil/internal/directory"
	"github.com/vigil-idp/vigil/internal/store"
)

// Guards: Entra's protection of privileged targets, checked on writes after
// the route's access (permissions.go) and before the directory changes
// anything. Each needs to look at the target, so it runs inside the handler;
// reads never pay for it.

// checkUserWrite enforces "Who can perform sensitive actions" on a
// delegated update (in != nil) or delete (in == nil) of the user idOrUPN
// (reference §2.5;
// https://learn.microsoft.com/en-us/entra/identity/role-based-access-control/privileged-roles-permissions#who-can-perform-sensitive-actions,
// and the Permissions notes of user-update and user-delete):
//
//   - only deleting a user, or changing one of its sensitive properties
//     (sensitiveUserChange), is checked; other properties of any user are
//     open to every caller with capWriteUsers, as Entra's "update basic
//     properties" action is;
//   - when the target holds a role outside limitedAdminRoles (privilegedTarget,
//     from the target's effective roles in the directory), the caller needs
//     capWritePrivilegedUsers (Global Administrator) and the token needs the
//     Directory.AccessAsUser.All delegated permission: "To update sensitive
//     user properties ... for users with privileged administrator roles ...
//     the app must be assigned the Directory.AccessAsUser.All delegated
//     permission and the calling user must have a higher privileged
//     administrator role" (user-update; user-delete says the same of
//     deleting).
//
// App-only callers are not checked here: Entra's rules for them (an app
// needs a directory role of its own to act on admins) need role
// assignments to service principals in tokens, which Vigil does not issue.
// Who may reset passwords and revoke sessions of whom (the full matrix of
// reference §2.4) is internal/authz's, not this check's.
func (a *API) checkUserWrite(ctx context.Context, idOrUPN string, in *directory.UserInput) error {
	p, _ := authz.FromContext(ctx)
	if p == nil || p.Kind != authz.Delegated || (in != nil && !sensitiveUserChange(in)) {
		return nil
	}
	u, err := a.Directory.GetUser(ctx, idOrUPN)
	if err != nil {
		return err
	}
	roles, err := a.Directory.EffectiveRoles(ctx, u.ID)
	if err != nil {
		return err
	}
	if !privilegedTarget(roles) {
		return nil
	}
	if !capabilitiesOf(p).has(capWritePrivilegedUsers) || !p.HasScope(pDirectoryAccessAsUser) {
		return forbidden()
	}
	return nil
}

// sensitiveUserChange reports whether in changes a sensitive property:
// accountEnabled, businessPhones, mobilePhone, passwordProfile or
// userPrincipalName (the ones Vigil stores of Entra's list, reference §2.5;
// otherMails and onPremisesImmutableId are not stored).
func sensitiveUserChange(in *directory.UserInput) bool {
	return in.AccountEnabled.Set || in.BusinessPhones.Set || in.MobilePhone.Set ||
		in.PasswordProfile.Set || in.UserPrincipalName.Set
}

// guardedUsers wraps the directory's user update and delete with
// checkUserWrite.
type guardedUsers struct{ a *API }

func (g guardedUsers) update(ctx context.Context, idOrUPN string, in directory.UserInput) (store.User, error) {
	if err := g.a.checkUserWrite(ctx, idOrUPN, &in); err != nil {
		return store.User{}, err
	}
	return g.a.Directory.UpdateUser(ctx, idOrUPN, in)
}

func (g guardedUsers) remove(ctx context.Context, idOrUPN string) error {
	if err := g.a.checkUserWrite(ctx, idOrUPN, nil); err != nil {
		return err
	}
	return g.a.Directory.DeleteUser(ctx, idOrUPN)
}

// checkRoleAssignableGroupWrite enforces the protection of role-assignable
// groups, whose members receive the group's directory roles
// (https://learn.microsoft.com/en-us/entra/identity/role-based-access-control/groups-concept#how-are-role-assignable-groups-protected):
// "only Global Administrators and Privileged Role Administrators can create
// a role-assignable group", "by default, only Global Administrators and
// Privileged Role Administrators can manage the membership of a
// role-assignable group", and "for Microsoft Graph, the
// RoleManagement.ReadWrite.Directory permission is required to be able to
// manage the membership of role-assignable groups. The Group.ReadWrite.All
// permission won't work." It applies to app-only tokens (the permission)
// and delegated ones (the permission and capManageRoleAssignableGroups).
// Vigil has no group owners, to whom Entra can delegate this.
func checkRoleAssignableGroupWrite(ctx context.Context) error {
	p, _ := authz.FromContext(ctx)
	switch {
	case p == nil:
	case p.Kind == authz.AppOnly:
		if p.HasRole(pRoleMgmtReadWrite) {
			return nil
		}
	case p.Kind == authz.Delegated:
		if p.HasScope(pRoleMgmtReadWrite) && capabilitiesOf(p).has(capManageRoleAssignableGroups) {
			return nil
		}
	}
	return forbidden()
}

// checkGroupWrite checks a write to a group that is (or is to be)
// role-assignable or not: the former needs checkRoleAssignableGroupWrite,
// the latter, for a delegated caller, capWriteGroups. The routes admit
// callers with either capability (groupCreate, membersWrite).
func checkGroupWrite(ctx context.Context, roleAssignable bool) error {
	if roleAssignable {
		return checkRoleAssignableGroupWrite(ctx)
	}
	if p, _ := authz.FromContext(ctx); p != nil && p.Kind == authz.Delegated && !capabilitiesOf(p).has(capWriteGroups) {
		return forbidden()
	}
	return nil
}

// createGroup creates a group after checkGroupWrite.
func (a *API) createGroup(ctx context.Context, in directory.GroupInput) (store.Group, error) {
	if err := checkGroupWrite(ctx, in.IsAssignableToRole.Set && in.IsAssignableToRole.Value); err != nil {
		return store.Group{}, err
	}
	return a.Directory.CreateGroup(ctx, in)
}

// checkMembershipWrite checks a change to the members of groupID: a
// missing group is 404, otherwise checkGroupWrite.
func (a *API) checkMembershipWrite(ctx context.Context, groupID string) error {
	g, err := a.Directory.GetGroup(ctx, groupID)
	if err != nil {
		return err
	}
	return checkGroupWrite(ctx, g.IsAssignableToRole)
}

// checkAppRoleGrant checks a delegated grant of an application permission
// of the resource res. Application Administrator and Cloud Application
// Administrator may consent to application permissions "with the exception
// of application permissions for Microsoft Graph"; Privileged Role
// Administrator and Global Administrator may grant those
// (https://learn.microsoft.com/en-us/entra/identity/role-based-access-control/permissions-reference#application-administrator,
// https://learn.microsoft.com/en-us/entra/identity/enterprise-apps/grant-admin-consent#prerequisites).
// Vigil treats its own API like Graph: both are built-in resources
// (authz.Resources) whose application permissions reach the whole
// directory. Revoking a grant is not restricted. App-only callers are
// bounded by their application permission alone, as in Graph.
func checkAppRoleGrant(ctx context.Context, res store.ServicePrincipal) error {
	p, _ := authz.FromContext(ctx)
	if p == nil || p.Kind != authz.Delegated {
		return nil
	}
	if _, builtin := authz.ResourceByIdentifier(res.AppID); builtin && !capabilitiesOf(p).has(capGrantBuiltinAppRoles) {
		return forbidden()
	}
	return nil
}
