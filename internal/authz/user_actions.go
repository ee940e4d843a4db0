package authz

import (
	"context"
	"fmt"
	"slices"
	"strings"
)

// Action is an operation on a user account that Entra allows only to
// callers whose authority covers the target user: revoking sessions,
// resetting the password, and the other sensitive actions. Each has its own
// permissions and its own table of which roles may act on which users
// (user_tables.go).
type Action int

// Actions CanActOnUser decides.
const (
	// ActionRevokeSessions invalidates the user's refresh tokens and
	// sign-in sessions: revokeSignInSessions
	// (https://learn.microsoft.com/en-us/graph/api/user-revokesigninsessions?view=graph-rest-1.0#permissions),
	// the beta invalidateAllRefreshTokens, ending a user's session, and each
	// user of a bulk revocation. Governed by "Who can reset passwords", whose
	// columns "can reset passwords and invalidate refresh tokens"
	// (https://learn.microsoft.com/en-us/entra/identity/role-based-access-control/privileged-roles-permissions#who-can-reset-passwords).
	ActionRevokeSessions Action = iota + 1
	// ActionResetPassword sets another user's password (Graph: PATCH
	// passwordProfile,
	// https://learn.microsoft.com/en-us/graph/api/user-update?view=graph-rest-1.0#properties).
	// Governed by "Who can reset passwords", as ActionRevokeSessions.
	ActionResetPassword
	// ActionSensitiveUpdate changes a sensitive property of a user
	// (accountEnabled, businessPhones, mobilePhone, otherMails,
	// onPremisesImmutableId, passwordProfile, userPrincipalName) or deletes
	// or restores one. Governed by "Who can perform sensitive actions"
	// (https://learn.microsoft.com/en-us/entra/identity/role-based-access-control/privileged-roles-permissions#who-can-perform-sensitive-actions).
	//
	// A request that changes passwordProfile and nothing else sensitive is a
	// password reset: check ActionResetPassword, whose table adds the
	// Password and Helpdesk Administrator columns. Entra also lets those two
	// roles update businessPhones, mobilePhone and otherMails of the users
	// whose password they may reset; Vigil does not (it checks those with
	// this action), which only ever refuses more.
	ActionSensitiveUpdate
)

var actionNames = map[Action]string{
	ActionRevokeSessions:  "revoke sign-in sessions",
	ActionResetPassword:   "reset password",
	ActionSensitiveUpdate: "sensitive update",
}

// String names the action for logs and audit records.
func (a Action) String() string {
	if s, ok := actionNames[a]; ok {
		return s
	}
	return fmt.Sprintf("action(%d)", int(a))
}

// Target describes the user being acted on: the facts CanActOnUser needs,
// which the caller reads from the directory (or with LoadTarget).
type Target struct {
	// UserID is the target's object id; CanActOnUser compares it with the
	// caller's (Principal.ObjectID) to recognise acting on oneself.
	UserID string
	// RoleTemplateIDs are the target's effective directory roles at tenant
	// scope: assigned directly or through a role-assignable group (what
	// its own tokens carry in wids).
	RoleTemplateIDs []string
	// RoleAssignableGroupMember says the target is a member (or owner) of
	// at least one role-assignable group, whether or not the group holds a
	// role: only Privileged Authentication and Global Administrators may
	// act on such users
	// (https://learn.microsoft.com/en-us/entra/identity/role-based-access-control/groups-concept#how-are-role-assignable-groups-protected).
	RoleAssignableGroupMember bool
	// RestrictedManagementAU says the target holds a role scoped to a
	// restricted management administrative unit. Vigil has no
	// administrative units, so this is always false today; the tables keep
	// the row.
	RestrictedManagementAU bool
}

// Decision is the answer of CanActOnUser.
type Decision struct {
	// Allowed says whether the caller may perform the action.
	Allowed bool
	// Reason explains the answer in a sentence, for a 403 message and the
	// audit record: what allowed it, or what is missing.
	Reason string
}

