// Package sqlstore is Vigil's one storage backend: a database/sql
// implementation of store.Store over SQLite (modernc.org/sqlite, pure Go,
// the default) and PostgreSQL (pgx's database/sql driver), with the schema
// as embedded goose migrations, one directory per dialect.
//
// It owns the SQL schema, the translation of OData queries (filter.go,
// list.go) into SQL, keyset paging and transaction handling. Both dialects
// share their SQL text; the few real differences (row locks, isolation,
// JSON array functions, timestamp encoding, error codes) live in dialect.go.
// It knows nothing of HTTP, Graph JSON or business rules: those belong to
// internal/directory and internal/graph. Behaviour every backend must show
// is pinned down by internal/store/storetest; sqltest opens throw-away
// stores for other packages' tests.
//
// Durability: every method that returns nil after a write has committed it
// durably (SQLite runs WAL with synchronous=FULL; PostgreSQL commits
// synchronously unless the server is configured otherwise). SQLite writes
// go through one connection and concurrent ones share a group commit
// (batch.go), so writers queue instead of failing with SQLITE_BUSY and one
// fsync serves many of them; a checkpointer copies the WAL back into the
// database file off the commit path (checkpoint.go).
//
// The outbox (outbox.go) gives every event a sequence number in commit
// order on both dialects (in PostgreSQL appenders serialize on an advisory
// lock until they commit), and wakes readers in this process after each
// commit and, in PostgreSQL, on every node through LISTEN/NOTIFY
// (notify.go: Store.WaitOutbox, Store.OutboxNotify). Bulk writes are
// multi-row INSERTs and set-based UPDATEs over chunks of ids (bulk.go).
//
// Values round-trip as written with these rules: times come back in UTC
// truncated to Precision (microseconds); a zero time in an optional field
// (SignInSessionsValidFrom, key and secret dates) is stored as NULL and
// comes back zero; nil and empty string slices stay nil and empty; nil and
// empty byte slices in optional fields both come back nil; a zero
// CreatedDateTime (CreatedAt for keys) is set from the store's clock.
package sqlstore
