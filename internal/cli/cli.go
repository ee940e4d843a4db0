package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"

	"github.com/spf13/cobra"
)

// Commands returns every admin subcommand; they share one state built on
// env. cmd/vigil adds them beside serve and version.
func Commands(env *Env) []*cobra.Command {
	s := newState(env)
	return []*cobra.Command{
		newLoginCmd(s), newLogoutCmd(s), newWhoamiCmd(s),
		newUsersCmd(s), newGroupsCmd(s), newRolesCmd(s), newSessionsCmd(s), newMeCmd(s),
		newAuditCmd(s), newRevocationsCmd(s), newSSFCmd(s), newGraphCmd(s),
	}
}

// group returns a command that only holds subcommands: with no arguments
// it prints its help; an unknown subcommand is a usage error (cobra would
// otherwise print help and succeed).
func group(s *state, use, short string, subs ...*cobra.Command) *cobra.Command {
	cmd := &cobra.Command{
		Use:   use,
		Short: short,
		Args:  cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return usagef("unknown command %q for %q; see `%s --help`", args[0], cmd.CommandPath(), cmd.CommandPath())
			}
			return cmd.Help()
		},
	}
	cmd.AddCommand(subs...)
	s.addURLFlag(cmd)
	s.addOutputFlags(cmd)
	return cmd
}

// nArgs accepts between lo and hi arguments (hi < 0: no limit) and names
// the usage when the count is wrong.
func nArgs(lo, hi int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) < lo || (hi >= 0 && len(args) > hi) {
			return usagef("wrong number of arguments (%d); usage: %s", len(args), cmd.UseLine())
		}
		return nil
	}
}

// readBody reads a request body given as @FILE, - (stdin) or inline JSON,
// and checks it is one JSON value.
func (s *state) readBody(spec string) ([]byte, error) {
	var raw []byte
	var err error
	switch {
	case spec == "-":
		raw, err = io.ReadAll(s.env.Stdin)
	case strings.HasPrefix(spec, "@"):
		raw, err = os.ReadFile(spec[1:])
	default:
		raw = []byte(spec)
	}
	if err != nil {
		return nil, usagef("--body %s: %v", spec, err)
	}
	raw = bytes.TrimSpace(raw)
	if !json.Valid(raw) {
		return nil, usagef("--body %s: not valid JSON", clip(spec, 40))
	}
	return raw, nil
}

// propFlags parses --set assignments: name=text sets a string, name:=json
// sets any JSON value (true, 42, null, ["a"]).
func propFlags(sets []string) (map[string]any, error) {
	out := map[string]any{}
	for _, a := range sets {
		if i := strings.Index(a, ":="); i > 0 && (strings.Index(a, "=") == i+1) {
			var v any
			if err := json.Unmarshal([]byte(a[i+2:]), &v); err != nil {
				return nil, usagef("--set %s: the value after := is not JSON", a)
			}
			out[a[:i]] = v
			continue
		}
		i := strings.Index(a, "=")
		if i <= 0 {
			return nil, usagef("--set %q: use name=text or name:=json", a)
		}
		out[a[:i]] = a[i+1:]
	}
	return out, nil
}

// mergeBody merges props into the JSON object body (which may be nil).
func mergeBody(body []byte, props map[string]any) ([]byte, error) {
	obj := map[string]any{}
	if len(body) > 0 {
		if err := json.Unmarshal(body, &obj); err != nil {
			return nil, usagef("--body must be a JSON object")
		}
	}
	for k, v := range props {
		obj[k] = v
	}
	return json.Marshal(obj)
}

// targetsFrom reads the users named by args: ids and UPNs, or "-" alone
// for one per line on stdin.
func (s *state) targetsFrom(args []string) ([]target, error) {
	if len(args) == 1 && args[0] == "-" {
		if s.env.StdinTTY {
			fmt.Fprintln(s.env.Stderr, "Reading users from the terminal, one per line; end with Ctrl-D.")
		}
		return readTargets(s.env.Stdin)
	}
	for _, a := range args {
		if a == "-" {
			return nil, usagef("- (stdin) cannot be combined with other arguments")
		}
	}
	return argTargets(args)
}

