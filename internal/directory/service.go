package directory

import (
	"context"
	"errors"
	"time"

	"github.com/google/uuid"

	"github.com/vigil-idp/vigil/internal/secret"
	"github.com/vigil-idp/vigil/internal/store"
)

// Store is what the directory needs from a storage backend: the directory
// aggregates plus InTx. store.Store satisfies it.
type Store interface {
	store.Users
	store.Groups
	store.Members
	store.RoleAssignments
	store.Applications
	// InTx runs fn in one transaction (see store.Store.InTx); fn may run
	// more than once on a serialization failure.
	InTx(ctx context.Context, fn func(tx store.Tx) error) error
}

// Service applies the directory's business rules on top of a Store. Build it
// as a struct literal; the zero values of the optional fields are sensible.
// A Service is safe for concurrent use.
type Service struct {
	// Store is the backend. Required.
	Store Store
	// Now is the clock; nil means time.Now. Times are stored in UTC.
	Now func() time.Time
	// HashPassword hashes a user password; nil means
	// secret.HashPassword(pw, secret.DefaultArgon2) (argon2id).
	HashPassword func(pw string) (string, error)
	// Secrets makes the keyed hashes of client secrets. Required by
	// AddPassword.
	Secrets *secret.Hasher
	// NewID returns a new object id; nil means a random (v4) UUID.
	NewID func() string
	// TenantID, when set, is mixed into the ids of activated directory
	// roles (see DirectoryRole), so they differ between tenants as in
	// Entra. Empty gives every Vigil install the same ids.
	TenantID string
}

var errNotImplemented = errors.New("directory: not implemented")

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC()
	}
	return time.Now().UTC()
}

func (s *Service) newID() string {
	if s.NewID != nil {
		return s.NewID()
	}
	return uuid.NewString()
}

func (s *Service) hashPassword(pw string) (string, error) {
	if s.HashPassword != nil {
		return s.HashPassword(pw)
	}
	return secret.HashPassword(pw, secret.DefaultArgon2)
}
