package directory

// Resource actions of Entra role definitions that Vigil's revocation model
// depends on (rolePermissions.allowedResourceActions; descriptions from
// https://learn.microsoft.com/en-us/entra/identity/role-based-access-control/permissions-reference).
const (
	// ActionInvalidateAllRefreshTokens: "Force sign-out by invalidating
	// user refresh tokens" (revokeSignInSessions).
	ActionInvalidateAllRefreshTokens = "microsoft.directory/users/invalidateAllRefreshTokens"
	// ActionPasswordUpdate: "Reset passwords for all users".
	ActionPasswordUpdate = "microsoft.directory/users/password/update"
	// ActionUsersAllTasks: "Create and delete users, and read and update
	// all properties"; it implies the two actions above.
	ActionUsersAllTasks = "microsoft.directory/users/allProperties/allTasks"
)

// builtinRoles is Vigil's catalogue of Entra built-in directory roles: every
// role in the project's reference file directory-roles.json, which lists the
// 15 roles Vigil's revocation rules name plus the common administrator
// roles.
//
// Each template id, display name, description and privileged flag was
// transcribed from the "All roles" table of Microsoft's permissions
// reference, MicrosoftDocs/entra-docs
// docs/identity/role-based-access-control/permissions-reference.md at commit
// 00fe95d60143bbf5f832cdd8bb74765b182c2d8f (published at the learn.microsoft.com
// anchor cited on each entry), where a privileged role carries the
// "Privileged label" icon; ids were cross-checked against
// MicrosoftDocs/azure-docs articles/active-directory/roles/permissions-reference.md
// at 000263bc910e0607f2148b21bd88d86d6d988bfb and, for the revocation
// roles, against privileged-roles-permissions#who-can-reset-passwords.
//
// AllowedResourceActions is not the full Entra action list: it holds only
// the actions above, for the roles whose published action table
// (permissions-reference includes/<role>.md) contains them. Password
// Administrator holds password/update but not invalidateAllRefreshTokens;
// Vigil's revocation rules follow the who-can-reset-passwords table instead
// (the reference file revoke-matrix.json, applied by internal/authz).
var builtinRoles = []RoleDefinition{
	// Global Administrator: https://learn.microsoft.com/en-us/entra/identity/role-based-access-control/permissions-reference#global-administrator
	{TemplateID: "62e90394-69f5-4237-9190-012177145e10", DisplayName: "Global Administrator", IsPrivileged: true, AllowedResourceActions: []string{ActionUsersAllTasks},
		Description: "Can manage all aspects of Microsoft Entra ID and Microsoft services that use Microsoft Entra identities."},
	// Privileged Role Administrator: https://learn.microsoft.com/en-us/entra/identity/role-based-access-control/permissions-reference#privileged-role-administrator
	{TemplateID: "e8611ab8-c189-46e8-94e1-60213ab1f814", DisplayName: "Privileged Role Administrator", IsPrivileged: true,
		Description: "Can manage role assignments in Microsoft Entra ID, and all aspects of Privileged Identity Management."},
	// Privileged Authentication Administrator: https://learn.microsoft.com/en-us/entra/identity/role-based-access-control/permissions-reference#privileged-authentication-administrator
	{TemplateID: "7be44c8a-adaf-4e2a-84d6-ab2649e08a13", DisplayName: "Privileged Authentication Administrator", IsPrivileged: true, AllowedResourceActions: []string{ActionInvalidateAllRefreshTokens, ActionPasswordUpdate},
		Description: "Can access to view, set and reset authentication method information for any user (admin or non-admin)."},
	// Authentication Administrator: https://learn.microsoft.com/en-us/entra/identity/role-based-access-control/permissions-reference#authentication-administrator
	{TemplateID: "c4e39bd9-1100-46d3-8c65-fb160da0071f", DisplayName: "Authentication Administrator", IsPrivileged: true, AllowedResourceActions: []string{ActionInvalidateAllRefreshTokens, ActionPasswordUpdate},
		Description: "Can access to view, set and reset authentication method information for any non-admin user."},
	// User Administrator: https://learn.microsoft.com/en-us/entra/identity/role-based-access-control/permissions-reference#user-administrator
	{TemplateID: "fe930be7-5e62-47db-91af-98c3a49a38b1", DisplayName: "User Administrator", IsPrivileged: true, AllowedResourceActions: []string{ActionInvalidateAllRefreshTokens, ActionPasswordUpdate},
		Description: "Can manage all aspects of users and groups, including resetting passwords for limited admins."},
	// Helpdesk Administrator: https://learn.microsoft.com/en-us/entra/identity/role-based-access-control/permissions-reference#helpdesk-administrator
	{TemplateID: "729827e3-9c14-49f7-bb1b-9608f156bbb8", DisplayName: "Helpdesk Administrator", IsPrivileged: true, AllowedResourceActions: []string{ActionInvalidateAllRefreshTokens, ActionPasswordUpdate},
		Description: "Can reset passwords for non-administrators and Helpdesk Administrators."},
	// Password Administrator: https://learn.microsoft.com/en-us/entra/identity/role-based-access-control/permissions-reference#password-administrator
	{TemplateID: "966707d0-3269-4727-9be2-8c3a10f19b9d", DisplayName: "Password Administrator", IsPrivileged: true, AllowedResourceActions: []string{ActionPasswordUpdate},
		Description: "Can reset passwords for non-administrators and Password Administrators."},
	// Groups Administrator: https://learn.microsoft.com/en-us/entra/identity/role-based-access-control/permissions-reference#groups-administrator
	{TemplateID: "fdd7a751-b60b-444a-984c-02652fe8fa1c", DisplayName: "Groups Administrator", IsPrivileged: false,
		Description: "Members of this role can create/manage groups, create/manage groups settings like naming and expiration policies, and view groups activity and audit reports."},
	// Security Administrator: https://learn.microsoft.com/en-us/entra/identity/role-based-access-control/permissions-reference#security-administrator
	{TemplateID: "194ae4cb-b126-40b2-bd5b-6091b380977d", DisplayName: "Security Administrator", IsPrivileged: true,
		Description: "Can read security information and reports, and manage configuration in Microsoft Entra ID and Office 365."},
	// Security Reader: https://learn.microsoft.com/en-us/entra/identity/role-based-access-control/permissions-reference#security-reader
	{TemplateID: "5d6b6bb7-de71-4623-b4af-96380a352509", DisplayName: "Security Reader", IsPrivileged: true,
		Description: "Can read security information and reports in Microsoft Entra ID and Office 365."},
	// Global Reader: https://learn.microsoft.com/en-us/entra/identity/role-based-access-control/permissions-reference#global-reader
	{TemplateID: "f2ef992c-3afb-46b9-b7cf-a126ee74c451", DisplayName: "Global Reader", IsPrivileged: true,
		Description: "Can read everything that a Global Administrator can, but not update anything."},
	// Directory Readers: https://learn.microsoft.com/en-us/entra/identity/role-based-access-control/permissions-reference#directory-readers
	{TemplateID: "88d8e3e3-8f55-4a1e-953a-9b9898b8876b", DisplayName: "Directory Readers", IsPrivileged: false,
		Description: "Can read basic directory information. Commonly used to grant directory read access to applications and guests."},
	// Directory Writers: https://learn.microsoft.com/en-us/entra/identity/role-based-access-control/permissions-reference#directory-writers
	{TemplateID: "9360feb5-f418-4baa-8175-e2a00bac4301", DisplayName: "Directory Writers", IsPrivileged: true,
		Description: "Can read and write basic directory information. For granting access to applications, not intended for users."},
	// Guest Inviter: https://learn.microsoft.com/en-us/entra/identity/role-based-access-control/permissions-reference#guest-inviter
	{TemplateID: "95e79109-95c0-4d8e-aee3-d01accf2d47b", DisplayName: "Guest Inviter", IsPrivileged: false,
		Description: "Can invite guest users independent of the 'members can invite guests' setting."},
	// Reports Reader: https://learn.microsoft.com/en-us/entra/identity/role-based-access-control/permissions-reference#reports-reader
	{TemplateID: "4a5d8f65-41da-4de4-8968-e035b65339cf", DisplayName: "Reports Reader", IsPrivileged: false,
		Description: "Can read sign-in and audit reports."},
	// Message Center Reader: https://learn.microsoft.com/en-us/entra/identity/role-based-access-control/permissions-reference#message-center-reader
	{TemplateID: "790c1fb9-7f7d-4f88-86a1-ef1f95c05c1b", DisplayName: "Message Center Reader", IsPrivileged: false,
		Description: "Can read messages and updates for their organization in Office 365 Message Center only."},
	// Usage Summary Reports Reader: https://learn.microsoft.com/en-us/entra/identity/role-based-access-control/permissions-reference#usage-summary-reports-reader
	{TemplateID: "75934031-6c7e-415a-99d7-48dbd49e875e", DisplayName: "Usage Summary Reports Reader", IsPrivileged: false,
		Description: "Read Usage reports and Adoption Score, but can't access user details."},
	// User Experience Success Manager: https://learn.microsoft.com/en-us/entra/identity/role-based-access-control/permissions-reference#user-experience-success-manager
	{TemplateID: "27460883-1df1-4691-b032-3b79643e5e63", DisplayName: "User Experience Success Manager", IsPrivileged: false,
		Description: "View product feedback, survey results, and reports to find training and communication opportunities."},
	// Application Administrator: https://learn.microsoft.com/en-us/entra/identity/role-based-access-control/permissions-reference#application-administrator
	{TemplateID: "9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3", DisplayName: "Application Administrator", IsPrivileged: true,
		Description: "Can create and manage all aspects of app registrations and enterprise apps."},
	// Cloud Application Administrator: https://learn.microsoft.com/en-us/entra/identity/role-based-access-control/permissions-reference#cloud-application-administrator
	{TemplateID: "158c047a-c907-4556-b7ef-446551a6b5f7", DisplayName: "Cloud Application Administrator", IsPrivileged: true,
		Description: "Can create and manage all aspects of app registrations and enterprise apps except App Proxy."},
	// Conditional Access Administrator: https://learn.microsoft.com/en-us/entra/identity/role-based-access-control/permissions-reference#conditional-access-administrator
	{TemplateID: "b1be1c3e-b65d-4f19-8427-f6fa0d97feb9", DisplayName: "Conditional Access Administrator", IsPrivileged: true,
		Description: "Can manage Conditional Access capabilities."},
	// Exchange Administrator: https://learn.microsoft.com/en-us/entra/identity/role-based-access-control/permissions-reference#exchange-administrator
	{TemplateID: "29232cdf-9323-42fd-ade2-1d097af3e4de", DisplayName: "Exchange Administrator", IsPrivileged: false,
		Description: "Can manage all aspects of the Exchange product."},
	// SharePoint Administrator: https://learn.microsoft.com/en-us/entra/identity/role-based-access-control/permissions-reference#sharepoint-administrator
	{TemplateID: "f28a1f50-f6e7-4571-818b-6a12f2af6b6c", DisplayName: "SharePoint Administrator", IsPrivileged: false,
		Description: "Can manage all aspects of the SharePoint service."},
	// Teams Administrator: https://learn.microsoft.com/en-us/entra/identity/role-based-access-control/permissions-reference#teams-administrator
	{TemplateID: "69091246-20e8-4a56-aa4d-066075b2a7a8", DisplayName: "Teams Administrator", IsPrivileged: false,
		Description: "Can manage the Microsoft Teams service."},
	// Intune Administrator: https://learn.microsoft.com/en-us/entra/identity/role-based-access-control/permissions-reference#intune-administrator
	{TemplateID: "3a2c62db-5318-420d-8d74-23affee5d9d5", DisplayName: "Intune Administrator", IsPrivileged: true,
		Description: "Can manage all aspects of the Intune product."},
	// Billing Administrator: https://learn.microsoft.com/en-us/entra/identity/role-based-access-control/permissions-reference#billing-administrator
	{TemplateID: "b0f54661-2d74-4c50-afa3-1ec803f12efe", DisplayName: "Billing Administrator", IsPrivileged: false,
		Description: "Can perform common billing related tasks like updating payment information."},
	// License Administrator: https://learn.microsoft.com/en-us/entra/identity/role-based-access-control/permissions-reference#license-administrator
	{TemplateID: "4d6ac14f-3453-41d0-bef9-a3e0c569773a", DisplayName: "License Administrator", IsPrivileged: false,
		Description: "Can manage product licenses on users and groups."},
}
