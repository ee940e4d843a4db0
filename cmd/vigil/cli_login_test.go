package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// browser follows the server's sign-in pages like a person would: it keeps
// cookies and posts each form with its hidden fields (CSRF token).
type browser struct {
	t      *testing.T
	client *http.Client
}

func newBrowser(t *testing.T) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, client: &http.Client{Jar: jar, Timeout: 30 * time.Second}}
}

type page struct {
	url  *url.URL
	body string
}

var (
	formRE   = regexp.MustCompile(`<form method="post" action="([^"]*)"`)
	hiddenRE = regexp.MustCompile(`<input type="hidden" name="([^"]*)" value="([^"]*)">`)
)

func (b *browser) get(u string) page {
	b.t.Helper()
	resp, err := b.client.Get(u)
	if err != nil {
		b.t.Fatal(err)
	}
	return b.read(resp)
}

func (b *browser) read(resp *http.Response) page {
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return page{url: resp.Request.URL, body: string(body)}
}

// submit posts the page's form with its hidden fields and values.
func (b *browser) submit(p page, values url.Values) page {
	b.t.Helper()
	m := formRE.FindStringSubmatch(p.body)
	if m == nil {
		b.t.Fatalf("no form on %s:\n%s", p.url, p.body)
	}
	action, err := p.url.Parse(html.UnescapeString(m[1]))
	if err != nil {
		b.t.Fatal(err)
	}
	form := url.Values{}
	for _, h := range hiddenRE.FindAllStringSubmatch(p.body, -1) {
		form.Set(html.UnescapeString(h[1]), html.UnescapeString(h[2]))
	}
	for k, v := range values {
		form[k] = v
	}
	resp, err := b.client.PostForm(action.String(), form)
	if err != nil {
		b.t.Fatal(err)
	}
	return b.read(resp)
}

var deviceLineRE = regexp.MustCompile(`^\(or open (\S+)\)$`)

// deviceLogin runs `vigil login` and approves its code as the admin in the
// browser; it returns what login said.
func deviceLogin(t *testing.T, srv *liveServer, env []string, args ...string) string {
	t.Helper()
	cmd := exec.Command(vigilBin, append([]string{"login", "--bootstrap", filepath.Join(srv.dataDir, "bootstrap.json")}, args...)...)
	cmd.Env = env
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var said strings.Builder
	sc := bufio.NewScanner(stderr)
	approved := false
	for sc.Scan() {
		line := sc.Text()
		said.WriteString(line + "\n")
		m := deviceLineRE.FindStringSubmatch(line)
		if m == nil || approved {
			continue
		}
		approved = true
		b := newBrowser(t)
		p := b.get(m[1])
		code := p.url.Query().Get("user_code")
		if code == "" || !strings.Contains(said.String(), "enter the code "+code) {
			t.Fatalf("login printed no code matching %s:\n%s", m[1], said.String())
		}
		p = b.submit(p, url.Values{"user_code": {code}, "action": {"code"}})
		if strings.Contains(p.body, `name="password"`) {
			p = b.submit(p, url.Values{"username": {srv.boot.Admin.UserPrincipalName}, "password": {srv.boot.Admin.Password}})
		}
		p = b.submit(p, url.Values{"action": {"approve"}})
		if !strings.Contains(p.body, "You have signed in") {
			t.Fatalf("approval page:\n%s", p.body)
		}
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("vigil login: %v\n%s", err, said.String())
	}
	return said.String()
}

