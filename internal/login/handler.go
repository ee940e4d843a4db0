package login

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/vigil-idp/vigil/internal/oauth"
	"github.com/vigil-idp/vigil/internal/secret"
	"github.com/vigil-idp/vigil/internal/session"
	"github.com/vigil-idp/vigil/internal/store"
)

// Paths of the pages below the issuer. The authorization and end-session
// endpoints (oauth.PathAuthorize, oauth.PathEndSession) are mounted by the
// oauth.Provider with ServeAuthorize and ServeEndSession.
const (
	PathLogin   = "/login"
	PathConsent = "/consent"
	// PathDevice is oauth.PathDeviceVerification.
	PathDevice = oauth.PathDeviceVerification
)

// DefaultMaxBodyBytes bounds a form post unless Handler.MaxBodyBytes says
// otherwise.
const DefaultMaxBodyBytes = 64 << 10

// amrPassword is RFC 8176's "pwd".
var amrPassword = []string{"pwd"}

// adminConsentRoles are the directory roles whose holders may consent for
// the whole organization (Entra: Global Administrator, Privileged Role
// Administrator, Cloud Application Administrator, Application
// Administrator).
var adminConsentRoles = []string{
	"62e90394-69f5-4237-9190-012177145e10",
	"e8611ab8-c189-46e8-94e1-60213ab1f814",
	"158c047a-c907-4556-b7ef-446551a6b5f7",
	"9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3",
}

// Sessions is what the pages need of internal/session; *session.Service
// implements it.
type Sessions interface {
	Start(ctx context.Context, userID string, amr []string, info session.ClientInfo) (store.Session, error)
	Check(ctx context.Context, sid, clientID string) (store.Session, store.User, error)
	Reauthenticated(ctx context.Context, sid string, amr []string) (store.Session, error)
	Touch(ctx context.Context, sid, clientID string) error
	End(ctx context.Context, sid, reason string, by session.Initiator) error
}

// Handler serves the sign-in, consent, device verification and logout
// pages. Build it as a struct literal; Issuer, Authorizer, EndSessions,
// Sessions, Passwords, Consents, Clients, Roles and Secrets are required;
// Device enables /device.
type Handler struct {
	// Issuer is the server's issuer URL; https makes cookies Secure.
	Issuer string
	// Authorizer validates authorization requests and issues codes.
	Authorizer *oauth.Authorizer
	// Device, when set, serves the device verification page.
	Device *oauth.DeviceFlow
	// EndSessions validates RP-initiated logout requests.
	EndSessions *oauth.EndSessions
	// Sessions starts, checks and ends SSO sessions.
	Sessions Sessions
	// Passwords verifies credentials.
	Passwords oauth.PasswordVerifier
	// Consents reads and records delegated-permission grants.
	Consents oauth.ConsentStore
	// Clients looks applications up (display names).
	Clients oauth.AppReader
	// Roles reads a user's directory roles (who may consent for the
	// organization).
	Roles oauth.RoleReader
	// Secrets keys the cookie MACs.
	Secrets *secret.Hasher
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// NewID names consent grants; nil means random UUIDs.
	NewID func() string
	// Logger receives failures; nil discards.
	Logger *slog.Logger
	// MaxBodyBytes bounds form posts; 0 means DefaultMaxBodyBytes.
	MaxBodyBytes int64
	// DeviceCodeAttempts is how many user codes one address may try per
	// minute on /device (RFC 8628 §5.1 brute-force defence); 0 means 10.
	DeviceCodeAttempts int

	limiter attemptLimiter
}

// Mount registers the pages' routes (Go 1.22 patterns) below the issuer's
// path. It panics when a required field is missing: a wiring mistake.
func (h *Handler) Mount(mux *http.ServeMux) {
	if err := h.check(); err != nil {
		panic(err)
	}
	base := h.base()
	mux.HandleFunc("POST "+base+PathLogin, h.serveLogin)
	mux.HandleFunc("POST "+base+PathConsent, h.serveConsent)
	if h.Device != nil {
		mux.HandleFunc("GET "+base+PathDevice, h.serveDeviceForm)
		mux.HandleFunc("POST "+base+PathDevice, h.serveDevicePost)
	}
}

