-- Lookup cache invalidation (lookupcache.go). SQLite dialect: nothing to
-- change. One process owns the database file, and it drops its cache after
-- committing any change to the tables the cache reads. (PostgreSQL's
-- migration adds triggers that notify every node.) The version exists so
-- both dialects stay at the same schema version.

-- +goose Up
SELECT 1;

-- +goose Down
SELECT 1;
