-- The durable event machinery: audit log, outbox, consumer cursors and
-- delivery queues. PostgreSQL dialect; conventions as in 00001.

-- +goose Up
-- Records are immutable. The ids $filter needs are columns (NULL when "");
-- target ids are also rows of audit_targets, indexed by target.
CREATE TABLE audit_records (
    id                          TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    activity_at                 TIMESTAMPTZ NOT NULL,
    activity_display_name       TEXT COLLATE "C" NOT NULL,
    activity_display_name_lower TEXT COLLATE "C" NOT NULL,
    category                    TEXT COLLATE "C" NOT NULL,
    category_lower              TEXT COLLATE "C" NOT NULL,
    correlation_id              TEXT COLLATE "C" NOT NULL,
    operation_type              TEXT COLLATE "C" NOT NULL,
    result                      TEXT COLLATE "C" NOT NULL,
    result_lower                TEXT COLLATE "C" NOT NULL,
    result_reason               TEXT COLLATE "C" NOT NULL,
    logged_by_service           TEXT COLLATE "C" NOT NULL,
    initiated_by                BYTEA,
    target_resources            BYTEA,
    additional_details          BYTEA,
    initiator_user_id           TEXT COLLATE "C",
    initiator_app_id            TEXT COLLATE "C",
    target_ids                  JSONB
);
CREATE INDEX audit_records_activity ON audit_records (activity_at, id);
CREATE INDEX audit_records_display_name ON audit_records (activity_display_name_lower, activity_at, id);
CREATE INDEX audit_records_initiator_user ON audit_records (initiator_user_id, activity_at, id) WHERE initiator_user_id IS NOT NULL;
CREATE INDEX audit_records_initiator_app ON audit_records (initiator_app_id, activity_at, id) WHERE initiator_app_id IS NOT NULL;
CREATE INDEX audit_records_correlation ON audit_records (correlation_id);

CREATE TABLE audit_targets (
    target_id TEXT COLLATE "C" NOT NULL,
    audit_id  TEXT COLLATE "C" NOT NULL REFERENCES audit_records (id) ON DELETE CASCADE,
    PRIMARY KEY (target_id, audit_id)
);
CREATE INDEX audit_targets_audit ON audit_targets (audit_id);

-- The outbox. Concurrent transactions may commit in any order, so the
-- store makes appenders take a transaction-scoped advisory lock before
-- drawing seq and hold it until they end: seq order is commit order, as in
-- SQLite (see outbox.go).
CREATE TABLE outbox (
    seq        BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id         TEXT COLLATE "C" NOT NULL UNIQUE,
    type       TEXT COLLATE "C" NOT NULL,
    user_id    TEXT COLLATE "C" NOT NULL,
    session_id TEXT COLLATE "C" NOT NULL,
    payload    BYTEA,
    created_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE cursors (
    name     TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    position BIGINT NOT NULL
);

-- Deliveries are claimed in insertion order (ord) per queue; the partial
-- indexes cover only what is still pending.
CREATE TABLE deliveries (
    ord             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id              TEXT COLLATE "C" NOT NULL UNIQUE,
    queue           TEXT COLLATE "C" NOT NULL,
    order_key       TEXT COLLATE "C" NOT NULL,
    event_seq       BIGINT NOT NULL,
    payload         BYTEA,
    attempts        BIGINT NOT NULL,
    next_attempt_at TIMESTAMPTZ NOT NULL,
    lease_until     TIMESTAMPTZ,
    delivered_at    TIMESTAMPTZ,
    dead_at         TIMESTAMPTZ,
    last_error      TEXT COLLATE "C" NOT NULL,
    created_at      TIMESTAMPTZ NOT NULL
);
CREATE INDEX deliveries_pending ON deliveries (queue, ord) WHERE delivered_at IS NULL AND dead_at IS NULL;
CREATE INDEX deliveries_pending_key ON deliveries (queue, order_key, ord) WHERE delivered_at IS NULL AND dead_at IS NULL;
CREATE INDEX deliveries_queue ON deliveries (queue, id);

-- +goose Down
DROP TABLE deliveries;
DROP TABLE cursors;
DROP TABLE outbox;
DROP TABLE audit_targets;
DROP TABLE audit_records;
