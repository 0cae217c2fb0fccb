-- +goose Up
-- The end user a service acted for, "<kind>:<id>", when the service forwarded a credential of theirs that
-- this service verified; empty otherwise. Table-level grants (INSERT, SELECT) cover the new column.
ALTER TABLE audit_records ADD COLUMN on_behalf_of text NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE audit_records DROP COLUMN on_behalf_of;
