package sqlstore

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"strings"
	"time"

	"github.com/vigil-idp/vigil/internal/store"
)

// Test hooks for the external tests and benchmarks of this package.

// PlanListUsers returns the database's plan for ListUsers(q). In
// PostgreSQL sequential scans are discouraged for the plan, so that it
// shows whether an index can serve the query even on a small table.
func (s *Store) PlanListUsers(ctx context.Context, q store.Query) (string, error) {
	b, _, _, err := users.listSQL(s.d, nil, q)
	if err != nil {
		return "", err
	}
	tx, err := s.wdb.BeginTx(ctx, nil)
	if err != nil {
		return "", err
	}
	defer tx.Rollback()
	explain := "EXPLAIN "
	if s.d == sqliteDialect {
		explain = "EXPLAIN QUERY PLAN "
	} else if _, err := tx.ExecContext(ctx, "SET LOCAL enable_seqscan = off"); err != nil {
		return "", err
	}
	rows, err := tx.QueryContext(ctx, explain+b.String(), b.args...)
	if err != nil {
		return "", err
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	var lines []string
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return "", err
		}
		lines = append(lines, fmt.Sprint(vals[len(vals)-1]))
	}
	return strings.Join(lines, "\n"), rows.Err()
}

// InsertUsers bulk-loads users with multi-row INSERTs in one transaction.
func (s *Store) InsertUsers(ctx context.Context, us []store.User) error {
	const perStatement = 1000 // × 27 columns stays under both databases' parameter limits
	ph := s.d.placeholder
	if s.d == sqliteDialect {
		// Binding numbered or named parameters costs modernc.org/sqlite
		// time quadratic in their number; anonymous ones are linear.
		ph = func(int) string { return "?" }
	}
	return s.transact(ctx, s.d.writeTx, func(tx querier) error {
		t := &txn{s: s, tx: tx}
		for len(us) > 0 {
			chunk := us[:min(perStatement, len(us))]
			us = us[len(chunk):]
			var b strings.Builder
			args := make([]any, 0, len(chunk)*len(users.cols))
			b.WriteString("INSERT INTO users (" + strings.Join(users.cols, ", ") + ") VALUES ")
			for i, u := range chunk {
				if i > 0 {
					b.WriteString(", ")
				}
				b.WriteString("(")
				for j, v := range users.values(t, u) {
					if j > 0 {
						b.WriteString(", ")
					}
					args = append(args, v)
					b.WriteString(ph(len(args)))
				}
				b.WriteString(")")
			}
			if _, err := tx.ExecContext(ctx, b.String(), args...); err != nil {
				return fmt.Errorf("bulk insert: %w", err)
			}
		}
		return nil
	})
}

// Analyze refreshes the planner's statistics.
func (s *Store) Analyze(ctx context.Context) error {
	_, err := s.wdb.ExecContext(ctx, "ANALYZE")
	return err
}

// Pragma reads a PRAGMA on the SQLite write connection.
func (s *Store) Pragma(ctx context.Context, name string) (string, error) {
	var v string
	err := s.wdb.QueryRowContext(ctx, "PRAGMA "+name).Scan(&v)
	return v, err
}

// SchemaHash identifies the embedded migrations of both dialects.
func SchemaHash() string {
	h := sha256.New()
	fs.WalkDir(migrations, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := migrations.ReadFile(path)
		h.Write([]byte(path))
		h.Write(b)
		return err
	})
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// OpenAtVersion opens dsn with its schema migrated up to version only, for
// tests of later migrations; Open then migrates the rest.
func OpenAtVersion(ctx context.Context, dsn string, version int64, opts ...Option) (*Store, error) {
	return open(ctx, dsn, version, opts...)
}

// Exec runs a statement on the write pool, outside the store's API.
func (s *Store) Exec(ctx context.Context, query string, args ...any) error {
	_, err := s.wdb.ExecContext(ctx, query, args...)
	return err
}

// OutboxChannel is the PostgreSQL notification channel of the store's
// schema.
func (s *Store) OutboxChannel() string { return s.channel }

// InsertSessionsAndTokens gives each user one live session (id "s-"+user)
// and one live refresh token of it, with multi-row INSERTs in one
// transaction: a fixture loader for benchmarks.
func (s *Store) InsertSessionsAndTokens(ctx context.Context, userIDs []string, at time.Time) error {
	return s.transact(ctx, s.d.writeTx, func(q querier) error {
		t := &txn{s: s, tx: q}
		err := t.insertMany(ctx, q, "INSERT INTO sessions ("+joinCols(sessions.cols)+") VALUES ", "", len(sessions.cols), len(userIDs),
			func(i int, b *rowsBuilder) {
				b.row(sessions.values(t, store.Session{ID: "s-" + userIDs[i], UserID: userIDs[i], CreatedAt: at, AuthTime: at,
					LastActiveAt: at, AMR: []string{"pwd"}, ClientIDs: []string{"app"}})...)
			}, nil)
		if err != nil {
			return err
		}
		return t.insertMany(ctx, q, "INSERT INTO refresh_tokens ("+joinCols(refreshTokens.cols)+") VALUES ", "", len(refreshTokens.cols), len(userIDs),
			func(i int, b *rowsBuilder) {
				b.row(refreshTokens.values(t, store.RefreshToken{ID: "rt-" + userIDs[i], Hash: []byte("h-" + userIDs[i]),
					FamilyID: "f-" + userIDs[i], SessionID: "s-" + userIDs[i], UserID: userIDs[i], ClientID: "app",
					Scopes: []string{"openid", "offline_access"}, AuthTime: at, CreatedAt: at, ExpiresAt: at.Add(24 * time.Hour)})...)
			}, nil)
	})
}

// LookupCacheUsable reports whether the lookup cache serves reads (in
// PostgreSQL: whether its listener is listening).
func (s *Store) LookupCacheUsable() bool { return s.lookups.usable.Load() }

// LookupCacheEntries counts the cached clients and app role lists.
func (s *Store) LookupCacheEntries() int {
	s.lookups.mu.RLock()
	defer s.lookups.mu.RUnlock()
	return len(s.lookups.clients) + len(s.lookups.roles)
}
