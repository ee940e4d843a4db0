package graph

import (
	"fmt"
	"strings"

	"github.com/vigil-idp/vigil/internal/authz"
	"github.com/vigil-idp/vigil/internal/directory"
)

// Delegated authorization. A delegated token acts for a signed-in user, and
// Graph allows a delegated call only when both hold
// (https://learn.microsoft.com/en-us/graph/permissions-overview#delegated-permissions,
// reference §2.1 "Delegated calls also need an Entra role"):
//
//  1. the token's scp holds one of the route's delegated permissions
//     (access.Delegated, from each Graph API page), and
//  2. the signed-in user may do the operation in the directory: Entra's
//     default member-user permissions, or a directory role that covers it.
//
// This file holds (2): the capabilities a route can require, the roles that
// grant each, and who counts as a privileged target. The user's roles are
// the template ids in the token's wids claim (authz.Principal.RoleTemplateIDs,
// which the token service fills with directory.Service.EffectiveRoles); they
// are not read from the store per request, so a role change takes effect
// with the next token, as in Entra.

// capability is a directory operation a signed-in user's roles may permit.
type capability int

// Directory capabilities of delegated callers. The zero value is not a
// capability: a route that names none is refused to every delegated caller.
const (
	// capReadDirectory: read users, groups, memberships, role definitions
	// and assignments, directory roles, applications and service
	// principals.
	capReadDirectory capability = iota + 1
	// capSelfService: read one's own profile and memberships, and update
	// the properties of one's own profile listed in selfServiceProperties.
	capSelfService
	// capWriteUsers: create, update and delete users.
	capWriteUsers
	// capWriteGroups: create, update and delete groups (not
	// role-assignable ones) and manage their members.
	capWriteGroups
	// capManageRoleAssignableGroups: create role-assignable groups and
	// manage their members (each member receives the group's roles).
	capManageRoleAssignableGroups
	// capWriteRoleAssignments: create and delete directory role
	// assignments.
	capWriteRoleAssignments
	// capWriteApplications: create, update and delete applications and
	// service principals, and add and remove their secrets.
	capWriteApplications
	// capGrantAppRoles: grant and revoke app role assignments (application
	// permissions), except grants of a built-in API's permissions.
	capGrantAppRoles
	// capGrantBuiltinAppRoles: grant application permissions of Microsoft
	// Graph and the Vigil API.
	capGrantBuiltinAppRoles
	// capWritePrivilegedUsers: change sensitive properties of, or delete,
	// users who hold a privileged role (see privilegedTarget).
	capWritePrivilegedUsers
	// capReadAuditLogs: read the directory audit log
	// (/auditLogs/directoryAudits).
	capReadAuditLogs
)

var capabilityNames = map[capability]string{
	capReadDirectory:              "read directory",
	capSelfService:                "self-service",
	capWriteUsers:                 "write users",
	capWriteGroups:                "write groups",
	capManageRoleAssignableGroups: "manage role-assignable groups",
	capWriteRoleAssignments:       "write role assignments",
	capWriteApplications:          "write applications",
	capGrantAppRoles:              "grant app roles",
	capGrantBuiltinAppRoles:       "grant built-in app roles",
	capWritePrivilegedUsers:       "write privileged users",
	capReadAuditLogs:              "read audit logs",
}

// String names the capability for logs and test output.
func (c capability) String() string {
	if n, ok := capabilityNames[c]; ok {
		return n
	}
	return fmt.Sprintf("capability(%d)", int(c))
}

// memberDefaults are the capabilities of every signed-in member user,
// without any role: Entra's default user permissions, "Compare member and
// guest default permissions"
// (https://learn.microsoft.com/en-us/entra/fundamentals/users-default-permissions#compare-member-and-guest-default-permissions):
// members enumerate and read users, groups, memberships, roles and
// applications, and manage their own mobile phone number. Vigil has no
// guest users. Two member defaults are not granted: creating security and
// Microsoft 365 groups (an Entra tenant setting Vigil does not have; group
// creation needs a role) and registering applications (likewise).
var memberDefaults = []capability{capReadDirectory, capSelfService}

