package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/vigil-idp/vigil/internal/bootstrap"
	"github.com/vigil-idp/vigil/internal/server/servertest"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// liveServer is a Vigil server run in this process (internal/server, on
// SQLite with the demo directory: 1,000 users, 100 of them in HP), shared
// by the CLI tests; the CLI binary talks to it over HTTP.
type liveServer struct {
	url     string
	dataDir string
	boot    bootstrap.File
}

var (
	sharedOnce sync.Once
	shared     *liveServer
	sharedErr  error
)

// liveVigil starts the shared server on first use.
func liveVigil(t *testing.T) *liveServer {
	t.Helper()
	sharedOnce.Do(func() { shared, sharedErr = startServer() })
	if sharedErr != nil {
		t.Fatal(sharedErr)
	}
	return shared
}

func startServer() (*liveServer, error) {
	dir, err := os.MkdirTemp("", "vigil-cli-e2e-")
	if err != nil {
		return nil, err
	}
	cfg, err := servertest.NewConfig(dir)
	if err != nil {
		return nil, err
	}
	cfg.Demo = true
	n, err := servertest.Start(cfg)
	if err != nil {
		return nil, err
	}
	cleanups = append(cleanups, func() {
		n.Stop()
		os.RemoveAll(dir)
	})
	return &liveServer{url: cfg.IssuerURL(), dataDir: dir, boot: n.Bootstrap}, nil
}

// cliEnv is the environment of CLI runs in one test: the server URL, a
// config directory of its own (token cache) and, unless anonymous, the
// bootstrap client's credentials.
func (s *liveServer) cliEnv(t *testing.T, anonymous bool) []string {
	t.Helper()
	home := t.TempDir()
	env := []string{"HOME=" + home, "XDG_CONFIG_HOME=" + filepath.Join(home, ".config"), "VIGIL_URL=" + s.url, "PATH=" + os.Getenv("PATH")}
	if !anonymous {
		env = append(env, "VIGIL_CLIENT_ID="+s.boot.BootstrapClient.ClientID, "VIGIL_CLIENT_SECRET="+s.boot.BootstrapClient.ClientSecret)
	}
	return env
}

// result is one run of the binary.
type result struct {
	stdout, stderr string
	code           int
}

// vigil runs the binary with env and stdin (nil: no input).
func vigil(t *testing.T, env []string, stdin io.Reader, args ...string) result {
	t.Helper()
	cmd := exec.Command(vigilBin, args...)
	cmd.Env = env
	cmd.Stdin = stdin
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("vigil %v: %v", args, err)
	}
	if strings.Contains(errb.String(), "goroutine ") || strings.Contains(errb.String(), "panic:") {
		t.Fatalf("vigil %v crashed:\n%s", args, errb.String())
	}
	return result{stdout: out.String(), stderr: errb.String(), code: code}
}

// pipeline runs `vigil a… | vigil b…` through a real OS pipe.
func pipeline(t *testing.T, env []string, a, b []string) (first, second result) {
	t.Helper()
	c1, c2 := exec.Command(vigilBin, a...), exec.Command(vigilBin, b...)
	c1.Env, c2.Env = env, env
	var e1, o2, e2 bytes.Buffer
	c1.Stderr, c2.Stdout, c2.Stderr = &e1, &o2, &e2
	pipe, err := c1.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	c2.Stdin = pipe
	if err := c1.Start(); err != nil {
		t.Fatal(err)
	}
	if err := c2.Start(); err != nil {
		t.Fatal(err)
	}
	code := func(err error) int {
		if ee, ok := err.(*exec.ExitError); ok {
			return ee.ExitCode()
		}
		if err != nil {
			t.Fatal(err)
		}
		return 0
	}
	// c2 reads to EOF first; then c1 has exited.
	r2 := code(c2.Wait())
	r1 := code(c1.Wait())
	return result{stderr: e1.String(), code: r1}, result{stdout: o2.String(), stderr: e2.String(), code: r2}
}

// want checks the exit code and, when want is not "", that stderr is one
// line containing it.
func (r result) want(t *testing.T, code int, stderr string) {
	t.Helper()
	if r.code != code {
		t.Fatalf("exit code %d, want %d\nstdout: %s\nstderr: %s", r.code, code, r.stdout, r.stderr)
	}
	if stderr == "" {
		return
	}
	lines := strings.Split(strings.TrimRight(r.stderr, "\n"), "\n")
	if len(lines) != 1 || !strings.HasPrefix(lines[0], "vigil: ") || !strings.Contains(lines[0], stderr) {
		t.Fatalf("stderr %q: want one line \"vigil: …%s…\"", r.stderr, stderr)
	}
}

// jsonLines decodes JSON lines.
func jsonLines(t *testing.T, s string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(s), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("not a JSON line: %q", line)
		}
		out = append(out, m)
	}
	return out
}

var (
	guidRE = regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`)
	timeRE = regexp.MustCompile(`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z`)
	hostRE = regexp.MustCompile(`http://127\.0\.0\.1:\d+`)
)

// golden compares got, with ids, times, the server address and the run's
// suffix normalised, to testdata/<name>; -update rewrites it.
func golden(t *testing.T, name, got, suffix string) {
	t.Helper()
	got = guidRE.ReplaceAllString(got, "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx")
	got = timeRE.ReplaceAllString(got, "<time>")
	got = hostRE.ReplaceAllString(got, "<server>")
	if suffix != "" {
		got = strings.ReplaceAll(got, suffix, "<run>")
	}
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs (go test -update rewrites it):\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}
