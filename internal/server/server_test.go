package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/vigil-idp/vigil/internal/bootstrap"
	"github.com/vigil-idp/vigil/internal/config"
	"github.com/vigil-idp/vigil/internal/store/sqlstore/sqltest"
)

// running is a server started by start.
type running struct {
	addr   string
	base   string
	stdout *bytes.Buffer
	stop   func() error
}

// start runs a node on a free loopback port until the test ends.
func start(t *testing.T, cfg config.Config) *running {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	done := make(chan error, 1)
	out := &bytes.Buffer{}
	go func() {
		done <- Run(ctx, cfg, Options{Stdout: out, Stderr: io.Discard, Ready: func(a string) { ready <- a }})
	}()
	var addr string
	select {
	case addr = <-ready:
	case err := <-done:
		cancel()
		t.Fatalf("Run returned before serving: %v", err)
	case <-time.After(60 * time.Second):
		cancel()
		t.Fatal("server did not start within 60 s")
	}
	var once sync.Once
	var stopErr error
	stop := func() error {
		once.Do(func() {
			cancel()
			select {
			case stopErr = <-done:
			case <-time.After(30 * time.Second):
				stopErr = errors.New("server did not stop within 30 s")
			}
		})
		return stopErr
	}
	t.Cleanup(func() { _ = stop() })
	return &running{addr: addr, base: "http://" + addr, stdout: out, stop: stop}
}

