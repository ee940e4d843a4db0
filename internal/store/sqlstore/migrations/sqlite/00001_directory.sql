-- Vigil directory schema, SQLite dialect.
--
-- Conventions (shared with migrations/postgres):
--   * Timestamps are TEXT in the fixed-width form 2006-01-02T15:04:05.000000Z
--     (UTC, microseconds), so text order is time order. NULL means "unset".
--   * Every string property that $filter compares case-insensitively has a
--     *_lower shadow column holding Go's strings.ToLower of the value; the
--     store writes both, filters and sorts use the shadow.
--   * Collections are JSON arrays of strings in TEXT; NULL is a nil slice.
--   * A member or principal that may be a user, group or service principal
--     is stored as (x_id, x_kind) plus one foreign key column per kind, so
--     inserting an edge to a missing object fails and deleting an object
--     cascades to its edges.

-- +goose Up
CREATE TABLE users (
    id                             TEXT    NOT NULL PRIMARY KEY,
    user_principal_name            TEXT    NOT NULL,
    upn_lower                      TEXT    NOT NULL,
    display_name                   TEXT    NOT NULL,
    display_name_lower             TEXT    NOT NULL,
    given_name                     TEXT,
    given_name_lower               TEXT,
    surname                        TEXT,
    surname_lower                  TEXT,
    mail                           TEXT,
    mail_lower                     TEXT,
    mail_nickname                  TEXT,
    mail_nickname_lower            TEXT,
    job_title                      TEXT,
    job_title_lower                TEXT,
    department                     TEXT,
    department_lower               TEXT,
    office_location                TEXT,
    office_location_lower          TEXT,
    mobile_phone                   TEXT,
    business_phones                TEXT,
    account_enabled                INTEGER NOT NULL CHECK (account_enabled IN (0, 1)),
    created_at                     TEXT    NOT NULL,
    sign_in_sessions_valid_from    TEXT,
    refresh_tokens_valid_from      TEXT,
    password_hash                  TEXT    NOT NULL,
    force_change_password          INTEGER NOT NULL CHECK (force_change_password IN (0, 1))
) STRICT;
CREATE UNIQUE INDEX users_upn ON users (upn_lower);
CREATE INDEX users_display_name ON users (display_name_lower, id);
CREATE INDEX users_mail ON users (mail_lower, id);
CREATE INDEX users_mail_nickname ON users (mail_nickname_lower, id);
CREATE INDEX users_job_title ON users (job_title_lower, id);
CREATE INDEX users_department ON users (department_lower, id);
CREATE INDEX users_account_enabled ON users (account_enabled, id);
CREATE INDEX users_created ON users (created_at, id);

CREATE TABLE groups (
    id                    TEXT    NOT NULL PRIMARY KEY,
    display_name          TEXT    NOT NULL,
    display_name_lower    TEXT    NOT NULL,
    description           TEXT,
    description_lower     TEXT,
    mail_nickname         TEXT    NOT NULL,
    mail_nickname_lower   TEXT    NOT NULL,
    security_enabled      INTEGER NOT NULL CHECK (security_enabled IN (0, 1)),
    mail_enabled          INTEGER NOT NULL CHECK (mail_enabled IN (0, 1)),
    group_types           TEXT,
    is_assignable_to_role INTEGER NOT NULL CHECK (is_assignable_to_role IN (0, 1)),
    created_at            TEXT    NOT NULL
) STRICT;
CREATE INDEX groups_display_name ON groups (display_name_lower, id);
CREATE INDEX groups_mail_nickname ON groups (mail_nickname_lower, id);
CREATE INDEX groups_created ON groups (created_at, id);

CREATE TABLE applications (
    id                          TEXT    NOT NULL PRIMARY KEY,
    app_id                      TEXT    NOT NULL UNIQUE,
    display_name                TEXT    NOT NULL,
    display_name_lower          TEXT    NOT NULL,
    identifier_uris             TEXT,
    web_redirect_uris           TEXT,
    public_client_redirect_uris TEXT,
    spa_redirect_uris           TEXT,
    is_fallback_public_client   INTEGER NOT NULL CHECK (is_fallback_public_client IN (0, 1)),
    created_at                  TEXT    NOT NULL
) STRICT;
CREATE INDEX applications_display_name ON applications (display_name_lower, id);
CREATE INDEX applications_created ON applications (created_at, id);

CREATE TABLE password_credentials (
    application_id TEXT NOT NULL REFERENCES applications (id) ON DELETE CASCADE,
    key_id         TEXT NOT NULL,
    display_name   TEXT NOT NULL,
    hint           TEXT NOT NULL,
    secret_hash    BLOB,
    start_at       TEXT,
    end_at         TEXT,
    PRIMARY KEY (application_id, key_id)
) STRICT;

