-- OpenID Connect client metadata of applications, and identifierUris made
-- unique across applications. PostgreSQL dialect.

-- +goose Up
ALTER TABLE applications
    ADD COLUMN post_logout_redirect_uris JSONB,
    ADD COLUMN backchannel_logout_uri TEXT COLLATE "C" NOT NULL DEFAULT '',
    ADD COLUMN id_token_signed_response_alg TEXT COLLATE "C" NOT NULL DEFAULT '',
    ADD COLUMN jwks BYTEA,
    ADD COLUMN jwks_uri TEXT COLLATE "C" NOT NULL DEFAULT '';

-- One row per distinct identifier URI of an application, keyed by the URI
-- with ASCII letters lower-cased (what SQL lower() does on both dialects),
-- so that no two applications share one. The JSON column stays the
-- round-tripped value; the store rewrites these rows with it.
CREATE TABLE application_identifier_uris (
    uri_lower      TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    application_id TEXT COLLATE "C" NOT NULL REFERENCES applications (id) ON DELETE CASCADE
);
CREATE INDEX application_identifier_uris_app ON application_identifier_uris (application_id);

-- Existing duplicates: the application created first keeps the URI.
INSERT INTO application_identifier_uris (uri_lower, application_id)
    SELECT lower(je.value COLLATE "C"), a.id
    FROM applications a, jsonb_array_elements_text(a.identifier_uris) AS je(value)
    ORDER BY a.created_at, a.id
    ON CONFLICT (uri_lower) DO NOTHING;

-- +goose Down
DROP TABLE application_identifier_uris;
ALTER TABLE applications
    DROP COLUMN jwks_uri,
    DROP COLUMN jwks,
    DROP COLUMN id_token_signed_response_alg,
    DROP COLUMN backchannel_logout_uri,
    DROP COLUMN post_logout_redirect_uris;
