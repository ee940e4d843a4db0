package login

import (
	"errors"
	"net/http"
	"sync"
	"time"

	"github.com/vigil-idp/vigil/internal/oauth"
	"github.com/vigil-idp/vigil/internal/session"
	"github.com/vigil-idp/vigil/internal/store"
)

// defaultDeviceCodeAttempts is Handler.DeviceCodeAttempts' default.
const defaultDeviceCodeAttempts = 10

// serveDeviceForm shows the code entry page (RFC 8628 §3.3), pre-filled
// from verification_uri_complete's user_code (§3.3.1).
func (h *Handler) serveDeviceForm(w http.ResponseWriter, r *http.Request) {
	code := r.URL.Query().Get("user_code")
	if c, ok := oauth.NormalizeUserCode(code); ok {
		code = oauth.FormatUserCode(c)
	} else {
		code = ""
	}
	h.deviceForm(w, r, http.StatusOK, code, "")
}

func (h *Handler) deviceForm(w http.ResponseWriter, r *http.Request, status int, code, errMsg string) {
	tok, err := h.cookies().csrfToken(w, r, PathDevice)
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	render(w, status, pageDevice, view{Title: "Sign in on another device", Error: errMsg, Action: h.base() + PathDevice, CSRF: tok, UserCode: code})
}

// serveDevicePost handles the code entry and the approval.
func (h *Handler) serveDevicePost(w http.ResponseWriter, r *http.Request) {
	if err := h.parseForm(w, r); err != nil {
		message(w, http.StatusBadRequest, "Bad request", "The form could not be read.")
		return
	}
	if err := h.cookies().checkCSRF(r, PathDevice); err != nil {
		h.csrfFailed(w, r)
		return
	}
	typed := r.PostForm.Get("user_code")
	action := r.PostForm.Get("action")
	if action == "code" {
		limit := h.DeviceCodeAttempts
		if limit <= 0 {
			limit = defaultDeviceCodeAttempts
		}
		if !h.limiter.allow(clientInfo(r).IP, limit, h.now()) {
			h.deviceForm(w, r, http.StatusTooManyRequests, "", "Too many codes tried. Wait a minute and try again.")
			return
		}
	}
	dr, app, ok := h.deviceRequest(w, r, typed)
	if !ok {
		return
	}
	sess, user, verdict := h.current(r, dr.ClientID)
	switch {
	case errors.Is(verdict, session.ErrSessionEnded), errors.Is(verdict, session.ErrReauthRequired):
		h.signInForm(w, r, http.StatusOK, view{AppName: appName(app)}, deviceCarried(dr))
		return
	case verdict != nil:
		h.serverError(w, r, verdict)
		return
	}
	switch action {
	case "approve":
		h.approveDevice(w, r, dr, app, sess, user)
	case "deny":
		if err := h.Device.Deny(r.Context(), dr.UserCode); err != nil && !errors.Is(err, oauth.ErrUnknownUserCode) {
			h.serverError(w, r, err)
			return
		}
		message(w, http.StatusOK, "Request declined", "You declined the sign-in on the other device. You can close this window.")
	default:
		h.deviceConfirm(w, r, dr, app, user, "")
	}
}

// deviceRequest finds the pending request of a typed code, or renders the
// entry page with an error.
func (h *Handler) deviceRequest(w http.ResponseWriter, r *http.Request, typed string) (oauth.DeviceRequest, store.Application, bool) {
	dr, err := h.Device.Lookup(r.Context(), typed)
	if errors.Is(err, oauth.ErrUnknownUserCode) {
		h.deviceForm(w, r, http.StatusOK, "", "That code is not valid or has expired. Check it and try again, or start again on your device.")
		return oauth.DeviceRequest{}, store.Application{}, false
	}
	if err != nil {
		h.serverError(w, r, err)
		return oauth.DeviceRequest{}, store.Application{}, false
	}
	app, err := h.Clients.GetApplicationByAppID(r.Context(), dr.ClientID)
	if err != nil {
		h.serverError(w, r, err)
		return oauth.DeviceRequest{}, store.Application{}, false
	}
	return dr, app, true
}

