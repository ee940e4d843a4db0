package login

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/vigil-idp/vigil/internal/secret"
)

// TestSessionCookie: over https the cookie is __Host-, Secure, HttpOnly,
// SameSite=Lax and holds only the sid and its MAC; a tampered or foreign
// cookie is ignored.
func TestSessionCookie(t *testing.T) {
	c := cookies{secure: true, macs: secret.NewHasher([]byte(strings.Repeat("a", 32)))}
	rec := httptest.NewRecorder()
	c.setSession(rec, "3f2504e0-4f89-11d3-9a0c-0305e82c3301")
	set := rec.Result().Cookies()
	if len(set) != 1 {
		t.Fatalf("cookies %v", set)
	}
	ck := set[0]
	if ck.Name != "__Host-vigil_session" || !ck.Secure || !ck.HttpOnly || ck.SameSite != http.SameSiteLaxMode || ck.Path != "/" || ck.Domain != "" {
		t.Fatalf("cookie attributes %+v", ck)
	}
	sid, mac, _ := strings.Cut(ck.Value, ".")
	if sid != "3f2504e0-4f89-11d3-9a0c-0305e82c3301" || len(mac) < 40 {
		t.Fatalf("cookie value %q", ck.Value)
	}
	read := func(value string) string {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.AddCookie(&http.Cookie{Name: ck.Name, Value: value})
		return c.sessionID(r)
	}
	if read(ck.Value) != sid {
		t.Fatal("own cookie not read")
	}
	other := cookies{secure: true, macs: secret.NewHasher([]byte(strings.Repeat("b", 32)))}
	rec2 := httptest.NewRecorder()
	other.setSession(rec2, sid)
	for name, v := range map[string]string{
		"other key":     rec2.Result().Cookies()[0].Value,
		"other sid":     "4f2504e0-4f89-11d3-9a0c-0305e82c3301." + mac,
		"no mac":        sid,
		"empty mac":     sid + ".",
		"truncated mac": sid + "." + mac[:len(mac)-1],
		"empty":         "",
	} {
		if got := read(v); got != "" {
			t.Errorf("%s: read %q", name, got)
		}
	}
	plain := cookies{secure: false, macs: c.macs}
	rec3 := httptest.NewRecorder()
	plain.setSession(rec3, sid)
	if ck := rec3.Result().Cookies()[0]; ck.Name != "vigil_session" || ck.Secure {
		t.Fatalf("http issuer cookie %+v", ck)
	}
}

// TestCSRFTokens: tokens are per form and per cookie.
func TestCSRFTokens(t *testing.T) {
	c := cookies{macs: secret.NewHasher([]byte(strings.Repeat("a", 32)))}
	rec := httptest.NewRecorder()
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	tok, err := c.csrfToken(rec, r, PathLogin)
	if err != nil {
		t.Fatal(err)
	}
	ck := rec.Result().Cookies()[0]
	if ck.SameSite != http.SameSiteStrictMode || !ck.HttpOnly {
		t.Fatalf("CSRF cookie %+v", ck)
	}
	post := func(form string, token string, cookie *http.Cookie) error {
		r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(url.Values{csrfField: {token}}.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if cookie != nil {
			r.AddCookie(cookie)
		}
		if err := r.ParseForm(); err != nil {
			t.Fatal(err)
		}
		return c.checkCSRF(r, form)
	}
	if post(PathLogin, tok, ck) != nil {
		t.Fatal("genuine token refused")
	}
	if post(PathConsent, tok, ck) == nil || post(PathLogin, tok, nil) == nil || post(PathLogin, "", ck) == nil ||
		post(PathLogin, tok, &http.Cookie{Name: ck.Name, Value: strings.Repeat("x", 43)}) == nil {
		t.Fatal("a token was accepted out of place")
	}
	// A request that has the cookie gets a token for the same cookie.
	r2 := httptest.NewRequest(http.MethodGet, "/", nil)
	r2.AddCookie(ck)
	rec2 := httptest.NewRecorder()
	tok2, _ := c.csrfToken(rec2, r2, PathLogin)
	if tok2 != tok || len(rec2.Result().Cookies()) != 0 {
		t.Fatal("the CSRF cookie was replaced")
	}
}

// FuzzSessionCookie: a cookie value is accepted only when it is exactly
// what setSession writes for the sid it yields.
func FuzzSessionCookie(f *testing.F) {
	c := cookies{macs: secret.NewHasher([]byte(strings.Repeat("a", 32)))}
	f.Add("3f2504e0-4f89-11d3-9a0c-0305e82c3301." + c.mac("session", "3f2504e0-4f89-11d3-9a0c-0305e82c3301"))
	f.Add("a.b")
	f.Add(".")
	f.Fuzz(func(t *testing.T, value string) {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.Header.Set("Cookie", sessionCookieName+"="+value)
		sid := c.sessionID(r)
		if sid == "" {
			return
		}
		ck, err := r.Cookie(sessionCookieName)
		if err != nil || ck.Value != sid+"."+c.mac("session", sid) {
			t.Fatalf("accepted %q as sid %q", value, sid)
		}
	})
}
