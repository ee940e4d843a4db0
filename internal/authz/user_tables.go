package authz

import "strings"

// Entra's tables of which administrator roles may act on which users, as
// data. CanActOnUser (user_actions.go) applies them.

// Built-in directory role template ids named by the tables, with the
// permissions-reference anchor of each role
// (https://learn.microsoft.com/en-us/entra/identity/role-based-access-control/permissions-reference#<anchor>).
// They are the ids of the project's reference file directory-roles.json and
// of the directory's role catalogue (internal/directory, which imports this
// package, so authz cannot read the catalogue; user_tables_test.go checks
// every id against a transcription of directory-roles.json instead).
const (
	roleAuthenticationAdministrator           = "c4e39bd9-1100-46d3-8c65-fb160da0071f" // #authentication-administrator
	roleDirectoryReaders                      = "88d8e3e3-8f55-4a1e-953a-9b9898b8876b" // #directory-readers
	roleGlobalAdministrator                   = "62e90394-69f5-4237-9190-012177145e10" // #global-administrator
	roleGroupsAdministrator                   = "fdd7a751-b60b-444a-984c-02652fe8fa1c" // #groups-administrator
	roleGuestInviter                          = "95e79109-95c0-4d8e-aee3-d01accf2d47b" // #guest-inviter
	roleHelpdeskAdministrator                 = "729827e3-9c14-49f7-bb1b-9608f156bbb8" // #helpdesk-administrator
	roleMessageCenterReader                   = "790c1fb9-7f7d-4f88-86a1-ef1f95c05c1b" // #message-center-reader
	rolePasswordAdministrator                 = "966707d0-3269-4727-9be2-8c3a10f19b9d" // #password-administrator
	rolePrivilegedAuthenticationAdministrator = "7be44c8a-adaf-4e2a-84d6-ab2649e08a13" // #privileged-authentication-administrator
	rolePrivilegedRoleAdministrator           = "e8611ab8-c189-46e8-94e1-60213ab1f814" // #privileged-role-administrator
	roleReportsReader                         = "4a5d8f65-41da-4de4-8968-e035b65339cf" // #reports-reader
	roleUserAdministrator                     = "fe930be7-5e62-47db-91af-98c3a49a38b1" // #user-administrator
	roleUserExperienceSuccessManager          = "27460883-1df1-4691-b032-3b79643e5e63" // #user-experience-success-manager
	roleUsageSummaryReportsReader             = "75934031-6c7e-415a-99d7-48dbd49e875e" // #usage-summary-reports-reader
)

// roleNames are the display names of the roles above, for Decision reasons.
var roleNames = map[string]string{
	roleAuthenticationAdministrator:           "Authentication Administrator",
	roleDirectoryReaders:                      "Directory Readers",
	roleGlobalAdministrator:                   "Global Administrator",
	roleGroupsAdministrator:                   "Groups Administrator",
	roleGuestInviter:                          "Guest Inviter",
	roleHelpdeskAdministrator:                 "Helpdesk Administrator",
	roleMessageCenterReader:                   "Message Center Reader",
	rolePasswordAdministrator:                 "Password Administrator",
	rolePrivilegedAuthenticationAdministrator: "Privileged Authentication Administrator",
	rolePrivilegedRoleAdministrator:           "Privileged Role Administrator",
	roleReportsReader:                         "Reports Reader",
	roleUserAdministrator:                     "User Administrator",
	roleUserExperienceSuccessManager:          "User Experience Success Manager",
	roleUsageSummaryReportsReader:             "Usage Summary Reports Reader",
}

// rowKind says which targets a table row applies to.
type rowKind int

const (
	// rowRole: targets holding the row's role.
	rowRole rowKind = iota + 1
	// rowNoRole: targets holding no role, when no other row applies.
	rowNoRole
	// rowRoleAssignableGroup: members and owners of a role-assignable
	// group.
	rowRoleAssignableGroup
	// rowRestrictedAU: targets with a role scoped to a restricted
	// management administrative unit.
	rowRestrictedAU
	// rowOtherRoles: targets holding a role no rowRole row names.
	rowOtherRoles
)

// tableRow is one row of an actor table: the targets it applies to and, per
// column, whether that column's role may act on them.
type tableRow struct {
	label   string // Microsoft's row label
	kind    rowKind
	role    string // template id, for rowRole
	allowed []bool // by column
}

