-- Cheaper bulk revocations (issue 4: 100,000 users, each with an audit
-- record and an event, in chunks of ~1,000). SQLite dialect.
--
-- Drop what no query needs and every write pays for: the audit log's
-- correlation id index (a filter on it scans newest first), the outbox's
-- unique event id index (nothing looks events up by id), and the foreign
-- key of audit_targets with its index (audit records are immutable and
-- never deleted one by one). SQLite drops a column constraint only by
-- rebuilding the table; the outbox keeps its AUTOINCREMENT position.
-- (PostgreSQL's migration also leaves room on pages for HOT updates;
-- SQLite rewrites a changed row in place and updates only the indexes on
-- changed columns, so it needs nothing of the kind.)

-- +goose Up
DROP INDEX audit_records_correlation;
DROP INDEX refresh_tokens_revoked;

CREATE TABLE outbox_new (
    seq        INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    id         TEXT    NOT NULL,
    type       TEXT    NOT NULL,
    user_id    TEXT    NOT NULL,
    session_id TEXT    NOT NULL,
    payload    BLOB,
    created_at TEXT    NOT NULL
) STRICT;
INSERT INTO outbox_new (seq, id, type, user_id, session_id, payload, created_at)
    SELECT seq, id, type, user_id, session_id, payload, created_at FROM outbox ORDER BY seq;
-- sqlite_sequence has no unique key: replace the copy's row by the original's.
DELETE FROM sqlite_sequence WHERE name = 'outbox_new';
INSERT INTO sqlite_sequence (name, seq) SELECT 'outbox_new', seq FROM sqlite_sequence WHERE name = 'outbox';
DROP TABLE outbox;
ALTER TABLE outbox_new RENAME TO outbox;

CREATE TABLE audit_targets_new (
    target_id TEXT NOT NULL,
    audit_id  TEXT NOT NULL,
    PRIMARY KEY (target_id, audit_id)
) STRICT;
INSERT INTO audit_targets_new (target_id, audit_id) SELECT target_id, audit_id FROM audit_targets;
DROP TABLE audit_targets;
ALTER TABLE audit_targets_new RENAME TO audit_targets;

-- +goose Down
CREATE TABLE audit_targets_old (
    target_id TEXT NOT NULL,
    audit_id  TEXT NOT NULL REFERENCES audit_records (id) ON DELETE CASCADE,
    PRIMARY KEY (target_id, audit_id)
) STRICT;
INSERT INTO audit_targets_old (target_id, audit_id) SELECT target_id, audit_id FROM audit_targets;
DROP TABLE audit_targets;
ALTER TABLE audit_targets_old RENAME TO audit_targets;
CREATE INDEX audit_targets_audit ON audit_targets (audit_id);
CREATE UNIQUE INDEX outbox_id ON outbox (id);
CREATE INDEX refresh_tokens_revoked ON refresh_tokens (revoked_at) WHERE revoked_at IS NOT NULL;
CREATE INDEX audit_records_correlation ON audit_records (correlation_id);
