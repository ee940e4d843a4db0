package directory

import (
	"context"
	"slices"
	"strings"

	"github.com/vigil-idp/vigil/internal/revocation"
	"github.com/vigil-idp/vigil/internal/store"
)

// GroupInput is the body of a group create or update (PATCH). On create,
// DisplayName, MailNickname, MailEnabled and SecurityEnabled are required,
// as in Graph (https://learn.microsoft.com/en-us/graph/api/group-post-groups).
type GroupInput struct {
	DisplayName        Optional[string]
	Description        Optional[string]
	MailNickname       Optional[string]
	SecurityEnabled    Optional[bool]
	MailEnabled        Optional[bool]
	IsAssignableToRole Optional[bool]
	GroupTypes         Optional[[]string]
}

// Group type values (Graph group.groupTypes).
const (
	GroupTypeUnified           = "Unified"
	GroupTypeDynamicMembership = "DynamicMembership"
)

const maxGroupDescription = 1024

func (in *GroupInput) validate(create bool) error {
	err := checkPresence("Group", create, []presence{
		presenceOf("displayName", in.DisplayName),
		presenceOf("mailEnabled", in.MailEnabled),
		presenceOf("mailNickname", in.MailNickname),
		presenceOf("securityEnabled", in.SecurityEnabled),
	}, presenceOf("isAssignableToRole", in.IsAssignableToRole))
	if err != nil {
		return err
	}
	if in.DisplayName.Set {
		if in.DisplayName.Value == "" {
			return invalidProp("displayName", "Group", "the value is empty")
		}
		if err := checkLen("displayName", "Group", in.DisplayName.Value, maxDisplayName); err != nil {
			return err
		}
	}
	if in.Description.has() {
		if err := checkLen("description", "Group", in.Description.Value, maxGroupDescription); err != nil {
			return err
		}
	}
	if in.MailNickname.Set {
		if err := validateMailNickname("Group", in.MailNickname.Value); err != nil {
			return err
		}
	}
	if in.GroupTypes.has() {
		seen := map[string]bool{}
		for _, t := range in.GroupTypes.Value {
			switch {
			case strings.EqualFold(t, GroupTypeDynamicMembership):
				return invalidProp("groupTypes", "Group", "Vigil supports assigned (static) membership only; 'DynamicMembership' groups are not supported")
			case t != GroupTypeUnified:
				return invalidProp("groupTypes", "Group", "the only supported value is 'Unified'")
			case seen[t]:
				return invalidProp("groupTypes", "Group", "duplicate value '"+t+"'")
			}
			seen[t] = true
		}
	}
	return nil
}

// checkGroup applies the rules that relate several properties of the group
// as it will be stored:
//   - mailEnabled requires the "Unified" type, and "Unified" requires
//     mailEnabled: Graph creates only Microsoft 365 groups (Unified,
//     mail-enabled) and security groups (not mail-enabled); mail-enabled
//     security groups and distribution lists cannot be created through it
//     (https://learn.microsoft.com/en-us/graph/api/group-post-groups).
//   - isAssignableToRole requires securityEnabled
//     (https://learn.microsoft.com/en-us/entra/identity/role-based-access-control/groups-create-eligible).
func checkGroup(g store.Group) error {
	unified := slices.Contains(g.GroupTypes, GroupTypeUnified)
	switch {
	case g.MailEnabled && !unified:
		return invalidProp("mailEnabled", "Group", "only Microsoft 365 groups (groupTypes ['Unified']) can be mail-enabled; mail-enabled security groups and distribution lists are not supported")
	case unified && !g.MailEnabled:
		return invalidProp("mailEnabled", "Group", "a Microsoft 365 group (groupTypes ['Unified']) must be mail-enabled")
	case g.IsAssignableToRole && !g.SecurityEnabled:
		return invalidProp("isAssignableToRole", "Group", "a role-assignable group must have securityEnabled set to true")
	}
	return nil
}

func (in *GroupInput) apply(g *store.Group) {
	if in.DisplayName.Set {
		g.DisplayName = in.DisplayName.Value
	}
	if in.Description.Set {
		if in.Description.Null {
			g.Description = nil
		} else {
			v := in.Description.Value
			g.Description = &v
		}
	}
	if in.MailNickname.Set {
		g.MailNickname = in.MailNickname.Value
	}
	if in.MailEnabled.Set {
		g.MailEnabled = in.MailEnabled.Value
	}
	if in.SecurityEnabled.Set {
		g.SecurityEnabled = in.SecurityEnabled.Value
	}
	if in.GroupTypes.Set {
		g.GroupTypes = slices.Clone(in.GroupTypes.Value)
		if g.GroupTypes == nil {
			g.GroupTypes = []string{}
		}
	}
}

