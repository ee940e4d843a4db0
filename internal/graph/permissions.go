package graph

import (
	"net/http"

	"github.com/vigil-idp/vigil/internal/authz"
)

// access is what a route requires.
//
// An app-only token needs any one of App in its roles claim. A delegated
// token needs any one of Delegated in its scp claim and, for the signed-in
// user, any one of the directory capabilities Roles (delegated.go): Graph
// bounds every delegated permission by what the user may do in the
// directory. Where the capability depends on the target (a role-assignable
// group), Roles lists each that may apply and a guard (guards.go) picks.
// Routes marked me act on the signed-in user and exist only for delegated
// tokens.
//
// Routes marked anyCaller accept every authenticated caller: $batch, whose
// inner requests are each authorized on their own.
type access struct {
	App       []string
	Delegated []string
	Roles     []capability
	me        bool
	anyCaller bool
}

// check decides whether p may use a route requiring acc: nil, Graph's 403
// Authorization_RequestDenied, or, for an app-only token on a /me route,
// Graph's 400 BadRequest.
func (acc access) check(p *authz.Principal) error {
	switch {
	case p == nil:
	case acc.anyCaller:
		return nil
	case p.Kind == authz.AppOnly && acc.me:
		return NewError(http.StatusBadRequest, CodeBadRequest, msgMeNeedsDelegated, nil)
	case p.Kind == authz.AppOnly:
		if p.HasRole(acc.App...) {
			return nil
		}
	case p.Kind == authz.Delegated:
		if p.HasScope(acc.Delegated...) && capabilitiesOf(p).hasAny(acc.Roles...) {
			return nil
		}
	}
	return forbidden()
}

// Permission names, Graph's (authz catalogue).
const (
	pUserRead                = "User.Read"
	pUserReadWrite           = "User.ReadWrite"
	pUserReadBasicAll        = "User.ReadBasic.All"
	pUserReadAll             = "User.Read.All"
	pUserReadWriteAll        = "User.ReadWrite.All"
	pGroupReadAll            = "Group.Read.All"
	pGroupReadWriteAll       = "Group.ReadWrite.All"
	pGroupMemberReadAll      = "GroupMember.Read.All"
	pGroupMemberReadWriteAll = "GroupMember.ReadWrite.All"
	pDirectoryReadAll        = "Directory.Read.All"
	pDirectoryReadWriteAll   = "Directory.ReadWrite.All"
	pDirectoryAccessAsUser   = "Directory.AccessAsUser.All"
	pRoleMgmtRead            = "RoleManagement.Read.Directory"
	pRoleMgmtReadWrite       = "RoleManagement.ReadWrite.Directory"
	pApplicationReadAll      = "Application.Read.All"
	pApplicationReadWriteAll = "Application.ReadWrite.All"
	pAppRoleAssignmentRWAll  = "AppRoleAssignment.ReadWrite.All"
	pUserRevokeSessionsAll   = "User.RevokeSessions.All"
	pAuditLogReadAll         = "AuditLog.Read.All"
)

