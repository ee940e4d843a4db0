package graph

import (
	"context"
	"net/http"

	"github.com/google/uuid"

	"github.com/vigil-idp/vigil/internal/authz"
	"github.com/vigil-idp/vigil/internal/directory"
	"github.com/vigil-idp/vigil/internal/store"
)

// ServicePrincipalDirectory is what the /servicePrincipals endpoints need
// from the directory.
type ServicePrincipalDirectory interface {
	CreateServicePrincipal(ctx context.Context, appID string) (store.ServicePrincipal, error)
	GetServicePrincipal(ctx context.Context, idOrAppID string) (store.ServicePrincipal, error)
	ListServicePrincipals(ctx context.Context, q store.Query) (store.Page[store.ServicePrincipal], error)
	DeleteServicePrincipal(ctx context.Context, idOrAppID string) error
	GrantAppRole(ctx context.Context, principalID, resourceID, appRoleID string) (store.AppRoleAssignment, error)
	GrantAppPermission(ctx context.Context, principalID, resourceAppID, permissionName string) (store.AppRoleAssignment, error)
	ListAppRoleAssignments(ctx context.Context, principalID string) ([]store.AppRoleAssignment, error)
	RevokeAppRoleAssignment(ctx context.Context, principalID, id string) error
	ListAppRoleAssignedTo(ctx context.Context, resourceID string) ([]store.AppRoleAssignment, error)
	RevokeAppRoleAssignedTo(ctx context.Context, resourceID, id string) error
}

// servicePrincipalDefaults are the properties Vigil returns for a service
// principal without $select, in Graph's order
// (https://learn.microsoft.com/en-us/graph/api/serviceprincipal-get).
var servicePrincipalDefaults = []string{
	"id", "accountEnabled", "appId", "appRoles", "displayName", "oauth2PermissionScopes",
	"servicePrincipalNames", "servicePrincipalType",
}

// servicePrincipalObject renders a service principal. A built-in resource
// (Microsoft Graph, the Vigil API) shows its permission catalogue from
// internal/authz: application permissions as appRoles, delegated ones as
// oauth2PermissionScopes, with Graph's ids
// (https://learn.microsoft.com/en-us/graph/api/resources/approle,
// resources/permissionscope). Other service principals expose none.
func servicePrincipalObject(sp store.ServicePrincipal) object {
	roles, scopes := []object{}, []object{}
	names := []string{sp.AppID}
	if res, ok := authz.ResourceByIdentifier(sp.AppID); ok {
		names = append(names, res.Audience)
		for _, p := range res.Permissions() {
			if p.AppRoleID != "" {
				roles = append(roles, object{
					{"allowedMemberTypes", []string{"Application"}},
					{"description", p.Description},
					{"displayName", p.Description},
					{"id", p.AppRoleID},
					{"isEnabled", true},
					{"origin", "Application"},
					{"value", p.Name},
				})
			}
			if p.ScopeID != "" {
				consent := "User"
				if p.AdminConsentRequired {
					consent = "Admin"
				}
				scopes = append(scopes, object{
					{"adminConsentDescription", p.Description},
					{"adminConsentDisplayName", p.Description},
					{"id", p.ScopeID},
					{"isEnabled", true},
					{"type", consent},
					{"userConsentDescription", p.Description},
					{"userConsentDisplayName", p.Description},
					{"value", p.Name},
				})
			}
		}
	}
	return object{
		{"id", sp.ID},
		{"accountEnabled", true},
		{"appId", sp.AppID},
		{"appRoles", roles},
		{"displayName", sp.DisplayName},
		{"oauth2PermissionScopes", scopes},
		{"servicePrincipalNames", names},
		{"servicePrincipalType", "Application"},
	}
}

// servicePrincipalInput is the body of POST /servicePrincipals.
type servicePrincipalInput struct{ appID directory.Optional[string] }

func servicePrincipalBody(in *servicePrincipalInput) bodyType {
	return bodyType{
		name:        typeServicePrincipal,
		fields:      map[string]field{"appId": optString(&in.appID)},
		readOnly:    []string{"id", "appRoles", "oauth2PermissionScopes", "servicePrincipalNames", "servicePrincipalType"},
		unsupported: []string{"accountEnabled", "displayName", "tags", "appRoleAssignmentRequired"},
	}
}

