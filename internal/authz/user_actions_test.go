package authz

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
)

// resetGrid is the "Who can reset passwords" matrix exactly as the
// project's reference entra-revocation.md §2.4 prints it (Y ticked, – not;
// Y* is a tick with a footnote marker). It is the expected answer for
// ActionRevokeSessions and ActionResetPassword, written independently of
// the Go table in user_tables.go.
const resetGrid = `
| Target ↓ / Actor → | Password Admin | Helpdesk Admin | Auth Admin | User Admin | Priv Auth Admin | Global Admin |
|---|---|---|---|---|---|---|
| Auth Admin | – | – | Y | – | Y | Y |
| Directory Readers | Y | Y | Y | Y | Y | Y |
| Global Admin | – | – | – | – | Y | Y* |
| Groups Admin | – | – | – | Y | Y | Y |
| Guest Inviter | Y | Y | Y | Y | Y | Y |
| Helpdesk Admin | – | Y | – | Y | Y | Y |
| Message Center Reader | – | Y | Y | Y | Y | Y |
| Password Admin | Y | Y | Y | Y | Y | Y |
| Privileged Auth Admin | – | – | – | – | Y | Y |
| Privileged Role Admin | – | – | – | – | Y | Y |
| Reports Reader | – | Y | Y | Y | Y | Y |
| User (no admin role) | Y | Y | Y | Y | Y | Y |
| User (no role, but member/owner of a role-assignable group) | – | – | – | – | Y | Y |
| User with a role scoped to a restricted-management admin unit | – | – | – | – | Y | Y |
| User Admin | – | – | – | Y | Y | Y |
| User Experience Success Manager | – | Y | Y | Y | Y | Y |
| Usage Summary Reports Reader | – | Y | Y | Y | Y | Y |
| All other built-in and custom roles | – | – | – | – | Y | Y |
`

// sensitiveGrid is "Who can perform sensitive actions" as Microsoft's page
// prints it (privileged-roles-permissions#who-can-perform-sensitive-actions,
// merill/entra-docs-mirror 60bcd50e; ✅ ticked), the expected answer for
// ActionSensitiveUpdate. Password and Helpdesk Administrator are no columns
// of it: they may perform sensitive actions on no one.
const sensitiveGrid = `
| Role that sensitive action can be performed upon | Auth Admin | User Admin | Privileged Auth Admin | Global Admin |
| --- | --- | --- | --- | --- |
| Auth Admin | ✅ |  | ✅ | ✅ |
| Directory Readers | ✅ | ✅ | ✅ | ✅ |
| Global Admin |  |  | ✅ | ✅ |
| Groups Admin |  | ✅ | ✅ | ✅ |
| Guest Inviter | ✅ | ✅ | ✅ | ✅ |
| Helpdesk Admin |  | ✅ | ✅ | ✅ |
| Message Center Reader | ✅ | ✅ | ✅ | ✅ |
| Password Admin | ✅ | ✅ | ✅ | ✅ |
| Privileged Auth Admin |  |  | ✅ | ✅ |
| Privileged Role Admin |  |  | ✅ | ✅ |
| Reports Reader | ✅ | ✅ | ✅ | ✅ |
| User(no admin role) | ✅ | ✅ | ✅ | ✅ |
| User(no admin role, but member or owner of a role-assignable group) |  |  | ✅ | ✅ |
| User with a role scoped to a restricted management administrative unit |  |  | ✅ | ✅ |
| User Admin |  | ✅ | ✅ | ✅ |
| User Experience Success Manager | ✅ | ✅ | ✅ | ✅ |
| Usage Summary Reports Reader | ✅ | ✅ | ✅ | ✅ |
| All other built-in and custom roles |  |  | ✅ | ✅ |
`

// actionGrids pairs each action with the grid that is its expected answer.
var actionGrids = []struct {
	action Action
	grid   string
}{{ActionRevokeSessions, resetGrid}, {ActionResetPassword, resetGrid}, {ActionSensitiveUpdate, sensitiveGrid}}

// docLabels maps the abbreviated role labels of the grids to catalogue
// display names.
var docLabels = map[string]string{
	"Password Admin":        "Password Administrator",
	"Helpdesk Admin":        "Helpdesk Administrator",
	"Auth Admin":            "Authentication Administrator",
	"User Admin":            "User Administrator",
	"Priv Auth Admin":       "Privileged Authentication Administrator",
	"Privileged Auth Admin": "Privileged Authentication Administrator",
	"Global Admin":          "Global Administrator",
	"Groups Admin":          "Groups Administrator",
	"Privileged Role Admin": "Privileged Role Administrator",
	// Labels that are already display names.
	"Directory Readers":               "Directory Readers",
	"Guest Inviter":                   "Guest Inviter",
	"Message Center Reader":           "Message Center Reader",
	"Reports Reader":                  "Reports Reader",
	"User Experience Success Manager": "User Experience Success Manager",
	"Usage Summary Reports Reader":    "Usage Summary Reports Reader",
}

// gridRow is one parsed row: the targets it stands for and its cells.
type gridRow struct {
	label   string
	targets []namedTarget
	cells   []bool
}

