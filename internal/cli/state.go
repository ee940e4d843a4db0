package cli

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/mattn/go-isatty"
	"github.com/spf13/cobra"
)

// DefaultURL is the server the commands talk to when neither --url nor
// VIGIL_URL names one.
const DefaultURL = "http://127.0.0.1:8080"

// Env is what the commands take from the process: standard streams,
// environment, configuration directory and clock. OSEnv fills it from the
// operating system; tests build their own.
type Env struct {
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	// Getenv reads an environment variable.
	Getenv func(string) string
	// ConfigDir is the directory of the token cache; "" means
	// os.UserConfigDir()/vigil.
	ConfigDir string
	// StdinTTY, StdoutTTY and StderrTTY say which streams are terminals.
	StdinTTY, StdoutTTY, StderrTTY bool
	// OpenTTY opens the controlling terminal to ask for confirmation when
	// stdin carries targets; nil means it cannot be asked.
	OpenTTY func() (io.ReadCloser, error)
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// OSEnv is the environment of this process.
func OSEnv() *Env {
	return &Env{
		Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr,
		Getenv:    os.Getenv,
		StdinTTY:  isTerminal(os.Stdin),
		StdoutTTY: isTerminal(os.Stdout),
		StderrTTY: isTerminal(os.Stderr),
		OpenTTY:   func() (io.ReadCloser, error) { return os.Open("/dev/tty") },
	}
}

func isTerminal(f *os.File) bool {
	return isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd())
}

func (e *Env) now() time.Time {
	if e.Now != nil {
		return e.Now()
	}
	return time.Now()
}

func (e *Env) configDir() (string, error) {
	if e.ConfigDir != "" {
		return e.ConfigDir, nil
	}
	d, err := os.UserConfigDir()
	if err != nil {
		return "", failf("no configuration directory for the token cache (%v): set $HOME or $XDG_CONFIG_HOME", err)
	}
	return d + string(os.PathSeparator) + "vigil", nil
}

// state is one invocation's shared state (upspin's subcmd/state.go): the
// environment, the global flags and the lazily built API client.
type state struct {
	env *Env
	// url is --url; "" means VIGIL_URL, then DefaultURL.
	url string
	// output is -o; "" means table on a terminal, jsonl otherwise.
	output string
	// columns is --select.
	columns []string

	client *Client
}

func newState(env *Env) *state { return &state{env: env} }

// serverURL is the server to talk to, validated.
func (s *state) serverURL() (*url.URL, error) {
	raw, from := s.url, "--url"
	if raw == "" {
		raw, from = s.env.Getenv("VIGIL_URL"), "VIGIL_URL"
	}
	if raw == "" {
		raw, from = DefaultURL, "the default URL"
	}
	u, err := url.Parse(strings.TrimRight(raw, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return nil, usagef("%s %q is not a server URL: use e.g. http://127.0.0.1:8080", from, raw)
	}
	return u, nil
}

// apiClient returns the client for the server, with credentials resolved
// on first use.
func (s *state) apiClient(ctx context.Context) (*Client, error) {
	if s.client != nil {
		return s.client, nil
	}
	u, err := s.serverURL()
	if err != nil {
		return nil, err
	}
	c := newClient(u, s.env.now)
	creds, err := s.credentials(ctx, c)
	if err != nil {
		return nil, err
	}
	c.creds = creds
	s.client = c
	return c, nil
}

// format returns the output format: -o, or table on a terminal and jsonl
// on a pipe (design contract).
func (s *state) format() string {
	if s.output != "" {
		return s.output
	}
	if s.env.StdoutTTY {
		return "table"
	}
	return "jsonl"
}

// interactive reports whether a person watches stderr, so progress is shown
// and confirmations may be asked.
func (s *state) interactive() bool { return s.env.StderrTTY }

// confirm asks a yes/no question on the terminal. It reads the answer from
// stdin when stdin is a terminal, else from the controlling terminal (stdin
// may carry the targets of a pipeline). It returns false, without asking,
// when there is no terminal to ask on.
func (s *state) confirm(question string) (bool, error) {
	var in io.Reader
	switch {
	case s.env.StdinTTY:
		in = s.env.Stdin
	case s.env.OpenTTY != nil:
		tty, err := s.env.OpenTTY()
		if err != nil {
			return false, nil
		}
		defer tty.Close()
		in = tty
	default:
		return false, nil
	}
	fmt.Fprintf(s.env.Stderr, "%s [y/N] ", question)
	var line []byte
	buf := make([]byte, 1)
	for {
		n, err := in.Read(buf)
		if n == 1 && buf[0] != '\n' {
			line = append(line, buf[0])
		}
		if err != nil || (n == 1 && buf[0] == '\n') {
			break
		}
	}
	a := strings.ToLower(strings.TrimSpace(string(line)))
	return a == "y" || a == "yes", nil
}

// isLoopback reports whether u names this machine.
func isLoopback(u *url.URL) bool {
	h := u.Hostname()
	if h == "localhost" {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// addOutputFlags adds -o and --select to cmd and its subcommands.
func (s *state) addOutputFlags(cmd *cobra.Command) {
	f := cmd.PersistentFlags()
	f.StringVarP(&s.output, "output", "o", "", "output format: table, json, jsonl or ids (default table on a terminal, jsonl when piped)")
	f.StringSliceVar(&s.columns, "select", nil, "properties to show (comma-separated), e.g. id,userPrincipalName")
	_ = cmd.RegisterFlagCompletionFunc("output", func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		return formats, cobra.ShellCompDirectiveNoFileComp
	})
}

// addURLFlag adds --url to cmd and its subcommands.
func (s *state) addURLFlag(cmd *cobra.Command) {
	cmd.PersistentFlags().StringVar(&s.url, "url", "", "server URL (env VIGIL_URL; default "+DefaultURL+")")
}
