-- Client assertion replay protection (RFC 7523 §3: a jti is used once)
-- shared by every process on the database. id is SHA-256 of the client id
-- and the jti; a row lives until the assertion expires. SQLite dialect.

-- +goose Up
CREATE TABLE client_assertion_ids (
    id         BLOB NOT NULL PRIMARY KEY,
    expires_at TEXT NOT NULL
) STRICT;
CREATE INDEX client_assertion_ids_expires ON client_assertion_ids (expires_at);

-- +goose Down
DROP TABLE client_assertion_ids;
