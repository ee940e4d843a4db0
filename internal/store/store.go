package store

import (
	"context"
	"errors"
	"time"

	"github.com/vigil-idp/vigil/internal/odata"
)

// Storage errors. Backends wrap them with %w; callers test with errors.Is.
var (
	// ErrNotFound is returned when the addressed entity does not exist.
	ErrNotFound = errors.New("store: not found")
	// ErrConflict is returned when a write would break a uniqueness rule
	// (duplicate userPrincipalName, duplicate membership, duplicate key).
	ErrConflict = errors.New("store: conflict")
	// ErrBadCursor is returned when a paging cursor cannot be decoded.
	ErrBadCursor = errors.New("store: bad cursor")
)

// Query selects, orders and pages a list of directory objects. The zero value
// lists everything in the backend's stable default order (by id).
type Query struct {
	// Filter is a parsed OData $filter; nil means no filter. Property names
	// are the Graph (JSON) names, e.g. "userPrincipalName"; the backend maps
	// them to columns and answers an error wrapping odata.ErrUnsupported
	// for properties it cannot filter on.
	Filter odata.Expr
	// Search holds `$search="prop:value"` terms, ANDed; each matches
	// case-insensitively when the property contains the value as a
	// word prefix (Graph tokenised search approximated as substring).
	Search []odata.SearchTerm
	// OrderBy lists sort keys; the backend always appends id as a final
	// tie-breaker so paging is stable.
	OrderBy []odata.OrderBy
	// Top is the page size; 0 means 100.
	Top int
	// Cursor is an opaque value from a previous Page.Next; "" starts at the
	// beginning. A cursor is only valid with the same Filter/Search/OrderBy.
	Cursor string
}

// Page is one page of results. Next is "" on the last page.
type Page[T any] struct {
	Items []T
	Next  string
}

// User is a directory user (Graph resource type "user").
type User struct {
	ID                string // GUID
	UserPrincipalName string // unique, compared case-insensitively
	DisplayName       string
	GivenName         *string
	Surname           *string
	Mail              *string
	MailNickname      *string
	JobTitle          *string
	Department        *string
	OfficeLocation    *string
	MobilePhone       *string
	BusinessPhones    []string
	AccountEnabled    bool
	CreatedDateTime   time.Time
	// SignInSessionsValidFrom is Graph's signInSessionsValidFromDateTime:
	// refresh tokens and sessions issued before it are invalid. Never moves
	// backwards.
	SignInSessionsValidFrom time.Time
	// RefreshTokensValidFrom is beta's refreshTokensValidFromDateTime.
	RefreshTokensValidFrom time.Time
	// PasswordHash is a PHC-format argon2id hash; "" means no password.
	PasswordHash string
	// ForceChangePasswordNextSignIn mirrors passwordProfile.
	ForceChangePasswordNextSignIn bool
}

// Users stores users.
type Users interface {
	// CreateUser inserts u. It returns ErrConflict when the id or the
	// userPrincipalName (case-insensitively) is taken.
	CreateUser(ctx context.Context, u User) error
	// GetUser returns the user with this id, or ErrNotFound.
	GetUser(ctx context.Context, id string) (User, error)
	// GetUserByUPN returns the user with this userPrincipalName compared
	// case-insensitively, or ErrNotFound.
	GetUserByUPN(ctx context.Context, upn string) (User, error)
	// UpdateUser reads the user, calls fn with it and writes back what fn
	// returns, atomically (inside one transaction). fn must not change ID.
	// Errors from fn are returned unchanged and nothing is written.
	// ErrConflict when the new userPrincipalName is taken. fn may be called
	// more than once (when the backend retries a transaction that lost a
	// race), so it must have no effects beyond its result. The user is
	// returned as stored (times in UTC, to the microsecond).
	UpdateUser(ctx context.Context, id string, fn func(User) (User, error)) (User, error)
	// DeleteUser removes the user, its group memberships and its role
	// assignments, or returns ErrNotFound.
	DeleteUser(ctx context.Context, id string) error
	// ListUsers answers one page of users matching q.
	ListUsers(ctx context.Context, q Query) (Page[User], error)
	// CountUsers counts the users matching q.Filter and q.Search.
	CountUsers(ctx context.Context, q Query) (int, error)
}

// Group is a directory group (Graph resource type "group").
type Group struct {
	ID                 string
	DisplayName        string
	Description        *string
	MailNickname       string
	SecurityEnabled    bool
	MailEnabled        bool
	GroupTypes         []string
	IsAssignableToRole bool
	CreatedDateTime    time.Time
}