// roleCapabilities is the role → capability table: what each built-in
// directory role adds to memberDefaults, by display name in the catalogue
// (directory.RoleDefinitionByName), with the permissions-reference anchor
// that describes the role. Roles not listed add nothing.
var roleCapabilities = map[string][]capability{
	// https://learn.microsoft.com/en-us/entra/identity/role-based-access-control/permissions-reference#global-administrator
	// "Can manage all aspects of Microsoft Entra ID".
	"Global Administrator": {
		capReadDirectory, capSelfService, capWriteUsers, capWriteGroups, capManageRoleAssignableGroups,
		capWriteRoleAssignments, capWriteApplications, capGrantAppRoles, capGrantBuiltinAppRoles,
		capWritePrivilegedUsers, capReadAuditLogs,
	},
	// https://learn.microsoft.com/en-us/entra/identity/role-based-access-control/permissions-reference#global-reader
	// "Can read everything that a Global Administrator can, but not update
	// anything."
	"Global Reader": {capReadDirectory, capReadAuditLogs},
	// https://learn.microsoft.com/en-us/entra/identity/role-based-access-control/permissions-reference#user-administrator
	// "Can manage all aspects of users and groups", within the limits of
	// "Who can perform sensitive actions" (privilegedTarget). The
	// password-only roles (Privileged Authentication, Authentication,
	// Helpdesk and Password Administrator) are not given capWriteUsers:
	// Vigil's PATCH /users cannot tell a password reset apart from a profile
	// update, so password changes are left to User Administrator and Global
	// Administrator until the revoke/reset matrix lands in internal/authz.
	"User Administrator": {capWriteUsers, capWriteGroups},
	// https://learn.microsoft.com/en-us/entra/identity/role-based-access-control/permissions-reference#groups-administrator
	// "can create/manage groups".
	"Groups Administrator": {capWriteGroups},
	// https://learn.microsoft.com/en-us/entra/identity/role-based-access-control/permissions-reference#privileged-role-administrator
	// "Can manage role assignments in Microsoft Entra ID"; with Global
	// Administrator the only role that manages role-assignable groups
	// (groups-concept#how-are-role-assignable-groups-protected) and that
	// consents to Microsoft Graph application permissions
	// (enterprise-apps/grant-admin-consent#prerequisites).
	"Privileged Role Administrator": {
		capWriteRoleAssignments, capManageRoleAssignableGroups, capGrantAppRoles, capGrantBuiltinAppRoles,
	},
	// https://learn.microsoft.com/en-us/entra/identity/role-based-access-control/permissions-reference#application-administrator
	// "Can create and manage all aspects of app registrations and enterprise
	// apps", and consent to application permissions "with the exception of
	// application permissions for Microsoft Graph".
	"Application Administrator": {capWriteApplications, capGrantAppRoles},
	// https://learn.microsoft.com/en-us/entra/identity/role-based-access-control/permissions-reference#cloud-application-administrator
	// As Application Administrator, except App Proxy (which Vigil lacks).
	"Cloud Application Administrator": {capWriteApplications, capGrantAppRoles},
	// https://learn.microsoft.com/en-us/entra/identity/role-based-access-control/permissions-reference#security-administrator
	// "Can read security information and reports".
	"Security Administrator": {capReadAuditLogs},
	// https://learn.microsoft.com/en-us/entra/identity/role-based-access-control/permissions-reference#security-reader
	"Security Reader": {capReadAuditLogs},
	// https://learn.microsoft.com/en-us/entra/identity/role-based-access-control/permissions-reference#reports-reader
	// "Can read sign-in and audit reports."
	"Reports Reader": {capReadAuditLogs},
}

// limitedAdminRoles are the roles whose holders a User Administrator may
// still change sensitive properties of and delete: the User Admin column of
// Entra's "Who can perform sensitive actions" table, whose rows are those of
// "Who can reset passwords" (reference §2.4–2.5;
// https://learn.microsoft.com/en-us/entra/identity/role-based-access-control/privileged-roles-permissions#who-can-perform-sensitive-actions).
// A user holding any other role (Global Administrator, Privileged Role
// Administrator, Privileged Authentication Administrator, Authentication
// Administrator, "all other built-in and custom roles") is a privileged
// target.
var limitedAdminRoles = []string{
	"Directory Readers", "Groups Administrator", "Guest Inviter", "Helpdesk Administrator",
	"Message Center Reader", "Password Administrator", "Reports Reader", "User Administrator",
	"User Experience Success Manager", "Usage Summary Reports Reader",
}

// Tables resolved to role template ids (lower case) when the package loads.
var (
	capabilitiesByTemplate = map[string][]capability{}
	limitedAdminTemplates  = map[string]bool{}
)

func init() {
	for name, caps := range roleCapabilities {
		capabilitiesByTemplate[roleTemplateID(name)] = caps
	}
	for _, name := range limitedAdminRoles {
		limitedAdminTemplates[roleTemplateID(name)] = true
	}
}

// roleTemplateID returns the lower-cased template id of the built-in role
// named name. It panics on a name missing from the catalogue: the tables
// above are compile-time data, and a typo is a programming error.
func roleTemplateID(name string) string {
	r, ok := directory.RoleDefinitionByName(name)
	if !ok {
		panic("graph: role " + name + " is not in the directory's role catalogue")
	}
	return strings.ToLower(r.TemplateID)
}

// capabilities is the set of capabilities of one delegated caller.
type capabilities map[capability]bool

// capabilitiesOf returns what p's directory roles permit: the member
// defaults plus the capabilities of every role in its wids claim. Unknown
// template ids add nothing. App-only principals have none.
func capabilitiesOf(p *authz.Principal) capabilities {
	if p == nil || p.Kind != authz.Delegated {
		return nil
	}
	cs := capabilities{}
	for _, c := range memberDefaults {
		cs[c] = true
	}
	for _, id := range p.RoleTemplateIDs {
		for _, c := range capabilitiesByTemplate[strings.ToLower(id)] {
			cs[c] = true
		}
	}
	return cs
}

// has reports whether c is among the capabilities.
func (cs capabilities) has(c capability) bool { return cs[c] }

// hasAny reports whether any of want is among the capabilities.
func (cs capabilities) hasAny(want ...capability) bool {
	for _, c := range want {
		if cs[c] {
			return true
		}
	}
	return false
}

// privilegedTarget reports whether a user holding the role template ids
// roles is a privileged target: one holding any role outside
// limitedAdminRoles, whose sensitive properties only capWritePrivilegedUsers
// may change.
//
// Entra also protects users without a role who are members or owners of a
// role-assignable group, and users in restricted-management administrative
// units; Vigil has neither group owners nor administrative units, and a
// member of a role-assignable group that holds a role has that role among
// its effective roles, so only a member of a role-assignable group holding
// no role at all is not protected here.
func privilegedTarget(roles []string) bool {
	for _, id := range roles {
		if !limitedAdminTemplates[strings.ToLower(id)] {
			return true
		}
	}
	return false
}
