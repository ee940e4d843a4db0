package proxy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/spf13/cobra"

	"github.com/vigil-idp/vigil/guard"
	"github.com/vigil-idp/vigil/internal/cli"
)

// Environment variables holding the stream's OAuth client.
const (
	EnvClientID     = "VIGIL_CLIENT_ID"
	EnvClientSecret = "VIGIL_CLIENT_SECRET"
)

// Options are vigil proxy's flags and credentials.
type Options struct {
	Listen    string   // --listen ADDR
	Upstream  string   // --upstream URL
	Issuer    string   // --issuer URL
	Audiences []string // --audience AUD (repeatable)
	// Transmitter is the SSF transmitter's issuer; "" means Issuer.
	Transmitter string
	Headers     Headers
	// FailClosedAfter: guard.Config.FailClosedAfter.
	FailClosedAfter time.Duration
	// MaxTokenLifetime: guard.Config.MaxTokenLifetime.
	MaxTokenLifetime time.Duration
	// PushPath, when set, asks for push delivery to PublicURL+PushPath.
	PushPath string
	// PublicURL is the proxy's URL as the transmitter reaches it; ""
	// means http://<listen address>.
	PublicURL string
	// MetricsListen, when set, serves /metrics and /healthz there.
	MetricsListen   string
	ShutdownTimeout time.Duration
	// ClientID and ClientSecret come from VIGIL_CLIENT_ID and
	// VIGIL_CLIENT_SECRET.
	ClientID, ClientSecret string
}

// validate returns every problem of o at once, as one usage error.
func (o Options) validate() error {
	var errs []error
	need := func(v, flag string) {
		if v == "" {
			errs = append(errs, fmt.Errorf("--%s is required", flag))
		}
	}
	need(o.Listen, "listen")
	need(o.Issuer, "issuer")
	if u, err := url.Parse(o.Upstream); o.Upstream == "" || err != nil || u.Scheme == "" || u.Host == "" {
		errs = append(errs, fmt.Errorf("--upstream %q must be an absolute URL", o.Upstream))
	}
	if len(o.Audiences) == 0 {
		errs = append(errs, errors.New("--audience is required"))
	}
	if o.ClientID == "" || o.ClientSecret == "" {
		errs = append(errs, fmt.Errorf("%s and %s must name a client with the ssf.manage permission", EnvClientID, EnvClientSecret))
	}
	if o.PushPath != "" && !strings.HasPrefix(o.PushPath, "/") {
		errs = append(errs, fmt.Errorf("--push-path %q must start with /", o.PushPath))
	}
	if o.FailClosedAfter < 0 {
		errs = append(errs, errors.New("--fail-closed-after must not be negative"))
	}
	if len(errs) > 0 {
		return &cli.Error{Kind: cli.KindUsage, Err: errors.Join(errs...)}
	}
	return nil
}

// Hooks are Run's process-level inputs that are not options.
type Hooks struct {
	// Logger logs; nil means JSON to stderr.
	Logger *slog.Logger
	// Ready, when set, receives the bound address once the proxy accepts
	// connections (tests listen on port 0).
	Ready func(addr string)
	// Guard, when set, receives the guard once it is built (tests).
	Guard func(*guard.Guard)
	// HTTPClient makes the guard's requests to Vigil; nil means a
	// default client.
	HTTPClient *http.Client
}

