package guard

import (
	"encoding/base64"
	"flag"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs:\ngot:\n%s\nwant:\n%s", name, got, want)
	}
}

func TestMiddleware(t *testing.T) {
	clock := newFakeClock()
	ti := newTestIssuer(t, clock.Now)
	g := newVerifier(t, ti, clock, func(c *Config) { c.FailClosedAfter = time.Minute })
	g.health.init(clock.Now()) // as if a stream were configured, and up:
	g.health.setConnected(clock.Now(), true)
	now := clock.Now()
	const oid, sid = "5d1e8a3c-2b4f-4c6d-8e9f-0a1b2c3d4e5f", "0f9e8d7c-6b5a-4938-8271-605f4e3d2c1b"
	plain := ti.claims(oid, sid, now.Add(-time.Minute))
	cp1 := ti.claims(oid, sid, now.Add(-time.Minute))
	cp1["xms_cc"] = []string{"cp1"}

	var seen *Identity
	h := g.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen, _ = FromContext(r.Context())
		w.WriteHeader(204)
	}))
	do := func(auth string) *httptest.ResponseRecorder {
		r := httptest.NewRequest("GET", "/orders", nil)
		if auth != "" {
			r.Header.Set("Authorization", auth)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	redact := func(s string) string { return strings.ReplaceAll(s, ti.url, "{issuer}") }

	var transcript strings.Builder
	cases := []struct {
		name   string
		setup  func()
		auth   string
		status int
	}{
		{"valid token", nil, "Bearer " + ti.mint(plain), 204},
		{"scheme is case-insensitive", nil, "bearer " + ti.mint(plain), 204},
		{"no Authorization", nil, "", 401},
		{"Basic scheme", nil, "Basic dXNlcjpwYXNz", 401},
		{"invalid token", nil, "Bearer abc.def.ghi", 401},
		{"revoked, no cp1", func() { g.table.revokeUser(oid, now.Unix()+1) }, "Bearer " + ti.mint(plain), 401},
		{"revoked, cp1: claims challenge", nil, "Bearer " + ti.mint(cp1), 401},
		{"session revoked, cp1", func() { g.table = newTable(); g.table.revokeSession(sid, now.Unix()+5) }, "Bearer " + ti.mint(cp1), 401},
		{"user disabled, cp1", func() { g.table = newTable(); g.table.disableUser(oid, now.Unix()+1) }, "Bearer " + ti.mint(cp1), 401},
		{"stream down 59 s: still served", func() {
			g.table = newTable()
			g.health.setConnected(clock.Now(), false)
			clock.Advance(59 * time.Second)
		}, "Bearer " + ti.mint(plain), 204},
		{"stream down 61 s: fail closed", func() { clock.Advance(2 * time.Second) }, "Bearer " + ti.mint(plain), 503},
		{"stream back up", func() { g.health.setConnected(clock.Now(), true) }, "Bearer " + ti.mint(plain), 204},
	}
	for _, c := range cases {
		if c.setup != nil {
			c.setup()
		}
		seen = nil
		w := do(c.auth)
		if w.Code != c.status {
			t.Errorf("%s: status %d, want %d (%s)", c.name, w.Code, c.status, w.Body)
		}
		if (c.status == 204) != (seen != nil) {
			t.Errorf("%s: handler saw identity %v", c.name, seen)
		}
		transcript.WriteString("# " + c.name + "\n")
		transcript.WriteString(redact(w.Result().Status) + "\n")
		for _, k := range []string{"WWW-Authenticate", "Retry-After"} {
			if v := w.Header().Get(k); v != "" {
				transcript.WriteString(k + ": " + redact(v) + "\n")
			}
		}
		transcript.WriteString(w.Body.String() + "\n")
	}
	golden(t, "middleware.golden", transcript.String())
}

func TestClaimsChallenge(t *testing.T) {
	got := ClaimsChallenge("https://login.example/authorize", 1604106651)
	want := `Bearer realm="", authorization_uri="https://login.example/authorize", error="insufficient_claims", claims="` +
		base64.StdEncoding.EncodeToString([]byte(`{"access_token":{"nbf":{"essential":true,"value":"1604106651"}}}`)) + `"`
	if got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
	// The example of entra-revocation.md §4.3 (Entra's claims value has a
	// space after the comma; the JSON is otherwise the same).
	b, _ := base64.StdEncoding.DecodeString(strings.TrimSuffix(strings.SplitAfter(got, `claims="`)[1], `"`))
	if string(b) != `{"access_token":{"nbf":{"essential":true,"value":"1604106651"}}}` {
		t.Fatalf("claims decode to %s", b)
	}
}