// Groups stores groups.
type Groups interface {
	// CreateGroup inserts g; ErrConflict when the id is taken.
	CreateGroup(ctx context.Context, g Group) error
	// GetGroup returns the group or ErrNotFound.
	GetGroup(ctx context.Context, id string) (Group, error)
	// UpdateGroup is the atomic read-modify-write of a group (see UpdateUser).
	UpdateGroup(ctx context.Context, id string, fn func(Group) (Group, error)) (Group, error)
	// DeleteGroup removes the group, memberships in and of it, and role
	// assignments to it, or returns ErrNotFound.
	DeleteGroup(ctx context.Context, id string) error
	// ListGroups answers one page of groups matching q.
	ListGroups(ctx context.Context, q Query) (Page[Group], error)
	// CountGroups counts the groups matching q.Filter and q.Search.
	CountGroups(ctx context.Context, q Query) (int, error)
}

// ObjectKind names the type of a directory object that can be a member.
type ObjectKind string

// Directory object kinds.
const (
	KindUser             ObjectKind = "user"
	KindGroup            ObjectKind = "group"
	KindServicePrincipal ObjectKind = "servicePrincipal"
)

// DirectoryObject is a member or container: exactly one of User, Group and
// ServicePrincipal is set, matching Kind.
type DirectoryObject struct {
	Kind             ObjectKind
	User             *User
	Group            *Group
	ServicePrincipal *ServicePrincipal
}

// ID returns the object id of whichever object is set.
func (o DirectoryObject) ID() string {
	switch {
	case o.User != nil:
		return o.User.ID
	case o.Group != nil:
		return o.Group.ID
	case o.ServicePrincipal != nil:
		return o.ServicePrincipal.ID
	}
	return ""
}

// Members stores group memberships (direct edges group → member).
type Members interface {
	// AddMember adds memberID (of kind) to groupID. ErrNotFound when either
	// does not exist; ErrConflict when already a member. It does not check
	// for cycles: the caller runs IsTransitiveMember inside the same
	// transaction first.
	AddMember(ctx context.Context, groupID, memberID string, kind ObjectKind) error
	// RemoveMember removes a direct membership, or returns ErrNotFound.
	RemoveMember(ctx context.Context, groupID, memberID string) error
	// ListMembers pages the direct (transitive=false) or transitive members
	// of a group — users, groups and service principals — ordered by id;
	// q.Filter and q.Search may restrict them, each member judged by the
	// properties of its kind (a kind lacking a named property never
	// matches).
	ListMembers(ctx context.Context, groupID string, transitive bool, q Query) (Page[DirectoryObject], error)
	// CountMembers counts direct or transitive members.
	CountMembers(ctx context.Context, groupID string, transitive bool) (int, error)
	// ListMemberOf pages the groups that memberID is a direct or transitive
	// member of, ordered by id.
	ListMemberOf(ctx context.Context, memberID string, transitive bool, q Query) (Page[Group], error)
	// IsTransitiveMember reports whether memberID is groupID itself's
	// transitive member (nested at any depth).
	IsTransitiveMember(ctx context.Context, groupID, memberID string) (bool, error)
	// TransitiveMemberUserIDs returns the ids of every user directly or
	// transitively in groupID.
	TransitiveMemberUserIDs(ctx context.Context, groupID string) ([]string, error)
}

// RoleAssignment grants a directory role (by role template id) to a principal
// at a directory scope (Graph "unifiedRoleAssignment").
type RoleAssignment struct {
	ID               string
	PrincipalID      string
	PrincipalKind    ObjectKind
	RoleDefinitionID string // Entra role template id
	DirectoryScopeID string // "/" for tenant-wide
	CreatedDateTime  time.Time
}

// RoleAssignments stores directory role assignments.
type RoleAssignments interface {
	// CreateRoleAssignment inserts a; ErrConflict when the same principal
	// already holds the role at the same scope; ErrNotFound when the
	// principal does not exist.
	CreateRoleAssignment(ctx context.Context, a RoleAssignment) error
	// GetRoleAssignment returns one assignment or ErrNotFound.
	GetRoleAssignment(ctx context.Context, id string) (RoleAssignment, error)
	// DeleteRoleAssignment removes one, or returns ErrNotFound.
	DeleteRoleAssignment(ctx context.Context, id string) error
	// ListRoleAssignments lists assignments, optionally only those of one
	// principal and/or one role (empty string means any), ordered by id.
	ListRoleAssignments(ctx context.Context, principalID, roleDefinitionID string) ([]RoleAssignment, error)
	// EffectiveRoleIDs returns the distinct role template ids held by the
	// user directly or through role-assignable groups it is a member of.
	EffectiveRoleIDs(ctx context.Context, userID string) ([]string, error)
}

