package login

import (
	"errors"
	"net/http"
	"net/url"

	"github.com/vigil-idp/vigil/internal/oauth"
	"github.com/vigil-idp/vigil/internal/session"
)

// ReasonLogout is the session end reason of an RP-initiated or confirmed
// logout.
const ReasonLogout = "logout"

// ServeEndSession is the end_session_endpoint (OpenID Connect RP-Initiated
// Logout 1.0 §2, GET or POST). The session cookie decides whose session
// ends, never the id_token_hint: the session ends at once only when a
// valid hint names the cookie's user (and, when it has a sid, the cookie's
// session); otherwise the user confirms on a page (CSRF protected). Then
// the user agent goes to the post_logout_redirect_uri, which must be
// registered exactly for the client, with state (§3), or sees Vigil's own
// signed-out page.
func (h *Handler) ServeEndSession(w http.ResponseWriter, r *http.Request) {
	params := r.URL.Query()
	confirming := false
	if r.Method == http.MethodPost {
		if err := h.parseForm(w, r); err != nil {
			message(w, http.StatusBadRequest, "Bad request", "The request could not be read.")
			return
		}
		params = r.PostForm
		if action := r.PostForm.Get("action"); action != "" {
			if err := h.cookies().checkCSRF(r, oauth.PathEndSession); err != nil {
				h.csrfFailed(w, r)
				return
			}
			if action != "confirm" {
				message(w, http.StatusOK, "You're still signed in", "You chose to stay signed in. You can close this window.")
				return
			}
			carried, err := url.ParseQuery(r.PostForm.Get("request"))
			if err != nil {
				message(w, http.StatusBadRequest, "Bad request", "The sign-out request could not be read.")
				return
			}
			params, confirming = carried, true
		}
	}
	ctx := r.Context()
	req, err := h.EndSessions.Parse(ctx, params)
	if err != nil {
		var oe *oauth.Error
		if !errors.As(err, &oe) {
			h.serverError(w, r, err)
			return
		}
		render(w, http.StatusBadRequest, pageMessage, view{Title: "Sign-out request refused",
			Paragraphs: []string{"The application sent a sign-out request Vigil cannot accept.", oe.Description}, Code: oe.Code})
		return
	}
	sid := h.cookies().sessionID(r)
	if sid == "" {
		h.signedOut(w, r, req)
		return
	}
	sess, user, verdict := h.Sessions.Check(ctx, sid, "")
	switch {
	case errors.Is(verdict, session.ErrSessionEnded):
		h.cookies().clearSession(w)
		h.signedOut(w, r, req)
		return
	case verdict != nil && !errors.Is(verdict, session.ErrReauthRequired):
		h.serverError(w, r, verdict)
		return
	}
	trusted := req.Hint != nil && req.Hint.Subject == user.ID && (req.Hint.SessionID == "" || req.Hint.SessionID == sess.ID)
	if !trusted && !confirming {
		tok, err := h.cookies().csrfToken(w, r, oauth.PathEndSession)
		if err != nil {
			h.serverError(w, r, err)
			return
		}
		v := view{Title: "Sign out?", Action: h.base() + oauth.PathEndSession, CSRF: tok,
			Hidden: []hidden{{"request", params.Encode()}}, Username: user.UserPrincipalName}
		if req.Client != nil {
			v.AppName = appName(*req.Client)
		}
		render(w, http.StatusOK, pageLogout, v)
		return
	}
	by := session.Initiator{UserID: user.ID, UserPrincipalName: user.UserPrincipalName, IPAddress: clientInfo(r).IP}
	if err := h.Sessions.End(ctx, sess.ID, ReasonLogout, by); err != nil {
		h.serverError(w, r, err)
		return
	}
	h.cookies().clearSession(w)
	h.signedOut(w, r, req)
}

// signedOut sends the user agent to the post-logout redirect URI, or shows
// the signed-out page.
func (h *Handler) signedOut(w http.ResponseWriter, r *http.Request, req *oauth.EndSessionRequest) {
	if u := req.RedirectURL(); u != "" {
		w.Header().Set("Cache-Control", "no-store")
		status := http.StatusFound
		if r.Method == http.MethodPost {
			status = http.StatusSeeOther
		}
		http.Redirect(w, r, u, status)
		return
	}
	message(w, http.StatusOK, "You're signed out", "You have signed out. You can close this window.")
}
