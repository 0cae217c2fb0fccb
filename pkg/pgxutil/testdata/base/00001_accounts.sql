-- +goose Up
CREATE TABLE accounts (
    id bigint CONSTRAINT accounts_pkey PRIMARY KEY,
    email text NOT NULL CONSTRAINT accounts_email_key UNIQUE,
    balance bigint NOT NULL DEFAULT 0
);
-- +goose Down
DROP TABLE accounts;