func (h *Handler) check() error {
	u, err := url.Parse(h.Issuer)
	switch {
	case err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https"):
		return fmt.Errorf("login: Handler.Issuer %q is not an http(s) URL", h.Issuer)
	case h.Authorizer == nil || h.EndSessions == nil || h.Sessions == nil || h.Passwords == nil ||
		h.Consents == nil || h.Clients == nil || h.Roles == nil || h.Secrets == nil:
		return errors.New("login: Handler needs Authorizer, EndSessions, Sessions, Passwords, Consents, Clients, Roles and Secrets")
	}
	return nil
}

// base is the issuer's path without a trailing slash.
func (h *Handler) base() string {
	u, err := url.Parse(h.Issuer)
	if err != nil {
		return ""
	}
	return strings.TrimSuffix(u.Path, "/")
}

func (h *Handler) cookies() cookies {
	return cookies{secure: strings.HasPrefix(h.Issuer, "https://"), macs: h.Secrets}
}

func (h *Handler) now() time.Time {
	if h.Now != nil {
		return h.Now()
	}
	return time.Now()
}

func (h *Handler) newID() string {
	if h.NewID != nil {
		return h.NewID()
	}
	return uuid.NewString()
}

func (h *Handler) logger() *slog.Logger {
	if h.Logger != nil {
		return h.Logger
	}
	return slog.New(slog.DiscardHandler)
}

// serverError logs err and renders a generic failure page.
func (h *Handler) serverError(w http.ResponseWriter, r *http.Request, err error) {
	h.logger().ErrorContext(r.Context(), "login: request failed", "path", r.URL.Path, "err", err)
	message(w, http.StatusInternalServerError, "Something went wrong", "Vigil could not complete this request. Try again in a moment.")
}

// parseForm reads a form post (application/x-www-form-urlencoded) within
// the body limit.
func (h *Handler) parseForm(w http.ResponseWriter, r *http.Request) error {
	limit := h.MaxBodyBytes
	if limit <= 0 {
		limit = DefaultMaxBodyBytes
	}
	r.Body = http.MaxBytesReader(w, r.Body, limit)
	return r.ParseForm()
}

// clientInfo describes the browser for the session record.
func clientInfo(r *http.Request) session.ClientInfo {
	ip, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		ip = r.RemoteAddr
	}
	ua := r.UserAgent()
	if len(ua) > 256 {
		ua = ua[:256]
	}
	return session.ClientInfo{IP: ip, UserAgent: ua}
}

// current is the browser's live session for clientID: the session, its
// user and Check's verdict (nil, session.ErrReauthRequired or
// session.ErrSessionEnded; ErrSessionEnded also when there is no cookie).
func (h *Handler) current(r *http.Request, clientID string) (store.Session, store.User, error) {
	sid := h.cookies().sessionID(r)
	if sid == "" {
		return store.Session{}, store.User{}, session.ErrSessionEnded
	}
	return h.Sessions.Check(r.Context(), sid, clientID)
}

// appName is the client's display name, or its appId.
func appName(app store.Application) string {
	if app.DisplayName != "" {
		return app.DisplayName
	}
	return app.AppID
}

// canConsentForOrg reports whether the user holds a role that may grant
// tenant-wide consent.
func (h *Handler) canConsentForOrg(ctx context.Context, userID string) (bool, error) {
	wids, err := h.Roles.EffectiveRoleIDs(ctx, userID)
	if err != nil {
		return false, err
	}
	return slices.ContainsFunc(wids, func(id string) bool { return slices.Contains(adminConsentRoles, strings.ToLower(id)) }), nil
}

// permissionsOf lists permissions for a consent page.
func permissionsOf(missing []oauth.MissingPermission) []permission {
	out := make([]permission, 0, len(missing))
	for _, m := range missing {
		out = append(out, permission{Name: m.Permission.Name, Description: m.Permission.Description, Admin: m.Permission.AdminConsentRequired})
	}
	return out
}

