-- Transactional outbox (pkg/outbox), created in each publishing service's schema.

-- +goose Up

-- The partition count is fixed when the outbox is created and recorded here, so every writer and every relay
-- replica hashes an aggregate to the same partition. Changing it would move aggregates between partitions
-- and break their order; do it only with the outbox fully published and every relay stopped.
CREATE TABLE outbox_settings (
    singleton  boolean  NOT NULL DEFAULT true,
    partitions smallint NOT NULL,
    CONSTRAINT outbox_settings_pkey PRIMARY KEY (singleton),
    CONSTRAINT outbox_settings_singleton_check CHECK (singleton),
    CONSTRAINT outbox_settings_partitions_check CHECK (partitions BETWEEN 1 AND 1024)
);

INSERT INTO outbox_settings (partitions) VALUES (16);

-- One row per event, written in the transaction of the change that caused it. id is assigned at insert
-- and the caller holds the aggregate's row lock, so within an aggregate id order is commit order and
-- aggregate_seq order; the relay publishes each partition in id order. The identity's CACHE 1 (the
-- default) keeps ids increasing across sessions.
CREATE TABLE outbox (
    id            bigint      GENERATED ALWAYS AS IDENTITY,
    event_id      uuid        NOT NULL,
    subject       text        NOT NULL,
    aggregate_id  text        NOT NULL,
    aggregate_seq bigint      NOT NULL,
    type          text        NOT NULL,
    headers       jsonb       NOT NULL DEFAULT '{}',
    payload       bytea       NOT NULL,
    partition     smallint    NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    -- Set together once JetStream acknowledged the event: when, and at which stream sequence (used to
    -- notice a stream that lost acknowledged writes).
    published_at  timestamptz,
    stream_seq    bigint,
    CONSTRAINT outbox_pkey PRIMARY KEY (id),
    CONSTRAINT outbox_event_id_key UNIQUE (event_id),
    CONSTRAINT outbox_published_check CHECK ((published_at IS NULL) = (stream_seq IS NULL)),
    CONSTRAINT outbox_partition_check CHECK (partition >= 0)
);

-- The relay's work queue: only unpublished rows, so it stays small however long the replay window is.
CREATE INDEX outbox_pending_idx ON outbox (partition, id) WHERE published_at IS NULL;
-- Purging published rows past the replay window.
CREATE INDEX outbox_published_at_idx ON outbox (published_at) WHERE published_at IS NOT NULL;
-- Gap repair: the highest stream sequence recorded per partition, and the row at or below a sequence.
CREATE INDEX outbox_stream_seq_idx ON outbox (partition, stream_seq) WHERE stream_seq IS NOT NULL;
-- Republish from a given time. BRIN: created_at grows with id, so the index is tiny and nearly free on the
-- insert path, which every submit takes.
CREATE INDEX outbox_created_at_idx ON outbox USING brin (created_at);
