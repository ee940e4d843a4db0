package vigilapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/vigil-idp/vigil/internal/authz"
	"github.com/vigil-idp/vigil/internal/revocation"
	"github.com/vigil-idp/vigil/internal/store"
)

// Sign-in sessions (Vigil API, design README "Vigil API"):
//
//	GET    /users/{id|upn}/sessions   a user's SSO sessions, newest first
//	DELETE /sessions/{sid}            end one session
//	GET    /me/sessions               the signed-in user's sessions
//	DELETE /me/sessions/{sid}         end one of them
//
// A list is {"value": [session, ...]}, every session of the user (no
// paging: a user has few). Only live sessions are listed unless
// ?includeRevoked=true, which adds the ended ones and the members revoked
// and revokedDateTime to every session. A session is
//
//	{"id": sid, "sid": sid, "userId", "createdDateTime",
//	 "lastActiveDateTime", "authTime" (the last interactive sign-in),
//	 "authenticationMethods": [amr values], "apps": [{"appId",
//	 "displayName": string|null}] (the applications that got tokens in it),
//	 "ipAddress", "userAgent", "deviceId" (string|null each)}
//
// id and sid are the same value: id for Graph-style tools (the CLI's ids
// output), sid as the tokens' claim names it. A live session is one not
// ended; one past the idle timeout is still listed until it is next used
// (session.Service ends it then).
//
// Ending a session (revocation.Service.RevokeSession) revokes it and its
// refresh tokens only, in one transaction with an audit record and a CAEP
// session-revoked event whose subject names the session; the user's other
// sessions and signInSessionsValidFromDateTime are untouched. It is done
// when the answer comes: 204 No Content, with Location naming the
// revocation resource that records it (its receipts tell when every SSF
// receiver acknowledged). An unknown session, and one already ended, is a
// 404.
//
// Permissions: an application needs Vigil.Sessions.ReadWrite.All. A
// signed-in administrator needs that scope and a directory role that may
// revoke the target user's sessions in Entra's matrix (authz.CanActOnUser,
// ActionRevokeSessions), else 403. /me needs only a delegated token for
// the Vigil API with any of its scopes: a user may always see and end
// their own sessions; another user's sid there is a 404, exactly as an
// unknown one. /me with an app-only token is Graph's 400.

// Sessions reads SSO sessions; store.Store satisfies it.
type Sessions interface {
	GetSession(ctx context.Context, id string) (store.Session, error)
	ListSessionsOfUser(ctx context.Context, userID string, includeRevoked bool) ([]store.Session, error)
}

var (
	sessionsAdmin = permission{names: []string{authz.PermSessionsReadWriteAll}, perTarget: true}
	sessionsSelf  = permission{signedIn: true}
)

func (a *API) sessionRoutes() []route {
	return []route{
		{method: http.MethodGet, pattern: "/users/{id}/sessions", perm: sessionsAdmin, h: a.listUserSessions},
		{method: http.MethodDelete, pattern: "/sessions/{sid}", perm: sessionsAdmin, h: a.deleteSession},
		{method: http.MethodGet, pattern: "/me/sessions", perm: sessionsSelf, h: a.listMySessions},
		{method: http.MethodDelete, pattern: "/me/sessions/{sid}", perm: sessionsSelf, h: a.deleteMySession},
	}
}

// sessionJSON is one session.
type sessionJSON struct {
	ID                    string     `json:"id"`
	SID                   string     `json:"sid"`
	UserID                string     `json:"userId"`
	CreatedDateTime       time.Time  `json:"createdDateTime"`
	LastActiveDateTime    time.Time  `json:"lastActiveDateTime"`
	AuthTime              time.Time  `json:"authTime"`
	AuthenticationMethods []string   `json:"authenticationMethods"`
	Apps                  []appJSON  `json:"apps"`
	IPAddress             *string    `json:"ipAddress"`
	UserAgent             *string    `json:"userAgent"`
	DeviceID              *string    `json:"deviceId"`
	Revoked               *bool      `json:"revoked,omitempty"`
	RevokedDateTime       *time.Time `json:"revokedDateTime,omitempty"`
}

// appJSON names an application.
type appJSON struct {
	AppID       string  `json:"appId"`
	DisplayName *string `json:"displayName"`
}

// sessionsQuery lists the query parameters of the session lists.
var sessionsQuery = []string{"includeRevoked"}

// includeRevoked reads ?includeRevoked=true|false.
func includeRevoked(r *http.Request) (bool, error) {
	q := r.URL.Query()
	for name, vs := range q {
		switch {
		case !slices.Contains(sessionsQuery, name):
			return false, badRequest("Unknown query parameter '%s'; this resource takes includeRevoked.", name)
		case len(vs) > 1:
			return false, badRequest("The query parameter '%s' is given more than once.", name)
		}
	}
	switch v := q.Get("includeRevoked"); strings.ToLower(v) {
	case "", "false":
		return false, nil
	case "true":
		return true, nil
	default:
		return false, badRequest("Invalid value '%s' for includeRevoked: give true or false.", v)
	}
}