// CreateGroup creates a group. isAssignableToRole can be set only here, as
// in Entra.
func (s *Service) CreateGroup(ctx context.Context, in GroupInput) (store.Group, error) {
	if err := in.validate(true); err != nil {
		return store.Group{}, err
	}
	g := store.Group{ID: s.newID(), CreatedDateTime: s.now(), GroupTypes: []string{}}
	in.apply(&g)
	g.IsAssignableToRole = in.IsAssignableToRole.Value
	if err := checkGroup(g); err != nil {
		return store.Group{}, err
	}
	err := s.audited(ctx, change{
		activity: ActivityAddGroup, category: revocation.CategoryGroupManagement, operation: opAdd,
		targets: []revocation.AuditTarget{groupTarget(g, modified(groupProps(g)))},
	}, func(tx store.Tx) error {
		return wrap("create group", g.ID, tx.CreateGroup(ctx, g), msgConflictingValue)
	})
	if err != nil {
		return store.Group{}, err
	}
	return g, nil
}

// GetGroup returns a group by id.
func (s *Service) GetGroup(ctx context.Context, id string) (store.Group, error) {
	g, err := s.Store.GetGroup(ctx, id)
	return g, wrap("get group", id, err, "")
}

// UpdateGroup applies a PATCH to a group. isAssignableToRole is immutable
// after creation (Entra: "can't be changed after the group is created"): a
// PATCH that sets it to its current value is accepted, any other is
// refused.
func (s *Service) UpdateGroup(ctx context.Context, id string, in GroupInput) (store.Group, error) {
	if err := in.validate(false); err != nil {
		return store.Group{}, err
	}
	var out store.Group
	err := s.Store.InTx(ctx, func(tx store.Tx) error {
		var before store.Group
		g, err := tx.UpdateGroup(ctx, id, func(g store.Group) (store.Group, error) {
			before = g
			if in.IsAssignableToRole.Set && in.IsAssignableToRole.Value != g.IsAssignableToRole {
				return g, invalidProp("isAssignableToRole", "Group", "the property can only be set when the group is created")
			}
			in.apply(&g)
			return g, checkGroup(g)
		})
		if err != nil {
			return wrap("update group", id, err, msgConflictingValue)
		}
		out = g
		mods := modified(diffProps(groupProps(before), groupProps(g)))
		if len(mods) == 0 {
			return nil
		}
		return s.audit(ctx, tx, change{
			activity: ActivityUpdateGroup, category: revocation.CategoryGroupManagement, operation: opUpdate,
			targets: []revocation.AuditTarget{groupTarget(g, mods)},
		})
	})
	return out, err
}

// DeleteGroup deletes a group; the store removes memberships in and of it
// and role assignments to it in the same transaction.
func (s *Service) DeleteGroup(ctx context.Context, id string) error {
	return s.Store.InTx(ctx, func(tx store.Tx) error {
		g, err := tx.GetGroup(ctx, id)
		if err != nil {
			return wrap("delete group", id, err, "")
		}
		w, err := watchGroupDeletion(ctx, tx, g)
		if err != nil {
			return err
		}
		if err := tx.DeleteGroup(ctx, id); err != nil {
			return wrap("delete group", id, err, "")
		}
		return s.auditClaims(ctx, tx, change{
			activity: ActivityDeleteGroup, category: revocation.CategoryGroupManagement, operation: opDelete,
			targets: []revocation.AuditTarget{groupTarget(g, nil)},
		}, w)
	})
}

// ListGroups pages groups matching q.
func (s *Service) ListGroups(ctx context.Context, q store.Query) (store.Page[store.Group], error) {
	p, err := s.Store.ListGroups(ctx, q)
	return p, listErr("list groups", err)
}

// CountGroups counts groups matching q's filter and search.
func (s *Service) CountGroups(ctx context.Context, q store.Query) (int, error) {
	n, err := s.Store.CountGroups(ctx, q)
	return n, listErr("count groups", err)
}