// deviceCarried are the hidden fields that carry a device approval through
// the sign-in page.
func deviceCarried(dr oauth.DeviceRequest) []hidden {
	return []hidden{{"flow", flowDevice}, {"user_code", dr.UserCode}}
}

// loginDevice is the sign-in form's submission in a device approval.
func (h *Handler) loginDevice(w http.ResponseWriter, r *http.Request) {
	dr, app, ok := h.deviceRequest(w, r, r.PostForm.Get("user_code"))
	if !ok {
		return
	}
	_, user, ok := h.authenticate(w, r, view{AppName: appName(app)}, deviceCarried(dr))
	if !ok {
		return
	}
	h.deviceConfirm(w, r, dr, app, user, "")
}

// deviceConfirm asks the signed-in user to approve the device, listing
// the permissions still to consent.
func (h *Handler) deviceConfirm(w http.ResponseWriter, r *http.Request, dr oauth.DeviceRequest, app store.Application, user store.User, errMsg string) {
	cc, err := oauth.CheckConsent(r.Context(), h.Consents, dr.ClientID, user.ID, dr.Scopes)
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	tok, err := h.cookies().csrfToken(w, r, PathDevice)
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	render(w, http.StatusOK, pageDeviceConfirm, view{
		Title: "Approve sign-in", Error: errMsg, Action: h.base() + PathDevice, CSRF: tok,
		Hidden: []hidden{{"user_code", dr.UserCode}}, Username: user.UserPrincipalName, AppName: appName(app),
		UserCode: oauth.FormatUserCode(dr.UserCode), Permissions: permissionsOf(cc.Missing), AdminRequired: cc.AdminRequired(),
	})
}

// approveDevice records consent to what is missing (the user's own; an
// administrator's is needed for admin-only permissions) and approves.
func (h *Handler) approveDevice(w http.ResponseWriter, r *http.Request, dr oauth.DeviceRequest, app store.Application, sess store.Session, user store.User) {
	ctx := r.Context()
	cc, err := oauth.CheckConsent(ctx, h.Consents, dr.ClientID, user.ID, dr.Scopes)
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	if cc.AdminRequired() {
		h.deviceConfirm(w, r, dr, app, user, "An administrator must grant these permissions first.")
		return
	}
	if err := oauth.GrantConsent(ctx, h.Consents, dr.ClientID, user.ID, cc, h.newID, h.now()); err != nil {
		h.serverError(w, r, err)
		return
	}
	if cc, err = oauth.CheckConsent(ctx, h.Consents, dr.ClientID, user.ID, dr.Scopes); err != nil {
		h.serverError(w, r, err)
		return
	}
	err = h.Device.Approve(ctx, dr.UserCode, oauth.DeviceApproval{UserID: user.ID, SessionID: sess.ID, AuthTime: sess.AuthTime, Scopes: cc.Granted})
	if errors.Is(err, oauth.ErrUnknownUserCode) {
		h.deviceForm(w, r, http.StatusOK, "", "That code has expired. Start again on your device.")
		return
	}
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	message(w, http.StatusOK, "You're signed in", "You have signed in to "+appName(app)+" on your other device. You can close this window.")
}

// attemptLimiter counts attempts per key in fixed one-minute windows.
type attemptLimiter struct {
	mu      sync.Mutex
	windows map[string]attemptWindow
}

type attemptWindow struct {
	start time.Time
	n     int
}

// allow reports whether key may make one more attempt at now, counting it.
func (l *attemptLimiter) allow(key string, limit int, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.windows == nil || len(l.windows) > 10_000 {
		fresh := map[string]attemptWindow{}
		for k, w := range l.windows {
			if now.Sub(w.start) < time.Minute {
				fresh[k] = w
			}
		}
		l.windows = fresh
	}
	w := l.windows[key]
	if now.Sub(w.start) >= time.Minute {
		w = attemptWindow{start: now}
	}
	w.n++
	l.windows[key] = w
	return w.n <= limit
}