// servicePrincipals is the /servicePrincipals collection
// (https://learn.microsoft.com/en-us/graph/api/resources/serviceprincipal:
// list, get by id or, through the key rewrite, appId, create from an
// appId, delete, $count). Vigil's service principals have nothing to PATCH.
func (a *API) servicePrincipals() resource[servicePrincipalInput, store.ServicePrincipal] {
	d := a.Directory
	return resource[servicePrincipalInput, store.ServicePrincipal]{
		entitySet: entitySet[store.ServicePrincipal]{
			name: "servicePrincipals", schema: servicePrincipalsSchema,
			render: defaultsOf(servicePrincipalObject, servicePrincipalDefaults),
			list:   d.ListServicePrincipals,
		},
		body: servicePrincipalBody,
		id:   func(sp store.ServicePrincipal) string { return sp.ID },
		create: func(ctx context.Context, in servicePrincipalInput) (store.ServicePrincipal, error) {
			if err := required(in.appID, "appId"); err != nil {
				return store.ServicePrincipal{}, err
			}
			return d.CreateServicePrincipal(ctx, in.appID.Value)
		},
		get:    d.GetServicePrincipal,
		remove: d.DeleteServicePrincipal,
	}
}

// appRoleAssignmentDefaults are Graph's appRoleAssignment properties
// (https://learn.microsoft.com/en-us/graph/api/resources/approleassignment).
var appRoleAssignmentDefaults = []string{
	"id", "deletedDateTime", "appRoleId", "createdDateTime", "principalDisplayName",
	"principalId", "principalType", "resourceDisplayName", "resourceId",
}

// appRoleAssignmentObject renders a grant held by principal on resource.
func appRoleAssignmentObject(g store.AppRoleAssignment, principal, resource store.ServicePrincipal) object {
	return object{
		{"id", g.ID},
		{"deletedDateTime", nil},
		{"appRoleId", g.AppRoleID},
		{"createdDateTime", dateTime(g.CreatedDateTime)},
		{"principalDisplayName", principal.DisplayName},
		{"principalId", g.PrincipalID},
		{"principalType", "ServicePrincipal"},
		{"resourceDisplayName", resource.DisplayName},
		{"resourceId", g.ResourceID},
	}
}

// Navigation properties of a service principal holding grants: the app
// roles it was granted (appRoleAssignments) and the grants of its own app
// roles to others (appRoleAssignedTo, on a resource API).
const (
	navAssignments = "appRoleAssignments"
	navAssignedTo  = "appRoleAssignedTo"
)

// appRoleAssignmentsContext is Graph's @odata.context of a service
// principal's appRoleAssignments or appRoleAssignedTo (nav).
func (a *API) appRoleAssignmentsContext(spID, nav string) string {
	return a.contextURL("servicePrincipals('"+spID+"')/"+nav, nil)
}

// listAppRoleAssignments is GET /servicePrincipals/{id}/appRoleAssignments:
// the app roles granted to the service principal, unpaged
// (https://learn.microsoft.com/en-us/graph/api/serviceprincipal-list-approleassignments).
func (a *API) listAppRoleAssignments(w http.ResponseWriter, r *http.Request) error {
	return a.listGrants(w, r, navAssignments)
}

// listAppRoleAssignedTo is GET /servicePrincipals/{id}/appRoleAssignedTo:
// the grants of the resource's app roles, unpaged
// (https://learn.microsoft.com/en-us/graph/api/serviceprincipal-list-approleassignedto).
func (a *API) listAppRoleAssignedTo(w http.ResponseWriter, r *http.Request) error {
	return a.listGrants(w, r, navAssignedTo)
}

// listGrants answers either navigation property of the addressed service
// principal, naming each grant's other end.
func (a *API) listGrants(w http.ResponseWriter, r *http.Request, nav string) error {
	ctx := r.Context()
	sp, err := a.addressedServicePrincipal(r)
	if err != nil {
		return err
	}
	list := a.Directory.ListAppRoleAssignments
	if nav == navAssignedTo {
		list = a.Directory.ListAppRoleAssignedTo
	}
	grants, err := list(ctx, sp.ID)
	if err != nil {
		return err
	}
	others := map[string]store.ServicePrincipal{}
	items := make([]object, 0, len(grants))
	for _, g := range grants {
		otherID := g.ResourceID
		if nav == navAssignedTo {
			otherID = g.PrincipalID
		}
		other, ok := others[otherID]
		if !ok {
			if other, err = a.Directory.GetServicePrincipal(ctx, otherID); err != nil {
				return err
			}
			others[otherID] = other
		}
		if nav == navAssignedTo {
			items = append(items, appRoleAssignmentObject(g, other, sp))
		} else {
			items = append(items, appRoleAssignmentObject(g, sp, other))
		}
	}
	a.writeJSON(w, http.StatusOK, collection{Context: a.appRoleAssignmentsContext(sp.ID, nav), Value: items})
	return nil
}

// addressedServicePrincipal refuses query options and returns the service
// principal {id} of the request path (by id or appId).
func (a *API) addressedServicePrincipal(r *http.Request) (store.ServicePrincipal, error) {
	if err := noOptions(r); err != nil {
		return store.ServicePrincipal{}, err
	}
	return a.Directory.GetServicePrincipal(r.Context(), r.PathValue("id"))
}