// actorTable is one of Entra's "who can … whom" tables: columns are the
// acting administrator's role, rows the target user's.
type actorTable struct {
	name    string   // the table's heading
	columns []string // role template ids, in the page's column order
	rows    []tableRow

	byRole  map[string]int // lower-cased role id → row index
	special map[rowKind]int
}

// Cell values, to keep the tables below readable as the grids they are.
const (
	yes = true
	no  = false
)

// resetPasswordTable is "Who can reset passwords", which Entra also applies
// to invalidating refresh tokens: "the columns list the roles that can reset
// passwords and invalidate refresh tokens. The rows list the roles for which
// their password can be reset."
//
// Source: https://learn.microsoft.com/en-us/entra/identity/role-based-access-control/privileged-roles-permissions#who-can-reset-passwords,
// for role assignments at tenant scope. Transcribed from the project's
// reference file revoke-matrix.json (every row and column, in its order),
// which was verified against three revisions of the page:
// MicrosoftDocs/entra-docs docs/identity/role-based-access-control/privileged-roles-permissions.md
// at 13ac541ac9e641c3252f591c5df4138bd9573557 and
// 8d78c8f7d5bb8b867845c205522bda5a5fcb9ddf, and merill/entra-docs-mirror
// (same path) at 60bcd50e1af971935deeb319919e97377003548e, the newest;
// their cells are identical. Revision notes:
//
//   - Older copies of the table (microsoftgraph/microsoft-graph-docs
//     api-reference/v1.0/resources/users.md) had a row "All custom roles"
//     ticked for all six columns. The Azure AD era revision
//     (MicrosoftDocs/azure-docs articles/active-directory/roles/privileged-roles-permissions.md)
//     ticked it for Privileged Authentication Administrator and Global
//     Administrator only; the current page renamed it "All other built-in
//     and custom roles" (same cells) and added the User Experience Success
//     Manager row. No other cell changed across revisions. Vigil follows the
//     current page.
//   - Global Administrator → Global Administrator carries a "*" with no
//     footnote on the current page; an older Graph-docs copy explained it: a
//     Global Administrator cannot remove their own Global Administrator
//     assignment. That is a rule of role assignment, not of this table: the
//     cell is a tick.
//   - The Password Administrator role definition lists only
//     microsoft.directory/users/password/update, not
//     microsoft.directory/users/invalidateAllRefreshTokens
//     (permissions-reference#password-administrator), and newer revisions of
//     delegate-by-task name Helpdesk Administrator, not Password
//     Administrator, as least privileged for invalidating non-admins'
//     refresh tokens. The table heading, older delegate-by-task revisions
//     and the page's own example ("a Password Administrator can reset the
//     password for Directory Readers, Guest Inviter, Password Administrator,
//     and users with no administrator role") say otherwise. Vigil follows the
//     table for both actions, as the design's contract requires
//     (design/README.md, "Tokens and permissions"): Password Administrator
//     may revoke the sessions of the users whose password it may reset.
//   - Helpdesk Administrator's richDescription lists fewer target roles
//     (not User Experience Success Manager or Usage Summary Reports Reader)
//     than its column; Vigil follows the table.
//   - The newest revision adds below the table that Security Administrator,
//     Security Operator and Entra SOC Identity Responder "are limited to
//     non-administrative user accounts"; they are not columns, and Vigil
//     gives them nothing here. The deprecated Partner Tier1/Tier2 Support
//     roles are not in Vigil's catalogue.
var resetPasswordTable = newActorTable("Who can reset passwords",
	[]string{
		rolePasswordAdministrator, roleHelpdeskAdministrator, roleAuthenticationAdministrator,
		roleUserAdministrator, rolePrivilegedAuthenticationAdministrator, roleGlobalAdministrator,
	},
	[]tableRow{
		// Target ↓ / actor →                                                                        Password Helpdesk Auth User PrivAuth Global
		{"Auth Admin", rowRole, roleAuthenticationAdministrator, []bool{no, no, yes, no, yes, yes}},
		{"Directory Readers", rowRole, roleDirectoryReaders, []bool{yes, yes, yes, yes, yes, yes}},
		{"Global Admin", rowRole, roleGlobalAdministrator, []bool{no, no, no, no, yes, yes}},
		{"Groups Admin", rowRole, roleGroupsAdministrator, []bool{no, no, no, yes, yes, yes}},
		{"Guest Inviter", rowRole, roleGuestInviter, []bool{yes, yes, yes, yes, yes, yes}},
		{"Helpdesk Admin", rowRole, roleHelpdeskAdministrator, []bool{no, yes, no, yes, yes, yes}},
		{"Message Center Reader", rowRole, roleMessageCenterReader, []bool{no, yes, yes, yes, yes, yes}},
		{"Password Admin", rowRole, rolePasswordAdministrator, []bool{yes, yes, yes, yes, yes, yes}},
		{"Privileged Auth Admin", rowRole, rolePrivilegedAuthenticationAdministrator, []bool{no, no, no, no, yes, yes}},
		{"Privileged Role Admin", rowRole, rolePrivilegedRoleAdministrator, []bool{no, no, no, no, yes, yes}},
		{"Reports Reader", rowRole, roleReportsReader, []bool{no, yes, yes, yes, yes, yes}},
		{"User (no admin role)", rowNoRole, "", []bool{yes, yes, yes, yes, yes, yes}},
		{"User (no admin role, but member or owner of a role-assignable group)", rowRoleAssignableGroup, "", []bool{no, no, no, no, yes, yes}},
		{"User with a role scoped to a restricted management administrative unit", rowRestrictedAU, "", []bool{no, no, no, no, yes, yes}},
		{"User Admin", rowRole, roleUserAdministrator, []bool{no, no, no, yes, yes, yes}},
		{"User Experience Success Manager", rowRole, roleUserExperienceSuccessManager, []bool{no, yes, yes, yes, yes, yes}},
		{"Usage Summary Reports Reader", rowRole, roleUsageSummaryReportsReader, []bool{no, yes, yes, yes, yes, yes}},
		{"All other built-in and custom roles", rowOtherRoles, "", []bool{no, no, no, no, yes, yes}},
	})

