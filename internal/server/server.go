package server

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/vigil-idp/vigil/internal/authz"
	"github.com/vigil-idp/vigil/internal/bootstrap"
	"github.com/vigil-idp/vigil/internal/config"
	"github.com/vigil-idp/vigil/internal/directory"
	"github.com/vigil-idp/vigil/internal/graph"
	"github.com/vigil-idp/vigil/internal/keys"
	"github.com/vigil-idp/vigil/internal/liveauth"
	"github.com/vigil-idp/vigil/internal/login"
	"github.com/vigil-idp/vigil/internal/oauth"
	"github.com/vigil-idp/vigil/internal/retention"
	"github.com/vigil-idp/vigil/internal/revocation"
	"github.com/vigil-idp/vigil/internal/secret"
	"github.com/vigil-idp/vigil/internal/session"
	"github.com/vigil-idp/vigil/internal/ssfserver"
	"github.com/vigil-idp/vigil/internal/store/sqlstore"
	"github.com/vigil-idp/vigil/internal/vigilapi"
)

// Options are the process-level inputs of Run that are not configuration.
type Options struct {
	Stdout io.Writer // the start-up banner
	Stderr io.Writer // JSON logs
	// Ready, when set, receives the bound address once the server accepts
	// connections (tests listen on port 0).
	Ready func(addr string)
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Run starts a Vigil node and serves until ctx is done, then shuts down
// gracefully: it stops accepting, finishes in-flight requests (bounded by
// cfg.ShutdownTimeout), stops the workers and closes the store.
func Run(ctx context.Context, cfg config.Config, o Options) error {
	if o.Stdout == nil {
		o.Stdout = os.Stdout
	}
	if o.Stderr == nil {
		o.Stderr = os.Stderr
	}
	now := o.Now
	if now == nil {
		now = time.Now
	}
	log := newLogger(o.Stderr, cfg.LogLevel)

	app, err := build(ctx, cfg, log, now)
	if err != nil {
		return err
	}
	defer app.store.Close()

	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Addr, err)
	}
	srv := &http.Server{
		Handler:           app.handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		WriteTimeout:      120 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}

	if cfg.PprofAddr != "" {
		stop, err := servePprof(cfg.PprofAddr, log)
		if err != nil {
			return err
		}
		defer stop()
	}

	workerCtx, stopWorkers := context.WithCancel(context.WithoutCancel(ctx))
	var wg sync.WaitGroup
	for _, run := range app.workers {
		wg.Go(func() { run(workerCtx) })
	}

	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	addr := ln.Addr().String()
	log.Info("vigil serving", "addr", addr, "issuer", app.issuer, "database", cfg.Redacted())
	printBanner(o.Stdout, app, addr)
	if o.Ready != nil {
		o.Ready(addr)
	}

	select {
	case err = <-serveErr:
		err = fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
		log.Info("shutting down: finishing in-flight requests", "timeout", cfg.ShutdownTimeout.String())
		app.beforeShutdown()
		sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
		err = srv.Shutdown(sctx)
		cancel()
		if err != nil {
			err = fmt.Errorf("shutdown: %w", err)
		}
	}
	stopWorkers()
	wg.Wait()
	app.stopWorkers()
	log.Info("vigil stopped")
	return err
}

// node is one built Vigil node.
type node struct {
	store   *sqlstore.Store
	handler http.Handler
	// workers run until the node stops; stopWorkers releases what they
	// share once they have returned.
	workers        []func(context.Context)
	stopWorkers    func()
	beforeShutdown func()
	issuer         string
	bootstrap      bootstrap.Result
	dataDir        string
}

