package sqlstore

import (
	"context"
	"database/sql"
	"sync"
)

// maxStmts bounds a statement cache. The store's fixed SQL texts number
// well under a hundred per dialect; SQL built per call (filters, paging,
// multi-row INSERTs) goes through unprepared and never reaches the cache,
// and should some slip through, texts past the bound simply run
// unprepared instead of growing the map.
const maxStmts = 256

// stmtCache keeps one *sql.Stmt per SQL text on one pool, so that SQLite
// parses each statement once per connection rather than on every call
// (database/sql prepares a Stmt lazily on each connection it runs on and
// keeps it there). Transactions reuse the cached statements through
// tx.StmtContext. PostgreSQL needs none: pgx keeps its own per-connection
// statement cache (dialect.cacheStmts).
type stmtCache struct {
	db *sql.DB

	mu      sync.RWMutex
	m       map[string]*sql.Stmt
	pending map[string]struct{} // seen in a transaction, to be prepared by flush
	closed  bool
}

func newStmtCache(db *sql.DB) *stmtCache {
	return &stmtCache{db: db, m: map[string]*sql.Stmt{}, pending: map[string]struct{}{}}
}

// lookup returns the cached statement for query, or nil.
func (c *stmtCache) lookup(query string) *sql.Stmt {
	c.mu.RLock()
	st := c.m[query]
	c.mu.RUnlock()
	return st
}

// get returns the statement for query, preparing it on the pool when it is
// new; nil (run the text unprepared) when the cache is full or closed or
// the statement does not prepare. Only for pools a caller may wait on:
// preparing takes a connection.
func (c *stmtCache) get(ctx context.Context, query string) *sql.Stmt {
	if st := c.lookup(query); st != nil {
		return st
	}
	if !c.room() {
		return nil
	}
	st, err := c.db.PrepareContext(ctx, query)
	if err != nil {
		return nil // the unprepared run reports the error
	}
	return c.add(query, st)
}

// room reports whether a new statement may be cached.
func (c *stmtCache) room() bool {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return !c.closed && len(c.m) < maxStmts
}

// add caches st for query and returns the statement to use: st, or the one
// another goroutine cached first (st is then closed), or nil when the cache
// has filled or closed meanwhile.
func (c *stmtCache) add(query string, st *sql.Stmt) *sql.Stmt {
	c.mu.Lock()
	defer c.mu.Unlock()
	if old := c.m[query]; old != nil {
		st.Close()
		return old
	}
	if c.closed || len(c.m) >= maxStmts {
		st.Close()
		return nil
	}
	c.m[query] = st
	return st
}

// note records a text run in a transaction before it was cached, for
// flush to prepare once the connection is free (preparing on the pool from
// inside a transaction would wait for the connection the transaction
// holds: SQLite writes through one).
func (c *stmtCache) note(query string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.closed && len(c.m)+len(c.pending) < maxStmts {
		c.pending[query] = struct{}{}
	}
}

// flush prepares the texts noted since the last flush. The batcher calls
// it between transactions, when the write connection is idle.
func (c *stmtCache) flush() {
	c.mu.Lock()
	pending := c.pending
	if len(pending) == 0 {
		c.mu.Unlock()
		return
	}
	c.pending = map[string]struct{}{}
	c.mu.Unlock()
	for query := range pending {
		if st, err := c.db.PrepareContext(context.Background(), query); err == nil {
			c.add(query, st)
		}
	}
}

// close closes the cached statements; later calls run unprepared.
func (c *stmtCache) close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = true
	var first error
	for _, st := range c.m {
		if err := st.Close(); err != nil && first == nil {
			first = err
		}
	}
	c.m = map[string]*sql.Stmt{}
	c.pending = map[string]struct{}{}
	return first
}

// poolQ runs statements on a pool through its statement cache.
type poolQ struct{ c *stmtCache }

func (p poolQ) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if st := p.c.get(ctx, query); st != nil {
		return st.ExecContext(ctx, args...)
	}
	return p.c.db.ExecContext(ctx, query, args...)
}

func (p poolQ) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if st := p.c.get(ctx, query); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return p.c.db.QueryContext(ctx, query, args...)
}

func (p poolQ) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if st := p.c.get(ctx, query); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return p.c.db.QueryRowContext(ctx, query, args...)
}

// unprepared returns q without statement caching, for SQL text built per
// call, which would only fill the cache.
func unprepared(q querier) querier {
	switch q := q.(type) {
	case poolQ:
		return q.c.db
	case noCancel:
		q.c = nil
		return q
	}
	return q
}
