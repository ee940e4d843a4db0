-- OpenID Connect client metadata of applications, and identifierUris made
-- unique across applications. SQLite dialect.

-- +goose Up
ALTER TABLE applications ADD COLUMN post_logout_redirect_uris TEXT;
ALTER TABLE applications ADD COLUMN backchannel_logout_uri TEXT NOT NULL DEFAULT '';
ALTER TABLE applications ADD COLUMN id_token_signed_response_alg TEXT NOT NULL DEFAULT '';
ALTER TABLE applications ADD COLUMN jwks BLOB;
ALTER TABLE applications ADD COLUMN jwks_uri TEXT NOT NULL DEFAULT '';

-- One row per distinct identifier URI of an application, keyed by the URI
-- with ASCII letters lower-cased (what SQL lower() does on both dialects),
-- so that no two applications share one. The JSON column stays the
-- round-tripped value; the store rewrites these rows with it.
CREATE TABLE application_identifier_uris (
    uri_lower      TEXT NOT NULL PRIMARY KEY,
    application_id TEXT NOT NULL REFERENCES applications (id) ON DELETE CASCADE
) STRICT;
CREATE INDEX application_identifier_uris_app ON application_identifier_uris (application_id);

-- Existing duplicates: the application created first keeps the URI.
INSERT INTO application_identifier_uris (uri_lower, application_id)
    SELECT lower(je.value), a.id FROM applications a, json_each(a.identifier_uris) AS je
    WHERE TRUE -- (SQLite: an upsert's SELECT needs a WHERE)
    ORDER BY a.created_at, a.id
    ON CONFLICT (uri_lower) DO NOTHING;

-- +goose Down
DROP TABLE application_identifier_uris;
ALTER TABLE applications DROP COLUMN jwks_uri;
ALTER TABLE applications DROP COLUMN jwks;
ALTER TABLE applications DROP COLUMN id_token_signed_response_alg;
ALTER TABLE applications DROP COLUMN backchannel_logout_uri;
ALTER TABLE applications DROP COLUMN post_logout_redirect_uris;