// build wires every service as a struct literal (the composition root).
func build(ctx context.Context, cfg config.Config, log *slog.Logger, now func() time.Time) (*node, error) {
	master, err := encryptionKey(cfg)
	if err != nil {
		return nil, err
	}
	box, err := secret.NewBox(master)
	if err != nil {
		return nil, err
	}
	hasher := secret.NewHasher(master)

	st, err := sqlstore.Open(ctx, cfg.DatabaseURL(), sqlstore.WithLogger(log), sqlstore.WithClock(now))
	if err != nil {
		return nil, fmt.Errorf("open store %s: %w", cfg.Redacted(), err)
	}
	ok := false
	defer func() {
		if !ok {
			st.Close()
		}
	}()

	km := &keys.Manager{Store: st, Box: box, Now: now, Logger: log,
		Algorithms: []jose.SignatureAlgorithm{jose.ES256, jose.RS256, jose.EdDSA},
		// CAE-capable (cp1) access tokens live up to 28 h: keep keys
		// published that long after they last signed.
		MaxTokenLifetime: session.MaxCAEAccessTokenLifetime}
	if err := km.Ensure(ctx); err != nil {
		return nil, fmt.Errorf("signing keys: %w", err)
	}

	issuer := cfg.IssuerURL()
	graphBase := issuer + "/v1.0"
	dir := &directory.Service{Store: st, Now: now, Secrets: hasher}

	prov := &bootstrap.Provisioner{Dir: dir, Meta: st, Consents: st, Now: now, Logger: log}
	if cfg.Demo {
		demo, err := newDemo(func(hash func(string) (string, error)) *directory.Service {
			return &directory.Service{Store: st, Now: now, Secrets: hasher, HashPassword: hash}
		})
		if err != nil {
			return nil, err
		}
		prov.Demo = demo
	}
	res, err := prov.Run(ctx, bootstrap.Options{
		Issuer: issuer, GraphBaseURL: graphBase, DataDir: cfg.DataDir,
		AdminPassword: cfg.BootstrapAdminPassword, Demo: cfg.Demo,
	})
	if err != nil {
		return nil, err
	}
	dir.TenantID = res.TenantID

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", health(st))
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))

	// Token service (internal/oauth) with sign-in pages (internal/login)
	// and sessions (internal/session).
	sessions := &session.Service{Store: st, Secrets: hasher, Now: now, Logger: log}
	access := &oauth.AccessTokens{Issuer: issuer, Signers: km, Meta: st, Now: now}
	idTokens := &oauth.IDTokens{Issuer: issuer, Signers: km, Keys: km, Meta: st, Now: now,
		Algorithms: []jose.SignatureAlgorithm{jose.RS256, jose.ES256, jose.EdDSA}}
	delegated := &oauth.Delegated{Access: access, IDTokens: idTokens, Sessions: sessions, Roles: st}
	authorizer := &oauth.Authorizer{Issuer: issuer, Clients: st, Codes: st, Secrets: hasher, IDTokens: idTokens, Now: now}
	device := &oauth.DeviceFlow{Issuer: issuer, Codes: st, Secrets: hasher, Sessions: sessions, Tokens: delegated, Now: now}
	passwords := &login.Passwords{Users: st, Throttles: st, Audit: st, Now: now, Logger: log}
	ui := &login.Handler{Issuer: issuer, Authorizer: authorizer, Device: device,
		EndSessions: &oauth.EndSessions{Clients: st, IDTokens: idTokens}, Sessions: sessions, Passwords: passwords,
		Consents: st, Clients: st, Roles: st, Secrets: hasher, Now: now, Logger: log, MaxBodyBytes: cfg.MaxBodyBytes}
	graphVerifier := &oauth.Verifier{Issuer: issuer, Audiences: []string{authz.GraphResource}, Keys: km, Now: now}
	vigilVerifier := &oauth.Verifier{Issuer: issuer, Audiences: []string{authz.VigilResource}, Keys: km, Now: now}
	// Vigil's own APIs refuse a revoked delegated token at once.
	authorizeURL := strings.TrimSuffix(issuer, "/") + oauth.PathAuthorize
	graphAuth := liveauth.Checked{Authenticator: graphVerifier, States: sessions, AuthorizationURI: authorizeURL}
	vigilAuth := liveauth.Checked{Authenticator: vigilVerifier, States: sessions, AuthorizationURI: authorizeURL}
	anyVerifier := &oauth.Verifier{Issuer: issuer, Audiences: []string{authz.GraphResource, authz.VigilResource}, Keys: km, Now: now}
	op := &oauth.Provider{
		Issuer:  issuer,
		Keys:    km,
		Clients: st,
		Secrets: hasher,
		Grants: map[string]oauth.Grant{
			oauth.GrantClientCredentials: &oauth.ClientCredentials{Directory: st, Tokens: access, Policies: sessions},
			oauth.GrantAuthorizationCode: &oauth.AuthorizationCode{Codes: st, Secrets: hasher, Sessions: sessions, Tokens: delegated, Now: now},
			oauth.GrantRefreshToken:      &oauth.RefreshGrant{Sessions: sessions, Tokens: delegated},
			oauth.GrantDeviceCode:        device,
			oauth.GrantPassword:          &oauth.PasswordGrant{Users: passwords, Sessions: sessions, Consents: st, Tokens: delegated},
		},
		Authorization:     http.HandlerFunc(ui.ServeAuthorize),
		EndSession:        http.HandlerFunc(ui.ServeEndSession),
		UserInfo:          &oauth.UserInfo{Verifier: graphVerifier, Users: st, States: sessions, Logger: log},
		Device:            device,
		IDTokens:          idTokens,
		Assertions:        &oauth.ClientAssertions{Keys: &oauth.RegisteredKeys{}, Replays: st},
		BackchannelLogout: true,
		Now:               now,
		Logger:            log,
		MaxBodyBytes:      cfg.MaxBodyBytes,
	}
	op.Introspection = &oauth.Introspection{Provider: op, Verifier: anyVerifier, States: sessions}
	op.Revocation = &oauth.Revocation{Provider: op, Verifier: anyVerifier, Sessions: sessions}
	op.Mount(mux)
	ui.Mount(mux)

	// Revocation (internal/revocation) and continuous access evaluation:
	// the SSF transmitter (internal/ssfserver) feeds guards from the
	// outbox and keeps the receipts behind a revocation's effectiveAt.
	nodeID, err := nodeID(cfg.DataDir)
	if err != nil {
		return nil, err
	}
	revocations := &revocation.Service{Store: st, Now: now, Logger: log, WorkerID: nodeID}
	transmitter := &ssfserver.Server{
		Issuer:                    issuer,
		Store:                     st,
		Signers:                   km,
		Auth:                      vigilAuth,
		PushAllowList:             cfg,
		InsecureAllowLoopbackPush: cfg.InsecureAllowLoopbackPush,
		Now:                       now,
		Logger:                    log,
	}
	transmitter.Mount(mux)
	(&graph.API{
		Directory:    dir,
		Auth:         graphAuth,
		BaseURL:      graphBase,
		Revocations:  revocations,
		Audit:        st,
		Now:          now,
		Logger:       log,
		MaxBodyBytes: cfg.MaxBodyBytes,
	}).Mount(mux)
	(&vigilapi.API{Issuer: issuer, Auth: vigilAuth, Policies: sessions, Apps: st, AppSettings: dir,
		Revocations: revocations, Users: st, Sessions: st, Receipts: transmitter,
		Now: now, Logger: log, MaxBodyBytes: cfg.MaxBodyBytes}).Mount(mux)

	wake, stopWake := st.OutboxNotify()
	workers := []func(context.Context){
		func(ctx context.Context) { km.Run(ctx, time.Hour) },
		revocations.Run,
		transmitter.Run,
		func(ctx context.Context) { (&retention.Purger{Store: st, Now: now, Logger: log}).Run(ctx, time.Hour) },
		func(ctx context.Context) {
			(&oauth.BackchannelLogout{Issuer: issuer, Store: st, Signers: km, Now: now, Logger: log, Wake: wake}).Run(ctx)
		},
	}

	ok = true
	return &node{
		store: st, issuer: issuer, bootstrap: res, dataDir: cfg.DataDir,
		workers: workers, stopWorkers: stopWake,
		// Held long polls end first, so the graceful shutdown does not
		// wait out their timeout.
		beforeShutdown: transmitter.Shutdown,
		handler:        instrument(mux, newHTTPMetrics(reg), log, now),
	}, nil
}