// appRoleAssignmentInput is the body of POST appRoleAssignments.
type appRoleAssignmentInput struct {
	principalID, resourceID, appRoleID directory.Optional[string]
}

// grantAppRole is POST /servicePrincipals/{id}/appRoleAssignments with
// {"principalId", "resourceId", "appRoleId"}: it grants an application
// permission of the resource to the service principal {id}, which must be
// principalId (https://learn.microsoft.com/en-us/graph/api/serviceprincipal-post-approleassignments).
// appRoleId is the permission's GUID, as in Graph; as a Vigil extension it
// may also be the permission's name (e.g. "User.Read.All").
func (a *API) grantAppRole(w http.ResponseWriter, r *http.Request) error {
	return a.grant(w, r, navAssignments)
}

// grantAppRoleAssignedTo is POST /servicePrincipals/{id}/appRoleAssignedTo
// with the same body: {id} is the resource, which must be resourceId
// (https://learn.microsoft.com/en-us/graph/api/serviceprincipal-post-approleassignedto).
func (a *API) grantAppRoleAssignedTo(w http.ResponseWriter, r *http.Request) error {
	return a.grant(w, r, navAssignedTo)
}

// grant creates a grant through either navigation property of {id}.
func (a *API) grant(w http.ResponseWriter, r *http.Request, nav string) error {
	var in appRoleAssignmentInput
	body := bodyType{
		name: "microsoft.graph.appRoleAssignment",
		fields: map[string]field{
			"principalId": optString(&in.principalID),
			"resourceId":  optString(&in.resourceID),
			"appRoleId":   optString(&in.appRoleID),
		},
		readOnly: []string{"id", "createdDateTime", "principalDisplayName", "principalType", "resourceDisplayName"},
	}
	if err := noOptions(r); err != nil {
		return err
	}
	if err := a.readJSON(r, body); err != nil {
		return err
	}
	if err := requiredStrings([]string{"principalId", "resourceId", "appRoleId"},
		in.principalID, in.resourceID, in.appRoleID); err != nil {
		return err
	}
	ctx := r.Context()
	addressed, err := a.Directory.GetServicePrincipal(ctx, r.PathValue("id"))
	if err != nil {
		return err
	}
	mustBe, otherID := in.principalID.Value, in.resourceID.Value
	if nav == navAssignedTo {
		mustBe, otherID = in.resourceID.Value, in.principalID.Value
	}
	if addressed.ID != mustBe {
		prop := "principalId"
		if nav == navAssignedTo {
			prop = "resourceId"
		}
		return badRequest("Property '%s' must be the id of the service principal in the request URL, '%s'.", prop, addressed.ID)
	}
	other, err := a.Directory.GetServicePrincipal(ctx, otherID)
	if err != nil {
		return err
	}
	sp, res := addressed, other
	if nav == navAssignedTo {
		sp, res = other, addressed
	}
	if err := checkAppRoleGrant(ctx, res); err != nil {
		return err
	}
	var g store.AppRoleAssignment
	if _, perr := uuid.Parse(in.appRoleID.Value); perr == nil {
		g, err = a.Directory.GrantAppRole(ctx, sp.ID, res.ID, in.appRoleID.Value)
	} else {
		g, err = a.Directory.GrantAppPermission(ctx, sp.ID, res.AppID, in.appRoleID.Value)
	}
	if err != nil {
		return err
	}
	w.Header().Set("Location", a.base()+"/servicePrincipals/"+addressed.ID+"/"+nav+"/"+g.ID)
	a.writeEntity(w, http.StatusCreated, a.appRoleAssignmentsContext(addressed.ID, nav)+"/$entity", appRoleAssignmentObject(g, sp, res))
	return nil
}

// revokeAppRole is DELETE /servicePrincipals/{id}/appRoleAssignments/{assignmentId};
// 204 on success (https://learn.microsoft.com/en-us/graph/api/serviceprincipal-delete-approleassignments).
func (a *API) revokeAppRole(w http.ResponseWriter, r *http.Request) error {
	return a.revokeGrant(w, r, a.Directory.RevokeAppRoleAssignment)
}

// revokeAppRoleAssignedTo is DELETE
// /servicePrincipals/{id}/appRoleAssignedTo/{assignmentId}: a grant of the
// resource {id}'s app roles (https://learn.microsoft.com/en-us/graph/api/serviceprincipal-delete-approleassignedto).
func (a *API) revokeAppRoleAssignedTo(w http.ResponseWriter, r *http.Request) error {
	return a.revokeGrant(w, r, a.Directory.RevokeAppRoleAssignedTo)
}

func (a *API) revokeGrant(w http.ResponseWriter, r *http.Request, revoke func(ctx context.Context, spID, id string) error) error {
	sp, err := a.addressedServicePrincipal(r)
	if err != nil {
		return err
	}
	if err := revoke(r.Context(), sp.ID, r.PathValue("assignmentId")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
