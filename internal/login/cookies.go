package login

import (
	"crypto/hmac"
	"encoding/base64"
	"errors"
	"net/http"
	"strings"

	"github.com/vigil-idp/vigil/internal/secret"
)

// Cookie names. Over https they carry the __Host- prefix (RFC 6265bis
// §4.1.3.2): Secure, Path=/, no Domain, so no sibling host can set them.
const (
	sessionCookieName = "vigil_session"
	csrfCookieName    = "vigil_csrf"
	hostPrefix        = "__Host-"
)

// csrfField is the form field carrying the CSRF token.
const csrfField = "csrf_token"

// errCSRF is a failed CSRF check.
var errCSRF = errors.New("login: CSRF check failed")

// cookies makes and reads Vigil's two cookies. The session cookie holds
// "<sid>.<mac>" where mac is a keyed hash of the sid, so a cookie cannot be
// forged or guessed without the server key, and carries nothing else. The
// CSRF cookie holds random bytes; each form's token is a keyed hash of
// that value and the form's name (a double-submit token bound to the
// cookie), so a token leaked from one form does not serve another, and a
// token without the victim's cookie is worthless.
type cookies struct {
	secure bool // the issuer is https
	macs   *secret.Hasher
}

func (c cookies) name(base string) string {
	if c.secure {
		return hostPrefix + base
	}
	return base
}

// mac is a domain-separated keyed hash, base64url.
func (c cookies) mac(purpose, value string) string {
	return base64.RawURLEncoding.EncodeToString(c.macs.Hash("vigil login " + purpose + "\x00" + value))
}

// setSession sets the SSO session cookie: HttpOnly, SameSite=Lax (sent on
// the top-level navigation from a relying party to /authorize, not on
// cross-site subrequests or POSTs), Secure over https, a session cookie of
// the browser (no Expires; the server-side session decides validity).
func (c cookies) setSession(w http.ResponseWriter, sid string) {
	http.SetCookie(w, &http.Cookie{
		Name: c.name(sessionCookieName), Value: sid + "." + c.mac("session", sid), Path: "/",
		HttpOnly: true, Secure: c.secure, SameSite: http.SameSiteLaxMode,
	})
}

// clearSession deletes the SSO session cookie.
func (c cookies) clearSession(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{
		Name: c.name(sessionCookieName), Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: c.secure, SameSite: http.SameSiteLaxMode,
	})
}

// sessionID returns the sid of a valid session cookie, or "".
func (c cookies) sessionID(r *http.Request) string {
	ck, err := r.Cookie(c.name(sessionCookieName))
	if err != nil {
		return ""
	}
	sid, mac, ok := strings.Cut(ck.Value, ".")
	if !ok || sid == "" || len(sid) > 64 || !hmac.Equal([]byte(mac), []byte(c.mac("session", sid))) {
		return ""
	}
	return sid
}

// csrfToken returns the token for form, setting the CSRF cookie when the
// request has none.
func (c cookies) csrfToken(w http.ResponseWriter, r *http.Request, form string) (string, error) {
	value := ""
	if ck, err := r.Cookie(c.name(csrfCookieName)); err == nil && len(ck.Value) >= 32 && len(ck.Value) <= 64 {
		value = ck.Value
	} else {
		v, err := secret.NewToken(32)
		if err != nil {
			return "", err
		}
		value = v
		http.SetCookie(w, &http.Cookie{
			Name: c.name(csrfCookieName), Value: value, Path: "/",
			HttpOnly: true, Secure: c.secure, SameSite: http.SameSiteStrictMode,
		})
	}
	return c.mac("csrf "+form, value), nil
}

// checkCSRF verifies the token a form posted against the CSRF cookie.
func (c cookies) checkCSRF(r *http.Request, form string) error {
	ck, err := r.Cookie(c.name(csrfCookieName))
	if err != nil || ck.Value == "" {
		return errCSRF
	}
	got := r.PostForm.Get(csrfField)
	if got == "" || !hmac.Equal([]byte(got), []byte(c.mac("csrf "+form, ck.Value))) {
		return errCSRF
	}
	return nil
}