// nodeID returns this node's stable id (<data-dir>/node-id, created on first
// start), so a restarted node resumes the revocation jobs it held at once.
func nodeID(dataDir string) (string, error) {
	path := filepath.Join(dataDir, "node-id")
	if b, err := os.ReadFile(path); err == nil && len(strings.TrimSpace(string(b))) > 0 {
		return strings.TrimSpace(string(b)), nil
	}
	id := uuid.NewString()
	if err := os.WriteFile(path, []byte(id+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("write node id: %w", err)
	}
	return id, nil
}

// newDemo gives the demo a directory whose hasher returns one precomputed
// argon2id hash: one hash for a thousand users.
func newDemo(newDir func(hash func(string) (string, error)) *directory.Service) (*bootstrap.Demo, error) {
	pw, err := secret.NewPassword(16)
	if err != nil {
		return nil, err
	}
	hash, err := secret.HashPassword(pw, secret.DefaultArgon2)
	if err != nil {
		return nil, err
	}
	return &bootstrap.Demo{Dir: newDir(func(string) (string, error) { return hash, nil }), Password: pw}, nil
}

// encryptionKey returns VIGIL_ENCRYPTION_KEY, or the key file in the data
// directory (created on first start).
func encryptionKey(cfg config.Config) ([]byte, error) {
	if cfg.EncryptionKey != "" {
		k, err := secret.ParseKey(cfg.EncryptionKey)
		if err != nil {
			return nil, fmt.Errorf("VIGIL_ENCRYPTION_KEY: %w", err)
		}
		return k, nil
	}
	if cfg.IsPostgres() {
		// Several nodes share one database: each needs the same key.
		// A key file works for one node; say so once.
		slog.Default().Debug("no VIGIL_ENCRYPTION_KEY: using the key file; set the same key on every node")
	}
	return secret.LoadOrCreateKeyFile(filepath.Join(cfg.DataDir, "encryption.key"))
}

// health answers 200 when the store answers within two seconds.
func health(st interface{ Ping(context.Context) error }) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		if err := st.Ping(ctx); err != nil {
			w.WriteHeader(http.StatusServiceUnavailable)
			io.WriteString(w, "store unavailable\n")
			return
		}
		io.WriteString(w, "ok\n")
	}
}

