package vigilapi

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/google/uuid"

	"github.com/vigil-idp/vigil/internal/authz"
	"github.com/vigil-idp/vigil/internal/revocation"
	"github.com/vigil-idp/vigil/internal/session"
	"github.com/vigil-idp/vigil/internal/store"
)

// Session policies (Vigil API):
//
//	GET    /policies                          every stored policy, the global one first
//	GET    /policies/global                   the tenant-wide policy
//	PUT    /policies/global                   replace it (body: the settings object)
//	DELETE /policies/global                   back to the defaults
//	GET    /policies/applications/{appId}     an application's overlay
//	PUT    /policies/applications/{appId}     replace it
//	DELETE /policies/applications/{appId}     remove it (the app inherits)
//
// A policy resource is
//
//	{"id": "global" | "<appId>", "appId": null | "<appId>",
//	 "settings": {…the members set for this scope…},
//	 "effective": {…every member, as in force for this scope…},
//	 "lastModifiedDateTime": "…" | null}
//
// and the body of PUT is a settings object (session.Settings' JSON form):
// members accessTokenLifetime, caeAccessTokenLifetime,
// refreshTokenMaxInactiveTime, spaRefreshTokenMaxInactiveTime,
// refreshTokenMaxAge ("untilRevoked" or a duration), signInFrequency
// ("everyTime", "off" or a duration in whole hours) and idleSessionTimeout
// ("off" or a duration in whole minutes), each an ISO 8601 duration such as
// "PT1H" or "P90D". Absent or null members are inherited (an application
// from the global policy, the global policy from the defaults). Every
// problem of a body is reported at once in a 400.

// policyAdminRoles may change policies with the delegated scope: Global,
// Security and Conditional Access Administrators (Entra's roles for
// session controls).
var policyAdminRoles = []string{
	"62e90394-69f5-4237-9190-012177145e10", // Global Administrator
	"194ae4cb-b126-40b2-bd5b-6091b380977d", // Security Administrator
	"b1be1c3e-b65d-4f19-8427-f6fa0d97feb9", // Conditional Access Administrator
}

var policiesPermission = permission{names: []string{authz.PermPoliciesReadWriteAll}, adminRoles: policyAdminRoles}

func (a *API) policyRoutes() []route {
	p := policiesPermission
	return []route{
		{method: http.MethodGet, pattern: "/policies", perm: p, h: a.listPolicies},
		{method: http.MethodGet, pattern: "/policies/global", perm: p, h: a.getPolicy},
		{method: http.MethodPut, pattern: "/policies/global", perm: p, h: a.putPolicy},
		{method: http.MethodDelete, pattern: "/policies/global", perm: p, h: a.deletePolicy},
		{method: http.MethodGet, pattern: "/policies/applications/{appId}", perm: p, h: a.getPolicy},
		{method: http.MethodPut, pattern: "/policies/applications/{appId}", perm: p, h: a.putPolicy},
		{method: http.MethodDelete, pattern: "/policies/applications/{appId}", perm: p, h: a.deletePolicy},
	}
}

// policyResource is the JSON of one policy.
type policyResource struct {
	ID                   string           `json:"id"`
	AppID                *string          `json:"appId"`
	Settings             session.Settings `json:"settings"`
	Effective            session.Settings `json:"effective"`
	LastModifiedDateTime *time.Time       `json:"lastModifiedDateTime"`
}

// effectiveSettings renders a whole effective policy as settings.
func effectiveSettings(p session.Policy) session.Settings {
	d := func(v time.Duration) *time.Duration { return &v }
	return session.Settings{
		AccessTokenLifetime:       d(p.AccessTokenLifetime),
		CAEAccessTokenLifetime:    d(p.CAEAccessTokenLifetime),
		RefreshTokenInactivity:    d(p.RefreshTokenInactivity),
		SPARefreshTokenInactivity: d(p.SPARefreshTokenInactivity),
		RefreshTokenMaxAge:        d(p.RefreshTokenMaxAge),
		SignInFrequency:           &session.Frequency{EveryTime: p.SignInEveryTime, Every: p.SignInFrequency},
		IdleTimeout:               d(p.IdleTimeout),
	}
}

