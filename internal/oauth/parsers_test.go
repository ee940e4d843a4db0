package oauth

import (
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vigil-idp/vigil/internal/store"
)

var testRedirectApp = store.Application{
	AppID:                    "app",
	WebRedirectURIs:          []string{"https://rp.example/cb", "https://rp.example/cb2?x=1"},
	SPARedirectURIs:          []string{"https://spa.example/"},
	PublicClientRedirectURIs: []string{"http://127.0.0.1/callback", "http://localhost/callback", "http://[::1]:8400/cb", "myapp://auth"},
}

func TestMatchRedirectURI(t *testing.T) {
	tests := []struct {
		uri  string
		kind RedirectKind // 0 = no match
	}{
		{"https://rp.example/cb", RedirectWeb},
		{"https://rp.example/cb2?x=1", RedirectWeb},
		{"https://spa.example/", RedirectSPA},
		{"myapp://auth", RedirectPublic},
		{"http://127.0.0.1/callback", RedirectPublic},
		{"http://127.0.0.1:53412/callback", RedirectPublic},
		{"http://localhost:1/callback", RedirectPublic},
		{"http://[::1]/cb", RedirectPublic},
		{"http://[::1]:9/cb", RedirectPublic},
		// Exact matching for everything else (RFC 9700 §4.1.3).
		{"https://rp.example/cb/", 0},
		{"https://rp.example/CB", 0},
		{"https://rp.example:443/cb", 0},
		{"https://rp.example/cb?x=1", 0},
		{"https://rp.example/cb2?x=2", 0},
		{"https://RP.example/cb", 0},
		{"http://rp.example/cb", 0},
		// Loopback: same host, path and query; any port only.
		{"http://127.0.0.1:53412/callback/", 0},
		{"http://127.0.0.1:53412/callback?x", 0},
		{"http://127.0.0.1:53412/other", 0},
		{"http://127.0.0.2:53412/callback", 0},
		{"http://localhost.evil.example:80/callback", 0},
		{"http://127.0.0.1:99999/callback", 0},
		{"http://127.0.0.1:0080/callback", 0},
		{"http://127.0.0.1:x/callback", 0},
		{"https://127.0.0.1:4/callback", 0},
		{"http://user@127.0.0.1:4/callback", 0},
		{"http://[::1]:8400/cb", RedirectPublic},
		{"http://127.0.0.1/callback#frag", 0},
		// Malformed.
		{"", 0},
		{"/callback", 0},
		{"javascript:alert(1)", 0},
		{"https://rp.example/cb\n", 0},
	}
	for _, tt := range tests {
		t.Run(tt.uri, func(t *testing.T) {
			kind, ok := MatchRedirectURI(testRedirectApp, tt.uri)
			if ok != (tt.kind != 0) || kind != tt.kind {
				t.Fatalf("MatchRedirectURI(%q) = %v, %v; want %v", tt.uri, kind, ok, tt.kind)
			}
		})
	}
	if !RedirectPublic.Public() || !RedirectSPA.Public() || RedirectWeb.Public() {
		t.Fatal("Public is wrong")
	}
	if !MatchPostLogoutRedirectURI([]string{"https://rp.example/bye"}, "https://rp.example/bye") ||
		MatchPostLogoutRedirectURI([]string{"https://rp.example/bye"}, "https://rp.example/bye/") ||
		MatchPostLogoutRedirectURI([]string{"http://127.0.0.1/bye"}, "http://127.0.0.1:5/bye") {
		t.Fatal("MatchPostLogoutRedirectURI is not exact")
	}
}

// FuzzMatchRedirectURI: whatever matches is either byte-identical to a
// registered URI or a loopback http URI equal to one but for the port; a
// match is never a URI with a fragment or user info.
func FuzzMatchRedirectURI(f *testing.F) {
	for _, s := range []string{"http://127.0.0.1:1/callback", "https://rp.example/cb", "http://[::1]:8400/cb", "http://localhost/callback",
		"http://127.0.0.1:8/callback?#", "http://127.1/callback", "http://0x7f.0.0.1:5/callback", "myapp://auth"} {
		f.Add(s)
	}
	all := slices.Concat(testRedirectApp.WebRedirectURIs, testRedirectApp.SPARedirectURIs, testRedirectApp.PublicClientRedirectURIs)
	f.Fuzz(func(t *testing.T, uri string) {
		_, ok := MatchRedirectURI(testRedirectApp, uri)
		if !ok || slices.Contains(all, uri) {
			return
		}
		u, err := url.Parse(uri)
		if err != nil || u.Scheme != "http" || u.Fragment != "" || u.User != nil || strings.Contains(uri, "#") {
			t.Fatalf("%q matched but is not a clean loopback URI", uri)
		}
		u.Host = u.Hostname()
		if strings.Contains(u.Host, ":") {
			u.Host = "[" + u.Host + "]"
		}
		stripped := u.String()
		if !slices.ContainsFunc(all, func(reg string) bool {
			r, _ := url.Parse(reg)
			r.Host = r.Host[:len(r.Host)-len(r.Port())]
			return strings.TrimSuffix(r.String(), ":") == stripped
		}) {
			t.Fatalf("%q matched no registered URI but for the port (%q)", uri, stripped)
		}
	})
}

