-- Lookup cache invalidation across nodes (lookupcache.go). Every node keeps
-- in memory what its token requests read: clients (applications, their
-- secrets, service principals, app role assignments) and users' directory
-- roles (role assignments, groups, group members). Any change to those
-- tables, including cascades and direct SQL, notifies every node at commit
-- on a channel named after the tables' schema, and each node drops its
-- cache. PostgreSQL dialect.

-- +goose Up
-- +goose StatementBegin
CREATE FUNCTION vigil_lookups_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('vigil_lookups_' || substr(md5(TG_TABLE_SCHEMA), 1, 16), '');
    RETURN NULL;
END
$$;
-- +goose StatementEnd
CREATE TRIGGER applications_lookups_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON applications
    FOR EACH STATEMENT EXECUTE FUNCTION vigil_lookups_changed();
CREATE TRIGGER password_credentials_lookups_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON password_credentials
    FOR EACH STATEMENT EXECUTE FUNCTION vigil_lookups_changed();
CREATE TRIGGER service_principals_lookups_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON service_principals
    FOR EACH STATEMENT EXECUTE FUNCTION vigil_lookups_changed();
CREATE TRIGGER app_role_assignments_lookups_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON app_role_assignments
    FOR EACH STATEMENT EXECUTE FUNCTION vigil_lookups_changed();
CREATE TRIGGER role_assignments_lookups_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON role_assignments
    FOR EACH STATEMENT EXECUTE FUNCTION vigil_lookups_changed();
CREATE TRIGGER groups_lookups_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON groups
    FOR EACH STATEMENT EXECUTE FUNCTION vigil_lookups_changed();
CREATE TRIGGER group_members_lookups_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON group_members
    FOR EACH STATEMENT EXECUTE FUNCTION vigil_lookups_changed();

-- +goose Down
DROP TRIGGER group_members_lookups_changed ON group_members;
DROP TRIGGER groups_lookups_changed ON groups;
DROP TRIGGER role_assignments_lookups_changed ON role_assignments;
DROP TRIGGER app_role_assignments_lookups_changed ON app_role_assignments;
DROP TRIGGER service_principals_lookups_changed ON service_principals;
DROP TRIGGER password_credentials_lookups_changed ON password_credentials;
DROP TRIGGER applications_lookups_changed ON applications;
DROP FUNCTION vigil_lookups_changed();
