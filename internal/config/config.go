package config

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Config is the server's configuration. The zero value is not valid: use
// Default, then apply flags and environment, then Validate.
type Config struct {
	// Addr is the listen address (host:port). Env VIGIL_ADDR.
	Addr string
	// DataDir holds the SQLite database, the encryption key file and
	// bootstrap.json. Env VIGIL_DATA_DIR.
	DataDir string
	// Database is a sqlite:// or postgres:// URL; "" means
	// sqlite://<DataDir>/vigil.db. Env VIGIL_DATABASE.
	Database string
	// Issuer is the OAuth/OIDC issuer URL; "" means http://<Addr>.
	// Env VIGIL_ISSUER.
	Issuer string
	// Demo creates demo users, groups and role assignments on first start.
	// Env VIGIL_DEMO=1.
	Demo bool
	// EncryptionKey is the base64 or hex master key that encrypts signing
	// keys at rest; "" means a key file in DataDir (created on first start,
	// mode 0600). Env VIGIL_ENCRYPTION_KEY. Never logged.
	EncryptionKey string
	// BootstrapAdminPassword sets the first admin's password; "" means a
	// random one printed once. Env VIGIL_BOOTSTRAP_ADMIN_PASSWORD. Never
	// logged.
	BootstrapAdminPassword string
	// LogLevel is debug, info, warn or error. Env VIGIL_LOG_LEVEL.
	LogLevel string
	// ShutdownTimeout bounds the graceful shutdown. Env
	// VIGIL_SHUTDOWN_TIMEOUT (Go duration).
	ShutdownTimeout time.Duration
	// MaxBodyBytes limits request bodies. Env VIGIL_MAX_BODY_BYTES.
	MaxBodyBytes int64
	// InsecureAllowLoopbackPush lets SSF receivers register push endpoints
	// on http://127.0.0.1, localhost and [::1] without the allow-list.
	// Acceptable only for development and tests on one machine: any
	// receiver could make the server POST to local services (SSRF).
	// Flag --insecure-allow-loopback-push, env
	// VIGIL_INSECURE_ALLOW_LOOPBACK_PUSH=1.
	InsecureAllowLoopbackPush bool
	// SSFPushAllowList maps an SSF receiver (its client id) to the URL
	// prefixes it may register as push endpoints (https only). Env
	// VIGIL_SSF_PUSH_ALLOWLIST: "clientId=https://rp.example.com/ssf/"
	// entries separated by spaces or commas.
	SSFPushAllowList map[string][]string
	// PprofAddr, when set, serves net/http/pprof on a second listener for
	// profiling (a loopback address only: profiles reveal internals). Env
	// VIGIL_PPROF_ADDR.
	PprofAddr string
}

// Default returns the contract's defaults.
func Default() Config {
	return Config{
		Addr:            "127.0.0.1:8080",
		DataDir:         "./vigil-data",
		LogLevel:        "info",
		ShutdownTimeout: 20 * time.Second,
		MaxBodyBytes:    1 << 20,
	}
}

// EnvVar describes how one environment variable maps onto Config.
type EnvVar struct {
	Name string
	Set  func(c *Config, v string) error
}

