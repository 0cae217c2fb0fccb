-- +goose Up
CREATE TABLE widgets (
    id bigint GENERATED ALWAYS AS IDENTITY CONSTRAINT widgets_pkey PRIMARY KEY,
    name text NOT NULL CONSTRAINT widgets_name_key UNIQUE
);
-- +goose Down
DROP TABLE widgets;
