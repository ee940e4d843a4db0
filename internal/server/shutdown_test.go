package server

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestGracefulShutdownFinishesInFlight sends a create-user request whose
// body arrives slowly, stops the server while the handler is still reading
// it, then sends the rest: the request must complete (201) and the server
// must then stop.
func TestGracefulShutdownFinishesInFlight(t *testing.T) {
	cfg := testConfig(t, "")
	srv := start(t, cfg)
	f, _ := readBootstrap(t, cfg.DataDir)
	token := graphToken(t, cfg.IssuerURL(), f)

	pr, pw := io.Pipe()
	req, err := http.NewRequest("POST", srv.base+"/v1.0/users", pr)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	type result struct {
		code int
		body string
		err  error
	}
	done := make(chan result, 1)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			done <- result{err: err}
			return
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		done <- result{code: resp.StatusCode, body: string(b)}
	}()
	body := `{"accountEnabled":true,"displayName":"Late Larry","mailNickname":"larry","userPrincipalName":"larry@vigil.local"}`
	if _, err := pw.Write([]byte(body[:20])); err != nil { // the handler is now reading the body
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond) // let the request reach the handler
	stopped := make(chan error, 1)
	go func() { stopped <- srv.stop() }()
	time.Sleep(200 * time.Millisecond) // shutdown has begun and is waiting for us
	select {
	case err := <-stopped:
		t.Fatalf("server stopped before the in-flight request finished: %v", err)
	default:
	}
	if _, err := pw.Write([]byte(body[20:])); err != nil {
		t.Fatal(err)
	}
	pw.Close()
	r := <-done
	if r.err != nil || r.code != http.StatusCreated || !strings.Contains(r.body, "larry@vigil.local") {
		t.Fatalf("in-flight request = %d %q %v, want 201", r.code, r.body, r.err)
	}
	if err := <-stopped; err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	if _, err := http.Get(srv.base + "/healthz"); err == nil {
		t.Fatal("server still answers after shutdown")
	}
}
