package login

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"time"

	"github.com/vigil-idp/vigil/internal/oauth"
	"github.com/vigil-idp/vigil/internal/session"
	"github.com/vigil-idp/vigil/internal/store"
)

// Sign-in flows the form continues.
const (
	flowAuthorize = "authorize"
	flowDevice    = "device"
)

// consentGrace is how recent a sign-in counts as fresh when the consent
// page is submitted, so that prompt=login or max_age does not send the user
// who just signed in back to the form.
const consentGrace = 10 * time.Minute

// ServeAuthorize is the authorization endpoint (RFC 6749 §3.1, OpenID
// Connect Core 1.0 §3.1.2): GET with a query or POST with a form. A
// request that cannot be trusted with a redirect (unknown client,
// unregistered or malformed redirect_uri) gets an error page; other errors
// go to the redirect URI. With a live session that fits the request
// (prompt, max_age, sign-in frequency, a claims challenge's nbf) and
// consent on record, the code is issued at once; otherwise the sign-in or
// consent page is shown, or, with prompt=none, login_required or
// consent_required is returned.
func (h *Handler) ServeAuthorize(w http.ResponseWriter, r *http.Request) {
	params := r.URL.Query()
	if r.Method == http.MethodPost {
		if err := h.parseForm(w, r); err != nil {
			message(w, http.StatusBadRequest, "Bad request", "The request could not be read.")
			return
		}
		params = r.PostForm
	}
	req, err := h.Authorizer.Parse(r.Context(), params)
	if err != nil {
		h.authorizeFailed(w, r, err)
		return
	}
	sess, user, verdict := h.current(r, req.Client.AppID)
	h.proceed(w, r, req, sess, user, verdict, false)
}

// authorizeFailed answers a request Parse refused.
func (h *Handler) authorizeFailed(w http.ResponseWriter, r *http.Request, err error) {
	var ae *oauth.AuthorizeError
	if !errors.As(err, &ae) {
		h.serverError(w, r, err)
		return
	}
	h.logger().InfoContext(r.Context(), "login: authorization request refused", "err", err)
	if ae.Redirectable() {
		h.Authorizer.RedirectError(w, r, ae.Request, ae.Err)
		return
	}
	render(w, http.StatusBadRequest, pageMessage, view{
		Title:      "Sign-in request refused",
		Paragraphs: []string{"The application sent a sign-in request Vigil cannot accept, so you are not sent back to it.", ae.Err.Description},
		Code:       ae.Err.Code,
	})
}

// proceed continues an authorization with the session found (verdict is
// Check's error). fresh says the user authenticated in this very request.
func (h *Handler) proceed(w http.ResponseWriter, r *http.Request, req *oauth.AuthorizeRequest, sess store.Session, user store.User, verdict error, fresh bool) {
	if verdict != nil && !errors.Is(verdict, session.ErrSessionEnded) && !errors.Is(verdict, session.ErrReauthRequired) {
		h.serverError(w, r, verdict)
		return
	}
	if verdict != nil || (!fresh && req.FreshLoginRequired(sess.AuthTime, h.now())) {
		if req.Prompt.None {
			h.Authorizer.RedirectError(w, r, req, &oauth.Error{Code: oauth.CodeLoginRequired, Description: "the user must sign in"})
			return
		}
		name := req.LoginHint
		if name == "" && errors.Is(verdict, session.ErrReauthRequired) {
			name = user.UserPrincipalName // the same user signs in again
		}
		h.signInForm(w, r, http.StatusOK, view{Username: name, AppName: appName(req.Client)}, authorizeCarried(req))
		return
	}
	cc, err := oauth.CheckConsent(r.Context(), h.Consents, req.Client.AppID, user.ID, req.Scopes)
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	if len(cc.Missing) > 0 || req.Prompt.Consent {
		if req.Prompt.None {
			h.Authorizer.RedirectError(w, r, req, &oauth.Error{Code: oauth.CodeConsentRequired, Description: "the user has not consented to the requested permissions"})
			return
		}
		h.consentForm(w, r, req, user, cc, "")
		return
	}
	h.issueCode(w, r, req, sess, cc.Granted)
}

// issueCode records the client in the session and redirects with a code.
func (h *Handler) issueCode(w http.ResponseWriter, r *http.Request, req *oauth.AuthorizeRequest, sess store.Session, granted oauth.Scopes) {
	ctx := r.Context()
	if err := h.Sessions.Touch(ctx, sess.ID, req.Client.AppID); err != nil {
		h.serverError(w, r, err)
		return
	}
	code, err := h.Authorizer.IssueCode(ctx, req, oauth.CodeGrant{
		UserID: sess.UserID, SessionID: sess.ID, AuthTime: sess.AuthTime, Scopes: granted,
	})
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	h.Authorizer.RedirectCode(w, r, req, code)
}

// authorizeCarried are the hidden fields that carry an authorization
// request through the sign-in and consent pages.
func authorizeCarried(req *oauth.AuthorizeRequest) []hidden {
	return []hidden{{"flow", flowAuthorize}, {"request", req.Params.Encode()}}
}

