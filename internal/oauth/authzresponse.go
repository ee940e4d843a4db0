package oauth

import (
	"crypto/sha256"
	"encoding/base64"
	"html/template"
	"net/http"
	"net/url"
	"strings"
)

// RedirectCode sends the authorization response (RFC 6749 §4.1.2) with
// code, state and iss (RFC 9207) to the request's redirect URI in its
// response mode.
func (a *Authorizer) RedirectCode(w http.ResponseWriter, r *http.Request, req *AuthorizeRequest, code string) {
	a.respond(w, r, req, url.Values{"code": {code}})
}

// RedirectError sends an error response (RFC 6749 §4.1.2.1, OpenID Connect
// Core §3.1.2.6) with error, error_description, state and iss to the
// request's redirect URI. req must be a validated request (never one whose
// redirect URI was not matched).
func (a *Authorizer) RedirectError(w http.ResponseWriter, r *http.Request, req *AuthorizeRequest, e *Error) {
	v := url.Values{"error": {safeText(e.Code)}}
	if e.Description != "" {
		v.Set("error_description", safeText(e.Description))
	}
	a.respond(w, r, req, v)
}

// respond adds state and iss and delivers v.
func (a *Authorizer) respond(w http.ResponseWriter, r *http.Request, req *AuthorizeRequest, v url.Values) {
	if req.State != "" {
		v.Set("state", req.State)
	}
	v.Set("iss", a.Issuer)
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
	h.Set("Referrer-Policy", "no-referrer")
	switch req.ResponseMode {
	case ResponseModeFormPost:
		writeFormPost(w, req.RedirectURI, v)
	case ResponseModeFragment:
		http.Redirect(w, r, req.RedirectURI+"#"+v.Encode(), redirectStatus(r))
	default:
		http.Redirect(w, r, appendQuery(req.RedirectURI, v), redirectStatus(r))
	}
}

// redirectStatus is 303 after a POST (so the browser follows with GET) and
// 302 otherwise (RFC 9110 §15.4).
func redirectStatus(r *http.Request) int {
	if r.Method == http.MethodPost {
		return http.StatusSeeOther
	}
	return http.StatusFound
}

// appendQuery adds v to uri's query, keeping the query it has (RFC 6749
// §3.1.2: "MUST retain" it).
func appendQuery(uri string, v url.Values) string {
	sep := "?"
	if strings.Contains(uri, "?") {
		sep = "&"
		if strings.HasSuffix(uri, "?") || strings.HasSuffix(uri, "&") {
			sep = ""
		}
	}
	return uri + sep + v.Encode()
}

// formPostScript submits the form; its hash is allowed by the page's CSP.
const formPostScript = `document.forms[0].submit();`

var formPostScriptHash = func() string {
	sum := sha256.Sum256([]byte(formPostScript))
	return "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
}()

var formPostPage = template.Must(template.New("form_post").Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Continue</title></head>
<body><form method="post" action="{{.Action}}">
{{range .Fields}}<input type="hidden" name="{{.Name}}" value="{{.Value}}">
{{end}}<noscript><p>JavaScript is off. Press Continue to return to the application.</p><button type="submit">Continue</button></noscript>
</form><script>` + formPostScript + `</script></body></html>
`))

type formField struct{ Name, Value string }

// writeFormPost answers with an auto-submitting form (OAuth 2.0 Form Post
// Response Mode §2).
func writeFormPost(w http.ResponseWriter, action string, v url.Values) {
	var fields []formField
	for _, k := range sortedKeys(v) {
		fields = append(fields, formField{k, v.Get(k)})
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", "default-src 'none'; script-src "+formPostScriptHash+"; base-uri 'none'; frame-ancestors 'none'")
	h.Set("X-Frame-Options", "DENY")
	w.WriteHeader(http.StatusOK)
	_ = formPostPage.Execute(w, struct {
		Action template.URL
		Fields []formField
	}{template.URL(action), fields})
}
