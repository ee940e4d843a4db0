package directory

import (
	"fmt"
	"net"
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"
)

// invalidProp is Graph's wording for a bad property value, followed by the
// reason so the caller can fix it.
func invalidProp(prop, resource, why string) *Error {
	return invalid("Invalid value specified for property '%s' of resource '%s': %s.", prop, resource, why)
}

// requiredProp is the error for a property that must be present on create.
func requiredProp(prop, resource string) *Error {
	return invalid("Property '%s' is required when creating a %s.", prop, strings.ToLower(resource[:1])+resource[1:])
}

// notNull is the error for an explicit null on a property that cannot be
// cleared.
func notNull(prop, resource string) *Error {
	return invalidProp(prop, resource, "the property cannot be null")
}

// presence is one property's Set/Null state, for checkPresence.
type presence struct {
	prop      string
	set, null bool
}

func presenceOf[T any](prop string, o Optional[T]) presence { return presence{prop, o.Set, o.Null} }

// checkPresence refuses, on create, a required property that is absent,
// and always an explicit null on a required or non-nullable property.
func checkPresence(resource string, create bool, required []presence, nonNullable ...presence) error {
	for _, p := range required {
		if create && !p.set {
			return requiredProp(p.prop, resource)
		}
	}
	for _, p := range append(required, nonNullable...) {
		if p.set && p.null {
			return notNull(p.prop, resource)
		}
	}
	return nil
}

// checkLen rejects a string longer than max characters (Unicode code
// points, as Graph counts them) or holding control characters.
func checkLen(prop, resource, v string, max int) error {
	if n := utf8.RuneCountInString(v); n > max {
		return invalidProp(prop, resource, fmt.Sprintf("the value has %d characters; the maximum is %d", n, max))
	}
	if !utf8.ValidString(v) || strings.IndexFunc(v, unicode.IsControl) >= 0 {
		return invalidProp(prop, resource, "the value contains control characters or invalid UTF-8")
	}
	return nil
}

// upnAliasChars are the characters Entra allows in the part of a
// userPrincipalName before '@': A–Z a–z 0–9 ' . - _ ! # ^ ~
// (https://learn.microsoft.com/en-us/entra/identity/authentication/concept-sspr-policy#username-policies).
func upnAliasChar(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		strings.IndexByte("'.-_!#^~", c) >= 0
}

// validateUPN applies Entra's username policy (same source as
// upnAliasChar): exactly one '@'; alias of allowed characters, 1–64 long,
// not ending in '.'; domain 1–48 long; total ≤ 113. Vigil additionally
// requires the domain to be a DNS name (letters, digits, hyphens, dots; no
// empty label), since Entra only accepts verified domains.
func validateUPN(upn string) error {
	bad := func(why string) error { return invalidProp("userPrincipalName", "User", why) }
	if upn == "" {
		return bad("the value is empty")
	}
	if len(upn) > 113 {
		return bad(fmt.Sprintf("the value has %d characters; the maximum is 113", len(upn)))
	}
	alias, domain, ok := strings.Cut(upn, "@")
	if !ok || strings.Contains(domain, "@") {
		return bad("the value must have the form alias@domain with exactly one '@'")
	}
	switch {
	case alias == "":
		return bad("the part before '@' is empty")
	case len(alias) > 64:
		return bad("the part before '@' may have at most 64 characters")
	case strings.HasSuffix(alias, "."):
		return bad("a period cannot immediately precede '@'")
	}
	for i := 0; i < len(alias); i++ {
		if !upnAliasChar(alias[i]) {
			return bad(fmt.Sprintf("character %q is not allowed before '@' (allowed: A-Z a-z 0-9 ' . - _ ! # ^ ~)", alias[i]))
		}
	}
	if len(domain) > 48 {
		return bad("the part after '@' may have at most 48 characters")
	}
	if !isDNSName(domain) {
		return bad("the part after '@' must be a domain name such as contoso.com")
	}
	return nil
}

// isDNSName reports whether s is a host name of letters, digits and
// hyphens in dot-separated labels that neither start nor end with a hyphen.
func isDNSName(s string) bool {
	if s == "" {
		return false
	}
	for _, label := range strings.Split(s, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}

// validateMailNickname applies Graph's rule for mailNickname (users and
// groups): 1–64 ASCII characters, none of @ ( ) \ [ ] " ; : < > , or space
// (https://learn.microsoft.com/en-us/graph/api/resources/group, mailNickname).
func validateMailNickname(resource, v string) error {
	if v == "" {
		return invalidProp("mailNickname", resource, "the value is empty")
	}
	if len(v) > 64 {
		return invalidProp("mailNickname", resource, "the value may have at most 64 characters")
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`@()\[]";:<>,`, c) >= 0 {
			return invalidProp("mailNickname", resource, fmt.Sprintf("character %q is not allowed (ASCII only; not @ ( ) \\ [ ] \" ; : < > , or space)", c))
		}
	}
	return nil
}

// validateMail checks an SMTP address loosely: one '@', non-empty local
// part, DNS domain, at most 256 characters, no spaces.
func validateMail(resource, v string) error {
	local, domain, ok := strings.Cut(v, "@")
	if !ok || local == "" || len(v) > 256 || strings.ContainsAny(v, " \t\r\n<>,;") || !isDNSName(domain) {
		return invalidProp("mail", resource, "the value must be an email address such as user@contoso.com")
	}
	return nil
}

