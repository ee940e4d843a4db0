package directory

import (
	"context"

	"github.com/vigil-idp/vigil/internal/store"
)

// AddMember adds a user, group or service principal to a group.
func (s *Service) AddMember(ctx context.Context, groupID, memberID string) error {
	return errNotImplemented
}

// RemoveMember removes a direct member from a group.
func (s *Service) RemoveMember(ctx context.Context, groupID, memberID string) error {
	return errNotImplemented
}

// ListMembers pages a group's direct or transitive members.
func (s *Service) ListMembers(ctx context.Context, groupID string, transitive bool, q store.Query) (store.Page[store.DirectoryObject], error) {
	return store.Page[store.DirectoryObject]{}, errNotImplemented
}

// CountMembers counts a group's direct or transitive members.
func (s *Service) CountMembers(ctx context.Context, groupID string, transitive bool) (int, error) {
	return 0, errNotImplemented
}

// MemberOfObject is one entry of Graph's memberOf / transitiveMemberOf:
// exactly one of Group (#microsoft.graph.group) and Role
// (#microsoft.graph.directoryRole) is set.
type MemberOfObject struct {
	Group *store.Group
	Role  *DirectoryRole
}

// ListMemberOf pages the groups and activated directory roles an object (a
// user by id or UPN, a group or a service principal) belongs to.
func (s *Service) ListMemberOf(ctx context.Context, objectID string, transitive bool, q store.Query) (store.Page[MemberOfObject], error) {
	return store.Page[MemberOfObject]{}, errNotImplemented
}