// sensitiveActionsTable is "Who can perform sensitive actions": disable or
// enable users (accountEnabled), update businessPhones, mobilePhone,
// onPremisesImmutableId, otherMails, passwordProfile or userPrincipalName,
// delete or restore users.
//
// Source: https://learn.microsoft.com/en-us/entra/identity/role-based-access-control/privileged-roles-permissions#who-can-perform-sensitive-actions
// (reference entra-revocation.md §2.5), tenant-scoped assignments,
// transcribed from merill/entra-docs-mirror
// docs/identity/role-based-access-control/privileged-roles-permissions.md at
// 60bcd50e1af971935deeb319919e97377003548e. Its rows are those of
// resetPasswordTable; its columns are four of that table's six, with the
// same cells (no Password or Helpdesk Administrator column: those roles
// cannot perform sensitive actions on anyone). The Azure AD era revision
// (MicrosoftDocs/azure-docs, as above) differs only as resetPasswordTable's
// does: "All custom roles" for the last row, and no User Experience Success
// Manager row.
var sensitiveActionsTable = newActorTable("Who can perform sensitive actions",
	[]string{
		roleAuthenticationAdministrator, roleUserAdministrator,
		rolePrivilegedAuthenticationAdministrator, roleGlobalAdministrator,
	},
	[]tableRow{
		// Target ↓ / actor →                                                                        Auth User PrivAuth Global
		{"Auth Admin", rowRole, roleAuthenticationAdministrator, []bool{yes, no, yes, yes}},
		{"Directory Readers", rowRole, roleDirectoryReaders, []bool{yes, yes, yes, yes}},
		{"Global Admin", rowRole, roleGlobalAdministrator, []bool{no, no, yes, yes}},
		{"Groups Admin", rowRole, roleGroupsAdministrator, []bool{no, yes, yes, yes}},
		{"Guest Inviter", rowRole, roleGuestInviter, []bool{yes, yes, yes, yes}},
		{"Helpdesk Admin", rowRole, roleHelpdeskAdministrator, []bool{no, yes, yes, yes}},
		{"Message Center Reader", rowRole, roleMessageCenterReader, []bool{yes, yes, yes, yes}},
		{"Password Admin", rowRole, rolePasswordAdministrator, []bool{yes, yes, yes, yes}},
		{"Privileged Auth Admin", rowRole, rolePrivilegedAuthenticationAdministrator, []bool{no, no, yes, yes}},
		{"Privileged Role Admin", rowRole, rolePrivilegedRoleAdministrator, []bool{no, no, yes, yes}},
		{"Reports Reader", rowRole, roleReportsReader, []bool{yes, yes, yes, yes}},
		{"User (no admin role)", rowNoRole, "", []bool{yes, yes, yes, yes}},
		{"User (no admin role, but member or owner of a role-assignable group)", rowRoleAssignableGroup, "", []bool{no, no, yes, yes}},
		{"User with a role scoped to a restricted management administrative unit", rowRestrictedAU, "", []bool{no, no, yes, yes}},
		{"User Admin", rowRole, roleUserAdministrator, []bool{no, yes, yes, yes}},
		{"User Experience Success Manager", rowRole, roleUserExperienceSuccessManager, []bool{yes, yes, yes, yes}},
		{"Usage Summary Reports Reader", rowRole, roleUsageSummaryReportsReader, []bool{yes, yes, yes, yes}},
		{"All other built-in and custom roles", rowOtherRoles, "", []bool{no, no, yes, yes}},
	})

