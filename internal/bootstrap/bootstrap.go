package bootstrap

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/google/uuid"

	"github.com/vigil-idp/vigil/internal/authz"
	"github.com/vigil-idp/vigil/internal/directory"
	"github.com/vigil-idp/vigil/internal/oauth"
	"github.com/vigil-idp/vigil/internal/secret"
	"github.com/vigil-idp/vigil/internal/store"
)

// Meta keys owned by this package.
const (
	metaClaim = "bootstrap.claim"
	metaDone  = "bootstrap.done"
)

// AdminUPN is the first Global Administrator's user principal name.
const AdminUPN = "admin@vigil.local"

// globalAdministrator is Entra's Global Administrator role template id.
const globalAdministrator = "62e90394-69f5-4237-9190-012177145e10"

// CLIRedirectURIs are the CLI application's loopback redirect URIs; any
// port matches (RFC 8252 §7.3).
var CLIRedirectURIs = []string{"http://127.0.0.1/callback", "http://localhost/callback"}

// File is the JSON written to <data-dir>/bootstrap.json (design contract).
type File struct {
	Issuer          string     `json:"issuer"`
	GraphBaseURL    string     `json:"graph_base_url"`
	Admin           FileAdmin  `json:"admin"`
	BootstrapClient FileClient `json:"bootstrap_client"`
	CLIClientID     string     `json:"cli_client_id"`
}

// FileAdmin is the admin entry of bootstrap.json.
type FileAdmin struct {
	ID                string `json:"id"`
	UserPrincipalName string `json:"userPrincipalName"`
	Password          string `json:"password"`
}

// FileClient is the bootstrap_client entry of bootstrap.json.
type FileClient struct {
	ClientID     string `json:"client_id"`
	ClientSecret string `json:"client_secret"`
}

// Options says what to provision.
type Options struct {
	Issuer        string
	GraphBaseURL  string
	DataDir       string
	AdminPassword string // "" → random
	Demo          bool
}

// Result reports what Run did.
type Result struct {
	TenantID   string
	FirstStart bool   // this call provisioned the store
	FilePath   string // bootstrap.json (written only when FirstStart)
	File       File   // its content (secrets only when FirstStart)
	Demo       *DemoResult
}

// Directory is what bootstrap needs from the directory.
type Directory interface {
	EnsureBuiltins(ctx context.Context) error
	CreateUser(ctx context.Context, in directory.UserInput) (store.User, error)
	GetUser(ctx context.Context, idOrUPN string) (store.User, error)
	UpdateUser(ctx context.Context, idOrUPN string, in directory.UserInput) (store.User, error)
	CreateRoleAssignment(ctx context.Context, principalID, roleDefinitionID, directoryScopeID string) (store.RoleAssignment, error)
	CreateApplication(ctx context.Context, in directory.ApplicationInput) (store.Application, error)
	GetApplication(ctx context.Context, idOrAppID string) (store.Application, error)
	AddPassword(ctx context.Context, applicationID, displayName string, end time.Time) (directory.NewSecret, error)
	CreateServicePrincipal(ctx context.Context, appID string) (store.ServicePrincipal, error)
	GetServicePrincipal(ctx context.Context, idOrAppID string) (store.ServicePrincipal, error)
	GrantAppPermission(ctx context.Context, principalID, resourceAppID, permissionName string) (store.AppRoleAssignment, error)
}

// Provisioner runs the first start. Build it as a struct literal.
type Provisioner struct {
	Dir  Directory
	Meta store.Meta
	// Consents records the CLI application's tenant-wide admin consent.
	Consents interface {
		PutConsent(ctx context.Context, c store.Consent) error
	}
	Now    func() time.Time
	Logger *slog.Logger
	// Demo builds the demo directory; nil disables --demo.
	Demo *Demo
	// WaitTimeout bounds how long a node waits for another node's
	// bootstrap to finish; 0 means 2 minutes.
	WaitTimeout time.Duration
}

// claim is the value stored under metaClaim while a node bootstraps.
type claim struct {
	Node string    `json:"node"`
	At   time.Time `json:"at"`
}

// staleClaim is how old an unfinished claim must be before another node
// takes over (the claimant crashed mid-way).
const staleClaim = 2 * time.Minute

// Run provisions the store on its first start and writes bootstrap.json. It
// is safe to call on every start and from several nodes at once: exactly one
// provisions; the others wait for it and change nothing.
func (p *Provisioner) Run(ctx context.Context, o Options) (Result, error) {
	tenant, err := p.tenantID(ctx)
	if err != nil {
		return Result{}, err
	}
	res := Result{TenantID: tenant, FilePath: filepath.Join(o.DataDir, "bootstrap.json")}
	if err := p.Dir.EnsureBuiltins(ctx); err != nil {
		return res, fmt.Errorf("bootstrap: built-in service principals: %w", err)
	}
	if done, err := p.done(ctx); err != nil || done {
		return res, err
	}
	won, err := p.claim(ctx)
	if err != nil {
		return res, err
	}
	if !won {
		return res, p.waitDone(ctx)
	}
	f, err := p.provision(ctx, o)
	if err != nil {
		return res, err
	}
	res.File = f
	if o.Demo && p.Demo != nil {
		d, err := p.Demo.Create(ctx)
		if err != nil {
			return res, fmt.Errorf("bootstrap: demo directory: %w", err)
		}
		res.Demo = &d
	}
	if err := writeFile(res.FilePath, f); err != nil {
		return res, err
	}
	if err := p.Meta.PutMeta(ctx, metaDone, []byte(p.now().Format(time.RFC3339Nano))); err != nil {
		return res, fmt.Errorf("bootstrap: mark done: %w", err)
	}
	res.FirstStart = true
	return res, nil
}