// The permission sets of the routes, from the Permissions section of each
// Graph v1.0 API page (least privileged first, then higher privileged).
//
// Where Graph lists Directory.ReadWrite.All as enough to create role
// assignments, add client secrets or grant app roles, Vigil does not: each
// of those lets the holder raise its own privileges, which is why Graph's
// newer pages moved them to RoleManagement.*, Application.* and
// AppRoleAssignment.* only.
//
// Directory.AccessAsUser.All ("Access directory as the signed in user":
// the same access to the directory as the user) is accepted wherever a
// Directory.Read.All or Directory.ReadWrite.All delegated permission is,
// as Graph's pages listed it beside them; the user's roles still bound it.
// It is also what Graph requires to change sensitive properties of, or
// delete, a privileged user (guards.go).
var (
	// user-list, user-get
	usersRead = access{
		App: []string{pUserReadAll, pUserReadWriteAll, pDirectoryReadAll, pDirectoryReadWriteAll},
		Delegated: []string{pUserReadBasicAll, pUserReadAll, pUserReadWriteAll, pDirectoryReadAll,
			pDirectoryReadWriteAll, pDirectoryAccessAsUser},
		Roles: []capability{capReadDirectory},
	}
	// user-post-users, user-update, user-delete
	usersWrite = access{
		App:       []string{pUserReadWriteAll, pDirectoryReadWriteAll},
		Delegated: []string{pUserReadWriteAll, pDirectoryReadWriteAll, pDirectoryAccessAsUser},
		Roles:     []capability{capWriteUsers},
	}
	// user-list-memberof, user-list-transitivememberof (User.Read covers
	// only the signed-in user: meMemberOf)
	userMemberOfRead = access{
		App: []string{pUserReadAll, pUserReadWriteAll, pGroupMemberReadAll, pGroupReadAll,
			pDirectoryReadAll, pDirectoryReadWriteAll},
		Delegated: []string{pUserReadAll, pGroupMemberReadAll, pGroupReadAll, pDirectoryReadAll,
			pDirectoryReadWriteAll, pDirectoryAccessAsUser},
		Roles: []capability{capReadDirectory},
	}
	// user-get with /me: User.Read is the least privileged; every
	// permission that reads other users reads the signed-in one too.
	meRead = access{
		Delegated: []string{pUserRead, pUserReadWrite, pUserReadBasicAll, pUserReadAll, pUserReadWriteAll,
			pDirectoryReadAll, pDirectoryReadWriteAll, pDirectoryAccessAsUser},
		Roles: []capability{capSelfService},
		me:    true,
	}
	// user-update with /me: User.ReadWrite is the least privileged. What a
	// user may change about themselves is further limited (me.go).
	meWrite = access{
		Delegated: []string{pUserReadWrite, pUserReadWriteAll, pDirectoryReadWriteAll, pDirectoryAccessAsUser},
		Roles:     []capability{capSelfService},
		me:        true,
	}
	// user-changepassword (/me only): Directory.AccessAsUser.All, the
	// delegated permission Graph's v1.0 documents for it (its newer
	// User-PasswordProfile.ReadWrite.All is not in Vigil's catalogue).
	meChangePassword = access{
		Delegated: []string{pDirectoryAccessAsUser},
		Roles:     []capability{capSelfService},
		me:        true,
	}
	// user-list-memberof, user-list-transitivememberof with /me: "User.Read
	// ... discover relationships such as the group membership ... of the
	// signed-in user" (user-get).
	meMemberOf = access{
		Delegated: []string{pUserRead, pUserReadWrite, pUserReadAll, pGroupMemberReadAll, pGroupReadAll,
			pDirectoryReadAll, pDirectoryReadWriteAll, pDirectoryAccessAsUser},
		Roles: []capability{capSelfService},
		me:    true,
	}
	// group-list, group-get
	groupsRead = access{
		App: []string{pGroupReadAll, pGroupReadWriteAll, pGroupMemberReadAll, pGroupMemberReadWriteAll,
			pDirectoryReadAll, pDirectoryReadWriteAll},
		Delegated: []string{pGroupReadAll, pGroupReadWriteAll, pGroupMemberReadAll, pGroupMemberReadWriteAll,
			pDirectoryReadAll, pDirectoryReadWriteAll, pDirectoryAccessAsUser},
		Roles: []capability{capReadDirectory},
	}
	// group-update, group-delete
	groupsWrite = access{
		App:       []string{pGroupReadWriteAll, pDirectoryReadWriteAll},
		Delegated: []string{pGroupReadWriteAll, pDirectoryReadWriteAll, pDirectoryAccessAsUser},
		Roles:     []capability{capWriteGroups},
	}
	// group-post-groups: a role-assignable group needs
	// capManageRoleAssignableGroups, any other capWriteGroups (createGroup).
	groupCreate = access{
		App:       groupsWrite.App,
		Delegated: groupsWrite.Delegated,
		Roles:     []capability{capWriteGroups, capManageRoleAssignableGroups},
	}
	// group-list-members, group-list-transitivemembers, group-list-memberof
	membersRead = access{
		App: []string{pGroupMemberReadAll, pGroupMemberReadWriteAll, pGroupReadAll, pGroupReadWriteAll,
			pDirectoryReadAll, pDirectoryReadWriteAll},
		Delegated: []string{pGroupMemberReadAll, pGroupMemberReadWriteAll, pGroupReadAll, pGroupReadWriteAll,
			pDirectoryReadAll, pDirectoryReadWriteAll, pDirectoryAccessAsUser},
		Roles: []capability{capReadDirectory},
	}
	// group-post-members, group-delete-members
	membersWrite = access{
		App:       []string{pGroupMemberReadWriteAll, pGroupReadWriteAll, pDirectoryReadWriteAll},
		Delegated: []string{pGroupMemberReadWriteAll, pGroupReadWriteAll, pDirectoryReadWriteAll, pDirectoryAccessAsUser},
		// The group decides which applies (checkMembershipWrite).
		Roles: []capability{capWriteGroups, capManageRoleAssignableGroups},
	}
	// rbacapplication-list-roledefinitions, -roleassignments, directoryrole-list, -list-members
	rolesRead = access{
		App:       []string{pRoleMgmtRead, pRoleMgmtReadWrite, pDirectoryReadAll, pDirectoryReadWriteAll},
		Delegated: []string{pRoleMgmtRead, pRoleMgmtReadWrite, pDirectoryReadAll, pDirectoryReadWriteAll, pDirectoryAccessAsUser},
		Roles:     []capability{capReadDirectory},
	}
	// rbacapplication-post-roleassignments, unifiedroleassignment-delete
	rolesWrite = access{
		App:       []string{pRoleMgmtReadWrite},
		Delegated: []string{pRoleMgmtReadWrite},
		Roles:     []capability{capWriteRoleAssignments},
	}
	// application-list, application-get, serviceprincipal-list, serviceprincipal-get,
	// serviceprincipal-list-approleassignments
	appsRead = access{
		App: []string{pApplicationReadAll, pApplicationReadWriteAll, pDirectoryReadAll, pDirectoryReadWriteAll},
		Delegated: []string{pApplicationReadAll, pApplicationReadWriteAll, pDirectoryReadAll,
			pDirectoryReadWriteAll, pDirectoryAccessAsUser},
		Roles: []capability{capReadDirectory},
	}
	// application-post-applications, -update, -delete, -addpassword, -removepassword,
	// serviceprincipal-post-serviceprincipals, -delete
	appsWrite = access{
		App:       []string{pApplicationReadWriteAll},
		Delegated: []string{pApplicationReadWriteAll},
		Roles:     []capability{capWriteApplications},
	}
	// serviceprincipal-post-approleassignments, -delete-approleassignments
	appRoleAssignmentsWrite = access{
		App:       []string{pAppRoleAssignmentRWAll, pApplicationReadWriteAll},
		Delegated: []string{pAppRoleAssignmentRWAll, pApplicationReadWriteAll},
		Roles:     []capability{capGrantAppRoles},
	}
	// user-revokesigninsessions (reference §2.1): application
	// User.RevokeSessions.All, and User.ReadWrite.All and
	// Directory.ReadWrite.All as earlier revisions listed; delegated the
	// same and Directory.AccessAsUser.All, and User.ReadWrite for one's own
	// account. Whom a delegated caller may revoke depends on the target
	// (the "Who can reset passwords" matrix, reference §2.4), so the
	// revocation service decides it (authz.CanActOnUser) and the route
	// asks only for a signed-in member (capSelfService): a scope that is
	// not enough for this target, or roles that do not cover it, are
	// refused there with the same 403.
	revokeSessions = access{
		App: []string{pUserRevokeSessionsAll, pUserReadWriteAll, pDirectoryReadWriteAll},
		Delegated: []string{pUserRevokeSessionsAll, pUserReadWrite, pUserReadWriteAll, pDirectoryReadWriteAll,
			pDirectoryAccessAsUser},
		Roles: []capability{capSelfService},
	}
	// user-revokesigninsessions with /me: User.RevokeSessions.All or
	// User.ReadWrite (or a broader scope above), no role.
	meRevokeSessions = access{Delegated: revokeSessions.Delegated, Roles: []capability{capSelfService}, me: true}
	// user-invalidateallrefreshtokens (beta, reference §1.6): delegated
	// User.ReadWrite (one's own account) and Directory.ReadWrite.All;
	// application permissions are not supported, so an app-only token is
	// refused (403; 400 on /me). The service applies the matrix as for
	// revokeSessions.
	invalidateRefreshTokens   = access{Delegated: []string{pUserReadWrite, pDirectoryReadWriteAll}, Roles: []capability{capSelfService}}
	meInvalidateRefreshTokens = access{Delegated: invalidateRefreshTokens.Delegated, Roles: []capability{capSelfService}, me: true}
	// directoryaudit-list, directoryaudit-get: AuditLog.Read.All, and in
	// delegated calls a role that reads audit logs (capReadAuditLogs: the
	// page's "supported roles"). Older revisions of the page asked for
	// "AuditLog.Read.All and Directory.Read.All"; the current one lists
	// AuditLog.Read.All as least privileged and Directory.Read.All as
	// higher, which would let any directory reader read the audit log, so
	// Vigil requires AuditLog.Read.All.
	auditRead = access{App: []string{pAuditLogReadAll}, Delegated: []string{pAuditLogReadAll}, Roles: []capability{capReadAuditLogs}}
	// json-batching: any authenticated caller; each inner request is
	// authorized on its own.
	batchAccess = access{anyCaller: true}
)
