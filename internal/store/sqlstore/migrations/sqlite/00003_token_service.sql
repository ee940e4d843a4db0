-- The token service: SSO sessions, refresh tokens, authorization and device
-- codes, delegated-permission grants, session policies, sign-in throttles.
-- SQLite dialect; conventions as in 00001. Everything that belongs to a
-- user goes when the user is deleted (ON DELETE CASCADE).

-- +goose Up
CREATE TABLE sessions (
    id             TEXT NOT NULL PRIMARY KEY,
    user_id        TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at     TEXT NOT NULL,
    auth_time      TEXT NOT NULL,
    last_active_at TEXT NOT NULL,
    amr            TEXT,
    ip             TEXT NOT NULL,
    user_agent     TEXT NOT NULL,
    device_id      TEXT NOT NULL,
    client_ids     TEXT,
    revoked_at     TEXT,
    revoked_reason TEXT NOT NULL
) STRICT;
CREATE INDEX sessions_user ON sessions (user_id, created_at, id);

-- session_id is not a foreign key (the store does not require the session
-- row); "" (a token tied to no session) is stored as NULL.
CREATE TABLE refresh_tokens (
    id             TEXT NOT NULL PRIMARY KEY,
    hash           BLOB NOT NULL UNIQUE,
    family_id      TEXT NOT NULL,
    parent_id      TEXT NOT NULL,
    session_id     TEXT,
    user_id        TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    client_id      TEXT NOT NULL,
    scopes         TEXT,
    resource       TEXT NOT NULL,
    capabilities   TEXT,
    auth_time      TEXT NOT NULL,
    created_at     TEXT NOT NULL,
    expires_at     TEXT NOT NULL,
    used_at        TEXT,
    revoked_at     TEXT,
    revoked_reason TEXT NOT NULL
) STRICT;
CREATE INDEX refresh_tokens_family ON refresh_tokens (family_id);
CREATE INDEX refresh_tokens_session ON refresh_tokens (session_id);
CREATE INDEX refresh_tokens_user ON refresh_tokens (user_id);
CREATE INDEX refresh_tokens_expires ON refresh_tokens (expires_at);
CREATE INDEX refresh_tokens_revoked ON refresh_tokens (revoked_at) WHERE revoked_at IS NOT NULL;

CREATE TABLE auth_codes (
    hash                  BLOB NOT NULL PRIMARY KEY,
    client_id             TEXT NOT NULL,
    user_id               TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    session_id            TEXT NOT NULL,
    redirect_uri          TEXT NOT NULL,
    scopes                TEXT,
    resource              TEXT NOT NULL,
    nonce                 TEXT NOT NULL,
    code_challenge        TEXT NOT NULL,
    code_challenge_method TEXT NOT NULL,
    claims                BLOB,
    capabilities          TEXT,
    auth_time             TEXT NOT NULL,
    family_id             TEXT NOT NULL,
    created_at            TEXT NOT NULL,
    expires_at            TEXT NOT NULL,
    used_at               TEXT
) STRICT;
CREATE INDEX auth_codes_user ON auth_codes (user_id);
CREATE INDEX auth_codes_expires ON auth_codes (expires_at);

-- user_id is NULL until the grant is approved.
CREATE TABLE device_codes (
    hash           BLOB NOT NULL PRIMARY KEY,
    user_code      TEXT NOT NULL UNIQUE,
    client_id      TEXT NOT NULL,
    scopes         TEXT,
    resource       TEXT NOT NULL,
    capabilities   TEXT,
    created_at     TEXT NOT NULL,
    expires_at     TEXT NOT NULL,
    interval_ns    INTEGER NOT NULL,
    last_polled_at TEXT,
    status         TEXT NOT NULL,
    user_id        TEXT REFERENCES users (id) ON DELETE CASCADE,
    session_id     TEXT NOT NULL,
    auth_time      TEXT
) STRICT;
CREATE INDEX device_codes_user ON device_codes (user_id);
CREATE INDEX device_codes_expires ON device_codes (expires_at);

-- user_id is NULL for tenant-wide (admin) consent; user_key is user_id or
-- '' so that (client, user, resource) is unique for both kinds.
CREATE TABLE consents (
    id         TEXT NOT NULL PRIMARY KEY,
    client_id  TEXT NOT NULL,
    user_id    TEXT REFERENCES users (id) ON DELETE CASCADE,
    user_key   TEXT NOT NULL,
    resource   TEXT NOT NULL,
    scopes     TEXT,
    created_at TEXT NOT NULL,
    UNIQUE (client_id, user_key, resource),
    CHECK (user_key = COALESCE(user_id, ''))
) STRICT;
CREATE INDEX consents_user ON consents (user_id);

CREATE TABLE policies (
    scope      TEXT NOT NULL PRIMARY KEY,
    document   BLOB NOT NULL,
    updated_at TEXT NOT NULL
) STRICT;

CREATE TABLE sign_in_throttles (
    user_id       TEXT    NOT NULL PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    failures      INTEGER NOT NULL,
    first_fail_at TEXT    NOT NULL,
    locked_until  TEXT
) STRICT;

-- +goose Down
DROP TABLE sign_in_throttles;
DROP TABLE policies;
DROP TABLE consents;
DROP TABLE device_codes;
DROP TABLE auth_codes;
DROP TABLE refresh_tokens;
DROP TABLE sessions;