type namedTarget struct {
	name string
	t    Target
}

type grid struct {
	actors []string // role ids by column
	names  []string // column labels
	rows   []gridRow
}

// otherRoles are targets of the "All other built-in and custom roles" row:
// every catalogue role the grids do not name, and ids of no role at all
// (custom roles, garbage, empty), which must fall in that row too.
func otherRoles(t *testing.T) []namedTarget {
	named := map[string]bool{}
	for _, name := range docLabels {
		named[name] = true
	}
	var out []namedTarget
	for _, r := range catalogueRoles {
		if !named[r.name] {
			out = append(out, namedTarget{r.name, Target{UserID: "target", RoleTemplateIDs: []string{r.id}}})
		}
	}
	if len(out) != 13 {
		t.Fatalf("%d catalogue roles outside the grid; want 13", len(out))
	}
	for _, id := range []string{"00000000-0000-0000-0000-00000000c0de", "not-a-role", ""} {
		out = append(out, namedTarget{fmt.Sprintf("custom %q", id), Target{UserID: "target", RoleTemplateIDs: []string{id}}})
	}
	return out
}

func parseGrid(t *testing.T, text string) grid {
	t.Helper()
	var g grid
	for _, line := range strings.Split(strings.TrimSpace(text), "\n") {
		cells := strings.Split(strings.Trim(strings.TrimSpace(line), "|"), "|")
		for i := range cells {
			cells[i] = strings.TrimSpace(cells[i])
		}
		if strings.HasPrefix(cells[0], "-") || strings.HasPrefix(cells[0], "---") {
			continue // separator
		}
		if g.actors == nil {
			for _, label := range cells[1:] {
				g.actors = append(g.actors, catalogueID(t, docLabels[label]))
				g.names = append(g.names, label)
			}
			continue
		}
		if len(cells) != len(g.actors)+1 {
			t.Fatalf("grid row %q has %d cells", line, len(cells)-1)
		}
		row := gridRow{label: cells[0]}
		for _, c := range cells[1:] {
			switch c {
			case "Y", "Y*", "✅":
				row.cells = append(row.cells, true)
			case "–", "":
				row.cells = append(row.cells, false)
			default:
				t.Fatalf("grid row %q: cell %q", line, c)
			}
		}
		label := row.label
		switch {
		case strings.HasPrefix(label, "User (no admin role)"), strings.HasPrefix(label, "User(no admin role)"):
			row.targets = []namedTarget{{"no role", Target{UserID: "target"}}}
		case strings.Contains(label, "role-assignable group"):
			row.targets = []namedTarget{{"role-assignable group member", Target{UserID: "target", RoleAssignableGroupMember: true}}}
		case strings.Contains(label, "admin unit") || strings.Contains(label, "administrative unit"):
			row.targets = []namedTarget{{"restricted AU", Target{UserID: "target", RestrictedManagementAU: true}}}
		case label == "All other built-in and custom roles":
			row.targets = otherRoles(t)
		default:
			name, ok := docLabels[label]
			if !ok {
				t.Fatalf("grid row label %q unknown", label)
			}
			row.targets = []namedTarget{{name, Target{UserID: "target", RoleTemplateIDs: []string{catalogueID(t, name)}}}}
		}
		g.rows = append(g.rows, row)
	}
	if len(g.rows) != 18 {
		t.Fatalf("grid has %d rows; want 18", len(g.rows))
	}
	return g
}

// admin returns a delegated principal for user "actor" with the given
// directory roles and scopes.
func admin(roles []string, scopes ...string) *Principal {
	return &Principal{Kind: Delegated, ObjectID: "actor", ClientID: "cli", Scopes: scopes, RoleTemplateIDs: roles}
}

// app returns an app-only principal with the given application
// permissions.
func app(perms ...string) *Principal {
	return &Principal{Kind: AppOnly, ObjectID: "sp-1", ClientID: "app-1", Roles: perms}
}

// check fails t unless d is as wanted and its reason is well-formed.
func check(t *testing.T, d Decision, want bool) {
	t.Helper()
	if d.Allowed != want {
		t.Errorf("Allowed = %v, want %v (reason: %s)", d.Allowed, want, d.Reason)
	}
	if d.Reason == "" || strings.HasPrefix(d.Reason, "allowed: ") != d.Allowed {
		t.Errorf("reason %q does not match Allowed = %v", d.Reason, d.Allowed)
	}
}

// TestMatrixEveryPair is the exhaustive test: every (actor role × target
// row) pair of both tables, for each action they govern, against the grids
// above. Actors hold exactly one role and a scope that suffices for the
// action, so the table alone decides.
func TestMatrixEveryPair(t *testing.T) {
	cases := []struct {
		action Action
		grid   string
		scope  string
	}{
		{ActionRevokeSessions, resetGrid, "User.RevokeSessions.All"},
		{ActionResetPassword, resetGrid, "Directory.AccessAsUser.All"},
		{ActionSensitiveUpdate, sensitiveGrid, "Directory.AccessAsUser.All"},
	}
	for _, c := range cases {
		g := parseGrid(t, c.grid)
		for col, actor := range g.actors {
			for _, row := range g.rows {
				for _, tg := range row.targets {
					name := fmt.Sprintf("%s/%s/%s/%s", c.action, g.names[col], row.label, tg.name)
					t.Run(name, func(t *testing.T) {
						check(t, CanActOnUser(admin([]string{actor}, c.scope), c.action, tg.t), row.cells[col])
					})
				}
			}
		}
	}
}