// TestCLIDeviceLogin: `vigil login` with the device code flow and the CLI
// client from bootstrap.json, whoami from the cached token, automatic
// refresh of an expired access token, and a login that was revoked.
func TestCLIDeviceLogin(t *testing.T) {
	srv := liveVigil(t)
	resp, err := http.Get(srv.url + "/.well-known/openid-configuration")
	if err != nil {
		t.Fatal(err)
	}
	var md struct {
		Device string `json:"device_authorization_endpoint"`
	}
	json.NewDecoder(resp.Body).Decode(&md)
	resp.Body.Close()
	if md.Device == "" {
		t.Skip("the server does not offer the device code flow yet (no device_authorization_endpoint)")
	}
	env := srv.cliEnv(t, true)
	said := deviceLogin(t, srv, env)
	if !strings.Contains(said, "Signed in to "+srv.url+" as "+srv.boot.Admin.UserPrincipalName) {
		t.Fatalf("login said:\n%s", said)
	}

	r := vigil(t, env, nil, "whoami", "-o", "jsonl")
	r.want(t, 0, "")
	who := jsonLines(t, r.stdout)
	if len(who) != 1 || who[0]["kind"] != "user" || who[0]["userPrincipalName"] != srv.boot.Admin.UserPrincipalName ||
		who[0]["oid"] != srv.boot.Admin.ID || who[0]["scp"] == nil {
		t.Fatalf("whoami %q", r.stdout)
	}
	vigil(t, env, nil, "users", "list", "--top", "2").want(t, 0, "")
	vigil(t, env, nil, "revocations", "get", "x").want(t, exitAuth, "vigil login --resource vigil")

	// A second sign-in adds a Vigil API token to the same login.
	said = deviceLogin(t, srv, env, "--resource", "vigil")
	if !strings.Contains(said, "(vigil API)") {
		t.Fatalf("login --resource vigil said:\n%s", said)
	}
	r = vigil(t, env, nil, "whoami", "-o", "jsonl")
	if who := jsonLines(t, r.stdout); len(who) != 2 || who[1]["resource"] != "https://graph.microsoft.com" && who[0]["resource"] != "api://vigil" {
		t.Fatalf("whoami after the second login %q", r.stdout)
	}
	// Authenticated now: an unknown revocation is a failed target, not 3.
	vigil(t, env, nil, "revocations", "get", "00000000-0000-4000-8000-999999999999").want(t, exitPartial, "")

	// An expired access token is refreshed with the refresh token, which
	// rotates.
	cache := filepath.Join(configHome(env), "vigil", "credentials.json")
	before := editCache(t, cache, func(tok map[string]any) { tok["expiry"] = time.Now().Add(-time.Hour).Format(time.RFC3339) })
	vigil(t, env, nil, "users", "list", "--top", "1").want(t, 0, "")
	after := editCache(t, cache, func(map[string]any) {})
	if before == after {
		t.Error("the refresh token did not rotate")
	}

	// The administrator sees the login's sessions and ends them, with a
	// pipeline; the CLI's next refresh fails: exit 3.
	admin := srv.cliEnv(t, false)
	r = vigil(t, admin, nil, "sessions", "list", srv.boot.Admin.UserPrincipalName, "-o", "table")
	r.want(t, 0, "")
	if !strings.Contains(r.stdout, "Vigil CLI") || !strings.HasPrefix(r.stdout, "id ") {
		t.Errorf("sessions table:\n%s", r.stdout)
	}
	r = vigil(t, env, nil, "sessions", "list", "me", "-o", "ids")
	r.want(t, 0, "")
	mine := strings.Fields(r.stdout)
	if len(mine) < 2 {
		t.Fatalf("sessions list me: %q (want the two device sign-ins, at least)", r.stdout)
	}
	first, second := pipeline(t, admin,
		[]string{"sessions", "list", srv.boot.Admin.UserPrincipalName, "-o", "jsonl"},
		[]string{"sessions", "revoke", "-"})
	first.want(t, 0, "")
	second.want(t, 0, "")
	if rows := jsonLines(t, second.stdout); len(rows) != len(mine) || rows[0]["revoked"] != true {
		t.Fatalf("sessions revoke: %q", second.stdout)
	}
	// An ended session is gone: reported, exit 1.
	r = vigil(t, admin, nil, "sessions", "revoke", mine[0])
	r.want(t, exitPartial, "1 of 1 targets failed")
	if rows := jsonLines(t, r.stdout); len(rows) != 1 || rows[0]["error"] != "not found" {
		t.Errorf("ending an ended session: %q", r.stdout)
	}
	editCache(t, cache, func(tok map[string]any) { tok["expiry"] = time.Now().Add(-time.Hour).Format(time.RFC3339) })
	vigil(t, env, nil, "users", "list", "--top", "1").want(t, exitAuth, "has expired or was revoked")
	vigil(t, env, nil, "logout").want(t, 0, "")
	vigil(t, env, nil, "whoami").want(t, exitAuth, "not signed in")

	// me revoke-sessions ends every session of the signed-in user, this
	// CLI's included, and forgets the login.
	deviceLogin(t, srv, env)
	r = vigil(t, env, nil, "me", "revoke-sessions", "-o", "jsonl")
	r.want(t, 0, "")
	if rows := jsonLines(t, r.stdout); len(rows) != 1 || rows[0]["revoked"] != true || rows[0]["revocation"] == nil {
		t.Fatalf("me revoke-sessions: %q", r.stdout)
	}
	if !strings.Contains(r.stderr, "run `vigil login` to sign in again") {
		t.Errorf("stderr %q", r.stderr)
	}
	vigil(t, env, nil, "users", "list", "--top", "1").want(t, exitAuth, "not signed in")
	vigil(t, admin, nil, "me", "revoke-sessions").want(t, exitUsage, "needs a user's login")
}

func configHome(env []string) string {
	for _, e := range env {
		if v, ok := strings.CutPrefix(e, "XDG_CONFIG_HOME="); ok {
			return v
		}
	}
	return ""
}

// editCache changes the cached Graph token and returns its refresh token
// from before the change.
func editCache(t *testing.T, path string, edit func(tok map[string]any)) string {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var f map[string]any
	if err := json.Unmarshal(raw, &f); err != nil {
		t.Fatal(err)
	}
	var rt string
	for _, l := range f["logins"].(map[string]any) {
		tok := l.(map[string]any)["tokens"].(map[string]any)["https://graph.microsoft.com"].(map[string]any)
		rt = fmt.Sprint(tok["refresh_token"])
		edit(tok)
	}
	out, _ := json.Marshal(f)
	if err := os.WriteFile(path, out, 0o600); err != nil {
		t.Fatal(err)
	}
	return rt
}
