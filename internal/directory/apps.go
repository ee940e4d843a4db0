package directory

import (
	"context"
	"time"

	"github.com/vigil-idp/vigil/internal/store"
)

// ApplicationInput is the body of an application create or update (PATCH).
type ApplicationInput struct {
	DisplayName              Optional[string]
	IdentifierURIs           Optional[[]string]
	WebRedirectURIs          Optional[[]string]
	PublicClientRedirectURIs Optional[[]string]
	SPARedirectURIs          Optional[[]string]
	IsFallbackPublicClient   Optional[bool]
}

// CreateApplication registers an application with a new appId.
func (s *Service) CreateApplication(ctx context.Context, in ApplicationInput) (store.Application, error) {
	return store.Application{}, errNotImplemented
}

// GetApplication returns an application by object id or appId.
func (s *Service) GetApplication(ctx context.Context, idOrAppID string) (store.Application, error) {
	return store.Application{}, errNotImplemented
}

// UpdateApplication applies a PATCH to an application.
func (s *Service) UpdateApplication(ctx context.Context, idOrAppID string, in ApplicationInput) (store.Application, error) {
	return store.Application{}, errNotImplemented
}

// DeleteApplication deletes an application with its secrets and service
// principal.
func (s *Service) DeleteApplication(ctx context.Context, idOrAppID string) error {
	return errNotImplemented
}

// ListApplications pages applications.
func (s *Service) ListApplications(ctx context.Context, q store.Query) (store.Page[store.Application], error) {
	return store.Page[store.Application]{}, errNotImplemented
}

// NewSecret is the result of AddPassword. SecretText is returned once and
// never stored.
type NewSecret struct {
	Credential store.PasswordCredential
	SecretText string
}

// AddPassword adds a client secret to an application.
func (s *Service) AddPassword(ctx context.Context, applicationID, displayName string, end time.Time) (NewSecret, error) {
	return NewSecret{}, errNotImplemented
}

// RemovePassword removes a client secret.
func (s *Service) RemovePassword(ctx context.Context, applicationID, keyID string) error {
	return errNotImplemented
}

// ListPasswords lists an application's secrets (hashes and hints only).
func (s *Service) ListPasswords(ctx context.Context, applicationID string) ([]store.PasswordCredential, error) {
	return nil, errNotImplemented
}