// TestSensitiveNotForPasswordRoles: Password and Helpdesk Administrator,
// columns of the reset table only, may perform sensitive actions on no one,
// not even a user without roles, while they may reset that user's password.
func TestSensitiveNotForPasswordRoles(t *testing.T) {
	for _, name := range []string{"Password Administrator", "Helpdesk Administrator"} {
		p := admin([]string{catalogueID(t, name)}, "Directory.AccessAsUser.All")
		for _, row := range parseGrid(t, resetGrid).rows {
			for _, tg := range row.targets {
				t.Run(name+"/"+row.label+"/"+tg.name, func(t *testing.T) {
					check(t, CanActOnUser(p, ActionSensitiveUpdate, tg.t), false)
				})
			}
		}
		t.Run(name+"/reset no-role user", func(t *testing.T) {
			check(t, CanActOnUser(p, ActionResetPassword, Target{UserID: "target"}), true)
		})
	}
}

// roleRows returns the grid rows that stand for one role each, with the
// role (for "all other roles", one representative, Security Administrator),
// and their cells.
func roleRows(t *testing.T, g grid) (labels, roles []string, cells [][]bool) {
	for _, row := range g.rows {
		tg := row.targets[0].t
		if len(tg.RoleTemplateIDs) != 1 {
			continue
		}
		labels = append(labels, row.label)
		roles = append(roles, tg.RoleTemplateIDs[0])
		cells = append(cells, row.cells)
	}
	if len(roles) != 15 {
		t.Fatalf("%d role rows; want 14 named roles and all-other", len(roles))
	}
	return labels, roles, cells
}

// TestTargetWithSeveralRoles: a target holding two roles is governed by
// both rows; the actor needs a column ticked in each (the strictest wins).
// Every pair of role rows, every actor column, all three actions.
func TestTargetWithSeveralRoles(t *testing.T) {
	for _, c := range actionGrids {
		g := parseGrid(t, c.grid)
		labels, roles, cells := roleRows(t, g)
		t.Run(c.action.String(), func(t *testing.T) {
			n := 0
			for col, actor := range g.actors {
				p := admin([]string{actor}, "Directory.AccessAsUser.All")
				for i := range roles {
					for j := i + 1; j < len(roles); j++ {
						want := cells[i][col] && cells[j][col]
						for _, order := range [][]string{{roles[i], roles[j]}, {roles[j], roles[i]}} {
							d := CanActOnUser(p, c.action, Target{UserID: "target", RoleTemplateIDs: order})
							if d.Allowed != want {
								t.Errorf("%s on {%s, %s}: Allowed = %v, want %v (%s)", g.names[col], labels[i], labels[j], d.Allowed, want, d.Reason)
							}
							n++
						}
					}
				}
			}
			if n != len(g.actors)*15*14 {
				t.Fatalf("checked %d pairs", n)
			}
		})
	}

	// Named cases, each also above, spelled out.
	hd, ua := catalogueID(t, "Helpdesk Administrator"), catalogueID(t, "User Administrator")
	dr, ga := catalogueID(t, "Directory Readers"), catalogueID(t, "Global Administrator")
	ga2, sec := catalogueID(t, "Groups Administrator"), catalogueID(t, "Security Administrator")
	named := []struct {
		name   string
		actor  string
		target []string
		want   bool
	}{
		{"helpdesk on reader+global admin", hd, []string{dr, ga}, false},
		{"helpdesk on reader+helpdesk", hd, []string{dr, hd}, true},
		{"user admin on helpdesk+groups admin", ua, []string{hd, ga2}, true},
		{"user admin on groups admin+security admin", ua, []string{ga2, sec}, false},
		{"duplicate role ids", hd, []string{dr, strings.ToUpper(dr), dr}, true},
	}
	for _, c := range named {
		t.Run(c.name, func(t *testing.T) {
			check(t, CanActOnUser(admin([]string{c.actor}, "User.RevokeSessions.All"), ActionRevokeSessions,
				Target{UserID: "target", RoleTemplateIDs: c.target}), c.want)
		})
	}
}

