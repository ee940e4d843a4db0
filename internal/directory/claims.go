package directory

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/vigil-idp/vigil/internal/revocation"
	"github.com/vigil-idp/vigil/internal/store"
)

// Token claims a directory write can change, as CAEP token-claims-change
// names them (CAEP 1.0 §3.2 "claims": the changed claims, with their new
// values).
const (
	// claimWids is the access token's directory roles: the sorted role
	// template ids the user holds (EffectiveRoles).
	claimWids = "wids"
	// claimGroups is the sorted ids of the groups the user is a direct or
	// transitive member of (Entra's groups claim).
	claimGroups = "groups"
)

// claimsWatch remembers the claims of some users before a write, so that
// after it the users whose claims changed get a token-claims-change.
type claimsWatch struct {
	users  []string
	names  []string              // claim names watched (claimWids, claimGroups)
	before []map[string][]string // by users index
}

// watchClaims reads the named claims of users in tx, before the write.
func watchClaims(ctx context.Context, tx store.Tx, users []string, names ...string) (*claimsWatch, error) {
	w := &claimsWatch{users: users, names: names, before: make([]map[string][]string, len(users))}
	for i, id := range users {
		c, err := w.read(ctx, tx, id)
		if err != nil {
			return nil, err
		}
		w.before[i] = c
	}
	return w, nil
}

func (w *claimsWatch) read(ctx context.Context, tx store.Tx, userID string) (map[string][]string, error) {
	out := make(map[string][]string, len(w.names))
	for _, name := range w.names {
		var v []string
		var err error
		switch name {
		case claimWids:
			v, err = tx.EffectiveRoleIDs(ctx, userID)
		case claimGroups:
			v, err = transitiveGroupIDs(ctx, tx, userID)
		}
		if err != nil {
			return nil, wrap("read token claims", userID, err, "")
		}
		slices.Sort(v)
		out[name] = append([]string{}, slices.Compact(v)...) // [] rather than null
	}
	return out, nil
}

// emit reads the claims again, after the write, and appends one CAEP
// token-claims-change per user whose claims changed, naming only the
// changed claims with their new values; txn is the write's audit
// correlation id.
func (w *claimsWatch) emit(ctx context.Context, tx store.Tx, in revocation.Initiator, at time.Time, correlationID string) error {
	var changes []revocation.ClaimsChange
	for i, id := range w.users {
		after, err := w.read(ctx, tx, id)
		if err != nil {
			return err
		}
		changed := map[string]any{}
		for _, name := range w.names {
			if !slices.Equal(w.before[i][name], after[name]) {
				changed[name] = after[name]
			}
		}
		if len(changed) > 0 {
			changes = append(changes, revocation.ClaimsChange{UserID: id, Claims: changed})
		}
	}
	if err := revocation.AppendClaimsChangeInTx(ctx, tx, in, changes, at, correlationID); err != nil {
		return fmt.Errorf("directory: %w", err)
	}
	return nil
}

// transitiveGroupIDs returns the ids of the groups memberID is directly
// or transitively in.
func transitiveGroupIDs(ctx context.Context, tx store.Members, memberID string) ([]string, error) {
	var out []string
	q := store.Query{Top: 500}
	for {
		p, err := tx.ListMemberOf(ctx, memberID, true, q)
		if err != nil {
			return nil, err
		}
		for _, g := range p.Items {
			out = append(out, g.ID)
		}
		if p.Next == "" {
			return out, nil
		}
		q.Cursor = p.Next
	}
}

// roleHolders returns the users whose roles change when p is assigned a
// role or loses one: p itself for a user, the (transitive, which for a
// role-assignable group is direct) user members of a group, nobody for a
// service principal.
func roleHolders(ctx context.Context, tx store.Tx, p store.DirectoryObject) ([]string, error) {
	switch p.Kind {
	case store.KindUser:
		return []string{p.ID()}, nil
	case store.KindGroup:
		ids, err := tx.TransitiveMemberUserIDs(ctx, p.ID())
		if err != nil {
			return nil, wrap("role holders", p.ID(), err, "")
		}
		return ids, nil
	}
	return nil, nil
}

// watchRoleHolders watches the wids of the users whose roles change when
// p gains or loses a role assignment.
func (s *Service) watchRoleHolders(ctx context.Context, tx store.Tx, p store.DirectoryObject) (*claimsWatch, error) {
	users, err := roleHolders(ctx, tx, p)
	if err != nil {
		return nil, err
	}
	return watchClaims(ctx, tx, users, claimWids)
}

// watchMember watches the claims that adding m to g or removing it can
// change: for a user, its groups and, when g is role-assignable, its wids;
// for a group, the groups of every user nested below it (role-assignable
// groups cannot contain groups, so no wids change that way). Service
// principals carry no user claims.
func watchMember(ctx context.Context, tx store.Tx, g store.Group, m store.DirectoryObject) (*claimsWatch, error) {
	switch m.Kind {
	case store.KindUser:
		names := []string{claimGroups}
		if g.IsAssignableToRole {
			names = append(names, claimWids)
		}
		return watchClaims(ctx, tx, []string{m.ID()}, names...)
	case store.KindGroup:
		users, err := tx.TransitiveMemberUserIDs(ctx, m.ID())
		if err != nil {
			return nil, wrap("nested members", m.ID(), err, "")
		}
		return watchClaims(ctx, tx, users, claimGroups)
	}
	return nil, nil
}

// watchGroupDeletion watches the claims deleting g changes: the groups of
// every user nested below it and, when g is role-assignable, their wids.
func watchGroupDeletion(ctx context.Context, tx store.Tx, g store.Group) (*claimsWatch, error) {
	users, err := tx.TransitiveMemberUserIDs(ctx, g.ID)
	if err != nil {
		return nil, wrap("delete group", g.ID, err, "")
	}
	names := []string{claimGroups}
	if g.IsAssignableToRole {
		names = append(names, claimWids)
	}
	return watchClaims(ctx, tx, users, names...)
}

// auditClaims appends the audit record of c and the token-claims-change
// events of the users w watches whose claims c changed, in tx, with one
// correlation id (the events' txn) and one time.
func (s *Service) auditClaims(ctx context.Context, tx store.Tx, c change, w *claimsWatch) error {
	c.correlation, c.at = s.newID(), s.now()
	if err := s.audit(ctx, tx, c); err != nil {
		return err
	}
	if w == nil {
		return nil
	}
	return w.emit(ctx, tx, initiator(ctx), c.at, c.correlation)
}
