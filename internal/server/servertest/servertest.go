// Package servertest runs real Vigil nodes (internal/server.Run) on free
// loopback ports for the tests of other packages — the CLI's, the proxy's —
// and reads what their first start wrote to bootstrap.json. It owns nothing
// else and is imported only by tests. (internal/server's own tests cannot
// import it: it imports internal/server.)
package servertest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/vigil-idp/vigil/internal/bootstrap"
	"github.com/vigil-idp/vigil/internal/config"
	"github.com/vigil-idp/vigil/internal/server"
)

// AdminPassword is the bootstrap admin password of test nodes.
const AdminPassword = "Correct-Horse-42"

// Node is a running Vigil node.
type Node struct {
	// Base is http://<listening address>.
	Base string
	// Config is the node's configuration.
	Config config.Config
	// Bootstrap is bootstrap.json from the data directory (zero when the
	// node did not write one: it shares an already bootstrapped store).
	Bootstrap bootstrap.File

	stop func() error
}

// Stop shuts the node down gracefully and waits (at most 30 s). It is safe
// to call more than once.
func (n *Node) Stop() error { return n.stop() }

// FreeAddr returns a loopback address with a port that was free.
func FreeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// NewConfig returns a valid configuration for a node on a free loopback
// port with its data in dataDir, quiet logs and AdminPassword.
func NewConfig(dataDir string) (config.Config, error) {
	addr, err := FreeAddr()
	if err != nil {
		return config.Config{}, err
	}
	cfg := config.Default()
	cfg.DataDir, cfg.Addr, cfg.LogLevel = dataDir, addr, "error"
	cfg.BootstrapAdminPassword = AdminPassword
	return cfg, nil
}

// Start validates cfg and runs a node until Stop; it returns once the node
// serves (or fails after 90 s).
func Start(cfg config.Config) (*Node, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- server.Run(ctx, cfg, server.Options{Stdout: io.Discard, Stderr: io.Discard, Ready: func(a string) { ready <- a }})
	}()
	var addr string
	select {
	case addr = <-ready:
	case err := <-done:
		cancel()
		return nil, fmt.Errorf("servertest: Run returned before serving: %w", err)
	case <-time.After(90 * time.Second):
		cancel()
		return nil, errors.New("servertest: node did not start within 90 s")
	}
	var once sync.Once
	var stopErr error
	n := &Node{Base: "http://" + addr, Config: cfg, stop: func() error {
		once.Do(func() {
			cancel()
			select {
			case stopErr = <-done:
			case <-time.After(30 * time.Second):
				stopErr = errors.New("servertest: node did not stop within 30 s")
			}
		})
		return stopErr
	}}
	raw, err := os.ReadFile(filepath.Join(cfg.DataDir, "bootstrap.json"))
	switch {
	case err == nil:
		if err := json.Unmarshal(raw, &n.Bootstrap); err != nil {
			n.Stop()
			return nil, fmt.Errorf("servertest: bootstrap.json: %w", err)
		}
	case !errors.Is(err, os.ErrNotExist):
		n.Stop()
		return nil, err
	}
	return n, nil
}

// StartT runs a node in t.TempDir() until the test ends; mutate may change
// the configuration first.
func StartT(t testing.TB, mutate func(*config.Config)) *Node {
	t.Helper()
	cfg, err := NewConfig(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if mutate != nil {
		mutate(&cfg)
	}
	n, err := Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := n.Stop(); err != nil {
			t.Error(err)
		}
	})
	return n
}