// signInForm renders the sign-in page for a flow ("authorize" with the
// request's parameters, or "device" with a user code).
func (h *Handler) signInForm(w http.ResponseWriter, r *http.Request, status int, v view, carried []hidden) {
	tok, err := h.cookies().csrfToken(w, r, PathLogin)
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	v.Title = "Sign in"
	v.Action, v.CSRF, v.Hidden = h.base()+PathLogin, tok, carried
	render(w, status, pageSignIn, v)
}

// serveLogin handles the sign-in form: CSRF, the credentials, a session
// (new, or the current one re-authenticated), then the flow continues in
// the same response.
func (h *Handler) serveLogin(w http.ResponseWriter, r *http.Request) {
	if err := h.parseForm(w, r); err != nil {
		message(w, http.StatusBadRequest, "Bad request", "The form could not be read.")
		return
	}
	if err := h.cookies().checkCSRF(r, PathLogin); err != nil {
		h.csrfFailed(w, r)
		return
	}
	switch r.PostForm.Get("flow") {
	case flowAuthorize:
		h.loginAuthorize(w, r)
	case flowDevice:
		h.loginDevice(w, r)
	default:
		message(w, http.StatusBadRequest, "Bad request", "The sign-in form is incomplete. Start again from the application.")
	}
}

// csrfFailed answers a form post whose CSRF token is missing or wrong.
func (h *Handler) csrfFailed(w http.ResponseWriter, r *http.Request) {
	h.logger().InfoContext(r.Context(), "login: CSRF check failed", "path", r.URL.Path)
	message(w, http.StatusForbidden, "Session expired",
		"This form expired or was not sent from Vigil's own page. Go back to the application and start again.")
}

// authenticate checks the posted credentials and returns a live session
// for the user: the current one re-authenticated when it is the same user,
// else a new one (ending a current session of another user). On failure it
// renders the sign-in page again and returns ok false.
func (h *Handler) authenticate(w http.ResponseWriter, r *http.Request, v view, carried []hidden) (store.Session, store.User, bool) {
	username := strings.TrimSpace(r.PostForm.Get("username"))
	user, err := h.Passwords.VerifyPassword(r.Context(), username, r.PostForm.Get("password"), clientInfo(r))
	if err != nil {
		msg := ""
		switch {
		case errors.Is(err, oauth.ErrInvalidCredentials):
			msg = "Your user name or password is incorrect."
		case errors.Is(err, oauth.ErrAccountLocked):
			msg = "Your account is locked for a while after too many failed sign-ins. Try again later."
		case errors.Is(err, oauth.ErrAccountDisabled):
			msg = "Your account is disabled. Contact your administrator."
		default:
			h.serverError(w, r, err)
			return store.Session{}, store.User{}, false
		}
		v.Error, v.Username = msg, username
		h.signInForm(w, r, http.StatusOK, v, carried)
		return store.Session{}, store.User{}, false
	}
	ctx := r.Context()
	if sid := h.cookies().sessionID(r); sid != "" {
		if old, oldUser, err := h.Sessions.Check(ctx, sid, ""); err == nil || errors.Is(err, session.ErrReauthRequired) {
			if oldUser.ID == user.ID {
				sess, err := h.Sessions.Reauthenticated(ctx, old.ID, amrPassword)
				if err == nil {
					return sess, user, true
				}
			} else if err := h.Sessions.End(ctx, old.ID, "another user signed in", session.Initiator{UserID: oldUser.ID}); err != nil {
				h.serverError(w, r, err)
				return store.Session{}, store.User{}, false
			}
		}
	}
	sess, err := h.Sessions.Start(ctx, user.ID, amrPassword, clientInfo(r))
	if err != nil {
		h.serverError(w, r, err)
		return store.Session{}, store.User{}, false
	}
	h.cookies().setSession(w, sess.ID)
	return sess, user, true
}
