package sqltest_test

import (
	"context"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/vigil-idp/vigil/internal/store"
	"github.com/vigil-idp/vigil/internal/store/sqlstore"
	"github.com/vigil-idp/vigil/internal/store/sqlstore/sqltest"
)

func TestEachGivesFreshWorkingStores(t *testing.T) {
	ran := map[string]bool{}
	sqltest.Each(t, func(t *testing.T, s *sqlstore.Store) {
		ran[s.Dialect()] = true
		ctx := context.Background()
		if _, err := s.GetUser(ctx, "u1"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("fresh store: GetUser = %v, want ErrNotFound", err)
		}
		u := store.User{ID: "u1", UserPrincipalName: "Ada@Example.com", DisplayName: "Ada", AccountEnabled: true,
			CreatedDateTime: time.Date(2024, 5, 6, 7, 8, 9, 123456789, time.UTC)}
		if err := s.CreateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
		got, err := s.GetUserByUPN(ctx, "ada@EXAMPLE.com")
		if err != nil {
			t.Fatal(err)
		}
		if got.UserPrincipalName != u.UserPrincipalName || !got.CreatedDateTime.Equal(u.CreatedDateTime.Truncate(time.Microsecond)) {
			t.Fatalf("got %+v", got)
		}
	})
	if !ran["sqlite"] {
		t.Error("sqlite subtest did not run")
	}
	if os.Getenv(sqltest.EnvPostgresDSN) != "" && !ran["postgres"] {
		t.Error("postgres subtest did not run although " + sqltest.EnvPostgresDSN + " is set")
	}
}

func TestPostgresSchemasAreIsolated(t *testing.T) {
	if os.Getenv(sqltest.EnvPostgresDSN) == "" {
		t.Skip(sqltest.EnvPostgresDSN + " not set")
	}
	a, b := sqltest.Postgres(t), sqltest.Postgres(t)
	ctx := context.Background()
	if err := a.PutMeta(ctx, "k", []byte("a")); err != nil {
		t.Fatal(err)
	}
	if _, err := b.GetMeta(ctx, "k"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("second schema sees the first one's data: %v", err)
	}
}
