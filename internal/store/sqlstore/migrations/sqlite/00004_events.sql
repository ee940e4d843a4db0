-- The durable event machinery: audit log, outbox, consumer cursors and
-- delivery queues. SQLite dialect; conventions as in 00001.

-- +goose Up
-- Records are immutable. The ids $filter needs are columns (NULL when "");
-- target ids are also rows of audit_targets, indexed by target.
CREATE TABLE audit_records (
    id                          TEXT NOT NULL PRIMARY KEY,
    activity_at                 TEXT NOT NULL,
    activity_display_name       TEXT NOT NULL,
    activity_display_name_lower TEXT NOT NULL,
    category                    TEXT NOT NULL,
    category_lower              TEXT NOT NULL,
    correlation_id              TEXT NOT NULL,
    operation_type              TEXT NOT NULL,
    result                      TEXT NOT NULL,
    result_lower                TEXT NOT NULL,
    result_reason               TEXT NOT NULL,
    logged_by_service           TEXT NOT NULL,
    initiated_by                BLOB,
    target_resources            BLOB,
    additional_details          BLOB,
    initiator_user_id           TEXT,
    initiator_app_id            TEXT,
    target_ids                  TEXT
) STRICT;
CREATE INDEX audit_records_activity ON audit_records (activity_at, id);
CREATE INDEX audit_records_display_name ON audit_records (activity_display_name_lower, activity_at, id);
CREATE INDEX audit_records_initiator_user ON audit_records (initiator_user_id, activity_at, id) WHERE initiator_user_id IS NOT NULL;
CREATE INDEX audit_records_initiator_app ON audit_records (initiator_app_id, activity_at, id) WHERE initiator_app_id IS NOT NULL;
CREATE INDEX audit_records_correlation ON audit_records (correlation_id);

CREATE TABLE audit_targets (
    target_id TEXT NOT NULL,
    audit_id  TEXT NOT NULL REFERENCES audit_records (id) ON DELETE CASCADE,
    PRIMARY KEY (target_id, audit_id)
) STRICT;
CREATE INDEX audit_targets_audit ON audit_targets (audit_id);

-- The outbox. One writer at a time commits in SQLite, so rowid order is
-- commit order; AUTOINCREMENT never reuses a sequence number, even after
-- the newest rows are deleted.
CREATE TABLE outbox (
    seq        INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    id         TEXT    NOT NULL UNIQUE,
    type       TEXT    NOT NULL,
    user_id    TEXT    NOT NULL,
    session_id TEXT    NOT NULL,
    payload    BLOB,
    created_at TEXT    NOT NULL
) STRICT;

CREATE TABLE cursors (
    name     TEXT    NOT NULL PRIMARY KEY,
    position INTEGER NOT NULL
) STRICT;

-- Deliveries are claimed in insertion order (ord) per queue; the partial
-- indexes cover only what is still pending.
CREATE TABLE deliveries (
    ord             INTEGER NOT NULL PRIMARY KEY,
    id              TEXT    NOT NULL UNIQUE,
    queue           TEXT    NOT NULL,
    order_key       TEXT    NOT NULL,
    event_seq       INTEGER NOT NULL,
    payload         BLOB,
    attempts        INTEGER NOT NULL,
    next_attempt_at TEXT    NOT NULL,
    lease_until     TEXT,
    delivered_at    TEXT,
    dead_at         TEXT,
    last_error      TEXT    NOT NULL,
    created_at      TEXT    NOT NULL
) STRICT;
CREATE INDEX deliveries_pending ON deliveries (queue, ord) WHERE delivered_at IS NULL AND dead_at IS NULL;
CREATE INDEX deliveries_pending_key ON deliveries (queue, order_key, ord) WHERE delivered_at IS NULL AND dead_at IS NULL;
CREATE INDEX deliveries_queue ON deliveries (queue, id);

-- +goose Down
DROP TABLE deliveries;
DROP TABLE cursors;
DROP TABLE outbox;
DROP TABLE audit_targets;
DROP TABLE audit_records;