// resource builds the JSON of a stored (sp non-nil) or absent global
// policy of scope.
func (a *API) resource(r *http.Request, scope string, sp *session.ScopedPolicy) (policyResource, error) {
	clientID := ""
	if scope != session.PolicyGlobal {
		clientID = scope
	}
	eff, err := a.Policies.EffectivePolicy(r.Context(), clientID)
	if err != nil {
		return policyResource{}, err
	}
	res := policyResource{ID: scope, Effective: effectiveSettings(eff)}
	if clientID != "" {
		res.AppID = &clientID
	}
	if sp != nil {
		res.Settings = sp.Settings
		t := sp.UpdatedAt.UTC()
		res.LastModifiedDateTime = &t
	}
	return res, nil
}

// scopeOf reads the policy scope a request addresses: "global", or an
// application's appId (a lower-case GUID), which must name an existing
// application when mustExist (PUT; a policy left behind by a deleted
// application can still be read and deleted).
func (a *API) scopeOf(r *http.Request, mustExist bool) (string, error) {
	appID := r.PathValue("appId")
	if appID == "" {
		return session.PolicyGlobal, nil
	}
	if u, err := uuid.Parse(appID); err != nil || u.String() != appID {
		return "", badRequest("'%s' is not an application id: use the application's appId, a lower-case GUID.", appID)
	}
	if !mustExist {
		return appID, nil
	}
	if _, err := a.Apps.GetApplicationByAppID(r.Context(), appID); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return "", apiError(http.StatusNotFound, codeNotFound, fmt.Sprintf("No application has the appId '%s'.", appID), err)
		}
		return "", err
	}
	return appID, nil
}

func (a *API) listPolicies(w http.ResponseWriter, r *http.Request, _ *authz.Principal) error {
	ps, err := a.Policies.ListPolicies(r.Context())
	if err != nil {
		return err
	}
	var global *session.ScopedPolicy
	var apps []session.ScopedPolicy
	for i := range ps {
		if ps[i].Scope == session.PolicyGlobal {
			global = &ps[i]
		} else {
			apps = append(apps, ps[i])
		}
	}
	out := make([]policyResource, 0, len(ps)+1)
	res, err := a.resource(r, session.PolicyGlobal, global)
	if err != nil {
		return err
	}
	out = append(out, res)
	for i := range apps {
		res, err := a.resource(r, apps[i].Scope, &apps[i])
		if err != nil {
			return err
		}
		out = append(out, res)
	}
	writeJSON(w, http.StatusOK, map[string]any{"value": out})
	return nil
}

func (a *API) getPolicy(w http.ResponseWriter, r *http.Request, _ *authz.Principal) error {
	scope, err := a.scopeOf(r, false)
	if err != nil {
		return err
	}
	sp, err := a.Policies.GetPolicy(r.Context(), scope)
	var stored *session.ScopedPolicy
	switch {
	case err == nil:
		stored = &sp
	case errors.Is(err, store.ErrNotFound) && scope == session.PolicyGlobal:
		// The global policy always exists: absent, it is the defaults.
	case errors.Is(err, store.ErrNotFound):
		return apiError(http.StatusNotFound, codeNotFound,
			fmt.Sprintf("Application '%s' has no policy of its own; it follows the global policy.", scope), err)
	default:
		return err
	}
	res, err := a.resource(r, scope, stored)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, res)
	return nil
}

func (a *API) putPolicy(w http.ResponseWriter, r *http.Request, p *authz.Principal) error {
	scope, err := a.scopeOf(r, true)
	if err != nil {
		return err
	}
	var set session.Settings
	if err := decodeJSON(r, &set); err != nil {
		return err
	}
	in, err := a.initiator(r, p)
	if err != nil {
		return err
	}
	sp, err := a.Policies.PutPolicy(revocation.WithInitiator(r.Context(), in), scope, set)
	if err != nil {
		return err
	}
	res, err := a.resource(r, scope, &sp)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, res)
	return nil
}

func (a *API) deletePolicy(w http.ResponseWriter, r *http.Request, p *authz.Principal) error {
	scope, err := a.scopeOf(r, false)
	if err != nil {
		return err
	}
	in, err := a.initiator(r, p)
	if err != nil {
		return err
	}
	if err := a.Policies.DeletePolicy(revocation.WithInitiator(r.Context(), in), scope); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return apiError(http.StatusNotFound, codeNotFound, fmt.Sprintf("No policy is stored for '%s'.", scope), err)
		}
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
