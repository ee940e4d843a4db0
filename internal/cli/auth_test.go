package cli

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2"
)

// fakeJWT is an unsigned token with claims (the CLI only reads them).
func fakeJWT(claims map[string]any) string {
	b, _ := json.Marshal(claims)
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(`{"alg":"none"}`)) + "." + enc(b) + ".sig"
}

// fakeIdP is a token service: discovery, device authorization, the
// device_code, refresh_token (rotating, with reuse detection) and
// client_credentials grants, and token revocation.
type fakeIdP struct {
	srv *httptest.Server

	mu        sync.Mutex
	polls     int
	refreshes int
	live      map[string]bool // refresh tokens that may be redeemed
	next      int
	revoked   []string
	failAll   bool // refresh answers invalid_grant
}

func newFakeIdP(t *testing.T) *fakeIdP {
	f := &fakeIdP{live: map[string]bool{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(map[string]string{
			"issuer": f.srv.URL, "token_endpoint": f.srv.URL + "/token",
			"device_authorization_endpoint": f.srv.URL + "/devicecode", "revocation_endpoint": f.srv.URL + "/revoke",
		})
	})
	mux.HandleFunc("POST /devicecode", func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		if r.Form.Get("client_id") != "cli-client" || !strings.Contains(r.Form.Get("scope"), "https://graph.microsoft.com/.default") {
			oauthError(w, 400, "invalid_client", "unknown client")
			return
		}
		writeJSON(w, map[string]any{"device_code": "dc", "user_code": "BCDF-GHJK",
			"verification_uri": f.srv.URL + "/device", "expires_in": 60, "interval": 1})
	})
	mux.HandleFunc("POST /revoke", func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		f.mu.Lock()
		f.revoked = append(f.revoked, r.Form.Get("token"))
		f.mu.Unlock()
	})
	mux.HandleFunc("POST /token", func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		f.mu.Lock()
		defer f.mu.Unlock()
		switch r.Form.Get("grant_type") {
		case "urn:ietf:params:oauth:grant-type:device_code":
			f.polls++
			if f.polls == 1 {
				oauthError(w, 400, "authorization_pending", "waiting")
				return
			}
			f.issue(w, true)
		case "refresh_token":
			f.refreshes++
			rt := r.Form.Get("refresh_token")
			if f.failAll || !f.live[rt] {
				oauthError(w, 400, "invalid_grant", "the refresh token was already used; every token of its grant is now revoked")
				return
			}
			delete(f.live, rt)
			f.issue(w, false)
		case "client_credentials":
			id, secret, _ := r.BasicAuth()
			if id != "app" || secret != "s3cret" {
				oauthError(w, 401, "invalid_client", "client authentication failed")
				return
			}
			writeJSON(w, map[string]any{"access_token": fakeJWT(map[string]any{"roles": []string{"User.Read.All"},
				"client_id": "app", "exp": time.Now().Add(time.Hour).Unix()}), "token_type": "Bearer", "expires_in": 3600})
		default:
			oauthError(w, 400, "unsupported_grant_type", "")
		}
	})
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	return f
}

// issue answers a token response with a new rotating refresh token; the
// caller holds f.mu.
func (f *fakeIdP) issue(w http.ResponseWriter, idToken bool) {
	f.next++
	rt := fmt.Sprintf("rt-%d", f.next)
	f.live[rt] = true
	resp := map[string]any{
		"access_token": fakeJWT(map[string]any{"oid": "oid-ada", "scp": "User.Read.All", "n": f.next,
			"exp": time.Now().Add(time.Hour).Unix()}),
		"token_type": "Bearer", "expires_in": 3600, "refresh_token": rt,
	}
	if idToken {
		resp["id_token"] = fakeJWT(map[string]any{"oid": "oid-ada", "preferred_username": "ada@vigil.local"})
	}
	writeJSON(w, resp)
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(v)
}

func oauthError(w http.ResponseWriter, status int, code, desc string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"error": code, "error_description": desc})
}

// testState is a state on the fake IdP with its own config directory.
func testState(t *testing.T, serverURL, configDir string) (*state, *bytes.Buffer, *bytes.Buffer) {
	var out, errw bytes.Buffer
	env := &Env{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errw, ConfigDir: configDir,
		Getenv: func(k string) string {
			if k == "VIGIL_URL" {
				return serverURL
			}
			return ""
		}}
	return newState(env), &out, &errw
}