// outcome is one target's result in a per-target command.
type outcome struct {
	target target
	value  any
	err    error
}

// forEach runs fn for every target, at most concurrency at a time, and
// prints each result as it completes; failures are reported and the rest
// continue. It returns a KindFailed error naming how many failed.
func (s *state) forEach(ctx context.Context, p *printer, targets []target, concurrency int, label string,
	fn func(ctx context.Context, t target) (any, error)) error {
	if concurrency < 1 {
		return usagef("--concurrency must be at least 1")
	}
	bar := s.newProgress(label, len(targets))
	defer bar.finish()
	results := parallel(ctx, targets, concurrency, func(t target) outcome {
		v, err := fn(ctx, t)
		return outcome{target: t, value: v, err: err}
	})
	failed := 0
	var fatal error
	for o := range results {
		bar.add(1)
		if o.err != nil {
			if KindOf(o.err) == KindAuth || errors.Is(o.err, context.Canceled) {
				fatal = cmpErr(fatal, o.err)
				continue
			}
			failed++
			s.reportFailure(p, o.target, o.err)
			continue
		}
		if o.value != nil {
			if err := p.add(o.value); err != nil {
				fatal = cmpErr(fatal, err)
			}
		}
	}
	bar.finish()
	if err := p.close(); err != nil {
		return err
	}
	if fatal != nil {
		return fatal
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if failed > 0 {
		return failf("%d of %d targets failed", failed, len(targets))
	}
	return nil
}

// parallel calls fn for each item, n at a time, and delivers the results
// in the order they complete; the channel closes when all are done, or
// early when ctx is done (items not yet started are dropped).
func parallel[T, R any](ctx context.Context, items []T, n int, fn func(T) R) <-chan R {
	work := make(chan T)
	out := make(chan R)
	var wg sync.WaitGroup
	for range min(n, max(len(items), 1)) {
		wg.Go(func() {
			for it := range work {
				out <- fn(it)
			}
		})
	}
	go func() {
		defer close(work)
		for _, it := range items {
			select {
			case work <- it:
			case <-ctx.Done():
				return
			}
		}
	}()
	go func() { wg.Wait(); close(out) }()
	return out
}

// targetFailure is the output row of a failed target.
type targetFailure struct {
	ID                string `json:"id,omitempty"`
	UserPrincipalName string `json:"userPrincipalName,omitempty"`
	Error             string `json:"error"`
}

// reportFailure prints a failed target: a row with "error" in json, jsonl
// and table output; a line on stderr with -o ids (whose stdout carries only
// ids that succeeded).
func (s *state) reportFailure(p *printer, t target, err error) {
	if p.format == "ids" {
		fmt.Fprintf(s.env.Stderr, "vigil: %s: %s\n", t.name(), targetError(err))
		return
	}
	_ = p.add(targetFailure{ID: t.ID, UserPrincipalName: t.UPN, Error: targetError(err)})
}

func cmpErr(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

// queryError turns a 400 answer to a list query into a usage error that
// names the flag to fix.
func queryError(err error) error {
	var ae *APIError
	if !errors.As(err, &ae) || ae.Status != 400 {
		return err
	}
	msg := strings.TrimSuffix(oneLine(ae.Message), ".")
	hint := "check the query flags"
	for opt, flag := range map[string]string{"$filter": "--filter", "$select": "--select", "$orderby": "--orderby", "$search": "--search", "$top": "--top"} {
		if strings.Contains(msg, opt) {
			hint = "fix " + flag
			break
		}
	}
	return usagef("the server refused the query: %s (%s); %s", msg, ae.Code, hint)
}

// readLine reads one line from r (without buffering past it).
func readLine(r io.Reader) ([]byte, error) {
	var line []byte
	b := make([]byte, 1)
	for {
		n, err := r.Read(b)
		if n == 1 {
			if b[0] == '\n' {
				return line, nil
			}
			line = append(line, b[0])
		}
		if errors.Is(err, io.EOF) {
			return line, nil
		}
		if err != nil {
			return nil, err
		}
	}
}

// readFileLine reads the first line of a file.
func readFileLine(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return readLine(f)
}