// Graph permissions the rules below name (Graph's own names; the catalogue
// is graph_permissions.go).
const (
	permUserRevokeSessionsAll    = "User.RevokeSessions.All"
	permUserReadWrite            = "User.ReadWrite"
	permUserReadWriteAll         = "User.ReadWrite.All"
	permDirectoryReadWriteAll    = "Directory.ReadWrite.All"
	permDirectoryAccessAsUserAll = "Directory.AccessAsUser.All"
)

// actionRule is what one Action requires of a caller.
type actionRule struct {
	verb  string      // completes "may not … this user"
	table *actorTable // which roles may act on which targets

	// appPermissions: an app-only caller needs one of these application
	// permissions (roles claim).
	appPermissions []string
	// appActsAs: when set, an app-only caller must also be covered by
	// table, acting with these roles in addition to any its token carries;
	// when nil, the permission alone suffices for any target.
	appActsAs []string
	// delegatedScopes: a delegated caller needs one of these scopes, and
	// its directory roles must cover the target in table.
	delegatedScopes []string
	// selfScopes: when set, a delegated caller acting on their own account
	// needs only one of these scopes, and no role.
	selfScopes []string
	// privilegedScope: when set, a delegated caller also needs this scope
	// if the target is beyond the User Administrator column of table.
	privilegedScope string
}

// actionRules are the rules of each Action. Sources:
//
//   - ActionRevokeSessions: Graph's permissions table of
//     revokeSignInSessions (reference entra-revocation.md §2.1): delegated
//     User.RevokeSessions.All (least privileged), User.ReadWrite.All,
//     Directory.ReadWrite.All, and Directory.AccessAsUser.All (listed by
//     the 2019–2020 revisions); application User.RevokeSessions.All, with
//     User.ReadWrite.All and Directory.ReadWrite.All as listed by earlier
//     revisions and shown to work. An application needs no directory role,
//     as in Graph. A delegated caller also needs a role that covers the
//     target ("Delegated calls also need an Entra role", §2.1; the table of
//     §2.4), except on their own account, where User.RevokeSessions.All or
//     User.ReadWrite (the delegated permission the 2019–2020 revisions
//     listed; a Nov 2020 docs issue found it insufficient for other users)
//     or a broader scope suffices, as issue 4 decides for /me.
//   - ActionResetPassword: Graph's update user, property passwordProfile
//     (https://learn.microsoft.com/en-us/graph/api/user-update?view=graph-rest-1.0#properties):
//     "In delegated access, the calling app must be assigned the
//     Directory.AccessAsUser.All delegated permission on behalf of the
//     signed-in user. In application-only access, the calling app must be
//     assigned the User.ReadWrite.All (least privilege) or
//     Directory.ReadWrite.All (higher privilege) application permission and
//     at least the User Administrator Microsoft Entra role." (Newer
//     revisions add User-PasswordProfile.ReadWrite.All, which Vigil's
//     catalogue does not have.)
//   - ActionSensitiveUpdate: update user and delete user
//     (https://learn.microsoft.com/en-us/graph/api/user-update?view=graph-rest-1.0#permissions,
//     https://learn.microsoft.com/en-us/graph/api/user-delete?view=graph-rest-1.0#permissions):
//     User.ReadWrite.All or Directory.ReadWrite.All (delegated or
//     application); "to update sensitive user properties, such as
//     accountEnabled, mobilePhone, and otherMails for users with privileged
//     administrator roles: in delegated scenarios, the app must be assigned
//     the Directory.AccessAsUser.All delegated permission and the calling
//     user must have a higher privileged administrator role as indicated in
//     Who can perform sensitive actions; in app-only scenarios, the app must
//     be assigned a higher privileged administrator role". A privileged
//     target is one the User Administrator column does not cover, as in
//     internal/graph's guards.
//
// Vigil's application tokens carry no directory roles (service principals
// get no wids), so an application cannot hold the role Graph requires for
// ActionResetPassword and ActionSensitiveUpdate. Vigil lets the application
// permission stand for the least of them, User Administrator (appActsAs):
// an application may reset passwords and perform sensitive actions on the
// users a User Administrator may, and on no one else. The targets only a
// Privileged Authentication or Global Administrator may act on (Global
// Administrators among them) are reserved to signed-in administrators, so
// User.ReadWrite.All is never a path to a Global Administrator's account.
var actionRules = map[Action]actionRule{
	ActionRevokeSessions: {
		verb:            "revoke the sign-in sessions of",
		table:           resetPasswordTable,
		appPermissions:  []string{permUserRevokeSessionsAll, permUserReadWriteAll, permDirectoryReadWriteAll},
		delegatedScopes: []string{permUserRevokeSessionsAll, permUserReadWriteAll, permDirectoryReadWriteAll, permDirectoryAccessAsUserAll},
		selfScopes:      []string{permUserRevokeSessionsAll, permUserReadWrite, permUserReadWriteAll, permDirectoryReadWriteAll, permDirectoryAccessAsUserAll},
	},
	ActionResetPassword: {
		verb:            "reset the password of",
		table:           resetPasswordTable,
		appPermissions:  []string{permUserReadWriteAll, permDirectoryReadWriteAll},
		appActsAs:       []string{roleUserAdministrator},
		delegatedScopes: []string{permDirectoryAccessAsUserAll},
	},
	ActionSensitiveUpdate: {
		verb:            "perform sensitive actions on",
		table:           sensitiveActionsTable,
		appPermissions:  []string{permUserReadWriteAll, permDirectoryReadWriteAll},
		appActsAs:       []string{roleUserAdministrator},
		delegatedScopes: []string{permUserReadWriteAll, permDirectoryReadWriteAll, permDirectoryAccessAsUserAll},
		privilegedScope: permDirectoryAccessAsUserAll,
	},
}

