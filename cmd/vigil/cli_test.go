package main

import (
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// runSuffix makes names unique per run (the server is shared and lives as
// long as the test binary); golden files show it as <run>.
func runSuffix() string { return fmt.Sprintf("q%04x", rand.IntN(1<<16)) }

// TestCLIUsersGolden: create users, then list and show them in table and
// JSON output, compared with golden files.
func TestCLIUsersGolden(t *testing.T) {
	srv := liveVigil(t)
	env := srv.cliEnv(t, false)
	run := runSuffix()
	dept := "Golden " + run
	for _, u := range []struct{ nick, name, title string }{
		{"grace", "Grace Hopper", "Rear Admiral"}, {"ada", "Ada Lovelace", "Analyst"}, {"alan", "Alan Turing", "Researcher"},
	} {
		r := vigil(t, env, strings.NewReader("Pa55word-"+run+"\n"), "users", "create",
			"--upn", u.nick+"."+run+"@vigil.local", "--display-name", u.name, "--department", dept,
			"--job-title", u.title, "--password-file", "-", "-o", "json")
		r.want(t, 0, "")
		if u.nick == "ada" {
			golden(t, "users_create.json", r.stdout, run)
		}
	}
	filter := "department eq '" + dept + "'"
	r := vigil(t, env, nil, "users", "list", "--filter", filter, "--orderby", "displayName", "-o", "table")
	r.want(t, 0, "")
	golden(t, "users_list.table", r.stdout, run)

	r = vigil(t, env, nil, "users", "list", "--filter", filter, "--orderby", "displayName", "-o", "json",
		"--select", "id,displayName,userPrincipalName,jobTitle,accountEnabled")
	r.want(t, 0, "")
	golden(t, "users_list_select.json", r.stdout, run)

	r = vigil(t, env, nil, "users", "get", "ada."+run+"@vigil.local", "-o", "table")
	r.want(t, 0, "")
	golden(t, "users_get.table", r.stdout, run)

	// Piped, the default is JSON lines.
	r = vigil(t, env, nil, "users", "list", "--filter", filter)
	r.want(t, 0, "")
	if lines := jsonLines(t, r.stdout); len(lines) != 3 {
		t.Fatalf("jsonl: %d lines", len(lines))
	}

	// update, disable, enable, delete: per-target results.
	r = vigil(t, env, nil, "users", "update", "alan."+run+"@vigil.local", "--job-title", "Mathematician", "--select", "jobTitle", "-o", "jsonl")
	r.want(t, 0, "")
	if strings.TrimSpace(r.stdout) != `{"jobTitle":"Mathematician"}` {
		t.Errorf("update printed %q", r.stdout)
	}
	r = vigil(t, env, nil, "users", "disable", "alan."+run+"@vigil.local", "nobody."+run+"@vigil.local")
	r.want(t, 1, "1 of 2 targets failed")
	lines := jsonLines(t, r.stdout)
	if len(lines) != 2 {
		t.Fatalf("disable printed %q", r.stdout)
	}
	for _, l := range lines {
		switch l["userPrincipalName"] {
		case "alan." + run + "@vigil.local":
			if l["accountEnabled"] != false {
				t.Errorf("disable row %v", l)
			}
		default:
			if l["error"] != "not found" {
				t.Errorf("unknown user row %v", l)
			}
		}
	}
	r = vigil(t, env, nil, "users", "get", "alan."+run+"@vigil.local", "--select", "accountEnabled", "-o", "jsonl")
	if strings.TrimSpace(r.stdout) != `{"accountEnabled":false}` {
		t.Errorf("after disable: %q", r.stdout)
	}
	vigil(t, env, nil, "users", "enable", "alan."+run+"@vigil.local").want(t, 0, "")

	// Raw requests: a body from a file, then read back.
	body := filepath.Join(t.TempDir(), "patch.json")
	if err := os.WriteFile(body, []byte(`{"officeLocation":"Bletchley"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	r = vigil(t, env, nil, "graph", "PATCH", "/users/alan."+run+"@vigil.local", "--body", "@"+body)
	if r.want(t, 0, ""); r.stdout != "" {
		t.Errorf("PATCH printed %q", r.stdout)
	}
	r = vigil(t, env, strings.NewReader(""), "graph", "GET", "users/alan."+run+"@vigil.local?$select=officeLocation")
	r.want(t, 0, "")
	if !strings.Contains(r.stdout, `"officeLocation":"Bletchley"`) {
		t.Errorf("GET printed %q", r.stdout)
	}
	vigil(t, env, nil, "users", "delete", "grace."+run+"@vigil.local").want(t, 0, "")
	vigil(t, env, nil, "users", "get", "grace."+run+"@vigil.local").want(t, 1, "does not exist")
}

// TestCLIListFollowsEveryPage: the demo's 1,000+ users take two pages of
// 999; --top stops early.
func TestCLIListFollowsEveryPage(t *testing.T) {
	srv := liveVigil(t)
	env := srv.cliEnv(t, false)
	r := vigil(t, env, nil, "graph", "GET", "/users/$count", "-H", "ConsistencyLevel: eventual")
	r.want(t, 0, "")
	total, err := strconv.Atoi(strings.TrimSpace(r.stdout))
	if err != nil || total < 1000 {
		t.Fatalf("$count = %q", r.stdout)
	}
	r = vigil(t, env, nil, "users", "list", "-o", "ids")
	r.want(t, 0, "")
	ids := strings.Fields(r.stdout)
	seen := map[string]bool{}
	for _, id := range ids {
		seen[id] = true
	}
	if len(ids) < total || len(seen) != len(ids) {
		t.Errorf("listed %d ids (%d distinct), want every one of %d", len(ids), len(seen), total)
	}
	r = vigil(t, env, nil, "users", "list", "--top", "5", "-o", "ids")
	if n := len(strings.Fields(r.stdout)); n != 5 {
		t.Errorf("--top 5 listed %d", n)
	}
}

// TestCLIDryRunPipeline: `users list -o ids | users revoke-sessions -
// --dry-run` through a real pipe resolves every user and changes nothing.
func TestCLIDryRunPipeline(t *testing.T) {
	srv := liveVigil(t)
	env := srv.cliEnv(t, false)
	first, second := pipeline(t, env,
		[]string{"users", "list", "--filter", "department eq 'HP'", "-o", "ids"},
		[]string{"users", "revoke-sessions", "-", "--dry-run"})
	first.want(t, 0, "")
	second.want(t, 0, "")
	lines := jsonLines(t, second.stdout)
	if len(lines) != 100 {
		t.Fatalf("dry run printed %d rows, want the 100 HP users", len(lines))
	}
	for _, l := range lines {
		if l["dryRun"] != true || l["revoked"] != false || l["userPrincipalName"] == nil || l["error"] != nil {
			t.Fatalf("dry-run row %v", l)
		}
	}
	if !strings.Contains(second.stderr, "Dry run: 100 users would have their sessions revoked. Nothing changed.") {
		t.Errorf("stderr %q", second.stderr)
	}

	// A filter that matches nobody makes an empty pipeline, which succeeds.
	first, second = pipeline(t, env,
		[]string{"users", "list", "--filter", "department eq 'Nobody'", "-o", "ids"},
		[]string{"users", "revoke-sessions", "-"})
	first.want(t, 0, "")
	second.want(t, 0, "")
	if second.stdout != "" || !strings.Contains(second.stderr, "No users on stdin: nothing revoked.") {
		t.Errorf("empty pipeline: %q %q", second.stdout, second.stderr)
	}
}

// TestCLIUnknownUserInStdin: an unknown user in a stdin list is reported,
// the rest continue, and the exit code is 1.
func TestCLIUnknownUserInStdin(t *testing.T) {
	srv := liveVigil(t)
	env := srv.cliEnv(t, false)
	in := srv.boot.Admin.ID + "\nnobody@vigil.local\n{\"userPrincipalName\":\"ADMIN@vigil.local\"}\n00000000-0000-4000-8000-999999999999\n"
	r := vigil(t, env, strings.NewReader(in), "users", "revoke-sessions", "-", "--dry-run")
	r.want(t, 1, "dry run: 2 of 3 targets would fail (not found); 1 user would have their sessions revoked; nothing changed")
	lines := jsonLines(t, r.stdout)
	if len(lines) != 3 {
		t.Fatalf("rows %q: want the admin once (named twice) and two unknown users", r.stdout)
	}
	if lines[0]["id"] != srv.boot.Admin.ID || lines[0]["dryRun"] != true {
		t.Errorf("row 1 %v", lines[0])
	}
	if lines[1]["userPrincipalName"] != "nobody@vigil.local" || lines[1]["error"] != "user not found" {
		t.Errorf("row 2 %v", lines[1])
	}
	if lines[2]["id"] != "00000000-0000-4000-8000-999999999999" || lines[2]["error"] != "user not found" {
		t.Errorf("row 3 %v", lines[2])
	}
}

// TestCLIBadInput: each problem is one line on stderr naming what to do,
// with the contract's exit code and no stack trace.
func TestCLIBadInput(t *testing.T) {
	srv := liveVigil(t)
	env := srv.cliEnv(t, false)
	anon := srv.cliEnv(t, true)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	down := "http://" + ln.Addr().String()
	ln.Close()
	wrongSecret := append(srv.cliEnv(t, true), "VIGIL_CLIENT_ID="+srv.boot.BootstrapClient.ClientID, "VIGIL_CLIENT_SECRET=wrong")
	tests := []struct {
		name   string
		env    []string
		stdin  string
		args   []string
		code   int
		stderr string
	}{
		{"no credentials", anon, "", []string{"users", "list"}, exitAuth, "not signed in to " + srv.url + ": run `vigil login`"},
		{"wrong secret", wrongSecret, "", []string{"users", "list"}, exitAuth, "invalid_client"},
		{"unknown flag", env, "", []string{"users", "list", "--colour"}, exitUsage, "unknown flag: --colour"},
		{"unknown subcommand", env, "", []string{"users", "frobnicate"}, exitUsage, `unknown command "frobnicate" for "vigil users"`},
		{"wrong arguments", env, "", []string{"users", "get"}, exitUsage, "usage: vigil users get USER"},
		{"bad output format", env, "", []string{"users", "list", "-o", "yaml"}, exitUsage, "use one of table, json, jsonl, ids"},
		{"bad filter", env, "", []string{"users", "list", "--filter", "department eq"}, exitUsage, "fix --filter"},
		{"unknown property", env, "", []string{"users", "list", "--filter", "shoeSize eq 42"}, exitUsage, "Could not find a property named 'shoeSize'"},
		{"malformed stdin", env, srv.boot.Admin.ID + "\nnot a user\n", []string{"users", "revoke-sessions", "-"}, exitUsage, "stdin line 2"},
		{"no targets", env, "", []string{"users", "revoke-sessions"}, exitUsage, "name the users"},
		{"targets and filter", env, "", []string{"users", "revoke-sessions", "ada@vigil.local", "--filter", "x"}, exitUsage, "only one of them"},
		{"unknown user", env, "", []string{"users", "get", "nobody@vigil.local"}, exitPartial, "does not exist"},
		{"unreachable server", append(srv.cliEnv(t, false), "VIGIL_URL="+down), "", []string{"users", "list"}, exitPartial,
			"cannot reach the Vigil server at " + down + " (connection refused)"},
		{"bad VIGIL_URL", append(srv.cliEnv(t, false), "VIGIL_URL=ftp:/x"), "", []string{"users", "list"}, exitUsage, "is not a server URL"},
		{"raw request error", env, "", []string{"graph", "GET", "/frobs"}, exitUsage, "Resource not found for the segment 'frobs'"},
		{"bad method", env, "", []string{"graph", "FETCH", "/users"}, exitUsage, "use GET, POST, PATCH, PUT or DELETE"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := vigil(t, tt.env, strings.NewReader(tt.stdin), tt.args...)
			r.want(t, tt.code, tt.stderr)
			if r.stdout != "" {
				t.Errorf("stdout %q", r.stdout)
			}
		})
	}
}

// TestCLILoginClientCredentials: login with an application's credentials
// (secret from stdin), a 0600 cache in a 0700 directory, whoami, commands
// without environment credentials, logout.
func TestCLILoginClientCredentials(t *testing.T) {
	srv := liveVigil(t)
	env := srv.cliEnv(t, true)
	r := vigil(t, env, strings.NewReader(srv.boot.BootstrapClient.ClientSecret+"\n"),
		"login", "--client-id", srv.boot.BootstrapClient.ClientID, "--client-secret", "-")
	r.want(t, 0, "")
	if !strings.Contains(r.stderr, "Signed in to "+srv.url+" as application "+srv.boot.BootstrapClient.ClientID) {
		t.Errorf("login said %q", r.stderr)
	}
	var home string
	for _, e := range env {
		if v, ok := strings.CutPrefix(e, "XDG_CONFIG_HOME="); ok {
			home = v
		}
	}
	for path, mode := range map[string]os.FileMode{filepath.Join(home, "vigil"): 0o700, filepath.Join(home, "vigil", "credentials.json"): 0o600} {
		fi, err := os.Stat(path)
		if err != nil || fi.Mode().Perm() != mode {
			t.Errorf("%s: %v mode %v, want %o", path, err, fi.Mode().Perm(), mode)
		}
	}
	r = vigil(t, env, nil, "whoami", "-o", "json")
	r.want(t, 0, "")
	if !strings.Contains(r.stdout, `"kind": "app"`) || !strings.Contains(r.stdout, "User.RevokeSessions.All") {
		t.Errorf("whoami: %s", r.stdout)
	}
	vigil(t, env, nil, "users", "list", "--top", "1").want(t, 0, "")
	r = vigil(t, env, nil, "logout")
	r.want(t, 0, "")
	vigil(t, env, nil, "users", "list", "--top", "1").want(t, exitAuth, "not signed in")
	r = vigil(t, env, strings.NewReader("wrong\n"), "login", "--client-id", srv.boot.BootstrapClient.ClientID, "--client-secret", "-")
	r.want(t, exitAuth, "invalid_client")
}

// TestCLIGroupsAndRoles: groups, transitive members, membership changes,
// role assignment.
func TestCLIGroupsAndRoles(t *testing.T) {
	srv := liveVigil(t)
	env := srv.cliEnv(t, false)
	r := vigil(t, env, nil, "groups", "list", "--filter", "displayName eq 'All Staff'", "-o", "ids")
	r.want(t, 0, "")
	allStaff := strings.TrimSpace(r.stdout)
	r = vigil(t, env, nil, "groups", "list", "--filter", "displayName eq 'HP'", "-o", "ids")
	hp := strings.TrimSpace(r.stdout)
	if !isID(allStaff) || !isID(hp) {
		t.Fatalf("group ids %q %q", allStaff, hp)
	}
	direct := jsonLines(t, vigil(t, env, nil, "groups", "members", allStaff).stdout)
	r = vigil(t, env, nil, "groups", "members", allStaff, "-o", "table")
	r.want(t, 0, "")
	if lines := strings.Split(strings.TrimSpace(r.stdout), "\n"); len(lines) != len(direct)+1 ||
		strings.Join(strings.Fields(lines[0]), " ") != "id @odata.type displayName userPrincipalName" ||
		!strings.Contains(r.stdout, "#microsoft.graph.group  HP") {
		t.Errorf("members table:\n%s", r.stdout)
	}
	all := strings.Fields(vigil(t, env, nil, "groups", "members", allStaff, "--transitive", "--users", "-o", "ids").stdout)
	if len(direct) == 0 || len(all) < 1000 {
		t.Fatalf("All Staff: %d direct members, %d transitive users", len(direct), len(all))
	}

	run := runSuffix()
	upn := "member." + run + "@vigil.local"
	vigil(t, env, strings.NewReader("Pa55word-"+run+"\n"), "users", "create", "--upn", upn, "--display-name", "Member "+run,
		"--password-file", "-").want(t, 0, "")
	vigil(t, env, nil, "groups", "add-member", hp, upn).want(t, 0, "")
	r = vigil(t, env, nil, "groups", "members", hp, "--select", "userPrincipalName", "-o", "jsonl")
	if !strings.Contains(r.stdout, upn) {
		t.Fatalf("%s not among HP's members", upn)
	}
	r = vigil(t, env, nil, "groups", "remove-member", hp, upn)
	r.want(t, 0, "")
	if r := vigil(t, env, nil, "groups", "members", hp, "-o", "jsonl"); strings.Contains(r.stdout, upn) {
		t.Fatalf("%s still a member", upn)
	}

	vigil(t, env, nil, "roles", "assign", "Helpdesk Administrator", upn).want(t, 0, "")
	r = vigil(t, env, nil, "roles", "list", "--assignments", "--principal", upn, "-o", "jsonl")
	if rows := jsonLines(t, r.stdout); len(rows) != 1 || rows[0]["roleDefinitionId"] != "729827e3-9c14-49f7-bb1b-9608f156bbb8" {
		t.Fatalf("assignments %q", r.stdout)
	}
	vigil(t, env, nil, "roles", "unassign", "Helpdesk Administrator", upn).want(t, 0, "")
	r = vigil(t, env, nil, "roles", "list", "--assignments", "--principal", upn, "-o", "jsonl")
	if strings.TrimSpace(r.stdout) != "" {
		t.Fatalf("assignments after unassign %q", r.stdout)
	}
	vigil(t, env, nil, "roles", "assign", "Chief Vibes Officer", upn).want(t, exitUsage, "no directory role named")
}

// TestCLICompletionAndHelp: shell completion and the command tree.
func TestCLICompletionAndHelp(t *testing.T) {
	r := vigil(t, nil, nil, "completion", "bash")
	if r.code != 0 || !strings.Contains(r.stdout, "__start_vigil") {
		t.Fatalf("completion bash: %d %q", r.code, r.stderr)
	}
	r = vigil(t, nil, nil, "--help")
	for _, cmd := range []string{"login", "logout", "whoami", "users", "groups", "roles", "sessions", "me", "audit", "revocations", "ssf", "graph", "completion", "version"} {
		if !strings.Contains(r.stdout, "\n  "+cmd+" ") {
			t.Errorf("help lacks %s", cmd)
		}
	}
}

func isID(s string) bool { return guidRE.MatchString(s) && len(s) == 36 }

// TestCLIAudit: audit records of the CLI's own writes, by time and filter,
// through every page.
func TestCLIAudit(t *testing.T) {
	srv := liveVigil(t)
	if !srv.serves(t, "GET", "/v1.0/auditLogs/directoryAudits?$top=1") {
		t.Skip("the server does not serve /v1.0/auditLogs/directoryAudits yet")
	}
	env := srv.cliEnv(t, false)
	run := runSuffix()
	upn := "audited." + run + "@vigil.local"
	vigil(t, env, nil, "users", "create", "--upn", upn, "--display-name", "Audited "+run).want(t, 0, "")
	r := vigil(t, env, nil, "audit", "list", "--since", "10m", "--filter", "activityDisplayName eq 'Add user'", "-o", "table")
	r.want(t, 0, "")
	if !strings.Contains(r.stdout, "Add user") || !strings.Contains(r.stdout, upn) || !strings.HasPrefix(r.stdout, "activityDateTime") {
		t.Fatalf("audit table:\n%s", r.stdout)
	}
	r = vigil(t, env, nil, "audit", "list", "--since", "10m", "--top", "2", "-o", "jsonl")
	if rows := jsonLines(t, r.stdout); len(rows) != 2 || rows[0]["activityDisplayName"] == nil || rows[0]["initiatedBy"] == nil {
		t.Fatalf("audit jsonl %q", r.stdout)
	}
	vigil(t, env, nil, "audit", "list", "--since", "yesterday").want(t, exitUsage, "--since \"yesterday\"")
}