// Run serves the proxy until ctx is done, then shuts down gracefully: it
// stops accepting, lets in-flight requests finish (bounded by
// ShutdownTimeout), and only then stops the guard's stream (deleting it at
// the transmitter). It returns early when the stream cannot be created for
// a reason retrying cannot fix (wrong credentials: a cli.KindAuth error).
func Run(ctx context.Context, o Options, hk Hooks) error {
	if err := o.validate(); err != nil {
		return err
	}
	log := hk.Logger
	if log == nil {
		log = slog.New(slog.NewJSONHandler(os.Stderr, nil))
	}
	upstream, _ := url.Parse(o.Upstream)
	ln, err := net.Listen("tcp", o.Listen)
	if err != nil {
		return fmt.Errorf("proxy: listen on %s: %w", o.Listen, err)
	}
	defer ln.Close()
	addr := ln.Addr().String()

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	stream := &guard.Stream{
		Transmitter: o.Transmitter, ClientID: o.ClientID, ClientSecret: o.ClientSecret,
		Description: "vigil proxy " + addr + " → " + o.Upstream,
	}
	if o.PushPath != "" {
		stream.PushURL = strings.TrimSuffix(cmpOr(o.PublicURL, "http://"+addr), "/") + o.PushPath
	}
	g, err := guard.New(guard.Config{
		Issuer: o.Issuer, Audiences: o.Audiences, HTTPClient: hk.HTTPClient, Stream: stream,
		FailClosedAfter: o.FailClosedAfter, MaxTokenLifetime: o.MaxTokenLifetime,
		Registerer: reg, Logger: log,
	})
	if err != nil {
		return &cli.Error{Kind: cli.KindUsage, Err: err}
	}
	if hk.Guard != nil {
		hk.Guard(g)
	}
	mux := http.NewServeMux()
	if o.PushPath != "" {
		mux.Handle(o.PushPath, g.PushHandler())
	}
	mux.Handle("/", Handler(g, upstream, o.Headers, nil, log))
	srv := &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	servers := []*http.Server{srv}
	listeners := []net.Listener{ln}
	if o.MetricsListen != "" {
		mln, err := net.Listen("tcp", o.MetricsListen)
		if err != nil {
			return fmt.Errorf("proxy: listen on %s: %w", o.MetricsListen, err)
		}
		mmux := http.NewServeMux()
		mmux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
		mmux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok\n") })
		servers = append(servers, &http.Server{Handler: mmux, ReadHeaderTimeout: 10 * time.Second})
		listeners = append(listeners, mln)
	}

	gctx, stopGuard := context.WithCancel(context.WithoutCancel(ctx))
	defer stopGuard()
	guardErr := make(chan error, 1)
	go func() { guardErr <- g.Run(gctx) }()
	serveErr := make(chan error, len(servers))
	for i, s := range servers {
		go func() { serveErr <- s.Serve(listeners[i]) }()
	}
	log.Info("vigil proxy serving", "addr", addr, "upstream", o.Upstream, "issuer", o.Issuer, "push", stream.PushURL != "")
	if hk.Ready != nil {
		hk.Ready(addr)
	}
	go func() {
		select {
		case <-g.Ready():
			log.Info("vigil proxy: revocation stream established")
		case <-gctx.Done():
		}
	}()

	var runErr error
	select {
	case <-ctx.Done():
	case err := <-serveErr:
		runErr = fmt.Errorf("proxy: serve: %w", err)
	case err := <-guardErr:
		guardErr <- err // for the wait below
		if err != nil {
			runErr = &cli.Error{Kind: cli.KindAuth, Err: fmt.Errorf("proxy: revocation stream: %w", err)}
		}
	}
	log.Info("vigil proxy shutting down: finishing in-flight requests", "timeout", o.ShutdownTimeout.String())
	sctx, cancel := context.WithTimeout(context.Background(), cmpOr(o.ShutdownTimeout, 10*time.Second))
	defer cancel()
	var wg sync.WaitGroup
	for _, s := range servers {
		wg.Go(func() {
			if err := s.Shutdown(sctx); err != nil && runErr == nil {
				log.Warn("proxy: shutdown", "err", err)
			}
		})
	}
	wg.Wait()
	stopGuard()
	if err := <-guardErr; err != nil && runErr == nil {
		runErr = err
	}
	log.Info("vigil proxy stopped")
	return runErr
}

func cmpOr[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

// Command returns `vigil proxy`; cmd/vigil registers it.
func Command() *cobra.Command {
	var o Options
	cmd := &cobra.Command{
		Use:   "proxy --listen ADDR --upstream URL --issuer URL --audience AUD",
		Short: "Put guard in front of an HTTP app: verified access tokens, revocation within milliseconds",
		Long: `vigil proxy verifies the access token of every request (RFC 9068), refuses revoked ones
(learned from its own SSF stream at the issuer, with claims challenges for cp1 clients),
and forwards the rest to --upstream with the caller in X-Vigil-* headers.

The stream's OAuth client comes from ` + EnvClientID + ` and ` + EnvClientSecret + `
(a client with the ssf.manage permission on api://vigil).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o.ClientID, o.ClientSecret = os.Getenv(EnvClientID), os.Getenv(EnvClientSecret)
			return Run(cmd.Context(), o, Hooks{Logger: slog.New(slog.NewJSONHandler(cmd.ErrOrStderr(), nil))})
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Listen, "listen", "", "address to listen on, e.g. 127.0.0.1:9000")
	f.StringVar(&o.Upstream, "upstream", "", "URL of the application behind the proxy")
	f.StringVar(&o.Issuer, "issuer", "", "Vigil's issuer URL (the iss of access tokens)")
	f.StringSliceVar(&o.Audiences, "audience", nil, "accepted audience (aud); repeat or comma-separate for several")
	f.StringVar(&o.Transmitter, "transmitter", "", "the SSF transmitter's issuer (default: --issuer)")
	f.StringVar(&o.Headers.Prefix, "header-prefix", DefaultHeaderPrefix, "prefix of the identity headers sent upstream (incoming ones are removed)")
	f.BoolVar(&o.Headers.ForwardAuthorization, "forward-authorization", false, "pass the caller's Authorization header to the upstream")
	f.DurationVar(&o.FailClosedAfter, "fail-closed-after", 5*time.Minute,
		"refuse every request (503) once the revocation stream has been down this long; 0 never does (revoked tokens then work while it is down)")
	f.DurationVar(&o.MaxTokenLifetime, "max-token-lifetime", guard.DefaultMaxTokenLifetime, "longest access-token lifetime of the issuer (older revocations are forgotten; longer-lived tokens are refused)")
	f.StringVar(&o.PushPath, "push-path", "", "receive SETs by push (RFC 8935) at this path instead of long polling")
	f.StringVar(&o.PublicURL, "public-url", "", "the proxy's base URL as the transmitter reaches it, for --push-path (default http://<listen address>)")
	f.StringVar(&o.MetricsListen, "metrics-listen", "", "serve /metrics and /healthz on this address")
	f.DurationVar(&o.ShutdownTimeout, "shutdown-timeout", 10*time.Second, "how long in-flight requests may take to finish on shutdown")
	return cmd
}