// CanActOnUser decides whether p may perform a on the user t. It reads
// nothing: the caller supplies the target's facts (see LoadTarget and
// CanActOnUserID to read them).
//
// An app-only caller needs one of the action's application permissions
// (roles claim). For ActionRevokeSessions that is all; for the other
// actions the application acts as a User Administrator (see actionRules for
// why) plus any roles its token carries, and must be covered by the table.
//
// A delegated caller needs one of the action's scopes (scp claim), and its
// directory roles (Principal.RoleTemplateIDs, the wids claim) must cover
// the target in the action's table: for every row that governs the target
// (one per role the target holds, "All other built-in and custom roles" for
// a role the table does not name, the role-assignable group and restricted
// administrative unit rows when they apply, "User (no admin role)" when
// none does) the caller must hold at least one role whose column ticks that
// row. One row not covered refuses the action, so the strictest of the
// target's roles decides, and any one of the caller's roles may cover a
// row. Tables: Entra's "Who can reset passwords" for ActionRevokeSessions
// and ActionResetPassword, "Who can perform sensitive actions" for
// ActionSensitiveUpdate
// (https://learn.microsoft.com/en-us/entra/identity/role-based-access-control/privileged-roles-permissions#who-can-reset-passwords,
// #who-can-perform-sensitive-actions).
//
// A delegated caller revoking their own sessions (t.UserID equal to
// p.ObjectID) needs only User.RevokeSessions.All, User.ReadWrite or a
// broader scope, and no role. The other actions on oneself follow the
// tables like any target; a user's self-service properties and password
// change are not decided here.
//
// A nil principal, a principal of unknown kind, and an unknown action are
// refused.
func CanActOnUser(p *Principal, a Action, t Target) Decision {
	d, _ := decide(p, a, t.UserID, func() (Target, error) { return t, nil })
	return d
}

