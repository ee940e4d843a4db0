package graph

import (
	"github.com/vigil-idp/vigil/internal/authz"
)

// access is what a route requires: any one of the listed Graph permissions.
// App lists application permissions (the roles claim of app-only tokens).
// Delegated lists the delegated scopes Graph documents for the same
// operation; they are recorded now so that the delegated check (scp
// bounded by the signed-in user's directory roles) can be added to allows
// without touching the route table.
type access struct {
	App       []string
	Delegated []string
}

// allows reports whether p may use a route requiring acc.
//
// App-only principals need one of acc.App in their roles. Delegated
// principals are refused for now: Graph bounds a delegated scope by the
// signed-in user's directory roles, and Vigil's CLI client holds consent
// for every scope, so checking scp alone would give every user an
// administrator's reach.
func (acc access) allows(p *authz.Principal) bool {
	if p == nil {
		return false
	}
	switch p.Kind {
	case authz.AppOnly:
		return p.HasRole(acc.App...)
	}
	return false
}

// Permission names, Graph's (authz catalogue).
const (
	pUserReadAll             = "User.Read.All"
	pUserReadWriteAll        = "User.ReadWrite.All"
	pGroupReadAll            = "Group.Read.All"
	pGroupReadWriteAll       = "Group.ReadWrite.All"
	pGroupMemberReadAll      = "GroupMember.Read.All"
	pGroupMemberReadWriteAll = "GroupMember.ReadWrite.All"
	pDirectoryReadAll        = "Directory.Read.All"
	pDirectoryReadWriteAll   = "Directory.ReadWrite.All"
	pRoleMgmtRead            = "RoleManagement.Read.Directory"
	pRoleMgmtReadWrite       = "RoleManagement.ReadWrite.Directory"
	pApplicationReadAll      = "Application.Read.All"
	pApplicationReadWriteAll = "Application.ReadWrite.All"
	pAppRoleAssignmentRWAll  = "AppRoleAssignment.ReadWrite.All"
)

// The permission sets of the routes, from the Permissions section of each
// Graph v1.0 API page (least privileged first, then higher privileged).
// Where Graph lists Directory.ReadWrite.All as enough to create role
// assignments, add client secrets or grant app roles, Vigil does not: each
// of those lets the holder raise its own privileges, which is why Graph's
// newer pages moved them to RoleManagement.*, Application.* and
// AppRoleAssignment.* only.
var (
	// user-list, user-get
	usersRead = access{
		App:       []string{pUserReadAll, pUserReadWriteAll, pDirectoryReadAll, pDirectoryReadWriteAll},
		Delegated: []string{pUserReadAll, pUserReadWriteAll, pDirectoryReadAll, pDirectoryReadWriteAll},
	}
	// user-post-users, user-update, user-delete
	usersWrite = access{
		App:       []string{pUserReadWriteAll, pDirectoryReadWriteAll},
		Delegated: []string{pUserReadWriteAll, pDirectoryReadWriteAll},
	}
	// user-list-memberof, user-list-transitivememberof
	userMemberOfRead = access{
		App: []string{pUserReadAll, pUserReadWriteAll, pGroupMemberReadAll, pGroupReadAll,
			pDirectoryReadAll, pDirectoryReadWriteAll},
		Delegated: []string{pUserReadAll, pGroupMemberReadAll, pDirectoryReadAll},
	}
	// group-list, group-get
	groupsRead = access{
		App: []string{pGroupReadAll, pGroupReadWriteAll, pGroupMemberReadAll, pGroupMemberReadWriteAll,
			pDirectoryReadAll, pDirectoryReadWriteAll},
		Delegated: []string{pGroupReadAll, pGroupReadWriteAll, pGroupMemberReadAll, pDirectoryReadAll},
	}
	// group-post-groups, group-update, group-delete
	groupsWrite = access{
		App:       []string{pGroupReadWriteAll, pDirectoryReadWriteAll},
		Delegated: []string{pGroupReadWriteAll, pDirectoryReadWriteAll},
	}
	// group-list-members, group-list-transitivemembers, group-list-memberof
	membersRead = access{
		App: []string{pGroupMemberReadAll, pGroupMemberReadWriteAll, pGroupReadAll, pGroupReadWriteAll,
			pDirectoryReadAll, pDirectoryReadWriteAll},
		Delegated: []string{pGroupMemberReadAll, pGroupReadAll, pDirectoryReadAll},
	}
	// group-post-members, group-delete-members
	membersWrite = access{
		App:       []string{pGroupMemberReadWriteAll, pGroupReadWriteAll, pDirectoryReadWriteAll},
		Delegated: []string{pGroupMemberReadWriteAll, pGroupReadWriteAll, pDirectoryReadWriteAll},
	}
	// rbacapplication-list-roledefinitions, -roleassignments, directoryrole-list, -list-members
	rolesRead = access{
		App:       []string{pRoleMgmtRead, pRoleMgmtReadWrite, pDirectoryReadAll, pDirectoryReadWriteAll},
		Delegated: []string{pRoleMgmtRead, pRoleMgmtReadWrite, pDirectoryReadAll},
	}
	// rbacapplication-post-roleassignments, unifiedroleassignment-delete
	rolesWrite = access{
		App:       []string{pRoleMgmtReadWrite},
		Delegated: []string{pRoleMgmtReadWrite},
	}
	// application-list, application-get, serviceprincipal-list, serviceprincipal-get,
	// serviceprincipal-list-approleassignments
	appsRead = access{
		App:       []string{pApplicationReadAll, pApplicationReadWriteAll, pDirectoryReadAll, pDirectoryReadWriteAll},
		Delegated: []string{pApplicationReadAll, pApplicationReadWriteAll, pDirectoryReadAll},
	}
	// application-post-applications, -update, -delete, -addpassword, -removepassword,
	// serviceprincipal-post-serviceprincipals, -delete
	appsWrite = access{
		App:       []string{pApplicationReadWriteAll},
		Delegated: []string{pApplicationReadWriteAll},
	}
	// serviceprincipal-post-approleassignments, -delete-approleassignments
	appRoleAssignmentsWrite = access{
		App:       []string{pAppRoleAssignmentRWAll, pApplicationReadWriteAll},
		Delegated: []string{pAppRoleAssignmentRWAll},
	}
)
