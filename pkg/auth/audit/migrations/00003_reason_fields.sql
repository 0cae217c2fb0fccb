-- +goose Up
-- Why the caller said it made the call (the request's `reason`, stored as typed, at most 500 characters)
-- and what the call read or changed (the fields a reveal named, the paths of an update's mask), as issue #5
-- asks of every unmasked read. Both empty when the request carries neither. Table-level grants (INSERT,
-- SELECT) cover the new columns, and the statement triggers refuse rewriting them as any other.
ALTER TABLE audit_records
    ADD COLUMN reason text   NOT NULL DEFAULT '',
    ADD COLUMN fields text[] NOT NULL DEFAULT '{}';

-- +goose Down
ALTER TABLE audit_records DROP COLUMN fields, DROP COLUMN reason;
