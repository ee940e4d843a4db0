package login

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"html/template"
	"net/http"
	"strings"
)

//go:embed templates/*.html templates/style.css
var templateFS embed.FS

// Page names.
const (
	pageSignIn        = "signin"
	pageConsent       = "consent"
	pageDevice        = "device"
	pageDeviceConfirm = "device_confirm"
	pageLogout        = "logout"
	pageMessage       = "message"
)

// pages holds one template set per page, each the layout plus the page's
// content block.
var pages = func() map[string]*template.Template {
	m := map[string]*template.Template{}
	for _, name := range []string{pageSignIn, pageConsent, pageDevice, pageDeviceConfirm, pageLogout, pageMessage} {
		m[name] = template.Must(template.ParseFS(templateFS, "templates/layout.html", "templates/"+name+".html"))
	}
	return m
}()

// styleSheet is the inline style sheet; its hash is the only style the
// pages' Content-Security-Policy allows.
var styleSheet = func() string {
	b, err := templateFS.ReadFile("templates/style.css")
	if err != nil {
		panic(err)
	}
	return strings.TrimSpace(string(b))
}()

var contentSecurityPolicy = func() string {
	sum := sha256.Sum256([]byte(styleSheet))
	return "default-src 'none'; style-src 'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) +
		"'; base-uri 'none'; frame-ancestors 'none'"
}()

// hidden is a hidden form field.
type hidden struct{ Name, Value string }

// permission is one line of a consent list.
type permission struct {
	Name, Description string
	Admin             bool
}

// view is everything a page template may show; each page uses some of it.
type view struct {
	Title string
	// CSS is the style sheet; set by render.
	CSS template.CSS
	// Error is shown in an alert at the top.
	Error string
	// Action is the form's target; CSRF its token; Hidden its other
	// carried fields.
	Action string
	CSRF   string
	Hidden []hidden
	// Username is the sign-in name (pre-filled or signed in).
	Username string
	// AppName is the client application's display name.
	AppName string
	// Permissions are listed on consent and device pages.
	Permissions []permission
	// AdminRequired: a permission needs an administrator's consent;
	// CanConsentForOrg: the user may give it for the organization.
	AdminRequired    bool
	CanConsentForOrg bool
	// UserCode is the device code being entered or confirmed.
	UserCode string
	// Paragraphs, Code, Link and LinkText make the message page.
	Paragraphs []string
	Code       string
	Link       string
	LinkText   string
}

// render writes a page with the security headers every page carries: no
// caching, no framing, no referrer, a CSP that allows only the inline
// style sheet.
func render(w http.ResponseWriter, status int, name string, v view) {
	v.CSS = template.CSS(styleSheet)
	var buf bytes.Buffer
	if err := pages[name].ExecuteTemplate(&buf, "layout", v); err != nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", contentSecurityPolicy)
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// message renders the message page.
func message(w http.ResponseWriter, status int, title string, paragraphs ...string) {
	render(w, status, pageMessage, view{Title: title, Paragraphs: paragraphs})
}
