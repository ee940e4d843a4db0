// Command vigil is the Vigil identity provider: `vigil serve` runs the
// server; the other subcommands are admin clients that talk to a server
// over HTTP (internal/cli).
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/vigil-idp/vigil/internal/cli"
	"github.com/vigil-idp/vigil/internal/proxy"
)

// Exit codes shared by every subcommand (design contract, CLI section).
const (
	exitOK      = 0
	exitPartial = 1
	exitUsage   = 2
	exitAuth    = 3
)

// usageError marks errors caused by bad flags or input (exit code 2).
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:]))
}

func run(ctx context.Context, args []string) int {
	root := &cobra.Command{
		Use:           "vigil",
		Short:         "Vigil: an identity provider where revocation is immediate and provable",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	root.AddCommand(newServeCmd(), newVersionCmd(), proxy.Command())
	root.AddCommand(cli.Commands(cli.OSEnv())...)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return exitOK
	}
	if errors.Is(err, context.Canceled) && ctx.Err() != nil {
		err = errors.New("interrupted")
	}
	// Validate joins one problem per line: print each as its own line.
	for _, line := range strings.Split(err.Error(), "\n") {
		fmt.Fprintln(os.Stderr, "vigil: "+line)
	}
	return exitCode(err)
}

// exitCode maps an error to the exit code of the CLI contract.
func exitCode(err error) int {
	var ue usageError
	if errors.As(err, &ue) {
		return exitUsage
	}
	if kind, ok := cli.Classify(err); ok {
		switch kind {
		case cli.KindUsage:
			return exitUsage
		case cli.KindAuth:
			return exitAuth
		}
		return exitPartial
	}
	if isCobraUsage(err) {
		return exitUsage
	}
	return exitPartial
}

// isCobraUsage recognises cobra's own argument errors (unknown command,
// wrong number of arguments), which it does not type.
func isCobraUsage(err error) bool {
	msg := err.Error()
	for _, p := range []string{"unknown command", "unknown flag", "unknown shorthand flag", "accepts ", "requires ", "invalid argument"} {
		if strings.Contains(msg, p) {
			return true
		}
	}
	return false
}