-- A service principal's appId need not name an application of this tenant
-- (Microsoft Graph's own principal has none), so there is no foreign key;
-- DeleteApplication removes the principal explicitly.
CREATE TABLE service_principals (
    id                 TEXT NOT NULL PRIMARY KEY,
    app_id             TEXT NOT NULL UNIQUE,
    display_name       TEXT NOT NULL,
    display_name_lower TEXT NOT NULL,
    created_at         TEXT NOT NULL
) STRICT;
CREATE INDEX service_principals_display_name ON service_principals (display_name_lower, id);
CREATE INDEX service_principals_created ON service_principals (created_at, id);

CREATE TABLE group_members (
    group_id        TEXT NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    member_id       TEXT NOT NULL,
    member_kind     TEXT NOT NULL,
    member_user_id  TEXT REFERENCES users (id) ON DELETE CASCADE,
    member_group_id TEXT REFERENCES groups (id) ON DELETE CASCADE,
    member_sp_id    TEXT REFERENCES service_principals (id) ON DELETE CASCADE,
    PRIMARY KEY (group_id, member_id),
    CHECK (
        (member_kind = 'user' AND member_user_id IS NOT DISTINCT FROM member_id AND member_group_id IS NULL AND member_sp_id IS NULL) OR
        (member_kind = 'group' AND member_group_id IS NOT DISTINCT FROM member_id AND member_user_id IS NULL AND member_sp_id IS NULL) OR
        (member_kind = 'servicePrincipal' AND member_sp_id IS NOT DISTINCT FROM member_id AND member_user_id IS NULL AND member_group_id IS NULL)
    )
) STRICT;
CREATE INDEX group_members_member ON group_members (member_id, group_id);
CREATE INDEX group_members_user ON group_members (member_user_id);
CREATE INDEX group_members_group ON group_members (member_group_id);
CREATE INDEX group_members_sp ON group_members (member_sp_id);

CREATE TABLE role_assignments (
    id                    TEXT NOT NULL PRIMARY KEY,
    principal_id          TEXT NOT NULL,
    principal_kind        TEXT NOT NULL,
    principal_user_id     TEXT REFERENCES users (id) ON DELETE CASCADE,
    principal_group_id    TEXT REFERENCES groups (id) ON DELETE CASCADE,
    principal_sp_id       TEXT REFERENCES service_principals (id) ON DELETE CASCADE,
    role_definition_id    TEXT NOT NULL,
    directory_scope_id    TEXT NOT NULL,
    created_at            TEXT NOT NULL,
    UNIQUE (principal_id, role_definition_id, directory_scope_id),
    CHECK (
        (principal_kind = 'user' AND principal_user_id IS NOT DISTINCT FROM principal_id AND principal_group_id IS NULL AND principal_sp_id IS NULL) OR
        (principal_kind = 'group' AND principal_group_id IS NOT DISTINCT FROM principal_id AND principal_user_id IS NULL AND principal_sp_id IS NULL) OR
        (principal_kind = 'servicePrincipal' AND principal_sp_id IS NOT DISTINCT FROM principal_id AND principal_user_id IS NULL AND principal_group_id IS NULL)
    )
) STRICT;
CREATE INDEX role_assignments_role ON role_assignments (role_definition_id, id);
CREATE INDEX role_assignments_user ON role_assignments (principal_user_id);
CREATE INDEX role_assignments_group ON role_assignments (principal_group_id);
CREATE INDEX role_assignments_sp ON role_assignments (principal_sp_id);

CREATE TABLE app_role_assignments (
    id           TEXT NOT NULL PRIMARY KEY,
    principal_id TEXT NOT NULL REFERENCES service_principals (id) ON DELETE CASCADE,
    resource_id  TEXT NOT NULL REFERENCES service_principals (id) ON DELETE CASCADE,
    app_role_id  TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    UNIQUE (principal_id, resource_id, app_role_id)
) STRICT;
CREATE INDEX app_role_assignments_resource ON app_role_assignments (resource_id);

CREATE TABLE signing_keys (
    id          TEXT NOT NULL PRIMARY KEY,
    algorithm   TEXT NOT NULL,
    key_use     TEXT NOT NULL,
    private_key BLOB,
    public_jwk  BLOB,
    created_at  TEXT NOT NULL,
    not_before  TEXT,
    retire_at   TEXT,
    expire_at   TEXT
) STRICT;

CREATE TABLE meta (
    key   TEXT NOT NULL PRIMARY KEY,
    value BLOB NOT NULL
) STRICT;

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
