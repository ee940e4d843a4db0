package guard

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"
)

var discard = slog.New(slog.NewTextHandler(io.Discard, nil))

// newVerifier is a guard without a stream, for token verification tests.
func newVerifier(t testing.TB, ti *testIssuer, clock *fakeClock, mutate func(*Config)) *Guard {
	t.Helper()
	cfg := Config{
		Issuer: ti.url, Audiences: []string{testAudience}, Now: clock.Now,
		InsecureNoStream: true, Logger: discard,
	}
	if mutate != nil {
		mutate(&cfg)
	}
	g, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// startGuard runs a guard streaming from ti until the test ends, and
// waits until its stream is established.
func startGuard(t testing.TB, ti *testIssuer, clock *fakeClock, mutate func(*Config)) *Guard {
	t.Helper()
	return startGuardWith(t, ti, clock, mutate, nil)
}

// startGuardWith is startGuard with a hook that runs after New and before
// Run (to mount the guard's handlers).
func startGuardWith(t testing.TB, ti *testIssuer, clock *fakeClock, mutate func(*Config), built func(*Guard)) *Guard {
	t.Helper()
	cfg := Config{
		Issuer: ti.url, Audiences: []string{testAudience}, Now: clock.Now, Logger: discard,
		Stream: &Stream{ClientID: testClientID, ClientSecret: testClientSecret, RetryMin: time.Millisecond, RetryMax: 20 * time.Millisecond},
	}
	if mutate != nil {
		mutate(&cfg)
	}
	g, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if built != nil {
		built(g)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- g.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("Run did not return within 10 s of cancel")
		}
	})
	select {
	case <-g.Ready():
	case err := <-done:
		t.Fatalf("Run returned before the stream was established: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("stream not established within 10 s")
	}
	return g
}

// kindOf returns the Kind of a Verify error (0 for nil).
func kindOf(err error) Kind {
	if err == nil {
		return 0
	}
	if e, ok := err.(*Error); ok {
		return e.Kind
	}
	return 255
}