func TestParseClaimsRequest(t *testing.T) {
	tests := []struct {
		name, in string
		caps     []string
		nbf      int64
		idToken  []string
		wantErr  bool
	}{
		{name: "empty", in: ""},
		{name: "cp1", in: `{"access_token":{"xms_cc":{"values":["cp1"]}}}`, caps: []string{"cp1"}},
		{name: "merged with acrs", in: `{"access_token":{"xms_cc":{"values":["CP1","cp1"]},"acrs":{"essential":true,"value":"c1"}}}`, caps: []string{"cp1"}},
		{name: "nbf challenge as string", in: `{"access_token":{"nbf":{"essential":true, "value":"1604106651"}}}`, nbf: 1604106651},
		{name: "nbf as number", in: `{"access_token":{"nbf":{"value":1604106651}}}`, nbf: 1604106651},
		{name: "id_token claims", in: `{"id_token":{"email":null,"auth_time":{"essential":true}},"userinfo":{"name":null}}`, idToken: []string{"auth_time", "email"}},
		{name: "unknown member ignored", in: `{"foo":{"bar":null}}`},
		{name: "not an object", in: `[1]`, wantErr: true},
		{name: "trailing", in: `{} {}`, wantErr: true},
		{name: "member not an object", in: `{"id_token":"x"}`, wantErr: true},
		{name: "claim not an object", in: `{"id_token":{"email":1}}`, wantErr: true},
		{name: "bad xms_cc", in: `{"access_token":{"xms_cc":{"values":[1]}}}`, wantErr: true},
		{name: "bad nbf", in: `{"access_token":{"nbf":{"value":"soon"}}}`, wantErr: true},
		{name: "too long", in: `{"id_token":{"` + strings.Repeat("a", 5000) + `":null}}`, wantErr: true},
		// The claims value of an insufficient_claims challenge, passed on
		// base64-encoded as Entra's samples and MSAL do.
		{name: "nbf challenge base64", in: "eyJhY2Nlc3NfdG9rZW4iOnsibmJmIjp7ImVzc2VudGlhbCI6dHJ1ZSwgInZhbHVlIjoiMTYwNDEwNjY1MSJ9fX0=", nbf: 1604106651},
		{name: "nbf challenge base64 unpadded", in: "eyJhY2Nlc3NfdG9rZW4iOnsibmJmIjp7ImVzc2VudGlhbCI6dHJ1ZSwgInZhbHVlIjoiMTYwNDEwNjY1MSJ9fX0", nbf: 1604106651},
		{name: "cp1 base64url", in: base64.RawURLEncoding.EncodeToString([]byte(`{"access_token":{"xms_cc":{"values":["cp1"]},"nbf":{"essential":true,"value":"1700000000"}}}`)), caps: []string{"cp1"}, nbf: 1700000000},
		{name: "surrounding space", in: "  {\"access_token\":{\"nbf\":{\"value\":\"5\"}}}\n", nbf: 5},
		{name: "base64 of non-object", in: base64.StdEncoding.EncodeToString([]byte(`[1]`)), wantErr: true},
		{name: "base64 of bad nbf", in: base64.StdEncoding.EncodeToString([]byte(`{"access_token":{"nbf":{"value":"soon"}}}`)), wantErr: true},
		{name: "neither JSON nor base64", in: "not-json!", wantErr: true},
		{name: "base64 too long", in: base64.StdEncoding.EncodeToString([]byte(`{"id_token":{"` + strings.Repeat("a", 5000) + `":null}}`)), wantErr: true},
		{name: "base64 decoded too long", in: base64.StdEncoding.EncodeToString([]byte(`{"id_token":{"` + strings.Repeat("a", 4075) + `":null}}`)), wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cr, err := ParseClaimsRequest(tt.in)
			if tt.wantErr {
				var oe *Error
				if !errors.As(err, &oe) || oe.Code != CodeInvalidRequest {
					t.Fatalf("err = %v, want invalid_request", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(cr.Capabilities, tt.caps) || !slices.Equal(cr.IDToken, tt.idToken) {
				t.Fatalf("got %+v", cr)
			}
			if tt.nbf != 0 && !cr.NotBefore.Equal(time.Unix(tt.nbf, 0)) || tt.nbf == 0 && !cr.NotBefore.IsZero() {
				t.Fatalf("NotBefore = %v", cr.NotBefore)
			}
			if len(tt.caps) > 0 && !cr.HasCapability("CP1") {
				t.Fatal("HasCapability is case-sensitive")
			}
		})
	}
}

// FuzzParseClaimsRequest: no panic; only invalid_request errors; the
// capabilities are short, lower-case and sorted without duplicates.
func FuzzParseClaimsRequest(f *testing.F) {
	for _, s := range []string{`{"access_token":{"xms_cc":{"values":["cp1"]}}}`, `{"id_token":{"email":null}}`,
		`{"access_token":{"nbf":{"value":"1"}}}`, `{`, `null`, `{"access_token":null}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		cr, err := ParseClaimsRequest(s)
		if err != nil {
			var oe *Error
			if !errors.As(err, &oe) || oe.Code != CodeInvalidRequest {
				t.Fatalf("unexpected error %v", err)
			}
			return
		}
		if !slices.IsSorted(cr.Capabilities) || len(slices.Compact(slices.Clone(cr.Capabilities))) != len(cr.Capabilities) {
			t.Fatalf("capabilities %q", cr.Capabilities)
		}
		for _, c := range cr.Capabilities {
			if c != strings.ToLower(c) || len(c) > 32 || c == "" {
				t.Fatalf("capability %q", c)
			}
		}
	})
}

func TestPKCE(t *testing.T) {
	verifier := strings.Repeat("v", 43)
	sum := sha256.Sum256([]byte(verifier))
	s256 := base64.RawURLEncoding.EncodeToString(sum[:])
	challengeTests := []struct {
		name, challenge, method string
		public                  bool
		want                    string
		wantErr                 bool
	}{
		{"public S256", s256, PKCES256, true, PKCES256, false},
		{"public none", "", "", true, "", true},
		{"public plain refused", verifier, PKCEPlain, true, "", true},
		{"public default method is plain, refused", verifier, "", true, "", true},
		{"confidential none", "", "", false, "", false},
		{"confidential plain refused", verifier, PKCEPlain, false, "", true},
		{"confidential default method is plain, refused", verifier, "", false, "", true},
		{"confidential S256", s256, PKCES256, false, PKCES256, false},
		{"method without challenge", "", PKCES256, false, "", true},
		{"short challenge", "abc", PKCES256, true, "", true},
		{"unknown method", s256, "S512", true, "", true},
		{"bad characters", strings.Repeat("+", 43), PKCES256, true, "", true},
	}
	for _, tt := range challengeTests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := checkChallenge(tt.challenge, tt.method, tt.public)
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Fatalf("checkChallenge = %q, %v", got, err)
			}
		})
	}
	verifyTests := []struct {
		name, challenge, method, verifier string
		ok                                bool
	}{
		{"S256 good", s256, PKCES256, verifier, true},
		{"S256 wrong", s256, PKCES256, strings.Repeat("w", 43), false},
		{"plain good", verifier, PKCEPlain, verifier, true},
		{"plain sent as S256 hash", verifier, PKCEPlain, s256, false},
		{"missing verifier", s256, PKCES256, "", false},
		{"verifier without challenge", "", "", verifier, false},
		{"neither", "", "", "", true},
		{"short verifier", s256, PKCES256, "abc", false},
	}
	for _, tt := range verifyTests {
		t.Run(tt.name, func(t *testing.T) {
			err := verifyPKCE(tt.challenge, tt.method, tt.verifier)
			var oe *Error
			if tt.ok != (err == nil) || (err != nil && (!errors.As(err, &oe) || oe.Code != CodeInvalidGrant)) {
				t.Fatalf("verifyPKCE = %v", err)
			}
		})
	}
}

func TestUserCodes(t *testing.T) {
	seen := map[string]bool{}
	for range 200 {
		c, err := newUserCode()
		if err != nil {
			t.Fatal(err)
		}
		if len(c) != userCodeLen || strings.Trim(c, userCodeAlphabet) != "" {
			t.Fatalf("user code %q", c)
		}
		seen[c] = true
		shown := FormatUserCode(c)
		if n, ok := NormalizeUserCode(strings.ToLower(shown)); !ok || n != c {
			t.Fatalf("NormalizeUserCode(%q) = %q, %v", shown, n, ok)
		}
	}
	if len(seen) < 195 {
		t.Fatalf("only %d distinct codes in 200", len(seen))
	}
	for _, in := range []string{"", "BCDF-GHJ", "BCDF-GHJKL", "BCDF-GHJA", "BCDF GHJ0", "ＢCDF-GHJK", strings.Repeat("B", 40)} {
		if n, ok := NormalizeUserCode(in); ok {
			t.Errorf("NormalizeUserCode(%q) = %q, want refusal", in, n)
		}
	}
	if n, ok := NormalizeUserCode(" bcdf - ghjk "); !ok || n != "BCDFGHJK" {
		t.Fatalf("spaces and dashes: %q %v", n, ok)
	}
}

// FuzzNormalizeUserCode: an accepted code is eight characters of the
// alphabet and normalising its display form gives it back.
func FuzzNormalizeUserCode(f *testing.F) {
	for _, s := range []string{"BCDF-GHJK", "bcdfghjk", "WXYZ-1234", " - ", "ß"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, ok := NormalizeUserCode(s)
		if !ok {
			return
		}
		if len(n) != userCodeLen || strings.Trim(n, userCodeAlphabet) != "" {
			t.Fatalf("NormalizeUserCode(%q) = %q", s, n)
		}
		if again, ok := NormalizeUserCode(FormatUserCode(n)); !ok || again != n {
			t.Fatalf("not idempotent: %q → %q → %q", s, n, again)
		}
	})
}

func TestParsePrompt(t *testing.T) {
	tests := []struct {
		in      string
		want    Prompt
		wantErr bool
	}{
		{"", Prompt{}, false},
		{"none", Prompt{None: true}, false},
		{"login consent", Prompt{Login: true, Consent: true}, false},
		{"select_account", Prompt{SelectAccount: true}, false},
		{"none login", Prompt{}, true},
		{"create", Prompt{}, true},
	}
	for _, tt := range tests {
		got, err := parsePrompt(tt.in)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("parsePrompt(%q) = %+v, %v", tt.in, got, err)
		}
	}
}

func TestFreshLoginRequired(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	auth := now.Add(-10 * time.Minute)
	tests := []struct {
		name string
		req  AuthorizeRequest
		want bool
	}{
		{"nothing asked", AuthorizeRequest{MaxAge: -1}, false},
		{"prompt login", AuthorizeRequest{MaxAge: -1, Prompt: Prompt{Login: true}}, true},
		{"select_account", AuthorizeRequest{MaxAge: -1, Prompt: Prompt{SelectAccount: true}}, true},
		{"max_age satisfied", AuthorizeRequest{MaxAge: time.Hour}, false},
		{"max_age exceeded", AuthorizeRequest{MaxAge: 5 * time.Minute}, true},
		{"max_age 0", AuthorizeRequest{MaxAge: 0}, true},
		{"claims nbf after auth", AuthorizeRequest{MaxAge: -1, Claims: ClaimsRequest{NotBefore: now.Add(-time.Minute)}}, true},
		{"claims nbf before auth", AuthorizeRequest{MaxAge: -1, Claims: ClaimsRequest{NotBefore: now.Add(-time.Hour)}}, false},
	}
	for _, tt := range tests {
		if got := tt.req.FreshLoginRequired(auth, now); got != tt.want {
			t.Errorf("%s: FreshLoginRequired = %v", tt.name, got)
		}
	}
}

func TestAppendQuery(t *testing.T) {
	v := url.Values{"code": {"c"}}
	for in, want := range map[string]string{
		"https://rp.example/cb":      "https://rp.example/cb?code=c",
		"https://rp.example/cb?x=1":  "https://rp.example/cb?x=1&code=c",
		"https://rp.example/cb?":     "https://rp.example/cb?code=c",
		"https://rp.example/cb?x=1&": "https://rp.example/cb?x=1&code=c",
	} {
		if got := appendQuery(in, v); got != want {
			t.Errorf("appendQuery(%q) = %q, want %q", in, got, want)
		}
	}
}
