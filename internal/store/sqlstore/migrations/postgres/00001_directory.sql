-- Vigil directory schema, PostgreSQL dialect.
--
-- Conventions (shared with migrations/sqlite):
--   * Timestamps are timestamptz (microseconds). NULL means "unset".
--   * Text columns use COLLATE "C" so comparisons and ORDER BY are bytewise,
--     exactly as SQLite's BINARY collation, whatever the database locale.
--   * Every string property that $filter compares case-insensitively has a
--     *_lower shadow column holding Go's strings.ToLower of the value; the
--     store writes both, filters and sorts use the shadow.
--   * Collections are jsonb arrays of strings; NULL is a nil slice.
--   * A member or principal that may be a user, group or service principal
--     is stored as (x_id, x_kind) plus one foreign key column per kind, so
--     inserting an edge to a missing object fails and deleting an object
--     cascades to its edges.

-- +goose Up
CREATE TABLE users (
    id                             TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    user_principal_name            TEXT COLLATE "C" NOT NULL,
    upn_lower                      TEXT COLLATE "C" NOT NULL,
    display_name                   TEXT COLLATE "C" NOT NULL,
    display_name_lower             TEXT COLLATE "C" NOT NULL,
    given_name                     TEXT COLLATE "C",
    given_name_lower               TEXT COLLATE "C",
    surname                        TEXT COLLATE "C",
    surname_lower                  TEXT COLLATE "C",
    mail                           TEXT COLLATE "C",
    mail_lower                     TEXT COLLATE "C",
    mail_nickname                  TEXT COLLATE "C",
    mail_nickname_lower            TEXT COLLATE "C",
    job_title                      TEXT COLLATE "C",
    job_title_lower                TEXT COLLATE "C",
    department                     TEXT COLLATE "C",
    department_lower               TEXT COLLATE "C",
    office_location                TEXT COLLATE "C",
    office_location_lower          TEXT COLLATE "C",
    mobile_phone                   TEXT COLLATE "C",
    business_phones                JSONB,
    account_enabled                BOOLEAN NOT NULL,
    created_at                     TIMESTAMPTZ NOT NULL,
    sign_in_sessions_valid_from    TIMESTAMPTZ,
    refresh_tokens_valid_from      TIMESTAMPTZ,
    password_hash                  TEXT COLLATE "C" NOT NULL,
    force_change_password          BOOLEAN NOT NULL
);
CREATE UNIQUE INDEX users_upn ON users (upn_lower);
CREATE INDEX users_display_name ON users (display_name_lower, id);
CREATE INDEX users_mail ON users (mail_lower, id);
CREATE INDEX users_mail_nickname ON users (mail_nickname_lower, id);
CREATE INDEX users_job_title ON users (job_title_lower, id);
CREATE INDEX users_department ON users (department_lower, id);
CREATE INDEX users_account_enabled ON users (account_enabled, id);
CREATE INDEX users_created ON users (created_at, id);

CREATE TABLE groups (
    id                    TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    display_name          TEXT COLLATE "C" NOT NULL,
    display_name_lower    TEXT COLLATE "C" NOT NULL,
    description           TEXT COLLATE "C",
    description_lower     TEXT COLLATE "C",
    mail_nickname         TEXT COLLATE "C" NOT NULL,
    mail_nickname_lower   TEXT COLLATE "C" NOT NULL,
    security_enabled      BOOLEAN NOT NULL,
    mail_enabled          BOOLEAN NOT NULL,
    group_types           JSONB,
    is_assignable_to_role BOOLEAN NOT NULL,
    created_at            TIMESTAMPTZ NOT NULL
);
CREATE INDEX groups_display_name ON groups (display_name_lower, id);
CREATE INDEX groups_mail_nickname ON groups (mail_nickname_lower, id);
CREATE INDEX groups_created ON groups (created_at, id);

CREATE TABLE applications (
    id                          TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    app_id                      TEXT COLLATE "C" NOT NULL UNIQUE,
    display_name                TEXT COLLATE "C" NOT NULL,
    display_name_lower          TEXT COLLATE "C" NOT NULL,
    identifier_uris             JSONB,
    web_redirect_uris           JSONB,
    public_client_redirect_uris JSONB,
    spa_redirect_uris           JSONB,
    is_fallback_public_client   BOOLEAN NOT NULL,
    created_at                  TIMESTAMPTZ NOT NULL
);
CREATE INDEX applications_display_name ON applications (display_name_lower, id);
CREATE INDEX applications_created ON applications (created_at, id);

CREATE TABLE password_credentials (
    application_id TEXT COLLATE "C" NOT NULL REFERENCES applications (id) ON DELETE CASCADE,
    key_id         TEXT COLLATE "C" NOT NULL,
    display_name   TEXT COLLATE "C" NOT NULL,
    hint           TEXT COLLATE "C" NOT NULL,
    secret_hash    BYTEA,
    start_at       TIMESTAMPTZ,
    end_at         TIMESTAMPTZ,
    PRIMARY KEY (application_id, key_id)
);