// TargetFacts reads the facts about a user that CanActOnUser needs, for
// LoadTarget and CanActOnUserID. internal/directory's Service has
// EffectiveRoles with this signature; with an IsRoleAssignableGroupMember
// (its role-assignable groups of the user, non-empty) it satisfies the
// interface.
type TargetFacts interface {
	// EffectiveRoles returns the role template ids userID holds at tenant
	// scope, directly or through role-assignable groups.
	EffectiveRoles(ctx context.Context, userID string) ([]string, error)
	// IsRoleAssignableGroupMember reports whether userID is a member or
	// owner of any role-assignable group.
	IsRoleAssignableGroupMember(ctx context.Context, userID string) (bool, error)
}

// LoadTarget reads the Target for userID from f. Errors from f are
// returned wrapped.
func LoadTarget(ctx context.Context, f TargetFacts, userID string) (Target, error) {
	roles, err := f.EffectiveRoles(ctx, userID)
	if err != nil {
		return Target{}, fmt.Errorf("authz: target roles of %s: %w", userID, err)
	}
	member, err := f.IsRoleAssignableGroupMember(ctx, userID)
	if err != nil {
		return Target{}, fmt.Errorf("authz: role-assignable groups of %s: %w", userID, err)
	}
	return Target{UserID: userID, RoleTemplateIDs: roles, RoleAssignableGroupMember: member}, nil
}

// CanActOnUserID is CanActOnUser for the user userID, whose facts it reads
// from f only when the answer depends on them: not for an app-only
// revocation, a revocation of one's own sessions, a caller refused for its
// permissions alone, or a caller whose roles cover every row (a Global or
// Privileged Authentication Administrator). An error from f is returned
// (wrapped) with a zero Decision.
//
// It does not check that the user exists: a user f knows nothing of is a
// user without roles, so callers answer 404 first. A bulk operation over
// many users should not call it per user: the users holding a role or
// belonging to a role-assignable group are few, so read them once, and
// call CanActOnUser with Target{UserID: id} for everyone else.
func CanActOnUserID(ctx context.Context, f TargetFacts, p *Principal, a Action, userID string) (Decision, error) {
	return decide(p, a, userID, func() (Target, error) { return LoadTarget(ctx, f, userID) })
}

// decide is CanActOnUser with the target's facts read on demand, and its
// UserID given up front (acting on oneself needs no facts).
func decide(p *Principal, a Action, userID string, target func() (Target, error)) (Decision, error) {
	rule, ok := actionRules[a]
	if !ok {
		return deny("unknown action %s", a), nil
	}
	if p == nil {
		return deny("no authenticated caller"), nil
	}
	var (
		via   string   // the permission that let the caller in
		roles []string // the roles the caller acts with
		as    string   // how the caller holds those roles, in reasons
	)
	switch p.Kind {
	case AppOnly:
		perm, ok := firstHeld(p.Roles, rule.appPermissions)
		if !ok {
			return deny("to %s a user, an application needs the application permission %s", rule.verb, orList(rule.appPermissions)), nil
		}
		via = "application permission " + perm
		if rule.appActsAs == nil {
			return allow("%s", via), nil
		}
		roles = append(slices.Clone(rule.appActsAs), p.RoleTemplateIDs...)
		as = "an application, acting as "
	case Delegated:
		if rule.selfScopes != nil && isSelf(p, userID) {
			s, ok := firstHeld(p.Scopes, rule.selfScopes)
			if !ok {
				return deny("to %s oneself, the delegated permission %s is required", rule.verb, orList(rule.selfScopes)), nil
			}
			return allow("own account, delegated permission %s", s), nil
		}
		s, ok := firstHeld(p.Scopes, rule.delegatedScopes)
		if !ok {
			return deny("to %s a user, the delegated permission %s is required", rule.verb, orList(rule.delegatedScopes)), nil
		}
		via = "delegated permission " + s
		roles = p.RoleTemplateIDs
		as = "the signed-in user, as "
	default:
		return deny("unknown kind of caller"), nil
	}

	tb := rule.table
	cols := tb.columnsOf(roles)
	if len(cols) == 0 {
		return deny("the signed-in user holds none of the directory roles that may %s other users (%s)", rule.verb, orList(roleNamesOf(tb.columns))), nil
	}
	_, hasPrivilegedScope := firstHeld(p.Scopes, []string{rule.privilegedScope})
	needScope := p.Kind == Delegated && rule.privilegedScope != "" && !hasPrivilegedScope
	if tb.coversEveryRow(cols) && !needScope {
		return allow("%s, %s", andList(roleNamesOf(pick(tb.columns, cols))), via), nil
	}

	t, err := target()
	if err != nil {
		return Decision{}, err
	}
	var (
		used    []int
		missing []string
	)
	userAdmin := tb.columnsOf([]string{roleUserAdministrator})
	for _, ar := range tb.rowsFor(t) {
		c, ok := tb.firstAllowed(ar.row, cols)
		if !ok {
			missing = append(missing, fmt.Sprintf("%s requires %s", describeRow(tb, ar), orList(roleNamesOf(tb.allowedColumns(ar.row)))))
			continue
		}
		if !slices.Contains(used, c) {
			used = append(used, c)
		}
		if _, limited := tb.firstAllowed(ar.row, userAdmin); needScope && !limited {
			return deny("to %s a user with privileged administrator roles (%s), the delegated permission %s is required", rule.verb, describeRow(tb, ar), rule.privilegedScope), nil
		}
	}
	if len(missing) > 0 {
		return deny("%s%s, may not %s this user: %s", as, andList(roleNamesOf(pick(tb.columns, cols))), rule.verb, strings.Join(missing, "; ")), nil
	}
	slices.Sort(used)
	return allow("%s, %s", andList(roleNamesOf(pick(tb.columns, used))), via), nil
}