// TestRoleAssignableGroupMember: membership of a role-assignable group puts
// the target out of reach of all but Privileged Authentication and Global
// Administrators, whether the target also holds roles (even only harmless
// ones) or none. The restricted-AU flag does the same.
func TestRoleAssignableGroupMember(t *testing.T) {
	g := parseGrid(t, resetGrid)
	dr := catalogueID(t, "Directory Readers")
	targets := []namedTarget{
		{"member, no role", Target{UserID: "target", RoleAssignableGroupMember: true}},
		{"member, Directory Readers", Target{UserID: "target", RoleTemplateIDs: []string{dr}, RoleAssignableGroupMember: true}},
		{"restricted AU, Directory Readers", Target{UserID: "target", RoleTemplateIDs: []string{dr}, RestrictedManagementAU: true}},
		{"member and restricted AU", Target{UserID: "target", RoleAssignableGroupMember: true, RestrictedManagementAU: true}},
	}
	for col, actor := range g.actors {
		want := g.names[col] == "Priv Auth Admin" || g.names[col] == "Global Admin"
		for _, tg := range targets {
			for _, a := range []Action{ActionRevokeSessions, ActionResetPassword, ActionSensitiveUpdate} {
				if a == ActionSensitiveUpdate && (g.names[col] == "Password Admin" || g.names[col] == "Helpdesk Admin") {
					continue // not columns of that table; TestSensitiveNotForPasswordRoles
				}
				t.Run(fmt.Sprintf("%s/%s/%s", g.names[col], tg.name, a), func(t *testing.T) {
					check(t, CanActOnUser(admin([]string{actor}, "Directory.AccessAsUser.All"), a, tg.t), want)
				})
			}
		}
	}
	t.Run("reason names the membership", func(t *testing.T) {
		d := CanActOnUser(admin([]string{catalogueID(t, "User Administrator")}, "User.ReadWrite.All"), ActionRevokeSessions, targets[0].t)
		if d.Allowed || !strings.Contains(d.Reason, "role-assignable group") {
			t.Fatalf("%+v", d)
		}
	})
}

// TestActorWithSeveralRoles: any one of the actor's roles may cover a row.
// Every pair of columns on every row target; plus roles outside the table
// alongside a table role, and role ids in another case.
func TestActorWithSeveralRoles(t *testing.T) {
	for _, c := range actionGrids {
		g := parseGrid(t, c.grid)
		t.Run(c.action.String(), func(t *testing.T) {
			for i := range g.actors {
				for j := i + 1; j < len(g.actors); j++ {
					p := admin([]string{g.actors[i], g.actors[j]}, "Directory.AccessAsUser.All")
					for _, row := range g.rows {
						want := row.cells[i] || row.cells[j]
						for _, tg := range row.targets {
							if d := CanActOnUser(p, c.action, tg.t); d.Allowed != want {
								t.Errorf("%s+%s on %s (%s): Allowed = %v, want %v (%s)", g.names[i], g.names[j], row.label, tg.name, d.Allowed, want, d.Reason)
							}
						}
					}
				}
			}
		})
	}

	hd, ua := catalogueID(t, "Helpdesk Administrator"), catalogueID(t, "User Administrator")
	sec, gr := catalogueID(t, "Security Administrator"), catalogueID(t, "Global Reader")
	groups, mcr := catalogueID(t, "Groups Administrator"), catalogueID(t, "Message Center Reader")
	named := []struct {
		name   string
		actor  []string
		target []string
		want   bool
	}{
		// Helpdesk covers the reader, User Administrator the groups admin.
		{"helpdesk+user admin on mcr+groups admin", []string{hd, ua}, []string{mcr, groups}, true},
		{"helpdesk alone on mcr+groups admin", []string{hd}, []string{mcr, groups}, false},
		{"non-table roles add nothing", []string{sec, gr, hd}, []string{groups}, false},
		{"non-table roles beside helpdesk", []string{sec, gr, hd}, []string{mcr}, true},
		{"upper-case wids", []string{strings.ToUpper(hd)}, []string{strings.ToUpper(mcr)}, true},
	}
	for _, c := range named {
		t.Run(c.name, func(t *testing.T) {
			check(t, CanActOnUser(admin(c.actor, "User.RevokeSessions.All"), ActionRevokeSessions,
				Target{UserID: "target", RoleTemplateIDs: c.target}), c.want)
		})
	}
}

// TestActorWithoutAdminRole: a signed-in user with the right scope but no
// role of the table's columns may not act on others, not even on a user
// without roles.
func TestActorWithoutAdminRole(t *testing.T) {
	actors := map[string][]string{
		"no roles":            nil,
		"directory readers":   {catalogueID(t, "Directory Readers")},
		"global reader":       {catalogueID(t, "Global Reader")},
		"security admin":      {catalogueID(t, "Security Administrator")},
		"privileged role adm": {catalogueID(t, "Privileged Role Administrator")},
		"custom role":         {"00000000-0000-0000-0000-00000000c0de"},
	}
	for name, roles := range actors {
		for _, a := range []Action{ActionRevokeSessions, ActionResetPassword, ActionSensitiveUpdate} {
			t.Run(name+"/"+a.String(), func(t *testing.T) {
				p := admin(roles, "User.RevokeSessions.All", "User.ReadWrite.All", "Directory.ReadWrite.All", "Directory.AccessAsUser.All")
				d := CanActOnUser(p, a, Target{UserID: "target"})
				check(t, d, false)
				if !strings.Contains(d.Reason, "none of the directory roles") {
					t.Errorf("reason %q", d.Reason)
				}
			})
		}
	}
}

