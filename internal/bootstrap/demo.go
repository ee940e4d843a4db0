package bootstrap

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/vigil-idp/vigil/internal/directory"
	"github.com/vigil-idp/vigil/internal/store"
)

// DemoDirectory is what the demo needs from the directory. The server hands
// in a directory whose password hasher returns one precomputed hash, so the
// demo password costs one argon2id run, not one per user.
type DemoDirectory interface {
	CreateUser(ctx context.Context, in directory.UserInput) (store.User, error)
	CreateGroup(ctx context.Context, in directory.GroupInput) (store.Group, error)
	AddMember(ctx context.Context, groupID, memberID string) error
	CreateRoleAssignment(ctx context.Context, principalID, roleDefinitionID, directoryScopeID string) (store.RoleAssignment, error)
}

// Demo creates a directory to try Vigil on: Users people across departments
// (including HP), department groups nested under "All Staff", a
// role-assignable helpdesk group, and one user holding each built-in
// directory role.
type Demo struct {
	Dir      DemoDirectory
	Password string // every demo user's password (shown to the operator)
	Users    int    // 0 means 1000
	Workers  int    // concurrent creates; 0 means 8
}

// DemoResult summarises the demo directory.
type DemoResult struct {
	Password   string
	Users      int
	Groups     int
	RoleHolder map[string]string // role display name → UPN
}

// DemoDepartments are the demo departments; HP is the one Graph's revoke
// examples filter on.
var DemoDepartments = []string{"HP", "Engineering", "Sales", "Marketing", "Finance", "Support", "Legal", "Operations", "Research", "IT"}

var (
	demoFirst = []string{"Ada", "Ben", "Chloe", "Dev", "Elena", "Farid", "Grace", "Hiro", "Ines", "Jonas", "Kemi", "Liam",
		"Maya", "Nikos", "Olga", "Priya", "Quinn", "Rafael", "Sofia", "Tomas", "Uma", "Victor", "Wen", "Yara", "Zane"}
	demoLast = []string{"Alvarez", "Brown", "Chen", "Dubois", "Eriksen", "Fischer", "Garcia", "Haddad", "Ito", "Jensen",
		"Kowalski", "Lopez", "Moreau", "Nakamura", "Okafor", "Patel", "Rossi", "Schmidt", "Tanaka", "Varga"}
	demoTitles = []string{"Analyst", "Engineer", "Manager", "Specialist", "Consultant", "Director", "Associate"}
)

// Create builds the demo directory.
func (d *Demo) Create(ctx context.Context) (DemoResult, error) {
	n := d.Users
	if n == 0 {
		n = 1000
	}
	res := DemoResult{Password: d.Password, Users: n, RoleHolder: map[string]string{}}

	// Groups: All Staff ⊃ each department; Engineering ⊃ Platform Team.
	all, err := d.group(ctx, "All Staff", "allstaff", false)
	if err != nil {
		return res, err
	}
	deptGroups := map[string]store.Group{}
	for _, dept := range DemoDepartments {
		g, err := d.group(ctx, dept, "dept-"+strings.ToLower(dept), false)
		if err != nil {
			return res, err
		}
		if err := d.Dir.AddMember(ctx, all.ID, g.ID); err != nil {
			return res, fmt.Errorf("nest %s: %w", dept, err)
		}
		deptGroups[dept] = g
	}
	platform, err := d.group(ctx, "Platform Team", "platform-team", false)
	if err != nil {
		return res, err
	}
	if err := d.Dir.AddMember(ctx, deptGroups["Engineering"].ID, platform.ID); err != nil {
		return res, fmt.Errorf("nest platform team: %w", err)
	}
	helpdesk, err := d.group(ctx, "Tier 1 Helpdesk", "tier1-helpdesk", true)
	if err != nil {
		return res, err
	}
	if _, err := d.Dir.CreateRoleAssignment(ctx, helpdesk.ID, helpdeskAdministrator, "/"); err != nil {
		return res, fmt.Errorf("assign helpdesk group: %w", err)
	}
	res.Groups = len(DemoDepartments) + 3

	// People, created by a few workers; each create is its own durable
	// transaction, so the pool only overlaps waiting.
	workers := d.Workers
	if workers == 0 {
		workers = 8
	}
	jobs := make(chan int)
	errs := make(chan error, workers)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				if err := d.person(ctx, i, deptGroups, platform, helpdesk); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	var firstErr error
send:
	for i := range n {
		select {
		case jobs <- i:
		case firstErr = <-errs:
			break send
		}
	}
	close(jobs)
	wg.Wait()
	close(errs)
	if firstErr == nil {
		firstErr = <-errs
	}
	if firstErr != nil {
		return res, firstErr
	}

	// One holder per built-in directory role.
	for _, role := range directory.RoleDefinitions() {
		nick := roleNick(role.DisplayName)
		u, err := d.user(ctx, nick, role.DisplayName+" (demo)", "IT", "Administrator")
		if err != nil {
			return res, err
		}
		if _, err := d.Dir.CreateRoleAssignment(ctx, u.ID, role.ID, "/"); err != nil {
			return res, fmt.Errorf("assign %s: %w", role.DisplayName, err)
		}
		res.RoleHolder[role.DisplayName] = u.UserPrincipalName
	}
	return res, nil
}

