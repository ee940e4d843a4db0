package sqltest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver

	"github.com/vigil-idp/vigil/internal/store/sqlstore"
)

// EnvPostgresDSN names the environment variable holding the PostgreSQL URL
// tests run against, e.g. postgres://postgres@127.0.0.1:5432/test?sslmode=disable.
const EnvPostgresDSN = "VIGIL_TEST_POSTGRES_DSN"

// openTimeout bounds connecting and migrating, so a dead server fails the
// test instead of hanging it.
const openTimeout = 30 * time.Second

// defaults come before the caller's options, which therefore win.
func defaults(opts []sqlstore.Option, extra ...sqlstore.Option) []sqlstore.Option {
	base := append([]sqlstore.Option{sqlstore.WithLogger(slog.New(slog.DiscardHandler))}, extra...)
	return append(base, opts...)
}

// SQLite opens a store on a new SQLite file in t.TempDir(); it is closed
// when the test ends.
func SQLite(t testing.TB, opts ...sqlstore.Option) *sqlstore.Store {
	t.Helper()
	dsn := "sqlite://" + filepath.Join(t.TempDir(), "vigil.db")
	return open(t, dsn, defaults(opts)...)
}

// Postgres opens a store in a new schema of the $VIGIL_TEST_POSTGRES_DSN
// database; the store is closed and the schema dropped when the test ends.
// It skips the test when the variable is unset and fails it when the
// database cannot be reached.
func Postgres(t testing.TB, opts ...sqlstore.Option) *sqlstore.Store {
	t.Helper()
	dsn := PostgresDSN(t)
	return open(t, dsn, defaults(opts, sqlstore.WithMaxOpenConns(8))...)
}

func open(t testing.TB, dsn string, opts ...sqlstore.Option) *sqlstore.Store {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), openTimeout)
	defer cancel()
	s, err := sqlstore.Open(ctx, dsn, opts...)
	if err != nil {
		t.Fatalf("sqltest: open store: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("sqltest: close store: %v", err)
		}
	})
	return s
}

// PostgresDSN creates a new, empty schema in the $VIGIL_TEST_POSTGRES_DSN
// database and returns a URL whose connections use it (search_path), for
// tests that open stores themselves (several nodes on one database). The
// schema is dropped when the test ends. It skips the test when the
// variable is unset and fails it when the database cannot be reached.
func PostgresDSN(t testing.TB) string {
	t.Helper()
	base := os.Getenv(EnvPostgresDSN)
	if base == "" {
		t.Skipf("sqltest: %s not set; skipping PostgreSQL", EnvPostgresDSN)
	}
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		t.Fatalf("sqltest: %s must be a postgres:// URL", EnvPostgresDSN)
	}
	schema := "vigil_test_" + randomHex(t, 8)

	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatalf("sqltest: open postgres: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), openTimeout)
	defer cancel()
	if _, err := admin.ExecContext(ctx, "CREATE SCHEMA "+schema); err != nil {
		admin.Close()
		t.Fatalf("sqltest: create schema on %s: %v", u.Redacted(), err)
	}
	t.Cleanup(func() {
		defer admin.Close()
		ctx, cancel := context.WithTimeout(context.Background(), openTimeout)
		defer cancel()
		if _, err := admin.ExecContext(ctx, "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Errorf("sqltest: drop schema %s: %v", schema, err)
		}
	})

	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// Each runs fn as the subtests "sqlite" and "postgres", each with a fresh
// store; the "postgres" subtest is skipped when $VIGIL_TEST_POSTGRES_DSN is
// unset.
func Each(t *testing.T, fn func(t *testing.T, s *sqlstore.Store), opts ...sqlstore.Option) {
	t.Helper()
	t.Run("sqlite", func(t *testing.T) { fn(t, SQLite(t, opts...)) })
	t.Run("postgres", func(t *testing.T) { fn(t, Postgres(t, opts...)) })
}

func randomHex(t testing.TB, n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatalf("sqltest: %v", err)
	}
	return hex.EncodeToString(b)
}
