package authz

// GraphAppID is the appId of Microsoft Graph's service principal. Source:
// https://learn.microsoft.com/en-us/graph/permissions-grant-via-msgraph
// (example response of GET /servicePrincipals?$filter=displayName eq
// 'Microsoft Graph').
const GraphAppID = "00000003-0000-0000-c000-000000000000"

// GraphResource is the audience (aud) of Graph access tokens and Graph's
// application ID URI, as in the scope "https://graph.microsoft.com/.default".
const GraphResource = "https://graph.microsoft.com"

// graphPermissions is the subset of Graph's permission catalogue that Vigil
// implements, with Graph's own ids, so scripts that grant permissions by GUID
// work unchanged.
//
// Transcribed from the project's reference file graph-permissions.json, whose
// ids were checked against:
//   - https://learn.microsoft.com/en-us/graph/permissions-reference
//   - microsoftgraph/microsoft-graph-docs-contrib
//     concepts/includes/permissions-ids.md @0fcd5cbe
//   - microsoftgraph/microsoft-graph-devx-content permissions/new/
//     provisioningInfo.json, permissions.json and
//     permissions/permissions-descriptions.json @6cbd6bbd
//   - merill/graph-permissions-explorer site/permission @ff30a7f2
//
// AdminConsentRequired is the delegated permission's flag (the sources
// agree); permissions that exist only as application permissions are true.
// Descriptions are Graph's admin consent display names.
var graphPermissions = []Permission{
	{Name: "User.Read", AppRoleID: "", ScopeID: "e1fe6dd8-ba31-4d61-89e7-88639da4683d", AdminConsentRequired: false, Description: "Sign in and read user profile"},
	{Name: "User.ReadBasic.All", AppRoleID: "97235f07-e226-4f63-ace3-39588e11d3a1", ScopeID: "b340eb25-3456-403f-be2f-af7a0d370277", AdminConsentRequired: false, Description: "Read all users' basic profiles"},
	{Name: "User.Read.All", AppRoleID: "df021288-bdef-4463-88db-98f22de89214", ScopeID: "a154be20-db9c-4678-8ab7-66f6cc099a59", AdminConsentRequired: true, Description: "Read all users' full profiles"},
	{Name: "User.ReadWrite", AppRoleID: "", ScopeID: "b4e74841-8e56-480b-be8b-910348b18b4c", AdminConsentRequired: false, Description: "Read and write access to user profile"},
	{Name: "User.ReadWrite.All", AppRoleID: "741f803b-c850-494e-b5df-cde7c675a1ca", ScopeID: "204e0828-b5ca-4ad8-b9f3-f32a958e7cc4", AdminConsentRequired: true, Description: "Read and write all users' full profiles"},
	{Name: "User.RevokeSessions.All", AppRoleID: "77f3a031-c388-4f99-b373-dc68676a979e", ScopeID: "fc30e98b-8810-4501-81f5-c20a3196387b", AdminConsentRequired: true, Description: "Revoke all sign in sessions for a user"},
	{Name: "Group.Read.All", AppRoleID: "5b567255-7703-4780-807c-7be8301ae99b", ScopeID: "5f8c59db-677d-491f-a6b8-5f174b11ec1d", AdminConsentRequired: true, Description: "Read all groups"},
	{Name: "Group.ReadWrite.All", AppRoleID: "62a82d76-70ea-41e2-9197-370581804d09", ScopeID: "4e46008b-f24c-477d-8fff-7bb4ec7aafe0", AdminConsentRequired: true, Description: "Read and write all groups"},
	{Name: "GroupMember.Read.All", AppRoleID: "98830695-27a2-44f7-8c18-0c3ebc9698f6", ScopeID: "bc024368-1153-4739-b217-4326f2e966d0", AdminConsentRequired: true, Description: "Read all group memberships"},
	{Name: "GroupMember.ReadWrite.All", AppRoleID: "dbaae8cf-10b5-4b86-a4a1-f871c94c6695", ScopeID: "f81125ac-d3b7-4573-a3b2-7099cc39df9e", AdminConsentRequired: true, Description: "Read and write all group memberships"},
	{Name: "Directory.Read.All", AppRoleID: "7ab1d382-f21e-4acd-a863-ba3e13f7da61", ScopeID: "06da0dbc-49e2-44d2-8312-53f166ab848a", AdminConsentRequired: true, Description: "Read directory data"},
	{Name: "Directory.ReadWrite.All", AppRoleID: "19dbc75e-c2e2-444c-a770-ec69d8559fc7", ScopeID: "c5366453-9fb0-48a5-a156-24f0c49a4b84", AdminConsentRequired: true, Description: "Read and write directory data"},
	{Name: "Directory.AccessAsUser.All", AppRoleID: "", ScopeID: "0e263e50-5827-48a4-b97c-d940288653c7", AdminConsentRequired: true, Description: "Access directory as the signed in user"},
	{Name: "RoleManagement.Read.Directory", AppRoleID: "483bed4a-2ad3-4361-a73b-c83ccdbdc53c", ScopeID: "741c54c3-0c1e-44a1-818b-3f97ab4e8c83", AdminConsentRequired: true, Description: "Read all directory RBAC settings"},
	{Name: "RoleManagement.ReadWrite.Directory", AppRoleID: "9e3f62cf-ca93-4989-b6ce-bf83c28f9fe8", ScopeID: "d01b97e9-cbc0-49fe-810a-750afd5527a3", AdminConsentRequired: true, Description: "Read and write all directory RBAC settings"},
	{Name: "AuditLog.Read.All", AppRoleID: "b0afded3-3588-46d8-8b3d-9842eff778da", ScopeID: "e4c9e354-4dc5-45b8-9e7c-e1393b0b1a20", AdminConsentRequired: true, Description: "Read all audit log data"},
	{Name: "Application.Read.All", AppRoleID: "9a5d68dd-52b0-4cc2-bd40-abcf44ac3a30", ScopeID: "c79f8feb-a9db-4090-85f9-90d820caa0eb", AdminConsentRequired: true, Description: "Read all applications"},
	{Name: "Application.ReadWrite.All", AppRoleID: "1bfefb4e-e0b5-418b-a88f-73c46d2cc8e9", ScopeID: "bdfbf15f-ee85-4955-8675-146e8e5296b5", AdminConsentRequired: true, Description: "Read and write all applications"},
	// AppRoleAssignment.ReadWrite.All is not in graph-permissions.json; its
	// ids were checked against Microsoft's Graph permissions data
	// (microsoftgraph devx-content permissions.json) and several
	// independent public scripts that grant it by id.
	{Name: "AppRoleAssignment.ReadWrite.All", AppRoleID: "06b708a9-e830-4db3-a914-8e69da51d44f", ScopeID: "84bccea3-f856-4a8a-967b-dbe0a3d53a64", AdminConsentRequired: true, Description: "Manage app permission grants and app role assignments"},
	{Name: "openid", AppRoleID: "", ScopeID: "37f7f235-527c-4136-accd-4a02d197296e", AdminConsentRequired: false, Description: "Sign users in"},
	{Name: "profile", AppRoleID: "", ScopeID: "14dad69e-099b-42c9-810b-d002981feec1", AdminConsentRequired: false, Description: "View users' basic profile"},
	{Name: "email", AppRoleID: "", ScopeID: "64a6cdd6-aab1-4aaf-94b8-3cc8405e90d0", AdminConsentRequired: false, Description: "View users' email address"},
	{Name: "offline_access", AppRoleID: "", ScopeID: "7427e0e9-2fba-42fe-b0c0-848c9e6a8182", AdminConsentRequired: false, Description: "Maintain access to data you have given it access to"},
}

var graph = newResource(GraphAppID, GraphResource, "Microsoft Graph", graphPermissions)

// Graph returns the built-in Microsoft Graph resource and its catalogue.
func Graph() Resource { return graph }

// GraphPermissions returns Graph's permission catalogue (application and
// delegated permissions), with Graph's own ids.
func GraphPermissions() []Permission { return graph.Permissions() }

// GraphPermissionByName looks a Graph permission up by name,
// case-insensitively, like Graph.
func GraphPermissionByName(name string) (Permission, bool) { return graph.PermissionByName(name) }

// GraphPermissionByAppRoleID looks a Graph permission up by its application
// permission (appRole) id.
func GraphPermissionByAppRoleID(id string) (Permission, bool) {
	return graph.PermissionByAppRoleID(id)
}

// GraphPermissionByScopeID looks a Graph permission up by its delegated
// permission (oauth2PermissionScope) id.
func GraphPermissionByScopeID(id string) (Permission, bool) { return graph.PermissionByScopeID(id) }