func TestLoginDeviceCode(t *testing.T) {
	idp := newFakeIdP(t)
	dir := filepath.Join(t.TempDir(), "vigil")
	s, _, errw := testState(t, idp.srv.URL, dir)
	if err := s.loginDevice(context.Background(), "cli-client", "", graphAPI); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(errw.String(), idp.srv.URL+"/device") || !strings.Contains(errw.String(), "BCDF-GHJK") ||
		!strings.Contains(errw.String(), "Signed in to "+idp.srv.URL+" as ada@vigil.local") {
		t.Errorf("login said:\n%s", errw.String())
	}
	if idp.polls != 2 {
		t.Errorf("token endpoint polled %d times, want 2 (pending, then approved)", idp.polls)
	}
	for path, want := range map[string]os.FileMode{dir: 0o700, filepath.Join(dir, "credentials.json"): 0o600} {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != want {
			t.Errorf("%s mode %o, want %o", path, fi.Mode().Perm(), want)
		}
	}
	f, err := (&tokenCache{dir: dir}).load()
	if err != nil {
		t.Fatal(err)
	}
	l := f.Logins[idp.srv.URL]
	if l == nil || l.Kind != loginUser || l.User != "ada@vigil.local" || l.ObjectID != "oid-ada" ||
		l.Tokens[graphAPI.audience].RefreshToken != "rt-1" || l.RevocationEndpoint == "" {
		t.Fatalf("cached login %+v", l)
	}

	// The cached login serves the Graph API but names the missing login
	// for the Vigil API.
	c, err := s.apiClient(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.creds.token(context.Background(), graphAPI); err != nil {
		t.Fatal(err)
	}
	_, err = c.creds.token(context.Background(), vigilAPI)
	if KindOf(err) != KindAuth || !strings.Contains(err.Error(), "vigil login --resource vigil") {
		t.Fatalf("Vigil API token: %v", err)
	}

	// Logout forgets it and revokes the refresh token.
	s2, _, _ := testState(t, idp.srv.URL, dir)
	if err := s2.logout(context.Background(), false); err != nil {
		t.Fatal(err)
	}
	if len(idp.revoked) != 1 || idp.revoked[0] != "rt-1" {
		t.Errorf("revoked %v, want [rt-1]", idp.revoked)
	}
	s3, _, _ := testState(t, idp.srv.URL, dir)
	if _, err := s3.apiClient(context.Background()); KindOf(err) != KindAuth || !strings.Contains(err.Error(), "run `vigil login`") {
		t.Errorf("after logout: %v", err)
	}
}

// expiredLogin writes a login whose access token has expired and whose
// refresh token the IdP accepts.
func expiredLogin(t *testing.T, idp *fakeIdP, dir string) {
	t.Helper()
	idp.mu.Lock()
	idp.live["rt-0"] = true
	idp.mu.Unlock()
	f := &cacheFile{Version: cacheVersion, Logins: map[string]*login{idp.srv.URL: {
		Kind: loginUser, ClientID: "cli-client", TokenEndpoint: idp.srv.URL + "/token", User: "ada@vigil.local",
		Tokens: map[string]*oauth2.Token{graphAPI.audience: {AccessToken: "old", RefreshToken: "rt-0", Expiry: time.Now().Add(-time.Minute)}},
	}}}
	if err := (&tokenCache{dir: dir}).save(f); err != nil {
		t.Fatal(err)
	}
}

// TestRefreshOnceAcrossProcesses: two CLI processes (two states, each with
// its own credentials) needing a token at once redeem the rotating refresh
// token once; the second uses what the first cached. Presenting it twice
// would be reuse, which the server answers by revoking the login.
func TestRefreshOnceAcrossProcesses(t *testing.T) {
	idp := newFakeIdP(t)
	dir := t.TempDir()
	expiredLogin(t, idp, dir)
	var wg sync.WaitGroup
	tokens := make(chan string, 20)
	for range 2 {
		s, _, _ := testState(t, idp.srv.URL, dir)
		c, err := s.apiClient(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for range 10 {
			wg.Go(func() {
				tok, err := c.creds.token(context.Background(), graphAPI)
				if err != nil {
					t.Error(err)
				}
				tokens <- tok
			})
		}
	}
	wg.Wait()
	close(tokens)
	seen := map[string]bool{}
	for tok := range tokens {
		seen[tok] = true
	}
	if idp.refreshes != 1 || len(seen) != 1 {
		t.Fatalf("%d refreshes, %d distinct tokens: want one of each", idp.refreshes, len(seen))
	}
	f, _ := (&tokenCache{dir: dir}).load()
	if rt := f.Logins[idp.srv.URL].Tokens[graphAPI.audience].RefreshToken; rt != "rt-1" {
		t.Errorf("cached refresh token %q, want the rotated rt-1", rt)
	}
}

func TestExpiredLoginIsAuthError(t *testing.T) {
	idp := newFakeIdP(t)
	dir := t.TempDir()
	expiredLogin(t, idp, dir)
	idp.failAll = true
	s, _, _ := testState(t, idp.srv.URL, dir)
	c, err := s.apiClient(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.creds.token(context.Background(), graphAPI)
	if KindOf(err) != KindAuth || !strings.Contains(err.Error(), "has expired or was revoked") ||
		!strings.Contains(err.Error(), "run `vigil login` again") || strings.Contains(err.Error(), "\n") {
		t.Fatalf("err = %v", err)
	}
}

func TestLoginApp(t *testing.T) {
	idp := newFakeIdP(t)
	dir := t.TempDir()
	s, _, errw := testState(t, idp.srv.URL, dir)
	s.env.Stdin = strings.NewReader("s3cret\n")
	if err := s.loginApp(context.Background(), "app", "-"); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(errw.String(), "as application app") {
		t.Errorf("login said %q", errw.String())
	}
	s2, _, _ := testState(t, idp.srv.URL, dir)
	c, err := s2.apiClient(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	tok, err := c.creds.token(context.Background(), graphAPI)
	if err != nil {
		t.Fatal(err)
	}
	if cl, _ := decodeClaims(tok); cl.ClientID != "app" {
		t.Errorf("token claims %+v", cl)
	}

	s3, _, _ := testState(t, idp.srv.URL, t.TempDir())
	err = s3.loginApp(context.Background(), "app", "wrong")
	if KindOf(err) != KindAuth || !strings.Contains(err.Error(), "invalid_client") {
		t.Errorf("wrong secret: %v", err)
	}
}

func TestCacheRefusesReadableFile(t *testing.T) {
	dir := t.TempDir()
	c := &tokenCache{dir: dir}
	if err := c.save(&cacheFile{Version: cacheVersion, Logins: map[string]*login{}}); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(c.path(), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := c.load(); KindOf(err) != KindAuth || !strings.Contains(err.Error(), "chmod 600") {
		t.Fatalf("load of a 0644 cache: %v", err)
	}
}

func TestCacheLockExcludes(t *testing.T) {
	c := &tokenCache{dir: t.TempDir()}
	unlock, err := c.lock()
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan bool, 1)
	go func() {
		u2, err := c.lock()
		if err == nil {
			u2()
		}
		got <- err == nil
	}()
	select {
	case <-got:
		t.Fatal("a second lock was taken while the first was held")
	case <-time.After(200 * time.Millisecond):
	}
	unlock()
	if !<-got {
		t.Fatal("the second lock failed after the first was released")
	}
}

func TestCredentialsFromEnvironment(t *testing.T) {
	s, _, _ := testState(t, "http://127.0.0.1:1", t.TempDir())
	s.env.Getenv = func(k string) string { return map[string]string{"VIGIL_CLIENT_ID": "app"}[k] }
	if _, err := s.apiClient(context.Background()); KindOf(err) != KindUsage || !strings.Contains(err.Error(), "both") {
		t.Fatalf("only VIGIL_CLIENT_ID: %v", err)
	}
	s.env.Getenv = func(k string) string { return map[string]string{"VIGIL_URL": "ftp://x"}[k] }
	if _, err := s.apiClient(context.Background()); KindOf(err) != KindUsage || !strings.Contains(err.Error(), "VIGIL_URL") {
		t.Fatalf("bad VIGIL_URL: %v", err)
	}
}
