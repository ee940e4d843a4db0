package ssfserver

import (
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/vigil-idp/vigil/internal/keys"
	"github.com/vigil-idp/vigil/internal/oauth"
	"github.com/vigil-idp/vigil/internal/store/sqlstore/sqltest"
	"github.com/vigil-idp/vigil/ssf"
)

func TestDialControl(t *testing.T) {
	for _, c := range []struct {
		addr          string
		loopback, bad bool
	}{
		{"93.184.216.34:443", false, false},
		{"[2606:2800:220:1:248:1893:25c8:1946]:443", false, false},
		{"127.0.0.1:443", false, true},
		{"127.0.0.1:443", true, false},
		{"[::1]:443", false, true},
		{"[::1]:443", true, false},
		{"10.0.0.1:443", true, true},
		{"172.16.5.4:443", false, true},
		{"192.168.1.1:443", false, true},
		{"169.254.169.254:80", true, true},
		{"[fe80::1]:443", false, true},
		{"[fd00::1]:443", false, true},
		{"100.64.0.1:443", false, true},
		{"0.0.0.0:443", false, true},
		{"224.0.0.1:443", false, true},
	} {
		s := &Server{InsecureAllowLoopbackPush: c.loopback}
		err := s.dialControl("tcp", c.addr, nil)
		if (err != nil) != c.bad || (err != nil && !errors.Is(err, errRefusedAddress)) {
			t.Errorf("dialControl(%s, loopback=%v) = %v, want refused=%v", c.addr, c.loopback, err, c.bad)
		}
	}
	if !publicIP(net.ParseIP("8.8.8.8")) || publicIP(net.ParseIP("100.127.255.255")) || !publicIP(net.ParseIP("100.128.0.1")) {
		t.Error("publicIP is wrong at the CGNAT edges")
	}
}

func TestBackoff(t *testing.T) {
	s := &Server{Backoff: time.Second, MaxBackoff: 10 * time.Second, Jitter: func(d time.Duration) time.Duration { return d }}
	for attempts, want := range []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 10 * time.Second, 10 * time.Second} {
		if got := s.backoff(attempts); got != want {
			t.Errorf("backoff(%d) = %v, want %v", attempts, got, want)
		}
	}
	s.Jitter = nil
	for range 100 {
		if d := s.backoff(2); d < 2*time.Second || d > 4*time.Second {
			t.Fatalf("jittered backoff(2) = %v, want within [2s, 4s]", d)
		}
	}
}

// TestIssuerPath: with an issuer that has a path, the metadata lives at
// /.well-known/ssf-configuration/<path> (SSF 1.0 §7.2) and the endpoints
// under the path.
func TestIssuerPath(t *testing.T) {
	s := &Server{Issuer: "https://idp.example/tenant1", Store: sqltest.SQLite(t), Signers: &keys.Manager{},
		Auth: &oauth.Verifier{Issuer: "https://idp.example/tenant1", Audiences: []string{"api://vigil"}, Keys: &keys.Manager{}}}
	mux := http.NewServeMux()
	s.Mount(mux)
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest("GET", "/.well-known/ssf-configuration/tenant1", nil))
	var md ssf.TransmitterMetadata
	if err := json.Unmarshal(rec.Body.Bytes(), &md); rec.Code != 200 || err != nil {
		t.Fatalf("metadata: %d %s", rec.Code, rec.Body)
	}
	if md.Issuer != s.Issuer || md.ConfigurationEndpoint != "https://idp.example/tenant1/ssf/streams" ||
		md.JWKSURI != "https://idp.example/tenant1/jwks" {
		t.Errorf("metadata = %+v", md)
	}
	rec = httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest("GET", "/tenant1/ssf/streams", nil))
	if rec.Code != http.StatusUnauthorized {
		t.Errorf("GET /tenant1/ssf/streams without a token = %d, want 401", rec.Code)
	}
}
