package proxy

import (
	"testing"
	"time"
)

// waitFor waits until cond holds, failing the test after timeout; it
// polls every 50 µs (a condition, not a guessed sleep).
func waitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(50 * time.Microsecond)
	}
}
