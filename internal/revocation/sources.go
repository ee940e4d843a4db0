package revocation

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/vigil-idp/vigil/internal/odata"
	"github.com/vigil-idp/vigil/internal/store"
)

// batch is one chunk of a job's targets.
type batch struct {
	users    []store.User
	sessions []store.Session
	missing  []string // ids of users or sessions that do not exist
	// missingDetail is the result detail of a missing id.
	missingDetail string
	next          string // the cursor after this batch
	done          bool   // no targets after this batch
}

// reader is what preparing a chunk reads from: a transaction, or the
// store's read pool.
type reader interface {
	factsReader
	ListUsers(ctx context.Context, q store.Query) (store.Page[store.User], error)
	ListMembers(ctx context.Context, groupID string, transitive bool, q store.Query) (store.Page[store.DirectoryObject], error)
	GetSession(ctx context.Context, id string) (store.Session, error)
}

// source lists a job's targets in a stable order, a chunk at a time, from a
// cursor that survives restarts ("" is the start).
type source interface {
	next(ctx context.Context, r reader, cursor string, n int) (batch, error)
}

// sourceOf builds the source of a stored selector.
func sourceOf(spec jobSpec) (source, error) {
	switch {
	case len(spec.UserIDs) > 0:
		return idsSource(spec.UserIDs), nil
	case spec.Filter != "":
		e, err := parseUserFilter(spec.Filter)
		if err != nil {
			return nil, err
		}
		return filterSource{e}, nil
	case spec.GroupID != "":
		return groupSource{spec.GroupID, spec.Transitive}, nil
	case len(spec.SessionIDs) > 0:
		return sessionsSource(spec.SessionIDs), nil
	}
	return nil, errors.New("revocation: job has no selector")
}

// offset decodes an index cursor.
func offset(cursor string, n int) (int, error) {
	if cursor == "" {
		return 0, nil
	}
	i, err := strconv.Atoi(cursor)
	if err != nil || i < 0 || i > n {
		return 0, fmt.Errorf("revocation: bad job cursor %q", cursor)
	}
	return i, nil
}

// idsSource walks a list of user ids.
type idsSource []string

func (ids idsSource) next(ctx context.Context, r reader, cursor string, n int) (batch, error) {
	i, err := offset(cursor, len(ids))
	if err != nil {
		return batch{}, err
	}
	part := ids[i:min(i+n, len(ids))]
	users, err := usersByID(ctx, r, part)
	if err != nil {
		return batch{}, err
	}
	b := batch{next: strconv.Itoa(i + len(part)), done: i+len(part) == len(ids), missingDetail: "user not found"}
	seen := make(map[string]bool, len(part))
	for _, id := range part {
		if u, ok := users[id]; ok {
			if !seen[u.ID] { // named twice (by id and by userPrincipalName)
				seen[u.ID] = true
				b.users = append(b.users, u)
			}
		} else {
			b.missing = append(b.missing, id)
		}
	}
	return b, nil
}

// usersByID reads users in one query, keyed by the keys as given: an
// object id (a GUID, in any case) or, as Graph's /users/{id | userPrincipalName}
// accepts, a userPrincipalName (case-insensitive).
func usersByID(ctx context.Context, tx reader, ids []string) (map[string]store.User, error) {
	out := make(map[string]store.User, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	var guids, upns []odata.Literal
	for _, id := range ids {
		lit := odata.Literal{Kind: odata.LitString, Value: id}
		if odata.IsGUID(id) {
			guids = append(guids, lit)
		} else {
			upns = append(upns, lit)
		}
	}
	var filter odata.Expr
	for _, part := range []odata.Expr{inList("id", guids), inList("userPrincipalName", upns)} {
		switch {
		case part == nil:
		case filter == nil:
			filter = part
		default:
			filter = &odata.Or{Left: filter, Right: part}
		}
	}
	p, err := tx.ListUsers(ctx, store.Query{Filter: filter, Top: len(ids)})
	if err != nil {
		return nil, fmt.Errorf("revocation: read users: %w", err)
	}
	byKey := make(map[string]store.User, 2*len(p.Items))
	for _, u := range p.Items {
		byKey[u.ID] = u
		byKey[strings.ToLower(u.UserPrincipalName)] = u
	}
	for _, id := range ids {
		if u, ok := byKey[odata.CanonicalGUID(id)]; ok {
			out[id] = u
		} else if u, ok := byKey[strings.ToLower(id)]; ok {
			out[id] = u
		}
	}
	return out, nil
}

// inList is `prop in (values)`, nil for no values.
func inList(prop string, values []odata.Literal) odata.Expr {
	if len(values) == 0 {
		return nil
	}
	return &odata.In{Prop: prop, Values: values}
}

// filterSource walks the users matching a filter, by id.
type filterSource struct{ filter odata.Expr }

func (f filterSource) next(ctx context.Context, r reader, cursor string, n int) (batch, error) {
	p, err := r.ListUsers(ctx, store.Query{Filter: f.filter, Top: n, Cursor: cursor})
	if err != nil {
		return batch{}, fmt.Errorf("revocation: list users: %w", err)
	}
	return batch{users: p.Items, next: p.Next, done: p.Next == ""}, nil
}

// groupSource walks a group's direct or transitive members, by id,
// keeping the users.
type groupSource struct {
	groupID    string
	transitive bool
}

func (g groupSource) next(ctx context.Context, r reader, cursor string, n int) (batch, error) {
	p, err := r.ListMembers(ctx, g.groupID, g.transitive, store.Query{Top: n, Cursor: cursor})
	if err != nil {
		return batch{}, fmt.Errorf("revocation: list members: %w", err)
	}
	b := batch{next: p.Next, done: p.Next == ""}
	for _, m := range p.Items {
		if m.User != nil {
			b.users = append(b.users, *m.User)
		}
	}
	return b, nil
}

// sessionsSource walks a list of session ids.
type sessionsSource []string

func (ids sessionsSource) next(ctx context.Context, r reader, cursor string, n int) (batch, error) {
	i, err := offset(cursor, len(ids))
	if err != nil {
		return batch{}, err
	}
	part := ids[i:min(i+n, len(ids))]
	b := batch{next: strconv.Itoa(i + len(part)), done: i+len(part) == len(ids), missingDetail: "session not found"}
	for _, id := range part {
		s, err := r.GetSession(ctx, id)
		switch {
		case errors.Is(err, store.ErrNotFound):
			b.missing = append(b.missing, id)
		case err != nil:
			return batch{}, fmt.Errorf("revocation: get session: %w", err)
		default:
			b.sessions = append(b.sessions, s)
		}
	}
	return b, nil
}