// Application is an app registration (Graph resource type "application").
type Application struct {
	ID                       string // object id
	AppID                    string // client id
	DisplayName              string
	IdentifierURIs           []string
	WebRedirectURIs          []string
	PublicClientRedirectURIs []string
	SPARedirectURIs          []string
	IsFallbackPublicClient   bool
	CreatedDateTime          time.Time
	// PostLogoutRedirectURIs are the registered post_logout_redirect_uri
	// values (OpenID Connect RP-Initiated Logout 1.0 §3).
	PostLogoutRedirectURIs []string
	// BackchannelLogoutURI is the client's backchannel_logout_uri (OpenID
	// Connect Back-Channel Logout 1.0 §2.2); "" for none.
	BackchannelLogoutURI string
	// IDTokenSignedResponseAlg is the client's id_token_signed_response_alg
	// (OpenID Connect Dynamic Client Registration 1.0 §2); "" means the
	// server's default.
	IDTokenSignedResponseAlg string
	// JWKS is the client's public JWK Set (JSON) for private_key_jwt
	// client authentication (RFC 7523 §2.2); nil for none.
	JWKS []byte
	// JWKSURI is where the client publishes its JWK Set instead; "" for
	// none.
	JWKSURI string
}

// PasswordCredential is a client secret of an application. Only a keyed hash
// of the secret is stored.
type PasswordCredential struct {
	KeyID         string
	ApplicationID string // object id of the application
	DisplayName   string
	Hint          string // first three characters of the secret
	SecretHash    []byte // HMAC-SHA-256 of the secret under the server's key
	StartDateTime time.Time
	EndDateTime   time.Time
}

// Client is an application as its token requests see it: the registration,
// its secrets and the id of its service principal in the tenant.
type Client struct {
	Application Application
	// Secrets are the application's password credentials, by start time.
	Secrets []PasswordCredential
	// ServicePrincipalID is "" when the application has no service
	// principal in the tenant.
	ServicePrincipalID string
}

// ServicePrincipal is an application's instance in the tenant.
type ServicePrincipal struct {
	ID              string
	AppID           string
	DisplayName     string
	CreatedDateTime time.Time
}

// AppRoleAssignment grants an application permission (app role) of a
// resource service principal to a client service principal.
type AppRoleAssignment struct {
	ID              string
	PrincipalID     string // client service principal id
	ResourceID      string // resource service principal id (e.g. Graph's)
	AppRoleID       string // permission GUID (Graph's own ids)
	CreatedDateTime time.Time
}

// Applications stores applications, their secrets, service principals and
// app role assignments.
//
// identifierUris are unique across applications, compared with ASCII case
// folding (URIs are ASCII; an app may list one URI twice, which counts once).
type Applications interface {
	// CreateApplication inserts an app; ErrConflict when id or appId is
	// taken or one of its identifierUris belongs to another application.
	CreateApplication(ctx context.Context, a Application) error
	// GetApplication returns the app by object id, or ErrNotFound.
	GetApplication(ctx context.Context, id string) (Application, error)
	// GetApplicationByAppID returns the app by client id, or ErrNotFound.
	GetApplicationByAppID(ctx context.Context, appID string) (Application, error)
	// GetApplicationByIdentifierURI returns the app that lists uri among
	// its identifierUris (compared with ASCII case folding), or
	// ErrNotFound.
	GetApplicationByIdentifierURI(ctx context.Context, uri string) (Application, error)
	// UpdateApplication is the atomic read-modify-write of an app;
	// ErrConflict when the new appId or one of the new identifierUris is
	// taken by another application.
	UpdateApplication(ctx context.Context, id string, fn func(Application) (Application, error)) (Application, error)
	// DeleteApplication removes the app, its secrets, its service principal
	// and that principal's app role assignments; ErrNotFound if absent.
	DeleteApplication(ctx context.Context, id string) error
	// ListApplications pages applications.
	ListApplications(ctx context.Context, q Query) (Page[Application], error)

	// AddPasswordCredential stores a secret's hash for an application.
	AddPasswordCredential(ctx context.Context, c PasswordCredential) error
	// RemovePasswordCredential deletes one secret, or returns ErrNotFound.
	RemovePasswordCredential(ctx context.Context, applicationID, keyID string) error
	// ListPasswordCredentials lists an application's secrets.
	ListPasswordCredentials(ctx context.Context, applicationID string) ([]PasswordCredential, error)
	// GetClientByAppID returns, in one query, what authenticating the
	// client with this appId needs: the application, its secrets (ordered
	// as ListPasswordCredentials) and its service principal's id; or
	// ErrNotFound.
	GetClientByAppID(ctx context.Context, appID string) (Client, error)

	// CreateServicePrincipal inserts sp; ErrConflict when its appId already
	// has one.
	CreateServicePrincipal(ctx context.Context, sp ServicePrincipal) error
	// GetServicePrincipal returns one by object id, or ErrNotFound.
	GetServicePrincipal(ctx context.Context, id string) (ServicePrincipal, error)
	// GetServicePrincipalByAppID returns one by appId, or ErrNotFound.
	GetServicePrincipalByAppID(ctx context.Context, appID string) (ServicePrincipal, error)
	// ListServicePrincipals pages service principals.
	ListServicePrincipals(ctx context.Context, q Query) (Page[ServicePrincipal], error)
	// DeleteServicePrincipal removes one, the app role assignments it holds
	// and those granted on it (as a resource), its group memberships and
	// its directory role assignments; ErrNotFound if absent.
	DeleteServicePrincipal(ctx context.Context, id string) error

	// CreateAppRoleAssignment inserts a grant; ErrConflict when the same
	// principal already holds the same app role of the same resource.
	CreateAppRoleAssignment(ctx context.Context, a AppRoleAssignment) error
	// DeleteAppRoleAssignment removes one, or returns ErrNotFound.
	DeleteAppRoleAssignment(ctx context.Context, id string) error
	// ListAppRoleAssignments lists the grants held by a principal.
	ListAppRoleAssignments(ctx context.Context, principalID string) ([]AppRoleAssignment, error)
	// ListAppRoleAssignmentsOnResource lists, by id, the grants of the
	// app roles of the resource service principal resourceID (Graph's
	// appRoleAssignedTo).
	ListAppRoleAssignmentsOnResource(ctx context.Context, resourceID string) ([]AppRoleAssignment, error)
	// AppRoleIDsOnResource returns, sorted, the ids of the app roles that
	// principalID holds on the resource whose service principal has appId
	// resourceAppID (one query: what the client_credentials grant asks on
	// every token); none when the resource has no service principal.
	AppRoleIDsOnResource(ctx context.Context, principalID, resourceAppID string) ([]string, error)
}

