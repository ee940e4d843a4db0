-- The token service: SSO sessions, refresh tokens, authorization and device
-- codes, delegated-permission grants, session policies, sign-in throttles.
-- PostgreSQL dialect; conventions as in 00001. Everything that belongs to a
-- user goes when the user is deleted (ON DELETE CASCADE).

-- +goose Up
CREATE TABLE sessions (
    id             TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    user_id        TEXT COLLATE "C" NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at     TIMESTAMPTZ NOT NULL,
    auth_time      TIMESTAMPTZ NOT NULL,
    last_active_at TIMESTAMPTZ NOT NULL,
    amr            JSONB,
    ip             TEXT COLLATE "C" NOT NULL,
    user_agent     TEXT COLLATE "C" NOT NULL,
    device_id      TEXT COLLATE "C" NOT NULL,
    client_ids     JSONB,
    revoked_at     TIMESTAMPTZ,
    revoked_reason TEXT COLLATE "C" NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id, created_at, id);

-- session_id is not a foreign key (the store does not require the session
-- row); "" (a token tied to no session) is stored as NULL.
CREATE TABLE refresh_tokens (
    id             TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    hash           BYTEA NOT NULL UNIQUE,
    family_id      TEXT COLLATE "C" NOT NULL,
    parent_id      TEXT COLLATE "C" NOT NULL,
    session_id     TEXT COLLATE "C",
    user_id        TEXT COLLATE "C" NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    client_id      TEXT COLLATE "C" NOT NULL,
    scopes         JSONB,
    resource       TEXT COLLATE "C" NOT NULL,
    capabilities   JSONB,
    auth_time      TIMESTAMPTZ NOT NULL,
    created_at     TIMESTAMPTZ NOT NULL,
    expires_at     TIMESTAMPTZ NOT NULL,
    used_at        TIMESTAMPTZ,
    revoked_at     TIMESTAMPTZ,
    revoked_reason TEXT COLLATE "C" NOT NULL
);
CREATE INDEX refresh_tokens_family ON refresh_tokens (family_id);
CREATE INDEX refresh_tokens_session ON refresh_tokens (session_id);
CREATE INDEX refresh_tokens_user ON refresh_tokens (user_id);
CREATE INDEX refresh_tokens_expires ON refresh_tokens (expires_at);
CREATE INDEX refresh_tokens_revoked ON refresh_tokens (revoked_at) WHERE revoked_at IS NOT NULL;

CREATE TABLE auth_codes (
    hash                  BYTEA NOT NULL PRIMARY KEY,
    client_id             TEXT COLLATE "C" NOT NULL,
    user_id               TEXT COLLATE "C" NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    session_id            TEXT COLLATE "C" NOT NULL,
    redirect_uri          TEXT COLLATE "C" NOT NULL,
    scopes                JSONB,
    resource              TEXT COLLATE "C" NOT NULL,
    nonce                 TEXT COLLATE "C" NOT NULL,
    code_challenge        TEXT COLLATE "C" NOT NULL,
    code_challenge_method TEXT COLLATE "C" NOT NULL,
    claims                BYTEA,
    capabilities          JSONB,
    auth_time             TIMESTAMPTZ NOT NULL,
    family_id             TEXT COLLATE "C" NOT NULL,
    created_at            TIMESTAMPTZ NOT NULL,
    expires_at            TIMESTAMPTZ NOT NULL,
    used_at               TIMESTAMPTZ
);
CREATE INDEX auth_codes_user ON auth_codes (user_id);
CREATE INDEX auth_codes_expires ON auth_codes (expires_at);

-- user_id is NULL until the grant is approved.
CREATE TABLE device_codes (
    hash           BYTEA NOT NULL PRIMARY KEY,
    user_code      TEXT COLLATE "C" NOT NULL UNIQUE,
    client_id      TEXT COLLATE "C" NOT NULL,
    scopes         JSONB,
    resource       TEXT COLLATE "C" NOT NULL,
    capabilities   JSONB,
    created_at     TIMESTAMPTZ NOT NULL,
    expires_at     TIMESTAMPTZ NOT NULL,
    interval_ns    BIGINT NOT NULL,
    last_polled_at TIMESTAMPTZ,
    status         TEXT COLLATE "C" NOT NULL,
    user_id        TEXT COLLATE "C" REFERENCES users (id) ON DELETE CASCADE,
    session_id     TEXT COLLATE "C" NOT NULL,
    auth_time      TIMESTAMPTZ
);
CREATE INDEX device_codes_user ON device_codes (user_id);
CREATE INDEX device_codes_expires ON device_codes (expires_at);

-- user_id is NULL for tenant-wide (admin) consent; user_key is user_id or
-- '' so that (client, user, resource) is unique for both kinds.
CREATE TABLE consents (
    id         TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    client_id  TEXT COLLATE "C" NOT NULL,
    user_id    TEXT COLLATE "C" REFERENCES users (id) ON DELETE CASCADE,
    user_key   TEXT COLLATE "C" NOT NULL,
    resource   TEXT COLLATE "C" NOT NULL,
    scopes     JSONB,
    created_at TIMESTAMPTZ NOT NULL,
    UNIQUE (client_id, user_key, resource),
    CHECK (user_key = COALESCE(user_id, ''))
);
CREATE INDEX consents_user ON consents (user_id);

CREATE TABLE policies (
    scope      TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    document   BYTEA NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE sign_in_throttles (
    user_id       TEXT COLLATE "C" NOT NULL PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    failures      BIGINT           NOT NULL,
    first_fail_at TIMESTAMPTZ      NOT NULL,
    locked_until  TIMESTAMPTZ
);

-- +goose Down
DROP TABLE sign_in_throttles;
DROP TABLE policies;
DROP TABLE consents;
DROP TABLE device_codes;
DROP TABLE auth_codes;
DROP TABLE refresh_tokens;
DROP TABLE sessions;
