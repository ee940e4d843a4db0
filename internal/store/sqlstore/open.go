package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver

	"github.com/vigil-idp/vigil/internal/store"
)

// Store is the database/sql implementation of store.Store. Its own methods
// run each in their own transaction (reads on a read pool, writes on the
// write pool); InTx groups several into one. It is safe for concurrent use.
type Store struct {
	txn // the Store-level view: no open transaction

	d     *dialect
	wdb   *sql.DB  // writes; in SQLite a single connection, so writers queue
	rdb   *sql.DB  // reads; in PostgreSQL the same pool as wdb
	batch *batcher // SQLite's group commit (batch.go); nil in PostgreSQL
	// SQLite's prepared statements (stmts.go) on the read and write pools;
	// nil in PostgreSQL, where pgx caches them per connection.
	rstmts, wstmts *stmtCache
	ckpt           *checkpointer // SQLite's WAL checkpoints (checkpoint.go); nil in PostgreSQL
	now            func() time.Time
	log            *slog.Logger

	attempts int // runs of a transaction that keeps hitting errRetry

	// lookups caches what token requests read (lookupcache.go).
	lookups *lookupCache

	// Outbox wake-ups (notify.go).
	hub     outboxHub
	poll    time.Duration
	channel string // PostgreSQL notification channel
	// lookupsChannel is PostgreSQL's lookup cache notification channel.
	lookupsChannel string
	outboxLock     int64  // PostgreSQL advisory lock key of outbox appenders
	stopListener   func() // ends the PostgreSQL listener; nil until started
	listenerDone   sync.WaitGroup
	listenerMu     sync.Mutex
}

var (
	_ store.Store        = (*Store)(nil)
	_ store.OutboxWaiter = (*Store)(nil)
)

// Option configures Open.
type Option func(*config)

type config struct {
	now      func() time.Time
	log      *slog.Logger
	maxConns int
	retries  int
	poll     time.Duration
}

// WithClock sets the clock the store reads when it must fill in a time the
// caller left zero (CreatedDateTime of new objects). Default time.Now.
func WithClock(now func() time.Time) Option {
	return func(c *config) { c.now = now }
}

// WithLogger sets where the store logs migrations and retried
// transactions. Default slog.Default().
func WithLogger(l *slog.Logger) Option {
	return func(c *config) { c.log = l }
}

// WithMaxOpenConns bounds the connection pool: the PostgreSQL pool, or the
// SQLite read pool (SQLite always writes through one connection). Default
// 2×GOMAXPROCS+4 for PostgreSQL and max(4, 2×GOMAXPROCS) for SQLite reads.
// The PostgreSQL pool keeps all its connections idle rather than closing
// them on return (which under load meant a new connection, and a cold
// statement cache, for many requests).
func WithMaxOpenConns(n int) Option {
	return func(c *config) { c.maxConns = n }
}

// WithMaxAttempts sets how many times a transaction that hits a
// PostgreSQL serialization failure or deadlock (SQLSTATE 40001, 40P01) is
// run in all before the error is returned. Default 16.
func WithMaxAttempts(n int) Option {
	return func(c *config) { c.retries = n }
}

// WithOutboxPollInterval sets how often WaitOutbox looks at the outbox
// when no notification wakes it. Default 1 s.
func WithOutboxPollInterval(d time.Duration) Option {
	return func(c *config) { c.poll = d }
}

// Open opens the database named by dsn and brings its schema up to date:
//
//	sqlite:///abs/path/vigil.db     SQLite file (created, mode 0600, if absent)
//	sqlite://relative/path/vigil.db SQLite file relative to the working directory
//	postgres://user@host:5432/db?sslmode=disable   PostgreSQL (also postgresql://)
//
// A PostgreSQL URL may carry libpq parameters understood by pgx, and any
// other parameter (search_path=…) is sent as a run-time setting. Migrations
// run under a PostgreSQL advisory lock, so several nodes may start at once.
func Open(ctx context.Context, dsn string, opts ...Option) (*Store, error) {
	return open(ctx, dsn, 0, opts...)
}