// allowedColumns returns the role ids of the columns that tick row i.
func (t *actorTable) allowedColumns(i int) []string {
	var out []string
	for c, ok := range t.rows[i].allowed {
		if ok {
			out = append(out, t.columns[c])
		}
	}
	return out
}

// describeRow names the reason a row governs a target, for Decision
// reasons.
func describeRow(t *actorTable, ar applicableRow) string {
	switch t.rows[ar.row].kind {
	case rowRole:
		return "the role " + roleNames[t.rows[ar.row].role]
	case rowOtherRoles:
		return fmt.Sprintf("the role %q (one of all other built-in and custom roles)", ar.role)
	case rowRoleAssignableGroup:
		return "membership of a role-assignable group"
	case rowRestrictedAU:
		return "a role scoped to a restricted management administrative unit"
	default:
		return "a user with no admin role"
	}
}

func isSelf(p *Principal, userID string) bool {
	return userID != "" && strings.EqualFold(userID, p.ObjectID)
}

// firstHeld returns the first of want (in want's order) that held contains,
// comparing case-insensitively as Graph compares permission values.
func firstHeld(held, want []string) (string, bool) {
	for _, w := range want {
		for _, h := range held {
			if strings.EqualFold(h, w) {
				return w, true
			}
		}
	}
	return "", false
}

func pick(ids []string, idx []int) []string {
	out := make([]string, len(idx))
	for i, j := range idx {
		out[i] = ids[j]
	}
	return out
}

func roleNamesOf(ids []string) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = roleNames[id]
	}
	return out
}

// orList joins names as "a, b or c"; andList as "a, b and c".
func orList(names []string) string  { return joinList(names, " or ") }
func andList(names []string) string { return joinList(names, " and ") }

func joinList(names []string, last string) string {
	if len(names) <= 1 {
		return strings.Join(names, "")
	}
	return strings.Join(names[:len(names)-1], ", ") + last + names[len(names)-1]
}

func allow(format string, args ...any) Decision {
	return Decision{Allowed: true, Reason: "allowed: " + fmt.Sprintf(format, args...)}
}

func deny(format string, args ...any) Decision {
	return Decision{Reason: fmt.Sprintf(format, args...)}
}