// helpdeskAdministrator is Entra's Helpdesk Administrator role template id.
const helpdeskAdministrator = "729827e3-9c14-49f7-bb1b-9608f156bbb8"

func (d *Demo) person(ctx context.Context, i int, depts map[string]store.Group, platform, helpdesk store.Group) error {
	first := demoFirst[i%len(demoFirst)]
	last := demoLast[(i/len(demoFirst))%len(demoLast)]
	dept := DemoDepartments[i%len(DemoDepartments)]
	nick := fmt.Sprintf("%s.%s%d", strings.ToLower(first), strings.ToLower(last), i)
	u, err := d.user(ctx, nick, first+" "+last, dept, demoTitles[i%len(demoTitles)])
	if err != nil {
		return err
	}
	group := depts[dept]
	if dept == "Engineering" && i%3 == 0 {
		group = platform // nested: Platform Team ⊂ Engineering ⊂ All Staff
	}
	if err := d.Dir.AddMember(ctx, group.ID, u.ID); err != nil {
		return fmt.Errorf("add %s to %s: %w", nick, group.DisplayName, err)
	}
	if dept == "Support" && i%20 == 5 {
		if err := d.Dir.AddMember(ctx, helpdesk.ID, u.ID); err != nil {
			return fmt.Errorf("add %s to helpdesk: %w", nick, err)
		}
	}
	return nil
}

func (d *Demo) user(ctx context.Context, nick, name, dept, title string) (store.User, error) {
	upn := nick + "@vigil.local"
	u, err := d.Dir.CreateUser(ctx, directory.UserInput{
		AccountEnabled:    directory.Some(true),
		DisplayName:       directory.Some(name),
		UserPrincipalName: directory.Some(upn),
		MailNickname:      directory.Some(strings.ReplaceAll(nick, ".", "")),
		Mail:              directory.Some(upn),
		Department:        directory.Some(dept),
		JobTitle:          directory.Some(title),
		OfficeLocation:    directory.Some("Building " + string(rune('A'+len(nick)%5))),
		PasswordProfile:   directory.Some(directory.PasswordProfile{Password: d.Password}),
	})
	if err != nil {
		return u, fmt.Errorf("create %s: %w", upn, err)
	}
	return u, nil
}

func (d *Demo) group(ctx context.Context, name, nick string, roleAssignable bool) (store.Group, error) {
	g, err := d.Dir.CreateGroup(ctx, directory.GroupInput{
		DisplayName:        directory.Some(name),
		Description:        directory.Some("Demo group: " + name),
		MailNickname:       directory.Some(nick),
		MailEnabled:        directory.Some(false),
		SecurityEnabled:    directory.Some(true),
		IsAssignableToRole: directory.Some(roleAssignable),
	})
	if err != nil {
		return g, fmt.Errorf("create group %s: %w", name, err)
	}
	return g, nil
}

// roleNick turns "Helpdesk Administrator" into "helpdesk.administrator".
func roleNick(name string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(name) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			b.WriteRune(r)
		case b.Len() > 0 && !strings.HasSuffix(b.String(), "."):
			b.WriteByte('.')
		}
	}
	return strings.TrimSuffix(b.String(), ".")
}