// TestDelegatedScopes: the scope and the role are both required. Each
// scope that suffices for an action, each that does not, and a Global
// Administrator (who covers every target) with the wrong scope.
func TestDelegatedScopes(t *testing.T) {
	ga := []string{catalogueID(t, "Global Administrator")}
	hd := []string{catalogueID(t, "Helpdesk Administrator")}
	plain := Target{UserID: "target"}
	cases := []struct {
		action Action
		scopes []string
		want   bool
	}{
		{ActionRevokeSessions, []string{"User.RevokeSessions.All"}, true},
		{ActionRevokeSessions, []string{"User.ReadWrite.All"}, true},
		{ActionRevokeSessions, []string{"Directory.ReadWrite.All"}, true},
		{ActionRevokeSessions, []string{"Directory.AccessAsUser.All"}, true},
		{ActionRevokeSessions, []string{"openid", "user.revokesessions.all"}, true}, // Graph compares case-insensitively
		{ActionRevokeSessions, []string{"User.ReadWrite"}, false},                   // enough for oneself only
		{ActionRevokeSessions, []string{"User.Read", "User.Read.All", "Directory.Read.All"}, false},
		{ActionRevokeSessions, nil, false},
		{ActionResetPassword, []string{"Directory.AccessAsUser.All"}, true},
		{ActionResetPassword, []string{"User.ReadWrite.All", "Directory.ReadWrite.All"}, false},
		{ActionResetPassword, []string{"User.RevokeSessions.All"}, false},
		{ActionSensitiveUpdate, []string{"User.ReadWrite.All"}, true},
		{ActionSensitiveUpdate, []string{"Directory.ReadWrite.All"}, true},
		{ActionSensitiveUpdate, []string{"Directory.AccessAsUser.All"}, true},
		{ActionSensitiveUpdate, []string{"User.RevokeSessions.All", "User.ReadWrite"}, false},
	}
	for _, c := range cases {
		for name, roles := range map[string][]string{"global admin": ga, "helpdesk": hd} {
			want := c.want && (name == "global admin" || c.action != ActionSensitiveUpdate)
			t.Run(fmt.Sprintf("%s/%s/%v", c.action, name, c.scopes), func(t *testing.T) {
				check(t, CanActOnUser(admin(roles, c.scopes...), c.action, plain), want)
			})
		}
	}
	t.Run("right scope, no role", func(t *testing.T) {
		check(t, CanActOnUser(admin(nil, "User.RevokeSessions.All"), ActionRevokeSessions, plain), false)
	})
	t.Run("missing scope names the scopes", func(t *testing.T) {
		d := CanActOnUser(admin(ga, "User.Read"), ActionRevokeSessions, plain)
		check(t, d, false)
		if !strings.Contains(d.Reason, "User.RevokeSessions.All") {
			t.Errorf("reason %q", d.Reason)
		}
	})
}

// TestSensitivePrivilegedTargetScope: Graph requires
// Directory.AccessAsUser.All for sensitive actions on users with privileged
// administrator roles (those beyond the User Administrator column), even
// from a Global Administrator.
func TestSensitivePrivilegedTargetScope(t *testing.T) {
	ga := []string{catalogueID(t, "Global Administrator")}
	cases := []struct {
		name   string
		target Target
		scope  string
		want   bool
	}{
		{"plain user, User.ReadWrite.All", Target{UserID: "target"}, "User.ReadWrite.All", true},
		{"helpdesk admin, Directory.ReadWrite.All", Target{UserID: "target", RoleTemplateIDs: []string{catalogueID(t, "Helpdesk Administrator")}}, "Directory.ReadWrite.All", true},
		{"auth admin, User.ReadWrite.All", Target{UserID: "target", RoleTemplateIDs: []string{catalogueID(t, "Authentication Administrator")}}, "User.ReadWrite.All", false},
		{"auth admin, Directory.AccessAsUser.All", Target{UserID: "target", RoleTemplateIDs: []string{catalogueID(t, "Authentication Administrator")}}, "Directory.AccessAsUser.All", true},
		{"global admin, Directory.ReadWrite.All", Target{UserID: "target", RoleTemplateIDs: []string{catalogueID(t, "Global Administrator")}}, "Directory.ReadWrite.All", false},
		{"role-assignable group member, User.ReadWrite.All", Target{UserID: "target", RoleAssignableGroupMember: true}, "User.ReadWrite.All", false},
		{"custom role, Directory.AccessAsUser.All", Target{UserID: "target", RoleTemplateIDs: []string{"custom"}}, "Directory.AccessAsUser.All", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := CanActOnUser(admin(ga, c.scope), ActionSensitiveUpdate, c.target)
			check(t, d, c.want)
			if !c.want && !strings.Contains(d.Reason, "Directory.AccessAsUser.All") {
				t.Errorf("reason %q", d.Reason)
			}
		})
	}
}