// testConfig is a node on a free loopback port, so its default issuer
// (http://<addr>) is right.
func testConfig(t *testing.T, database string) config.Config {
	t.Helper()
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.Database = database
	cfg.Addr = freeAddr(t)
	cfg.LogLevel = "error"
	cfg.BootstrapAdminPassword = "Correct-Horse-42"
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	return cfg
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func readBootstrap(t *testing.T, dataDir string) (bootstrap.File, []byte) {
	t.Helper()
	path := filepath.Join(dataDir, "bootstrap.json")
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("bootstrap.json: %v", err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("bootstrap.json mode %o, want 600", fi.Mode().Perm())
	}
	var f bootstrap.File
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields() // exactly the contract's fields
	if err := dec.Decode(&f); err != nil {
		t.Fatalf("bootstrap.json does not match the contract: %v", err)
	}
	return f, raw
}

func graphToken(t *testing.T, issuer string, f bootstrap.File) string {
	t.Helper()
	ctx := context.Background()
	provider, err := oidc.NewProvider(ctx, issuer) // go-oidc checks the issuer matches discovery
	if err != nil {
		t.Fatalf("discovery: %v", err)
	}
	cc := clientcredentials.Config{
		ClientID: f.BootstrapClient.ClientID, ClientSecret: f.BootstrapClient.ClientSecret,
		TokenURL: provider.Endpoint().TokenURL, Scopes: []string{"https://graph.microsoft.com/.default"},
	}
	tok, err := cc.Token(ctx)
	if err != nil {
		t.Fatalf("client_credentials: %v", err)
	}
	return tok.AccessToken
}

// wired is a started server with its bootstrap file, an app-only Graph
// token of the bootstrap client, and go-oidc's view of its discovery.
type wired struct {
	cfg      config.Config
	srv      *running
	f        bootstrap.File
	appToken string
	provider *oidc.Provider
}

// startWired starts a server on a fresh SQLite data dir and reads what
// the tests of whole flows need.
func startWired(t *testing.T) wired {
	t.Helper()
	cfg := testConfig(t, "")
	w := wired{cfg: cfg, srv: start(t, cfg)}
	w.f, _ = readBootstrap(t, cfg.DataDir)
	w.appToken = graphToken(t, cfg.IssuerURL(), w.f)
	var err error
	if w.provider, err = oidc.NewProvider(context.Background(), cfg.IssuerURL()); err != nil {
		t.Fatal(err)
	}
	return w
}

func get(t *testing.T, rawURL, token string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest("GET", rawURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, body
}

func TestServe(t *testing.T) {
	backends := map[string]func(t *testing.T) string{
		"sqlite":   func(*testing.T) string { return "" },
		"postgres": func(t *testing.T) string { return sqltest.PostgresDSN(t) },
	}
	for name, dsn := range backends {
		t.Run(name, func(t *testing.T) {
			cfg := testConfig(t, dsn(t))
			srv := start(t, cfg)
			issuer := cfg.IssuerURL()

			f, raw := readBootstrap(t, cfg.DataDir)
			if f.Issuer != issuer || f.GraphBaseURL != issuer+"/v1.0" {
				t.Errorf("bootstrap issuer %q graph %q, want %q", f.Issuer, f.GraphBaseURL, issuer)
			}
			if f.Admin.UserPrincipalName != "admin@vigil.local" || f.Admin.Password != "Correct-Horse-42" || f.Admin.ID == "" {
				t.Errorf("bootstrap admin = %+v", f.Admin)
			}
			if f.BootstrapClient.ClientID == "" || len(f.BootstrapClient.ClientSecret) < 32 || f.CLIClientID == "" {
				t.Errorf("bootstrap clients incomplete: %s", raw)
			}
			if !strings.Contains(srv.stdout.String(), issuer) || !strings.Contains(srv.stdout.String(), "bootstrap.json") {
				t.Errorf("banner does not say where to go: %q", srv.stdout.String())
			}

			if code, body := get(t, srv.base+"/healthz", ""); code != 200 {
				t.Errorf("/healthz = %d %s", code, body)
			}
			token := graphToken(t, issuer, f)
			code, body := get(t, srv.base+"/v1.0/users?$top=1", token)
			if code != 200 {
				t.Fatalf("GET /v1.0/users = %d %s", code, body)
			}
			var page struct {
				Value []struct{ UserPrincipalName string } `json:"value"`
			}
			if err := json.Unmarshal(body, &page); err != nil || len(page.Value) != 1 {
				t.Fatalf("users page %s: %v", body, err)
			}
			code, body = get(t, srv.base+"/v1.0/users/ADMIN@vigil.local", token)
			if code != 200 || !strings.Contains(string(body), f.Admin.ID) {
				t.Errorf("GET admin by UPN = %d %s", code, body)
			}
			if code, _ := get(t, srv.base+"/v1.0/users", ""); code != 401 {
				t.Errorf("GET /v1.0/users without a token = %d, want 401", code)
			}
			if code, _, b := call(t, "POST", srv.base+"/v1.0/$batch", token,
				`{"requests":[{"id":"1","method":"GET","url":"/users?$top=1"}]}`); code != 200 {
				t.Fatalf("POST /v1.0/$batch = %d %v", code, b)
			}
			code, body = get(t, srv.base+"/metrics", "")
			if code != 200 || !strings.Contains(string(body), `vigil_http_requests_total{code="200",method="GET",route="GET /healthz"}`) {
				t.Errorf("/metrics = %d, lacks the request counter by route:\n%.2000s", code, body)
			}
			// Graph requests are counted by the Graph API's own route, not
			// by its "/v1.0/" prefix; ids never become labels.
			for _, want := range []string{
				`vigil_http_requests_total{code="200",method="GET",route="GET /v1.0/users"}`,
				`vigil_http_requests_total{code="200",method="GET",route="GET /v1.0/users/{id}"}`,
				`vigil_http_requests_total{code="200",method="POST",route="POST /v1.0/$batch"}`, // not its parts' route
			} {
				if !strings.Contains(string(body), want) {
					t.Errorf("/metrics lacks %s:\n%.3000s", want, body)
				}
			}
			if strings.Contains(string(body), "ADMIN@vigil.local") {
				t.Error("a path id became a metric label")
			}
			if err := srv.stop(); err != nil {
				t.Fatalf("graceful stop: %v", err)
			}

			// A second start on the same store changes nothing.
			again := start(t, cfg)
			_, raw2 := readBootstrap(t, cfg.DataDir)
			if !bytes.Equal(raw, raw2) {
				t.Error("second start rewrote bootstrap.json")
			}
			if strings.Contains(again.stdout.String(), f.Admin.Password) {
				t.Error("second start printed the admin password again")
			}
			if code, body := get(t, again.base+"/v1.0/users/"+f.Admin.ID, graphToken(t, issuer, f)); code != 200 {
				t.Errorf("after restart, GET admin = %d %s", code, body)
			}
		})
	}
}

// TestTwoNodesOnePostgres starts two nodes on one database at once: exactly
// one bootstraps, and a token from one node is accepted by the other.
func TestTwoNodesOnePostgres(t *testing.T) {
	dsn := sqltest.PostgresDSN(t)
	key := "q6urq6urq6urq6urq6urq6urq6urq6urq6urq6urq6s="
	issuer := "http://" + freeAddr(t) // one issuer for the cluster
	cfgs := make([]config.Config, 2)
	for i := range cfgs {
		cfgs[i] = testConfig(t, dsn)
		cfgs[i].Issuer = issuer
		cfgs[i].EncryptionKey = key
	}
	nodes := make([]*running, 2)
	var wg sync.WaitGroup
	for i := range nodes {
		wg.Go(func() { nodes[i] = start(t, cfgs[i]) })
	}
	wg.Wait()
	var files []bootstrap.File
	for _, c := range cfgs {
		if _, err := os.Stat(filepath.Join(c.DataDir, "bootstrap.json")); err == nil {
			f, _ := readBootstrap(t, c.DataDir)
			files = append(files, f)
		}
	}
	if len(files) != 1 {
		t.Fatalf("%d nodes wrote bootstrap.json, want exactly 1", len(files))
	}
	f := files[0]
	cc := clientcredentials.Config{
		ClientID: f.BootstrapClient.ClientID, ClientSecret: f.BootstrapClient.ClientSecret,
		TokenURL: nodes[0].base + "/token", Scopes: []string{"https://graph.microsoft.com/.default"},
	}
	tok, err := cc.Token(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for i, n := range nodes {
		if code, body := get(t, n.base+"/v1.0/users?$top=1", tok.AccessToken); code != 200 {
			t.Errorf("node %d: GET users with node 0's token = %d %s", i, code, body)
		}
	}
}

func TestDemo(t *testing.T) {
	cfg := testConfig(t, "")
	cfg.Demo = true
	srv := start(t, cfg)
	f, _ := readBootstrap(t, cfg.DataDir)
	token := graphToken(t, cfg.IssuerURL(), f)

	count := func(path string) int {
		t.Helper()
		req, _ := http.NewRequest("GET", srv.base+path, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("ConsistencyLevel", "eventual")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 {
			t.Fatalf("GET %s = %d %s", path, resp.StatusCode, body)
		}
		var n int
		if _, err := fmt.Sscan(string(body), &n); err != nil {
			t.Fatalf("GET %s: %q is not a count", path, body)
		}
		return n
	}
	if n := count("/v1.0/users/$count"); n < 1000 {
		t.Errorf("demo users = %d, want ≥ 1000", n)
	}
	if n := count("/v1.0/users/$count?$filter=" + url.QueryEscape("department eq 'HP'")); n < 50 {
		t.Errorf("HP users = %d, want many", n)
	}

	// Every built-in role has a holder.
	code, body := get(t, srv.base+"/v1.0/directoryRoles", token)
	if code != 200 {
		t.Fatalf("GET directoryRoles = %d %s", code, body)
	}
	var roles struct {
		Value []struct{ ID, DisplayName string } `json:"value"`
	}
	if err := json.Unmarshal(body, &roles); err != nil || len(roles.Value) < 15 {
		t.Fatalf("directoryRoles: %v %s", err, body)
	}
	for _, r := range roles.Value {
		code, body := get(t, srv.base+"/v1.0/directoryRoles/"+r.ID+"/members", token)
		if code != 200 || !strings.Contains(string(body), "#microsoft.graph.user") {
			t.Errorf("role %s has no user member: %d %s", r.DisplayName, code, body)
		}
	}

	// Nested groups: All Staff holds department groups, not people, yet
	// its transitive members include everyone in a department.
	code, body = get(t, srv.base+"/v1.0/groups?$filter="+url.QueryEscape("displayName eq 'All Staff'"), token)
	var groups struct {
		Value []struct{ ID string } `json:"value"`
	}
	if code != 200 || json.Unmarshal(body, &groups) != nil || len(groups.Value) != 1 {
		t.Fatalf("All Staff group: %d %s", code, body)
	}
	all := groups.Value[0].ID
	direct, transitive := count("/v1.0/groups/"+all+"/members/$count"), count("/v1.0/groups/"+all+"/transitiveMembers/$count")
	if direct != len(bootstrap.DemoDepartments) || transitive < 1000 {
		t.Errorf("All Staff: %d direct, %d transitive members; want %d and ≥ 1000", direct, transitive, len(bootstrap.DemoDepartments))
	}
}
