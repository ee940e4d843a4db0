package directory

import (
	"context"

	"github.com/vigil-idp/vigil/internal/store"
)

// GroupInput is the body of a group create or update (PATCH).
type GroupInput struct {
	DisplayName        Optional[string]
	Description        Optional[string]
	MailNickname       Optional[string]
	SecurityEnabled    Optional[bool]
	MailEnabled        Optional[bool]
	IsAssignableToRole Optional[bool]
	GroupTypes         Optional[[]string]
}

// CreateGroup creates a group.
func (s *Service) CreateGroup(ctx context.Context, in GroupInput) (store.Group, error) {
	return store.Group{}, errNotImplemented
}

// GetGroup returns a group by id.
func (s *Service) GetGroup(ctx context.Context, id string) (store.Group, error) {
	return store.Group{}, errNotImplemented
}

// UpdateGroup applies a PATCH to a group.
func (s *Service) UpdateGroup(ctx context.Context, id string, in GroupInput) (store.Group, error) {
	return store.Group{}, errNotImplemented
}

// DeleteGroup deletes a group with its memberships and role assignments.
func (s *Service) DeleteGroup(ctx context.Context, id string) error {
	return errNotImplemented
}

// ListGroups pages groups.
func (s *Service) ListGroups(ctx context.Context, q store.Query) (store.Page[store.Group], error) {
	return store.Page[store.Group]{}, errNotImplemented
}

// CountGroups counts groups matching q's filter and search.
func (s *Service) CountGroups(ctx context.Context, q store.Query) (int, error) {
	return 0, errNotImplemented
}
