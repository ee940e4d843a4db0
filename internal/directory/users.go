package directory

import (
	"context"

	"github.com/vigil-idp/vigil/internal/store"
)

// PasswordProfile is Graph's passwordProfile: the password is hashed with
// argon2id and never returned.
type PasswordProfile struct {
	Password                      string
	ForceChangePasswordNextSignIn bool
}

// UserInput is the body of a user create or update (PATCH). On create,
// AccountEnabled, DisplayName, UserPrincipalName and MailNickname are
// required, as in Graph; PasswordProfile is optional in Vigil (a user
// without a password cannot sign in with one). On update every field is
// optional and an explicit null clears an optional property.
type UserInput struct {
	AccountEnabled    Optional[bool]
	DisplayName       Optional[string]
	UserPrincipalName Optional[string]
	MailNickname      Optional[string]
	GivenName         Optional[string]
	Surname           Optional[string]
	Mail              Optional[string]
	JobTitle          Optional[string]
	Department        Optional[string]
	OfficeLocation    Optional[string]
	MobilePhone       Optional[string]
	BusinessPhones    Optional[[]string]
	PasswordProfile   Optional[PasswordProfile]
}

// CreateUser creates a user (Graph "Create user").
func (s *Service) CreateUser(ctx context.Context, in UserInput) (store.User, error) {
	return store.User{}, errNotImplemented
}

// GetUser returns a user by id, or by userPrincipalName when idOrUPN is not
// GUID-shaped.
func (s *Service) GetUser(ctx context.Context, idOrUPN string) (store.User, error) {
	return store.User{}, errNotImplemented
}

// UpdateUser applies a PATCH to a user.
func (s *Service) UpdateUser(ctx context.Context, idOrUPN string, in UserInput) (store.User, error) {
	return store.User{}, errNotImplemented
}

// DeleteUser deletes a user with its memberships and role assignments.
func (s *Service) DeleteUser(ctx context.Context, idOrUPN string) error {
	return errNotImplemented
}

// ListUsers pages users.
func (s *Service) ListUsers(ctx context.Context, q store.Query) (store.Page[store.User], error) {
	return store.Page[store.User]{}, errNotImplemented
}

// CountUsers counts users matching q's filter and search.
func (s *Service) CountUsers(ctx context.Context, q store.Query) (int, error) {
	return 0, errNotImplemented
}
