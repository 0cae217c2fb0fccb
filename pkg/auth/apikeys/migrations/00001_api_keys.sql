-- +goose Up
-- One row per API key. The secret is never stored: hash is HMAC-SHA256(pepper, key_id || 0x00 || secret),
-- and the pepper lives in configuration. Rows are never deleted: a revoked or expired key stays as the
-- record of who could call when, and its id is never reused.
CREATE TABLE api_keys (
    key_id         text        NOT NULL,
    principal_kind text        NOT NULL,
    principal_id   text        NOT NULL,
    display_name   text        NOT NULL DEFAULT '',
    roles          text[]      NOT NULL,
    channels       text[]      NOT NULL,
    hash           bytea       NOT NULL,
    expires_at     timestamptz,
    revoked_at     timestamptz,
    created_at     timestamptz NOT NULL,
    created_by     text        NOT NULL,
    rotated_from   text,
    CONSTRAINT api_keys_pkey PRIMARY KEY (key_id),
    CONSTRAINT api_keys_key_id_check CHECK (key_id ~ '^[0-9a-f]{16}$'),
    CONSTRAINT api_keys_principal_kind_check CHECK (principal_kind IN ('adapter', 'service')),
    CONSTRAINT api_keys_hash_check CHECK (octet_length(hash) = 32),
    CONSTRAINT api_keys_rotated_from_fkey FOREIGN KEY (rotated_from) REFERENCES api_keys (key_id)
);

-- A holder's keys newest first (ListApiKeys with principal_id) and the active-key count under the
-- per-holder lock. Both columns descend like the listing's order, so a page is one index range scan.
CREATE INDEX api_keys_principal_created_idx ON api_keys (principal_id, created_at DESC, key_id DESC);

-- All keys newest first (ListApiKeys without a holder).
CREATE INDEX api_keys_created_idx ON api_keys (created_at DESC, key_id DESC);

-- Keys are revoked, never deleted, by anyone but the owner (who can drop the trigger in a reviewed
-- migration). A trigger rather than a REVOKE because the runtime role's name is the deployment's choice
-- and its DELETE comes from the owner's default privileges. Statement-level, so even a DELETE that matches
-- no row is refused.
-- +goose StatementBegin
CREATE FUNCTION api_keys_undeletable() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'API keys are revoked, never deleted (% refused)', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$;
-- +goose StatementEnd

CREATE TRIGGER api_keys_no_delete
    BEFORE DELETE ON api_keys
    FOR EACH STATEMENT EXECUTE FUNCTION api_keys_undeletable();

CREATE TRIGGER api_keys_no_truncate
    BEFORE TRUNCATE ON api_keys
    FOR EACH STATEMENT EXECUTE FUNCTION api_keys_undeletable();

-- +goose Down
DROP TABLE api_keys;
DROP FUNCTION api_keys_undeletable();
