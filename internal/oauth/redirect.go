package oauth

import (
	"net"
	"net/url"
	"slices"
	"strings"

	"github.com/vigil-idp/vigil/internal/store"
)

// RedirectKind says which list of an application registration a redirect
// URI matched: Entra keeps web, SPA and public client (mobile and desktop)
// redirect URIs apart, and the kind decides the client type.
type RedirectKind int

// Redirect URI kinds.
const (
	// RedirectWeb is a confidential client's redirect URI
	// (web.redirectUris): the code must be redeemed with client
	// authentication.
	RedirectWeb RedirectKind = iota + 1
	// RedirectSPA is a single-page app's (spa.redirectUris): a public
	// client whose refresh tokens live 24 hours (Entra).
	RedirectSPA
	// RedirectPublic is a native app's (publicClient.redirectUris): a
	// public client, RFC 8252.
	RedirectPublic
)

// Public reports whether a client redirected to a URI of this kind is a
// public client (RFC 6749 §2.1), which must use PKCE with S256.
func (k RedirectKind) Public() bool { return k == RedirectSPA || k == RedirectPublic }

// maxRedirectURILen bounds redirect_uri and post_logout_redirect_uri.
const maxRedirectURILen = 2048

// MatchRedirectURI finds the registered redirect URI of app that uri
// matches and returns its kind (RFC 6749 §3.1.2.3). URIs are compared as
// strings, exactly (RFC 9700 §4.1.3), except that a loopback URI
// (http://127.0.0.1, http://[::1] or http://localhost) matches a
// registered loopback URI with the same host, path and query on any port,
// as RFC 8252 §7.3 requires for native apps. It reports false for a
// malformed URI (not absolute, with a fragment or user info, longer than
// 2048 bytes), which must never be redirected to.
func MatchRedirectURI(app store.Application, uri string) (RedirectKind, bool) {
	if !wellFormedRedirect(uri) {
		return 0, false
	}
	for _, l := range []struct {
		kind RedirectKind
		uris []string
	}{
		{RedirectWeb, app.WebRedirectURIs},
		{RedirectSPA, app.SPARedirectURIs},
		{RedirectPublic, app.PublicClientRedirectURIs},
	} {
		if slices.ContainsFunc(l.uris, func(reg string) bool { return redirectMatches(reg, uri) }) {
			return l.kind, true
		}
	}
	return 0, false
}

// wellFormedRedirect checks RFC 6749 §3.1.2: an absolute URI without a
// fragment; user info is refused too, as it only serves to mislead, and so
// are schemes that run script or name local resources.
func wellFormedRedirect(uri string) bool {
	if uri == "" || len(uri) > maxRedirectURILen || strings.ContainsAny(uri, "# \t\r\n\\") {
		return false
	}
	u, err := url.Parse(uri)
	if err != nil || u.Scheme == "" || u.Opaque != "" || u.User != nil {
		return false
	}
	switch strings.ToLower(u.Scheme) {
	case "http", "https":
		return u.Host != ""
	case "javascript", "data", "vbscript", "file", "blob", "about":
		return false // RFC 9700 §4.1.4: never a script or a local resource
	}
	return true
}

// redirectMatches compares a registered URI with a requested one.
func redirectMatches(registered, requested string) bool {
	if registered == requested {
		return true
	}
	reg, err := url.Parse(registered)
	if err != nil {
		return false
	}
	req, err := url.Parse(requested)
	if err != nil {
		return false
	}
	if reg.Scheme != "http" || req.Scheme != "http" || !isLoopbackHost(reg.Hostname()) {
		return false
	}
	// Same loopback host (127.0.0.1 is not localhost: RFC 8252 §8.3 lets
	// them resolve differently), any port, same path and query.
	return reg.Hostname() == req.Hostname() && validPort(req.Port()) && reg.User == nil && req.User == nil &&
		reg.EscapedPath() == req.EscapedPath() && reg.RawQuery == req.RawQuery && !req.ForceQuery && !reg.ForceQuery
}

// isLoopbackHost reports whether host is a loopback literal or localhost.
func isLoopbackHost(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback() && (ip.Equal(net.IPv4(127, 0, 0, 1)) || ip.Equal(net.IPv6loopback))
}

// validPort accepts "" (the default port) or a decimal port 1–65535.
func validPort(p string) bool {
	if p == "" {
		return true
	}
	if len(p) > 5 || p[0] == '0' {
		return false
	}
	n := 0
	for i := 0; i < len(p); i++ {
		if p[i] < '0' || p[i] > '9' {
			return false
		}
		n = n*10 + int(p[i]-'0')
	}
	return n <= 65535
}

// MatchPostLogoutRedirectURI reports whether uri is exactly one of the
// URIs registered for RP-initiated logout (OpenID Connect RP-Initiated
// Logout 1.0 §3: "MUST have been previously registered").
func MatchPostLogoutRedirectURI(registered []string, uri string) bool {
	return wellFormedRedirect(uri) && slices.Contains(registered, uri)
}
