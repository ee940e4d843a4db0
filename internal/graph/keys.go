package graph

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/vigil-idp/vigil/internal/odata"
)

// keySegment is an OData key-as-parenthesis path segment: set('value') (the
// entity's primary key) or set(prop='value') (an alternate key Graph
// supports, e.g. applications(appId='…')). Inside the quotes ” stands for
// one quote (OData ABNF, SQUOTE-in-string).
type keySegment struct {
	set   string
	prop  string // "" for the primary key form
	value string
}

// parseKeySegment parses seg (already percent-decoded) as a key segment. It
// reports false when seg is not one.
func parseKeySegment(seg string) (keySegment, bool) {
	open := strings.IndexByte(seg, '(')
	if open <= 0 || !strings.HasSuffix(seg, ")") {
		return keySegment{}, false
	}
	k := keySegment{set: seg[:open]}
	if !isName(k.set) {
		return keySegment{}, false
	}
	inner := seg[open+1 : len(seg)-1]
	if eq := strings.IndexByte(inner, '='); eq >= 0 && !strings.HasPrefix(inner, "'") {
		k.prop = strings.TrimSpace(inner[:eq])
		if !isName(k.prop) {
			return keySegment{}, false
		}
		inner = strings.TrimSpace(inner[eq+1:])
	}
	v, ok := unquote(inner)
	if !ok || v == "" {
		return keySegment{}, false
	}
	k.value = v
	return k, true
}

// String formats k as a key segment; parseKeySegment(k.String()) == k.
func (k keySegment) String() string {
	q := "'" + strings.ReplaceAll(k.value, "'", "''") + "'"
	if k.prop == "" {
		return k.set + "(" + q + ")"
	}
	return k.set + "(" + k.prop + "=" + q + ")"
}

// unquote decodes an OData string literal '…' with ” escapes.
func unquote(s string) (string, bool) {
	if len(s) < 2 || s[0] != '\'' || s[len(s)-1] != '\'' {
		return "", false
	}
	body := s[1 : len(s)-1]
	var b strings.Builder
	for i := 0; i < len(body); i++ {
		if body[i] == '\'' {
			if i+1 >= len(body) || body[i+1] != '\'' {
				return "", false
			}
			i++
		}
		b.WriteByte(body[i])
	}
	return b.String(), true
}

func isName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || i > 0 && c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// alternateKeys lists the alternate keys Graph accepts in a key segment,
// by entity set. Each resolves through the same directory lookup as the
// plain /set/{id} form, which accepts either key.
var alternateKeys = map[string]string{
	"applications":      "appId",          // GET /applications(appId='{appId}')
	"servicePrincipals": "appId",          // GET /servicePrincipals(appId='{appId}')
	"directoryRoles":    "roleTemplateId", // GET /directoryRoles(roleTemplateId='{id}')
}

// rewriteKeySegment turns a request for /v1.0/set(key='v')/rest into one for
// /v1.0/set/v/rest (and likewise under /beta), so one route serves both
// forms. It returns r unchanged when the first segment is not a key
// segment and an error for a key segment Vigil does not support.
func rewriteKeySegment(r *http.Request) (*http.Request, error) {
	prefix := prefixV1
	if strings.HasPrefix(r.URL.Path, prefixBeta+"/") {
		prefix = prefixBeta
	}
	escaped := strings.TrimPrefix(r.URL.EscapedPath(), prefix+"/")
	first, rest, _ := strings.Cut(escaped, "/")
	if !strings.Contains(first, "(") {
		return r, nil
	}
	seg, err := url.PathUnescape(first)
	if err != nil {
		return nil, unknownSegment(first)
	}
	k, ok := parseKeySegment(seg)
	if !ok || k.prop != "" && !strings.EqualFold(alternateKeys[k.set], k.prop) {
		return nil, unknownSegment(seg)
	}
	raw := prefix + "/" + k.set + "/" + url.PathEscape(k.value)
	if rest != "" {
		raw += "/" + rest
	}
	path, err := url.PathUnescape(raw)
	if err != nil {
		return nil, unknownSegment(seg)
	}
	r2 := new(http.Request)
	*r2 = *r
	u := *r.URL
	u.Path, u.RawPath = path, raw
	r2.URL = &u
	return r2, nil
}

// lowerGUIDs lower-cases every GUID-shaped segment of r's path: Vigil's
// object ids are lower-case GUIDs and Graph compares ids without regard
// to case, so /users/{ID} names the same user as /users/{id}. Other
// segments (userPrincipalNames, which are compared case-insensitively
// anyway, action names) are left as they are.
func lowerGUIDs(r *http.Request) *http.Request {
	segs := strings.Split(r.URL.Path, "/")
	changed := false
	for i, seg := range segs {
		if g := odata.CanonicalGUID(seg); g != seg {
			segs[i], changed = g, true
		}
	}
	if !changed {
		return r
	}
	r2 := new(http.Request)
	*r2 = *r
	u := *r.URL
	u.Path, u.RawPath = strings.Join(segs, "/"), ""
	r2.URL = &u
	return r2
}

// unknownSegment is Graph's answer to a path it has no resource for.
func unknownSegment(seg string) *Error {
	return NewError(http.StatusBadRequest, CodeBadRequest, "Resource not found for the segment '"+seg+"'.", nil)
}

// refTargets are the entity sets a reference (@odata.id) may name.
var refTargets = []string{"directoryObjects", "users", "groups", "servicePrincipals"}

// parseReference returns the object id named by the @odata.id of a $ref
// body, e.g. "https://graph.microsoft.com/v1.0/directoryObjects/{id}". Any
// base is accepted (Graph's own, Vigil's, or none) as long as the path ends
// in /directoryObjects/{id}, /users/{id}, /groups/{id} or
// /servicePrincipals/{id}, or the key form directoryObjects('{id}').
func parseReference(ref string) (string, bool) {
	u, err := url.Parse(strings.TrimSpace(ref))
	if err != nil || u.RawQuery != "" || u.Fragment != "" {
		return "", false
	}
	segs := strings.Split(strings.Trim(u.EscapedPath(), "/"), "/")
	last, err := url.PathUnescape(segs[len(segs)-1])
	if err != nil || last == "" {
		return "", false
	}
	if k, ok := parseKeySegment(last); ok {
		if k.prop != "" || !isRefTarget(k.set) || strings.Contains(k.value, "/") {
			return "", false
		}
		return odata.CanonicalGUID(k.value), true
	}
	if len(segs) < 2 || !isRefTarget(segs[len(segs)-2]) || strings.ContainsAny(last, "/()'") {
		return "", false
	}
	return odata.CanonicalGUID(last), true
}

func isRefTarget(set string) bool {
	for _, t := range refTargets {
		if strings.EqualFold(t, set) {
			return true
		}
	}
	return false
}
