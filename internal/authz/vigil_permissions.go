package authz

// VigilAppID is the appId of the built-in Vigil API service principal: the
// resource of the Vigil API (<issuer>/vigil/v1) and of SSF stream management.
// Vigil chose this GUID; it never changes.
const VigilAppID = "f76d52a6-01b7-45a2-99b9-3958b941f7a4"

// VigilResource is the audience (aud) of access tokens for the Vigil API and
// its application ID URI, as in the scope "api://vigil/.default".
const VigilResource = "api://vigil"

// Vigil permission names, for handlers that check them.
const (
	PermRevocationsReadAll      = "Vigil.Revocations.Read.All"
	PermRevocationsReadWriteAll = "Vigil.Revocations.ReadWrite.All"
	PermPoliciesReadWriteAll    = "Vigil.Policies.ReadWrite.All"
	PermSessionsReadWriteAll    = "Vigil.Sessions.ReadWrite.All"
	// PermApplicationsReadAll allows reading applications' OpenID Connect
	// client settings (/vigil/v1/applications/{id}/oidc).
	PermApplicationsReadAll = "Vigil.Applications.Read.All"
	// PermApplicationsReadWriteAll allows reading and changing them.
	PermApplicationsReadWriteAll = "Vigil.Applications.ReadWrite.All"
	// PermSSFManage allows creating, updating and deleting SSF streams
	// (OpenID SSF 1.0 §8.1, stream management).
	PermSSFManage = "ssf.manage"
	// PermSSFRead allows reading SSF stream configuration and status and
	// polling events (RFC 8936).
	PermSSFRead = "ssf.read"
)

// vigilPermissions is the Vigil API's catalogue. Every id is a GUID Vigil
// chose; each exists as an application permission and as a delegated one.
var vigilPermissions = []Permission{
	{Name: PermRevocationsReadAll, AppRoleID: "8597a96e-afd1-499c-85e9-211c281c4c11", ScopeID: "618e8eb7-9a88-4f6b-9602-5d5e1df42247", AdminConsentRequired: true, Description: "Read all revocations and their delivery receipts"},
	{Name: PermRevocationsReadWriteAll, AppRoleID: "f1ee34ce-ac1c-4478-9adc-f703c0b2cbc9", ScopeID: "985bf5a7-86be-44ae-b864-62f969182477", AdminConsentRequired: true, Description: "Revoke sign-in sessions in bulk and read revocations"},
	{Name: PermPoliciesReadWriteAll, AppRoleID: "a513da0b-bdfe-4c43-bbe1-3ad6fd39aabb", ScopeID: "748af4ee-e355-4bf4-9ef2-5256c31a1ad7", AdminConsentRequired: true, Description: "Read and write all Vigil policies"},
	{Name: PermSessionsReadWriteAll, AppRoleID: "2c0dae15-e6f5-4259-a9ad-6cb1867a72f3", ScopeID: "b24b7c4c-08aa-428c-a7c1-52f44a108125", AdminConsentRequired: true, Description: "Read and revoke all users' sign-in sessions"},
	{Name: PermApplicationsReadAll, AppRoleID: "f13864f7-7122-44ef-9583-ab9b03a27ebd", ScopeID: "d9c4f6ad-e7fd-4083-bf87-1bb01cbd61c9", AdminConsentRequired: true, Description: "Read all applications' OpenID Connect client settings"},
	{Name: PermApplicationsReadWriteAll, AppRoleID: "fcfba9df-0c9e-495f-920a-8503c916e0d6", ScopeID: "46ee99fd-5e7b-481d-8162-3d101fc5bb29", AdminConsentRequired: true, Description: "Read and write all applications' OpenID Connect client settings (logout URIs, ID token algorithm, client keys)"},
	{Name: PermSSFManage, AppRoleID: "f83eff69-9d7e-4705-9aaa-f5e16ffac63a", ScopeID: "2843364e-9ff7-43dc-80e2-abc31903b159", AdminConsentRequired: true, Description: "Create, update and delete Shared Signals streams"},
	{Name: PermSSFRead, AppRoleID: "a66f072a-7cbe-4da6-84d0-9517b63def5b", ScopeID: "2d089f1b-2265-477a-a115-7b81a6c15108", AdminConsentRequired: true, Description: "Read Shared Signals streams and poll their events"},
}

var vigil = newResource(VigilAppID, VigilResource, "Vigil API", vigilPermissions)

// Vigil returns the built-in Vigil API resource and its catalogue.
func Vigil() Resource { return vigil }

// VigilPermissions returns the Vigil API's permission catalogue.
func VigilPermissions() []Permission { return vigil.Permissions() }

// VigilPermissionByName looks a Vigil permission up by name,
// case-insensitively.
func VigilPermissionByName(name string) (Permission, bool) { return vigil.PermissionByName(name) }

// VigilPermissionByAppRoleID looks a Vigil permission up by its application
// permission (appRole) id.
func VigilPermissionByAppRoleID(id string) (Permission, bool) {
	return vigil.PermissionByAppRoleID(id)
}

// VigilPermissionByScopeID looks a Vigil permission up by its delegated
// permission id.
func VigilPermissionByScopeID(id string) (Permission, bool) { return vigil.PermissionByScopeID(id) }
