-- Revocation jobs (/vigil/v1/revocations/{id}), their per-target results
-- and per-stream receipts. SQLite dialect; conventions as in 00001.

-- +goose Up
-- idempotency_key '' means none; a key is unique per initiator.
CREATE TABLE revocations (
    id              TEXT    NOT NULL PRIMARY KEY,
    status          TEXT    NOT NULL,
    selector        BLOB,
    valid_from      TEXT    NOT NULL,
    targeted        INTEGER NOT NULL,
    revoked         INTEGER NOT NULL,
    denied          INTEGER NOT NULL,
    failed          INTEGER NOT NULL,
    reason          TEXT    NOT NULL,
    created_by      BLOB,
    created_at      TEXT    NOT NULL,
    started_at      TEXT,
    completed_at    TEXT,
    idempotency_key TEXT    NOT NULL,
    created_by_id   TEXT    NOT NULL,
    request_hash    BLOB,
    progress        TEXT    NOT NULL,
    error           TEXT    NOT NULL
) STRICT;
CREATE UNIQUE INDEX revocations_idempotency ON revocations (created_by_id, idempotency_key) WHERE idempotency_key <> '';
CREATE INDEX revocations_status ON revocations (status, created_at, id);

-- No foreign key to revocations: AddRevocationResults checks the job
-- once per call instead of once per row (a bulk job writes ~1,000 rows a
-- chunk), and jobs are never deleted.
CREATE TABLE revocation_results (
    revocation_id TEXT NOT NULL,
    user_id       TEXT NOT NULL,
    outcome       TEXT NOT NULL,
    detail        TEXT NOT NULL,
    at            TEXT NOT NULL,
    PRIMARY KEY (revocation_id, user_id)
) STRICT;
CREATE INDEX revocation_results_outcome ON revocation_results (revocation_id, outcome, user_id);

CREATE TABLE receipts (
    revocation_id   TEXT NOT NULL REFERENCES revocations (id) ON DELETE CASCADE,
    stream_id       TEXT NOT NULL,
    receiver        TEXT NOT NULL,
    status          TEXT NOT NULL,
    delivered_at    TEXT,
    acknowledged_at TEXT,
    PRIMARY KEY (revocation_id, stream_id)
) STRICT;

-- +goose Down
DROP TABLE receipts;
DROP TABLE revocation_results;
DROP TABLE revocations;
