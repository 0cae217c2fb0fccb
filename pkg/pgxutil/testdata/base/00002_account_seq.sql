-- +goose Up
CREATE SEQUENCE account_numbers;
-- +goose Down
DROP SEQUENCE account_numbers;