// TestSelf: a signed-in user revoking their own sessions needs only a scope;
// the other actions on oneself follow the tables.
func TestSelf(t *testing.T) {
	ga := []string{catalogueID(t, "Global Administrator")}
	hd := []string{catalogueID(t, "Helpdesk Administrator")}
	me := func(roles []string, scopes ...string) *Principal {
		p := admin(roles, scopes...)
		p.ObjectID = "a1b2c3d4-0000-4000-8000-00000000000a"
		return p
	}
	self := Target{UserID: "a1b2c3d4-0000-4000-8000-00000000000a"}
	cases := []struct {
		name   string
		p      *Principal
		action Action
		target Target
		want   bool
	}{
		{"revoke, User.RevokeSessions.All, no role", me(nil, "User.RevokeSessions.All"), ActionRevokeSessions, self, true},
		{"revoke, User.ReadWrite, no role", me(nil, "User.ReadWrite"), ActionRevokeSessions, self, true},
		{"revoke, User.ReadWrite.All, no role", me(nil, "User.ReadWrite.All"), ActionRevokeSessions, self, true},
		{"revoke, Directory.ReadWrite.All, no role", me(nil, "Directory.ReadWrite.All"), ActionRevokeSessions, self, true},
		{"revoke, Directory.AccessAsUser.All, no role", me(nil, "Directory.AccessAsUser.All"), ActionRevokeSessions, self, true},
		{"revoke, User.Read only", me(nil, "User.Read", "openid"), ActionRevokeSessions, self, false},
		{"revoke, no scopes, global admin", me(ga, "openid"), ActionRevokeSessions, self, false},
		{"revoke, self who is a global admin", me(nil, "User.ReadWrite"), ActionRevokeSessions,
			Target{UserID: self.UserID, RoleTemplateIDs: ga, RoleAssignableGroupMember: true}, true},
		{"revoke, id in another case", me(nil, "User.RevokeSessions.All"), ActionRevokeSessions,
			Target{UserID: strings.ToUpper(self.UserID)}, true},
		{"revoke, another user with User.ReadWrite", me(nil, "User.ReadWrite"), ActionRevokeSessions, Target{UserID: "someone-else"}, false},
		{"revoke, empty ids are not self", &Principal{Kind: Delegated, Scopes: []string{"User.RevokeSessions.All"}}, ActionRevokeSessions, Target{}, false},
		{"reset own password, no role", me(nil, "Directory.AccessAsUser.All"), ActionResetPassword, self, false},
		{"reset own password, helpdesk", me(hd, "Directory.AccessAsUser.All"), ActionResetPassword, Target{UserID: self.UserID, RoleTemplateIDs: hd}, true},
		{"disable oneself, no role", me(nil, "User.ReadWrite.All"), ActionSensitiveUpdate, self, false},
		{"disable oneself, global admin", me(ga, "Directory.AccessAsUser.All"), ActionSensitiveUpdate, Target{UserID: self.UserID, RoleTemplateIDs: ga}, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			check(t, CanActOnUser(c.p, c.action, c.target), c.want)
		})
	}
	t.Run("app-only is never self", func(t *testing.T) {
		p := app("User.Read.All")
		check(t, CanActOnUser(p, ActionRevokeSessions, Target{UserID: p.ObjectID}), false)
	})
}

// TestAppOnly: applications need an application permission; for
// revocation that is all (any target), for password reset and sensitive
// actions they reach only what a User Administrator reaches.
func TestAppOnly(t *testing.T) {
	targets := map[string]Target{
		"plain":         {UserID: "target"},
		"helpdesk":      {UserID: "target", RoleTemplateIDs: []string{catalogueID(t, "Helpdesk Administrator")}},
		"user admin":    {UserID: "target", RoleTemplateIDs: []string{catalogueID(t, "User Administrator")}},
		"global admin":  {UserID: "target", RoleTemplateIDs: []string{catalogueID(t, "Global Administrator")}},
		"auth admin":    {UserID: "target", RoleTemplateIDs: []string{catalogueID(t, "Authentication Administrator")}},
		"group member":  {UserID: "target", RoleAssignableGroupMember: true},
		"custom role":   {UserID: "target", RoleTemplateIDs: []string{"custom"}},
		"restricted AU": {UserID: "target", RestrictedManagementAU: true},
	}
	// What a User Administrator reaches in both tables.
	userAdminReach := map[string]bool{"plain": true, "helpdesk": true, "user admin": true}
	cases := []struct {
		perms  []string
		action Action
		any    bool // allowed on every target
		reach  bool // allowed on userAdminReach
	}{
		{[]string{"User.RevokeSessions.All"}, ActionRevokeSessions, true, true},
		{[]string{"User.ReadWrite.All"}, ActionRevokeSessions, true, true},
		{[]string{"Directory.ReadWrite.All"}, ActionRevokeSessions, true, true},
		{[]string{"User.Read.All", "Directory.Read.All", "Group.ReadWrite.All"}, ActionRevokeSessions, false, false},
		{[]string{"User.ReadWrite"}, ActionRevokeSessions, false, false}, // not an application permission
		{nil, ActionRevokeSessions, false, false},
		{[]string{"User.ReadWrite.All"}, ActionResetPassword, false, true},
		{[]string{"Directory.ReadWrite.All"}, ActionResetPassword, false, true},
		{[]string{"User.RevokeSessions.All"}, ActionResetPassword, false, false},
		{[]string{"User.ReadWrite.All"}, ActionSensitiveUpdate, false, true},
		{[]string{"Directory.ReadWrite.All"}, ActionSensitiveUpdate, false, true},
		{[]string{"User.RevokeSessions.All"}, ActionSensitiveUpdate, false, false},
	}
	for _, c := range cases {
		for name, tg := range targets {
			want := c.any || (c.reach && userAdminReach[name])
			t.Run(fmt.Sprintf("%s/%v/%s", c.action, c.perms, name), func(t *testing.T) {
				check(t, CanActOnUser(app(c.perms...), c.action, tg), want)
			})
		}
	}
	t.Run("delegated scopes do not count for an app", func(t *testing.T) {
		p := app()
		p.Scopes = []string{"User.RevokeSessions.All"}
		check(t, CanActOnUser(p, ActionRevokeSessions, targets["plain"]), false)
	})
	t.Run("application permissions do not count for a user", func(t *testing.T) {
		p := admin([]string{catalogueID(t, "Global Administrator")})
		p.Roles = []string{"User.RevokeSessions.All"}
		check(t, CanActOnUser(p, ActionRevokeSessions, targets["plain"]), false)
	})
	t.Run("roles an app token carries widen its reach", func(t *testing.T) {
		p := app("User.ReadWrite.All")
		p.RoleTemplateIDs = []string{catalogueID(t, "Privileged Authentication Administrator")}
		check(t, CanActOnUser(p, ActionResetPassword, targets["global admin"]), true)
	})
}