// EnvVars lists the environment variables the server reads.
var EnvVars = []EnvVar{
	{"VIGIL_ADDR", func(c *Config, v string) error { c.Addr = v; return nil }},
	{"VIGIL_DATA_DIR", func(c *Config, v string) error { c.DataDir = v; return nil }},
	{"VIGIL_DATABASE", func(c *Config, v string) error { c.Database = v; return nil }},
	{"VIGIL_ISSUER", func(c *Config, v string) error { c.Issuer = v; return nil }},
	{"VIGIL_DEMO", func(c *Config, v string) error {
		b, err := parseBool(v)
		c.Demo = b
		return err
	}},
	{"VIGIL_INSECURE_ALLOW_LOOPBACK_PUSH", func(c *Config, v string) error {
		b, err := parseBool(v)
		c.InsecureAllowLoopbackPush = b
		return err
	}},
	{"VIGIL_SSF_PUSH_ALLOWLIST", func(c *Config, v string) error {
		m, err := parseAllowList(v)
		c.SSFPushAllowList = m
		return err
	}},
	{"VIGIL_PPROF_ADDR", func(c *Config, v string) error { c.PprofAddr = v; return nil }},
	{"VIGIL_ENCRYPTION_KEY", func(c *Config, v string) error { c.EncryptionKey = v; return nil }},
	{"VIGIL_BOOTSTRAP_ADMIN_PASSWORD", func(c *Config, v string) error { c.BootstrapAdminPassword = v; return nil }},
	{"VIGIL_LOG_LEVEL", func(c *Config, v string) error { c.LogLevel = v; return nil }},
	{"VIGIL_SHUTDOWN_TIMEOUT", func(c *Config, v string) error {
		d, err := time.ParseDuration(v)
		c.ShutdownTimeout = d
		return err
	}},
	{"VIGIL_MAX_BODY_BYTES", func(c *Config, v string) error {
		n, err := strconv.ParseInt(v, 10, 64)
		c.MaxBodyBytes = n
		return err
	}},
}

// parseAllowList reads "client=prefix" entries separated by commas or
// spaces; every prefix must be an https URL with a host.
func parseAllowList(v string) (map[string][]string, error) {
	m := map[string][]string{}
	for _, entry := range strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ' ' || r == '\n' }) {
		client, prefix, ok := strings.Cut(entry, "=")
		u, err := url.Parse(prefix)
		if !ok || client == "" || err != nil || u.Scheme != "https" || u.Host == "" {
			return nil, fmt.Errorf("entry %q: want clientId=https://host/path-prefix", entry)
		}
		m[client] = append(m[client], prefix)
	}
	return m, nil
}

// AllowedPushURLs implements the SSF transmitter's per-receiver push
// allow-list from SSFPushAllowList.
func (c Config) AllowedPushURLs(_ context.Context, receiver string) ([]string, error) {
	return c.SSFPushAllowList[receiver], nil
}

func parseBool(v string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "1", "true", "yes", "on":
		return true, nil
	case "", "0", "false", "no", "off":
		return false, nil
	}
	return false, fmt.Errorf("not a boolean: %q", v)
}

// ApplyEnv sets fields from the environment (lookup is os.LookupEnv in
// production). Fields whose flag was given explicitly (skip reports true)
// are left alone, so a flag wins. Every bad value is reported.
func (c *Config) ApplyEnv(lookup func(string) (string, bool), skip func(envName string) bool) error {
	var errs []error
	for _, e := range EnvVars {
		v, ok := lookup(e.Name)
		if !ok || (skip != nil && skip(e.Name)) {
			continue
		}
		if err := e.Set(c, v); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", e.Name, err))
		}
	}
	return errors.Join(errs...)
}

// DatabaseURL returns Database, or the SQLite default under DataDir.
func (c Config) DatabaseURL() string {
	if c.Database != "" {
		return c.Database
	}
	p := filepath.Join(c.DataDir, "vigil.db")
	if abs, err := filepath.Abs(p); err == nil {
		p = abs
	}
	return "sqlite://" + p
}

// IssuerURL returns Issuer without a trailing slash, or http://<Addr>.
func (c Config) IssuerURL() string {
	if c.Issuer != "" {
		return strings.TrimRight(c.Issuer, "/")
	}
	return "http://" + c.Addr
}

// IsPostgres reports whether the database URL selects PostgreSQL.
func (c Config) IsPostgres() bool {
	u := c.DatabaseURL()
	return strings.HasPrefix(u, "postgres://") || strings.HasPrefix(u, "postgresql://")
}

