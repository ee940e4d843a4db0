// Package proxy is `vigil proxy`: a reverse proxy that puts the public
// guard middleware in front of any HTTP application, so an app in any
// language gets verified access tokens and revocation within milliseconds
// without linking Go code.
//
//	VIGIL_CLIENT_ID=… VIGIL_CLIENT_SECRET=… vigil proxy \
//	    --listen 127.0.0.1:9000 --upstream http://127.0.0.1:3000 \
//	    --issuer https://vigil.example.com --audience api://orders
//
// Every request must carry an access token guard accepts (RFC 9068, the
// revocation table fed by the proxy's own SSF stream, claims challenges for
// cp1 clients); accepted requests go to the upstream with the caller in
// headers (Headers: X-Vigil-User-Id, -Upn, -Scopes, -Roles, -Session-Id,
// -Tenant-Id, -Client-Id by default), after every incoming header with that
// prefix has been removed, so a client cannot claim an identity. The
// Authorization header is removed too unless --forward-authorization.
//
// The stream's OAuth client comes from VIGIL_CLIENT_ID and
// VIGIL_CLIENT_SECRET (a client with the ssf.manage permission). By
// default SETs are long-polled; --push-path asks the transmitter to push
// them to that path of the proxy (at --public-url), which the proxy then
// serves itself instead of forwarding.
//
// Command returns the cobra command; cmd/vigil registers it. The package
// imports guard (public) and, for exit-code classification, internal/cli's
// error kinds; nothing else of Vigil.
package proxy
