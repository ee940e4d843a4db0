package sqlstore_test

import (
	"context"
	"errors"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/vigil-idp/vigil/internal/store"
	"github.com/vigil-idp/vigil/internal/store/sqlstore"
	"github.com/vigil-idp/vigil/internal/store/sqlstore/sqltest"
)

var ctx = context.Background()

// quiet keeps migration logs out of test output.
var quiet = sqlstore.WithLogger(slog.New(slog.DiscardHandler))

func TestOpenRejectsBadDSN(t *testing.T) {
	for _, dsn := range []string{
		"mysql://root:s3cret@db/vigil",
		"file:///var/lib/vigil.db",
		"/var/lib/vigil.db",
		"",
		"sqlite://",
		"sqlite://vigil.db?mode=memory",
	} {
		s, err := sqlstore.Open(ctx, dsn, quiet)
		if err == nil {
			s.Close()
			t.Errorf("Open(%q) succeeded", dsn)
			continue
		}
		if strings.Contains(err.Error(), "s3cret") {
			t.Errorf("Open(%q) error leaks the password: %v", dsn, err)
		}
	}
}

func TestOpenPostgresUnreachable(t *testing.T) {
	c, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	s, err := sqlstore.Open(c, "postgres://postgres:s3cret@127.0.0.1:1/vigil?sslmode=disable&connect_timeout=2")
	if err == nil {
		s.Close()
		t.Fatal("Open of a closed port succeeded")
	}
	if strings.Contains(err.Error(), "s3cret") {
		t.Errorf("error leaks the password: %v", err)
	}
}

func TestOpenSQLiteRelativePathAndModes(t *testing.T) {
	t.Chdir(t.TempDir())
	s, err := sqlstore.Open(ctx, "sqlite://data/sub/vigil.db", quiet)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.CreateUser(ctx, store.User{ID: "u1", UserPrincipalName: "a@example.com", DisplayName: "A"}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		path string
		mode fs.FileMode
	}{
		{"data/sub", 0o700 | fs.ModeDir},
		{"data/sub/vigil.db", 0o600},
		{"data/sub/vigil.db-wal", 0o600},
	} {
		fi, err := os.Stat(c.path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode() != c.mode {
			t.Errorf("%s: mode %v, want %v", c.path, fi.Mode(), c.mode)
		}
	}
}

func TestSQLiteSettings(t *testing.T) {
	s := sqltest.SQLite(t)
	for pragma, want := range map[string]string{
		"journal_mode": "wal",
		"synchronous":  "2", // FULL: every commit syncs the WAL
		"foreign_keys": "1",
		"busy_timeout": "10000",
	} {
		got, err := s.Pragma(ctx, pragma)
		if err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("PRAGMA %s = %s, want %s", pragma, got, want)
		}
	}
}

func TestReopenKeepsDataAndSchema(t *testing.T) {
	dsn := "sqlite://" + filepath.Join(t.TempDir(), "vigil.db")
	for i := range 3 {
		s, err := sqlstore.Open(ctx, dsn, quiet)
		if err != nil {
			t.Fatalf("open #%d: %v", i+1, err)
		}
		if i == 0 {
			if err := s.PutMeta(ctx, "k", []byte("v")); err != nil {
				t.Fatal(err)
			}
		}
		if v, err := s.GetMeta(ctx, "k"); err != nil || string(v) != "v" {
			t.Fatalf("open #%d: GetMeta = %q, %v", i+1, v, err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

func TestWithClockFillsCreatedDateTime(t *testing.T) {
	now := time.Date(2025, 1, 2, 3, 4, 5, 678901234, time.FixedZone("CET", 3600))
	sqltest.Each(t, func(t *testing.T, s *sqlstore.Store) {
		if err := s.CreateGroup(ctx, store.Group{ID: "g1", DisplayName: "g", MailNickname: "g"}); err != nil {
			t.Fatal(err)
		}
		g, err := s.GetGroup(ctx, "g1")
		if err != nil {
			t.Fatal(err)
		}
		if want := now.UTC().Truncate(sqlstore.Precision); g.CreatedDateTime != want {
			t.Fatalf("CreatedDateTime = %v, want %v", g.CreatedDateTime, want)
		}
	}, sqlstore.WithClock(func() time.Time { return now }))
}

// TestPostgresNodesStartTogether opens one empty schema from several
// "nodes" at once: the migration lock lets exactly one migrate and every
// node then works on the same data.
func TestPostgresNodesStartTogether(t *testing.T) {
	dsn := sqltest.PostgresDSN(t)
	const nodes = 4
	stores := make([]*sqlstore.Store, nodes)
	errs := make([]error, nodes)
	var wg sync.WaitGroup
	for i := range nodes {
		wg.Go(func() { stores[i], errs[i] = sqlstore.Open(ctx, dsn, quiet, sqlstore.WithMaxOpenConns(2)) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("node %d: %v", i, err)
		}
		defer stores[i].Close()
	}
	if err := stores[0].PutMeta(ctx, "written-by", []byte("node 0")); err != nil {
		t.Fatal(err)
	}
	for i, s := range stores {
		if v, err := s.GetMeta(ctx, "written-by"); err != nil || string(v) != "node 0" {
			t.Errorf("node %d reads %q, %v", i, v, err)
		}
	}
}

// TestInTxRetries checks which errors make InTx run fn again: PostgreSQL's
// serialization failures and deadlocks, up to WithMaxAttempts runs, and
// nothing else; SQLite never retries.
func TestInTxRetries(t *testing.T) {
	serialization := &pgconn.PgError{Code: "40001", Message: "could not serialize access"}
	deadlock := &pgconn.PgError{Code: "40P01", Message: "deadlock detected"}
	other := &pgconn.PgError{Code: "22001", Message: "value too long"}
	sqltest.Each(t, func(t *testing.T, s *sqlstore.Store) {
		retries := s.Dialect() == "postgres"
		for _, c := range []struct {
			name     string
			failures []error // returned by successive runs of fn; then nil
			runs     int     // runs expected in PostgreSQL
			err      error   // InTx's error in PostgreSQL
		}{
			{"success", nil, 1, nil},
			{"serialization then success", []error{serialization}, 2, nil},
			{"deadlock twice then success", []error{deadlock, deadlock}, 3, nil},
			{"always serialization", []error{serialization, serialization, serialization, serialization}, 3, serialization},
			{"other error", []error{other}, 1, other},
		} {
			if !retries { // one run, which fails with the first failure
				c.runs, c.err = 1, nil
				if len(c.failures) > 0 {
					c.err = c.failures[0]
				}
			}
			t.Run(c.name, func(t *testing.T) {
				key := "retry " + c.name
				runs := 0
				err := s.InTx(ctx, func(tx store.Tx) error {
					runs++
					if err := tx.PutMeta(ctx, key, []byte{byte(runs)}); err != nil {
						return err
					}
					if runs <= len(c.failures) {
						return c.failures[runs-1]
					}
					return nil
				})
				if runs != c.runs || !errors.Is(err, c.err) || (c.err == nil) != (err == nil) {
					t.Fatalf("%d runs, error %v; want %d runs, error %v", runs, err, c.runs, c.err)
				}
				v, err := s.GetMeta(ctx, key)
				switch {
				case c.err != nil && !errors.Is(err, store.ErrNotFound):
					t.Fatalf("failed transaction left %v, %v", v, err)
				case c.err == nil && (err != nil || int(v[0]) != runs):
					t.Fatalf("committed value %v, %v; want the last run's", v, err)
				}
			})
		}
	}, sqlstore.WithMaxAttempts(3))
}
