package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2/clientcredentials"
)

// serves reports whether the shared server routes method path (probed
// with a request that changes nothing: an unknown user or revocation).
// Parts of the API land in parallel work; a test needing a missing part
// says so and skips.
func (s *liveServer) serves(t *testing.T, method, path string) bool {
	t.Helper()
	scope := "https://graph.microsoft.com/.default"
	if strings.HasPrefix(path, "/vigil/") {
		scope = "api://vigil/.default"
	}
	cc := clientcredentials.Config{ClientID: s.boot.BootstrapClient.ClientID, ClientSecret: s.boot.BootstrapClient.ClientSecret,
		TokenURL: s.url + "/token", Scopes: []string{scope}}
	tok, err := cc.Token(context.Background())
	if err != nil {
		return false // no token for that API yet
	}
	req, _ := http.NewRequest(method, s.url+path, strings.NewReader("{}"))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	switch {
	case resp.StatusCode == http.StatusNotFound && !strings.Contains(string(body), `"error"`):
		return false // no handler at all
	case strings.Contains(string(body), "Resource not found for the segment"), strings.Contains(string(body), "No Vigil API resource at"):
		return false
	}
	return true
}

func (s *liveServer) needGraphRevoke(t *testing.T) {
	t.Helper()
	if !s.serves(t, "POST", "/v1.0/users/00000000-0000-4000-8000-999999999999/revokeSignInSessions") {
		t.Skip("the server does not serve POST /v1.0/users/{id}/revokeSignInSessions yet")
	}
}

func (s *liveServer) needVigilRevocations(t *testing.T) {
	t.Helper()
	if !s.serves(t, "GET", "/vigil/v1/revocations/00000000-0000-4000-8000-999999999999") {
		t.Skip("the server does not serve /vigil/v1/revocations yet")
	}
}

// validFroms reads signInSessionsValidFromDateTime of the users matching
// filter.
func validFroms(t *testing.T, env []string, filter string) map[string]time.Time {
	t.Helper()
	r := vigil(t, env, nil, "users", "list", "--filter", filter, "--select", "id,signInSessionsValidFromDateTime", "-o", "jsonl")
	r.want(t, 0, "")
	out := map[string]time.Time{}
	for _, l := range jsonLines(t, r.stdout) {
		s, _ := l["signInSessionsValidFromDateTime"].(string)
		ts, _ := time.Parse(time.RFC3339, s)
		out[l["id"].(string)] = ts
	}
	return out
}

// checkRevoked: every row is revoked with a validFrom, and every user of
// filter has T at or after start.
func checkRevoked(t *testing.T, env []string, rows []map[string]any, filter string, start time.Time, want int) {
	t.Helper()
	if len(rows) != want {
		t.Fatalf("%d rows, want %d", len(rows), want)
	}
	for _, r := range rows {
		if r["revoked"] != true || r["validFrom"] == nil || r["error"] != nil || r["userPrincipalName"] == nil {
			t.Fatalf("row %v", r)
		}
	}
	for id, ts := range validFroms(t, env, filter) {
		if ts.Before(start.Truncate(time.Second)) {
			t.Errorf("user %s: signInSessionsValidFromDateTime %v is before the revocation (%v)", id, ts, start)
		}
	}
}

// TestCLIRevokePipeline is the first example:
// `vigil users list --filter "department eq 'HP'" -o ids | vigil users revoke-sessions -`
// through a real pipe; 100 users go as one bulk job (or user by user when
// the Vigil API is missing).
func TestCLIRevokePipeline(t *testing.T) {
	srv := liveVigil(t)
	srv.needGraphRevoke(t)
	env := srv.cliEnv(t, false)
	start := time.Now()
	first, second := pipeline(t, env,
		[]string{"users", "list", "--filter", "department eq 'HP'", "-o", "ids"},
		[]string{"users", "revoke-sessions", "-", "--reason", "e2e pipeline"})
	first.want(t, 0, "")
	second.want(t, 0, "")
	checkRevoked(t, env, jsonLines(t, second.stdout), "department eq 'HP'", start, 100)
	if !strings.Contains(second.stderr, "Revoked the sessions of 100 users.") {
		t.Errorf("stderr %q", second.stderr)
	}
}

// TestCLIRevokePerUser: Graph's per-user action at a concurrency, JSON
// lines from `users list -o jsonl` on stdin, and the revocation resource
// each one names.
func TestCLIRevokePerUser(t *testing.T) {
	srv := liveVigil(t)
	srv.needGraphRevoke(t)
	env := srv.cliEnv(t, false)
	start := time.Now()
	list := vigil(t, env, nil, "users", "list", "--filter", "department eq 'Legal'", "-o", "jsonl")
	list.want(t, 0, "")
	r := vigil(t, env, strings.NewReader(list.stdout), "users", "revoke-sessions", "-", "--per-user", "--concurrency", "4")
	r.want(t, 0, "")
	rows := jsonLines(t, r.stdout)
	checkRevoked(t, env, rows, "department eq 'Legal'", start, 100)
	if id, _ := rows[0]["revocation"].(string); id != "" && srv.serves(t, "GET", "/vigil/v1/revocations/"+id) {
		g := vigil(t, env, nil, "revocations", "get", id, "-o", "json")
		g.want(t, 0, "")
		if !strings.Contains(g.stdout, `"status": "completed"`) || !strings.Contains(g.stdout, `"revoked": 1`) {
			t.Errorf("revocation %s: %s", id, g.stdout)
		}
	}
}

