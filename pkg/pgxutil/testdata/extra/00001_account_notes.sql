-- +goose Up
-- Depends on the base set, so it proves sets run in the order given.
CREATE TABLE account_notes (
    account_id bigint NOT NULL CONSTRAINT account_notes_account_fkey REFERENCES accounts (id),
    note text NOT NULL
);
-- +goose Down
DROP TABLE account_notes;
