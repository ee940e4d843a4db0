package directory

import (
	"context"
	"runtime"
	"sync"
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
// A Service is safe for concurrent use and must not be copied after first
// use.
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
	// NewID returns a new object id, and the ids of audit records, events
	// and correlations; nil means a random (v4) UUID. It must return
	// canonical GUIDs: Graph ids are GUIDs, and lookups use the GUID shape
	// to tell an id from a userPrincipalName.
	NewID func() string
	// TenantID, when set, is mixed into the ids of activated directory
	// roles (see DirectoryRole), so they differ between tenants as in
	// Entra. Empty gives every Vigil install the same ids.
	TenantID string

	hashOnce  sync.Once
	hashSlots chan struct{} // bounds concurrent password hashes
}

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

// hashPassword hashes pw, running at most GOMAXPROCS hashes at once per
// Service: argon2id at secret.DefaultArgon2 takes 64 MiB and tens of
// milliseconds of CPU per hash, so a burst of password writes would
// otherwise allocate 64 MiB per concurrent request and slow every hash.
// Waiting for a slot honours ctx.
func (s *Service) hashPassword(ctx context.Context, pw string) (hash string, err error) {
	err = s.withHashSlot(ctx, func() error {
		if s.HashPassword != nil {
			hash, err = s.HashPassword(pw)
		} else {
			hash, err = secret.HashPassword(pw, secret.DefaultArgon2)
		}
		return err
	})
	return hash, err
}

// verifyPassword checks pw against a user's PHC hash (none: there is no
// password to prove) within the same slots as hashPassword.
func (s *Service) verifyPassword(ctx context.Context, hash, pw string) error {
	if hash == "" {
		return invalid("The user has no password to change.")
	}
	return s.withHashSlot(ctx, func() error {
		if err := secret.VerifyPassword(hash, pw); err != nil {
			return &Error{Kind: KindInvalid, Code: CodeBadRequest, Message: "The current password is not correct.", Err: err}
		}
		return nil
	})
}

// withHashSlot runs fn holding one of GOMAXPROCS password-hashing slots.
func (s *Service) withHashSlot(ctx context.Context, fn func() error) error {
	s.hashOnce.Do(func() { s.hashSlots = make(chan struct{}, runtime.GOMAXPROCS(0)) })
	select {
	case s.hashSlots <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-s.hashSlots }()
	return fn()
}
