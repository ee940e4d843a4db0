-- Revocation jobs (/vigil/v1/revocations/{id}), their per-target results
-- and per-stream receipts. PostgreSQL dialect; conventions as in 00001.

-- +goose Up
-- idempotency_key '' means none; a key is unique per initiator.
CREATE TABLE revocations (
    id              TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    status          TEXT COLLATE "C" NOT NULL,
    selector        BYTEA,
    valid_from      TIMESTAMPTZ NOT NULL,
    targeted        BIGINT NOT NULL,
    revoked         BIGINT NOT NULL,
    denied          BIGINT NOT NULL,
    failed          BIGINT NOT NULL,
    reason          TEXT COLLATE "C" NOT NULL,
    created_by      BYTEA,
    created_at      TIMESTAMPTZ NOT NULL,
    started_at      TIMESTAMPTZ,
    completed_at    TIMESTAMPTZ,
    idempotency_key TEXT COLLATE "C" NOT NULL,
    created_by_id   TEXT COLLATE "C" NOT NULL,
    request_hash    BYTEA,
    progress        TEXT COLLATE "C" NOT NULL,
    error           TEXT COLLATE "C" NOT NULL
);
CREATE UNIQUE INDEX revocations_idempotency ON revocations (created_by_id, idempotency_key) WHERE idempotency_key <> '';
CREATE INDEX revocations_status ON revocations (status, created_at, id);

-- No foreign key to revocations: AddRevocationResults checks the job
-- once per call instead of once per row (a bulk job writes ~1,000 rows a
-- chunk), and jobs are never deleted.
CREATE TABLE revocation_results (
    revocation_id TEXT COLLATE "C" NOT NULL,
    user_id       TEXT COLLATE "C" NOT NULL,
    outcome       TEXT COLLATE "C" NOT NULL,
    detail        TEXT COLLATE "C" NOT NULL,
    at            TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (revocation_id, user_id)
);
CREATE INDEX revocation_results_outcome ON revocation_results (revocation_id, outcome, user_id);

CREATE TABLE receipts (
    revocation_id   TEXT COLLATE "C" NOT NULL REFERENCES revocations (id) ON DELETE CASCADE,
    stream_id       TEXT COLLATE "C" NOT NULL,
    receiver        TEXT COLLATE "C" NOT NULL,
    status          TEXT COLLATE "C" NOT NULL,
    delivered_at    TIMESTAMPTZ,
    acknowledged_at TIMESTAMPTZ,
    PRIMARY KEY (revocation_id, stream_id)
);

-- +goose Down
DROP TABLE receipts;
DROP TABLE revocation_results;
DROP TABLE revocations;

