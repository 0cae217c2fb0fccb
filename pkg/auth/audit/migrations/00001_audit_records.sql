-- +goose Up
-- The audit log: one row per state-changing call and per read of unmasked personal data by an
-- authenticated caller, allowed or refused. Append-only: rows are inserted by the service's runtime role
-- and never changed or deleted by anyone.
CREATE TABLE audit_records (
    record_id   uuid        NOT NULL,
    at          timestamptz NOT NULL,
    principal   text        NOT NULL, -- "<kind>:<id>"
    key_id      text        NOT NULL DEFAULT '',
    method      text        NOT NULL, -- full gRPC method
    object_type text        NOT NULL DEFAULT '',
    object_id   text        NOT NULL DEFAULT '',
    result      text        NOT NULL, -- gRPC code name
    trace_id    text        NOT NULL DEFAULT '',
    kind        text        NOT NULL,
    -- Keyed by time first: the key is also the newest-first order of a listing without filters (scanned
    -- backwards), which spares the log a fourth index on every insert. A retried record (same id and
    -- time) conflicts on it; ids are UUIDv7, unique on their own.
    CONSTRAINT audit_records_pkey PRIMARY KEY (at, record_id),
    CONSTRAINT audit_records_kind_check CHECK (kind IN ('change', 'personal_data_read'))
);

-- Append-only by grants. The runtime role got UPDATE and DELETE from the owner's default privileges when
-- the table was created, and its name is the deployment's choice, so take them from every role that holds
-- any privilege on the table now, whatever it is called (the owner keeps its own; the triggers below stop
-- it), and from PUBLIC. The owner is the grantor of default privileges, so its REVOKE removes them.
-- +goose StatementBegin
DO $$
DECLARE
    role_name text;
BEGIN
    FOR role_name IN
        SELECT DISTINCT pg_get_userbyid(a.grantee)
        FROM pg_class c, aclexplode(c.relacl) a
        WHERE c.oid = 'audit_records'::regclass
          AND a.grantee <> 0 -- PUBLIC, handled below
          AND a.grantee <> c.relowner
          AND pg_get_userbyid(a.grantee) <> current_user
    LOOP
        EXECUTE format('REVOKE UPDATE, DELETE, TRUNCATE ON audit_records FROM %I', role_name);
    END LOOP;
    REVOKE UPDATE, DELETE, TRUNCATE ON audit_records FROM PUBLIC;
END
$$;
-- +goose StatementEnd

-- One principal's calls, newest first.
CREATE INDEX audit_records_principal_at_idx ON audit_records (principal, at DESC, record_id DESC);

-- Calls on one object, newest first. Partial: a record that names no object is never looked up by one.
CREATE INDEX audit_records_object_at_idx ON audit_records (object_id, at DESC, record_id DESC)
    WHERE object_id <> '';

-- Defence in depth: also refused for the owner (and for a role granted UPDATE or DELETE later by
-- mistake). Only a reviewed migration that drops these triggers can rewrite the log. Statement-level, so
-- even a statement matching no row is refused.
-- +goose StatementBegin
CREATE FUNCTION audit_records_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit records are append-only (% refused)', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$;
-- +goose StatementEnd

CREATE TRIGGER audit_records_no_update_delete
    BEFORE UPDATE OR DELETE ON audit_records
    FOR EACH STATEMENT EXECUTE FUNCTION audit_records_append_only();

CREATE TRIGGER audit_records_no_truncate
    BEFORE TRUNCATE ON audit_records
    FOR EACH STATEMENT EXECUTE FUNCTION audit_records_append_only();

-- +goose Down
DROP TABLE audit_records;
DROP FUNCTION audit_records_append_only();
