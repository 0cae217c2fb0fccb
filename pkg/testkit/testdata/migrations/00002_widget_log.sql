-- +goose Up
CREATE TABLE widget_log (
    widget_id bigint NOT NULL,
    note text NOT NULL
);
-- The runtime role may append to the log but never rewrite it.
REVOKE UPDATE, DELETE ON widget_log FROM kefu_testkit;
-- +goose Down
DROP TABLE widget_log;
