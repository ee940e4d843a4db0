-- Client cache invalidation across nodes (clientcache.go). Every node keeps
-- the clients its token endpoint authenticates (applications, their secrets,
-- service principals, app role assignments) in memory; any change to those
-- tables, including cascades and direct SQL, notifies every node at commit
-- on a channel named after the tables' schema, and each node drops its
-- cache. PostgreSQL dialect.

-- +goose Up
-- +goose StatementBegin
CREATE FUNCTION vigil_clients_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('vigil_clients_' || substr(md5(TG_TABLE_SCHEMA), 1, 16), '');
    RETURN NULL;
END
$$;
-- +goose StatementEnd
CREATE TRIGGER applications_clients_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON applications
    FOR EACH STATEMENT EXECUTE FUNCTION vigil_clients_changed();
CREATE TRIGGER password_credentials_clients_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON password_credentials
    FOR EACH STATEMENT EXECUTE FUNCTION vigil_clients_changed();
CREATE TRIGGER service_principals_clients_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON service_principals
    FOR EACH STATEMENT EXECUTE FUNCTION vigil_clients_changed();
CREATE TRIGGER app_role_assignments_clients_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON app_role_assignments
    FOR EACH STATEMENT EXECUTE FUNCTION vigil_clients_changed();

-- +goose Down
DROP TRIGGER app_role_assignments_clients_changed ON app_role_assignments;
DROP TRIGGER service_principals_clients_changed ON service_principals;
DROP TRIGGER password_credentials_clients_changed ON password_credentials;
DROP TRIGGER applications_clients_changed ON applications;
DROP FUNCTION vigil_clients_changed();