// newActorTable indexes a table. It panics on a malformed one (a row of the
// wrong width, a role row without a role, a duplicate row): the tables are
// compile-time data, and such a mistake is a programming error.
func newActorTable(name string, columns []string, rows []tableRow) *actorTable {
	t := &actorTable{name: name, columns: columns, rows: rows, byRole: map[string]int{}, special: map[rowKind]int{}}
	for i, r := range rows {
		if len(r.allowed) != len(columns) {
			panic("authz: " + name + ": row " + r.label + " has the wrong number of cells")
		}
		switch {
		case r.kind == rowRole && r.role != "":
			key := strings.ToLower(r.role)
			if _, dup := t.byRole[key]; dup {
				panic("authz: " + name + ": duplicate row for role " + r.role)
			}
			t.byRole[key] = i
		case r.kind != rowRole && r.role == "":
			if _, dup := t.special[r.kind]; dup {
				panic("authz: " + name + ": duplicate row " + r.label)
			}
			t.special[r.kind] = i
		default:
			panic("authz: " + name + ": row " + r.label + " has a role and a kind that disagree")
		}
	}
	for _, k := range []rowKind{rowNoRole, rowRoleAssignableGroup, rowRestrictedAU, rowOtherRoles} {
		if _, ok := t.special[k]; !ok {
			panic("authz: " + name + ": a special row is missing")
		}
	}
	return t
}

// columnsOf returns the indexes of the columns whose role is among roles
// (template ids, compared case-insensitively).
func (t *actorTable) columnsOf(roles []string) []int {
	var out []int
	for i, c := range t.columns {
		for _, r := range roles {
			if strings.EqualFold(r, c) {
				out = append(out, i)
				break
			}
		}
	}
	return out
}

// coversEveryRow reports whether the columns cols together tick every row,
// so that the answer does not depend on the target.
func (t *actorTable) coversEveryRow(cols []int) bool {
	for i := range t.rows {
		if _, ok := t.firstAllowed(i, cols); !ok {
			return false
		}
	}
	return true
}

// firstAllowed returns the first of cols that row i ticks.
func (t *actorTable) firstAllowed(i int, cols []int) (int, bool) {
	for _, c := range cols {
		if t.rows[i].allowed[c] {
			return c, true
		}
	}
	return 0, false
}

// applicableRow is a row that governs a target, with the role that
// selected it (for rowRole and rowOtherRoles).
type applicableRow struct {
	row  int
	role string
}

// rowsFor returns every row that governs target: one per role it holds (a
// role without a row of its own falls in "All other built-in and custom
// roles"), the role-assignable group row and the restricted
// administrative unit row when they apply, and "User (no admin role)" when
// nothing else does. The actor must be allowed by each of them. Ids are
// compared case-insensitively and otherwise exactly: anything that is not a
// named role's id, "" included, falls in the strictest role row.
func (t *actorTable) rowsFor(target Target) []applicableRow {
	var out []applicableRow
	seen := map[string]bool{}
	for _, r := range target.RoleTemplateIDs {
		key := strings.ToLower(r)
		if seen[key] {
			continue
		}
		seen[key] = true
		if i, ok := t.byRole[key]; ok {
			out = append(out, applicableRow{row: i, role: key})
		} else {
			out = append(out, applicableRow{row: t.special[rowOtherRoles], role: r})
		}
	}
	if target.RoleAssignableGroupMember {
		out = append(out, applicableRow{row: t.special[rowRoleAssignableGroup]})
	}
	if target.RestrictedManagementAU {
		out = append(out, applicableRow{row: t.special[rowRestrictedAU]})
	}
	if len(out) == 0 {
		out = append(out, applicableRow{row: t.special[rowNoRole]})
	}
	return out
}