// Validate checks every field and reports all problems at once, one line
// each. It creates DataDir (mode 0700) when missing, to prove it writable.
func (c Config) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }

	if host, port, err := net.SplitHostPort(c.Addr); err != nil {
		bad("--addr %q: not a host:port address (%v)", c.Addr, unwrapAddrErr(err))
	} else if p, err := strconv.Atoi(port); err != nil || p < 0 || p > 65535 {
		bad("--addr %q: port %q is not a number from 0 to 65535", c.Addr, port)
	} else if host != "" && net.ParseIP(host) == nil && !validHostname(host) {
		bad("--addr %q: %q is not an IP address or host name", c.Addr, host)
	}

	if c.PprofAddr != "" {
		host, _, err := net.SplitHostPort(c.PprofAddr)
		if ip := net.ParseIP(host); err != nil || ip == nil || !ip.IsLoopback() {
			bad("--pprof-addr %q: must be a loopback host:port such as 127.0.0.1:6060", c.PprofAddr)
		}
	}

	if c.DataDir == "" {
		bad("--data-dir: must not be empty")
	} else if err := checkWritableDir(c.DataDir); err != nil {
		bad("--data-dir %q: %v", c.DataDir, err)
	}

	if c.Database != "" {
		if err := checkDatabaseURL(c.Database); err != nil {
			bad("--database: %v", err)
		}
	}

	if c.Issuer != "" {
		u, err := url.Parse(c.Issuer)
		switch {
		case err != nil:
			bad("--issuer %q: not a URL", c.Issuer)
		case u.Scheme != "https" && u.Scheme != "http":
			bad("--issuer %q: scheme must be https (or http for local use)", c.Issuer)
		case u.Host == "":
			bad("--issuer %q: has no host", c.Issuer)
		case u.RawQuery != "" || u.Fragment != "":
			bad("--issuer %q: must not have a query or fragment (OpenID Connect Discovery §3)", c.Issuer)
		}
	}

	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		bad("VIGIL_LOG_LEVEL %q: must be debug, info, warn or error", c.LogLevel)
	}
	if c.ShutdownTimeout <= 0 {
		bad("VIGIL_SHUTDOWN_TIMEOUT: must be positive")
	}
	if c.MaxBodyBytes < 1024 {
		bad("VIGIL_MAX_BODY_BYTES: must be at least 1024")
	}
	return errors.Join(errs...)
}

func unwrapAddrErr(err error) string {
	var ae *net.AddrError
	if errors.As(err, &ae) {
		return ae.Err
	}
	return err.Error()
}

func validHostname(h string) bool {
	if len(h) > 253 {
		return false
	}
	for _, label := range strings.Split(h, ".") {
		if label == "" || len(label) > 63 {
			return false
		}
		for _, r := range label {
			if !(r == '-' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
				return false
			}
		}
	}
	return true
}

func checkDatabaseURL(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		return fmt.Errorf("%q is not a URL", redact(s))
	}
	switch u.Scheme {
	case "sqlite":
		if strings.TrimPrefix(s, "sqlite://") == "" {
			return fmt.Errorf("%q names no file (use sqlite:///abs/path/vigil.db)", s)
		}
	case "postgres", "postgresql":
		if u.Host == "" && u.Query().Get("host") == "" {
			return fmt.Errorf("%q names no host", redact(s))
		}
	default:
		return fmt.Errorf("unknown scheme %q in %q (use sqlite:// or postgres://)", u.Scheme, redact(s))
	}
	return nil
}

// redact hides a password in a database URL.
func redact(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.User == nil {
		return s
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	return u.String()
}

// Redacted returns the database URL with any password hidden, for logs.
func (c Config) Redacted() string { return redact(c.DatabaseURL()) }

func checkWritableDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("cannot create directory: %v", errors.Unwrap(err))
	}
	f, err := os.CreateTemp(dir, ".write-probe-*")
	if err != nil {
		return errors.New("directory is not writable")
	}
	name := f.Name()
	f.Close()
	os.Remove(name)
	return nil
}
