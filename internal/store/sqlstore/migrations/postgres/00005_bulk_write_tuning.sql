-- Cheaper bulk revocations (issue 4: 100,000 users, each with an audit
-- record and an event, in chunks of ~1,000). PostgreSQL dialect.
--
-- * Revoking rewrites rows of users, sessions and refresh_tokens. An UPDATE
--   that changes no indexed column and finds room on the row's page is a
--   HOT update: no index is touched, which makes it several times cheaper
--   (users has ten indexes). Leave room on every page (fillfactor; it
--   applies to pages written from now on), and do not index revoked_at:
--   DeleteExpiredRefreshTokens finds revoked tokens by scanning, which a
--   background clean-up can afford.
-- * Drop indexes no query needs: the audit log's correlation id (a filter
--   on it scans newest first), the outbox's event id (nothing looks events
--   up by id), and the foreign key of audit_targets with its index (audit
--   records are immutable and never deleted one by one), whose per-row
--   check cost more than the insert itself.

-- +goose Up
ALTER TABLE users SET (fillfactor = 60);
ALTER TABLE sessions SET (fillfactor = 60);
ALTER TABLE refresh_tokens SET (fillfactor = 60);
DROP INDEX refresh_tokens_revoked;
DROP INDEX audit_records_correlation;
ALTER TABLE outbox DROP CONSTRAINT outbox_id_key;
ALTER TABLE audit_targets DROP CONSTRAINT audit_targets_audit_id_fkey;
DROP INDEX audit_targets_audit;

-- +goose Down
CREATE INDEX audit_targets_audit ON audit_targets (audit_id);
ALTER TABLE audit_targets ADD FOREIGN KEY (audit_id) REFERENCES audit_records (id) ON DELETE CASCADE;
ALTER TABLE outbox ADD UNIQUE (id);
CREATE INDEX audit_records_correlation ON audit_records (correlation_id);
CREATE INDEX refresh_tokens_revoked ON refresh_tokens (revoked_at) WHERE revoked_at IS NOT NULL;
ALTER TABLE refresh_tokens RESET (fillfactor);
ALTER TABLE sessions RESET (fillfactor);
ALTER TABLE users RESET (fillfactor);
