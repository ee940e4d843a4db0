package proxy

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/vigil-idp/vigil/internal/cli"
)

func TestCommandFlags(t *testing.T) {
	cmd := Command()
	for _, name := range []string{"listen", "upstream", "issuer", "audience", "header-prefix", "fail-closed-after",
		"push-path", "public-url", "forward-authorization", "transmitter", "metrics-listen", "shutdown-timeout", "max-token-lifetime"} {
		if cmd.Flags().Lookup(name) == nil {
			t.Errorf("flag --%s missing", name)
		}
	}
	if got := cmd.Flags().Lookup("header-prefix").DefValue; got != "X-Vigil-" {
		t.Errorf("--header-prefix default %q", got)
	}
	if got := cmd.Flags().Lookup("fail-closed-after").DefValue; got != "5m0s" {
		t.Errorf("--fail-closed-after default %q", got)
	}
}

func TestCommandValidation(t *testing.T) {
	t.Setenv(EnvClientID, "")
	t.Setenv(EnvClientSecret, "")
	cmd := Command()
	cmd.SetArgs([]string{"--upstream", "not a url", "--push-path", "push"})
	cmd.SilenceUsage, cmd.SilenceErrors = true, true
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := cmd.ExecuteContext(ctx)
	var ce *cli.Error
	if !errors.As(err, &ce) || ce.Kind != cli.KindUsage {
		t.Fatalf("error %v, want a usage error", err)
	}
	for _, want := range []string{"--listen", "--issuer", "--upstream", "--audience", EnvClientID, "--push-path"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not mention %s:\n%v", want, err)
		}
	}
}
