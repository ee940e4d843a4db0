package bootstrap

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigil-idp/vigil/internal/authz"
	"github.com/vigil-idp/vigil/internal/directory"
	"github.com/vigil-idp/vigil/internal/secret"
	"github.com/vigil-idp/vigil/internal/store"
	"github.com/vigil-idp/vigil/internal/store/sqlstore"
	"github.com/vigil-idp/vigil/internal/store/sqlstore/sqltest"
)

var fastHash = func(pw string) (string, error) {
	return secret.HashPassword(pw, secret.Argon2Params{Memory: 1024, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32})
}

func newProvisioner(st *sqlstore.Store, now func() time.Time) (*Provisioner, *directory.Service) {
	dir := &directory.Service{Store: st, Now: now, HashPassword: fastHash, Secrets: secret.NewHasher(make([]byte, 32))}
	return &Provisioner{Dir: dir, Meta: st, Consents: st, Now: now, WaitTimeout: 10 * time.Second}, dir
}

func TestRunOnce(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, st *sqlstore.Store) {
		ctx := context.Background()
		p, dir := newProvisioner(st, time.Now)
		dataDir := t.TempDir()
		opts := Options{Issuer: "http://127.0.0.1:1", GraphBaseURL: "http://127.0.0.1:1/v1.0", DataDir: dataDir}
		res, err := p.Run(ctx, opts)
		if err != nil {
			t.Fatal(err)
		}
		if !res.FirstStart || res.TenantID == "" {
			t.Fatalf("first Run = %+v", res)
		}
		raw, err := os.ReadFile(filepath.Join(dataDir, "bootstrap.json"))
		if err != nil {
			t.Fatal(err)
		}
		var f File
		if err := json.Unmarshal(raw, &f); err != nil {
			t.Fatal(err)
		}
		if f.Admin.Password == "" || f.Admin.Password != res.File.Admin.Password {
			t.Errorf("admin password missing from bootstrap.json")
		}

		// The admin is a Global Administrator.
		roles, err := dir.EffectiveRoles(ctx, f.Admin.ID)
		if err != nil || len(roles) != 1 || roles[0] != globalAdministrator {
			t.Errorf("admin roles = %v, %v", roles, err)
		}
		// The bootstrap client holds every application permission of
		// every built-in resource.
		sp, err := dir.GetServicePrincipal(ctx, f.BootstrapClient.ClientID)
		if err != nil {
			t.Fatal(err)
		}
		grants, err := dir.ListAppRoleAssignments(ctx, sp.ID)
		if err != nil {
			t.Fatal(err)
		}
		want := 0
		for _, r := range authz.Resources() {
			for _, perm := range r.Permissions() {
				if perm.AppRoleID != "" {
					want++
				}
			}
		}
		if len(grants) != want {
			t.Errorf("bootstrap client has %d grants, want %d", len(grants), want)
		}
		// Its secret verifies; the CLI app is a public client with the
		// loopback redirect URIs.
		creds, err := dir.ListPasswords(ctx, mustApp(t, dir, f.BootstrapClient.ClientID).ID)
		if err != nil || len(creds) != 1 || !secret.NewHasher(make([]byte, 32)).Equal(creds[0].SecretHash, f.BootstrapClient.ClientSecret) {
			t.Errorf("bootstrap client secret does not verify (%d creds, %v)", len(creds), err)
		}
		cli := mustApp(t, dir, f.CLIClientID)
		if !cli.IsFallbackPublicClient || strings.Join(cli.PublicClientRedirectURIs, " ") != strings.Join(CLIRedirectURIs, " ") {
			t.Errorf("CLI app = %+v", cli)
		}

		// The CLI app holds tenant-wide consent for every delegated Graph
		// scope.
		consents, err := st.ListConsents(ctx, f.CLIClientID, "")
		if err != nil {
			t.Fatal(err)
		}
		var graphScopes []string
		for _, c := range consents {
			if c.Resource == authz.GraphAppID && c.UserID == "" {
				graphScopes = c.Scopes
			}
		}
		for _, perm := range authz.GraphPermissions() {
			if perm.ScopeID != "" && !slices.Contains(graphScopes, perm.Name) {
				t.Errorf("CLI consent lacks %s (has %v)", perm.Name, graphScopes)
			}
		}

		// A second Run changes nothing and writes nothing.
		res2, err := p.Run(ctx, opts)
		if err != nil || res2.FirstStart || res2.TenantID != res.TenantID {
			t.Fatalf("second Run = %+v, %v", res2, err)
		}
		raw2, _ := os.ReadFile(filepath.Join(dataDir, "bootstrap.json"))
		if string(raw2) != string(raw) {
			t.Error("second Run rewrote bootstrap.json")
		}
	})
}

