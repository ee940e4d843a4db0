package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// vigilBin is the binary under test, built once by TestMain.
var vigilBin string

// cleanups run after every test (the shared server of cli_test.go).
var cleanups []func()

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "vigil-bin-")
	if err != nil {
		panic(err)
	}
	vigilBin = filepath.Join(dir, "vigil")
	out, err := exec.Command("go", "build", "-o", vigilBin, ".").CombinedOutput()
	if err != nil {
		os.Stderr.Write(out)
		panic(err)
	}
	code := m.Run()
	for _, f := range cleanups {
		f()
	}
	os.RemoveAll(dir)
	os.Exit(code)
}

// TestServeBadConfig: bad values give one line per problem on stderr, exit
// code 2, and no stack trace; nothing is started.
func TestServeBadConfig(t *testing.T) {
	file := filepath.Join(t.TempDir(), "not-a-dir")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		args  []string
		env   []string
		lines []string
	}{
		{"bad addr", []string{"serve", "--addr", "nowhere", "--data-dir", t.TempDir()}, nil,
			[]string{`vigil: --addr "nowhere": not a host:port address`}},
		{"unknown scheme", []string{"serve", "--database", "mysql://db/x", "--data-dir", t.TempDir()}, nil,
			[]string{`vigil: --database: unknown scheme "mysql"`}},
		{"unwritable data dir", []string{"serve", "--data-dir", file}, nil, []string{"vigil: --data-dir"}},
		{"every problem", []string{"serve", "--addr", "x", "--database", "redis://r", "--data-dir", t.TempDir()}, nil,
			[]string{"vigil: --addr", "vigil: --database"}},
		{"bad env", []string{"serve", "--data-dir", t.TempDir()}, []string{"VIGIL_DEMO=perhaps"},
			[]string{"vigil: VIGIL_DEMO: not a boolean"}},
		{"flag beats env", []string{"serve", "--addr", "bad-flag", "--data-dir", t.TempDir()}, []string{"VIGIL_ADDR=127.0.0.1:1"},
			[]string{`vigil: --addr "bad-flag"`}},
		{"unknown flag", []string{"serve", "--colour"}, nil, []string{"vigil: unknown flag: --colour"}},
		{"unknown command", []string{"frobnicate"}, nil, []string{`vigil: unknown command "frobnicate"`}},
		{"proxy without credentials", []string{"proxy", "--listen", "127.0.0.1:1", "--upstream", "http://127.0.0.1:2",
			"--issuer", "http://127.0.0.1:3", "--audience", "x"}, []string{"VIGIL_CLIENT_ID=", "VIGIL_CLIENT_SECRET="},
			[]string{"vigil: VIGIL_CLIENT_ID and VIGIL_CLIENT_SECRET must name a client"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmd := exec.Command(vigilBin, tt.args...)
			cmd.Env = append(os.Environ(), tt.env...)
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			ee, ok := err.(*exec.ExitError)
			if !ok || ee.ExitCode() != exitUsage {
				t.Fatalf("exit = %v, want code %d; stderr %q", err, exitUsage, stderr.String())
			}
			got := strings.Split(strings.TrimSpace(stderr.String()), "\n")
			if len(got) != len(tt.lines) {
				t.Fatalf("stderr has %d lines, want %d:\n%s", len(got), len(tt.lines), stderr.String())
			}
			for i, want := range tt.lines {
				if !strings.HasPrefix(got[i], want) {
					t.Errorf("line %d = %q, want prefix %q", i, got[i], want)
				}
			}
			if strings.Contains(stderr.String(), "goroutine") || stdout.Len() != 0 {
				t.Errorf("unexpected output: stdout %q stderr %q", stdout.String(), stderr.String())
			}
		})
	}
}

func TestVersion(t *testing.T) {
	out, err := exec.Command(vigilBin, "version").Output()
	if err != nil || !strings.HasPrefix(string(out), "vigil ") {
		t.Fatalf("vigil version = %q, %v", out, err)
	}
}
