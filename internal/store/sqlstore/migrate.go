package sqlstore

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"

	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
)

// migrations holds one goose directory per dialect.
//
//go:embed migrations/sqlite/*.sql migrations/postgres/*.sql
var migrations embed.FS

// migrate applies pending migrations on the write pool, up to version (0:
// all of them).
func (s *Store) migrate(ctx context.Context, version int64) error {
	fsys, err := fs.Sub(migrations, "migrations/"+s.d.name)
	if err != nil {
		return fmt.Errorf("sqlstore: migrations: %w", err)
	}
	opts := []goose.ProviderOption{goose.WithDisableGlobalRegistry(true)}
	if s.d == postgresDialect {
		opts = append(opts, goose.WithSessionLocker(schemaLocker{}))
	}
	p, err := goose.NewProvider(s.d.goose, s.wdb, fsys, opts...)
	if err != nil {
		return fmt.Errorf("sqlstore: migrations: %w", err)
	}
	var results []*goose.MigrationResult
	if version > 0 {
		results, err = p.UpTo(ctx, version)
	} else {
		results, err = p.Up(ctx)
	}
	if err != nil {
		return fmt.Errorf("sqlstore: migrate %s: %w", s.d.name, err)
	}
	for _, r := range results {
		s.log.Info("sqlstore: applied migration", "dialect", s.d.name,
			"version", r.Source.Version, "file", r.Source.Path, "duration", r.Duration)
	}
	return nil
}

// schemaLocker is a goose session locker on a PostgreSQL advisory lock
// keyed by the current schema: nodes that share a schema take turns, while
// stores in different schemas (parallel tests) do not wait for each other.
// pg_advisory_lock blocks until granted or until ctx ends, unlike goose's
// own locker, which polls every five seconds.
type schemaLocker struct{}

var _ lock.SessionLocker = schemaLocker{}

const lockKey = `hashtextextended('vigil.sqlstore.migrate:' || coalesce(current_schema(), ''), 0)`

// SessionLock takes the lock on conn.
func (schemaLocker) SessionLock(ctx context.Context, conn *sql.Conn) error {
	if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_lock("+lockKey+")"); err != nil {
		return fmt.Errorf("take migration lock: %w", err)
	}
	return nil
}

// SessionUnlock releases the lock on conn.
func (schemaLocker) SessionUnlock(ctx context.Context, conn *sql.Conn) error {
	if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_unlock("+lockKey+")"); err != nil {
		return fmt.Errorf("release migration lock: %w", err)
	}
	return nil
}