-- A service principal's appId need not name an application of this tenant
-- (Microsoft Graph's own principal has none), so there is no foreign key;
-- DeleteApplication removes the principal explicitly.
CREATE TABLE service_principals (
    id                 TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    app_id             TEXT COLLATE "C" NOT NULL UNIQUE,
    display_name       TEXT COLLATE "C" NOT NULL,
    display_name_lower TEXT COLLATE "C" NOT NULL,
    created_at         TIMESTAMPTZ NOT NULL
);
CREATE INDEX service_principals_display_name ON service_principals (display_name_lower, id);
CREATE INDEX service_principals_created ON service_principals (created_at, id);

CREATE TABLE group_members (
    group_id        TEXT COLLATE "C" NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    member_id       TEXT COLLATE "C" NOT NULL,
    member_kind     TEXT COLLATE "C" NOT NULL,
    member_user_id  TEXT COLLATE "C" REFERENCES users (id) ON DELETE CASCADE,
    member_group_id TEXT COLLATE "C" REFERENCES groups (id) ON DELETE CASCADE,
    member_sp_id    TEXT COLLATE "C" REFERENCES service_principals (id) ON DELETE CASCADE,
    PRIMARY KEY (group_id, member_id),
    CHECK (
        (member_kind = 'user' AND member_user_id IS NOT DISTINCT FROM member_id AND member_group_id IS NULL AND member_sp_id IS NULL) OR
        (member_kind = 'group' AND member_group_id IS NOT DISTINCT FROM member_id AND member_user_id IS NULL AND member_sp_id IS NULL) OR
        (member_kind = 'servicePrincipal' AND member_sp_id IS NOT DISTINCT FROM member_id AND member_user_id IS NULL AND member_group_id IS NULL)
    )
);
CREATE INDEX group_members_member ON group_members (member_id, group_id);
CREATE INDEX group_members_user ON group_members (member_user_id);
CREATE INDEX group_members_group ON group_members (member_group_id);
CREATE INDEX group_members_sp ON group_members (member_sp_id);

CREATE TABLE role_assignments (
    id                    TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    principal_id          TEXT COLLATE "C" NOT NULL,
    principal_kind        TEXT COLLATE "C" NOT NULL,
    principal_user_id     TEXT COLLATE "C" REFERENCES users (id) ON DELETE CASCADE,
    principal_group_id    TEXT COLLATE "C" REFERENCES groups (id) ON DELETE CASCADE,
    principal_sp_id       TEXT COLLATE "C" REFERENCES service_principals (id) ON DELETE CASCADE,
    role_definition_id    TEXT COLLATE "C" NOT NULL,
    directory_scope_id    TEXT COLLATE "C" NOT NULL,
    created_at            TIMESTAMPTZ NOT NULL,
    UNIQUE (principal_id, role_definition_id, directory_scope_id),
    CHECK (
        (principal_kind = 'user' AND principal_user_id IS NOT DISTINCT FROM principal_id AND principal_group_id IS NULL AND principal_sp_id IS NULL) OR
        (principal_kind = 'group' AND principal_group_id IS NOT DISTINCT FROM principal_id AND principal_user_id IS NULL AND principal_sp_id IS NULL) OR
        (principal_kind = 'servicePrincipal' AND principal_sp_id IS NOT DISTINCT FROM principal_id AND principal_user_id IS NULL AND principal_group_id IS NULL)
    )
);
CREATE INDEX role_assignments_role ON role_assignments (role_definition_id, id);
CREATE INDEX role_assignments_user ON role_assignments (principal_user_id);
CREATE INDEX role_assignments_group ON role_assignments (principal_group_id);
CREATE INDEX role_assignments_sp ON role_assignments (principal_sp_id);

CREATE TABLE app_role_assignments (
    id           TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    principal_id TEXT COLLATE "C" NOT NULL REFERENCES service_principals (id) ON DELETE CASCADE,
    resource_id  TEXT COLLATE "C" NOT NULL REFERENCES service_principals (id) ON DELETE CASCADE,
    app_role_id  TEXT COLLATE "C" NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    UNIQUE (principal_id, resource_id, app_role_id)
);
CREATE INDEX app_role_assignments_resource ON app_role_assignments (resource_id);

CREATE TABLE signing_keys (
    id          TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    algorithm   TEXT COLLATE "C" NOT NULL,
    key_use     TEXT COLLATE "C" NOT NULL,
    private_key BYTEA,
    public_jwk  BYTEA,
    created_at  TIMESTAMPTZ NOT NULL,
    not_before  TIMESTAMPTZ,
    retire_at   TIMESTAMPTZ,
    expire_at   TIMESTAMPTZ
);

CREATE TABLE meta (
    key   TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    value BYTEA NOT NULL
);

-- +goose Down
DROP TABLE meta;
DROP TABLE signing_keys;
DROP TABLE app_role_assignments;
DROP TABLE role_assignments;
DROP TABLE group_members;
DROP TABLE service_principals;
DROP TABLE password_credentials;
DROP TABLE applications;
DROP TABLE groups;
DROP TABLE users;