// validatePassword applies Entra's password policy for cloud accounts:
// 8–256 characters, and at least three of lower case, upper case, digits
// and symbols
// (https://learn.microsoft.com/en-us/entra/identity/authentication/concept-sspr-policy#password-policies-that-only-apply-to-cloud-user-accounts).
func validatePassword(pw string) error {
	const msg = "The specified password does not comply with password complexity requirements. Please provide a different password."
	n := utf8.RuneCountInString(pw)
	if n < 8 || n > 256 || !utf8.ValidString(pw) {
		return invalid("%s (It must have 8 to 256 characters.)", msg)
	}
	var lower, upper, digit, symbol int
	for _, r := range pw {
		switch {
		case unicode.IsLower(r):
			lower = 1
		case unicode.IsUpper(r):
			upper = 1
		case unicode.IsDigit(r):
			digit = 1
		case unicode.IsControl(r):
			return invalid("%s (Control characters are not allowed.)", msg)
		default:
			symbol = 1
		}
	}
	if lower+upper+digit+symbol < 3 {
		return invalid("%s (Use at least three of: lower case, upper case, digits, symbols.)", msg)
	}
	return nil
}

// Redirect URI kinds, for validateRedirectURIs.
const (
	redirectWeb          = "web"
	redirectSPA          = "spa"
	redirectPublicClient = "publicClient"
)

// maxURIs is Entra's limit on redirect URIs per application, and
// maxURILen the limit on each one's length
// (https://learn.microsoft.com/en-us/entra/identity-platform/reply-url).
const (
	maxURIs   = 256
	maxURILen = 256
)

// isLoopbackHost reports whether host names the loopback interface by
// name or literal (RFC 8252 §7.3).
func isLoopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// validateRedirectURIs applies Entra's redirect URI restrictions
// (https://learn.microsoft.com/en-us/entra/identity-platform/reply-url):
// absolute, no fragment, no wildcard, at most 256 characters, at most 256
// per list, no duplicates. Web and SPA URIs must use https, or http on a
// loopback host; public-client URIs may also use a private-use scheme
// (RFC 8252 §7.1, e.g. msal<appId>://auth).
func validateRedirectURIs(kind string, uris []string) error {
	prop := kind + ".redirectUris"
	if kind == redirectPublicClient {
		prop = "publicClient.redirectUris"
	}
	bad := func(u, why string) error { return invalidProp(prop, "Application", fmt.Sprintf("%q: %s", u, why)) }
	if len(uris) > maxURIs {
		return invalidProp(prop, "Application", fmt.Sprintf("at most %d redirect URIs are allowed", maxURIs))
	}
	seen := make(map[string]bool, len(uris))
	for _, raw := range uris {
		if len(raw) > maxURILen {
			return bad(raw, fmt.Sprintf("a redirect URI may have at most %d characters", maxURILen))
		}
		if seen[raw] {
			return bad(raw, "duplicate redirect URI")
		}
		seen[raw] = true
		if strings.Contains(raw, "*") {
			return bad(raw, "wildcards are not allowed")
		}
		u, err := url.Parse(raw)
		if err != nil || !u.IsAbs() {
			return bad(raw, "must be an absolute URI")
		}
		if u.Fragment != "" || strings.Contains(raw, "#") {
			return bad(raw, "must not contain a fragment")
		}
		scheme := strings.ToLower(u.Scheme)
		switch {
		case scheme == "https":
			if u.Host == "" {
				return bad(raw, "must name a host")
			}
		case scheme == "http":
			if !isLoopbackHost(u.Hostname()) {
				return bad(raw, "http is allowed only for localhost or a loopback address; use https")
			}
		case kind == redirectPublicClient:
			// Private-use URI scheme (RFC 8252 §7.1).
		default:
			return bad(raw, "must use https, or http on localhost or a loopback address")
		}
	}
	return nil
}

// validateIdentifierURIs checks application ID URIs: absolute URIs (for
// example api://<appId> or https://contoso.com/api), no fragment, no
// wildcard, at most 256 characters, no duplicates
// (https://learn.microsoft.com/en-us/entra/identity-platform/reference-app-manifest#identifieruris-attribute).
func validateIdentifierURIs(uris []string) error {
	bad := func(u, why string) error {
		return invalidProp("identifierUris", "Application", fmt.Sprintf("%q: %s", u, why))
	}
	if len(uris) > 50 {
		return invalidProp("identifierUris", "Application", "at most 50 identifier URIs are allowed")
	}
	seen := make(map[string]bool, len(uris))
	for _, raw := range uris {
		key := strings.ToLower(raw)
		switch {
		case len(raw) > maxURILen:
			return bad(raw, fmt.Sprintf("an identifier URI may have at most %d characters", maxURILen))
		case seen[key]:
			return bad(raw, "duplicate identifier URI")
		case strings.ContainsAny(raw, "*# \t"):
			return bad(raw, "wildcards, fragments and spaces are not allowed")
		}
		seen[key] = true
		u, err := url.Parse(raw)
		if err != nil || !u.IsAbs() || (u.Host == "" && u.Opaque == "") {
			return bad(raw, "must be an absolute URI such as api://<appId> or https://contoso.com/api")
		}
	}
	return nil
}