func (p *Provisioner) now() time.Time {
	if p.Now != nil {
		return p.Now().UTC()
	}
	return time.Now().UTC()
}

func (p *Provisioner) tenantID(ctx context.Context) (string, error) {
	if _, err := p.Meta.PutMetaIfAbsent(ctx, oauth.MetaTenantID, []byte(uuid.NewString())); err != nil {
		return "", fmt.Errorf("bootstrap: tenant id: %w", err)
	}
	v, err := p.Meta.GetMeta(ctx, oauth.MetaTenantID)
	if err != nil {
		return "", fmt.Errorf("bootstrap: tenant id: %w", err)
	}
	return string(v), nil
}

func (p *Provisioner) done(ctx context.Context) (bool, error) {
	_, err := p.Meta.GetMeta(ctx, metaDone)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, store.ErrNotFound):
		return false, nil
	}
	return false, fmt.Errorf("bootstrap: read marker: %w", err)
}

// claim takes the bootstrap claim, or takes over a stale one.
func (p *Provisioner) claim(ctx context.Context) (bool, error) {
	mine, _ := json.Marshal(claim{Node: uuid.NewString(), At: p.now()})
	won, err := p.Meta.PutMetaIfAbsent(ctx, metaClaim, mine)
	if err != nil || won {
		return won, err
	}
	raw, err := p.Meta.GetMeta(ctx, metaClaim)
	if err != nil {
		return false, fmt.Errorf("bootstrap: read claim: %w", err)
	}
	var c claim
	if json.Unmarshal(raw, &c) == nil && p.now().Sub(c.At) < staleClaim {
		return false, nil
	}
	if p.Logger != nil {
		p.Logger.Warn("taking over an unfinished bootstrap (the node that started it stopped)")
	}
	return true, p.Meta.PutMeta(ctx, metaClaim, mine)
}

func (p *Provisioner) waitDone(ctx context.Context) error {
	limit := p.WaitTimeout
	if limit == 0 {
		limit = staleClaim
	}
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	t := time.NewTicker(200 * time.Millisecond)
	defer t.Stop()
	for {
		if done, err := p.done(ctx); err != nil || done {
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("bootstrap: another node is bootstrapping this store and did not finish: %w", ctx.Err())
		case <-t.C:
		}
	}
}

// provision creates the admin and the two applications. Each step finds
// what an interrupted earlier attempt created, so a retry converges.
func (p *Provisioner) provision(ctx context.Context, o Options) (File, error) {
	f := File{Issuer: o.Issuer, GraphBaseURL: o.GraphBaseURL}
	pw := o.AdminPassword
	if pw == "" {
		var err error
		if pw, err = secret.NewPassword(20); err != nil {
			return f, err
		}
	}
	admin, err := p.ensureAdmin(ctx, pw)
	if err != nil {
		return f, err
	}
	f.Admin = FileAdmin{ID: admin.ID, UserPrincipalName: admin.UserPrincipalName, Password: pw}

	bootApp, err := p.ensureApp(ctx, "bootstrap.app", directory.ApplicationInput{
		DisplayName: directory.Some("Vigil Bootstrap"),
	})
	if err != nil {
		return f, err
	}
	sp, err := p.ensureServicePrincipal(ctx, bootApp.AppID)
	if err != nil {
		return f, err
	}
	for _, res := range authz.Resources() {
		for _, perm := range res.Permissions() {
			if perm.AppRoleID == "" {
				continue
			}
			if _, err := p.Dir.GrantAppPermission(ctx, sp.ID, res.AppID, perm.Name); err != nil && !directory.IsKind(err, directory.KindConflict) {
				return f, fmt.Errorf("bootstrap: grant %s: %w", perm.Name, err)
			}
		}
	}
	sec, err := p.Dir.AddPassword(ctx, bootApp.ID, "bootstrap", p.now().AddDate(2, 0, 0))
	if err != nil {
		return f, fmt.Errorf("bootstrap: client secret: %w", err)
	}
	f.BootstrapClient = FileClient{ClientID: bootApp.AppID, ClientSecret: sec.SecretText}

	cliApp, err := p.ensureApp(ctx, "bootstrap.cli_app", directory.ApplicationInput{
		DisplayName:              directory.Some("Vigil CLI"),
		PublicClientRedirectURIs: directory.Some(CLIRedirectURIs),
		IsFallbackPublicClient:   directory.Some(true),
	})
	if err != nil {
		return f, err
	}
	if _, err := p.ensureServicePrincipal(ctx, cliApp.AppID); err != nil {
		return f, err
	}
	if err := p.consentCLI(ctx, cliApp.AppID); err != nil {
		return f, err
	}
	f.CLIClientID = cliApp.AppID
	return f, nil
}

