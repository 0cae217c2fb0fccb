-- +goose Up
-- One row per (principal, scope, key): the first create with a key claims it inside its own transaction,
-- so a concurrent duplicate waits on the primary key until that transaction ends.
CREATE TABLE idempotency_keys (
    principal   text        NOT NULL,
    scope       text        NOT NULL,
    key         text        NOT NULL,
    fingerprint bytea       NOT NULL,
    resource_id text        NOT NULL,
    created_at  timestamptz NOT NULL,
    CONSTRAINT idempotency_keys_pkey PRIMARY KEY (principal, scope, key)
);
CREATE INDEX idempotency_keys_created_at_idx ON idempotency_keys (created_at);

-- +goose Down
DROP TABLE idempotency_keys;