func mustApp(t *testing.T, dir *directory.Service, appID string) store.Application {
	t.Helper()
	app, err := dir.GetApplication(context.Background(), appID)
	if err != nil {
		t.Fatal(err)
	}
	return app
}

// TestConcurrentNodes runs bootstrap on several "nodes" sharing one store at
// once: exactly one provisions.
func TestConcurrentNodes(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, st *sqlstore.Store) {
		const nodes = 4
		results := make([]Result, nodes)
		errs := make([]error, nodes)
		var wg sync.WaitGroup
		for i := range nodes {
			wg.Go(func() {
				p, _ := newProvisioner(st, time.Now)
				results[i], errs[i] = p.Run(context.Background(), Options{DataDir: t.TempDir()})
			})
		}
		wg.Wait()
		first := 0
		for i := range nodes {
			if errs[i] != nil {
				t.Fatalf("node %d: %v", i, errs[i])
			}
			if results[i].FirstStart {
				first++
			}
			if results[i].TenantID != results[0].TenantID {
				t.Errorf("node %d sees tenant %s, node 0 %s", i, results[i].TenantID, results[0].TenantID)
			}
		}
		if first != 1 {
			t.Fatalf("%d nodes provisioned, want 1", first)
		}
		users, err := st.CountUsers(context.Background(), store.Query{})
		if err != nil || users != 1 {
			t.Errorf("users after concurrent bootstrap = %d, %v; want 1 admin", users, err)
		}
	})
}

// TestResumeAfterCrash: a node that stopped mid-bootstrap leaves a claim and
// an admin; once the claim is stale, the next start finishes the job.
func TestResumeAfterCrash(t *testing.T) {
	st := sqltest.SQLite(t)
	ctx := context.Background()
	clock := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	now := func() time.Time { return clock }
	p, dir := newProvisioner(st, now)
	if _, err := p.claim(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := p.ensureAdmin(ctx, "First-Password-1"); err != nil {
		t.Fatal(err)
	}
	// Another node right away waits (and here gives up quickly).
	waiter, _ := newProvisioner(st, now)
	waiter.WaitTimeout = 300 * time.Millisecond
	if _, err := waiter.Run(ctx, Options{DataDir: t.TempDir()}); err == nil || !strings.Contains(err.Error(), "another node") {
		t.Fatalf("Run during a fresh claim = %v, want a wait timeout", err)
	}
	clock = clock.Add(staleClaim + time.Second)
	res, err := p.Run(ctx, Options{DataDir: t.TempDir(), AdminPassword: "Second-Password-2"})
	if err != nil || !res.FirstStart {
		t.Fatalf("resume = %+v, %v", res, err)
	}
	admin, err := dir.GetUser(ctx, AdminUPN)
	if err != nil || admin.ID != res.File.Admin.ID {
		t.Fatalf("resumed admin %v differs from the first (%v)", res.File.Admin.ID, err)
	}
	if err := secret.VerifyPassword(admin.PasswordHash, "Second-Password-2"); err != nil {
		t.Errorf("resumed admin password: %v", err)
	}
}

func TestExistingFileRefused(t *testing.T) {
	st := sqltest.SQLite(t)
	p, _ := newProvisioner(st, time.Now)
	dataDir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dataDir, "bootstrap.json"), []byte("{}"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := p.Run(context.Background(), Options{DataDir: dataDir})
	if err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Fatalf("Run over a foreign bootstrap.json = %v", err)
	}
	raw, _ := os.ReadFile(filepath.Join(dataDir, "bootstrap.json"))
	if string(raw) != "{}" {
		t.Error("the existing bootstrap.json was changed")
	}
}

func TestRoleNick(t *testing.T) {
	for in, want := range map[string]string{
		"Helpdesk Administrator":           "helpdesk.administrator",
		"Privileged Role Administrator":    "privileged.role.administrator",
		"User Experience Success Manager ": "user.experience.success.manager",
	} {
		if got := roleNick(in); got != want {
			t.Errorf("roleNick(%q) = %q, want %q", in, got, want)
		}
	}
}