// open is Open with the schema brought up to version (0: the latest).
func open(ctx context.Context, dsn string, version int64, opts ...Option) (*Store, error) {
	cfg := config{now: time.Now, log: slog.Default(), retries: 16, poll: time.Second}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.retries < 1 {
		cfg.retries = 1
	}
	if cfg.poll <= 0 {
		cfg.poll = time.Second
	}
	s := &Store{now: cfg.now, log: cfg.log, attempts: cfg.retries, poll: cfg.poll}
	s.txn = txn{s: s}
	var err error
	scheme, rest, _ := strings.Cut(dsn, "://")
	switch scheme {
	case "sqlite":
		s.d = sqliteDialect
		s.wdb, s.rdb, s.ckpt, err = openSQLite(rest, cfg.maxConns)
	case "postgres", "postgresql":
		s.d = postgresDialect
		var cc *pgx.ConnConfig
		s.wdb, cc, err = openPostgres(dsn, cfg.maxConns)
		s.rdb = s.wdb
		if err == nil {
			s.hub.start = func() { s.startListener(cc) }
		}
	default:
		return nil, fmt.Errorf("sqlstore: unsupported database URL scheme %q: want sqlite:// or postgres://", scheme)
	}
	if err != nil {
		return nil, err
	}
	if err := s.wdb.PingContext(ctx); err != nil {
		s.Close()
		return nil, fmt.Errorf("sqlstore: connect %s: %w", s.d.name, err)
	}
	if err := s.migrate(ctx, version); err != nil {
		s.Close()
		return nil, err
	}
	if s.d == sqliteDialect {
		s.rstmts, s.wstmts = newStmtCache(s.rdb), newStmtCache(s.wdb)
		s.batch = newBatcher(s.wdb, s.wstmts)
		// One process owns the file: its own writes are all the changes.
		s.lookups = newLookupCache(cfg.now, true)
	} else {
		var schema sql.NullString
		// The lookup cache's channel, as migration 00007's triggers name it.
		err := s.wdb.QueryRowContext(ctx, "SELECT current_schema(), 'vigil_lookups_' || substr(md5(current_schema()), 1, 16)").
			Scan(&schema, &s.lookupsChannel)
		if err != nil {
			s.Close()
			return nil, fmt.Errorf("sqlstore: current schema: %w", err)
		}
		s.channel, s.outboxLock = outboxChannel(schema.String)
		// Off until the listener LISTENs on lookupsChannel.
		s.lookups = newLookupCache(cfg.now, false)
	}
	return s, nil
}

// startListener starts the PostgreSQL outbox listener (notify.go) on a
// connection of its own, unless the store is closed.
func (s *Store) startListener(cc *pgx.ConnConfig) {
	s.listenerMu.Lock()
	defer s.listenerMu.Unlock()
	if s.stopListener != nil {
		return
	}
	cfg := cc.Copy()
	if cfg.RuntimeParams == nil {
		cfg.RuntimeParams = map[string]string{}
	}
	cfg.RuntimeParams["application_name"] = "vigil-outbox-listener"
	ctx, cancel := context.WithCancel(context.Background())
	s.stopListener = cancel
	s.listenerDone.Add(1)
	go func() {
		defer s.listenerDone.Done()
		s.listener(ctx, cfg)
	}()
}

