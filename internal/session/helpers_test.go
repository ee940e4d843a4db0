package session

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/vigil-idp/vigil/internal/clocktest"
	"github.com/vigil-idp/vigil/internal/secret"
	"github.com/vigil-idp/vigil/internal/store"
	"github.com/vigil-idp/vigil/internal/store/sqlstore"
	"github.com/vigil-idp/vigil/internal/store/sqlstore/sqltest"
)

var ctx = context.Background()

type clock = clocktest.Clock

func newClock() *clock { return clocktest.At(time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)) }

// fixture is a Service on a real store with a settable clock.
type fixture struct {
	st    *sqlstore.Store
	svc   *Service
	clock *clock
}

func newFixture(t testing.TB, st *sqlstore.Store) *fixture {
	t.Helper()
	c := newClock()
	return &fixture{st: st, clock: c, svc: &Service{
		Store:          st,
		Secrets:        secret.NewHasher([]byte(strings.Repeat("k", 32))),
		Now:            c.Now,
		PolicyCacheTTL: -1, // every test sees its own policy writes at once
	}}
}

// each runs fn on SQLite and (when configured) PostgreSQL.
func each(t *testing.T, fn func(t *testing.T, f *fixture)) {
	t.Helper()
	sqltest.Each(t, func(t *testing.T, st *sqlstore.Store) { fn(t, newFixture(t, st)) })
}

// user creates an enabled user.
func (f *fixture) user(t testing.TB) store.User {
	t.Helper()
	id := uuid.NewString()
	u := store.User{ID: id, UserPrincipalName: id[:8] + "@vigil.test", DisplayName: "User " + id[:8],
		AccountEnabled: true, CreatedDateTime: f.clock.Now().Add(-24 * time.Hour)}
	if err := f.st.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	return u
}

// setUser changes a user through the store.
func (f *fixture) setUser(t testing.TB, id string, fn func(*store.User)) {
	t.Helper()
	if _, err := f.st.UpdateUser(ctx, id, func(u store.User) (store.User, error) { fn(&u); return u, nil }); err != nil {
		t.Fatal(err)
	}
}

// login starts a session for u, touched by clientID.
func (f *fixture) login(t testing.TB, u store.User, clientID string) store.Session {
	t.Helper()
	s, err := f.svc.Start(ctx, u.ID, []string{"pwd"}, ClientInfo{IP: "192.0.2.1", UserAgent: "test"})
	if err != nil {
		t.Fatal(err)
	}
	if clientID != "" {
		if err := f.svc.Touch(ctx, s.ID, clientID); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

// issue issues a refresh token for u in s to clientID.
func (f *fixture) issue(t testing.TB, u store.User, s store.Session, clientID string) (string, store.RefreshToken) {
	t.Helper()
	v, rt, err := f.svc.IssueRefreshToken(ctx, NewRefresh{
		UserID: u.ID, SessionID: s.ID, ClientID: clientID, Scopes: []string{"https://graph.microsoft.com/User.Read", "offline_access"},
		Resource: "https://graph.microsoft.com", AuthTime: s.AuthTime,
	})
	if err != nil {
		t.Fatal(err)
	}
	return v, rt
}

// outbox returns every outbox event.
func (f *fixture) outbox(t testing.TB) []store.OutboxEvent {
	t.Helper()
	evs, err := f.st.ListOutbox(ctx, 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

func ptr[T any](v T) *T { return &v }