// TestCLIRevokePartialFailure: an unknown user among real targets is
// reported, the others are revoked, exit code 1.
func TestCLIRevokePartialFailure(t *testing.T) {
	srv := liveVigil(t)
	srv.needGraphRevoke(t)
	env := srv.cliEnv(t, false)
	ids := strings.Fields(vigil(t, env, nil, "users", "list", "--filter", "department eq 'Finance'", "--top", "3", "-o", "ids").stdout)
	in := strings.Join(ids, "\n") + "\nghost@vigil.local\n"
	r := vigil(t, env, strings.NewReader(in), "users", "revoke-sessions", "-")
	r.want(t, exitPartial, "1 of 4 targets failed; the rest were revoked")
	rows := jsonLines(t, r.stdout)
	if len(rows) != 4 || rows[3]["userPrincipalName"] != "ghost@vigil.local" || rows[3]["error"] != "user not found" {
		t.Fatalf("rows %q", r.stdout)
	}
	for _, row := range rows[:3] {
		if row["revoked"] != true {
			t.Errorf("row %v", row)
		}
	}
	// The table, with users of known names.
	run := runSuffix()
	var named []string
	for _, nick := range []string{"kim", "lou"} {
		upn := nick + "." + run + "@vigil.local"
		vigil(t, env, nil, "users", "create", "--upn", upn, "--display-name", nick).want(t, 0, "")
		named = append(named, upn)
	}
	r = vigil(t, env, strings.NewReader(strings.Join(named, "\n")+"\nghost."+run+"@vigil.local\n"), "users", "revoke-sessions", "-", "-o", "table")
	r.want(t, exitPartial, "1 of 3 targets failed")
	golden(t, "revoke_partial.table", r.stdout, run)

	// -o ids prints the revoked ones; the failure goes to stderr.
	r = vigil(t, env, strings.NewReader(in), "users", "revoke-sessions", "-", "-o", "ids")
	if r.code != exitPartial || len(strings.Fields(r.stdout)) != 3 || !strings.Contains(r.stderr, "vigil: ghost@vigil.local: user not found") {
		t.Fatalf("-o ids: %d %q %q", r.code, r.stdout, r.stderr)
	}
}

// TestCLIRevokeFilter is the second example: one server-side bulk
// revocation by filter; its dry run; a bad filter.
func TestCLIRevokeFilter(t *testing.T) {
	srv := liveVigil(t)
	srv.needVigilRevocations(t)
	env := srv.cliEnv(t, false)

	r := vigil(t, env, nil, "users", "revoke-sessions", "--filter", "department eq 'Sales'", "--dry-run")
	r.want(t, 0, "")
	if len(jsonLines(t, r.stdout)) == 0 || !strings.Contains(r.stderr, "Dry run: 100 users would have their sessions revoked") {
		t.Fatalf("dry run: %q %q", r.stdout, r.stderr)
	}

	start := time.Now()
	r = vigil(t, env, nil, "users", "revoke-sessions", "--filter", "department eq 'Sales'", "--reason", "INC-4711", "--wait", "-o", "json")
	r.want(t, 0, "")
	for _, want := range []string{`"status": "completed"`, `"targeted": 100`, `"revoked": 100`, `"reason": "INC-4711"`} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("revocation lacks %s:\n%s", want, r.stdout)
		}
	}
	if !strings.Contains(r.stderr, "Effective everywhere at ") {
		t.Errorf("--wait said %q", r.stderr)
	}
	for id, ts := range validFroms(t, env, "department eq 'Sales'") {
		if ts.Before(start.Truncate(time.Second)) {
			t.Errorf("user %s not revoked", id)
		}
	}

	var rev struct{ ID string }
	if err := json.Unmarshal([]byte(r.stdout), &rev); err != nil || rev.ID == "" {
		t.Fatalf("revocation %q: %v", r.stdout, err)
	}
	r = vigil(t, env, nil, "revocations", "get", rev.ID, "-o", "table")
	r.want(t, 0, "")
	golden(t, "revocation_get.table", r.stdout, "")

	vigil(t, env, nil, "users", "revoke-sessions", "--filter", "department eq").want(t, exitUsage, `--filter "department eq"`)
	vigil(t, env, nil, "users", "revoke-sessions", "--group", "00000000-0000-4000-8000-999999999999").want(t, exitPartial, "not found")
	vigil(t, env, nil, "revocations", "get", "00000000-0000-4000-8000-999999999999").want(t, exitPartial, "")
}

// TestCLIRevokeGroup: a bulk revocation of a group's transitive members.
func TestCLIRevokeGroup(t *testing.T) {
	srv := liveVigil(t)
	srv.needVigilRevocations(t)
	env := srv.cliEnv(t, false)
	group := strings.TrimSpace(vigil(t, env, nil, "groups", "list", "--filter", "displayName eq 'Tier 1 Helpdesk'", "-o", "ids").stdout)
	r := vigil(t, env, nil, "users", "revoke-sessions", "--group", group, "--transitive", "-o", "jsonl")
	r.want(t, 0, "")
	rows := jsonLines(t, r.stdout)
	if len(rows) != 1 || rows[0]["status"] != "completed" {
		t.Fatalf("group revocation %q", r.stdout)
	}
}