// carriedRequest parses the authorization request a page carried, or
// answers as ServeAuthorize would and returns nil.
func (h *Handler) carriedRequest(w http.ResponseWriter, r *http.Request) *oauth.AuthorizeRequest {
	params, err := url.ParseQuery(r.PostForm.Get("request"))
	if err != nil {
		message(w, http.StatusBadRequest, "Bad request", "The sign-in request could not be read. Start again from the application.")
		return nil
	}
	req, err := h.Authorizer.Parse(r.Context(), params)
	if err != nil {
		h.authorizeFailed(w, r, err)
		return nil
	}
	return req
}

// loginAuthorize is the sign-in form's submission in an authorization.
func (h *Handler) loginAuthorize(w http.ResponseWriter, r *http.Request) {
	req := h.carriedRequest(w, r)
	if req == nil {
		return
	}
	sess, user, ok := h.authenticate(w, r, view{AppName: appName(req.Client)}, authorizeCarried(req))
	if !ok {
		return
	}
	h.proceed(w, r, req, sess, user, nil, true)
}

// consentForm renders the consent page for what cc lacks (or, with
// prompt=consent and nothing lacking, for everything requested).
func (h *Handler) consentForm(w http.ResponseWriter, r *http.Request, req *oauth.AuthorizeRequest, user store.User, cc oauth.ConsentCheck, errMsg string) {
	perms := permissionsOf(cc.Missing)
	if len(perms) == 0 {
		all, err := oauth.CheckConsent(r.Context(), noConsents{}, req.Client.AppID, user.ID, cc.Granted)
		if err != nil {
			h.serverError(w, r, err)
			return
		}
		perms = permissionsOf(all.Missing)
	}
	forOrg, err := h.canConsentForOrg(r.Context(), user.ID)
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	tok, err := h.cookies().csrfToken(w, r, PathConsent)
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	render(w, http.StatusOK, pageConsent, view{
		Title: "Permissions requested", Error: errMsg, Action: h.base() + PathConsent, CSRF: tok,
		Hidden: authorizeCarried(req), Username: user.UserPrincipalName, AppName: appName(req.Client),
		Permissions: perms, AdminRequired: cc.AdminRequired(), CanConsentForOrg: forOrg,
	})
}

// serveConsent handles the consent page's submission.
func (h *Handler) serveConsent(w http.ResponseWriter, r *http.Request) {
	if err := h.parseForm(w, r); err != nil {
		message(w, http.StatusBadRequest, "Bad request", "The form could not be read.")
		return
	}
	if err := h.cookies().checkCSRF(r, PathConsent); err != nil {
		h.csrfFailed(w, r)
		return
	}
	req := h.carriedRequest(w, r)
	if req == nil {
		return
	}
	ctx := r.Context()
	sess, user, verdict := h.current(r, req.Client.AppID)
	if verdict != nil {
		h.proceed(w, r, req, sess, user, verdict, false)
		return
	}
	if r.PostForm.Get("action") != "accept" {
		h.Authorizer.RedirectError(w, r, req, &oauth.Error{Code: oauth.CodeAccessDenied, Description: "the user declined to grant the requested permissions"})
		return
	}
	cc, err := oauth.CheckConsent(ctx, h.Consents, req.Client.AppID, user.ID, req.Scopes)
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	forOrg := r.PostForm.Get("for_org") == "1"
	if forOrg || cc.AdminRequired() {
		ok, err := h.canConsentForOrg(ctx, user.ID)
		switch {
		case err != nil:
			h.serverError(w, r, err)
			return
		case !ok:
			h.consentForm(w, r, req, user, cc, "Only an administrator can grant these permissions.")
			return
		case cc.AdminRequired() && !forOrg:
			h.consentForm(w, r, req, user, cc, "These permissions need consent on behalf of your organization.")
			return
		}
	}
	grantee := user.ID
	if forOrg {
		grantee = "" // tenant-wide (AllPrincipals)
	}
	if err := oauth.GrantConsent(ctx, h.Consents, req.Client.AppID, grantee, cc, h.newID, h.now()); err != nil {
		h.serverError(w, r, err)
		return
	}
	if cc, err = oauth.CheckConsent(ctx, h.Consents, req.Client.AppID, user.ID, req.Scopes); err != nil {
		h.serverError(w, r, err)
		return
	}
	fresh := h.now().Sub(sess.AuthTime) < consentGrace
	if len(cc.Missing) > 0 || (!fresh && req.FreshLoginRequired(sess.AuthTime, h.now())) {
		h.proceed(w, r, req, sess, user, nil, fresh)
		return
	}
	h.issueCode(w, r, req, sess, cc.Granted)
}

// noConsents is a ConsentStore with no grants: checking against it lists
// every permission a request asks for.
type noConsents struct{}

func (noConsents) ListConsents(_ context.Context, _, _ string) ([]store.Consent, error) {
	return nil, nil
}

func (noConsents) PutConsent(_ context.Context, c store.Consent) error {
	return errors.New("login: noConsents is read-only")
}
