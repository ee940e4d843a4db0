package sqlstore_test

import (
	"path/filepath"
	"testing"

	"github.com/vigil-idp/vigil/internal/store/sqlstore"
	"github.com/vigil-idp/vigil/internal/store/sqlstore/sqltest"
)

// TestMigrationIdentifierURIs upgrades a version-1 database whose
// applications share an identifier URI (allowed then): the application
// created first keeps it, both survive, and the rule holds afterwards.
func TestMigrationIdentifierURIs(t *testing.T) {
	eachDSN(t, func(t *testing.T, dsn string) {
		old, err := sqlstore.OpenAtVersion(ctx, dsn, 1, quiet)
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range []struct{ id, appID, uris, created string }{
			{"a2", "c2", `["api://Shared", "api://two"]`, "2024-01-02T00:00:00.000000Z"},
			{"a1", "c1", `["API://shared"]`, "2024-01-01T00:00:00.000000Z"},
			{"a3", "c3", `null`, "2024-01-03T00:00:00.000000Z"},
		} {
			uris := any(a.uris)
			if a.uris == "null" {
				uris = nil
			}
			err := old.Exec(ctx, `INSERT INTO applications (id, app_id, display_name, display_name_lower, identifier_uris,
					is_fallback_public_client, created_at) VALUES ($1, $2, 'x', 'x', $3, FALSE, $4)`, a.id, a.appID, uris, a.created)
			if err != nil {
				t.Fatal(err)
			}
		}
		old.Close()

		s, err := sqlstore.Open(ctx, dsn, quiet)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		for uri, want := range map[string]string{"api://shared": "a1", "api://two": "a2"} {
			got, err := s.GetApplicationByIdentifierURI(ctx, uri)
			if err != nil || got.ID != want {
				t.Errorf("owner of %s = %q, %v; want %s", uri, got.ID, err, want)
			}
		}
		a2, err := s.GetApplication(ctx, "a2")
		if err != nil || len(a2.IdentifierURIs) != 2 || a2.PostLogoutRedirectURIs != nil || a2.JWKSURI != "" {
			t.Errorf("a2 after migration: %+v, %v", a2, err)
		}
	})
}

// TestMigrationOutboxKeepsSequence upgrades a version-4 outbox (whose
// SQLite table 00005 rebuilds): events survive, and new ones continue
// after the highest sequence number ever given, even a deleted one.
func TestMigrationOutboxKeepsSequence(t *testing.T) {
	eachDSN(t, func(t *testing.T, dsn string) {
		old, err := sqlstore.OpenAtVersion(ctx, dsn, 4, quiet)
		if err != nil {
			t.Fatal(err)
		}
		seqs, err := old.AppendOutbox(ctx, outboxEvent("a"), outboxEvent("b"), outboxEvent("c"))
		if err != nil {
			t.Fatal(err)
		}
		if err := old.Exec(ctx, "DELETE FROM outbox WHERE seq = $1", seqs[2]); err != nil {
			t.Fatal(err)
		}
		old.Close()

		s, err := sqlstore.Open(ctx, dsn, quiet)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		evs, err := s.ListOutbox(ctx, 0, 10)
		if err != nil || len(evs) != 2 || evs[0].Seq != seqs[0] || evs[1].ID != "b" {
			t.Fatalf("events after the migration: %+v, %v", evs, err)
		}
		next, err := s.AppendOutbox(ctx, outboxEvent("d"))
		if err != nil || next[0] <= seqs[2] {
			t.Fatalf("new event got seq %v (%v), want > %d", next, err, seqs[2])
		}
	})
}

// eachDSN runs fn as subtests "sqlite" and "postgres" with the URL of a
// fresh, empty database of each.
func eachDSN(t *testing.T, fn func(t *testing.T, dsn string)) {
	t.Run("sqlite", func(t *testing.T) { fn(t, "sqlite://"+filepath.Join(t.TempDir(), "v.db")) })
	t.Run("postgres", func(t *testing.T) { fn(t, sqltest.PostgresDSN(t)) })
}
