-- +goose Up
-- Each ticket projection's revision: a random number every write replaces (0 before the first). A batch
-- plans on the states it expects (what it read, or what the batch before it in this process is writing)
-- and, once it holds the rows' locks, checks their revisions: a difference means another writer came
-- first, and the batch plans again on what is stored (internal/app, Ingest). Random rather than counted,
-- because two writers planning on one state would count to the same number.
ALTER TABLE tickets ADD COLUMN rev bigint NOT NULL DEFAULT 0;

-- Projection version 4: a ticket's state is stored in facts.Ticket's binary encoding, a fifth of its JSON
-- and cheaper to write and read. The service rebuilds every projection from the stream when it starts on
-- an older version, so the JSON states are not converted, only dropped.
ALTER TABLE tickets ALTER COLUMN state TYPE bytea USING '\x'::bytea;

-- +goose Down
ALTER TABLE tickets ALTER COLUMN state TYPE jsonb USING '{}'::jsonb;
ALTER TABLE tickets DROP COLUMN rev;
