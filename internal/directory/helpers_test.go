package directory

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/vigil-idp/vigil/internal/clocktest"
	"github.com/vigil-idp/vigil/internal/secret"
	"github.com/vigil-idp/vigil/internal/store"
	"github.com/vigil-idp/vigil/internal/store/sqlstore"
	"github.com/vigil-idp/vigil/internal/store/sqlstore/sqltest"
)

// testArgon2 is a cheap argon2id cost so tests hash quickly; the hash
// format and verification are the production ones.
var testArgon2 = secret.Argon2Params{Memory: 1024, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

type clock = clocktest.Clock

var t0 = time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC)

// fixture is a Service on a real store with a settable clock.
type fixture struct {
	*Service
	clock *clock
	ctx   context.Context
	t     *testing.T
}

// each runs fn against every configured backend (SQLite always,
// PostgreSQL when VIGIL_TEST_POSTGRES_DSN is set).
func each(t *testing.T, fn func(f *fixture)) {
	t.Helper()
	sqltest.Each(t, func(t *testing.T, st *sqlstore.Store) {
		fn(newFixture(t, st))
	})
}

func newFixture(t *testing.T, st store.Store) *fixture {
	c := clocktest.At(t0)
	return &fixture{
		Service: &Service{
			Store:        st,
			Now:          c.Now,
			HashPassword: func(pw string) (string, error) { return secret.HashPassword(pw, testArgon2) },
			Secrets:      secret.NewHasher([]byte("directory test key")),
		},
		clock: c,
		ctx:   context.Background(),
		t:     t,
	}
}

func (f *fixture) user(upn string) store.User {
	f.t.Helper()
	u, err := f.CreateUser(f.ctx, UserInput{
		AccountEnabled:    Some(true),
		DisplayName:       Some("User " + upn),
		UserPrincipalName: Some(upn),
		MailNickname:      Some(strings.Split(upn, "@")[0]),
	})
	if err != nil {
		f.t.Fatalf("CreateUser(%s): %v", upn, err)
	}
	return u
}

func (f *fixture) group(name string, roleAssignable bool) store.Group {
	f.t.Helper()
	g, err := f.CreateGroup(f.ctx, GroupInput{
		DisplayName:        Some(name),
		MailNickname:       Some(name),
		MailEnabled:        Some(false),
		SecurityEnabled:    Some(true),
		IsAssignableToRole: Some(roleAssignable),
	})
	if err != nil {
		f.t.Fatalf("CreateGroup(%s): %v", name, err)
	}
	return g
}

// app registers an application and its service principal.
func (f *fixture) app(name string) (store.Application, store.ServicePrincipal) {
	f.t.Helper()
	a, err := f.CreateApplication(f.ctx, ApplicationInput{DisplayName: Some(name)})
	if err != nil {
		f.t.Fatalf("CreateApplication(%s): %v", name, err)
	}
	sp, err := f.CreateServicePrincipal(f.ctx, a.AppID)
	if err != nil {
		f.t.Fatalf("CreateServicePrincipal(%s): %v", name, err)
	}
	return a, sp
}

func (f *fixture) addMember(groupID, memberID string) {
	f.t.Helper()
	if err := f.AddMember(f.ctx, groupID, memberID); err != nil {
		f.t.Fatalf("AddMember(%s, %s): %v", groupID, memberID, err)
	}
}

// wantErr fails unless err is a *Error of kind k whose message contains
// every string in msg.
func wantErr(t *testing.T, err error, k ErrorKind, msg ...string) *Error {
	t.Helper()
	var de *Error
	if !errors.As(err, &de) {
		t.Fatalf("error = %v, want a *directory.Error of kind %v", err, k)
	}
	if de.Kind != k {
		t.Fatalf("kind = %v (%v), want %v", de.Kind, de, k)
	}
	for _, m := range msg {
		if !strings.Contains(de.Message, m) {
			t.Fatalf("message %q does not contain %q", de.Message, m)
		}
	}
	return de
}

func notFoundMsg(id string) string {
	return "Resource '" + id + "' does not exist or one of its queried reference-property objects are not present."
}

func memberIDs(objs []store.DirectoryObject) []string {
	out := make([]string, len(objs))
	for i, o := range objs {
		out[i] = o.ID()
	}
	return out
}

func storeQuery() store.Query { return store.Query{} }
