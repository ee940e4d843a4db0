package revocation

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/vigil-idp/vigil/internal/authz"
	"github.com/vigil-idp/vigil/internal/clocktest"
	"github.com/vigil-idp/vigil/internal/store"
	"github.com/vigil-idp/vigil/internal/store/sqlstore"
	"github.com/vigil-idp/vigil/internal/store/sqlstore/sqltest"
)

// Directory role template ids (reference directory-roles.json).
const (
	roleGlobalAdmin   = "62e90394-69f5-4237-9190-012177145e10"
	roleHelpdeskAdmin = "729827e3-9c14-49f7-bb1b-9608f156bbb8"
	roleUserAdmin     = "fe930be7-5e62-47db-91af-98c3a49a38b1"
)

var t0 = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

type clock = clocktest.Clock

// fixture is a Service on a real store with a settable clock.
type fixture struct {
	t     *testing.T
	ctx   context.Context
	st    *sqlstore.Store
	clock *clock
	svc   *Service
}

// each runs fn on SQLite and, when configured, PostgreSQL.
func each(t *testing.T, fn func(f *fixture)) {
	t.Helper()
	sqltest.Each(t, func(t *testing.T, st *sqlstore.Store) { fn(newFixture(t, st)) })
}

func newFixture(t *testing.T, st *sqlstore.Store) *fixture {
	c := clocktest.At(t0)
	return &fixture{t: t, ctx: context.Background(), st: st, clock: c, svc: f0(st, c, "worker-a")}
}

// f0 builds a Service on st with clock c.
func f0(st *sqlstore.Store, c *clock, worker string) *Service {
	return &Service{Store: st, Now: c.Now, WorkerID: worker, ChunkSize: 3}
}

// worker returns another Service (another node) on the same store.
func (f *fixture) worker(id string) *Service { return f0(f.st, f.clock, id) }

// user creates a user whose T is an hour before t0, with one live session
// and one refresh token in it.
func (f *fixture) user(upn string) store.User {
	f.t.Helper()
	u := store.User{
		ID: uuid.NewString(), UserPrincipalName: upn, DisplayName: "User " + upn, AccountEnabled: true,
		CreatedDateTime: t0.Add(-time.Hour), SignInSessionsValidFrom: t0.Add(-time.Hour), RefreshTokensValidFrom: t0.Add(-time.Hour),
		BusinessPhones: []string{},
	}
	if err := f.st.CreateUser(f.ctx, u); err != nil {
		f.t.Fatalf("CreateUser(%s): %v", upn, err)
	}
	f.session(u.ID)
	return u
}

// users creates n users named prefix-i@contoso.com.
func (f *fixture) users(prefix string, n int) []store.User {
	out := make([]store.User, n)
	for i := range out {
		out[i] = f.user(fmt.Sprintf("%s-%02d@contoso.com", prefix, i))
	}
	return out
}

// session creates a live session of userID with one refresh token.
func (f *fixture) session(userID string) store.Session {
	f.t.Helper()
	at := t0.Add(-30 * time.Minute)
	s := store.Session{
		ID: uuid.NewString(), UserID: userID, CreatedAt: at, AuthTime: at, LastActiveAt: at,
		AMR: []string{"pwd"}, IP: "192.0.2.1", UserAgent: "test", ClientIDs: []string{"client-1"},
	}
	if err := f.st.CreateSession(f.ctx, s); err != nil {
		f.t.Fatalf("CreateSession: %v", err)
	}
	h := sha256.Sum256([]byte(s.ID))
	rt := store.RefreshToken{
		ID: uuid.NewString(), Hash: h[:], FamilyID: uuid.NewString(), SessionID: s.ID, UserID: userID,
		ClientID: "client-1", Scopes: []string{"openid"}, Resource: "https://graph.microsoft.com",
		AuthTime: at, CreatedAt: at, ExpiresAt: t0.Add(24 * time.Hour),
	}
	if err := f.st.CreateRefreshToken(f.ctx, rt); err != nil {
		f.t.Fatalf("CreateRefreshToken: %v", err)
	}
	return s
}

// state is what a user's revocation state looks like in the store.
type state struct {
	T             time.Time
	liveSessions  int
	liveTokens    int
	totalSessions int
}

func (f *fixture) state(userID string) state {
	f.t.Helper()
	u, err := f.st.GetUser(f.ctx, userID)
	if err != nil {
		f.t.Fatalf("GetUser(%s): %v", userID, err)
	}
	ss, err := f.st.ListSessionsOfUser(f.ctx, userID, true)
	if err != nil {
		f.t.Fatal(err)
	}
	st := state{T: u.SignInSessionsValidFrom, totalSessions: len(ss)}
	for _, s := range ss {
		if s.RevokedAt == nil {
			st.liveSessions++
		}
		h := sha256.Sum256([]byte(s.ID))
		rt, err := f.st.GetRefreshTokenByHash(f.ctx, h[:])
		if err != nil {
			f.t.Fatal(err)
		}
		if rt.RevokedAt == nil {
			st.liveTokens++
		}
	}
	return st
}