func openSQLite(path string, readConns int) (w, r *sql.DB, ckpt *checkpointer, err error) {
	if path == "" || strings.ContainsAny(path, "?#") {
		return nil, nil, nil, fmt.Errorf("sqlstore: bad sqlite path %q: want sqlite:///abs/path.db or sqlite://rel/path.db", path)
	}
	if dir := filepath.Dir(path); dir != "." {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, nil, nil, fmt.Errorf("sqlstore: create database directory: %w", err)
		}
	}
	// Create the file ourselves so that it (and the -wal and -shm files,
	// which SQLite creates with the database file's mode) is private.
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("sqlstore: create database file: %w", err)
	}
	f.Close()

	// busy_timeout comes first (the driver orders it so); synchronous=FULL
	// syncs the WAL on every commit, so an acknowledged write survives a
	// crash or power loss.
	common := url.Values{"_pragma": {
		"busy_timeout(10000)",
		"foreign_keys(1)",
		"synchronous(FULL)",
		"temp_store(MEMORY)",
		"cache_size(-32000)",
	}}
	wq := url.Values{"_pragma": append([]string{"journal_mode(WAL)", fmt.Sprintf("wal_autocheckpoint(%d)", checkpointBackstop)},
		common["_pragma"]...), "_txlock": {"immediate"}}
	cq := url.Values{"_pragma": common["_pragma"]}
	rq := url.Values{"_pragma": append([]string{"query_only(1)"}, common["_pragma"]...)}

	w, err = sql.Open("sqlite", path+"?"+wq.Encode())
	if err != nil {
		return nil, nil, nil, fmt.Errorf("sqlstore: open sqlite: %w", err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)
	// Switch to WAL before any reader connects.
	if err := w.Ping(); err != nil {
		w.Close()
		return nil, nil, nil, fmt.Errorf("sqlstore: open sqlite: %w", err)
	}

	r, err = sql.Open("sqlite", path+"?"+rq.Encode())
	if err != nil {
		w.Close()
		return nil, nil, nil, fmt.Errorf("sqlstore: open sqlite: %w", err)
	}
	if readConns <= 0 {
		readConns = max(4, 2*runtime.GOMAXPROCS(0))
	}
	r.SetMaxOpenConns(readConns)
	r.SetMaxIdleConns(readConns)
	r.SetConnMaxIdleTime(5 * time.Minute)

	c, err := sql.Open("sqlite", path+"?"+cq.Encode())
	if err != nil {
		w.Close()
		r.Close()
		return nil, nil, nil, fmt.Errorf("sqlstore: open sqlite: %w", err)
	}
	c.SetMaxOpenConns(1)
	c.SetMaxIdleConns(1)
	c.SetConnMaxIdleTime(0)
	return w, r, startCheckpointer(c), nil
}

func openPostgres(dsn string, maxConns int) (*sql.DB, *pgx.ConnConfig, error) {
	cc, err := pgx.ParseConfig(dsn)
	if err != nil {
		// pgx's parse errors never echo the password.
		return nil, nil, fmt.Errorf("sqlstore: parse postgres URL: %w", err)
	}
	db := stdlib.OpenDB(*cc)
	if maxConns <= 0 {
		maxConns = defaultPostgresConns()
	}
	db.SetMaxOpenConns(maxConns)
	db.SetMaxIdleConns(maxConns) // fewer idle than open churns connections under load
	db.SetConnMaxLifetime(30 * time.Minute)
	db.SetConnMaxIdleTime(5 * time.Minute)
	return db, cc, nil
}

// Dialect names the database behind s: "sqlite" or "postgres".
func (s *Store) Dialect() string { return s.d.name }

// Ping reports whether the database answers.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.wdb.PingContext(ctx); err != nil {
		return fmt.Errorf("sqlstore: ping: %w", err)
	}
	if s.rdb != s.wdb {
		if err := s.rdb.PingContext(ctx); err != nil {
			return fmt.Errorf("sqlstore: ping: %w", err)
		}
	}
	return nil
}

// Close closes the connection pools. (SQLite folds the WAL back into the
// database file when its last connection closes.)
func (s *Store) Close() error {
	s.listenerMu.Lock()
	if s.stopListener == nil {
		s.stopListener = func() {} // a later subscription starts nothing
	}
	stop := s.stopListener
	s.listenerMu.Unlock()
	stop()
	s.listenerDone.Wait()
	if s.batch != nil {
		s.batch.close()
	}
	var errs []error
	for _, c := range []*stmtCache{s.rstmts, s.wstmts} {
		if c != nil {
			errs = append(errs, c.close())
		}
	}
	if s.ckpt != nil {
		errs = append(errs, s.ckpt.close())
	}
	if s.rdb != s.wdb {
		errs = append(errs, s.rdb.Close())
	}
	errs = append(errs, s.wdb.Close())
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("sqlstore: close: %w", err)
	}
	return nil
}

// defaultPostgresConns is the default PostgreSQL pool size: a few more than
// two per CPU. More connections than that only thrash (context switches,
// lock contention in the server) without adding throughput.
func defaultPostgresConns() int {
	return 2*runtime.GOMAXPROCS(0) + 4
}
