package config

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestDefaults(t *testing.T) {
	c := Default()
	c.DataDir = "/srv/vigil"
	if got := c.DatabaseURL(); got != "sqlite:///srv/vigil/vigil.db" {
		t.Errorf("DatabaseURL = %q", got)
	}
	if got := c.IssuerURL(); got != "http://127.0.0.1:8080" {
		t.Errorf("IssuerURL = %q", got)
	}
	c.Issuer = "https://id.example.com/"
	if got := c.IssuerURL(); got != "https://id.example.com" {
		t.Errorf("IssuerURL trims the slash: got %q", got)
	}
	c.Database = "postgres://u@db/vigil"
	if !c.IsPostgres() {
		t.Error("IsPostgres = false for a postgres URL")
	}
}

func TestApplyEnvFlagWins(t *testing.T) {
	env := map[string]string{
		"VIGIL_ADDR":             "0.0.0.0:9000",
		"VIGIL_DEMO":             "1",
		"VIGIL_ISSUER":           "https://id.example.com",
		"VIGIL_SHUTDOWN_TIMEOUT": "5s",
	}
	c := Default()
	c.Addr = "127.0.0.1:7000" // as if given by --addr
	err := c.ApplyEnv(func(k string) (string, bool) { v, ok := env[k]; return v, ok },
		func(name string) bool { return name == "VIGIL_ADDR" })
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != "127.0.0.1:7000" {
		t.Errorf("flag lost to env: Addr = %q", c.Addr)
	}
	if !c.Demo || c.Issuer != "https://id.example.com" || c.ShutdownTimeout != 5*time.Second {
		t.Errorf("env not applied: %+v", c)
	}
}

func TestApplyEnvReportsEveryBadValue(t *testing.T) {
	env := map[string]string{"VIGIL_DEMO": "maybe", "VIGIL_SHUTDOWN_TIMEOUT": "soon", "VIGIL_MAX_BODY_BYTES": "big"}
	c := Default()
	err := c.ApplyEnv(func(k string) (string, bool) { v, ok := env[k]; return v, ok }, nil)
	if err == nil {
		t.Fatal("no error")
	}
	for _, name := range []string{"VIGIL_DEMO", "VIGIL_SHUTDOWN_TIMEOUT", "VIGIL_MAX_BODY_BYTES"} {
		if !strings.Contains(err.Error(), name) {
			t.Errorf("error %q does not name %s", err, name)
		}
	}
}

func TestValidate(t *testing.T) {
	readOnly := filepath.Join(t.TempDir(), "ro")
	if err := os.Mkdir(readOnly, 0o500); err != nil {
		t.Fatal(err)
	}
	fileNotDir := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(fileNotDir, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		mutate  func(*Config)
		wantErr []string
	}{
		{"defaults", func(*Config) {}, nil},
		{"postgres", func(c *Config) { c.Database = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable" }, nil},
		{"ipv6 addr", func(c *Config) { c.Addr = "[::1]:8080" }, nil},
		{"no port", func(c *Config) { c.Addr = "localhost" }, []string{`--addr "localhost": not a host:port address`}},
		{"bad port", func(c *Config) { c.Addr = "127.0.0.1:http" }, []string{`port "http" is not a number`}},
		{"port range", func(c *Config) { c.Addr = "127.0.0.1:70000" }, []string{"from 0 to 65535"}},
		{"bad host", func(c *Config) { c.Addr = "exa mple:80" }, []string{"is not an IP address or host name"}},
		{"unknown scheme", func(c *Config) { c.Database = "mysql://root@db/vigil" }, []string{`unknown scheme "mysql"`}},
		{"password redacted", func(c *Config) { c.Database = "mongodb://u:hunter2@db/x" }, []string{"xxxxx"}},
		{"sqlite no file", func(c *Config) { c.Database = "sqlite://" }, []string{"names no file"}},
		{"issuer scheme", func(c *Config) { c.Issuer = "ftp://x" }, []string{"scheme must be https"}},
		{"issuer query", func(c *Config) { c.Issuer = "https://x/?a=b" }, []string{"must not have a query"}},
		{"file as data dir", func(c *Config) { c.DataDir = fileNotDir }, []string{"--data-dir"}},
		{"log level", func(c *Config) { c.LogLevel = "loud" }, []string{"VIGIL_LOG_LEVEL"}},
		{"pprof on loopback", func(c *Config) { c.PprofAddr = "127.0.0.1:6060" }, nil},
		{"pprof on ipv6 loopback", func(c *Config) { c.PprofAddr = "[::1]:6060" }, nil},
		{"pprof on every interface", func(c *Config) { c.PprofAddr = ":6060" }, []string{"--pprof-addr"}},
		{"pprof on a public address", func(c *Config) { c.PprofAddr = "192.0.2.1:6060" }, []string{"must be a loopback"}},
		{"every problem at once", func(c *Config) {
			c.Addr = "nope"
			c.Database = "redis://x"
			c.Issuer = "ftp://x"
		}, []string{"--addr", "--database", "--issuer"}},
	}
	if os.Geteuid() != 0 { // root can write anywhere
		tests = append(tests, struct {
			name    string
			mutate  func(*Config)
			wantErr []string
		}{"unwritable data dir", func(c *Config) { c.DataDir = readOnly }, []string{"not writable"}})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Default()
			c.DataDir = t.TempDir()
			tt.mutate(&c)
			err := c.Validate()
			if len(tt.wantErr) == 0 {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Validate() = nil, want errors %q", tt.wantErr)
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Errorf("error leaks a password: %v", err)
			}
			for _, w := range tt.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Validate() = %q, want it to contain %q", err, w)
				}
			}
			if lines := strings.Count(err.Error(), "\n") + 1; lines != len(tt.wantErr) {
				t.Errorf("got %d lines, want one per problem (%d): %q", lines, len(tt.wantErr), err)
			}
		})
	}
}

func TestPushAllowList(t *testing.T) {
	c := Default()
	env := map[string]string{"VIGIL_SSF_PUSH_ALLOWLIST": "app1=https://rp.example.com/ssf/, app1=https://b.example.com/ app2=https://c.example.com/x"}
	if err := c.ApplyEnv(func(k string) (string, bool) { v, ok := env[k]; return v, ok }, nil); err != nil {
		t.Fatal(err)
	}
	got, _ := c.AllowedPushURLs(context.Background(), "app1")
	if len(got) != 2 || got[0] != "https://rp.example.com/ssf/" {
		t.Errorf("app1 prefixes = %v", got)
	}
	if got, _ := c.AllowedPushURLs(context.Background(), "nobody"); len(got) != 0 {
		t.Errorf("unknown receiver has prefixes %v", got)
	}
	for _, bad := range []string{"app1", "=https://x/", "app1=http://x/", "app1=https://"} {
		c := Default()
		if err := c.ApplyEnv(func(k string) (string, bool) { return bad, k == "VIGIL_SSF_PUSH_ALLOWLIST" }, nil); err == nil {
			t.Errorf("allow-list %q accepted", bad)
		}
	}
}