// TestRefusedCallers: no caller, a caller of no known kind, an unknown
// action.
func TestRefusedCallers(t *testing.T) {
	ga := []string{catalogueID(t, "Global Administrator")}
	all := []string{"User.RevokeSessions.All", "User.ReadWrite.All", "Directory.ReadWrite.All", "Directory.AccessAsUser.All"}
	for _, a := range []Action{ActionRevokeSessions, ActionResetPassword, ActionSensitiveUpdate} {
		t.Run("nil principal/"+a.String(), func(t *testing.T) {
			check(t, CanActOnUser(nil, a, Target{UserID: "target"}), false)
		})
		t.Run("zero kind/"+a.String(), func(t *testing.T) {
			p := &Principal{ObjectID: "actor", Roles: all, Scopes: all, RoleTemplateIDs: ga}
			check(t, CanActOnUser(p, a, Target{UserID: "target"}), false)
		})
	}
	for _, a := range []Action{0, ActionSensitiveUpdate + 1, -1} {
		t.Run("unknown action "+a.String(), func(t *testing.T) {
			check(t, CanActOnUser(admin(ga, all...), a, Target{UserID: "target"}), false)
			check(t, CanActOnUser(app(all...), a, Target{UserID: "target"}), false)
		})
	}
}

// TestReasons: the reasons name what decided, for 403 messages and audit.
func TestReasons(t *testing.T) {
	hd := []string{catalogueID(t, "Helpdesk Administrator")}
	ga := catalogueID(t, "Global Administrator")
	d := CanActOnUser(admin(hd, "User.RevokeSessions.All"), ActionRevokeSessions,
		Target{UserID: "target", RoleTemplateIDs: []string{catalogueID(t, "Directory Readers"), ga, "custom-1"}})
	check(t, d, false)
	for _, want := range []string{"Helpdesk Administrator", "the role Global Administrator requires Privileged Authentication Administrator or Global Administrator", `"custom-1"`} {
		if !strings.Contains(d.Reason, want) {
			t.Errorf("reason %q lacks %q", d.Reason, want)
		}
	}
	if strings.Contains(d.Reason, "Directory Readers") {
		t.Errorf("reason %q names a row the caller covers", d.Reason)
	}
	d = CanActOnUser(admin(hd, "User.RevokeSessions.All"), ActionRevokeSessions, Target{UserID: "target"})
	if want := "allowed: Helpdesk Administrator, delegated permission User.RevokeSessions.All"; d.Reason != want {
		t.Errorf("reason %q, want %q", d.Reason, want)
	}
	d = CanActOnUser(app("Directory.ReadWrite.All", "User.RevokeSessions.All"), ActionRevokeSessions, Target{UserID: "target"})
	if want := "allowed: application permission User.RevokeSessions.All"; d.Reason != want {
		t.Errorf("reason %q, want %q", d.Reason, want)
	}
	d = CanActOnUser(app("User.ReadWrite.All"), ActionResetPassword, Target{UserID: "target", RoleTemplateIDs: []string{ga}})
	if !strings.Contains(d.Reason, "acting as User Administrator") {
		t.Errorf("reason %q", d.Reason)
	}
}

// facts is a TargetFacts backed by maps, counting reads.
type facts struct {
	roles   map[string][]string
	members map[string]bool
	err     error
	reads   int
}

func (f *facts) EffectiveRoles(_ context.Context, userID string) ([]string, error) {
	f.reads++
	return f.roles[userID], f.err
}

func (f *facts) IsRoleAssignableGroupMember(_ context.Context, userID string) (bool, error) {
	f.reads++
	return f.members[userID], nil
}