// consentCLI grants the CLI application tenant-wide admin consent for every
// delegated scope of every built-in resource (design contract: "as Graph's
// own command-line tools usually do"); what a token can do is still bounded
// by the signed-in user's directory roles. PutConsent merges, so a resumed
// bootstrap repeats it harmlessly.
func (p *Provisioner) consentCLI(ctx context.Context, cliAppID string) error {
	if p.Consents == nil {
		return errors.New("bootstrap: no consent store")
	}
	for _, res := range authz.Resources() {
		var scopes []string
		for _, perm := range res.Permissions() {
			if perm.ScopeID != "" {
				scopes = append(scopes, perm.Name)
			}
		}
		if len(scopes) == 0 {
			continue
		}
		err := p.Consents.PutConsent(ctx, store.Consent{
			ID: uuid.NewString(), ClientID: cliAppID, Resource: res.AppID, Scopes: scopes, CreatedAt: p.now(),
		})
		if err != nil {
			return fmt.Errorf("bootstrap: CLI consent for %s: %w", res.DisplayName, err)
		}
	}
	return nil
}

func (p *Provisioner) ensureAdmin(ctx context.Context, pw string) (store.User, error) {
	admin, err := p.Dir.GetUser(ctx, AdminUPN)
	switch {
	case err == nil: // an interrupted earlier attempt created it: reset its password
		admin, err = p.Dir.UpdateUser(ctx, admin.ID, directory.UserInput{
			PasswordProfile: directory.Some(directory.PasswordProfile{Password: pw}),
		})
	case directory.IsKind(err, directory.KindNotFound):
		admin, err = p.Dir.CreateUser(ctx, directory.UserInput{
			AccountEnabled:    directory.Some(true),
			DisplayName:       directory.Some("Vigil Administrator"),
			UserPrincipalName: directory.Some(AdminUPN),
			MailNickname:      directory.Some("admin"),
			Mail:              directory.Some(AdminUPN),
			PasswordProfile:   directory.Some(directory.PasswordProfile{Password: pw}),
		})
	}
	if err != nil {
		return admin, fmt.Errorf("bootstrap: admin user: %w", err)
	}
	if _, err := p.Dir.CreateRoleAssignment(ctx, admin.ID, globalAdministrator, "/"); err != nil && !directory.IsKind(err, directory.KindConflict) {
		return admin, fmt.Errorf("bootstrap: admin role: %w", err)
	}
	return admin, nil
}

// ensureApp creates an application once, remembering its id under metaKey.
func (p *Provisioner) ensureApp(ctx context.Context, metaKey string, in directory.ApplicationInput) (store.Application, error) {
	if id, err := p.Meta.GetMeta(ctx, metaKey); err == nil {
		app, err := p.Dir.GetApplication(ctx, string(id))
		if err == nil {
			return app, nil
		}
		if !directory.IsKind(err, directory.KindNotFound) {
			return app, fmt.Errorf("bootstrap: read application: %w", err)
		}
	} else if !errors.Is(err, store.ErrNotFound) {
		return store.Application{}, fmt.Errorf("bootstrap: read marker: %w", err)
	}
	app, err := p.Dir.CreateApplication(ctx, in)
	if err != nil {
		return app, fmt.Errorf("bootstrap: create application: %w", err)
	}
	if err := p.Meta.PutMeta(ctx, metaKey, []byte(app.ID)); err != nil {
		return app, fmt.Errorf("bootstrap: remember application: %w", err)
	}
	return app, nil
}

func (p *Provisioner) ensureServicePrincipal(ctx context.Context, appID string) (store.ServicePrincipal, error) {
	sp, err := p.Dir.CreateServicePrincipal(ctx, appID)
	if directory.IsKind(err, directory.KindConflict) {
		sp, err = p.Dir.GetServicePrincipal(ctx, appID)
	}
	if err != nil {
		return sp, fmt.Errorf("bootstrap: service principal: %w", err)
	}
	return sp, nil
}

// writeFile writes bootstrap.json with mode 0600, never replacing an
// existing file (a later start never rewrites it), and syncs it.
func writeFile(path string, f File) error {
	data, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return err
	}
	fh, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) {
		return fmt.Errorf("bootstrap: %s already exists but the store is new: move it away (it belongs to another store) and start again", path)
	}
	if err != nil {
		return fmt.Errorf("bootstrap: create %s: %w", path, err)
	}
	if _, err := fh.Write(append(data, '\n')); err != nil {
		fh.Close()
		return fmt.Errorf("bootstrap: write %s: %w", path, err)
	}
	if err := fh.Sync(); err != nil {
		fh.Close()
		return fmt.Errorf("bootstrap: sync %s: %w", path, err)
	}
	return fh.Close()
}