// writeSessions answers the sessions of userID.
func (a *API) writeSessions(w http.ResponseWriter, r *http.Request, userID string) error {
	withRevoked, err := includeRevoked(r)
	if err != nil {
		return err
	}
	ss, err := a.Sessions.ListSessionsOfUser(r.Context(), userID, withRevoked)
	if err != nil {
		return err
	}
	names := appNames{apps: a.Apps, known: map[string]*string{}}
	out := make([]sessionJSON, 0, len(ss))
	for _, s := range ss {
		j := sessionJSON{
			ID: s.ID, SID: s.ID, UserID: s.UserID,
			CreatedDateTime: s.CreatedAt.UTC(), LastActiveDateTime: s.LastActiveAt.UTC(), AuthTime: s.AuthTime.UTC(),
			AuthenticationMethods: nonNil(s.AMR), Apps: make([]appJSON, 0, len(s.ClientIDs)),
			IPAddress: stringOrNil(s.IP), UserAgent: stringOrNil(s.UserAgent), DeviceID: stringOrNil(s.DeviceID),
		}
		for _, id := range s.ClientIDs {
			name, err := names.of(r.Context(), id)
			if err != nil {
				return err
			}
			j.Apps = append(j.Apps, appJSON{AppID: id, DisplayName: name})
		}
		if withRevoked {
			revoked := s.RevokedAt != nil
			j.Revoked, j.RevokedDateTime = &revoked, utcOrNil(s.RevokedAt)
		}
		out = append(out, j)
	}
	writeJSON(w, http.StatusOK, map[string]any{"value": out})
	return nil
}

// appNames looks application display names up once per appId.
type appNames struct {
	apps  Applications
	known map[string]*string
}

// of returns the display name of appID, nil when no application has it.
func (n appNames) of(ctx context.Context, appID string) (*string, error) {
	if name, ok := n.known[appID]; ok {
		return name, nil
	}
	app, err := n.apps.GetApplicationByAppID(ctx, appID)
	var name *string
	switch {
	case err == nil:
		name = &app.DisplayName
	case !errors.Is(err, store.ErrNotFound):
		return nil, err
	}
	n.known[appID] = name
	return name, nil
}

func stringOrNil(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// listUserSessions is GET /users/{id|upn}/sessions.
func (a *API) listUserSessions(w http.ResponseWriter, r *http.Request, p *authz.Principal) error {
	u, err := a.userByKey(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	if p.Kind == authz.Delegated {
		if err := a.mayActOn(r.Context(), p, u.ID); err != nil {
			return err
		}
	}
	return a.writeSessions(w, r, u.ID)
}

// listMySessions is GET /me/sessions.
func (a *API) listMySessions(w http.ResponseWriter, r *http.Request, p *authz.Principal) error {
	return a.writeSessions(w, r, p.ObjectID)
}

// sessionNotFound is the 404 of an unknown session (and, under /me, of
// another user's).
func sessionNotFound(sid string, cause error) *Error {
	return apiError(http.StatusNotFound, codeNotFound, fmt.Sprintf("Session '%s' does not exist.", sid), cause)
}

// session reads session sid.
func (a *API) session(ctx context.Context, sid string) (store.Session, error) {
	s, err := a.Sessions.GetSession(ctx, sid)
	if errors.Is(err, store.ErrNotFound) {
		return s, sessionNotFound(sid, err)
	}
	return s, err
}

// deleteSession is DELETE /sessions/{sid}.
func (a *API) deleteSession(w http.ResponseWriter, r *http.Request, p *authz.Principal) error {
	s, err := a.session(r.Context(), r.PathValue("sid"))
	if err != nil {
		return err
	}
	if p.Kind == authz.Delegated {
		if err := a.mayActOn(r.Context(), p, s.UserID); err != nil {
			return err
		}
	}
	return a.endSession(w, r, p, s)
}

// deleteMySession is DELETE /me/sessions/{sid}.
func (a *API) deleteMySession(w http.ResponseWriter, r *http.Request, p *authz.Principal) error {
	sid := r.PathValue("sid")
	s, err := a.session(r.Context(), sid)
	if err != nil {
		return err
	}
	if !strings.EqualFold(s.UserID, p.ObjectID) {
		return sessionNotFound(sid, fmt.Errorf("session %s belongs to %s, not to the caller %s", sid, s.UserID, p.ObjectID))
	}
	return a.endSession(w, r, p, s)
}

// endSession ends s through the engine, which authorizes the caller again
// and records the revocation; 204 with its Location.
func (a *API) endSession(w http.ResponseWriter, r *http.Request, p *authz.Principal, s store.Session) error {
	ended := apiError(http.StatusNotFound, codeNotFound, fmt.Sprintf("Session '%s' has already ended.", s.ID), nil)
	if s.RevokedAt != nil {
		return ended
	}
	in, err := a.initiator(r, p)
	if err != nil {
		return err
	}
	rev, err := a.Revocations.RevokeSession(r.Context(), in, s.ID, revocation.Options{})
	if err != nil {
		return err
	}
	if rev.Revoked == 0 {
		// Another request ended it first; the engine recorded a
		// revocation that revoked nothing.
		return ended
	}
	w.Header().Set("Location", a.revocationURL(rev.ID))
	w.WriteHeader(http.StatusNoContent)
	return nil
}
