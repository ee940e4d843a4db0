package proxy

import (
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"time"

	"github.com/vigil-idp/vigil/guard"
)

// DefaultHeaderPrefix is the default prefix of the identity headers.
const DefaultHeaderPrefix = "X-Vigil-"

// Headers says how the verified caller is passed to the upstream.
type Headers struct {
	// Prefix of every identity header; "" means DefaultHeaderPrefix.
	// Incoming headers with this prefix are always removed.
	Prefix string
	// ForwardAuthorization keeps the caller's Authorization header
	// (the access token) on the upstream request.
	ForwardAuthorization bool
}

// Header name suffixes, after Headers.Prefix.
const (
	HeaderUserID    = "User-Id"    // oid
	HeaderUPN       = "Upn"        // upn, preferred_username or email, when present
	HeaderScopes    = "Scopes"     // scp, space-separated
	HeaderRoles     = "Roles"      // roles, space-separated
	HeaderSessionID = "Session-Id" // sid, delegated tokens only
	HeaderTenantID  = "Tenant-Id"  // tid
	HeaderClientID  = "Client-Id"  // client_id
)

// Handler is the proxy: g's Middleware in front of a reverse proxy to
// upstream that passes the verified identity in h's headers. transport
// nil means a keep-alive transport sized for a busy upstream.
func Handler(g *guard.Guard, upstream *url.URL, h Headers, transport http.RoundTripper, log *slog.Logger) http.Handler {
	prefix := http.CanonicalHeaderKey(h.Prefix)
	if h.Prefix == "" {
		prefix = DefaultHeaderPrefix
	}
	if transport == nil {
		transport = newTransport()
	}
	names := struct{ user, upn, scopes, roles, session, tenant, client string }{
		prefix + HeaderUserID, prefix + HeaderUPN, prefix + HeaderScopes, prefix + HeaderRoles,
		prefix + HeaderSessionID, prefix + HeaderTenantID, prefix + HeaderClientID,
	}
	rp := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(upstream)
			pr.SetXForwarded()
			out := pr.Out.Header
			for k := range out {
				if len(k) >= len(prefix) && strings.EqualFold(k[:len(prefix)], prefix) {
					delete(out, k)
				}
			}
			if !h.ForwardAuthorization {
				out.Del("Authorization")
			}
			id, ok := guard.FromContext(pr.In.Context())
			if !ok {
				return // unreachable: the guard lets no request through without one
			}
			set := func(name, v string) {
				if v != "" {
					out[name] = []string{v}
				}
			}
			set(names.user, id.ObjectID)
			set(names.upn, id.UPN)
			set(names.scopes, strings.Join(id.Scopes, " "))
			set(names.roles, strings.Join(id.Roles, " "))
			set(names.session, id.SessionID)
			set(names.tenant, id.TenantID)
			set(names.client, id.ClientID)
		},
		Transport: transport,
		ErrorLog:  slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	return g.Middleware(rp)
}

// newTransport is http.DefaultTransport's settings with more idle
// connections per host: the proxy talks to one upstream.
func newTransport() *http.Transport {
	return &http.Transport{
		Proxy:                 nil,
		DialContext:           (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          1024,
		MaxIdleConnsPerHost:   256,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
	}
}