func newLogger(w io.Writer, level string) *slog.Logger {
	var l slog.Level
	_ = l.UnmarshalText([]byte(level))
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: l}))
}

// printBanner tells the operator where to go and how to sign in.
func printBanner(w io.Writer, n *node, addr string) {
	abs, err := filepath.Abs(n.bootstrap.FilePath)
	if err != nil {
		abs = n.bootstrap.FilePath
	}
	var b strings.Builder
	fmt.Fprintf(&b, "\nVigil is running at %s (listening on %s)\n", n.issuer, addr)
	fmt.Fprintf(&b, "  Graph API:  %s/v1.0\n", n.issuer)
	fmt.Fprintf(&b, "  Discovery:  %s/.well-known/openid-configuration\n", n.issuer)
	if n.bootstrap.FirstStart {
		f := n.bootstrap.File
		fmt.Fprintf(&b, "  Admin:      %s  password: %s  (shown once; also in bootstrap.json)\n", f.Admin.UserPrincipalName, f.Admin.Password)
	} else {
		fmt.Fprintf(&b, "  Admin:      %s  (password in bootstrap.json from the first start)\n", bootstrap.AdminUPN)
	}
	if _, err := os.Stat(abs); err == nil {
		fmt.Fprintf(&b, "  Secrets:    %s  (mode 0600: admin password, bootstrap client secret)\n", abs)
		fmt.Fprintf(&b, "  Get a Graph token:\n")
		fmt.Fprintf(&b, "    curl -s -u \"$(jq -r .bootstrap_client.client_id %[1]s):$(jq -r .bootstrap_client.client_secret %[1]s)\" \\\n", abs)
		fmt.Fprintf(&b, "      -d grant_type=client_credentials -d scope=https://graph.microsoft.com/.default %s/token\n", n.issuer)
	}
	if d := n.bootstrap.Demo; d != nil {
		fmt.Fprintf(&b, "  Demo:       %d users in %d departments (HP among them), %d groups; every demo user's password: %s\n",
			d.Users, len(bootstrap.DemoDepartments), d.Groups, d.Password)
		if upn, ok := d.RoleHolder["Helpdesk Administrator"]; ok {
			fmt.Fprintf(&b, "              one user per admin role, e.g. %s (Helpdesk Administrator)\n", upn)
		}
	}
	b.WriteString("\n")
	io.WriteString(w, b.String())
}
