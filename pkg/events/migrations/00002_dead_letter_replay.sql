-- Replaying dead letters: an operator marks parked events (the service's `dead-letters replay` command),
-- and the running consumer feeds each back through its handler, with the inbox, and records the outcome.

-- +goose Up

ALTER TABLE dead_letters
    ADD COLUMN replay_requested_at timestamptz,
    ADD COLUMN replayed_at         timestamptz,
    ADD COLUMN replays             integer NOT NULL DEFAULT 0;

CREATE INDEX dead_letters_replay_idx ON dead_letters (consumer, id) WHERE replay_requested_at IS NOT NULL;

-- +goose Down

DROP INDEX dead_letters_replay_idx;

ALTER TABLE dead_letters
    DROP COLUMN replays,
    DROP COLUMN replayed_at,
    DROP COLUMN replay_requested_at;
