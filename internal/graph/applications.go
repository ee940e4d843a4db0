package graph

import (
	"context"
	"net/http"
	"slices"
	"time"

	"github.com/vigil-idp/vigil/internal/directory"
	"github.com/vigil-idp/vigil/internal/store"
)

// ApplicationDirectory is what the /applications endpoints need from the
// directory.
type ApplicationDirectory interface {
	CreateApplication(ctx context.Context, in directory.ApplicationInput) (store.Application, error)
	GetApplication(ctx context.Context, idOrAppID string) (store.Application, error)
	UpdateApplication(ctx context.Context, idOrAppID string, in directory.ApplicationInput) (store.Application, error)
	DeleteApplication(ctx context.Context, idOrAppID string) error
	ListApplications(ctx context.Context, q store.Query) (store.Page[store.Application], error)
	AddPassword(ctx context.Context, applicationID, displayName string, end time.Time) (directory.NewSecret, error)
	RemovePassword(ctx context.Context, applicationID, keyID string) error
	ListPasswords(ctx context.Context, applicationID string) ([]store.PasswordCredential, error)
}

// applicationDefaults are the properties Vigil returns for an application
// without $select: those of Graph's default response it stores
// (https://learn.microsoft.com/en-us/graph/api/application-get), in Graph's
// order. signInAudience is always AzureADMyOrg: Vigil is single-tenant.
var applicationDefaults = []string{
	"id", "appId", "createdDateTime", "displayName", "identifierUris", "isFallbackPublicClient",
	"signInAudience", "passwordCredentials", "publicClient", "spa", "web",
}

// applicationObject renders an application with its client secrets
// (without the secret text, which is shown only once, by addPassword).
func applicationObject(app store.Application, secrets []store.PasswordCredential) object {
	creds := make([]object, 0, len(secrets))
	for _, c := range secrets {
		creds = append(creds, passwordCredentialObject(c, nil))
	}
	return object{
		{"id", app.ID},
		{"appId", app.AppID},
		{"createdDateTime", dateTime(app.CreatedDateTime)},
		{"displayName", app.DisplayName},
		{"identifierUris", emptyIfNil(app.IdentifierURIs)},
		{"isFallbackPublicClient", app.IsFallbackPublicClient},
		{"signInAudience", "AzureADMyOrg"},
		{"passwordCredentials", creds},
		{"publicClient", object{{"redirectUris", emptyIfNil(app.PublicClientRedirectURIs)}}},
		{"spa", object{{"redirectUris", emptyIfNil(app.SPARedirectURIs)}}},
		{"web", object{{"redirectUris", emptyIfNil(app.WebRedirectURIs)}}},
	}
}

// passwordCredentialObject renders a passwordCredential
// (https://learn.microsoft.com/en-us/graph/api/resources/passwordcredential).
// secretText is null except in the answer to addPassword.
func passwordCredentialObject(c store.PasswordCredential, secretText *string) object {
	return object{
		{"customKeyIdentifier", nil},
		{"displayName", c.DisplayName},
		{"endDateTime", dateTime(c.EndDateTime)},
		{"hint", c.Hint},
		{"keyId", c.KeyID},
		{"secretText", secretText},
		{"startDateTime", dateTime(c.StartDateTime)},
	}
}

// redirectBody is the body of a web, spa or publicClient object: only
// redirectUris is stored.
func redirectBody(typeName string, dst *directory.Optional[[]string], unsupported ...string) field {
	var uris directory.Optional[[]string]
	return nested(bodyType{
		name:        typeName,
		fields:      map[string]field{"redirectUris": optStrings(&uris)},
		unsupported: unsupported,
	}, func() {
		if uris.Set {
			*dst = uris
		}
	}, func() { *dst = directory.Null[[]string]() })
}