// wantRevoked fails unless userID's T is at and nothing of theirs is live.
func (f *fixture) wantRevoked(userID string, at time.Time) {
	f.t.Helper()
	st := f.state(userID)
	if !st.T.Equal(at) || st.liveSessions != 0 || st.liveTokens != 0 {
		f.t.Fatalf("user %s: T %v, %d live sessions, %d live tokens; want T %v and nothing live", userID, st.T, st.liveSessions, st.liveTokens, at)
	}
}

// wantUntouched fails unless userID still has its original T and
// everything live.
func (f *fixture) wantUntouched(userID string) {
	f.t.Helper()
	st := f.state(userID)
	if !st.T.Equal(t0.Add(-time.Hour)) || st.liveSessions != st.totalSessions || st.liveTokens != st.totalSessions {
		f.t.Fatalf("user %s was touched: %+v", userID, st)
	}
}

// audit returns every audit record, newest first.
func (f *fixture) audit() []store.AuditRecord {
	f.t.Helper()
	var out []store.AuditRecord
	q := store.Query{Top: 1000}
	for {
		p, err := f.st.ListAudit(f.ctx, q)
		if err != nil {
			f.t.Fatal(err)
		}
		out = append(out, p.Items...)
		if p.Next == "" {
			return out
		}
		q.Cursor = p.Next
	}
}

// outbox returns every outbox event in order.
func (f *fixture) outbox() []store.OutboxEvent {
	f.t.Helper()
	var out []store.OutboxEvent
	var after int64
	for {
		es, err := f.st.ListOutbox(f.ctx, after, 1000)
		if err != nil {
			f.t.Fatal(err)
		}
		if len(es) == 0 {
			return out
		}
		out = append(out, es...)
		after = es[len(es)-1].Seq
	}
}

// payload decodes an outbox event written by this package.
func payload(t *testing.T, e store.OutboxEvent) Event {
	t.Helper()
	var p Event
	if err := json.Unmarshal(e.Payload, &p); err != nil {
		t.Fatalf("outbox payload: %v", err)
	}
	return p
}

// Principals.
func app(roles ...string) Initiator {
	return Initiator{
		Principal:      &authz.Principal{Kind: authz.AppOnly, ClientID: "11111111-1111-1111-1111-111111111111", ObjectID: "22222222-2222-2222-2222-222222222222", Roles: roles},
		AppDisplayName: "Offboarding bot",
	}
}

func admin(id string, roles ...string) Initiator {
	return Initiator{
		Principal: &authz.Principal{
			Kind: authz.Delegated, ClientID: "33333333-3333-3333-3333-333333333333", ObjectID: id,
			Scopes: []string{"User.RevokeSessions.All"}, RoleTemplateIDs: roles,
		},
		UserPrincipalName: "admin@contoso.com", DisplayName: "Admin", IPAddress: "198.51.100.7",
	}
}

// assign gives userID a directory role.
func (f *fixture) assign(userID, role string) {
	f.t.Helper()
	err := f.st.CreateRoleAssignment(f.ctx, store.RoleAssignment{
		ID: uuid.NewString(), PrincipalID: userID, PrincipalKind: store.KindUser, RoleDefinitionID: role, DirectoryScopeID: "/", CreatedDateTime: t0,
	})
	if err != nil {
		f.t.Fatalf("CreateRoleAssignment: %v", err)
	}
}

// group creates a group.
func (f *fixture) group(name string, roleAssignable bool) store.Group {
	f.t.Helper()
	g := store.Group{ID: uuid.NewString(), DisplayName: name, MailNickname: name, SecurityEnabled: true, GroupTypes: []string{}, IsAssignableToRole: roleAssignable, CreatedDateTime: t0}
	if err := f.st.CreateGroup(f.ctx, g); err != nil {
		f.t.Fatalf("CreateGroup: %v", err)
	}
	return g
}

func (f *fixture) addMember(groupID, memberID string, kind store.ObjectKind) {
	f.t.Helper()
	if err := f.st.AddMember(f.ctx, groupID, memberID, kind); err != nil {
		f.t.Fatalf("AddMember: %v", err)
	}
}

// work runs svc's worker until no job is left.
func (f *fixture) work(svc *Service) {
	f.t.Helper()
	if err := svc.Work(f.ctx); err != nil {
		f.t.Fatalf("Work: %v", err)
	}
}

// job returns a revocation as stored.
func (f *fixture) job(id string) store.Revocation {
	f.t.Helper()
	r, _, err := f.svc.Get(f.ctx, id)
	if err != nil {
		f.t.Fatalf("Get(%s): %v", id, err)
	}
	return r
}

// results returns a job's results keyed by target.
func (f *fixture) results(id string) map[string]store.RevocationResult {
	f.t.Helper()
	out := map[string]store.RevocationResult{}
	q := store.Query{Top: 1000}
	for {
		p, err := f.svc.Results(f.ctx, id, "", q)
		if err != nil {
			f.t.Fatal(err)
		}
		for _, r := range p.Items {
			out[r.UserID] = r
		}
		if p.Next == "" {
			return out
		}
		q.Cursor = p.Next
	}
}