// SigningKey is a JOSE signing key. The private key is stored only
// encrypted (AEAD under the server's encryption key).
type SigningKey struct {
	ID         string // kid
	Algorithm  string // RS256, ES256, EdDSA
	Use        string // "sig"
	PrivateKey []byte // encrypted private key (opaque to the store)
	PublicJWK  []byte // public JWK JSON
	CreatedAt  time.Time
	NotBefore  time.Time // first use for signing; published earlier
	RetireAt   time.Time // no longer used to sign after this
	ExpireAt   time.Time // no longer published after this
}

// SigningKeys stores signing keys.
type SigningKeys interface {
	// CreateSigningKey inserts k; ErrConflict when the kid is taken.
	CreateSigningKey(ctx context.Context, k SigningKey) error
	// ListSigningKeys returns every stored key, oldest first.
	ListSigningKeys(ctx context.Context) ([]SigningKey, error)
	// DeleteSigningKey removes a key, or returns ErrNotFound.
	DeleteSigningKey(ctx context.Context, id string) error
}

// Meta stores small named values (install id, bootstrap marker, schema
// facts). Values are opaque bytes.
type Meta interface {
	// GetMeta returns the value under key, or ErrNotFound.
	GetMeta(ctx context.Context, key string) ([]byte, error)
	// PutMeta sets the value under key, replacing any earlier one.
	PutMeta(ctx context.Context, key string, value []byte) error
	// PutMetaIfAbsent sets the value only when the key is unset; it reports
	// whether it wrote.
	PutMetaIfAbsent(ctx context.Context, key string, value []byte) (bool, error)
}

// Tx is everything a transaction can do. Work done through a Tx is committed
// only when the InTx function returns nil.
type Tx interface {
	Users
	Groups
	Members
	RoleAssignments
	Applications
	SigningKeys
	Meta

	// The token service (auth.go).
	Sessions
	RefreshTokens
	AuthCodes
	DeviceCodes
	ClientAssertionIDs
	Consents
	Policies
	SignInThrottles

	// The event machinery (events.go).
	Audit
	Outbox
	Cursors
	Deliveries
	UserRevocation
	Revocations
}

// Store is a storage backend. Its own methods run each in their own
// transaction; InTx groups several into one.
type Store interface {
	Tx
	// InTx runs fn in one transaction, committed durably when fn returns nil
	// and rolled back otherwise (fn's error is returned unchanged). A
	// serialization failure between concurrent writers is retried a bounded
	// number of times, so fn must be safe to run more than once.
	InTx(ctx context.Context, fn func(tx Tx) error) error
	// Ping reports whether the backend can serve.
	Ping(ctx context.Context) error
	// Close releases the backend's resources.
	Close() error
}
