package main

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/vigil-idp/vigil/guard"
)

// TestCLISSF: a guard (the public resource-server middleware) creates its
// SSF stream and acknowledges what it receives; `vigil ssf streams` shows
// the stream, and `revoke-sessions --wait` waits for the guard's
// acknowledgement (effectiveAt). It runs on a server of its own, since the
// stream would make every later --wait wait for this guard.
func TestCLISSF(t *testing.T) {
	srv, err := startServer()
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(srv.url + "/.well-known/ssf-configuration")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Skip("the server has no SSF transmitter yet (/.well-known/ssf-configuration)")
	}
	env := srv.cliEnv(t, false)
	vigil(t, env, nil, "ssf", "streams", "list").want(t, 0, "")

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	g, err := guard.New(guard.Config{
		Issuer: srv.url, Audiences: []string{"api://e2e"},
		Stream: &guard.Stream{ClientID: srv.boot.BootstrapClient.ClientID, ClientSecret: srv.boot.BootstrapClient.ClientSecret,
			Description: "cli e2e guard", PollTimeout: 2 * time.Second},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	go g.Run(ctx)

	// The stream appears (the guard creates it when it starts).
	var streams []map[string]any
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		r := vigil(t, env, nil, "ssf", "streams", "list", "-o", "jsonl")
		r.want(t, 0, "")
		if streams = jsonLines(t, r.stdout); len(streams) > 0 {
			break
		}
	}
	if len(streams) != 1 || streams[0]["description"] != "cli e2e guard" {
		t.Fatalf("streams %v", streams)
	}
	r := vigil(t, env, nil, "ssf", "streams", "status", "-o", "jsonl")
	r.want(t, 0, "")
	if st := jsonLines(t, r.stdout); len(st) != 1 || st[0]["status"] != "enabled" || st[0]["stream_id"] != streams[0]["stream_id"] {
		t.Fatalf("status %q", r.stdout)
	}
	r = vigil(t, env, nil, "ssf", "streams", "list", "-o", "table")
	if !strings.Contains(r.stdout, "urn:ietf:rfc:8936") {
		t.Errorf("table %q", r.stdout)
	}

	if !srv.serves(t, "GET", "/vigil/v1/revocations/00000000-0000-4000-8000-999999999999") {
		t.Skip("the server does not serve /vigil/v1/revocations yet: --wait not tested")
	}
	r = vigil(t, env, nil, "users", "revoke-sessions", "--filter", "department eq 'Research'", "--wait", "--timeout", "60s", "-o", "json")
	r.want(t, 0, "")
	for _, want := range []string{`"effectiveAt"`, `"acknowledgedAt"`, `"status": "completed"`} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("--wait printed no %s:\n%s", want, r.stdout)
		}
	}
}