// applicationBody is the body of POST /applications and PATCH
// /applications/{id}.
func applicationBody(in *directory.ApplicationInput) bodyType {
	return bodyType{
		name: "microsoft.graph.application",
		fields: map[string]field{
			"displayName":            optString(&in.DisplayName),
			"identifierUris":         optStrings(&in.IdentifierURIs),
			"isFallbackPublicClient": optBool(&in.IsFallbackPublicClient),
			"web": redirectBody("microsoft.graph.webApplication", &in.WebRedirectURIs,
				"homePageUrl", "logoutUrl", "implicitGrantSettings", "redirectUriSettings"),
			"spa":          redirectBody("microsoft.graph.spaApplication", &in.SPARedirectURIs),
			"publicClient": redirectBody("microsoft.graph.publicClientApplication", &in.PublicClientRedirectURIs),
		},
		// passwordCredentials change only through addPassword and
		// removePassword, as in Graph.
		readOnly:    []string{"id", "appId", "createdDateTime", "passwordCredentials"},
		unsupported: []string{"signInAudience", "requiredResourceAccess", "appRoles", "api", "keyCredentials", "tags", "notes"},
	}
}

// applications is the /applications collection
// (https://learn.microsoft.com/en-us/graph/api/resources/application: list,
// get by id or, through the key rewrite, appId, create, update, delete,
// $count). The client secrets of each application are read only when
// passwordCredentials is rendered.
func (a *API) applications() resource[directory.ApplicationInput, store.Application] {
	d := a.Directory
	return resource[directory.ApplicationInput, store.Application]{
		entitySet: entitySet[store.Application]{
			name:   "applications",
			schema: applicationsSchema,
			list:   d.ListApplications,
			render: func(ctx context.Context, app store.Application, sel []string) (object, error) {
				var secrets []store.PasswordCredential
				if sel == nil || slices.Contains(sel, "passwordCredentials") {
					var err error
					if secrets, err = d.ListPasswords(ctx, app.ID); err != nil {
						return nil, err
					}
				}
				return project(applicationObject(app, secrets), applicationDefaults, sel), nil
			},
		},
		body:   applicationBody,
		id:     func(app store.Application) string { return app.ID },
		create: d.CreateApplication, get: d.GetApplication, update: d.UpdateApplication, remove: d.DeleteApplication,
	}
}

// addPassword is POST /applications/{id}/addPassword: it creates a client
// secret and answers 200 with the passwordCredential, whose secretText is
// shown this once (https://learn.microsoft.com/en-us/graph/api/application-addpassword).
// Without endDateTime the directory's default lifetime applies.
func (a *API) addPassword(w http.ResponseWriter, r *http.Request) error {
	var (
		displayName directory.Optional[string]
		end         directory.Optional[time.Time]
		cred        bool
	)
	credential := bodyType{
		name: "microsoft.graph.passwordCredential",
		fields: map[string]field{
			"displayName": optString(&displayName),
			"endDateTime": optTime(&end),
		},
		readOnly:    []string{"keyId", "hint", "secretText"},
		unsupported: []string{"startDateTime", "customKeyIdentifier"},
	}
	body := bodyType{
		name:   "microsoft.graph.application",
		fields: map[string]field{"passwordCredential": nested(credential, func() { cred = true }, func() {})},
	}
	if err := noOptions(r); err != nil {
		return err
	}
	if err := a.readJSON(r, body); err != nil {
		return err
	}
	if !cred {
		return badRequest("Property 'passwordCredential' is required and cannot be null.")
	}
	ctx := r.Context()
	app, err := a.Directory.GetApplication(ctx, r.PathValue("id"))
	if err != nil {
		return err
	}
	s, err := a.Directory.AddPassword(ctx, app.ID, displayName.Value, end.Value)
	if err != nil {
		return err
	}
	a.writeEntity(w, http.StatusOK, a.base()+"/$metadata#microsoft.graph.passwordCredential",
		passwordCredentialObject(s.Credential, &s.SecretText))
	return nil
}

// removePassword is POST /applications/{id}/removePassword with {"keyId"};
// 204 on success (https://learn.microsoft.com/en-us/graph/api/application-removepassword).
func (a *API) removePassword(w http.ResponseWriter, r *http.Request) error {
	var keyID directory.Optional[string]
	if err := noOptions(r); err != nil {
		return err
	}
	body := bodyType{name: "microsoft.graph.application", fields: map[string]field{"keyId": optString(&keyID)}}
	if err := a.readJSON(r, body); err != nil {
		return err
	}
	if err := required(keyID, "keyId"); err != nil {
		return err
	}
	ctx := r.Context()
	app, err := a.Directory.GetApplication(ctx, r.PathValue("id"))
	if err != nil {
		return err
	}
	if err := a.Directory.RemovePassword(ctx, app.ID, keyID.Value); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