// TestCanActOnUserID: facts are read only when the answer depends on them,
// and then decide as CanActOnUser would.
func TestCanActOnUserID(t *testing.T) {
	ctx := context.Background()
	ga := catalogueID(t, "Global Administrator")
	hd := catalogueID(t, "Helpdesk Administrator")
	f := &facts{
		roles:   map[string][]string{"boss": {ga}, "reader": {catalogueID(t, "Directory Readers")}},
		members: map[string]bool{"grouped": true},
	}
	cases := []struct {
		name   string
		p      *Principal
		action Action
		user   string
		want   bool
		reads  bool
	}{
		{"app revoke reads nothing", app("User.RevokeSessions.All"), ActionRevokeSessions, "boss", true, false},
		{"self revoke reads nothing", func() *Principal { p := admin(nil, "User.ReadWrite"); p.ObjectID = "boss"; return p }(), ActionRevokeSessions, "boss", true, false},
		{"missing scope reads nothing", admin([]string{ga}, "User.Read"), ActionRevokeSessions, "boss", false, false},
		{"no admin role reads nothing", admin(nil, "User.RevokeSessions.All"), ActionRevokeSessions, "reader", false, false},
		{"global admin reads nothing", admin([]string{ga}, "User.RevokeSessions.All"), ActionRevokeSessions, "boss", true, false},
		{"global admin sensitive without AccessAsUser reads", admin([]string{ga}, "User.ReadWrite.All"), ActionSensitiveUpdate, "boss", false, true},
		{"helpdesk on reader", admin([]string{hd}, "User.RevokeSessions.All"), ActionRevokeSessions, "reader", true, true},
		{"helpdesk on global admin", admin([]string{hd}, "User.RevokeSessions.All"), ActionRevokeSessions, "boss", false, true},
		{"helpdesk on group member", admin([]string{hd}, "User.RevokeSessions.All"), ActionRevokeSessions, "grouped", false, true},
		{"helpdesk on unknown user (no roles)", admin([]string{hd}, "User.RevokeSessions.All"), ActionRevokeSessions, "nobody", true, true},
		{"app reset on global admin", app("User.ReadWrite.All"), ActionResetPassword, "boss", false, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f.reads = 0
			d, err := CanActOnUserID(ctx, f, c.p, c.action, c.user)
			if err != nil {
				t.Fatal(err)
			}
			check(t, d, c.want)
			if (f.reads > 0) != c.reads {
				t.Errorf("%d reads of the facts; want reads: %v", f.reads, c.reads)
			}
			tg, err := LoadTarget(ctx, f, c.user)
			if err != nil {
				t.Fatal(err)
			}
			if pure := CanActOnUser(c.p, c.action, tg); pure != d {
				t.Errorf("CanActOnUser = %+v, CanActOnUserID = %+v", pure, d)
			}
		})
	}

	t.Run("errors are returned wrapped", func(t *testing.T) {
		boom := errors.New("store down")
		bad := &facts{err: boom}
		d, err := CanActOnUserID(ctx, bad, admin([]string{hd}, "User.RevokeSessions.All"), ActionRevokeSessions, "reader")
		if !errors.Is(err, boom) || d != (Decision{}) {
			t.Fatalf("d = %+v, err = %v", d, err)
		}
		if _, err := LoadTarget(ctx, bad, "reader"); !errors.Is(err, boom) || !strings.HasPrefix(err.Error(), "authz: ") {
			t.Fatalf("LoadTarget err = %v", err)
		}
		// A decision that needs no facts does not fail on them.
		if d, err := CanActOnUserID(ctx, bad, app("User.RevokeSessions.All"), ActionRevokeSessions, "reader"); err != nil || !d.Allowed {
			t.Fatalf("d = %+v, err = %v", d, err)
		}
	})
	t.Run("LoadTarget", func(t *testing.T) {
		tg, err := LoadTarget(ctx, f, "grouped")
		if err != nil || tg.UserID != "grouped" || !tg.RoleAssignableGroupMember || len(tg.RoleTemplateIDs) != 0 || tg.RestrictedManagementAU {
			t.Fatalf("LoadTarget = %+v, %v", tg, err)
		}
	})
}

func TestActionString(t *testing.T) {
	for a, want := range map[Action]string{
		ActionRevokeSessions: "revoke sign-in sessions", ActionResetPassword: "reset password",
		ActionSensitiveUpdate: "sensitive update", 0: "action(0)", 9: "action(9)",
	} {
		if got := a.String(); got != want {
			t.Errorf("Action(%d).String() = %q, want %q", int(a), got, want)
		}
	}
}

// TestPermissionNamesInCatalogue: every permission the rules name is a Graph
// permission of the right kind, so a rule cannot name a permission no token
// can carry.
func TestPermissionNamesInCatalogue(t *testing.T) {
	for a, r := range actionRules {
		for _, name := range r.appPermissions {
			if p, ok := GraphPermissionByName(name); !ok || p.Name != name || p.AppRoleID == "" {
				t.Errorf("%s: %q is not a Graph application permission", a, name)
			}
		}
		for _, list := range [][]string{r.delegatedScopes, r.selfScopes, {r.privilegedScope}} {
			for _, name := range list {
				if name == "" {
					continue
				}
				if p, ok := GraphPermissionByName(name); !ok || p.Name != name || p.ScopeID == "" {
					t.Errorf("%s: %q is not a Graph delegated permission", a, name)
				}
			}
		}
	}
}
